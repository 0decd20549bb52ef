"""The embedded default's backend: APScheduler in drbot's own process, next to the local runner.

The store is the source of truth. The backend keeps, per active schedule, an EventBridgeTrigger
(the same fire-time calculation as AWS, daylight saving included) and fires what is due. At start-up
and on every pump it re-reads the store, so a schedule approved, paused or deleted by another drbot
process sharing the file takes effect here too, and a restarted drbot rebuilds everything it fires.

A fire that came due while drbot was not running is run once at start-up when it is at most
`missed_fire_grace_minutes` (DRBOT_MISSED_FIRE_GRACE_MINUTES) late; older ones are reported as
missed (`scheduler.fire.record_missed`), never run. Several due at once run at most once (the newest).
A fire that comes due while drbot runs, found by a pump that checked shortly before it, is not missed:
it runs however small the grace period (the pump finds it up to PUMP_SECONDS late).

The tag-sync schedule (orchestration/recurring.py) is one more job, rebuilt from the saved tag-sync
settings at start-up and on every pump like the drill schedules, and replaced at once when the
settings are saved in this process. Its fires run the tag-sync run it is given (`LocalWork`), which
re-reads the settings. A sync that came due while drbot was not running is not made up at start-up:
the next one does the same work (a sync copies the tags as they are then). Several due at once run
once. The monthly digest's schedule is one more job of the same kind; its fires post through
`digest_poster` (Slack's where `drbot serve` runs, else the log).

Why one pump job rather than an APScheduler job per schedule firing on its own: due times are
measured on the services' clock, so tests drive the backend with a FakeClock (`run_pending()`)
without waiting for real time — as the local runner does for executions.

What a due fire runs is handed in (`LocalWork`: the fire, the record of missed fires, the tag-sync
settings and run), as the local runner is given what it runs: scheduler/runtime.py composes it, so
this adapter depends on the port and the model only (docs/architecture.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.models import DigestSettings, Schedule, TagSyncSettings
from orchestration.recurring import DIGEST_TASK, TAG_SYNC_TASK
from orchestration.schedule_expressions import RateExpression, parse, validate_timezone
from orchestration.services.digest_fire import DigestPoster, LoggingDigestPoster
from scheduler.apscheduler_trigger import EventBridgeTrigger
from scheduler.backends.port import BackendEntry, ScheduleBackend
from scheduler.fire_result import FireResult
from scheduler.reporting import LoggingReporter, ScheduleReporter
from scheduler.state import ScheduleState, state_of
from scheduler.timing import active_since, due_since_active, start_of

logger = Logger(service="drbot")

PUMP_SECONDS = 10.0  # schedules fire on the minute at the finest: ten seconds late at most
# the previous check counts as "drbot was running" when it is at most this old (a suspended machine
# or a stalled pump is treated like a stopped drbot: its fires get the grace period)
RUNNING_SECONDS = 3 * PUMP_SECONDS


@dataclass(frozen=True)
class LocalWork:
    """What the backend runs when something is due (composed by scheduler/runtime.py)."""

    # a due fire of a drill schedule: (services, schedule id, fire time, reporter, this backend)
    fire: Callable[[Services, str, int, ScheduleReporter, ScheduleBackend], FireResult]
    # fires beyond the grace period: (services, schedule id, their times, reporter)
    record_missed: Callable[[Services, str, list[int], ScheduleReporter], object]
    tag_sync_settings: Callable[[Services], TagSyncSettings]  # the saved tag-sync settings
    run_tag_sync: Callable[[Services, int], dict[str, Any]]  # a fire of the tag-sync schedule
    digest_settings: Callable[[Services], DigestSettings]  # the saved digest settings
    run_digest: Callable[[Services, int, DigestPoster], dict[str, Any]]  # a fire of the digest


@dataclass(frozen=True)
class _Job:
    entry: BackendEntry
    trigger: EventBridgeTrigger
    version: int  # the stored schedule's version this job was built from


@dataclass(frozen=True)
class _TaskJob:
    """A recurring task's job (tag sync, digest): what it was built from (to rebuild only on a
    change) and its trigger."""

    expression: str
    timezone: str
    enabled: bool
    since: int
    trigger: EventBridgeTrigger


class LocalScheduleBackend(ScheduleBackend):
    """The APScheduler backend (see the module docstring)."""

    name = "local"

    def __init__(
        self,
        services: Services,
        work: LocalWork,
        reporter: ScheduleReporter | None = None,
        *,
        grace_minutes: int | None = None,
        scheduler: BackgroundScheduler | None = None,
        digest_poster: DigestPoster | None = None,
    ) -> None:
        self._services = services
        self._work = work
        self.reporter: ScheduleReporter = reporter or LoggingReporter()
        minutes = services.settings.missed_fire_grace_minutes if grace_minutes is None else grace_minutes
        self.grace_seconds = max(0, minutes) * 60
        self._scheduler = scheduler or BackgroundScheduler(timezone=UTC)
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._fire_lock = threading.Lock()  # one pump at a time: a fire is never handled twice at once
        self._running = False
        self._checked_at: float | None = None  # the clock time of the previous run_pending
        self._tasks: dict[str, _TaskJob] = {}  # the tag sync's and the digest's jobs, by task
        self._task_after: dict[str, float] = {}  # a task's fires at or before this were run (or let go)
        self.tag_sync_fires: list[dict[str, Any]] = []  # what the tag-sync fires answered, latest last
        self.digest_fires: list[dict[str, Any]] = []  # what the digest fires answered, latest last
        self.digest_poster: DigestPoster = digest_poster or LoggingDigestPoster()

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, pump: bool = True) -> list[FireResult]:
        """Rebuild from the store, handle fires missed while drbot was down, then (unless `pump` is
        False, as in tests) check every PUMP_SECONDS in the background. Returns the fires handled."""
        results = self.run_pending()
        with self._lock:
            if pump and not self._running:
                self._scheduler.add_job(
                    self._pump,
                    trigger="interval",
                    seconds=PUMP_SECONDS,
                    id="drbot-schedules-pump",
                    max_instances=1,
                    coalesce=True,
                    replace_existing=True,
                )
                self._scheduler.start()
                self._running = True
        return results

    def close(self) -> None:
        with self._lock:
            if self._running:
                self._scheduler.shutdown(wait=False)
                self._running = False

    # -- firing -----------------------------------------------------------------------------------

    @property
    def services(self) -> Services:
        return self._services

    def sync(self) -> None:
        """Make the jobs match the store: one per active schedule, rebuilt when it changed."""
        self._sync_tasks()
        stored = {s.schedule_id: s for s in self._services.store.list_schedules()}
        with self._lock:
            for schedule_id in [sid for sid in self._jobs if sid not in stored]:
                del self._jobs[schedule_id]
        for schedule in stored.values():
            job = self._jobs.get(schedule.schedule_id)
            if state_of(schedule) == ScheduleState.AWAITING_APPROVAL:
                with self._lock:
                    self._jobs.pop(schedule.schedule_id, None)
            elif job is None or job.version != schedule.version:
                try:
                    self.register(schedule)
                except Exception:  # e.g. a stored expression that no longer parses: the others still fire
                    logger.exception(
                        "schedule cannot be fired here", extra={"schedule_id": schedule.schedule_id}
                    )
                    with self._lock:
                        self._jobs.pop(schedule.schedule_id, None)  # nor as it was before it changed

    def next_fire(self, schedule_id: str) -> datetime | None:
        """When the schedule fires next, as its trigger computes it (None: not active here)."""
        job = self._jobs.get(schedule_id)
        if job is None or not job.entry.enabled:
            return None
        now = datetime.fromtimestamp(self._services.clock.now(), UTC)
        after = datetime.fromtimestamp(self._anchor(schedule_id), UTC)
        fire: datetime | None = job.trigger.get_next_fire_time(after, now)
        return fire

    def run_pending(self) -> list[FireResult]:
        """Fire every active schedule that is due by the services' clock; returns what was handled."""
        with self._fire_lock:
            self.sync()
            now = self._services.clock.now()
            previous, self._checked_at = self._checked_at, now
            watched_since = previous if previous is not None and now - previous <= RUNNING_SECONDS else None
            results: list[FireResult] = []
            for schedule in self._services.store.list_schedules():
                job = self._jobs.get(schedule.schedule_id)
                if job is None or not job.entry.enabled:
                    continue
                try:
                    results.extend(self._fire_due(job, schedule, now, watched_since))
                except Exception:  # one schedule's failure must not hold back the others' drills
                    logger.exception("schedule fire failed", extra={"schedule_id": schedule.schedule_id})
            try:
                self._fire_tag_sync(now)
            except Exception:  # the next fire tries again
                logger.exception("tag sync fire failed")
            try:
                self._fire_digest(now)
            except Exception:  # the next fire tries again
                logger.exception("digest fire failed")
            return results

    def _fire_due(
        self, job: _Job, schedule: Schedule, now: float, watched_since: float | None
    ) -> list[FireResult]:
        """`watched_since`: the previous check while drbot kept running (None at start-up or after a
        gap): a fire after it came due while drbot ran and is run, not measured against the grace."""
        moment = datetime.fromtimestamp(now, UTC)
        first = job.trigger.get_next_fire_time(datetime.fromtimestamp(active_since(schedule), UTC), moment)
        if first is None or first > moment:
            return []  # the usual answer, from one calculation
        due = due_since_active(schedule, now)
        if not due:
            return []
        newest = due[-1]
        on_time = watched_since is not None and newest > watched_since
        late = not on_time and now - newest > self.grace_seconds
        missed = due if late else due[:-1]
        if missed:
            self._work.record_missed(self._services, schedule.schedule_id, missed, self.reporter)
        if late:
            return []
        return [self._work.fire(self._services, schedule.schedule_id, newest, self.reporter, self)]

    # -- drbot's own recurring tasks: the tag sync and the digest ----------------------------------

    def put_tag_sync(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        self._put_task(TAG_SYNC_TASK, expression, timezone, enabled, since)

    def remove_tag_sync(self) -> None:
        self._remove_task(TAG_SYNC_TASK)

    def tag_sync_job(self) -> tuple[str, str, bool] | None:
        """(expression, time zone, enabled) of the tag-sync job, or None."""
        return self._task_job(TAG_SYNC_TASK)

    def next_tag_sync(self) -> datetime | None:
        """When the tag sync fires next here (None: no enabled tag-sync job)."""
        return self._next_task(TAG_SYNC_TASK)

    def put_digest(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        self._put_task(DIGEST_TASK, expression, timezone, enabled, since)

    def remove_digest(self) -> None:
        self._remove_task(DIGEST_TASK)

    def digest_job(self) -> tuple[str, str, bool] | None:
        """(expression, time zone, enabled) of the digest's job, or None."""
        return self._task_job(DIGEST_TASK)

    def next_digest(self) -> datetime | None:
        """When the digest fires next here (None: no enabled digest job)."""
        return self._next_task(DIGEST_TASK)

    def _put_task(self, task: str, expression: str, timezone: str, enabled: bool, since: int) -> None:
        canonical, zone = parse(expression), validate_timezone(timezone)
        with self._lock:
            job = self._tasks.get(task)
            if job and (job.expression, job.timezone, job.enabled, job.since) == (
                canonical.to_aws(),
                zone,
                enabled,
                since,
            ):
                return
            start = datetime.fromtimestamp(since, UTC) if isinstance(canonical, RateExpression) else None
            trigger = EventBridgeTrigger(canonical, zone, start=start)
            self._tasks[task] = _TaskJob(canonical.to_aws(), zone, enabled, since, trigger)
            # a new or changed schedule counts from now: what it would have fired before is not made up
            self._task_after[task] = self._services.clock.now()

    def _remove_task(self, task: str) -> None:
        with self._lock:
            self._tasks.pop(task, None)

    def _task_job(self, task: str) -> tuple[str, str, bool] | None:
        with self._lock:
            job = self._tasks.get(task)
        return (job.expression, job.timezone, job.enabled) if job else None

    def _next_task(self, task: str) -> datetime | None:
        with self._lock:
            job, after = self._tasks.get(task), self._task_after.get(task, 0.0)
        if job is None or not job.enabled:
            return None
        now = datetime.fromtimestamp(self._services.clock.now(), UTC)
        fire: datetime | None = job.trigger.get_next_fire_time(datetime.fromtimestamp(after, UTC), now)
        return fire

    def _sync_tasks(self) -> None:
        """Make the task jobs match the saved settings (another process may have changed them)."""
        for task, read in (
            (TAG_SYNC_TASK, self._work.tag_sync_settings),
            (DIGEST_TASK, self._work.digest_settings),
        ):
            try:
                settings = read(self._services)
                if settings.schedule_expression:
                    self._put_task(
                        task,
                        settings.schedule_expression,
                        settings.schedule_timezone,
                        settings.enabled,
                        settings.last_modified_date,
                    )
                else:
                    self._remove_task(task)
            except Exception:  # e.g. a saved expression that no longer parses: no job then
                logger.exception("a recurring task cannot be fired here", extra={"task": task})
                self._remove_task(task)

    def _due_task(self, task: str, now: float) -> int | None:
        """The newest due fire of the task's job (several due at once run once), claimed; or None."""
        with self._lock:
            job, after = self._tasks.get(task), self._task_after.get(task, 0.0)
        if job is None or not job.enabled:
            return None
        moment = datetime.fromtimestamp(now, UTC)
        due: datetime | None = None
        fire = job.trigger.get_next_fire_time(datetime.fromtimestamp(after, UTC), moment)
        while fire is not None and fire <= moment:
            due = fire
            fire = job.trigger.get_next_fire_time(fire, moment)
        if due is None:
            return None
        with self._lock:
            if self._tasks.get(task) is not job:  # replaced meanwhile: the new job counts from its start
                return None
            self._task_after[task] = due.timestamp()
        return int(due.timestamp())

    def _fire_tag_sync(self, now: float) -> None:
        due = self._due_task(TAG_SYNC_TASK, now)
        if due is None:
            return
        result = self._work.run_tag_sync(self._services, due)
        self.tag_sync_fires.append(result)
        del self.tag_sync_fires[:-20]

    def _fire_digest(self, now: float) -> None:
        due = self._due_task(DIGEST_TASK, now)
        if due is None:
            return
        result = self._work.run_digest(self._services, due, self.digest_poster)
        self.digest_fires.append(result)
        del self.digest_fires[:-20]

    def _pump(self) -> None:
        try:
            self.run_pending()
        except Exception:  # the next pump tries again; a schedule is never dropped
            logger.exception("schedule pump failed")

    def _anchor(self, schedule_id: str) -> int:
        return active_since(self._services.store.get_schedule(schedule_id))

    # -- primitives -------------------------------------------------------------------------------

    def _put(self, entry: BackendEntry, schedule: Schedule) -> None:
        trigger = EventBridgeTrigger(parse(entry.expression), entry.timezone, start=start_of(schedule))
        with self._lock:
            self._jobs[entry.schedule_id] = _Job(entry, trigger, schedule.version)

    def _delete(self, schedule_id: str) -> None:
        with self._lock:
            self._jobs.pop(schedule_id, None)

    def _get(self, schedule_id: str) -> BackendEntry | None:
        with self._lock:
            job = self._jobs.get(schedule_id)
        return job.entry if job else None
