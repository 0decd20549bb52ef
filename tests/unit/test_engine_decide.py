"""`decide` and `wait_seconds`, pure: executions and DRS jobs built by hand, no store, no DRS."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from orchestration.drs.gateway import DrsJob, JobServer, RecoveryInstance
from orchestration.drs.limits import DrsLimits
from orchestration.engine import timing
from orchestration.engine.decide import LEASE_SECONDS, Decision, Observation, decide
from orchestration.models import (
    CleanupRun,
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    GateAction,
    LaunchStatus,
    ServerRun,
    UnattendedGates,
    WaveRun,
    WaveStatus,
)

NOW = 1_767_225_600
LIMITS = DrsLimits()
_W = WaveStatus
_E = ExecutionStatus


def sid(n: int) -> str:
    return f"s-{n:017x}"


def server(n: int, status: LaunchStatus = LaunchStatus.PENDING, instance: bool = False) -> ServerRun:
    return ServerRun(
        source_server_id=sid(n),
        hostname=f"host-{n}",
        launch_status=status,
        recovery_instance_id=f"i-{n:017x}" if instance else None,
    )


def wave(
    number: int,
    status: WaveStatus = _W.PENDING,
    *,
    after: Sequence[int] = (),
    job: str | None = None,
    servers: Sequence[ServerRun] = (),
    pause: bool = False,
    claimed_at: int | None = None,
) -> WaveRun:
    return WaveRun(
        wave_number=number,
        wave_name=f"W{number}",
        status=status,
        depends_on_waves=list(after),
        job_id=job,
        servers=list(servers),
        pause_before=pause,
        claimed_at=claimed_at,
        start_time=None if status == _W.PENDING else NOW - 100,
    )


def execution(
    *waves: WaveRun,
    status: ExecutionStatus = _E.RUNNING,
    kind: ExecutionType = ExecutionType.DRILL,
    cleanup_after_minutes: int | None = None,
    gates_passed: Sequence[int] = (),
    cleanup: CleanupRun | None = None,
) -> Execution:
    return Execution(
        plan_id="plan-1",
        plan_name="DR",
        execution_type=kind,
        status=status,
        initiated_by="alice",
        requested_at=NOW - 1000,
        start_time=NOW - 900,
        waves=list(waves),
        cleanup_after_minutes=cleanup_after_minutes,
        gates_passed=list(gates_passed),
        cleanup=cleanup,
    )


def job(job_id: str, status: str, servers: dict[int, str], kind: str = "LAUNCH") -> DrsJob:
    """A DRS job; `servers` maps server number → launchStatus (LAUNCHED ones get an instance)."""
    return DrsJob(
        job_id=job_id,
        status=status,
        type=kind,
        servers=[
            JobServer(sid(n), launch, f"i-{n:017x}" if launch == "LAUNCHED" else None)
            for n, launch in servers.items()
        ],
    )


def observe(*jobs: DrsJob, instances: Sequence[RecoveryInstance] = ()) -> Observation:
    return Observation(
        jobs={j.job_id: j for j in jobs}, instances={i.recovery_instance_id: i for i in instances}
    )


def statuses(decision: Decision) -> list[WaveStatus]:
    return [w.status for w in decision.execution.waves]


def event_types(decision: Decision) -> list[EventType]:
    return [e.type for e in decision.execution.events]


def in_flight_wave(number: int, servers: Sequence[int], after: Sequence[int] = ()) -> WaveRun:
    return wave(number, _W.STARTED, after=after, job=f"job-{number}", servers=[server(n) for n in servers])


def completed_wave(number: int, servers: Sequence[int], after: Sequence[int] = ()) -> WaveRun:
    done = [server(n, LaunchStatus.LAUNCHED, instance=True) for n in servers]
    return wave(number, _W.COMPLETED, after=after, job=f"job-{number}", servers=done)


# -- the DAG -----------------------------------------------------------------------------------------


def test_independent_waves_are_claimed_together_and_a_joined_wave_waits() -> None:
    start = execution(wave(1), wave(2), wave(3, after=[1, 2]))
    decision = decide(start, observe(), NOW, LIMITS)
    assert decision.launch == (1, 2)
    assert statuses(decision) == [_W.INITIATED, _W.INITIATED, _W.PENDING]
    assert [w.claimed_at for w in decision.execution.waves] == [NOW, NOW, None]
    assert decision.recover == () and decision.terminate is False


def test_a_wave_launches_only_once_all_its_dependencies_completed() -> None:
    one_running = execution(completed_wave(1, [1]), in_flight_wave(2, [2]), wave(3, after=[1, 2]))
    assert decide(one_running, observe(job("job-2", "STARTED", {2: "IN_PROGRESS"})), NOW, LIMITS).launch == ()
    # the observed job completing wave 2 in this very tick releases wave 3 in the same tick
    decision = decide(one_running, observe(job("job-2", "COMPLETED", {2: "LAUNCHED"})), NOW, LIMITS)
    assert statuses(decision) == [_W.COMPLETED, _W.COMPLETED, _W.INITIATED]
    assert decision.launch == (3,)


def test_a_chain_runs_one_wave_at_a_time() -> None:
    start = execution(wave(1), wave(2, after=[1]), wave(3, after=[2]))
    assert decide(start, observe(), NOW, LIMITS).launch == (1,)


def test_the_concurrent_job_limit_caps_what_is_claimed() -> None:
    limits = DrsLimits(max_concurrent_jobs=2)
    start = execution(*(wave(n) for n in range(1, 6)))
    assert decide(start, observe(), NOW, limits).launch == (1, 2)
    busy = execution(in_flight_wave(1, [1]), *(wave(n) for n in range(2, 6)))
    decision = decide(busy, observe(job("job-1", "STARTED", {1: "IN_PROGRESS"})), NOW, limits)
    assert decision.launch == (2,)
    full = execution(in_flight_wave(1, [1]), in_flight_wave(2, [2]), wave(3))
    assert decide(full, observe(), NOW, limits).launch == ()


# -- folding DRS jobs into waves ---------------------------------------------------------------------


def test_a_started_job_moves_the_wave_and_reports_progress() -> None:
    start = execution(wave(1, _W.LAUNCHING, job="job-1", servers=[server(1), server(2)]))
    instance = RecoveryInstance(f"i-{1:017x}", "i-0abc", sid(1), True, "job-1", "RUNNING", NOW - 30)
    decision = decide(
        start,
        observe(job("job-1", "STARTED", {1: "LAUNCHED", 2: "IN_PROGRESS"}), instances=[instance]),
        NOW,
        LIMITS,
    )
    first = decision.execution.waves[0]
    assert first.status == _W.STARTED
    assert [s.launch_status for s in first.servers] == [LaunchStatus.LAUNCHED, LaunchStatus.IN_PROGRESS]
    assert (first.servers[0].instance_id, first.servers[0].snapshot_time) == ("i-0abc", NOW - 30)
    assert first.servers[0].launched_at == NOW
    assert event_types(decision) == [EventType.WAVE_PROGRESS]
    # the same observation again adds nothing
    again = decide(
        decision.execution, observe(job("job-1", "STARTED", {1: "LAUNCHED", 2: "IN_PROGRESS"})), NOW, LIMITS
    )
    assert event_types(again) == [EventType.WAVE_PROGRESS]


def test_an_unobserved_job_leaves_its_wave_as_it_was() -> None:
    start = execution(in_flight_wave(1, [1]), wave(2, after=[1]))
    decision = decide(start, observe(), NOW, LIMITS)
    assert decision.execution == start
    assert decision.launch == ()


# -- pause ------------------------------------------------------------------------------------------


def test_a_pause_before_gate_pauses_instead_of_launching() -> None:
    start = execution(completed_wave(1, [1]), wave(2, after=[1], pause=True))
    decision = decide(start, observe(), NOW, LIMITS)
    assert decision.launch == ()
    assert decision.execution.status == _E.PAUSED
    assert decision.execution.gate_wave == 2
    paused = decision.execution.events[-1]
    assert (paused.type, paused.wave_number, paused.details) == (EventType.PAUSED, 2, {"gate": True})
    assert statuses(decision) == [_W.COMPLETED, _W.PENDING]


def test_a_passed_gate_launches_its_wave() -> None:
    start = execution(completed_wave(1, [1]), wave(2, after=[1], pause=True), gates_passed=[2])
    decision = decide(start, observe(), NOW, LIMITS)
    assert decision.launch == (2,)
    assert decision.execution.status == _E.RUNNING


def test_waves_ready_before_a_gate_launch_first_and_the_gate_pauses_on_the_next_tick() -> None:
    start = execution(wave(1), wave(2, pause=True))
    first = decide(start, observe(), NOW, LIMITS)
    assert first.launch == (1,)
    assert first.execution.status == _E.RUNNING
    second = decide(first.execution, observe(), NOW + 10, LIMITS)
    assert second.launch == ()
    assert second.execution.status == _E.PAUSED and second.execution.gate_wave == 2
    assert statuses(second) == [_W.INITIATED, _W.PENDING]  # wave 1 keeps going while paused


def test_a_paused_execution_launches_nothing_but_keeps_observing() -> None:
    start = execution(in_flight_wave(1, [1]), wave(2), wave(3, after=[1]), status=_E.PAUSED)
    decision = decide(start, observe(job("job-1", "COMPLETED", {1: "LAUNCHED"})), NOW, LIMITS)
    assert decision.launch == ()
    assert statuses(decision) == [_W.COMPLETED, _W.PENDING, _W.PENDING]
    assert decision.execution.status == _E.PAUSED


def test_a_paused_execution_whose_last_wave_completes_stays_paused_until_resumed() -> None:
    """Regression: this used to raise InvalidTransition (PAUSED → COMPLETED) on every tick."""
    start = execution(completed_wave(1, [1]), in_flight_wave(2, [2], after=[1]), status=_E.PAUSED)
    decision = decide(start, observe(job("job-2", "COMPLETED", {2: "LAUNCHED"})), NOW, LIMITS)
    assert statuses(decision) == [_W.COMPLETED, _W.COMPLETED]
    assert decision.execution.status == _E.PAUSED
    assert decision.execution.cleanup is None and decision.terminate is False
    resumed = decision.execution.with_status(_E.RUNNING, NOW + 60)
    ended = decide(resumed, observe(), NOW + 60, LIMITS)
    assert ended.execution.status == _E.COMPLETED
    assert ended.terminate is True


# -- failure and cancel ------------------------------------------------------------------------------


def test_a_failed_server_fails_its_wave_skips_the_rest_and_fails_only_once_nothing_is_in_flight() -> None:
    start = execution(
        in_flight_wave(1, [1, 2]),
        in_flight_wave(2, [3]),
        wave(3, after=[1, 2]),
        wave(4, after=[3]),
    )
    failing = observe(
        job("job-1", "COMPLETED", {1: "LAUNCHED", 2: "FAILED"}), job("job-2", "STARTED", {3: "IN_PROGRESS"})
    )
    first = decide(start, failing, NOW, LIMITS)
    assert statuses(first) == [_W.FAILED, _W.STARTED, _W.SKIPPED, _W.SKIPPED]
    assert first.execution.status == _E.RUNNING  # wave 2 is still in flight
    assert first.launch == ()
    assert "host-2" in (first.execution.waves[0].error or "")
    assert event_types(first) == [EventType.WAVE_FAILED, EventType.WAVE_SKIPPED, EventType.WAVE_SKIPPED]

    second = decide(first.execution, observe(job("job-2", "COMPLETED", {3: "LAUNCHED"})), NOW + 20, LIMITS)
    assert second.execution.status == _E.FAILED
    assert statuses(second) == [_W.FAILED, _W.COMPLETED, _W.SKIPPED, _W.SKIPPED]
    assert event_types(second)[-2:] == [EventType.WAVE_COMPLETED, EventType.FAILED]
    # the drill's launched instances are cleaned up anyway: server 1 and server 3
    cleanup = second.execution.cleanup
    assert cleanup is not None and cleanup.instances == 2
    assert sorted(second.execution.launched_instance_ids) == [f"i-{1:017x}", f"i-{3:017x}"]
    assert second.terminate is True


def test_cancel_closes_pending_waves_and_ends_only_after_in_flight_waves_end() -> None:
    start = execution(in_flight_wave(1, [1]), wave(2, after=[1]), wave(3), status=_E.CANCELLING)
    first = decide(start, observe(job("job-1", "STARTED", {1: "IN_PROGRESS"})), NOW, LIMITS)
    assert statuses(first) == [_W.STARTED, _W.CANCELLED, _W.CANCELLED]
    assert first.execution.status == _E.CANCELLING
    assert first.launch == ()
    second = decide(first.execution, observe(job("job-1", "COMPLETED", {1: "LAUNCHED"})), NOW + 20, LIMITS)
    assert second.execution.status == _E.CANCELLED
    assert event_types(second).count(EventType.WAVE_CANCELLED) == 2
    assert event_types(second)[-1] == EventType.CANCELLED
    assert second.terminate is True  # what wave 1 launched is terminated


# -- cleanup ----------------------------------------------------------------------------------------


def last_wave_completing(
    kind: ExecutionType = ExecutionType.DRILL, cleanup_after_minutes: int | None = None
) -> tuple[Execution, Observation]:
    """A 2-wave execution whose last wave's job is observed COMPLETED, every server launched."""
    start = execution(
        completed_wave(1, [1]),
        in_flight_wave(2, [2], after=[1]),
        kind=kind,
        cleanup_after_minutes=cleanup_after_minutes,
    )
    return start, observe(job("job-2", "COMPLETED", {2: "LAUNCHED"}))


