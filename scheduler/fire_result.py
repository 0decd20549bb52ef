"""What a fire did (`FireResult`, `FireOutcome`): the answer of `scheduler.fire.fire_schedule`, which
the backends and the scheduled-drill Lambda pass on (docs/schedules.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FireOutcome(StrEnum):
    STARTED = "STARTED"  # a drill was started
    DUPLICATE = "DUPLICATE"  # this fire time was handled already (a redelivery)
    INACTIVE = "INACTIVE"  # the schedule is paused or awaits approval: nothing to do
    GONE = "GONE"  # the schedule was deleted
    PLAN_DELETED = "PLAN_DELETED"  # the plan is gone: the schedule was disabled
    SKIPPED = "SKIPPED"  # the plan still has an execution that has not ended
    REFUSED = "REFUSED"  # pre-flight (or a DRS limit) refused the run


@dataclass(frozen=True)
class FireResult:
    outcome: FireOutcome
    schedule_id: str
    scheduled_at: int  # epoch seconds: the fire time the backend named
    message: str
    execution_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "outcome": str(self.outcome),
            "scheduleId": self.schedule_id,
            "scheduledTime": self.scheduled_at,
            "message": self.message,
        }
        if self.execution_id is not None:
            wire["executionId"] = self.execution_id
        return wire
