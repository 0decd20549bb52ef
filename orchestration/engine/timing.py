"""How long to wait before the next `advance` (the *safety poll*: the longest the engine waits when
nothing wakes it sooner). The looks follow the work: a wave's launch is looked at soon after
StartRecovery (an immediate failure), then when it should have ended judging by the run's earlier
waves, backing off (doubling, capped) while it has not; with no earlier wave to go by, the looks
double from the first. A cleanup's looks back off the same way. Otherwise: the remaining time while
a cleanup, an approval or a gate deadline is ahead, backing off while DRS is throttling or down. An
idle system is not polled at all (`done`, or `paused` with nothing in flight). docs/engine.md has
the table.

Every figure is a pure function of the execution and `now` (nothing counts the looks): a look's
time is the first point of the wave's schedule after `now`, so a late or an extra `advance` (an
event that woke the execution) changes nothing that follows."""

from __future__ import annotations

from collections.abc import Iterator

from orchestration.models import CleanupStatus, Execution, ExecutionStatus, WaveRun, WaveStatus

AFTER_LAUNCH = 10  # the first look after StartRecovery: a job that fails at once is seen at once
WHILE_PENDING = 10  # a claim without a job (a lease, or a StartRecovery whose answer was lost)
IDLE = 60  # paused, or waiting for a far deadline
MAX_BACKOFF = 300
LEASE_SECONDS = 120  # a claimed launch or cleanup look not recorded after this is presumed dead
DELIVERY_RETRY = 30
EXPECTED_MARGIN = 2  # seconds after a wave's expected end: its job is COMPLETED by then
FIRST_STEP = 20  # with nothing to go by, the looks after the first are 20 s, 40 s, 80 s ... apart
LATE_STEP = 15  # a wave not done when expected: looked at 15 s, 30 s, 60 s ... later
MAX_STEP = 120  # once late, a launch in flight is looked at at least every 2 minutes
CLEANUP_STEP = 15  # a cleanup's looks: 15 s after the first, then 30 s, 60 s, at most MAX_STEP
EARLY_LOOK_BEYOND = 60  # the look for an immediate failure is made when the expected end is further
MAX_WAIT = 3600  # no single wait is longer than an hour (Step Functions takes it in whole seconds)


def backoff_seconds(streak: int) -> int:
    """5 s, doubling per consecutive DRS refusal, at most 5 minutes."""
    backoff: int = 5 * 2 ** min(streak, 10)
    return min(MAX_BACKOFF, backoff)


def cleanup_look_after(rounds: int) -> int:
    """Seconds from a cleanup's look to the next once `rounds` looks were made (this one
    included): 15 s, doubling, at most MAX_STEP (a termination takes DRS minutes)."""
    step: int = CLEANUP_STEP * 2 ** min(max(rounds - 1, 0), 10)
    return min(MAX_STEP, step)


