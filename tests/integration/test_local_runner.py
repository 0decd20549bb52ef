"""The local runner drives drills to the end, and a restarted runner finishes what it found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestration.bootstrap import build_services, local_runner
from orchestration.config import Settings
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.advance import advance
from orchestration.engine.local_runner import LocalRunner
from orchestration.models import ExecutionStatus, ExecutionType, WaveStatus
from orchestration.ports import RecordingNotifier
from orchestration.services.execution_builder import build_execution
from orchestration.services.sweep import sweep
from orchestration.services.wake_ups import wake
from tests.drills import three_tier_plan


def embedded(tmp_path: Path, clock: Any, runner: LocalRunner | None = None) -> Any:
    """What `drbot` builds at start-up: SQLite and the simulator on one file, a runner as driver."""
    db = tmp_path / "drbot.db"
    runner = runner or local_runner()
    services = build_services(
        Settings.from_env({}, db_path=db),
        clock=clock,
        drs=SimulatedDrsClients(DrsSimulator(db_path=db, clock=clock)),
        driver=runner,
        notifier=RecordingNotifier(),
    )
    runner.bind(services)
    return services, runner


def drive(runner: LocalRunner, clock: Any, until: Any, limit: int = 500) -> None:
    for _ in range(limit):
        if until():
            return
        runner.run_pending()
        clock.advance(5)
    raise AssertionError("condition never reached")


def test_runner_drives_a_started_drill_to_completion(tmp_path, clock):
    services, runner = embedded(tmp_path, clock)
    simulator = services.drs.simulator
    plan = three_tier_plan(services, simulator)
    execution = build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING)
    execution = services.store.create_execution(execution, "alice")
    runner.run(pump=False)
    services.driver.start(execution)
    assert execution.execution_id in runner.scheduled()
    drive(runner, clock, lambda: not services.store.get_execution(execution.execution_id).needs_driving)
    assert services.store.get_execution(execution.execution_id).status == ExecutionStatus.COMPLETED
    assert runner.scheduled() == {}
    services.close()


def test_restarting_mid_drill_finishes_the_drill(tmp_path, clock):
    services, runner = embedded(tmp_path, clock)
    plan = three_tier_plan(services, services.drs.simulator)
    execution = build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING)
    execution_id = services.store.create_execution(execution, "alice").execution_id
    runner.run(pump=False)
    runner.start(execution)

    def second_wave_launched() -> bool:
        return services.store.get_execution(execution_id).waves[1].status != WaveStatus.PENDING

    drive(runner, clock, second_wave_launched)
    runner.shutdown()
    services.close()  # drbot killed mid-drill

    restarted, new_runner = embedded(tmp_path, clock)
    assert new_runner.run(pump=False) == 1  # picked up from the store
    drive(new_runner, clock, lambda: not restarted.store.get_execution(execution_id).needs_driving)
    final = restarted.store.get_execution(execution_id)
    assert final.status == ExecutionStatus.COMPLETED
    assert [w.status for w in final.waves] == [WaveStatus.COMPLETED] * 3
    launches = [
        j
        for j in restarted.drs.simulator.client("us-east-1").describe_jobs()["items"]
        if j["type"] == "LAUNCH"
    ]
    assert len(launches) == 3  # nothing launched twice across the restart
    restarted.close()


def test_a_failing_tick_is_retried_not_dropped(tmp_path, clock):
    calls = {"n": 0}

    def flaky(services_: Any, execution_id: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database locked")
        return advance(services_, execution_id)

    given = LocalRunner(advance=flaky, wake=wake, sweep=sweep)
    services, runner = embedded(tmp_path, clock, given)
    plan = three_tier_plan(services, services.drs.simulator)
    execution = services.store.create_execution(
        build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING), "alice"
    )
    runner.start(execution)
    runner.run_pending()
    assert runner.scheduled()[execution.execution_id] == clock.now() + 30
    clock.advance(30)
    runner.run_pending()
    assert services.store.get_execution(execution.execution_id).status == ExecutionStatus.RUNNING
    services.close()
