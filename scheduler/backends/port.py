"""The ScheduleBackend port: register a schedule's fire times with whatever fires them.

The base class holds what every backend shares — which schedules may fire at all (approved ones),
the expression and time zone checked and put in canonical form — and the adapters implement three
primitives: `_put` (create or replace one entry), `_delete` and `_get`.

A backend also implements orchestration's RecurringTasks port (orchestration/recurring.py), which
registers the tag-sync schedule: `put_tag_sync` and `remove_tag_sync`, no-ops here; the local and
EventBridge backends fire it.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from orchestration.errors import ValidationFailed
from orchestration.models import Schedule
from orchestration.schedule_expressions import parse, validate_timezone


@dataclass(frozen=True)
class BackendEntry:
    """What a backend fires: the schedule's id, expression (canonical), time zone and state."""

    schedule_id: str
    expression: str
    timezone: str
    enabled: bool


class ScheduleBackend(ABC):
    """Fires approved schedules; `register` is create-or-update, `remove` forgets one (no error when
    it is already gone). Neither touches the store: the schedule services save first, then call here."""

    name: str = "backend"

    def register(self, schedule: Schedule) -> BackendEntry:
        """Create or update the schedule's entry: enabled while the schedule is approved and enabled."""
        if schedule.approved_by is None:
            raise ValidationFailed(
                f"Schedule {schedule.schedule_id} awaits approval: only an approved schedule is registered.",
                scheduleId=schedule.schedule_id,
            )
        entry = BackendEntry(
            schedule_id=schedule.schedule_id,
            expression=parse(schedule.expression).to_aws(),
            timezone=validate_timezone(schedule.timezone),
            enabled=schedule.enabled,
        )
        self._put(entry, schedule)
        return entry

    def remove(self, schedule_id: str) -> None:
        self._delete(schedule_id)

    def entry(self, schedule_id: str) -> BackendEntry | None:
        """The entry as the backend holds it now, or None."""
        return self._get(schedule_id)

    def resolved(self) -> ScheduleBackend:
        """The backend that does the work (built now if it is built on first use)."""
        return self

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop firing from this process; the default has nothing to stop."""

    # -- the tag-sync schedule (orchestration/recurring.py) --------------------------------------

    def put_tag_sync(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:  # noqa: B027
        """Create or replace the tag-sync entry; the default fires nothing (the store is all there is)."""

    def remove_tag_sync(self) -> None:  # noqa: B027 - optional hook
        """Forget the tag-sync entry; the default holds none."""

    def put_digest(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:  # noqa: B027
        """Create or replace the digest's entry; the default fires nothing."""

    def remove_digest(self) -> None:  # noqa: B027 - optional hook
        """Forget the digest's entry; the default holds none."""

    # -- primitives -------------------------------------------------------------------------------

    @abstractmethod
    def _put(self, entry: BackendEntry, schedule: Schedule) -> None: ...

    @abstractmethod
    def _delete(self, schedule_id: str) -> None: ...

    @abstractmethod
    def _get(self, schedule_id: str) -> BackendEntry | None: ...


class StoreOnlyBackend(ScheduleBackend):
    """The embedded default when no drbot process fires schedules right now: the store is all there
    is, and the local backend reads it when the next `drbot` or `drbot serve` starts."""

    name = "store"

    def _put(self, entry: BackendEntry, schedule: Schedule) -> None:
        return None

    def _delete(self, schedule_id: str) -> None:
        return None

    def _get(self, schedule_id: str) -> BackendEntry | None:
        return None


class BuiltOnFirstUse(ScheduleBackend):
    """A backend the composition root hands in before it can be built: `build` runs once, on first
    use (again only after it failed), so a configuration only this backend needs is checked when a
    schedule change needs it, and its client is not made at start-up."""

    def __init__(self, name: str, build: Callable[[], ScheduleBackend]) -> None:
        self.name = name
        self._build = build
        self._built: ScheduleBackend | None = None
        self._lock = threading.Lock()

    def resolved(self) -> ScheduleBackend:
        return self.backend()

    def backend(self) -> ScheduleBackend:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    def put_tag_sync(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        self.backend().put_tag_sync(expression, timezone, enabled, since=since)

    def remove_tag_sync(self) -> None:
        self.backend().remove_tag_sync()

    def put_digest(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        self.backend().put_digest(expression, timezone, enabled, since=since)

    def remove_digest(self) -> None:
        self.backend().remove_digest()

    def _put(self, entry: BackendEntry, schedule: Schedule) -> None:
        self.backend().register(schedule)

    def _delete(self, schedule_id: str) -> None:
        self.backend().remove(schedule_id)

    def _get(self, schedule_id: str) -> BackendEntry | None:
        return self.backend().entry(schedule_id)
