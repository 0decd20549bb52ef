"""The monthly digest's schedule (docs/schedules.md, "The monthly digest").

The digest settings carry an optional EventBridge Scheduler expression (`scheduleExpression`, null:
no digest), the IANA time zone it is read in (`scheduleTimezone`, which also decides where a month
begins and ends) and the channel it posts to. The rules, once:

- `checked_digest_schedule`: the expression engine (orchestration/schedule_expressions.py) validates
  expression and time zone, then the digest's own rule: **at most once a month**. A digest covers
  the calendar month before its fire, so a `cron(...)` must name one minute, one hour and one day of
  the month (a number, `L`, `L-n`, `LW` or `nW`; day-of-week `?`); `rate(...)` is refused (a month is
  not a fixed number of days) and so is `at(...)` (a digest recurs). An enabled digest with an
  expression needs a channel to post to. Whatever the expression, a fire posts at most once for its
  month (the claim in orchestration/services/digest_fire.py).
- `register_digest`: after the settings are saved (version-checked), the port
  (orchestration/recurring.py) is told: put when there is an expression, remove when there is none.
- What a fire does is `run_scheduled_digest` (orchestration/services/digest_fire.py).
"""

from __future__ import annotations

import re

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

EXPRESSION_FIELD = "scheduleExpression"
MONTHLY_EXAMPLE = "cron(0 9 1 * ? *)"
# a day-of-month field that selects at most one day of a month: 15, L, L-3, LW, 15W
_ONE_DAY = re.compile(r"[0-9]+|L|L-[0-9]+|LW|[0-9]+W")


def checked_digest_schedule(expression: str | None, timezone: str | None) -> tuple[str | None, str]:
    """(canonical expression or None, time zone), or InvalidScheduleExpression naming what is wrong."""
    zone = validate_timezone(timezone if timezone is not None else "UTC")
    if expression is None:
        return None, zone
    parsed = parse(expression)
    text = parsed.to_aws()
    problem: str | None
    if isinstance(parsed, AtExpression):
        problem = "at() fires once, and the digest recurs every month"
    elif isinstance(parsed, RateExpression):
        problem = "rate() is refused: a month is not a fixed number of days"
    elif isinstance(parsed, CronExpression):
        problem = _more_than_monthly(parsed)
    else:  # pragma: no cover - the engine knows cron, rate and at
        problem = f"{parsed.kind}() is not a monthly expression"
    if problem:
        raise InvalidScheduleExpression(
            f"{EXPRESSION_FIELD} '{text}': {problem}. The digest covers the calendar month before "
            f"its fire, so it fires at most once a month (docs/schedules.md): type a cron(...) with one "
            f"minute, one hour and one day of the month, e.g. {MONTHLY_EXAMPLE} for 09:00 on the first "
            "of every month; `/dr digest now` shows the month so far",
            field=EXPRESSION_FIELD,
            expression=text,
        )
    return text, zone


def _more_than_monthly(cron: CronExpression) -> str | None:
    """What makes the cron fire more than once a month, or None."""
    if cron.day_of_week != "?":
        return f"day-of-week '{cron.day_of_week}' fires on several days a month; use ? there"
    if not _ONE_DAY.fullmatch(cron.day_of_month):
        return f"day-of-month '{cron.day_of_month}' names several days; name one"
    times = len(cron.minute_values) * len(cron.hour_values)
    if times > 1:
        return f"it fires {times} times a day; name one minute and one hour"
    return None


def register_digest(services: Services, settings: DigestSettings) -> None:
    """Tell the port what the saved settings say (after they are saved)."""
    recurring = services.recurring
    register_schedule("digest", settings, recurring.put_digest, recurring.remove_digest)
