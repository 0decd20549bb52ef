"""Slack user groups for the role checks: the Directory port (orchestration/directory.py) over
usergroups.users.list.

Only the groups the role configuration names (`S…` ids) are ever read, each with one call, and the
members are cached for DRBOT_USERGROUP_CACHE_SECONDS on the injected clock: usergroups.users.list
is rate-limited (Tier 2, about 20 calls a minute), and a permission check runs on every click.
A group that cannot be read counts as one the user is not in (logged): a Slack outage denies
rather than crashes, and never grants. When Slack rate-limits, the cached members are used, even
past their time, if there are any. A group that could not be read is not asked for again before
Retry-After (or FAILURE_RETRY_SECONDS) has passed, so an outage does not turn every click into
another call against the rate limit.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack_retry import retry_after
from orchestration.clock import Clock
from orchestration.rbac import RoleConfig

logger = logging.getLogger(__name__)

USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
FAILURE_RETRY_SECONDS = 30.0  # how long a group that could not be read counts as empty


def usergroups_named(roles: RoleConfig) -> frozenset[str]:
    """The Slack user-group ids a role configuration names."""
    return frozenset(m for members in roles.members.values() for m in members if USERGROUP_ID.match(m))


@dataclass(frozen=True)
class _Members:
    users: frozenset[str]
    fetched_at: float


class SlackDirectory:
    """See the module docstring."""

    def __init__(self, client: WebClient, roles: RoleConfig, clock: Clock, cache_seconds: float) -> None:
        self.client = client
        self.groups = usergroups_named(roles)
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Members] = {}
        self._failed_until: dict[str, tuple[float, bool]] = {}  # group -> (ask again at, rate-limited)
        self._lock = threading.Lock()

    def groups_of(self, user_id: str) -> frozenset[str]:
        return frozenset(group for group in sorted(self.groups) if user_id in self.members(group))

    def members(self, group: str) -> frozenset[str]:
        """The user ids in `group`: cached, else read from Slack (empty when it cannot be read)."""
        now = self.clock.now()
        with self._lock:
            cached = self._cache.get(group)
            failure = self._failed_until.get(group)
        if cached is not None and now - cached.fetched_at < self.cache_seconds:
            return cached.users
        if failure is not None and now < failure[0]:
            rate_limited = failure[1]
            return cached.users if rate_limited and cached is not None else frozenset()
        try:
            response = self.client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            rate_limited = exc.response.status_code == 429
            wait = max(retry_after(exc.response.headers, FAILURE_RETRY_SECONDS), 1.0)
            self._failed(group, now + wait, rate_limited)
            if rate_limited and cached is not None:
                logger.info("user group rate-limited; using the cached members", extra={"usergroup": group})
                return cached.users
            logger.warning(
                "cannot read a user group; its members get none of its roles",
                extra={"usergroup": group, "error": exc.response.get("error")},
            )
            return frozenset()
        except (SlackClientError, OSError) as exc:  # Slack unreachable
            self._failed(group, now + FAILURE_RETRY_SECONDS, rate_limited=False)
            logger.warning(
                "cannot reach Slack for a user group; its members get none of its roles",
                extra={"usergroup": group, "error": type(exc).__name__},
            )
            return frozenset()
        users = frozenset(str(user) for user in response.get("users") or [])
        with self._lock:
            self._cache[group] = _Members(users, now)
            self._failed_until.pop(group, None)
        return users

    def _failed(self, group: str, until: float, rate_limited: bool) -> None:
        with self._lock:
            self._failed_until[group] = (until, rate_limited)