def test_a_drill_claims_its_cleanup_as_soon_as_it_completes() -> None:
    start, seen = last_wave_completing()
    decision = decide(start, seen, NOW, LIMITS)
    assert decision.execution.status == _E.COMPLETED
    cleanup = decision.execution.cleanup
    assert cleanup is not None
    assert (cleanup.status, cleanup.due_at, cleanup.claimed_at) == (CleanupStatus.TERMINATING, NOW, NOW)
    assert cleanup.instances == 2 and cleanup.started_at == NOW
    assert decision.terminate is True
    assert EventType.CLEANUP_SCHEDULED not in event_types(decision)


def test_cleanup_after_minutes_schedules_it_and_claims_it_when_due() -> None:
    start, seen = last_wave_completing(cleanup_after_minutes=30)
    decision = decide(start, seen, NOW, LIMITS)
    cleanup = decision.execution.cleanup
    assert cleanup is not None and (cleanup.status, cleanup.due_at) == (CleanupStatus.SCHEDULED, NOW + 1800)
    assert decision.terminate is False
    assert event_types(decision)[-1] == EventType.CLEANUP_SCHEDULED
    early = decide(decision.execution, observe(), NOW + 1799, LIMITS)
    assert early.terminate is False and early.execution.cleanup == cleanup
    due = decide(decision.execution, observe(), NOW + 1800, LIMITS)
    assert due.terminate is True
    assert due.execution.cleanup is not None and due.execution.cleanup.status == CleanupStatus.TERMINATING


