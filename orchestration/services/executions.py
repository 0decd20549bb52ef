"""Executions: the only implementation of their rules (docs/engine.md, docs/architecture.md).

Starting: the requester needs `request_execution`; every pre-flight rule runs first (errors refuse
the run: WAVE_SIZE_LIMIT_EXCEEDED, SERVER_CONFLICT, DRS_LIMIT_EXCEEDED; warnings are recorded in the
REQUESTED event); the execution is created awaiting approval (PENDING_APPROVAL) or ready to run
(PENDING, handed to the driver at once).

Approval policy: approvers need `approve`; the requester never approves their own request; a drill
needs one approval, a recovery two from distinct approvers; the same approval twice is a harmless
no-op; a request expires `approval_expiry_minutes` after it was made and is marked EXPIRED the first
time anything touches it afterwards. Every change is saved with a version check and re-evaluated on
a conflict, so two racing approvals start one execution: only the writer whose save moves the
execution from PENDING_APPROVAL to PENDING calls `driver.start`.

Control: pause (RUNNING → PAUSED), resume (PAUSED → RUNNING; a pauseBefore gate is passed) and
cancel (PENDING/RUNNING/PAUSED → CANCELLING; a request awaiting approval is withdrawn by its
requester) need `control_execution`. The engine writes the same execution concurrently, so each
change is retried on StaleVersion against what was saved. Every change records an event, an audit
entry, and is delivered to the notifier at once.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.drs.gateway import DrsJob
from orchestration.engine.advance import deliver
from orchestration.engine.decide import IN_FLIGHT
from orchestration.errors import (
    Conflict,
    DrbotError,
    DrsLimitExceeded,
    DuplicateServerInPlan,
    InternalError,
    InUse,
    InvalidTransition,
    MissingField,
    NotFound,
    PermissionDenied,
    ServerConflict,
    StaleVersion,
    ValidationFailed,
    WaveSizeLimitExceeded,
)
from orchestration.models import (
    Approval,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    UnattendedGates,
    WaveRun,
    WaveStatus,
)
from orchestration.rbac import Permission
from orchestration.requests import StartExecution
from orchestration.services.access import require
from orchestration.services.execution_builder import build_execution
from orchestration.services.preflight import (
    ACTIVE_EXECUTIONS_LIMIT,
    DRS_LIMIT_EXCEEDED,
    DUPLICATE_SERVER_IN_PLAN,
    SERVER_CONFLICT,
    WAVE_SIZE_LIMIT_EXCEEDED,
    Finding,
    PlanCheck,
    check_recovery_plan,
)
from orchestration.store.base import Audited, ExecutionKey, execution_key
from orchestration.validation import clip

logger = Logger(service="drbot")

_S = ExecutionStatus
REQUIRED_APPROVALS = {ExecutionType.DRILL: 1, ExecutionType.RECOVERY: 2}
MIN_PREFIX = 6  # an execution may be named by this many leading characters of its id, or more
PREFIX_SEARCH_LIMIT = 1000  # newest executions searched for a prefix
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 1000
LIST_ROUNDS = 10  # store pages read for one filtered page of list_executions
_RETRIES = 8
_STOPPABLE = frozenset({_S.PENDING, _S.RUNNING, _S.PAUSED})
_NEVER_RAN = frozenset({_S.REJECTED, _S.EXPIRED})


@dataclass(frozen=True)
class Outcome:
    """What an action did: the execution as saved, and whether anything changed."""

    execution: Execution
    changed: bool  # False: a harmless no-op (already so)
    message: str  # one sentence for the person who acted


@dataclass(frozen=True)
class ApprovalOutcome(Outcome):
    started: bool = False  # this approval was the last one needed: the execution was started

    @property
    def approvals_missing(self) -> int:
        return max(0, self.execution.required_approvals - len(self.execution.approvals))


@dataclass(frozen=True)
class _Step:
    """One evaluation of an action against the execution as read."""

    execution: Execution  # what to save (or the execution as read, when nothing changes)
    changed: bool
    message: str
    audit: str = ""  # audit action, e.g. "execution.approve"
    details: dict[str, Any] | None = None
    refusal: DrbotError | None = None  # raised after saving (an expiry found on touch)


# -- small helpers --------------------------------------------------------------------------------


def _now(services: Services) -> int:
    return int(services.clock.now())


def kind_word(execution: Execution) -> str:
    """`drill` or `recovery`, as a sentence says it."""
    return "drill" if execution.execution_type == ExecutionType.DRILL else "recovery"


def _clock_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _names(users: list[str]) -> str:
    if len(users) <= 1:
        return "".join(users)
    return ", ".join(users[:-1]) + " and " + users[-1]


def is_expired(execution: Execution, now: int) -> bool:
    """An approval request whose time is up (it becomes EXPIRED the next time it is touched)."""
    return (
        execution.status == _S.PENDING_APPROVAL
        and execution.expires_at is not None
        and now >= execution.expires_at
    )


def _expire(execution: Execution, now: int) -> Execution:
    return execution.with_status(_S.EXPIRED, now, reason="Approval request expired").with_event(
        EventType.EXPIRED,
        now,
        f"The approval request expired at {_clock_time(execution.expires_at or now)}: "
        f"{len(execution.approvals)} of {execution.required_approvals} approval(s) were given",
    )


def _expired_refusal(execution: Execution, what: str) -> InvalidTransition:
    return InvalidTransition(
        f"The approval request for {kind_word(execution)} {execution.execution_id} of "
        f"'{execution.plan_name}' expired at {_clock_time(execution.expires_at or 0)}, so it can no "
        f"longer be {what}. Request a new run with `/dr plan run`.",
        currentStatus=str(_S.EXPIRED),
        executionId=execution.execution_id,
    )


def _expired_step(execution: Execution, now: int, what: str) -> _Step:
    return _Step(
        _expire(execution, now),
        changed=True,
        message="The approval request expired",
        audit="execution.expire",
        refusal=_expired_refusal(execution, what),
    )


def _refuse(execution: Execution, action: str, allowed: str) -> InvalidTransition:
    """The clear refusal of an action the execution's status does not allow (nothing changes)."""
    return InvalidTransition(
        f"Execution {execution.execution_id} ({kind_word(execution)} of '{execution.plan_name}') is "
        f"{execution.status}: only {allowed} can be {action}.",
        currentStatus=str(execution.status),
        executionId=execution.execution_id,
    )


