"""A fire: what happens when a backend says a schedule is due (docs/schedules.md).

A fire creates a pre-approved DRILL execution: initiated by `schedule:<id>`, the schedule's approver
recorded as its approval, its root message posted to the schedule's channel by the engine's notifier,
driven like any other run. A fire starts nothing, and says so through the ScheduleReporter, when the
plan still has an execution that has not ended (skipped) or when pre-flight refuses the run; a
schedule whose plan was deleted is disabled (and its backend entry with it) and says so.

Backends deliver at least once (EventBridge Scheduler retries; the local backend may see the same
due time again after a restart), so each fire first claims its scheduled time on the schedule with a
version-checked write of `lastRunAt` (clearing `lastExecutionId`, which names the drill of the fire
at `lastRunAt` once it started): of two deliveries of one fire, exactly one claims it, the other
is a DUPLICATE and starts nothing. A claimed fire is never tried again, even if starting the drill
then fails (a refusal, or an unexpected error): at most one drill per fire, and the failure is reported
rather than retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.errors import Conflict, DrbotError, InUse, NotFound, StaleVersion
from orchestration.models import (
    ExecutionType,
    GateAction,
    RecoveryPlan,
    Schedule,
    UnattendedGates,
)
from orchestration.services.common import active_executions
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.start_request import StartExecution
from orchestration.store.base import SCHEDULES, Audited
from scheduler.backends.port import ScheduleBackend
from scheduler.fire_result import FireOutcome, FireResult
from scheduler.reporting import ScheduleReporter, tell
from scheduler.timing import expression_of, local_text, upcoming

logger = Logger(service="drbot")

PRINCIPAL_PREFIX = "schedule:"
_RETRIES = 8


def principal(schedule_id: str) -> str:
    """Who a scheduled drill is initiated by: `schedule:<id>`."""
    return f"{PRINCIPAL_PREFIX}{schedule_id}"


def fire_schedule(
    services: Services,
    schedule_id: str,
    scheduled_at: int,
    reporter: ScheduleReporter,
    backend: ScheduleBackend | None = None,
) -> FireResult:
    """Handle one fire of the schedule due at `scheduled_at` (see the module docstring)."""
    claimed = _claim(services, schedule_id, scheduled_at)
    if isinstance(claimed, FireResult):
        logger.info(claimed.message, extra={"schedule_id": schedule_id, "outcome": str(claimed.outcome)})
        return claimed
    schedule = claimed
    actor = principal(schedule_id)
    due = local_text(scheduled_at, schedule.timezone)
    try:
        plan = services.store.get_plan(schedule.plan_id)
    except NotFound:
        return _disable_for_deleted_plan(services, schedule, scheduled_at, reporter, backend)

    def refused(outcome: FireOutcome, message: str, **details: Any) -> FireResult:
        services.store.append_audit(
            actor,
            f"schedule.{outcome.lower()}",
            f"schedule:{schedule_id}",
            scheduledTime=scheduled_at,
            **details,
        )
        tell(reporter, schedule, message)
        return FireResult(outcome, schedule_id, scheduled_at, message)

    running = active_executions(services, plan.plan_id)
    if running:
        other = running[0]
        return refused(
            FireOutcome.SKIPPED,
            f"Skipped the scheduled drill of {plan.plan_name} due {due}: its {other.execution_type.word} "
            f"{other.execution_id[:8]} is still {other.status}.{_next_text(services, schedule)}",
            executionId=other.execution_id,
        )
    request = StartExecution(
        plan_id=plan.plan_id,
        execution_type=ExecutionType.DRILL,
        initiated_by=actor,
        reason=f"Scheduled drill ({expression_of(schedule).describe(schedule.timezone)}), due {due}",
    )
    try:
        execution = execute_recovery_plan(
            services,
            request,
            actor,
            require_approval=False,
            approved_by=schedule.approved_by,
            authorized=True,
            schedule_id=schedule_id,
            cleanup_after_minutes=schedule.cleanup_after_minutes,
            at_gate=gate_policy(schedule, plan),
        )
    except InUse as error:  # a run of the plan was requested between the check above and the start
        return refused(
            FireOutcome.SKIPPED,
            f"Skipped the scheduled drill of {plan.plan_name} due {due}: {error.message}"
            f"{_next_text(services, schedule)}",
        )
    except DrbotError as error:
        return refused(
            FireOutcome.REFUSED,
            f"The scheduled drill of {plan.plan_name} due {due} did not start: {error.message}"
            f"{_next_text(services, schedule)}",
            error=error.code,
        )
    except Exception as error:  # claimed, so never tried again: say it rather than lose the fire silently
        logger.exception("scheduled drill did not start", extra={"schedule_id": schedule_id})
        return refused(
            FireOutcome.REFUSED,
            f"The scheduled drill of {plan.plan_name} due {due} did not start: an internal error "
            f"({type(error).__name__}); see drbot's log.{_next_text(services, schedule)}",
            error="INTERNAL_ERROR",
        )
    _record_execution(services, schedule, scheduled_at, execution.execution_id, actor)
    message = f"Started the scheduled drill of {plan.plan_name} due {due}"
    return FireResult(FireOutcome.STARTED, schedule_id, scheduled_at, message, execution.execution_id)


def record_missed(
    services: Services, schedule_id: str, missed: list[int], reporter: ScheduleReporter
) -> Schedule | None:
    """Fires that came and went while nothing could run them, beyond the grace period: moves the
    schedule's `lastRunAt` past them (so they are reported once) and says so. None: nothing to record
    (the schedule is gone, inactive, or another process recorded them first)."""
    if not missed:
        return None
    fresh: list[int] = []

    def move_past(schedule: Schedule) -> Schedule | Audited[Schedule]:
        fresh[:] = [t for t in missed if t > (schedule.last_run_at or 0)]
        if not fresh or schedule.approved_by is None or not schedule.enabled:
            fresh.clear()
            return schedule
        moved = schedule.model_copy(update={"last_run_at": fresh[-1], "last_execution_id": None})
        return Audited(moved, "missed", {"scheduledTimes": list(fresh)})

    try:
        saved = services.store.modify(
            SCHEDULES, schedule_id, move_past, principal(schedule_id), attempts=_RETRIES
        )
    except (NotFound, StaleVersion):
        return None
    if not fresh:
        return None
    times = ", ".join(local_text(t, saved.timezone) for t in fresh[-3:])
    more = f" (and {len(fresh) - 3} earlier)" if len(fresh) > 3 else ""
    message = (
        f"Missed {len(fresh)} scheduled drill(s) of plan {_plan_name(services, saved)} while drbot "
        f"was not running: {times}{more}. They were not run late.{_next_text(services, saved)}"
    )
    tell(reporter, saved, message)
    return saved


# -- internals ------------------------------------------------------------------------------------


def _claim(services: Services, schedule_id: str, scheduled_at: int) -> Schedule | FireResult:
    # the claim is a version-checked write: someone else writing first (perhaps the same fire,
    # delivered twice) makes the store read again, and the second delivery finds it DUPLICATE
    refused: list[FireResult] = []

    def claim(schedule: Schedule) -> Schedule:
        refused.clear()
        if schedule.approved_by is None or not schedule.enabled:
            state = "awaits approval" if schedule.approved_by is None else "is paused"
            message = f"Schedule {schedule_id} {state}: no drill"
            refused.append(FireResult(FireOutcome.INACTIVE, schedule_id, scheduled_at, message))
            return schedule
        if schedule.last_run_at is not None and schedule.last_run_at >= scheduled_at:
            duplicate = FireResult(
                FireOutcome.DUPLICATE,
                schedule_id,
                scheduled_at,
                f"The fire of schedule {schedule_id} due at {scheduled_at} was handled already",
                # the drill of this fire, once recorded (an earlier fire's drill is not this one's)
                schedule.last_execution_id if schedule.last_run_at == scheduled_at else None,
            )
            refused.append(duplicate)
            return schedule
        return schedule.model_copy(update={"last_run_at": scheduled_at, "last_execution_id": None})

    try:
        claimed = services.store.modify(
            SCHEDULES, schedule_id, claim, principal(schedule_id), attempts=_RETRIES
        )
    except NotFound:
        return FireResult(FireOutcome.GONE, schedule_id, scheduled_at, f"Schedule {schedule_id} is gone")
    except StaleVersion as stale:
        raise Conflict(
            f"Schedule {schedule_id} kept changing while its fire was claimed; the fire is retried."
        ) from stale
    return refused[0] if refused else claimed


def _record_execution(
    services: Services, schedule: Schedule, scheduled_at: int, execution_id: str, actor: str
) -> None:
    """Name the fire's drill on the schedule, audited as the fire ("schedule.fire") in the same write.
    When there is nothing to name it on (the schedule was deleted, or a later fire recorded), the
    fire is audited alone: the drill runs on, and the execution names its schedule."""
    schedule_id = schedule.schedule_id
    details: dict[str, Any] = {
        "scheduledTime": scheduled_at,
        "executionId": execution_id,
        "approvedBy": schedule.approved_by,
    }
    recorded: list[bool] = []

    def name_the_drill(current: Schedule) -> Schedule:
        recorded.clear()
        if (current.last_run_at or 0) > scheduled_at:
            return current  # a later fire was recorded already
        recorded.append(True)
        return current.model_copy(update={"last_execution_id": execution_id})

    try:
        services.store.modify(
            SCHEDULES, schedule_id, name_the_drill, actor, action="fire", attempts=_RETRIES, **details
        )
    except (NotFound, StaleVersion):
        recorded.clear()
    if not recorded:
        services.store.append_audit(actor, "schedule.fire", f"schedule:{schedule_id}", **details)


def _disable_for_deleted_plan(
    services: Services,
    schedule: Schedule,
    scheduled_at: int,
    reporter: ScheduleReporter,
    backend: ScheduleBackend | None,
) -> FireResult:
    actor = principal(schedule.schedule_id)
    reason = {"reason": "plan deleted", "planId": schedule.plan_id}

    def disable(current: Schedule) -> Schedule:
        return current.model_copy(update={"enabled": False, "last_modified_date": int(services.clock.now())})

    try:
        current = services.store.modify(
            SCHEDULES, schedule.schedule_id, disable, actor, action="disable", attempts=_RETRIES, **reason
        )
    except (NotFound, StaleVersion):  # deleted meanwhile, or kept changing: disabled all the same
        current = disable(schedule)
        services.store.append_audit(actor, "schedule.disable", f"schedule:{schedule.schedule_id}", **reason)
    if backend is not None:
        try:
            backend.register(current)
        except Exception:  # the store says disabled, so a stray backend fire would do nothing anyway
            logger.exception(
                "could not disable the backend entry", extra={"schedule_id": schedule.schedule_id}
            )
    message = (
        f"Schedule {schedule.schedule_id[:8]} is disabled: its recovery plan ({schedule.plan_id}) was "
        f"deleted, so the drill due {local_text(scheduled_at, schedule.timezone)} did not run. "
        "Deleting the schedule removes it."
    )
    tell(reporter, current, message)
    return FireResult(FireOutcome.PLAN_DELETED, schedule.schedule_id, scheduled_at, message)


def _next_text(services: Services, schedule: Schedule) -> str:
    if not schedule.enabled:
        return ""
    following = upcoming(schedule, services.clock.now(), 1)
    return (
        f" Next: {local_text(following[0], schedule.timezone)}." if following else " It will not fire again."
    )


def _plan_name(services: Services, schedule: Schedule) -> str:
    try:
        return services.store.get_plan(schedule.plan_id).plan_name
    except NotFound:
        return schedule.plan_id


# what a schedule approved before its plan gained pause gates does at one: wait an hour for a person
DEFAULT_GATE_WAIT = UnattendedGates(action=GateAction.WAIT, wait_minutes=60)


def gate_policy(schedule: Schedule, plan: RecoveryPlan) -> UnattendedGates | None:
    """What the unattended drill does at a pause gate: the schedule's answer; for a plan that gained
    gates after the schedule was approved, wait an hour for a person, then cancel and clean up."""
    if schedule.at_gate is not None:
        return schedule.at_gate
    return DEFAULT_GATE_WAIT if any(w.pause_before for w in plan.waves) else None