def test_a_recovery_keeps_its_instances() -> None:
    start, seen = last_wave_completing(kind=ExecutionType.RECOVERY)
    decision = decide(start, seen, NOW, LIMITS)
    assert decision.execution.status == _E.COMPLETED
    assert decision.execution.cleanup is None and decision.terminate is False


def test_a_drill_whose_jobs_launched_nothing_still_looks_once() -> None:
    """DRS, not the record, says nothing is left: a drill that had a job gets one look."""
    start = execution(in_flight_wave(1, [1]), wave(2, after=[1]))
    decision = decide(start, observe(job("job-1", "COMPLETED", {1: "FAILED"})), NOW, LIMITS)
    assert decision.execution.status == _E.FAILED
    cleanup = decision.execution.cleanup
    assert cleanup is not None and (cleanup.status, cleanup.instances) == (CleanupStatus.TERMINATING, 0)
    assert decision.terminate is True


def test_a_drill_that_never_reached_drs_needs_no_cleanup() -> None:
    start = execution(wave(1, _W.INITIATED, claimed_at=NOW), wave(2, after=[1]), status=_E.CANCELLING)
    start = start.replace_wave(start.wave(1).with_status(_W.CANCELLED, NOW))
    decision = decide(start, observe(), NOW, LIMITS)
    assert decision.execution.status == _E.CANCELLED
    assert decision.execution.cleanup is not None
    assert decision.execution.cleanup.status == CleanupStatus.NOT_NEEDED
    assert decision.terminate is False


