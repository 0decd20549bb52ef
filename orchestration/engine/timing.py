"""How long to wait before the next `advance`: short right after a launch, longer while instances
boot, the remaining time while a cleanup or an approval deadline is ahead, backing off while DRS
is throttling or down. An idle system is not polled at all (`done`, or `paused` with nothing in
flight)."""

from __future__ import annotations

from orchestration.models import CleanupStatus, Execution, ExecutionStatus, WaveStatus

AFTER_LAUNCH = 10  # a new job goes PENDING → STARTED within seconds
WHILE_PENDING = 10
WHILE_BOOTING = 20  # instances take minutes; launchStatus moves per server
IDLE = 60  # paused, or waiting for a far deadline
MAX_BACKOFF = 300
LEASE_SECONDS = 120  # a claimed launch or cleanup look not recorded after this is presumed dead
DELIVERY_RETRY = 30


def backoff_seconds(streak: int) -> int:
    """5 s, doubling per consecutive DRS refusal, at most 5 minutes."""
    backoff: int = 5 * 2 ** min(streak, 10)
    return min(MAX_BACKOFF, backoff)


def wait_seconds(execution: Execution, now: int, launched: bool) -> int:
    if not execution.needs_driving:
        return 0
    cleanup = execution.cleanup
    if execution.is_terminal and cleanup is not None and cleanup.status == CleanupStatus.TERMINATING:
        if cleanup.claimed_at is not None:  # a look in progress, or one whose tick died: its lease
            return max(1, cleanup.claimed_at + LEASE_SECONDS - now)
        return max(1, cleanup.due_at - now)  # the next look (sooner after a start, backing off on errors)
    if execution.transient_errors:
        return backoff_seconds(execution.transient_errors)
    if execution.status == ExecutionStatus.PENDING_APPROVAL:
        remaining = (execution.expires_at or now + IDLE) - now
        return max(1, min(IDLE, remaining))
    statuses = {w.status for w in execution.waves}
    if launched or WaveStatus.INITIATED in statuses or WaveStatus.LAUNCHING in statuses:
        return AFTER_LAUNCH if launched else WHILE_PENDING
    if WaveStatus.STARTED in statuses:
        return WHILE_BOOTING
    if cleanup is not None and cleanup.status == CleanupStatus.SCHEDULED:
        return max(1, min(IDLE * 5, cleanup.due_at - now))
    if execution.is_terminal:
        return DELIVERY_RETRY  # only events are left to deliver
    if execution.status == ExecutionStatus.PAUSED:
        return IDLE
    return WHILE_PENDING
