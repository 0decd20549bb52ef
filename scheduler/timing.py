"""A stored schedule's fire times: from its expression and zone, counted from when it became active.

A schedule becomes active when it is approved or resumed; both set `lastModifiedDate`, and nothing
else a fire writes does (a fire records `lastRunAt` and `lastExecutionId` only). So fires due while it
awaited approval or was paused are neither run nor "missed", and a rate schedule counts its
intervals from that moment — when EventBridge Scheduler, which starts a rate schedule when it is
created or updated, would count from too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from orchestration.models import Schedule
from orchestration.schedule_expressions import RateExpression, ScheduleExpression, parse

SEARCH_BATCH = 500  # fire times asked for at once when looking for the ones due since a moment


def expression_of(schedule: Schedule) -> ScheduleExpression:
    return parse(schedule.expression)


def active_since(schedule: Schedule) -> int:
    """Epoch seconds from which fires count: after the last handled fire, and not before the last
    approval or resume."""
    return max(schedule.last_run_at or 0, schedule.last_modified_date)


def start_of(schedule: Schedule) -> datetime | None:
    """The start a rate schedule counts from (None for cron and at, which need none)."""
    if isinstance(expression_of(schedule), RateExpression):
        return datetime.fromtimestamp(schedule.last_modified_date, UTC)
    return None


def upcoming(schedule: Schedule, after: float, count: int) -> list[datetime]:
    """The next `count` fire times strictly after `after` (epoch seconds), aware UTC."""
    expression = expression_of(schedule)
    moment = datetime.fromtimestamp(max(after, schedule.last_modified_date), UTC)
    return expression.next_fire_times(moment, count, schedule.timezone, start=start_of(schedule))


def due_since_active(schedule: Schedule, now: float) -> list[int]:
    """Every fire time (epoch seconds) after `active_since` and at or before `now`, oldest first;
    long outages of frequent schedules are cut to the newest SEARCH_BATCH * 20."""
    expression = expression_of(schedule)
    start = start_of(schedule)
    after = datetime.fromtimestamp(active_since(schedule), UTC)
    found: list[int] = []
    for _ in range(20):
        batch = expression.next_fire_times(after, SEARCH_BATCH, schedule.timezone, start=start)
        found.extend(int(t.timestamp()) for t in batch if t.timestamp() <= now)
        if len(batch) < SEARCH_BATCH or batch[-1].timestamp() > now:
            return found
        after = batch[-1]
    return found


def local_text(moment: datetime | int, timezone: str) -> str:
    """E.g. "Sun 2026-02-01 03:00 Europe/Berlin" (and the UTC time when the zone is not UTC)."""
    instant = datetime.fromtimestamp(moment, UTC) if isinstance(moment, int) else moment.astimezone(UTC)
    local = instant.astimezone(ZoneInfo(timezone))
    text = f"{local:%a %Y-%m-%d %H:%M} {timezone}"
    if timezone != "UTC":
        text += f" ({instant:%H:%M} UTC)"
    return text