def looking(claimed_at: int | None, due_at: int) -> Execution:
    cleanup = CleanupRun(
        status=CleanupStatus.TERMINATING,
        due_at=due_at,
        claimed_at=claimed_at,
        started_at=NOW - 600,
        instances=2,
    )
    return execution(completed_wave(1, [1, 2]), status=_E.COMPLETED, cleanup=cleanup)


def test_the_next_look_of_a_cleanup_is_claimed_when_due() -> None:
    """Each look is claimed by one tick; advance looks at DRS and sets when the next one is due."""
    early = looking(None, NOW + 10)
    waiting = decide(early, observe(), NOW, LIMITS)
    assert waiting.terminate is False and waiting.execution is early  # nothing changed: nothing to write
    due = decide(looking(None, NOW), observe(), NOW, LIMITS)
    cleanup = due.execution.cleanup
    assert due.terminate is True and cleanup is not None
    assert (cleanup.status, cleanup.claimed_at, cleanup.started_at) == (
        CleanupStatus.TERMINATING,
        NOW,
        NOW - 600,
    )
    assert event_types(due) == []


def test_a_look_whose_tick_died_is_claimed_again_after_its_lease() -> None:
    stuck = looking(NOW - LEASE_SECONDS, NOW - LEASE_SECONDS)
    assert decide(stuck, observe(), NOW, LIMITS).terminate is True
    fresh = looking(NOW - 5, NOW - 5)
    assert decide(fresh, observe(), NOW, LIMITS).terminate is False


