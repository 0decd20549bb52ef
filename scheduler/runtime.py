"""Starting and stopping the backend that fires schedules in this process: the composition of the
scheduler side, called by the entry points (the console and `drbot serve` start the local backend
next to the local runner; on AWS, EventBridge Scheduler fires and nothing starts here).

`start_local_schedules` builds the local backend over the services' store and hands it to those
services (`Services.recurring`): schedule changes made through them are registered with it
(scheduler/backends/selection.py), and so is the tag-sync schedule (orchestration's RecurringTasks
port). On AWS the data-management function loads `recurring_tasks` by name (DRBOT_RECURRING_TASKS,
set by template.yaml), so orchestration never imports this package.
"""

from __future__ import annotations

from orchestration.context import Services
from orchestration.recurring import NoRecurringTasks
from scheduler.backends.local import LocalScheduleBackend
from scheduler.backends.selection import schedule_backend
from scheduler.reporting import ScheduleReporter


def start_local_schedules(
    services: Services, reporter: ScheduleReporter | None = None, *, pump: bool = True
) -> LocalScheduleBackend | None:
    """Start the local backend over the services' store (embedded default only; None on AWS, where
    EventBridge Scheduler fires): rebuilt from the store, missed fires handled, then pumping."""
    if services.settings.backend != "embedded":
        return None
    backend = LocalScheduleBackend(services, reporter)
    services.recurring = backend  # a tag-sync schedule saved from now on takes effect at once
    backend.start(pump=pump)  # registers the saved tag-sync schedule with the drill schedules
    return backend


def stop_local_schedules(backend: LocalScheduleBackend | None) -> None:
    """Stop firing from this process (the store keeps every schedule)."""
    if backend is None:
        return
    backend.close()
    if backend.services.recurring is backend:
        backend.services.recurring = NoRecurringTasks()


class BackendRecurringTasks:
    """The RecurringTasks of whichever backend fires schedules for `services`, looked up per call
    (so the EventBridge backend is only built, and its configuration only checked, when used)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def put_tag_sync(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        schedule_backend(self._services).put_tag_sync(expression, timezone, enabled, since=since)

    def remove_tag_sync(self) -> None:
        schedule_backend(self._services).remove_tag_sync()


def recurring_tasks(services: Services) -> BackendRecurringTasks:
    """The DRBOT_RECURRING_TASKS factory (`scheduler.runtime:recurring_tasks`)."""
    return BackendRecurringTasks(services)
