"""Tag sync on a schedule (docs/schedules.md, "Tag sync on a schedule").

The tag-sync settings carry an optional EventBridge Scheduler expression (`scheduleExpression`,
null: no schedule) and the IANA time zone it is read in (`scheduleTimezone`, default UTC). This
module holds the rules about them, once:

- `checked_schedule`: the expression engine (orchestration/schedule_expressions.py) validates both,
  and two rules of drbot's own refuse what a recurring sync should not be. `at(...)` fires once: a
  one-off sync is `handle_drs_tag_sync`, asked for when wanted, and a one-time entry would stay
  registered doing nothing. And a sync runs at most hourly (MIN_SYNC_INTERVAL): each run reads every
  source server of its regions and every EC2 instance behind them, and makes one DRS TagResource
  call per server whose tags changed. DRS throttles its API per account and region, and drills,
  pre-flight and `/dr servers` share that budget; a large estate's run takes minutes; and EC2 tags
  change rarely — so an hour is frequent enough for the groups that select by tag, and leaves the
  API to the drills. `rate(...)` must be 1 hour or longer; `cron(...)` must name one minute of the
  hour (on the local clock that is one fire an hour at most).
- `register_tag_sync`: after the settings are saved (version-checked), the port
  (orchestration/recurring.py) is told: put when there is an expression, remove when there is none.
- `run_scheduled_tag_sync`: what a fire does. It re-reads the settings: disabled or without an
  expression, it does nothing (logged), so a backend lagging behind the settings can never sync what
  they forbid. Otherwise it runs `handle_drs_tag_sync` as TAG_SYNC_PRINCIPAL and answers a summary.
  A duplicate delivery of one fire just syncs again: a sync copies the EC2 tags as they are now, and
  a server whose tags already match is not written to, so running twice is harmless.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.errors import DrbotError, InternalError, InvalidScheduleExpression
from orchestration.models import TagSyncSettings
from orchestration.recurring import TAG_SYNC_PRINCIPAL, TAG_SYNC_TASK
from orchestration.schedule_expressions import (
    AtExpression,
    CronExpression,
    RateExpression,
    parse,
    validate_timezone,
)

logger = Logger(service="drbot")

MIN_SYNC_INTERVAL = timedelta(hours=1)
EXPRESSION_FIELD = "scheduleExpression"
TIMEZONE_FIELD = "scheduleTimezone"


def checked_schedule(expression: str | None, timezone: str | None) -> tuple[str | None, str]:
    """(canonical expression or None, time zone) for the settings, or InvalidScheduleExpression
    with the engine's message (or drbot's rule) naming what is wrong."""
    zone = validate_timezone(timezone if timezone is not None else "UTC")
    if expression is None:
        return None, zone
    parsed = parse(expression)
    text = parsed.to_aws()
    if isinstance(parsed, AtExpression):
        raise InvalidScheduleExpression(
            f"{EXPRESSION_FIELD} '{text}': at() fires once, and tag sync on a schedule recurs; use "
            "rate(...) or cron(...), or run handle_drs_tag_sync for a one-off sync",
            field=EXPRESSION_FIELD,
            expression=text,
        )
    hourly = "tag sync runs at most once an hour (docs/schedules.md)"
    if isinstance(parsed, RateExpression) and parsed.interval < MIN_SYNC_INTERVAL:
        raise InvalidScheduleExpression(
            f"{EXPRESSION_FIELD} '{text}': {hourly}; use rate(1 hour) or longer",
            field=EXPRESSION_FIELD,
            expression=text,
        )
    if isinstance(parsed, CronExpression) and len(parsed.minute_values) > 1:
        raise InvalidScheduleExpression(
            f"{EXPRESSION_FIELD} '{text}': fires {len(parsed.minute_values)} times an hour, and {hourly}; "
            "name one minute, e.g. cron(0 * * * ? *)",
            field=EXPRESSION_FIELD,
            expression=text,
        )
    return text, zone


def register_tag_sync(services: Services, settings: TagSyncSettings) -> None:
    """Tell the port what the saved settings say (after they are saved)."""
    try:
        if settings.schedule_expression:
            services.recurring.put_tag_sync(
                settings.schedule_expression,
                settings.schedule_timezone,
                settings.enabled,
                since=settings.last_modified_date,
            )
        else:
            services.recurring.remove_tag_sync()
    except Exception as error:
        raise InternalError(
            f"The tag sync settings were saved (version {settings.version}), but the scheduler refused "
            f"the change ({type(error).__name__}: {error}); save them again to retry. A fire does "
            "what the saved settings say, whatever the scheduler still holds.",
            version=settings.version,
        ) from error


def run_scheduled_tag_sync(services: Services, scheduled_at: int) -> dict[str, Any]:
    """One fire of the tag-sync schedule due at `scheduled_at` (epoch seconds): a summary with
    `outcome` SYNCED, INACTIVE (nothing done) or FAILED (the error, also audited). Never raises a
    DrbotError: the next fire tries again."""
    from orchestration.services.tag_sync import get_tag_sync_settings, handle_drs_tag_sync

    settings = get_tag_sync_settings(services)
    result: dict[str, Any] = {"task": TAG_SYNC_TASK, "scheduledTime": scheduled_at}
    if not settings.enabled or not settings.schedule_expression:
        why = "disabled" if not settings.enabled else "without a schedule"
        message = f"Scheduled tag sync skipped: the tag sync settings are {why} now."
        logger.info(message, extra={"task": TAG_SYNC_TASK, "scheduled_time": scheduled_at})
        return {**result, "outcome": "INACTIVE", "message": message}
    try:
        report = handle_drs_tag_sync(services, TAG_SYNC_PRINCIPAL)
    except DrbotError as error:
        message = f"Scheduled tag sync failed: {error.message}"
        logger.error(
            message, extra={"task": TAG_SYNC_TASK, "scheduled_time": scheduled_at, "error": error.code}
        )
        services.store.append_audit(
            TAG_SYNC_PRINCIPAL,
            "tag_sync.failed",
            f"tag_sync:{settings.config_id}",
            scheduledTime=scheduled_at,
            error=error.code,
        )
        return {**result, "outcome": "FAILED", "message": message, "error": error.code}
    summary = {
        "regions": report["regions"],
        "serversScanned": report["serversScanned"],
        "serversUpdated": report["serversUpdated"],
        "serversUnchanged": report["serversUnchanged"],
        "serversWithoutEc2Instance": report["serversWithoutEc2Instance"],
        "tagsApplied": report["tagsApplied"],
        "instancesNotFound": len(report["instancesNotFound"]),
        "failed": len(report["failed"]),
    }
    message = (
        f"Scheduled tag sync: {summary['serversUpdated']} of {summary['serversScanned']} source servers "
        f"updated ({summary['tagsApplied']} tags), {summary['failed']} failed."
    )
    logger.info(message, extra={"task": TAG_SYNC_TASK, "scheduled_time": scheduled_at, **summary})
    return {**result, "outcome": "SYNCED", "message": message, "summary": summary}