# -- leases ------------------------------------------------------------------------------------------


def test_a_launch_claim_whose_lease_ran_out_is_recovered() -> None:
    stuck = execution(wave(1, _W.INITIATED, claimed_at=NOW - LEASE_SECONDS), wave(2, after=[1]))
    decision = decide(stuck, observe(), NOW, LIMITS)
    assert decision.recover == (1,) and decision.launch == ()
    assert decision.execution.waves[0].claimed_at == NOW  # the lease is renewed for this tick
    fresh = execution(wave(1, _W.INITIATED, claimed_at=NOW - LEASE_SECONDS + 1), wave(2, after=[1]))
    assert decide(fresh, observe(), NOW, LIMITS).recover == ()
    recorded = execution(wave(1, _W.INITIATED, job="job-1", claimed_at=NOW - 10 * LEASE_SECONDS))
    assert decide(recorded, observe(), NOW, LIMITS).recover == ()


@pytest.mark.parametrize("status", [_E.PAUSED, _E.CANCELLING])
def test_a_dead_claim_is_recovered_while_paused_or_cancelling(status: ExecutionStatus) -> None:
    """A claim may have launched a job before it died: advance must look for it whatever happened
    since (advance, not decide, must then refuse to launch anew while CANCELLING)."""
    stuck = execution(wave(1, _W.INITIATED, claimed_at=NOW - LEASE_SECONDS), status=status)
    decision = decide(stuck, observe(), NOW, LIMITS)
    assert decision.recover == (1,)
    assert decision.execution.status == status  # the claim counts as in flight


def test_decide_does_not_touch_its_input() -> None:
    start = execution(wave(1), wave(2, after=[1]))
    snapshot = start.model_copy(deep=True)
    decide(start, observe(), NOW, LIMITS)
    assert start == snapshot


# -- wait_seconds ------------------------------------------------------------------------------------


