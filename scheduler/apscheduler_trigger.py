"""An APScheduler 3 trigger that fires exactly when EventBridge Scheduler would.

APScheduler's own CronTrigger is not a translation target: it numbers weekdays from Monday = 0, has no
`W`, `LW` or `L-n`, and in a repeated hour (clocks going back) it fires twice. `EventBridgeTrigger`
asks `ScheduleExpression.next_fire_times` instead, so the embedded backend and the AWS backend agree
on every fire time, daylight-saving skips and single fires included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger

from orchestration.schedule_expressions import RateExpression, ScheduleExpression, parse, validate_timezone

_JUST_BEFORE = timedelta(microseconds=1)


class EventBridgeTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """Fires at `expression.next_fire_times(..., timezone, start=start)`.

    `start` is the schedule's start (EventBridge's StartDate, else its creation time): no fire is
    earlier, and a rate schedule counts its intervals from it. A rate schedule without `start` counts
    from the moment the trigger is made, which is when EventBridge Scheduler would start it
    ("If you do not provide a StartDate for a rate-based schedule, your schedule starts invoking the
    target immediately"); a backend rebuilt from the store should pass the schedule's stored start.
    """

    __slots__ = ("expression", "start", "timezone")

    def __init__(self, expression: ScheduleExpression, timezone: str, start: datetime | None = None) -> None:
        self.expression = expression
        self.timezone = validate_timezone(timezone)
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be a timezone-aware datetime")
        if start is None and isinstance(expression, RateExpression):
            start = datetime.now(UTC)
        self.start = start

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The first fire time after `previous_fire_time`, or at/after `now` when there is none yet.

        APScheduler asks with `previous_fire_time=None` when a job is added (a fire due exactly at
        `now` still counts) and with the last run time after each run (so the next is strictly later;
        a wall time repeated by a clock going back is not run again). None means the schedule is over.
        """
        after = previous_fire_time if previous_fire_time is not None else now - _JUST_BEFORE
        times = self.expression.next_fire_times(after, 1, self.timezone, start=self.start)
        return times[0] if times else None

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "expression": self.expression.to_aws(),
            "timezone": self.timezone,
            "start": self.start,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version") != 1:
            raise ValueError(
                f"cannot restore an EventBridgeTrigger from state version {state.get('version')}"
            )
        self.expression = parse(state["expression"])
        self.timezone = state["timezone"]
        self.start = state["start"]

    def __str__(self) -> str:
        return f"eventbridge[{self.expression.to_aws()}, {self.timezone}]"

    def __repr__(self) -> str:
        start = f", start={self.start.isoformat()!r}" if self.start is not None else ""
        return f"<EventBridgeTrigger ({self.expression.to_aws()!r}, timezone={self.timezone!r}{start})>"
