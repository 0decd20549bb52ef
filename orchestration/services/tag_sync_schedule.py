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
- What a fire does is `run_scheduled_tag_sync` (orchestration/services/tag_sync_fire.py).
"""

from __future__ import annotations

from datetime import timedelta

from orchestration.context import Services
from orchestration.errors import InvalidScheduleExpression
from orchestration.models import TagSyncSettings
from orchestration.schedule_expressions import (
    AtExpression,
    CronExpression,
    RateExpression,
    parse,
    validate_timezone,
)
from orchestration.services.scheduled_settings import register_schedule

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
    recurring = services.recurring
    register_schedule("tag sync", settings, recurring.put_tag_sync, recurring.remove_tag_sync)
