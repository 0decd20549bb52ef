"""Which backend a schedule change is registered with, for the services it is made through.

On AWS it is EventBridge Scheduler, built from the settings (DRBOT_SCHEDULE_GROUP,
DRBOT_SCHEDULER_ROLE_ARN, DRBOT_SCHEDULED_DRILL_FUNCTION_ARN and DRBOT_SCHEDULE_DLQ_ARN) when a
change needs it. On the embedded default it is the local backend the process started and handed to
its services (`start_local_schedules` in scheduler/runtime.py puts it in `Services.recurring`, the
slot through which it also registers the tag-sync schedule) — or, in a process that fires nothing,
such as a test or a script, the store alone, which the next local backend reads when it starts.

This is the scheduler side's choice of adapter, so it defers, as the composition root does, what
only one choice needs: EventBridge's backend is imported on AWS only.
"""

from __future__ import annotations

from orchestration.context import Services
from scheduler.backends.port import ScheduleBackend, StoreOnlyBackend


def schedule_backend(services: Services) -> ScheduleBackend:
    """The backend that fires the schedules of `services` (see the module docstring)."""
    if services.settings.backend == "aws":
        from scheduler.backends.eventbridge import backend_from_settings

        return backend_from_settings(services.settings)
    if isinstance(services.recurring, ScheduleBackend):
        return services.recurring
    return StoreOnlyBackend()