def typical_wave_seconds(execution: Execution) -> int | None:
    """How long DRS took for this run's completed launch jobs, creation to end (the median; None
    before one has completed)."""
    durations = sorted(w.job_seconds for w in execution.waves if w.job_seconds is not None)
    return durations[len(durations) // 2] if durations else None


def _doubling(first: int, step: int) -> Iterator[int]:
    """first, first + step, first + 3 step, first + 7 step ... (the gaps double up to MAX_STEP)."""
    at = first
    while True:
        yield at
        at += step
        step = min(MAX_STEP, step * 2)


def look_points(started: int, typical: int | None) -> Iterator[int]:
    """When a wave whose launch was claimed at `started` is looked at, without events: AFTER_LAUNCH
    seconds in (a job that failed at once; left out when the expected end is at most
    EARLY_LOOK_BEYOND seconds in), then at its expected end (`typical` + EXPECTED_MARGIN) backing
    off by LATE_STEP doubling; with no `typical`, FIRST_STEP doubling from the first look. Gaps are
    at most MAX_STEP except the jump to the expected end."""
    first = started + AFTER_LAUNCH
    if typical is None or typical + EXPECTED_MARGIN <= AFTER_LAUNCH:
        yield from _doubling(first, FIRST_STEP)
        return
    if typical + EXPECTED_MARGIN > EARLY_LOOK_BEYOND:
        yield first
    yield from _doubling(started + typical + EXPECTED_MARGIN, LATE_STEP)


def next_look(wave: WaveRun, typical: int | None, now: int) -> int:
    """The first point of the wave's schedule after `now` (epoch seconds)."""
    started = wave.start_time if wave.start_time is not None else now
    return next(at for at in look_points(started, typical) if at > now)


def _launches_in_flight(execution: Execution) -> list[WaveRun]:
    return [
        w
        for w in execution.waves
        if w.status in (WaveStatus.LAUNCHING, WaveStatus.STARTED) and w.job_id and w.start_time is not None
    ]


def _until_next_launch_look(execution: Execution, now: int) -> int | None:
    """Seconds to the earliest look any launch in flight is due (None: no launch job in flight)."""
    in_flight = _launches_in_flight(execution)
    if not in_flight:
        return None
    typical = typical_wave_seconds(execution)
    return max(1, min(next_look(w, typical, now) for w in in_flight) - now)


def wait_seconds(execution: Execution, now: int, launched: bool) -> int:
    """Whole seconds until the next `advance` (0: nothing left to drive); `launched`: this tick
    started a launch. At most MAX_WAIT, but for a `--cleanup-after` delay, which is waited out in
    one wait (the moment is known and nothing else can move it: no look in between, on AWS no
    Lambda invocation for up to the week the delay may last); otherwise at least 1."""
    seconds = _wait_seconds(execution, now, launched)
    cleanup = execution.cleanup
    if cleanup is not None and cleanup.status == CleanupStatus.SCHEDULED and seconds == cleanup.due_at - now:
        return seconds
    return min(MAX_WAIT, seconds)


def _wait_seconds(execution: Execution, now: int, launched: bool) -> int:
    if not execution.needs_driving:
        return 0
    cleanup = execution.cleanup
    if execution.is_terminal and cleanup is not None and cleanup.status == CleanupStatus.TERMINATING:
        if cleanup.claimed_at is not None:  # a look in progress, or one whose tick died: its lease
            return max(1, cleanup.claimed_at + LEASE_SECONDS - now)
        return max(1, cleanup.due_at - now)  # the next look (cleanup_look_after, backing off on errors)
    if execution.transient_errors:
        return backoff_seconds(execution.transient_errors)
    if execution.status == ExecutionStatus.PENDING_APPROVAL:
        remaining = (execution.expires_at or now + IDLE) - now
        return max(1, min(IDLE, remaining))
    launch_look = _until_next_launch_look(execution, now)
    claimed = any(
        w.status == WaveStatus.INITIATED or (w.status == WaveStatus.LAUNCHING and not w.job_id)
        for w in execution.waves
    )
    if claimed:  # a claim without a job: its lease, or a reconciliation, comes soon
        return WHILE_PENDING if launch_look is None else min(WHILE_PENDING, launch_look)
    if launch_look is not None:  # a launch this tick included: its job follows its schedule
        return launch_look
    if launched:
        return AFTER_LAUNCH
    if cleanup is not None and cleanup.status == CleanupStatus.SCHEDULED:
        return max(1, cleanup.due_at - now)  # the delay's end: wait_seconds lets it past MAX_WAIT
    archive = execution.archive
    if execution.is_terminal and not execution.undelivered and archive is not None and archive.retry_due:
        return max(1, archive.retry_at - now)  # only the evidence archive is left: its next attempt
    if execution.is_terminal:
        return DELIVERY_RETRY  # only events are left to deliver
    if execution.status == ExecutionStatus.PAUSED:
        if execution.gate_deadline is not None:  # an unattended drill's gate: look again when it expires
            return max(1, min(IDLE, execution.gate_deadline - now))
        return IDLE
    return WHILE_PENDING
