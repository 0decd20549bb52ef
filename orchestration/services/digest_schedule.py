"""The monthly digest's schedule (docs/schedules.md, "The monthly digest").

The digest settings carry an optional EventBridge Scheduler expression (`scheduleExpression`, null:
no digest), the IANA time zone it is read in (`scheduleTimezone`, which also decides where a month
begins and ends) and the channel it posts to. The rules, once:

- `checked_digest_schedule`: the expression engine (orchestration/schedule_expressions.py) validates
  expression and time zone; `at(...)` is refused (a digest recurs), and so is anything more frequent
  than daily: `rate(...)` must be 1 day or longer, `cron(...)` must name one minute and one hour.
  A digest covers the calendar month before its fire, so several fires a day would post the same
  digest again and again. An enabled digest with an expression needs a channel to post to.
- `register_digest`: after the settings are saved (version-checked), the port
  (orchestration/recurring.py) is told: put when there is an expression, remove when there is none.
- What a fire does is `run_scheduled_digest` (orchestration/services/digest_fire.py).
"""

from __future__ import annotations

from datetime import timedelta

from orchestration.context import Services
from orchestration.errors import InvalidScheduleExpression
from orchestration.models import DigestSettings
from orchestration.schedule_expressions import (
    AtExpression,
    CronExpression,
    RateExpression,
    parse,
    validate_timezone,
)
from orchestration.services.scheduled_settings import register_schedule

MIN_DIGEST_INTERVAL = timedelta(days=1)
EXPRESSION_FIELD = "scheduleExpression"


def checked_digest_schedule(expression: str | None, timezone: str | None) -> tuple[str | None, str]:
    """(canonical expression or None, time zone), or InvalidScheduleExpression naming what is wrong."""
    zone = validate_timezone(timezone if timezone is not None else "UTC")
    if expression is None:
        return None, zone
    parsed = parse(expression)
    text = parsed.to_aws()
    daily = "the digest is posted at most once a day (docs/schedules.md)"
    if isinstance(parsed, AtExpression):
        raise InvalidScheduleExpression(
            f"{EXPRESSION_FIELD} '{text}': at() fires once, and the digest recurs; use cron(...), e.g. "
            "cron(0 9 1 * ? *) for 09:00 on the first of every month, or `/dr digest now` for one look",
            field=EXPRESSION_FIELD,
            expression=text,
        )
    if isinstance(parsed, RateExpression) and parsed.interval < MIN_DIGEST_INTERVAL:
        raise InvalidScheduleExpression(
            f"{EXPRESSION_FIELD} '{text}': {daily}; use rate(1 day) or longer, or a cron(...)",
            field=EXPRESSION_FIELD,
            expression=text,
        )
    if isinstance(parsed, CronExpression) and (len(parsed.minute_values) > 1 or len(parsed.hour_values) > 1):
        raise InvalidScheduleExpression(
            f"{EXPRESSION_FIELD} '{text}': fires "
            f"{len(parsed.minute_values) * len(parsed.hour_values)} times a day, and {daily}; name one "
            "minute and one hour, e.g. cron(0 9 1 * ? *)",
            field=EXPRESSION_FIELD,
            expression=text,
        )
    return text, zone


def register_digest(services: Services, settings: DigestSettings) -> None:
    """Tell the port what the saved settings say (after they are saved)."""
    recurring = services.recurring
    register_schedule("digest", settings, recurring.put_digest, recurring.remove_digest)