def test_wait_seconds_choices() -> None:
    wait = timing.wait_seconds
    ended = execution(completed_wave(1, [1]), status=_E.COMPLETED).model_copy(
        update={"cleanup": CleanupRun(status=CleanupStatus.COMPLETED, due_at=NOW)}
    )
    assert wait(ended, NOW, False) == 0  # nothing left to drive
    undelivered = ended.with_event(EventType.COMPLETED, NOW, "done")
    assert wait(undelivered, NOW, False) == timing.DELIVERY_RETRY

    running = execution(wave(1), wave(2, after=[1]))
    assert wait(running, NOW, True) == timing.AFTER_LAUNCH
    assert wait(running, NOW, False) == timing.WHILE_PENDING
    claimed = execution(wave(1, _W.INITIATED, claimed_at=NOW))
    assert wait(claimed, NOW, False) == timing.WHILE_PENDING
    booting = execution(in_flight_wave(1, [1]))  # claimed 100 s ago: looked at 10, 30, 70, 150 s in
    assert wait(booting, NOW, False) == 50
    launching_and_booting = execution(in_flight_wave(1, [1]), wave(2, _W.LAUNCHING, job="job-2"))
    assert wait(launching_and_booting, NOW, False) == 50
    lost_answer = execution(in_flight_wave(1, [1]), wave(2, _W.LAUNCHING))  # no job id: reconcile soon
    assert wait(lost_answer, NOW, False) == timing.WHILE_PENDING

    assert wait(running.model_copy(update={"transient_errors": 1}), NOW, False) == 10
    assert wait(running.model_copy(update={"transient_errors": 3}), NOW, False) == 40
    assert wait(running.model_copy(update={"transient_errors": 50}), NOW, False) == timing.MAX_BACKOFF

    approval = execution(wave(1), status=_E.PENDING_APPROVAL)
    assert wait(approval.model_copy(update={"expires_at": NOW + 25}), NOW, False) == 25
    assert wait(approval.model_copy(update={"expires_at": NOW + 3600}), NOW, False) == timing.IDLE
    assert wait(approval.model_copy(update={"expires_at": NOW - 5}), NOW, False) == 1

    assert wait(looking(None, NOW + 15), NOW, False) == 15  # the next look of the cleanup
    assert wait(looking(NOW - 20, NOW - 20), NOW, False) == timing.LEASE_SECONDS - 20  # a look in progress
    scheduled = ended.model_copy(update={"cleanup": CleanupRun(due_at=NOW + 100)})
    assert wait(scheduled, NOW, False) == 100
    far = ended.model_copy(update={"cleanup": CleanupRun(due_at=NOW + 86_400)})
    assert wait(far, NOW, False) == 86_400  # a --cleanup-after delay is waited out in one wait
    week = ended.model_copy(update={"cleanup": CleanupRun(due_at=NOW + 7 * 86_400)})
    assert wait(week, NOW, False) == 7 * 86_400 > timing.MAX_WAIT
    overdue = ended.model_copy(update={"cleanup": CleanupRun(due_at=NOW - 100)})
    assert wait(overdue, NOW, False) == 1

    paused = execution(completed_wave(1, [1]), wave(2, after=[1]), status=_E.PAUSED)
    assert wait(paused, NOW, False) == timing.IDLE
    paused_in_flight = execution(in_flight_wave(1, [1]), status=_E.PAUSED)
    assert wait(paused_in_flight, NOW, False) == 50  # what is in flight is still looked at


