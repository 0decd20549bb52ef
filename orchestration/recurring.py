"""Recurring tasks that are not drills: the port through which the tag-sync schedule and the monthly
digest's are registered with whatever fires them (docs/schedules.md, "Tag sync on a schedule" and
"The monthly digest"; the digest's settings follow the same rules as the tag sync's).

The tag-sync settings (orchestration/services/tag_sync.py) are the source of truth: they are saved
first, version-checked, then the port is told; a fire always re-reads them. So an implementation
that lags behind, or none at all, can never sync what the settings forbid — it can only fire a sync
that then does nothing.

Orchestration names no implementation. The default is `NoRecurringTasks` (nothing registered: on
the embedded default, the local scheduler reads the saved settings when it starts and on every
pump). A process that fires schedules hands its implementation in: starting the local scheduler
sets `Services.recurring`, and the Lambda runtime (orchestration/handlers/runtime.py) loads the
factory that DRBOT_RECURRING_TASKS names, `module:function` taking the Services, as it loads the
notifier (README, configuration table).
"""

from __future__ import annotations

import threading
from typing import Protocol

ENV_RECURRING_TASKS = "DRBOT_RECURRING_TASKS"
TAG_SYNC_TASK = "tag_sync"  # the `task` of a scheduled fire's input
TAG_SYNC_PRINCIPAL = "schedule:tag-sync"  # who a scheduled sync acts as (drill fires: `schedule:<id>`)
DIGEST_TASK = "digest"  # the `task` of a digest fire's input
DIGEST_PRINCIPAL = "schedule:digest"  # who a digest fire acts as (audit)


class RecurringTasks(Protocol):
    """Registers drbot's own recurring tasks; each call is create-or-replace, or forget."""

    def put_tag_sync(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        """Fire the tag sync at `expression` (canonical EventBridge text) in IANA `timezone`; a
        disabled entry stays registered and fires nothing. `since` (epoch seconds, when the settings
        were saved) is what a rate counts from: its first fire is one interval later."""
        ...

    def remove_tag_sync(self) -> None:
        """Forget the tag-sync schedule (no error when there is none)."""
        ...

    def put_digest(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        """Fire the digest at `expression` in `timezone`, as `put_tag_sync` fires the tag sync."""
        ...

    def remove_digest(self) -> None:
        """Forget the digest's schedule (no error when there is none)."""
        ...


class NoRecurringTasks:
    """Registers nothing: the default of a process that fires no schedules."""

    def put_tag_sync(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        return None

    def remove_tag_sync(self) -> None:
        return None

    def put_digest(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        return None

    def remove_digest(self) -> None:
        return None


class RecordingRecurringTasks:
    """Keeps what it is told, for tests; `fail_next` makes the next call raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.tag_sync: tuple[str, str, bool, int] | None = None
        self.digest: tuple[str, str, bool, int] | None = None
        self.fail_next = 0
        self._lock = threading.Lock()

    def put_tag_sync(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        with self._lock:
            self._fail()
            self.calls.append(("put_tag_sync", expression, timezone, str(enabled)))
            self.tag_sync = (expression, timezone, enabled, since)

    def remove_tag_sync(self) -> None:
        with self._lock:
            self._fail()
            self.calls.append(("remove_tag_sync",))
            self.tag_sync = None

    def put_digest(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        with self._lock:
            self._fail()
            self.calls.append(("put_digest", expression, timezone, str(enabled)))
            self.digest = (expression, timezone, enabled, since)

    def remove_digest(self) -> None:
        with self._lock:
            self._fail()
            self.calls.append(("remove_digest",))
            self.digest = None

    def _fail(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("recurring-task backend unavailable (simulated)")