def _apply(
    services: Services, execution_id: str, actor: str, evaluate: Callable[[Execution, int], _Step]
) -> tuple[Execution, _Step]:
    """Evaluate an action against the stored execution and save the result with a version check,
    audited (`step.audit`, else "execution.update") in the same write; when someone else wrote first
    (the engine, a second click), the store reads again and this re-evaluates (Store.modify)."""
    steps: list[_Step] = []

    def change(current: Execution) -> Execution | Audited[Execution]:
        step = evaluate(current, _now(services))
        steps.append(step)
        if not step.changed:
            return current
        action = step.audit.removeprefix("execution.") or "update"
        return Audited(step.execution, action, step.details or {})

    try:
        saved = services.store.modify_execution(execution_id, change, actor, attempts=_RETRIES)
    except StaleVersion as stale:
        raise Conflict(
            f"Execution {execution_id} kept changing while this was being saved; try again.",
            executionId=execution_id,
        ) from stale
    step = steps[-1]
    if not step.changed:
        return saved, step
    saved = deliver(services, saved)
    if step.refusal is not None:
        raise step.refusal
    return saved, step


# -- starting -------------------------------------------------------------------------------------


def execute_recovery_plan(
    services: Services,
    request: StartExecution,
    actor: str,
    *,
    require_approval: bool,
    cleanup_after_minutes: int | None = None,
    schedule_id: str | None = None,
    approved_by: str | None = None,
    authorized: bool = False,
    on_behalf_of: str | None = None,
    at_gate: UnattendedGates | None = None,
) -> Execution:
    """Check the plan and create its execution: awaiting approval, or started at once.

    `approved_by` records an approval given beforehand (an approver approved a schedule's runs);
    `authorized` says the request itself was allowed beforehand too (the schedule's creation and
    approval were permission-checked), so `actor` (`schedule:<id>`) needs no role of its own.
    `on_behalf_of` is who a direct invocation says it acts for (docs/api.md, "Who is calling"):
    recorded beside `actor`, never the requester. `at_gate` is a schedule's answer to what the
    unattended drill does at a pause gate (None: wait for a person, as a requested run does)."""
    if not authorized:
        require(services, actor, Permission.REQUEST_EXECUTION)
    cleanup = cleanup_after_minutes if cleanup_after_minutes is not None else request.cleanup_after_minutes
    if request.execution_type == ExecutionType.RECOVERY and cleanup is not None:
        raise ValidationFailed(
            "cleanupAfterMinutes applies to drills only: a recovery keeps its instances",
            field="cleanupAfterMinutes",
        )
    _expire_due_requests(services)  # an untouched, expired request must not hold its servers
    check = check_recovery_plan(services, request.plan_id, request.execution_type)
    _refuse_on_errors(services, check)
    plan = check.view.plan
    _refuse_if_plan_running(services, plan.plan_id, plan.plan_name)

    now = _now(services)
    approvals = [Approval(user_id=approved_by, at=now)] if approved_by else []
    required = REQUIRED_APPROVALS[request.execution_type] if require_approval else len(approvals)
    status = _S.PENDING_APPROVAL if len(approvals) < required else _S.PENDING
    execution = build_execution(
        services,
        plan,
        request.execution_type,
        actor,
        status,
        reason=request.reason,
        cleanup_after_minutes=cleanup,
        schedule_id=schedule_id,
    )
    expiry = services.settings.approval_expiry_minutes * 60
    execution = execution.model_copy(
        update={
            "approvals": approvals,
            "required_approvals": required,
            "expires_at": now + expiry if status == _S.PENDING_APPROVAL else None,
            "on_behalf_of": on_behalf_of or None,
            "at_gate": at_gate,
        }
    )
    execution = _with_requested_event(execution, check, actor, now)
    created = services.store.create_execution(execution, actor)
    services.store.append_audit(
        actor,
        "execution.request",
        f"execution:{created.execution_id}",
        planId=plan.plan_id,
        executionType=str(request.execution_type),
        reason=request.reason,
        status=str(created.status),
        warnings=len(check.warnings),
        **({"onBehalfOf": on_behalf_of} if on_behalf_of else {}),
    )
    created = _withdraw_if_raced(services, created, actor)
    if created.status == _S.PENDING:
        created = _start(services, created)
    return deliver(services, created)


