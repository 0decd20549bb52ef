"""The scheduled-drill Lambda: `scheduler.handler.lambda_handler(event, context)`.

EventBridge Scheduler invokes it (asynchronously, at least once) with the input its schedule holds:
`{"scheduleId": "<id>", "scheduledTime": "<aws.scheduler.scheduled-time>"}`, the second filled in by
EventBridge Scheduler with the fire's time (ISO 8601, UTC). The fire is handled by
`scheduler.fire.fire_schedule`, whose version-checked claim already makes a redelivery harmless; with
DRBOT_IDEMPOTENCY_TABLE set, powertools idempotency (DynamoDBPersistenceLayer) also answers a
redelivery from its record without touching the store, and keeps a concurrent duplicate out while
the first is in progress.

The tag-sync schedule (docs/schedules.md, "Tag sync on a schedule") targets this function too, with
`{"task": "tag_sync", "scheduledTime": "<aws.scheduler.scheduled-time>"}`: the fire runs
`run_scheduled_tag_sync`, which re-reads the tag-sync settings (disabled or without a schedule: it
does nothing) and syncs as `schedule:tag-sync`, logging a summary. A duplicate delivery is answered
from the idempotency record when there is one, and otherwise just syncs again, which is harmless.

The monthly digest's schedule (docs/schedules.md, "The monthly digest") targets it as well, with
`{"task": "digest", "scheduledTime": ...}`: the fire runs `run_scheduled_digest`, which claims the
month before the fire on the digest settings (a version-checked write, like a drill schedule's
`lastRunAt`: a redelivery, a retry or a second fire in the same month answers DUPLICATE and posts
nothing) and posts that month's digest through the Slack digest poster
(`bot.digest_poster:poster_from_settings`, loaded by name like the reporter), else to the log.

The answer is the fire's outcome (`FireResult.to_wire()`, or the tag sync's summary); an event that
is not a fire answers with the seed's error shape and is not retried. Drills report through the
notifier the runtime loads (DRBOT_NOTIFIER); fires that start nothing report through a Slack
reporter when Slack is configured (`bot.schedule_reporter:reporter_from_settings`, loaded by name so
that this package never imports the Slack side), else to the log.

For the template: the function needs the store's tables, the execution driver's permissions
(Step Functions StartExecution), DRS through the hub role, `scheduler:UpdateSchedule` on drbot's
group (to disable a schedule whose plan was deleted), and read/write on the idempotency table
(partition key `id`, TTL attribute `expiration`); for the tag sync, the tag-sync settings table,
`drs:TagResource` on source servers and `ec2:DescribeInstances`; for the digest, PutItem on the
digest's item of that table (a fire claims its month there).
"""

from __future__ import annotations

import pkgutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestration.cold_start import long_lived_imports

with long_lived_imports():  # drbot's own modules, collector paused (orchestration/cold_start.py)
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    from orchestration.config import Settings
    from orchestration.context import Services
    from orchestration.errors import DrbotError, ValidationFailed
    from orchestration.handlers.runtime import current_services
    from orchestration.observability import lambda_entry, logger
    from orchestration.recurring import DIGEST_TASK, TAG_SYNC_TASK
    from scheduler.backends.port import ScheduleBackend, StoreOnlyBackend
    from scheduler.fire import fire_schedule
    from scheduler.reporting import LoggingReporter, ScheduleReporter

if TYPE_CHECKING:
    from orchestration.services.digest_fire import DigestPoster

SLACK_REPORTER = "bot.schedule_reporter:reporter_from_settings"
SLACK_DIGEST_POSTER = "bot.digest_poster:poster_from_settings"
TASKS = (TAG_SYNC_TASK, DIGEST_TASK)
IDEMPOTENCY_SECONDS = 7 * 24 * 3600  # longer than EventBridge Scheduler keeps retrying a fire

ReporterFactory = Callable[[Settings], ScheduleReporter | None]

_lock = threading.Lock()
_reporter: ScheduleReporter | None = None
# the backend a fire disables a schedule with (its plan deleted), one per configuration for the
# container's life: built by `schedule_backend` on the first fire that needs it
_backends: dict[tuple[str | None, ...], ScheduleBackend] = {}
# one persistence layer (and so one DynamoDB client) per table for the container's life, as
# powertools means it: built on the first fire, reused by every later one
_persistence: dict[str, BasePersistenceLayer] = {}


@lambda_entry
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        fire = parse_event(event)
    except DrbotError as error:
        logger.error("not a scheduled fire", extra={"error": error.code, "detail": error.message})
        return error.to_body()
    services = current_services()
    table = services.settings.idempotency_table
    if not table:
        return _fire(services, fire)
    config = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_SECONDS)
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)
    persistence = persistence_layer(table)

    def scheduled_fire(fire: dict[str, Any]) -> dict[str, Any]:
        return _fire(services, fire)

    guarded = idempotent_function(
        scheduled_fire, data_keyword_argument="fire", persistence_store=persistence, config=config
    )
    result: dict[str, Any] = guarded(fire=fire)
    return result


def persistence_layer(table: str) -> BasePersistenceLayer:
    """The container's idempotency persistence layer for `table`, built on first use."""
    with _lock:
        layer = _persistence.get(table)
        if layer is None:
            layer = _persistence[table] = DynamoDBPersistenceLayer(table_name=table)
        return layer


