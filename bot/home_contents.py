"""What the Home tab shows one viewer (`Home`), gathered by `home_of` and rendered by
bot/views/home.py; bot/app_home.py publishes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.slack_thread_record import thread_of
from orchestration.context import Services
from orchestration.models import Execution, ExecutionStatus, ExecutionType, RecoveryPlan, Schedule
from orchestration.rbac import Permission
from orchestration.services.access import permissions_of
from scheduler.service import next_fire_times
from scheduler.state import ScheduleState, state_of

MAX_LISTED = 10  # items per section (a Home tab holds at most 100 blocks)
NEXT_DRILLS = 5
_ACTIVE_LIMIT = 100


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


def home_of(services: Services, viewer: str) -> Home:
    """The viewer's Home, read fresh from the store."""
    permissions = permissions_of(services, viewer)
    may_approve = Permission.APPROVE in permissions
    may_control = Permission.CONTROL_EXECUTION in permissions
    active = services.store.list_executions(active_only=True, limit=_ACTIVE_LIMIT)
    plans = services.store.list_plans()
    plan_names = {p.plan_id: p.plan_name for p in plans}

    approvals = [
        e
        for e in active
        if may_approve
        and e.status == ExecutionStatus.PENDING_APPROVAL
        and e.initiated_by != viewer
        and viewer not in {a.user_id for a in e.approvals}
    ]
    gates = [
        e for e in active if may_control and e.status == ExecutionStatus.PAUSED and e.gate_wave is not None
    ]
    running = [e for e in active if not e.status.is_terminal and e.status != ExecutionStatus.PENDING_APPROVAL]
    schedules = services.store.list_schedules()
    requests = [
        (s, plan_names.get(s.plan_id, "(deleted plan)"))
        for s in schedules
        if may_approve and state_of(s) == ScheduleState.AWAITING_APPROVAL and s.created_by != viewer
    ]
    upcoming = sorted(
        (
            NextDrill(moment, s, plan_names.get(s.plan_id, "(deleted plan)"))
            for s in schedules
            if state_of(s) == ScheduleState.ACTIVE
            for moment in next_fire_times(services, s, NEXT_DRILLS)
        ),
        key=lambda drill: drill.at,
    )[:NEXT_DRILLS]
    return Home(
        viewer=viewer,
        approvals=approvals,
        schedule_requests=requests,
        gates=gates,
        running=running,
        channels={
            e.execution_id: thread.channel
            for e in running[:MAX_LISTED]
            if (thread := thread_of(services.store, e.execution_id)) is not None and thread.channel
        },
        next_drills=upcoming,
        plans=[
            PlanLine(p, _last_drill(services, p.plan_id)) for p in sorted(plans, key=lambda p: p.plan_name)
        ],
    )


def _last_drill(services: Services, plan_id: str) -> Execution | None:
    for execution in services.store.list_executions(plan_id=plan_id, limit=20):
        if execution.execution_type == ExecutionType.DRILL and execution.status.is_terminal and execution.ran:
            return execution
    return None