def _expire_due_requests(services: Services) -> None:
    now = _now(services)
    for execution in services.store.list_executions(active_only=True, limit=ACTIVE_EXECUTIONS_LIMIT):
        if is_expired(execution, now):
            get_execution(services, execution.execution_id)


def _with_requested_event(execution: Execution, check: PlanCheck, actor: str, now: int) -> Execution:
    kind = kind_word(execution)
    who = f"{actor} (on behalf of {execution.on_behalf_of})" if execution.on_behalf_of else actor
    size = f"{len(execution.waves)} wave(s), {check.view.server_count} server(s)"
    reason = f" Reason: {execution.reason.rstrip('.')}." if execution.reason else ""
    if execution.status == _S.PENDING_APPROVAL:
        needed = execution.required_approvals
        distinct = " from distinct approvers" if needed > 1 else ""
        message = (
            f"{who} requested a {kind} of {execution.plan_name} ({size}): it needs {needed} "
            f"approval(s){distinct} by {_clock_time(execution.expires_at or now)}.{reason}"
        )
    elif execution.approvals:
        message = (
            f"{who} started a {kind} of {execution.plan_name} ({size}), approved beforehand by "
            f"{_names([a.user_id for a in execution.approvals])}.{reason}"
        )
    else:
        message = f"{who} started a {kind} of {execution.plan_name} ({size}).{reason}"
    if check.warnings:
        message += f" Pre-flight: {len(check.warnings)} warning(s)."
    details: dict[str, Any] = {
        "executionType": str(execution.execution_type),
        "serverCount": check.view.server_count,
        "requiredApprovals": execution.required_approvals,
        "warnings": [finding.to_wire() for finding in check.warnings],
    }
    if execution.reason:
        details["reason"] = execution.reason
    if execution.expires_at is not None:
        details["expiresAt"] = execution.expires_at
    if execution.schedule_id:
        details["scheduleId"] = execution.schedule_id
    if execution.on_behalf_of:
        details["onBehalfOf"] = execution.on_behalf_of
    return execution.with_event(EventType.REQUESTED, now, message, actor=actor, **details)


def preflight_warnings(execution: Execution) -> list[dict[str, Any]]:
    """The pre-flight warnings recorded when the execution was requested (each a Finding's wire)."""
    for event in execution.events:
        if event.type == EventType.REQUESTED:
            return list(event.details.get("warnings", []))
    return []


def _refuse_on_errors(services: Services, check: PlanCheck) -> None:
    """Pre-flight errors as the seed's error responses: the plan's own defect first (wave size),
    then what holds its servers (409), then DRS quotas (429)."""
    errors = check.errors
    if not errors:
        return
    every = [finding.to_wire() for finding in errors]
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for finding in errors:
        by_code[finding.code].append(finding)
    limits = services.settings.drs_limits
    if oversized := by_code.get(WAVE_SIZE_LIMIT_EXCEEDED):
        raise WaveSizeLimitExceeded(
            " ".join(f.message for f in oversized),
            limit=limits.max_servers_per_job,
            errors=[{"waveNumber": f.wave_number, "serverCount": len(f.server_ids)} for f in oversized],
            findings=every,
        )
    if twice := by_code.get(DUPLICATE_SERVER_IN_PLAN):
        raise DuplicateServerInPlan(
            " ".join(f.message for f in twice),
            serverIds=sorted({sid for f in twice for sid in f.server_ids}),
            waveNumbers=sorted({n for f in twice for n in f.wave_numbers}),
            findings=every,
        )
    if conflicts := by_code.get(SERVER_CONFLICT):
        servers = sorted({sid for f in conflicts for sid in f.server_ids})
        raise ServerConflict(" ".join(f.message for f in conflicts), serverIds=servers, findings=every)
    if over := by_code.get(DRS_LIMIT_EXCEEDED):
        raise DrsLimitExceeded(
            " ".join(f.message for f in over),
            limits=limits.to_wire(),
            currentUsage=[
                {"region": u.region, **({"accountId": u.account_id} if u.account_id else {}), **u.to_wire()}
                for u in check.usage
            ],
            findings=every,
        )
    first = errors[0]
    raise ValidationFailed(first.message, findings=every)


