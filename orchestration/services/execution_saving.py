"""Saving a change to an execution: evaluated against what is stored, retried on a conflict.

Every action on an execution (an approval, a pause, the expiry found on touch) is a `Step` computed
from the execution as read; `apply_step` saves it with a version check and the audit entry in the
same write, re-evaluates it when someone else (the engine, a second click) wrote first, and delivers
the events to the notifier at once. The refusals every action shares live here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.approval_expiry import clock_time, expire
from orchestration.context import Services
from orchestration.engine.advance import deliver
from orchestration.errors import Action, Conflict, DrbotError, InvalidTransition, Remedy, StaleVersion
from orchestration.models import Execution, ExecutionStatus
from orchestration.store.base import Audited

RETRIES = 8  # saves of one change before it is refused as "kept changing"


@dataclass(frozen=True)
class Step:
    """One evaluation of an action against the execution as read."""

    execution: Execution  # what to save (or the execution as read, when nothing changes)
    changed: bool
    message: str
    audit: str = ""  # audit action, e.g. "execution.approve"
    details: dict[str, Any] | None = None
    refusal: DrbotError | None = None  # raised after saving (an expiry found on touch)


def now_of(services: Services) -> int:
    """The clock's now, in whole epoch seconds."""
    return int(services.clock.now())


def names(users: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(users) <= 1:
        return "".join(users)
    return ", ".join(users[:-1]) + " and " + users[-1]


def expired_step(execution: Execution, now: int, what: str) -> Step:
    """The expiry found when someone tried to do `what` ("approved", …): saved, then refused."""
    return Step(
        expire(execution, now),
        changed=True,
        message="The approval request expired",
        audit="execution.expire",
        refusal=InvalidTransition(
            f"The approval request for {execution.execution_type.word} {execution.execution_id} of "
            f"'{execution.plan_name}' expired at {clock_time(execution.expires_at or 0)}, so it can no "
            f"longer be {what}.",
            remedy=Remedy(Action.REQUEST_RUN),
            currentStatus=str(ExecutionStatus.EXPIRED),
            executionId=execution.execution_id,
        ),
    )


def refuse(
    execution: Execution, action: str, allowed: str, remedy: Remedy | None = None
) -> InvalidTransition:
    """The clear refusal of an action the execution's status does not allow (nothing changes)."""
    return InvalidTransition(
        f"Execution {execution.execution_id} ({execution.execution_type.word} of "
        f"'{execution.plan_name}') is {execution.status}: only {allowed} can be {action}.",
        remedy=remedy,
        currentStatus=str(execution.status),
        executionId=execution.execution_id,
    )


def apply_step(
    services: Services, execution_id: str, actor: str, evaluate: Callable[[Execution, int], Step]
) -> tuple[Execution, Step]:
    """Evaluate an action against the stored execution and save the result with a version check,
    audited (`step.audit`, else "execution.update") in the same write; when someone else wrote first
    (the engine, a second click), the store reads again and this re-evaluates (Store.modify)."""
    steps: list[Step] = []

    def change(current: Execution) -> Execution | Audited[Execution]:
        step = evaluate(current, now_of(services))
        steps.append(step)
        if not step.changed:
            return current
        action = step.audit.removeprefix("execution.") or "update"
        return Audited(step.execution, action, step.details or {})

    try:
        saved = services.store.modify_execution(execution_id, change, actor, attempts=RETRIES)
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
