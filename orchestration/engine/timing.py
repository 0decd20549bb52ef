"""How long to wait before the next `advance`: short right after a launch, longer while instances
boot, when a wave should have ended judging by the run's earlier waves (once one has completed),
the remaining time while a cleanup or an approval deadline is ahead, backing off while DRS is
throttling or down. An idle system is not polled at all (`done`, or `paused` with nothing in
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
EXPECTED_MARGIN = 2  # seconds after a wave's expected end: its job is COMPLETED by then
MAX_EXPECTED_WAIT = 300  # a wave expected to take longer is still looked at every 5 minutes


def backoff_seconds(streak: int) -> int:
    """5 s, doubling per consecutive DRS refusal, at most 5 minutes."""
    backoff: int = 5 * 2 ** min(streak, 10)
    return min(MAX_BACKOFF, backoff)


def typical_wave_seconds(execution: Execution) -> int | None:
    """How long DRS took for this run's completed launch jobs, creation to end (the median; None
    before one has completed)."""
    durations = sorted(w.job_seconds for w in execution.waves if w.job_seconds is not None)
    return durations[len(durations) // 2] if durations else None


def _until_expected_end(execution: Execution, now: int) -> int | None:
    """Once a wave of the run has completed, a wave in flight is next looked at when it should end
    by then (as long as its predecessors took), not every few seconds; one that takes longer is
    looked at as usual. None: nothing to expect yet."""
    typical = typical_wave_seconds(execution)
    in_flight = [
        w.start_time
        for w in execution.waves
        if w.status in (WaveStatus.LAUNCHING, WaveStatus.STARTED) and w.start_time is not None and w.job_id
    ]
    if typical is None or not in_flight or execution.status != ExecutionStatus.RUNNING:
        return None
    due = min(in_flight) + typical + EXPECTED_MARGIN - now
    return min(due, MAX_EXPECTED_WAIT) if due >= AFTER_LAUNCH else None


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
    expected = _until_expected_end(execution, now)
    if expected is not None:
        return expected
    if launched or WaveStatus.INITIATED in statuses or WaveStatus.LAUNCHING in statuses:
        return AFTER_LAUNCH if launched else WHILE_PENDING
    if WaveStatus.STARTED in statuses:
        return WHILE_BOOTING
    if cleanup is not None and cleanup.status == CleanupStatus.SCHEDULED:
        return max(1, min(IDLE * 5, cleanup.due_at - now))
    if execution.is_terminal:
        return DELIVERY_RETRY  # only events are left to deliver
    if execution.status == ExecutionStatus.PAUSED:
        if execution.gate_deadline is not None:  # an unattended drill's gate: look again when it expires
            return max(1, min(IDLE, execution.gate_deadline - now))
        return IDLE
    return WHILE_PENDING