def _active_of_plan(services: Services, plan_id: str) -> list[Execution]:
    return [e for e in services.store.list_executions(plan_id=plan_id, active_only=True) if not e.is_terminal]


def _refuse_if_plan_running(services: Services, plan_id: str, plan_name: str) -> None:
    """A plan runs once at a time, even when its waves hold no server right now."""
    active = _active_of_plan(services, plan_id)
    if active:
        other = active[0]
        raise InUse(
            f"Recovery plan '{plan_name}' already has a {other.status} {kind_word(other)} "
            f"({other.execution_id}): wait for it to end or cancel it (`/dr cancel {other.execution_id}`).",
            resourceType="plan",
            resourceId=plan_id,
            executionId=other.execution_id,
        )


def _withdraw_if_raced(services: Services, created: Execution, actor: str) -> Execution:
    """Two requests of one plan created at the same moment both passed the checks: the one that sees
    the other withdraws itself (both may; never both run)."""
    others = [e for e in _active_of_plan(services, created.plan_id) if e.execution_id != created.execution_id]
    if not others:
        return created
    other = others[0]
    now = _now(services)
    reason = f"Another run of this plan ({other.execution_id}) was requested at the same time"
    target = _S.REJECTED if created.status == _S.PENDING_APPROVAL else _S.FAILED
    withdrawn = created.with_status(target, now, reason=reason).with_event(
        EventType.REJECTED if target == _S.REJECTED else EventType.FAILED, now, reason, actor=actor
    )
    deliver(services, services.store.update_execution(withdrawn, actor))
    raise InUse(
        f"Recovery plan '{created.plan_name}' already has a {other.status} {kind_word(other)} "
        f"({other.execution_id}) requested at the same time; this request was withdrawn.",
        resourceType="plan",
        resourceId=created.plan_id,
        executionId=other.execution_id,
    )


def _start(services: Services, execution: Execution) -> Execution:
    """Hand a PENDING execution to its driver and keep what the driver recorded (e.g. the state
    machine's ARN). A driver that cannot start leaves nothing launched: the execution is FAILED."""
    try:
        driven = services.driver.start(execution)
    except Exception as error:  # the run must not stay PENDING with nobody driving it
        logger.exception("driver failed to start", extra={"execution_id": execution.execution_id})
        reason = f"drbot could not start driving it ({type(error).__name__}); nothing was launched"

        def fail(current: Execution, now: int) -> _Step:
            if current.status != _S.PENDING:
                return _Step(current, changed=False, message="")
            failed = current.with_status(_S.FAILED, now, reason=reason)
            return _Step(failed.with_event(EventType.FAILED, now, reason), True, reason)

        _apply(services, execution.execution_id, execution.initiated_by, fail)
        raise InternalError(
            f"Execution {execution.execution_id} could not be started: {reason}. Try again.",
            executionId=execution.execution_id,
        ) from error
    changes = {
        name: getattr(driven, name)
        for name in type(driven).model_fields
        if name != "version" and getattr(driven, name) != getattr(execution, name)
    }
    if not changes:
        return execution

    def record(current: Execution, now: int) -> _Step:
        return _Step(current.model_copy(update=changes), changed=True, message="")

    saved, _ = _apply(services, execution.execution_id, execution.initiated_by, record)
    return saved


def hand_to_driver(services: Services, execution: Execution) -> Execution:
    """Start driving a PENDING execution (again): drivers make a second start harmless, so this is
    how a run approved just before a crash, and never started, gets going."""
    if execution.status != _S.PENDING:
        raise _refuse(execution, "started", "a PENDING execution")
    return deliver(services, _start(services, execution))


# -- approvals ------------------------------------------------------------------------------------


def approve_execution(services: Services, execution_id: str, approver: str) -> ApprovalOutcome:
    """Record `approver`'s approval; the last approval needed starts the execution."""
    require(services, approver, Permission.APPROVE)

    def evaluate(current: Execution, now: int) -> _Step:
        kind = kind_word(current)
        if is_expired(current, now):
            return _expired_step(current, now, "approved")
        if any(a.user_id == approver for a in current.approvals):
            return _Step(current, False, f"You already approved this {kind}; nothing more to do.")
        if approver == current.initiated_by:
            raise PermissionDenied(
                f"{approver} requested this {kind} and cannot approve it: another approver must.",
                permission=Permission.APPROVE.value,
                executionId=current.execution_id,
            )
        if current.status in _NEVER_RAN:
            raise _refuse(current, "approved", "a request awaiting approval")
        if current.status != _S.PENDING_APPROVAL:
            by = _names([a.user_id for a in current.approvals]) or "nobody (it needed no approval)"
            return _Step(current, False, f"This {kind} was already approved by {by}; it is {current.status}.")
        approvals = [*current.approvals, Approval(user_id=approver, at=now)]
        have, need = len(approvals), current.required_approvals
        updated = current.model_copy(update={"approvals": approvals})
        if have >= need:
            updated = updated.with_status(
                _S.PENDING, now, reason=f"Approved by {_names([a.user_id for a in approvals])}"
            )
            message = f"{approver} approved the {kind} ({have} of {need}): it starts now."
        else:
            missing = need - have
            message = (
                f"{approver} approved the {kind} ({have} of {need}): {missing} more approval(s) from a "
                "different approver needed."
            )
        updated = updated.with_event(
            EventType.APPROVED, now, message, actor=approver, approvals=have, required=need
        )
        return _Step(updated, True, message, "execution.approve", {"approvals": have, "required": need})

    saved, step = _apply(services, execution_id, approver, evaluate)
    # judged on what THIS approval saved: `saved` may be a re-read showing another writer's PENDING
    started = step.changed and step.execution.status == _S.PENDING
    if started:
        saved = deliver(services, _start(services, saved))
    return ApprovalOutcome(saved, step.changed, step.message, started=started)


