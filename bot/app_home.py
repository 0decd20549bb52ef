"""drbot's App Home (docs/slack.md, "App Home"): what one person sees on drbot's Home tab, and in
the console as `/dr home`.

`home_of(services, viewer)` (bot/home_contents.py) gathers, fresh from the store at each call, a
`Home`:

- **needs you**: run requests awaiting approval that the viewer may approve (not their own, not
  approved by them already), drill schedules awaiting approval likewise, and runs held at a pause
  gate that the viewer may resume;
- **running now**: every run that has not ended, with its progress;
- **next drills**: the soonest fires of the active schedules;
- **plans**: each plan's last drill, its result and duration against the plan's RTO target, and its
  data loss against the RPO target.

`HomePublisher` puts it on the Home tab with `views.publish`: when the person opens the tab
(bot/listeners/events.py), after a click on it, and when something on it changes for the people it
concerns (`refresh_for`: a run's requester and everyone who may approve or control runs, among the
role configuration's Slack users, plus whoever opened their Home in this process). Publishing is
best effort: a failure is logged and the next change or opening publishes again.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable

from aws_lambda_powertools import Logger
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.views.mrkdwn import is_user_id
from orchestration.context import Services
from orchestration.models import Execution
from orchestration.rbac import ROLE_PERMISSIONS, Permission

logger = Logger(service="drbot")

MAX_REFRESHED = 25  # people whose Home one change republishes (views.publish is Tier 4)


class HomePublisher:
    """Publishes Homes with `views.publish`, remembering who opened theirs in this process."""

    def __init__(self, client: WebClient, services: Services) -> None:
        self.client = client
        self.services = services
        self._lock = threading.Lock()
        self._viewers: set[str] = set()

    def opened(self, user_id: str) -> None:
        with self._lock:
            self._viewers.add(user_id)
        self.publish(user_id)

    def publish(self, user_id: str, notice: str | None = None) -> bool:
        """Put the user's Home on their tab; False when Slack refused (logged)."""
        # the Home's contents and views are imported by the first Home published: a request that
        # publishes none (most clicks and commands) does not pay for them
        from bot.home_contents import home_of
        from bot.views.home import build_home_view

        try:
            view = build_home_view(home_of(self.services, user_id), int(self.services.clock.now()), notice)
            self.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            logger.warning(
                "the Home tab was not published",
                extra={"slack_user": user_id, "error": str(error.response.get("error", ""))},
            )
            return False
        return True

    def refresh_for(self, execution: Execution | None = None) -> list[str]:
        """Republish the Homes a change concerns: the run's requester, the Slack users who may
        approve or control runs, and whoever opened their Home here; returns who was refreshed."""
        people = set(self._people_with(Permission.APPROVE, Permission.CONTROL_EXECUTION))
        with self._lock:
            people |= self._viewers
        if execution is not None and is_user_id(execution.initiated_by):
            people.add(execution.initiated_by)
        refreshed = sorted(people)[:MAX_REFRESHED]
        for user_id in refreshed:
            self.publish(user_id)
        return refreshed

    def _people_with(self, *wanted: Permission) -> Iterable[str]:
        roles = self.services.settings.roles
        for role, members in roles.members.items():
            if any(p in ROLE_PERMISSIONS[role] for p in wanted):
                yield from (m for m in members if is_user_id(m))


_PUBLISHERS: weakref.WeakKeyDictionary[App, HomePublisher] = weakref.WeakKeyDictionary()


def remember_publisher(app: App, publisher: HomePublisher) -> None:
    """The app's Home publisher (build_app), so that its notifier refreshes the same Homes."""
    _PUBLISHERS[app] = publisher


def publisher_of(app: App) -> HomePublisher | None:
    return _PUBLISHERS.get(app)
