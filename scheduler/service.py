"""Drill schedules: the only implementation of their rules (docs/schedules.md).

Lifecycle: `create_schedule` (an operator: `manage_schedules`) stores a schedule awaiting approval,
registered nowhere; `approve_schedule` (an approver, never its creator) records `approvedBy` and
registers it with the backend, from then on it fires unattended; `reject_schedule` (an approver)
deletes a schedule awaiting approval, saying why; `pause_schedule` / `resume_schedule` disable and
enable an approved schedule (no new approval: the approval covers the schedule as approved);
`delete_schedule` removes it from the store and the backend. Only drills are scheduled: an unattended
real failover is refused. Every change is saved with a version check (read again and re-evaluated
on a conflict) and audited; the store is saved first, then the backend is told — a fire always
re-reads the store, so a backend that lags behind can never run what the store forbids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestration.context import Services
from orchestration.errors import (
    Action,
    Conflict,
    InternalError,
    InvalidScheduleExpression,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    Remedy,
    StaleVersion,
    ValidationFailed,
)
from orchestration.models import ExecutionType, RecoveryPlan, Schedule, UnattendedGates
from orchestration.rbac import Permission
from orchestration.schedule_expressions import parse, validate_timezone
from orchestration.services.access import require as require_permission
from orchestration.services.id_prefix import find_by_id_prefix
from orchestration.services.plans import find_plan
from orchestration.store.base import SCHEDULES, Audited
from orchestration.validation import parse_model
from scheduler.backends.port import ScheduleBackend
from scheduler.state import ScheduleState, state_of
from scheduler.timing import upcoming

PREVIEW_COUNT = 5  # fire times shown when a schedule is requested
_RETRIES = 8


@dataclass(frozen=True)
class NewSchedule:
    """What `/dr schedule add` (or any caller) asks for."""

    plan: str  # the plan's name or id
    expression: str
    timezone: str = "UTC"
    channel: str | None = None  # default: the plan's notification channel
    cleanup_after_minutes: int | None = None
    execution_type: ExecutionType = ExecutionType.DRILL
    at_gate: UnattendedGates | None = None  # required when the plan has pause gates


@dataclass(frozen=True)
class ScheduleOutcome:
    """What an action did: the schedule as saved, whether anything changed, one sentence."""

    schedule: Schedule
    changed: bool
    message: str


@dataclass(frozen=True)
class _Step:
    schedule: Schedule
    changed: bool
    message: str
    audit: str = ""
    details: dict[str, Any] | None = None


def _now(services: Services) -> int:
    return int(services.clock.now())


# -- create ---------------------------------------------------------------------------------------


def create_schedule(services: Services, request: NewSchedule, actor: str) -> Schedule:
    """Store a new schedule awaiting approval; refuses bad input before anything is written."""
    require_permission(services, actor, Permission.MANAGE_SCHEDULES)
    if request.execution_type != ExecutionType.DRILL:
        raise ValidationFailed(
            "Only drills can be scheduled: an unattended real failover is refused.",
            remedy=Remedy(Action.REQUEST_RECOVERY),
            field="executionType",
        )
    expression = parse(request.expression)
    timezone = validate_timezone(request.timezone)
    cleanup = request.cleanup_after_minutes
    plan = find_plan(services, request.plan)
    gates = [w for w in plan.waves if w.pause_before]
    if gates and request.at_gate is None:
        named = ", ".join(f"{w.wave_number} ({w.wave_name})" for w in gates)
        raise ValidationFailed(
            f"{plan.plan_name} pauses before wave {named}, and nobody is there to resume an unattended "
            "drill: say what it does at a gate (atGate) — wait for a person at most N minutes, then "
            "cancel and clean up (wait:N), or pass the gate (pass).",
            remedy=Remedy(Action.SAY_AT_GATE),
            field="atGate",
        )
    now = _now(services)
    schedule = parse_model(
        Schedule,
        {
            "planId": plan.plan_id,
            "expression": expression.to_aws(),
            "timezone": timezone,
            "channel": request.channel or plan.notification_channel,
            "enabled": False,
            "executionType": ExecutionType.DRILL.value,
            "cleanupAfterMinutes": cleanup,
            "atGate": request.at_gate.to_wire() if request.at_gate else None,
            "createdBy": actor,
            "createdDate": now,
            "lastModifiedDate": now,
        },
    )
    if not upcoming(schedule, now, 1):
        raise InvalidScheduleExpression(
            f"'{expression.to_aws()}' in {timezone} never fires again after now: nothing would run.",
            field="expression",
            expression=expression.to_aws(),
        )
    return services.store.create_schedule(schedule, actor)


# -- changes --------------------------------------------------------------------------------------


def _apply(
    services: Services, schedule_id: str, actor: str, evaluate: Callable[[Schedule, int], _Step]
) -> _Step:
    """Evaluate an action against the stored schedule and save it with a version check, audited
    (`step.audit`, else "schedule.update") in the same write; the store reads again and this
    re-evaluates when someone else (a fire, a second click) wrote first (Store.modify)."""
    steps: list[_Step] = []

    def change(current: Schedule) -> Schedule | Audited[Schedule]:
        step = evaluate(current, _now(services))
        steps.append(step)
        if not step.changed:
            return current
        return Audited(step.schedule, step.audit.removeprefix("schedule.") or "update", step.details or {})

    try:
        saved = services.store.modify(SCHEDULES, schedule_id, change, actor, attempts=_RETRIES)
    except StaleVersion as stale:
        message = f"Schedule {schedule_id} kept changing while this was being saved; try again."
        raise Conflict(message) from stale
    step = steps[-1]
    if not step.changed:
        return step
    return _Step(saved, True, step.message, step.audit, step.details)


def _sync(backend: ScheduleBackend, schedule: Schedule, what: str) -> None:
    backend = backend.resolved()  # a backend that cannot be built says why, as itself
    try:
        backend.register(schedule)
    except Exception as error:
        raise InternalError(
            f"Schedule {schedule.schedule_id} was {what}, but the {backend.name} scheduler refused the "
            f"change ({type(error).__name__}: {error}).",
            remedy=Remedy(Action.SYNC_SCHEDULE, schedule.schedule_id),
            scheduleId=schedule.schedule_id,
        ) from error


def approve_schedule(
    services: Services, schedule_id: str, actor: str, backend: ScheduleBackend
) -> ScheduleOutcome:
    """Approve a schedule awaiting approval: it is enabled and registered, and fires from now on."""
    require_permission(services, actor, Permission.APPROVE)

    def evaluate(current: Schedule, now: int) -> _Step:
        if current.approved_by is not None:
            return _Step(current, False, f"This schedule was approved already, by {current.approved_by}.")
        _require_plan(services, current)
        if actor == current.created_by:
            raise PermissionDenied(
                f"{actor} requested this schedule and cannot approve it: another approver must.",
                permission=Permission.APPROVE.value,
                scheduleId=current.schedule_id,
            )
        approved = current.model_copy(
            update={"approved_by": actor, "enabled": True, "last_modified_date": now}
        )
        return _Step(
            approved, True, f"{actor} approved the schedule: its drills run unattended", "schedule.approve"
        )

    step = _apply(services, schedule_id, actor, evaluate)
    if step.changed:
        _sync(backend, step.schedule, "approved")
    return ScheduleOutcome(step.schedule, step.changed, step.message)


def reject_schedule(services: Services, schedule_id: str, actor: str, reason: str) -> ScheduleOutcome:
    """Reject a schedule awaiting approval: it is deleted, the reason is in the audit trail."""
    require_permission(services, actor, Permission.APPROVE)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            "Say why the schedule is rejected: its requester sees the reason.", field="reason"
        )
    for _ in range(_RETRIES):
        current = services.store.get_schedule(schedule_id)
        if current.approved_by is not None:
            raise InvalidTransition(
                f"Schedule {schedule_id} was approved by {current.approved_by}: it can no longer be "
                "rejected.",
                remedy=Remedy(Action.PAUSE_OR_DELETE_SCHEDULE, schedule_id),
                currentStatus=str(state_of(current)),
                scheduleId=schedule_id,
            )
        try:
            services.store.delete_schedule(schedule_id, actor, expected_version=current.version)
        except StaleVersion:
            continue
        services.store.append_audit(actor, "schedule.reject", f"schedule:{schedule_id}", reason=reason)
        return ScheduleOutcome(current, True, f"{actor} rejected the schedule: {reason}")
    raise Conflict(f"Schedule {schedule_id} kept changing while it was being rejected; try again.")


def pause_schedule(
    services: Services, schedule_id: str, actor: str, backend: ScheduleBackend
) -> ScheduleOutcome:
    """Stop firing an approved schedule until it is resumed (a drill already running runs on)."""
    require_permission(services, actor, Permission.MANAGE_SCHEDULES)

    def evaluate(current: Schedule, now: int) -> _Step:
        _require_approved(current, "paused")
        if not current.enabled:
            return _Step(current, False, "This schedule is paused already.")
        paused = current.model_copy(update={"enabled": False, "last_modified_date": now})
        return _Step(
            paused, True, f"{actor} paused the schedule: no drill runs until it is resumed", "schedule.pause"
        )

    step = _apply(services, schedule_id, actor, evaluate)
    if step.changed:
        _sync(backend, step.schedule, "paused")
    return ScheduleOutcome(step.schedule, step.changed, step.message)


def resume_schedule(
    services: Services, schedule_id: str, actor: str, backend: ScheduleBackend
) -> ScheduleOutcome:
    """Fire a paused schedule again, from now on (fires while it was paused are not run)."""
    require_permission(services, actor, Permission.MANAGE_SCHEDULES)

    def evaluate(current: Schedule, now: int) -> _Step:
        _require_approved(current, "resumed")
        _require_plan(services, current)
        if current.enabled:
            return _Step(current, False, "This schedule is active already.")
        resumed = current.model_copy(update={"enabled": True, "last_modified_date": now})
        return _Step(resumed, True, f"{actor} resumed the schedule", "schedule.resume")

    step = _apply(services, schedule_id, actor, evaluate)
    # an active schedule is registered again too: that is how a failed registration is retried
    _sync(backend, step.schedule, "resumed")
    return ScheduleOutcome(step.schedule, step.changed, step.message)


def delete_schedule(services: Services, schedule_id: str, actor: str, backend: ScheduleBackend) -> Schedule:
    """Remove the schedule from the store, then from the backend. A drill it started runs on."""
    require_permission(services, actor, Permission.MANAGE_SCHEDULES)
    current = services.store.get_schedule(schedule_id)
    services.store.delete_schedule(schedule_id, actor, expected_version=current.version)
    backend = backend.resolved()
    try:
        backend.remove(schedule_id)
    except Exception as error:
        raise InternalError(
            f"Schedule {schedule_id} was deleted, but its backend entry could not be removed "
            f"({type(error).__name__}); a fire it still delivers does nothing.",
            scheduleId=schedule_id,
        ) from error
    return current


def _require_plan(services: Services, schedule: Schedule) -> None:
    if plan_of(services, schedule) is None:
        raise NotFound(
            f"Schedule {schedule.schedule_id}'s recovery plan ({schedule.plan_id}) was deleted: it cannot "
            "run.",
            remedy=Remedy(Action.DELETE_SCHEDULE, schedule.schedule_id),
            resourceType="plan",
            resourceId=schedule.plan_id,
        )


def _require_approved(schedule: Schedule, what: str) -> None:
    if schedule.approved_by is None:
        raise InvalidTransition(
            f"Schedule {schedule.schedule_id} awaits approval: it cannot be {what} yet.",
            remedy=Remedy(Action.APPROVE_SCHEDULE, schedule.schedule_id),
            currentStatus=str(ScheduleState.AWAITING_APPROVAL),
            scheduleId=schedule.schedule_id,
        )


# -- queries --------------------------------------------------------------------------------------


def find_schedule(services: Services, ref: str) -> Schedule:
    """A schedule by its id or a unique prefix of it (at least MIN_PREFIX characters)."""

    def ids() -> list[str]:  # listed only when `ref` is not a whole id
        return [s.schedule_id for s in services.store.list_schedules()]

    return find_by_id_prefix(ref, "schedule", services.store.get_schedule, ids, Action.LIST_SCHEDULES)


def list_schedules(services: Services, plan_ref: str | None = None) -> list[Schedule]:
    """Every schedule (of one plan), oldest first."""
    plan_id = find_plan(services, plan_ref).plan_id if plan_ref else None
    return services.store.list_schedules(plan_id=plan_id)


def plan_of(services: Services, schedule: Schedule) -> RecoveryPlan | None:
    """The schedule's plan, or None when it was deleted."""
    try:
        return services.store.get_plan(schedule.plan_id)
    except NotFound:
        return None


def next_fire_times(services: Services, schedule: Schedule, count: int = PREVIEW_COUNT) -> list[datetime]:
    """The schedule's next fire times from now (as if approved now, while it awaits approval)."""
    return upcoming(schedule, services.clock.now(), count)


def next_for_plan(
    services: Services, plan_ref: str, count: int = PREVIEW_COUNT
) -> tuple[RecoveryPlan, list[tuple[datetime, Schedule]]]:
    """The plan's next `count` scheduled drills over all its active schedules, soonest first."""
    plan = find_plan(services, plan_ref)
    times = [
        (moment, schedule)
        for schedule in services.store.list_schedules(plan_id=plan.plan_id)
        if state_of(schedule) == ScheduleState.ACTIVE
        for moment in next_fire_times(services, schedule, count)
    ]
    return plan, sorted(times, key=lambda pair: pair[0])[:count]


__all__ = [
    "PREVIEW_COUNT",
    "NewSchedule",
    "ScheduleOutcome",
    "approve_schedule",
    "create_schedule",
    "delete_schedule",
    "find_schedule",
    "list_schedules",
    "next_fire_times",
    "next_for_plan",
    "pause_schedule",
    "plan_of",
    "reject_schedule",
    "resume_schedule",
]