def reject_execution(services: Services, execution_id: str, approver: str, reason: str) -> ApprovalOutcome:
    """Refuse a request awaiting approval, saying why."""
    require(services, approver, Permission.APPROVE)
    reason = reason.strip()
    if not reason:
        raise MissingField("reason: say why the request is rejected (the requester sees it)", field="reason")

    def evaluate(current: Execution, now: int) -> _Step:
        kind = kind_word(current)
        if is_expired(current, now):
            return _expired_step(current, now, "rejected")
        if current.status == _S.REJECTED:
            return _Step(current, False, f"This {kind} was already rejected: {current.status_reason}.")
        if current.status != _S.PENDING_APPROVAL:
            allowed = "a request awaiting approval (`/dr cancel` stops a run)"
            raise _refuse(current, "rejected", allowed)
        message = f"{approver} rejected the {kind}: {reason}"
        rejected = current.with_status(_S.REJECTED, now, reason=f"Rejected by {approver}: {reason}")
        rejected = rejected.with_event(EventType.REJECTED, now, message, actor=approver, reason=reason)
        return _Step(rejected, True, message, "execution.reject", {"reason": reason})

    saved, step = _apply(services, execution_id, approver, evaluate)
    return ApprovalOutcome(saved, step.changed, step.message)


# -- pause, resume, cancel ------------------------------------------------------------------------


def pause_execution(services: Services, execution_id: str, actor: str) -> Outcome:
    """RUNNING → PAUSED: waves in flight finish, no new wave launches until resumed."""
    require(services, actor, Permission.CONTROL_EXECUTION)

    def evaluate(current: Execution, now: int) -> _Step:
        kind = kind_word(current)
        if current.status == _S.PAUSED:
            return _Step(current, False, f"This {kind} is already paused: {current.status_reason}.")
        if current.status != _S.RUNNING:
            raise _refuse(current, "paused", "a RUNNING execution")
        message = (
            f"{actor} paused the {kind}: waves in flight finish, no new wave launches until it is resumed"
        )
        paused = current.with_status(_S.PAUSED, now, reason=f"Paused by {actor}")
        return _Step(
            paused.with_event(EventType.PAUSED, now, message, actor=actor), True, message, "execution.pause"
        )

    saved, step = _apply(services, execution_id, actor, evaluate)
    return Outcome(saved, step.changed, step.message)


def resume_execution(services: Services, execution_id: str, actor: str) -> Outcome:
    """PAUSED → RUNNING; a pauseBefore gate holding the execution is passed, so its wave launches."""
    require(services, actor, Permission.CONTROL_EXECUTION)

    def evaluate(current: Execution, now: int) -> _Step:
        kind = kind_word(current)
        if current.status == _S.RUNNING:
            return _Step(current, False, f"This {kind} is running, not paused; nothing to resume.")
        if current.status != _S.PAUSED:
            raise _refuse(current, "resumed", "a PAUSED execution")
        resumed = current.with_status(_S.RUNNING, now, reason=f"Resumed by {actor}")
        message = f"{actor} resumed the {kind}"
        details: dict[str, Any] = {}
        if current.gate_wave is not None:
            gate = current.wave(current.gate_wave)
            resumed = resumed.model_copy(
                update={"gates_passed": sorted({*current.gates_passed, gate.wave_number}), "gate_wave": None}
            )
            message += f": wave {gate.wave_number} ({gate.wave_name}) launches"
            details["gateWave"] = gate.wave_number
        resumed = resumed.with_event(
            EventType.RESUMED, now, message, wave_number=details.get("gateWave"), actor=actor, **details
        )
        return _Step(resumed, True, message, "execution.resume", details)

    saved, step = _apply(services, execution_id, actor, evaluate)
    if step.changed:
        services.driver.wake(saved)
    return Outcome(saved, step.changed, step.message)


