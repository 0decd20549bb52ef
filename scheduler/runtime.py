"""Which backend fires schedules in this process: the composition of the scheduler side.

On AWS it is EventBridge Scheduler (configured by DRBOT_SCHEDULE_GROUP, DRBOT_SCHEDULER_ROLE_ARN,
DRBOT_SCHEDULED_DRILL_FUNCTION_ARN and DRBOT_SCHEDULE_DLQ_ARN). On the embedded default it is the
local backend that `start_local_schedules` started in this process (the console and `drbot serve`
start one next to the local runner), or — in a process that fires nothing, such as a test or a
script — the store alone, which the next local backend reads when it starts.

The same backend registers the tag-sync schedule (orchestration's RecurringTasks port):
`start_local_schedules` hands the local backend to the services it fires for, and on AWS the
data-management function loads `recurring_tasks` by name (DRBOT_RECURRING_TASKS, set by
template.yaml), so orchestration never imports this package.
"""

from __future__ import annotations

import threading

from orchestration.context import Services
from orchestration.recurring import NoRecurringTasks
from scheduler.backends.local import LocalScheduleBackend
from scheduler.backends.port import ScheduleBackend, StoreOnlyBackend
from scheduler.reporting import ScheduleReporter

_lock = threading.Lock()
_local: dict[int, LocalScheduleBackend] = {}  # id(store) -> the backend firing that store's schedules


def schedule_backend(services: Services) -> ScheduleBackend:
    if services.settings.backend == "aws":
        from scheduler.backends.eventbridge import backend_from_settings

        return backend_from_settings(services.settings)
    with _lock:
        return _local.get(id(services.store)) or StoreOnlyBackend()


def start_local_schedules(
    services: Services, reporter: ScheduleReporter | None = None, *, pump: bool = True
) -> LocalScheduleBackend | None:
    """Start the local backend over the services' store (embedded default only; None on AWS, where
    EventBridge Scheduler fires): rebuilt from the store, missed fires handled, then pumping."""
    if services.settings.backend != "embedded":
        return None
    backend = LocalScheduleBackend(services, reporter)
    with _lock:
        _local[id(services.store)] = backend
    services.recurring = backend  # a tag-sync schedule saved from now on takes effect at once
    backend.start(pump=pump)  # registers the saved tag-sync schedule with the drill schedules
    return backend


def stop_local_schedules(backend: LocalScheduleBackend | None) -> None:
    """Stop firing from this process (the store keeps every schedule)."""
    if backend is None:
        return
    backend.close()
    with _lock:
        for key in [k for k, v in _local.items() if v is backend]:
            del _local[key]
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
