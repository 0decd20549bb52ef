"""Requesting and starting a run (docs/engine.md, docs/architecture.md).

The requester needs `request_execution`; every pre-flight rule runs first (errors refuse the run:
WAVE_SIZE_LIMIT_EXCEEDED, SERVER_CONFLICT, DRS_LIMIT_EXCEEDED; warnings are recorded in the REQUESTED
event); a plan runs once at a time; the execution is created awaiting approval (PENDING_APPROVAL: a
drill needs one approval, a recovery two from distinct approvers) or ready to run (PENDING, handed to
the driver at once). A driver that cannot start leaves the run FAILED with nothing launched.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aws_lambda_powertools import Logger

from orchestration.approval_expiry import clock_time, is_expired
from orchestration.context import Services
from orchestration.engine.advance import deliver
from orchestration.errors import (
    Action,
    DrsLimitExceeded,
    DuplicateServerInPlan,
    InternalError,
    InUse,
    Remedy,
    ServerConflict,
    ValidationFailed,
    WaveSizeLimitExceeded,
)
from orchestration.models import (
    Approval,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    UnattendedGates,
)
from orchestration.ports import WAKE_EXPIRY, WAKE_START
from orchestration.rbac import Permission
from orchestration.services.access import require
from orchestration.services.common import active_executions
from orchestration.services.execution_builder import build_execution
from orchestration.services.execution_queries import get_execution
from orchestration.services.execution_saving import Step, apply_step, names, now_of, refuse
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
from orchestration.start_request import StartExecution

logger = Logger(service="drbot")

_S = ExecutionStatus
REQUIRED_APPROVALS = {ExecutionType.DRILL: 1, ExecutionType.RECOVERY: 2}
START_GRACE_SECONDS = 60  # an approval starts its run at once; after this long, nobody did


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

    now = now_of(services)
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
    # the wake-up first: a crash after it leaves a stray wake-up (harmless), never a moment unwatched
    if execution.expires_at is not None:
        services.wakeups.at(execution.execution_id, execution.expires_at, WAKE_EXPIRY)
    else:
        services.wakeups.at(execution.execution_id, now + START_GRACE_SECONDS, WAKE_START)
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
        created = start_driving(services, created)
    return deliver(services, created)


def _expire_due_requests(services: Services) -> None:
    now = now_of(services)
    for execution in services.store.list_executions(active_only=True, limit=ACTIVE_EXECUTIONS_LIMIT):
        if is_expired(execution, now):
            get_execution(services, execution.execution_id)


def _with_requested_event(execution: Execution, check: PlanCheck, actor: str, now: int) -> Execution:
    kind = execution.execution_type.word
    who = f"{actor} (on behalf of {execution.on_behalf_of})" if execution.on_behalf_of else actor
    size = f"{len(execution.waves)} wave(s), {check.view.server_count} server(s)"
    reason = f" Reason: {execution.reason.rstrip('.')}." if execution.reason else ""
    if execution.status == _S.PENDING_APPROVAL:
        needed = execution.required_approvals
        distinct = " from distinct approvers" if needed > 1 else ""
        message = (
            f"{who} requested a {kind} of {execution.plan_name} ({size}): it needs {needed} "
            f"approval(s){distinct} by {clock_time(execution.expires_at or now)}.{reason}"
        )
    elif execution.approvals:
        message = (
            f"{who} started a {kind} of {execution.plan_name} ({size}), approved beforehand by "
            f"{names([a.user_id for a in execution.approvals])}.{reason}"
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


def _refuse_if_plan_running(services: Services, plan_id: str, plan_name: str) -> None:
    """A plan runs once at a time, even when its waves hold no server right now."""
    active = active_executions(services, plan_id)
    if active:
        other = active[0]
        raise InUse(
            f"Recovery plan '{plan_name}' already has a {other.status} {other.execution_type.word} "
            f"({other.execution_id}): wait for it to end or cancel it.",
            remedy=Remedy(Action.CANCEL_EXECUTION, other.execution_id),
            resourceType="plan",
            resourceId=plan_id,
            executionId=other.execution_id,
        )


def _withdraw_if_raced(services: Services, created: Execution, actor: str) -> Execution:
    """Two requests of one plan created at the same moment both passed the checks: the one that sees
    the other withdraws itself (both may; never both run)."""
    others = [
        e for e in active_executions(services, created.plan_id) if e.execution_id != created.execution_id
    ]
    if not others:
        return created
    other = others[0]
    now = now_of(services)
    reason = f"Another run of this plan ({other.execution_id}) was requested at the same time"
    target = _S.REJECTED if created.status == _S.PENDING_APPROVAL else _S.FAILED
    withdrawn = created.with_status(target, now, reason=reason).with_event(
        EventType.REJECTED if target == _S.REJECTED else EventType.FAILED, now, reason, actor=actor
    )
    deliver(services, services.store.update_execution(withdrawn, actor))
    raise InUse(
        f"Recovery plan '{created.plan_name}' already has a {other.status} {other.execution_type.word} "
        f"({other.execution_id}) requested at the same time; this request was withdrawn.",
        resourceType="plan",
        resourceId=created.plan_id,
        executionId=other.execution_id,
    )


def start_driving(services: Services, execution: Execution) -> Execution:
    """Hand a PENDING execution to its driver and keep what the driver recorded (e.g. the state
    machine's ARN). A driver that cannot start leaves nothing launched: the execution is FAILED."""
    try:
        driven = services.driver.start(execution)
    except Exception as error:  # the run must not stay PENDING with nobody driving it
        logger.exception("driver failed to start", extra={"execution_id": execution.execution_id})
        reason = f"drbot could not start driving it ({type(error).__name__}); nothing was launched"

        def fail(current: Execution, now: int) -> Step:
            if current.status != _S.PENDING:
                return Step(current, changed=False, message="")
            failed = current.with_status(_S.FAILED, now, reason=reason)
            return Step(failed.with_event(EventType.FAILED, now, reason), True, reason)

        apply_step(services, execution.execution_id, execution.initiated_by, fail)
        raise InternalError(
            f"Execution {execution.execution_id} could not be started: {reason}. Try again.",
            executionId=execution.execution_id,
        ) from error
    for moot in (WAKE_START, WAKE_EXPIRY):  # started: neither moment matters any more
        services.wakeups.cancel(execution.execution_id, moot)
    changes = {
        name: getattr(driven, name)
        for name in type(driven).model_fields
        if name != "version" and getattr(driven, name) != getattr(execution, name)
    }
    if not changes:
        return execution

    def record(current: Execution, now: int) -> Step:
        return Step(current.model_copy(update=changes), changed=True, message="")

    saved, _ = apply_step(services, execution.execution_id, execution.initiated_by, record)
    return saved


def hand_to_driver(services: Services, execution: Execution) -> Execution:
    """Start driving a PENDING execution (again): drivers make a second start harmless, so this is
    how a run approved just before a crash, and never started, gets going."""
    if execution.status != _S.PENDING:
        raise refuse(execution, "started", "a PENDING execution")
    return deliver(services, start_driving(services, execution))