def cancel_execution(services: Services, execution_id: str, actor: str) -> Outcome:
    """Stop an execution: no further wave launches, a drill's instances are terminated. A request
    still awaiting approval is withdrawn by its requester instead."""

    def evaluate(current: Execution, now: int) -> _Step:
        kind = kind_word(current)
        if current.status == _S.PENDING_APPROVAL:
            if actor != current.initiated_by:
                raise PermissionDenied(
                    f"Only {current.initiated_by}, who requested this {kind}, can withdraw it; an "
                    f"approver rejects it with `/dr reject {current.execution_id} --reason …`.",
                    permission=Permission.CONTROL_EXECUTION.value,
                    executionId=current.execution_id,
                )
            require(services, actor, Permission.REQUEST_EXECUTION)
            if is_expired(current, now):
                step = _expired_step(current, now, "withdrawn")
                return _Step(
                    step.execution, True, "The request had expired already; nothing will run.", step.audit
                )
            message = f"{actor} withdrew the {kind} request"
            withdrawn = current.with_status(_S.REJECTED, now, reason=f"Withdrawn by {actor}")
            withdrawn = withdrawn.with_event(EventType.REJECTED, now, message, actor=actor, withdrawn=True)
            return _Step(withdrawn, True, message, "execution.withdraw")
        require(services, actor, Permission.CONTROL_EXECUTION)
        if current.status in (_S.CANCELLING, _S.CANCELLED):
            return _Step(current, False, f"This {kind} is already {current.status.lower()}.")
        if current.status not in _STOPPABLE:
            raise _refuse(current, "cancelled", "a PENDING, RUNNING or PAUSED execution")
        cleanup = (
            " and its launched instances terminated" if current.execution_type == ExecutionType.DRILL else ""
        )
        message = f"{actor} cancelled the {kind}: no further wave launches{cleanup}"
        cancelling = current.with_status(_S.CANCELLING, now, reason=f"Cancelled by {actor}")
        cancelling = cancelling.with_event(EventType.CANCEL_REQUESTED, now, message, actor=actor)
        return _Step(cancelling, True, message, "execution.cancel")

    saved, step = _apply(services, execution_id, actor, evaluate)
    if step.changed and saved.status == _S.CANCELLING:
        services.driver.wake(saved)
    return Outcome(saved, step.changed, step.message)


# -- queries --------------------------------------------------------------------------------------


def get_execution(services: Services, execution_id: str) -> Execution:
    """One execution by id; an approval request whose time is up is marked EXPIRED on the way."""
    execution = services.store.get_execution(execution_id)
    if not is_expired(execution, _now(services)):
        return execution

    def evaluate(current: Execution, now: int) -> _Step:
        if not is_expired(current, now):
            return _Step(current, False, "")
        return _Step(_expire(current, now), True, "", "execution.expire")

    return _apply(services, execution_id, "drbot", evaluate)[0]


def find_execution(services: Services, ref: str) -> Execution:
    """An execution by its id or a unique prefix of it (at least MIN_PREFIX characters)."""
    ref = ref.strip().lower()
    try:
        return get_execution(services, ref)
    except NotFound:
        pass
    if len(ref) < MIN_PREFIX:
        raise ValidationFailed(
            f"`{ref}` is too short to name an execution: give its id or at least {MIN_PREFIX} of its "
            "first characters (`/dr executions` shows them).",
            field="execution",
        )
    matches = [
        e.execution_id
        for e in services.store.list_executions(limit=PREFIX_SEARCH_LIMIT)
        if e.execution_id.startswith(ref)
    ]
    if not matches:
        raise NotFound(
            f"No execution with id or id prefix '{ref}'. `/dr executions --all` lists them.",
            resourceType="execution",
            resourceId=ref,
        )
    if len(matches) > 1:
        raise ValidationFailed(
            f"'{ref}' is the start of {len(matches)} execution ids ({', '.join(matches[:5])}): give more "
            "characters.",
            field="execution",
            matches=matches,
        )
    return get_execution(services, matches[0])


def list_executions(
    services: Services,
    plan_id: str | None = None,
    status: ExecutionStatus | str | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
    active_only: bool = False,
) -> list[Execution]:
    """Executions newest first: of one plan, in one status, or only those that have not ended."""
    return list_execution_page(
        services, plan_id=plan_id, status=status, limit=limit, active_only=active_only
    ).executions


@dataclass(frozen=True)
class ExecutionPage:
    executions: list[Execution]
    next_token: str | None  # where the next page starts; None when this one is the last


def _encode_token(key: ExecutionKey) -> str:
    return base64.urlsafe_b64encode(json.dumps([key[0], key[1]]).encode()).decode().rstrip("=")


def _decode_token(token: str) -> ExecutionKey:
    try:
        at, execution_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if type(at) is int and at >= 0 and isinstance(execution_id, str) and execution_id:
            return (at, execution_id)
    except (ValueError, TypeError):
        pass
    raise ValidationFailed("nextToken: not a token list_executions returned", field="nextToken")


