"""Approving, rejecting, pausing, resuming and cancelling an execution (docs/engine.md).

Approval policy: approvers need `approve`; the requester never approves their own request; a drill
needs one approval, a recovery two from distinct approvers; the same approval twice is a harmless
no-op; a request that expired is marked EXPIRED the first time anything touches it afterwards. Every
change is saved with a version check and re-evaluated on a conflict, so two racing approvals start
one execution: only the writer whose save moves the execution from PENDING_APPROVAL to PENDING calls
`driver.start`.

Control: pause (RUNNING → PAUSED), resume (PAUSED → RUNNING; a pauseBefore gate is passed) and
cancel (PENDING/RUNNING/PAUSED → CANCELLING; a request awaiting approval is withdrawn by its
requester) need `control_execution`. The engine writes the same execution concurrently, so each
change is retried on StaleVersion against what was saved. Every change records an event, an audit
entry, and is delivered to the notifier at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestration.approval_expiry import is_expired
from orchestration.context import Services
from orchestration.engine.advance import deliver
from orchestration.errors import Action, MissingField, PermissionDenied, Remedy
from orchestration.models import Approval, EventType, Execution, ExecutionStatus, ExecutionType
from orchestration.ports import WAKE_EXPIRY, WAKE_GATE, WAKE_START
from orchestration.rbac import Permission
from orchestration.services.access import require
from orchestration.services.execution_saving import Step, apply_step, expired_step, names, refuse
from orchestration.services.execution_start import START_GRACE_SECONDS, start_driving

_S = ExecutionStatus
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


# -- approvals ------------------------------------------------------------------------------------


def approve_execution(services: Services, execution_id: str, approver: str) -> ApprovalOutcome:
    """Record `approver`'s approval; the last approval needed starts the execution."""
    require(services, approver, Permission.APPROVE)

    def evaluate(current: Execution, now: int) -> Step:
        kind = current.execution_type.word
        if is_expired(current, now):
            return expired_step(current, now, "approved")
        if any(a.user_id == approver for a in current.approvals):
            return Step(current, False, f"You already approved this {kind}; nothing more to do.")
        if approver == current.initiated_by:
            raise PermissionDenied(
                f"{approver} requested this {kind} and cannot approve it: another approver must.",
                permission=Permission.APPROVE.value,
                executionId=current.execution_id,
            )
        if current.status in _NEVER_RAN:
            raise refuse(current, "approved", "a request awaiting approval")
        if current.status != _S.PENDING_APPROVAL:
            by = names([a.user_id for a in current.approvals]) or "nobody (it needed no approval)"
            return Step(current, False, f"This {kind} was already approved by {by}; it is {current.status}.")
        approvals = [*current.approvals, Approval(user_id=approver, at=now)]
        have, need = len(approvals), current.required_approvals
        updated = current.model_copy(update={"approvals": approvals})
        if have >= need:
            updated = updated.with_status(
                _S.PENDING, now, reason=f"Approved by {names([a.user_id for a in approvals])}"
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
        return Step(updated, True, message, "execution.approve", {"approvals": have, "required": need})

    _arm_start_if_last(services, execution_id)
    saved, step = apply_step(services, execution_id, approver, evaluate)
    # judged on what THIS approval saved: `saved` may be a re-read showing another writer's PENDING
    started = step.changed and step.execution.status == _S.PENDING
    if started:
        saved = deliver(services, start_driving(services, saved))
    if not started and saved.status == _S.PENDING_APPROVAL:
        services.wakeups.cancel(execution_id, WAKE_START)
    return ApprovalOutcome(saved, step.changed, step.message, started=started)


def _arm_start_if_last(services: Services, execution_id: str) -> None:
    """Before an approval that may be the last one needed is saved, the start grace's wake-up: a
    crash between the save (PENDING) and the driver's start is then still noticed. An approval
    that turns out not to be the last cancels it; a stray one finds nothing to start."""
    current = services.store.get_execution(execution_id)
    if current.status == _S.PENDING_APPROVAL and len(current.approvals) + 1 >= current.required_approvals:
        now = int(services.clock.now())
        services.wakeups.at(execution_id, now + START_GRACE_SECONDS, WAKE_START)


def reject_execution(services: Services, execution_id: str, approver: str, reason: str) -> ApprovalOutcome:
    """Refuse a request awaiting approval, saying why."""
    require(services, approver, Permission.APPROVE)
    reason = reason.strip()
    if not reason:
        raise MissingField("reason: say why the request is rejected (the requester sees it)", field="reason")

    def evaluate(current: Execution, now: int) -> Step:
        kind = current.execution_type.word
        if is_expired(current, now):
            return expired_step(current, now, "rejected")
        if current.status == _S.REJECTED:
            return Step(current, False, f"This {kind} was already rejected: {current.status_reason}.")
        if current.status != _S.PENDING_APPROVAL:
            raise refuse(current, "rejected", "a request awaiting approval", Remedy(Action.STOP_RUN))
        message = f"{approver} rejected the {kind}: {reason}"
        rejected = current.with_status(_S.REJECTED, now, reason=f"Rejected by {approver}: {reason}")
        rejected = rejected.with_event(EventType.REJECTED, now, message, actor=approver, reason=reason)
        return Step(rejected, True, message, "execution.reject", {"reason": reason})

    saved, step = apply_step(services, execution_id, approver, evaluate)
    if saved.status in _NEVER_RAN:
        services.wakeups.cancel(execution_id, WAKE_EXPIRY)
    return ApprovalOutcome(saved, step.changed, step.message)


# -- pause, resume, cancel ------------------------------------------------------------------------


def pause_execution(services: Services, execution_id: str, actor: str) -> Outcome:
    """RUNNING → PAUSED: waves in flight finish, no new wave launches until resumed."""
    require(services, actor, Permission.CONTROL_EXECUTION)

    def evaluate(current: Execution, now: int) -> Step:
        kind = current.execution_type.word
        if current.status == _S.PAUSED:
            return Step(current, False, f"This {kind} is already paused: {current.status_reason}.")
        if current.status != _S.RUNNING:
            raise refuse(current, "paused", "a RUNNING execution")
        message = (
            f"{actor} paused the {kind}: waves in flight finish, no new wave launches until it is resumed"
        )
        paused = current.with_status(_S.PAUSED, now, reason=f"Paused by {actor}")
        return Step(
            paused.with_event(EventType.PAUSED, now, message, actor=actor), True, message, "execution.pause"
        )

    saved, step = apply_step(services, execution_id, actor, evaluate)
    return Outcome(saved, step.changed, step.message)


def resume_execution(services: Services, execution_id: str, actor: str) -> Outcome:
    """PAUSED → RUNNING; a pauseBefore gate holding the execution is passed, so its wave launches."""
    require(services, actor, Permission.CONTROL_EXECUTION)

    def evaluate(current: Execution, now: int) -> Step:
        kind = current.execution_type.word
        if current.status == _S.RUNNING:
            return Step(current, False, f"This {kind} is running, not paused; nothing to resume.")
        if current.status != _S.PAUSED:
            raise refuse(current, "resumed", "a PAUSED execution")
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
        return Step(resumed, True, message, "execution.resume", details)

    saved, step = apply_step(services, execution_id, actor, evaluate)
    if step.changed:
        services.wakeups.cancel(execution_id, WAKE_GATE)  # a gate's deadline is moot once resumed
        services.driver.wake(saved)
    return Outcome(saved, step.changed, step.message)


def cancel_execution(services: Services, execution_id: str, actor: str) -> Outcome:
    """Stop an execution: no further wave launches, a drill's instances are terminated. A request
    still awaiting approval is withdrawn by its requester instead."""

    def evaluate(current: Execution, now: int) -> Step:
        kind = current.execution_type.word
        if current.status == _S.PENDING_APPROVAL:
            if actor != current.initiated_by:
                raise PermissionDenied(
                    f"Only {current.initiated_by}, who requested this {kind}, can withdraw it; an "
                    "approver rejects it.",
                    remedy=Remedy(Action.REJECT_EXECUTION, current.execution_id),
                    permission=Permission.CONTROL_EXECUTION.value,
                    executionId=current.execution_id,
                )
            require(services, actor, Permission.REQUEST_EXECUTION)
            if is_expired(current, now):
                step = expired_step(current, now, "withdrawn")
                return Step(
                    step.execution, True, "The request had expired already; nothing will run.", step.audit
                )
            message = f"{actor} withdrew the {kind} request"
            withdrawn = current.with_status(_S.REJECTED, now, reason=f"Withdrawn by {actor}")
            withdrawn = withdrawn.with_event(EventType.REJECTED, now, message, actor=actor, withdrawn=True)
            return Step(withdrawn, True, message, "execution.withdraw")
        require(services, actor, Permission.CONTROL_EXECUTION)
        if current.status in (_S.CANCELLING, _S.CANCELLED):
            return Step(current, False, f"This {kind} is already {current.status.lower()}.")
        if current.status not in _STOPPABLE:
            raise refuse(current, "cancelled", "a PENDING, RUNNING or PAUSED execution")
        cleanup = (
            " and its launched instances terminated" if current.execution_type == ExecutionType.DRILL else ""
        )
        message = f"{actor} cancelled the {kind}: no further wave launches{cleanup}"
        cancelling = current.with_status(_S.CANCELLING, now, reason=f"Cancelled by {actor}")
        cancelling = cancelling.with_event(EventType.CANCEL_REQUESTED, now, message, actor=actor)
        return Step(cancelling, True, message, "execution.cancel")

    saved, step = apply_step(services, execution_id, actor, evaluate)
    if saved.status in _NEVER_RAN:  # withdrawn (or found expired): its deadline is moot
        services.wakeups.cancel(execution_id, WAKE_EXPIRY)
    if step.changed and saved.status == _S.CANCELLING:
        services.wakeups.cancel(execution_id, WAKE_GATE)
        services.driver.wake(saved)
    return Outcome(saved, step.changed, step.message)