def test_a_wave_in_flight_is_next_looked_at_when_the_runs_earlier_jobs_say_it_should_be_done() -> None:
    """Once a launch job of the run has completed, the next look at a wave in flight comes when a
    job that long would have ended (plus a margin), not every few seconds."""
    first = completed_wave(1, [1]).model_copy(update={"job_seconds": 40})
    second = in_flight_wave(2, [2], after=[1]).model_copy(update={"start_time": NOW - 5})
    running = execution(first, second)
    wait = timing.wait_seconds
    assert wait(running, NOW, False) == 40 + timing.EXPECTED_MARGIN - 5  # its expected end
    # a wave expected to take minutes gets a look for an immediate failure first
    slower = running.replace_wave(first.model_copy(update={"job_seconds": 400}))
    assert wait(slower, NOW, False) == timing.AFTER_LAUNCH - 5
    assert wait(slower, NOW + 5, False) == 400 + timing.EXPECTED_MARGIN - 10
    # a wave taking longer than expected is looked at 15 s, then 30 s ... after its expected end
    late = running.replace_wave(second.model_copy(update={"start_time": NOW - 60}))
    assert wait(late, NOW, False) == (40 + timing.EXPECTED_MARGIN + 15 + 30) - 60
    # a DRS job records its own duration when the wave completes
    ended = dataclasses.replace(
        job("job-1", "COMPLETED", {1: "LAUNCHED"}), created_at=NOW - 33, ended_at=NOW - 3
    )
    decided = decide(
        execution(wave(1, _W.STARTED, job="job-1", servers=[server(1)])), observe(ended), NOW, LIMITS
    )
    assert decided.execution.waves[0].job_seconds == 30


def _looks(start: Execution, wave_number: int, until: int) -> list[int]:
    """The looks at a wave in flight, without events, as seconds since its claim: follow each
    returned wait as the state machine does, up to `until` seconds."""
    claimed = start.waves[wave_number - 1].start_time
    assert claimed is not None
    offsets: list[int] = []
    now = claimed
    while now - claimed < until:
        waited = timing.wait_seconds(start, now, launched=now == claimed)
        assert isinstance(waited, int) and waited >= 1  # Step Functions waits whole seconds, at least 1
        now += waited
        offsets.append(now - claimed)
    return offsets


def test_a_first_wave_is_looked_at_soon_then_ever_less_often() -> None:
    """Nothing to go by yet: a look 10 s after StartRecovery (a job that fails at once), then gaps
    doubling from 20 s, at most 2 minutes: a 20 s launch is seen by 30 s, a 15-minute one by 990 s
    with 11 looks."""
    first = in_flight_wave(1, [1]).model_copy(update={"start_time": NOW})
    assert _looks(execution(first), 1, 900) == [10, 30, 70, 150, 270, 390, 510, 630, 750, 870, 990]


def test_a_later_wave_is_looked_at_when_the_earlier_ones_say_then_backing_off() -> None:
    done = completed_wave(1, [1]).model_copy(update={"job_seconds": 900})
    second = in_flight_wave(2, [2], after=[1]).model_copy(update={"start_time": NOW})
    expected = 900 + timing.EXPECTED_MARGIN
    assert _looks(execution(done, second), 2, 1300) == [
        10,
        expected,
        expected + 15,
        expected + 45,
        expected + 105,
        expected + 225,
        expected + 345,
        expected + 465,
    ]


def test_the_next_look_depends_only_on_the_execution_and_now() -> None:
    """A look the schedule did not ask for (an event woke the execution, a retried task) moves
    nothing: the next look is still the schedule's next point."""
    first = execution(in_flight_wave(1, [1]).model_copy(update={"start_time": NOW}))
    assert timing.wait_seconds(first, NOW + 400, False) == 510 - 400
    assert timing.wait_seconds(first, NOW + 509, False) == 1
    assert timing.wait_seconds(first, NOW + 510, False) == 120  # exactly on a point: the next one
    # two launches in flight: the earlier of their looks
    other = in_flight_wave(2, [2]).model_copy(update={"start_time": NOW + 300})
    both = execution(first.waves[0], other)
    assert timing.wait_seconds(both, NOW + 305, False) == 5  # wave 2's first look, 10 s in
    assert timing.wait_seconds(both, NOW + 310, False) == 20  # wave 2's next (330), before wave 1's 390
    # a claim still without a job (its lease) comes first
    claimed = first.model_copy(
        update={"waves": [first.waves[0], wave(2, _W.INITIATED, claimed_at=NOW + 400)]}
    )
    assert timing.wait_seconds(claimed, NOW + 400, False) == timing.WHILE_PENDING
    # a wave launched this tick follows its schedule: no early look when its expected end is near
    done = completed_wave(1, [1]).model_copy(update={"job_seconds": 30})
    just_launched = in_flight_wave(2, [2], after=[1]).model_copy(update={"start_time": NOW})
    assert timing.wait_seconds(execution(done, just_launched), NOW, True) == 30 + timing.EXPECTED_MARGIN


