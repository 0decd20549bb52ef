"""What the Home tab shows one viewer (`Home`), as bot/app_home.py gathers it and bot/views/home.py
renders it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from orchestration.models import Execution, RecoveryPlan, Schedule


@dataclass(frozen=True)
class PlanLine:
    plan: RecoveryPlan
    last_drill: Execution | None  # the newest drill of the plan that has ended


@dataclass(frozen=True)
class NextDrill:
    at: datetime
    schedule: Schedule
    plan_name: str


@dataclass(frozen=True)
class Home:
    """Everything the Home tab shows one viewer."""

    viewer: str
    approvals: list[Execution] = field(default_factory=list)
    schedule_requests: list[tuple[Schedule, str]] = field(default_factory=list)  # (schedule, plan name)
    gates: list[Execution] = field(default_factory=list)
    running: list[Execution] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)  # a running execution's thread's channel
    next_drills: list[NextDrill] = field(default_factory=list)
    plans: list[PlanLine] = field(default_factory=list)

    @property
    def needs_viewer(self) -> int:
        return len(self.approvals) + len(self.schedule_requests) + len(self.gates)