def parse_date(value: str | int | None, field: str) -> int | None:
    """A date given as epoch seconds or ISO-8601 (a time without a zone is UTC), in epoch seconds."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{field}: must be epoch seconds or an ISO-8601 date, not '{clip(text)}'", field=field
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(int(moment.timestamp()), 0)


def list_execution_page(
    services: Services,
    *,
    plan_id: str | None = None,
    status: ExecutionStatus | str | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
    active_only: bool = False,
    next_token: str | None = None,
    from_date: int | None = None,
    to_date: int | None = None,
) -> ExecutionPage:
    """One page of executions newest first: of one plan, in one status, only those that have not
    ended, requested between from_date and to_date (epoch seconds, both included), after the page
    `next_token` came with."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIST_LIMIT}, not {limit}", field="limit")
    wanted: ExecutionStatus | None = None
    if status is not None:
        try:
            wanted = ExecutionStatus(str(status).upper())
        except ValueError:
            raise ValidationFailed(
                f"status must be one of {', '.join(s.value for s in ExecutionStatus)}, not '{status}'",
                field="status",
            ) from None
    if from_date is not None and to_date is not None and from_date > to_date:
        raise ValidationFailed("fromDate must not be after toDate", field="fromDate")
    after = None if next_token is None else _decode_token(next_token)
    only_active = active_only or (wanted is not None and not wanted.is_terminal)

    def keep(e: Execution) -> bool:
        return (not active_only or not e.is_terminal) and (wanted is None or e.status == wanted)

    filtered = wanted is not None or active_only
    fetch = MAX_LIST_LIMIT if filtered else limit + 1
    found: list[Execution] = []
    for _ in range(LIST_ROUNDS):
        batch = services.store.list_executions(
            plan_id=plan_id,
            active_only=only_active,
            limit=fetch,
            after=after,
            newest=to_date,
            oldest=from_date,
        )
        found.extend(e for e in batch if keep(e))
        if len(found) > limit:
            return ExecutionPage(found[:limit], _encode_token(execution_key(found[limit - 1])))
        if len(batch) < fetch:
            return ExecutionPage(found, None)
        after = execution_key(batch[-1])
    # a short page: the rest is read from where this reading stopped
    return ExecutionPage(found, None if after is None else _encode_token(after))


def active_executions(services: Services, limit: int = 20) -> list[Execution]:
    """The executions that have not ended, newest first."""
    return list_executions(services, active_only=True, limit=limit)


# -- wire views (the seed's execution responses) ------------------------------------------------


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def wave_wire(wave: WaveRun) -> dict[str, Any]:
    """A wave as the seed's Example 5 shows it (plus timings, dependencies and errors)."""
    wire = _drop_none(
        {
            "waveNumber": wave.wave_number,
            "waveName": wave.wave_name,
            "status": str(wave.status),
            "jobId": wave.job_id,
            "startTime": wave.start_time,
            "endTime": wave.end_time,
            "dependsOnWaves": wave.depends_on_waves,
            "pauseBefore": wave.pause_before,
            "protectionGroupId": wave.protection_group_id,
            "region": wave.region,
            "accountId": wave.account_id,
            "error": wave.error,
        }
    )
    if wave.servers:
        wire["servers"] = [
            _drop_none(
                {
                    "sourceServerId": s.source_server_id,
                    "status": str(s.launch_status),
                    "instanceId": s.instance_id,
                    "hostname": s.hostname or None,
                    "recoveryInstanceId": s.recovery_instance_id,
                    "launchedAt": s.launched_at,
                    "snapshotTime": s.snapshot_time,
                    "error": s.error,
                }
            )
            for s in wave.servers
        ]
    return wire


def progress(execution: Execution) -> dict[str, int]:
    servers = [s for w in execution.waves for s in w.servers]
    return {
        "wavesCompleted": sum(1 for w in execution.waves if w.status == WaveStatus.COMPLETED),
        "wavesTotal": len(execution.waves),
        "serversLaunched": sum(1 for s in servers if s.launch_status == LaunchStatus.LAUNCHED),
        "serversTotal": len(servers),
    }


def _approvals_wire(execution: Execution) -> dict[str, Any]:
    return _drop_none(
        {
            "required": execution.required_approvals,
            "given": [a.to_wire() for a in execution.approvals],
            "expiresAt": execution.expires_at if execution.status == _S.PENDING_APPROVAL else None,
        }
    )


def execution_summary(execution: Execution) -> dict[str, Any]:
    """One line of list_executions."""
    return _drop_none(
        {
            "executionId": execution.execution_id,
            "planId": execution.plan_id,
            "planName": execution.plan_name,
            "status": str(execution.status),
            "executionType": str(execution.execution_type),
            "initiatedBy": execution.initiated_by,
            "onBehalfOf": execution.on_behalf_of,
            "requestedAt": execution.requested_at,
            "startTime": execution.start_time,
            "endTime": execution.end_time,
            "scheduleId": execution.schedule_id,
            **progress(execution),
        }
    )


