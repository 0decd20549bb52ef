"""The embedded default wakes on the simulator's DRS events: the local runner reads them on each
pump and the next wave starts at the event's time, not at the safety poll; delayed, reordered,
duplicated or lost events change nothing but timing. Truth is the simulator's own job list."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestration.bootstrap import build_running_services, event_source
from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.drs.sim.events import LAUNCH_RESULT, EventFaults
from orchestration.engine.local_runner import LocalRunner
from orchestration.engine.timing import MAX_STEP
from orchestration.models import ExecutionStatus, WaveStatus
from orchestration.ports import RecordingNotifier
from tests.drills import start, three_tier_plan

PUMP = 1.0


def embedded(tmp_path: Path, clock: FakeClock) -> tuple[Any, LocalRunner]:
    """As `make run` composes it (`build_running_services`): the runner reads the simulator's events."""
    services = build_running_services(
        Settings.from_env({}, db_path=tmp_path / "drbot.db"),
        notifier=RecordingNotifier(),
        clock=clock,
        start=False,
    )
    assert event_source(services) is services.drs.simulator
    runner = services.driver
    assert isinstance(runner, LocalRunner)
    return services, runner


def drive(services: Any, runner: LocalRunner, clock: FakeClock, execution_id: str, limit: int = 2000) -> int:
    """Pump as the runner's 1 s interval job does, jumping over seconds in which nothing is due and
    no event is delivered (a pump then does nothing). Returns the number of pumps."""
    simulator = services.drs.simulator
    for pumps in range(limit):
        if not services.store.get_execution(execution_id).needs_driving:
            return pumps
        now = clock.now()
        upcoming = list(runner.scheduled().values())
        event_at = simulator.next_event_at(now)
        if event_at is not None:
            upcoming.append(event_at)
        target = max(now + PUMP, min(upcoming, default=now + PUMP))
        clock.set(target)
        runner.run_pending()
    raise AssertionError("the drill did not finish")


def launch_jobs(simulator: Any) -> list[dict[str, Any]]:
    return [j for j in simulator.client("us-east-1").describe_jobs()["items"] if j["type"] == "LAUNCH"]


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def last_launch_result_at(simulator: Any, job_id: str, since: float, until: float) -> float:
    """When the simulated DRS reported the job's last server launch result (the event's time)."""
    times = [
        epoch(e["time"])
        for e in simulator.events_due(since - 3600, until + 3600)
        if e["detail-type"] == LAUNCH_RESULT and e["detail"]["job-id"] == job_id
    ]
    return max(times)


def run_drill(tmp_path: Path, faults: EventFaults | None = None) -> tuple[Any, Any, float]:
    clock = FakeClock()
    services, runner = embedded(tmp_path, clock)
    simulator = services.drs.simulator
    if faults is not None:
        simulator.set_event_faults(faults)
    plan = three_tier_plan(services, simulator)
    began = clock.now()
    execution_id = start(services, plan)
    runner.run(pump=False)
    drive(services, runner, clock, execution_id)
    return services, services.store.get_execution(execution_id), began


def gaps(services: Any, execution: Any, began: float) -> list[float]:
    """Seconds between each wave's last launch result and the next wave's StartRecovery, both as the
    simulator recorded them (the job's creation time in its own job list)."""
    simulator = services.drs.simulator
    simulator.set_event_faults(EventFaults())  # what DRS reported, whatever EventBridge delivered
    created = {j["jobID"]: epoch(j["creationDateTime"]) for j in launch_jobs(simulator)}
    found = []
    for before, after in zip(execution.waves, execution.waves[1:], strict=False):
        reported = last_launch_result_at(simulator, before.job_id, began, services.clock.now())
        found.append(created[after.job_id] - reported)
    return found


def test_a_launch_result_starts_the_next_wave_at_the_events_time(tmp_path: Path) -> None:
    services, execution, began = run_drill(tmp_path)
    assert execution.status == ExecutionStatus.COMPLETED
    assert [w.status for w in execution.waves] == [WaveStatus.COMPLETED] * 3
    assert len(launch_jobs(services.drs.simulator)) == 3
    found = gaps(services, execution, began)
    # the next wave's StartRecovery is made at the pump that read the event: within a second
    assert all(0 <= gap <= PUMP for gap in found), found
    assert execution.woken_by  # the events were what woke it
    services.close()


def test_without_events_the_safety_poll_still_finishes_the_drill(tmp_path: Path) -> None:
    services, execution, began = run_drill(tmp_path, EventFaults(lose_rate=1.0))
    assert execution.status == ExecutionStatus.COMPLETED
    assert len(launch_jobs(services.drs.simulator)) == 3
    assert execution.woken_by == []  # nothing was delivered
    found = gaps(services, execution, began)
    assert all(0 <= gap <= MAX_STEP for gap in found), found
    assert max(found) > PUMP  # the poll, not an event, noticed: the comparison is a real one
    services.close()


@pytest.mark.parametrize(
    "faults",
    [
        EventFaults(delay_seconds=7),
        EventFaults(reorder_seconds=30, seed=3),
        EventFaults(duplicate_rate=1.0, reorder_seconds=5, seed=5),
        EventFaults(lose_rate=0.5, seed=11),
        EventFaults(delay_seconds=2, reorder_seconds=10, duplicate_rate=0.5, lose_rate=0.3, seed=7),
    ],
    ids=["delayed", "reordered", "duplicated", "half-lost", "all-four"],
)
def test_event_faults_change_timing_only(tmp_path: Path, faults: EventFaults) -> None:
    services, execution, began = run_drill(tmp_path, faults)
    assert execution.status == ExecutionStatus.COMPLETED
    assert [w.status for w in execution.waves] == [WaveStatus.COMPLETED] * 3
    jobs = launch_jobs(services.drs.simulator)
    assert len(jobs) == 3  # exactly one LAUNCH job per wave, whatever the events did
    assert {j["jobID"] for j in jobs} == {w.job_id for w in execution.waves}
    assert len(execution.woken_by) == len(set(execution.woken_by))  # a duplicate woke nothing twice
    found = gaps(services, execution, began)
    # late by the fault at most, or by the safety poll when lost
    assert all(0 <= gap <= MAX_STEP for gap in found), found
    if faults.lose_rate == 0:
        assert all(gap <= faults.latest_shift + PUMP for gap in found), found
    services.close()
