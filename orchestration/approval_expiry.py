"""When an approval request runs out of time, and what its expiry records (docs/engine.md).

A request awaiting approval expires `approval_expiry_minutes` after it was made. Whoever touches it
first afterwards (an approval, a withdrawal, a query, the engine, the sweep) marks it EXPIRED with
`expire`, so the event reads the same whichever of them found it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orchestration.models import EventType, Execution, ExecutionStatus


def clock_time(epoch: int) -> str:
    """A moment as a sentence gives it: `2026-01-31 14:05 UTC`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def is_expired(execution: Execution, now: int) -> bool:
    """An approval request whose time is up (it becomes EXPIRED the next time it is touched)."""
    return (
        execution.status == ExecutionStatus.PENDING_APPROVAL
        and execution.expires_at is not None
        and now >= execution.expires_at
    )


def expire(execution: Execution, now: int) -> Execution:
    """The request marked EXPIRED, with the one event that says when and how many approvals it had."""
    return execution.with_status(ExecutionStatus.EXPIRED, now, reason="Approval request expired").with_event(
        EventType.EXPIRED,
        now,
        f"The approval request expired at {clock_time(execution.expires_at or now)}: "
        f"{len(execution.approvals)} of {execution.required_approvals} approval(s) were given",
    )