def execution_details(execution: Execution) -> dict[str, Any]:
    """get_execution_details: the seed's Example 5 shape, with approvals, cleanup and events."""
    wire = _drop_none(
        {
            "executionId": execution.execution_id,
            "planId": execution.plan_id,
            "planName": execution.plan_name,
            "status": str(execution.status),
            "executionType": str(execution.execution_type),
            "startTime": execution.start_time,
            "endTime": execution.end_time,
            "initiatedBy": execution.initiated_by,
            "onBehalfOf": execution.on_behalf_of,
            "reason": execution.reason or None,
            "requestedAt": execution.requested_at,
            "statusReason": execution.status_reason,
            "scheduleId": execution.schedule_id,
            "stateMachineArn": execution.state_machine_arn,
            "cleanupAfterMinutes": execution.cleanup_after_minutes,
            "pausedBeforeWave": execution.gate_wave,
        }
    )
    wire["waves"] = [wave_wire(w) for w in execution.waves]
    wire["approvals"] = _approvals_wire(execution)
    if execution.cleanup is not None:
        wire["cleanup"] = execution.cleanup.to_wire()
    wire["warnings"] = preflight_warnings(execution)
    wire["events"] = [e.to_wire() for e in execution.events]
    wire["version"] = execution.version
    return wire


def execution_status(execution: Execution) -> dict[str, Any]:
    """get_execution_status: where the execution is, in a few fields."""
    in_flight = [w.wave_number for w in execution.waves if w.status in IN_FLIGHT]
    return _drop_none(
        {
            "executionId": execution.execution_id,
            "planName": execution.plan_name,
            "executionType": str(execution.execution_type),
            "status": str(execution.status),
            "done": execution.is_terminal,
            "statusReason": execution.status_reason,
            "startTime": execution.start_time,
            "endTime": execution.end_time,
            "currentWaves": in_flight,
            "pausedBeforeWave": execution.gate_wave,
            "progress": progress(execution),
            "approvals": _approvals_wire(execution),
            "cleanup": str(execution.cleanup.status) if execution.cleanup else None,
        }
    )


def execution_waves(execution: Execution) -> dict[str, Any]:
    waves = [wave_wire(w) for w in execution.waves]
    return {"executionId": execution.execution_id, "waves": waves, "count": len(waves)}


def _job_wire(job: DrsJob | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return _drop_none(
        {
            "jobID": job.job_id,
            "status": job.status,
            "type": job.type,
            "initiatedBy": job.initiated_by,
            "creationDateTime": job.created_at,
            "endDateTime": job.ended_at,
            "participatingServers": [
                _drop_none(
                    {
                        "sourceServerID": s.source_server_id,
                        "launchStatus": s.launch_status,
                        "recoveryInstanceID": s.recovery_instance_id,
                    }
                )
                for s in job.servers
            ],
        }
    )


def execution_jobs(services: Services, execution: Execution) -> dict[str, Any]:
    """get_execution_jobs: each wave's DRS launch job (and a drill's cleanup jobs) as DRS describes
    it now — one describe_jobs per region and account."""
    entries: list[tuple[WaveRun, str, str]] = []  # (wave, job id, purpose)
    by_place: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for wave in execution.waves:
        place = (wave.region or services.settings.region, wave.account_id)
        for job_id, purpose in [(wave.job_id, "launch")] + [(j, "cleanup") for j in wave.terminate_job_ids]:
            if job_id:
                entries.append((wave, job_id, purpose))
                by_place[place].append(job_id)
    described: dict[str, DrsJob] = {}
    for (region, account), ids in by_place.items():
        described.update({j.job_id: j for j in services.drs.gateway(region, account).jobs(ids)})
    jobs = []
    for wave, job_id, purpose in entries:
        jobs.append(
            _drop_none(
                {
                    "waveNumber": wave.wave_number,
                    "waveName": wave.wave_name,
                    "waveStatus": str(wave.status),
                    "purpose": purpose,
                    "jobId": job_id,
                    "region": wave.region or services.settings.region,
                    "accountId": wave.account_id,
                    "status": described[job_id].status if job_id in described else "UNKNOWN",
                    "drs": _job_wire(described.get(job_id)),
                }
            )
        )
    return {"executionId": execution.execution_id, "jobs": jobs, "count": len(jobs)}


__all__ = [
    "MIN_PREFIX",
    "REQUIRED_APPROVALS",
    "ApprovalOutcome",
    "ExecutionPage",
    "Outcome",
    "active_executions",
    "approve_execution",
    "cancel_execution",
    "execute_recovery_plan",
    "execution_details",
    "execution_jobs",
    "execution_status",
    "execution_summary",
    "execution_waves",
    "find_execution",
    "get_execution",
    "hand_to_driver",
    "is_expired",
    "kind_word",
    "list_execution_page",
    "list_executions",
    "parse_date",
    "pause_execution",
    "preflight_warnings",
    "progress",
    "reject_execution",
    "resume_execution",
    "wave_wire",
]
