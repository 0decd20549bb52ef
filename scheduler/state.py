"""The state of a drill schedule as its stored fields give it (docs/schedules.md): awaiting approval
until an approver approves it, then active or paused. Read by the service, the backends and bot/."""

from __future__ import annotations

from enum import StrEnum

from orchestration.models import Schedule


class ScheduleState(StrEnum):
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"


def state_of(schedule: Schedule) -> ScheduleState:
    if schedule.approved_by is None:
        return ScheduleState.AWAITING_APPROVAL
    return ScheduleState.ACTIVE if schedule.enabled else ScheduleState.PAUSED