def test_a_cleanups_looks_back_off() -> None:
    assert [timing.cleanup_look_after(r) for r in range(1, 9)] == [15, 30, 60, 120, 120, 120, 120, 120]
    assert timing.cleanup_look_after(0) == 15


def test_no_wait_is_longer_than_an_hour() -> None:
    done = completed_wave(1, [1]).model_copy(update={"job_seconds": 3 * 3600})
    slow = in_flight_wave(2, [2], after=[1]).model_copy(update={"start_time": NOW - 10})
    assert timing.wait_seconds(execution(done, slow), NOW, False) == timing.MAX_WAIT


# -- an unattended drill's gates (a schedule's atGate) ----------------------------------------------


def test_an_unattended_drill_that_passes_gates_launches_the_gated_wave() -> None:
    start = execution(completed_wave(1, [1]), wave(2, after=[1], pause=True)).model_copy(
        update={"at_gate": UnattendedGates(action=GateAction.PASS)}
    )
    decision = decide(start, observe(), NOW, LIMITS)
    assert decision.launch == (2,)
    assert decision.execution.status == _E.RUNNING
    assert decision.execution.gates_passed == [2]
    passed = decision.execution.events[-1]
    assert (passed.type, passed.wave_number) == (EventType.RESUMED, 2)
    assert passed.details == {"gateWave": 2, "unattended": True}


def test_an_unattended_drill_that_waits_is_cancelled_when_nobody_resumes_in_time() -> None:
    start = execution(completed_wave(1, [1]), wave(2, after=[1], pause=True)).model_copy(
        update={"at_gate": UnattendedGates(action=GateAction.WAIT, wait_minutes=30)}
    )
    paused = decide(start, observe(), NOW, LIMITS).execution
    assert (paused.status, paused.gate_wave, paused.gate_deadline) == (_E.PAUSED, 2, NOW + 1800)
    assert "within 30 min" in paused.events[-1].message
    assert timing.wait_seconds(paused, NOW, launched=False) == timing.IDLE
    assert timing.wait_seconds(paused, NOW + 1790, launched=False) == 10  # looked at when it expires

    still = decide(paused, observe(), NOW + 1799, LIMITS)
    assert still.execution.status == _E.PAUSED

    expired = decide(paused, observe(), NOW + 1800, LIMITS).execution
    assert expired.status == _E.CANCELLED
    assert (expired.gate_wave, expired.gate_deadline) == (None, None)  # no gate hint on a cancelled run
    assert [e.type for e in expired.events[-3:]] == [
        EventType.CANCEL_REQUESTED,
        EventType.WAVE_CANCELLED,
        EventType.CANCELLED,
    ]
    assert "Nobody resumed this unattended drill at the gate before wave 2 (W2) within 30 min" in (
        expired.events[-3].message
    )
    assert statuses(Decision(expired)) == [_W.COMPLETED, _W.CANCELLED]
    assert expired.cleanup is not None  # a cancelled drill's instances are cleaned up


def test_a_resumed_or_cancelled_run_is_no_longer_held_at_its_gate() -> None:
    paused = decide(execution(completed_wave(1, [1]), wave(2, after=[1], pause=True)), observe(), NOW, LIMITS)
    held = paused.execution
    assert held.gate_wave == 2
    assert held.with_status(_E.CANCELLING, NOW + 5).gate_wave is None
    assert held.with_status(_E.RUNNING, NOW + 5).gate_wave is None


def test_unattended_gates_need_minutes_with_wait_and_only_with_it() -> None:
    with pytest.raises(ValueError, match="waitMinutes goes with action 'wait'"):
        UnattendedGates(action=GateAction.WAIT)
    with pytest.raises(ValueError, match="waitMinutes goes with action 'wait'"):
        UnattendedGates(action=GateAction.PASS, wait_minutes=5)