def parse_event(event: Any) -> dict[str, Any]:
    """The fire the target input names: `{"scheduleId", "scheduledTime"}` (a drill schedule's) or
    `{"task": "tag_sync" | "digest", "scheduledTime"}`, the time in epoch seconds; or ValidationFailed."""
    if isinstance(event, dict) and "task" in event:
        task = event["task"]
        if not isinstance(task, str) or task not in TASKS:
            raise ValidationFailed(
                f"Unknown scheduled task {str(task)[:64]!r}: the tasks are {', '.join(map(repr, TASKS))}.",
                field="task",
            )
        if "scheduleId" in event:
            raise ValidationFailed("A fire names a task or a schedule, not both.", field="scheduleId")
        return {"task": task, "scheduledTime": _scheduled_time(event)}
    schedule_id, scheduled_at = parse_fire(event)
    return {"scheduleId": schedule_id, "scheduledTime": scheduled_at}


def parse_fire(event: Any) -> tuple[str, int]:
    """(schedule id, fire time in epoch seconds) from the target input, or ValidationFailed."""
    if not isinstance(event, dict):
        raise ValidationFailed("A scheduled fire is a JSON object {scheduleId, scheduledTime}.")
    schedule_id = event.get("scheduleId")
    if not isinstance(schedule_id, str) or not schedule_id.strip():
        raise ValidationFailed("The fire names no schedule: scheduleId is missing.", field="scheduleId")
    return schedule_id.strip(), _scheduled_time(event)


def _scheduled_time(event: dict[str, Any]) -> int:
    raw = event.get("scheduledTime")
    if not isinstance(raw, str):
        raise ValidationFailed(
            "The fire has no scheduledTime: EventBridge Scheduler fills <aws.scheduler.scheduled-time>.",
            field="scheduledTime",
        )
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed(
            f"scheduledTime '{raw}' is not an ISO 8601 time such as 2026-02-01T02:00:00Z.",
            field="scheduledTime",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # EventBridge Scheduler's context attribute is UTC
    return int(moment.timestamp())


def use_reporter(reporter: ScheduleReporter | None) -> None:
    """Report fires through `reporter` (None: choose from the settings on next use)."""
    global _reporter  # noqa: PLW0603 - the per-container singleton Lambda's execution model wants
    with _lock:
        _reporter = reporter


def reporter_for(settings: Settings) -> ScheduleReporter:
    """The container's reporter: Slack when configured, else the log."""
    global _reporter  # noqa: PLW0603
    with _lock:
        if _reporter is None:
            _reporter = _slack_reporter(settings) or LoggingReporter()
        return _reporter


def _slack_reporter(settings: Settings) -> ScheduleReporter | None:
    if not (settings.slack_secret_arn or settings.slack_bot_token):
        return None
    try:
        factory: ReporterFactory = pkgutil.resolve_name(SLACK_REPORTER)
    except (ImportError, AttributeError, ValueError):
        logger.exception("the Slack schedule reporter cannot be loaded; reporting to the log")
        return None
    return factory(settings)


def digest_poster_for(settings: Settings) -> DigestPoster:
    """The Slack digest poster when Slack is configured (loaded by name), else the log's."""
    from orchestration.services.digest_fire import LoggingDigestPoster

    if settings.slack_secret_arn or settings.slack_bot_token:
        try:
            factory: Callable[[Settings], DigestPoster] = pkgutil.resolve_name(SLACK_DIGEST_POSTER)
            return factory(settings)
        except (ImportError, AttributeError, ValueError):
            logger.exception("the Slack digest poster cannot be loaded; posting to the log")
    return LoggingDigestPoster()


def schedule_backend(settings: Settings) -> ScheduleBackend:
    """The container's schedule backend: EventBridge Scheduler on AWS (built on first use), else
    the store alone (nothing else fires here)."""
    if settings.backend != "aws":
        return StoreOnlyBackend()
    key = (
        settings.region,
        settings.schedule_group,
        settings.scheduled_drill_function_arn,
        settings.scheduler_role_arn,
        settings.schedule_dlq_arn,
    )
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            from scheduler.backends.eventbridge import backend_on_first_use

            backend = _backends[key] = backend_on_first_use(settings)
        return backend


def _fire(services: Services, fire: dict[str, Any]) -> dict[str, Any]:
    if fire.get("task") == TAG_SYNC_TASK:  # the tag sync's services: imported by the fire that runs it
        from orchestration.services.tag_sync_fire import run_scheduled_tag_sync

        # run_scheduled_tag_sync logs its structured summary and never raises a DrbotError
        return run_scheduled_tag_sync(services, int(fire["scheduledTime"]))
    if fire.get("task") == DIGEST_TASK:  # the digest's services too: imported by the fire that posts it
        from orchestration.services.digest_fire import run_scheduled_digest

        # run_scheduled_digest claims the month first, logs its summary, audits a refused post and,
        # once claimed, never raises (an unclaimed fire may raise Conflict: retrying it is safe)
        return run_scheduled_digest(
            services, int(fire["scheduledTime"]), digest_poster_for(services.settings)
        )
    try:
        backend: ScheduleBackend | None = schedule_backend(services.settings).resolved()
    except DrbotError as error:  # only needed to disable a schedule whose plan was deleted
        logger.warning(
            "no schedule backend: a schedule to disable stays enabled", extra={"detail": error.message}
        )
        backend = None
    result = fire_schedule(
        services, fire["scheduleId"], int(fire["scheduledTime"]), reporter_for(services.settings), backend
    )
    logger.info(
        result.message,
        extra={
            "schedule_id": result.schedule_id,
            "outcome": str(result.outcome),
            "execution_id": result.execution_id,
        },
    )
    return result.to_wire()
