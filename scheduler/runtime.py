"""The composition of the scheduler side, called by the entry points: which backend fires schedules
in a process, built once and handed to what changes schedules (the schedule services take it as an
argument); the console and `drbot serve` start the local backend next to the local runner; on AWS,
EventBridge Scheduler fires and nothing starts here.

`local_backend` gives the local backend what it runs when something is due (the fire, the record of
missed fires, the tag-sync run, the digest), as orchestration/bootstrap.py gives the local runner
what it runs.
`start_local_schedules` starts it over the services' store and hands it to those services
(`Services.recurring`), so the tag-sync schedule (orchestration's RecurringTasks port) is registered
with it too. On AWS the data-management function loads `recurring_tasks` by name
(DRBOT_RECURRING_TASKS, set by template.yaml), so orchestration never imports this package.
"""

from __future__ import annotations

from typing import Any

from orchestration.context import Services
from orchestration.recurring import NoRecurringTasks
from orchestration.services.digest_fire import DigestPoster, run_scheduled_digest
from orchestration.services.digest_settings import get_digest_settings
from orchestration.services.tag_sync import get_tag_sync_settings
from orchestration.services.tag_sync_fire import run_scheduled_tag_sync
from scheduler.backends.eventbridge import backend_on_first_use
from scheduler.backends.local import LocalScheduleBackend, LocalWork
from scheduler.backends.port import ScheduleBackend, StoreOnlyBackend
from scheduler.fire import fire_schedule, record_missed
from scheduler.reporting import ScheduleReporter

LOCAL_WORK = LocalWork(
    fire=fire_schedule,
    record_missed=record_missed,
    tag_sync_settings=get_tag_sync_settings,
    run_tag_sync=run_scheduled_tag_sync,
    digest_settings=get_digest_settings,
    run_digest=run_scheduled_digest,
)


def local_backend(
    services: Services, reporter: ScheduleReporter | None = None, **options: Any
) -> LocalScheduleBackend:
    """The local backend over the services' store, not started (`options`: LocalScheduleBackend's)."""
    return LocalScheduleBackend(services, LOCAL_WORK, reporter, **options)


def local_schedules(services: Services) -> LocalScheduleBackend | None:
    """The backend this process will start (embedded default only; None on AWS), built before the
    app that hands it to the schedule commands; `start_local_schedules(..., backend=it)` starts it."""
    return local_backend(services) if services.settings.backend == "embedded" else None


def start_local_schedules(
    services: Services,
    reporter: ScheduleReporter | None = None,
    *,
    pump: bool = True,
    backend: LocalScheduleBackend | None = None,
    digest_poster: DigestPoster | None = None,
) -> LocalScheduleBackend | None:
    """Start the local backend over the services' store (embedded default only; None on AWS, where
    EventBridge Scheduler fires): rebuilt from the store, missed fires handled, then pumping.
    `backend`: the one `local_schedules` built (default: a new one); `digest_poster`: where the
    monthly digest is posted (default: the log)."""
    if services.settings.backend != "embedded":
        return None
    backend = backend or local_backend(services)
    if reporter is not None:
        backend.reporter = reporter
    if digest_poster is not None:
        backend.digest_poster = digest_poster
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


def recurring_tasks(services: Services) -> ScheduleBackend:
    """The DRBOT_RECURRING_TASKS factory (`scheduler.runtime:recurring_tasks`): on AWS the
    EventBridge backend, built (and its configuration checked) when the tag sync is first saved;
    elsewhere the store alone, which the next local backend reads when it starts."""
    if services.settings.backend == "aws":
        return backend_on_first_use(services.settings)
    return StoreOnlyBackend()
