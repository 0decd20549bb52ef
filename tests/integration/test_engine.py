"""The engine on the DRS simulator, time moved by the fake clock: whole drills, tick by tick."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.engine.advance import advance
from orchestration.models import (
    CleanupStatus,
    EventType,
    ExecutionStatus,
    LaunchStatus,
    WaveStatus,
)
from orchestration.ports import RecordingNotifier
from tests.drills import THREE_TIERS, make_plan, run_until_done, start, three_tier_plan

pytestmark = pytest.mark.every_store  # whole drills, tick by tick, on each store


@pytest.fixture
def engine(services: Any) -> Any:
    services.notifier = RecordingNotifier()
    return services


def test_three_wave_drill_completes_and_cleans_up(engine, clock, simulator):
    plan = three_tier_plan(engine, simulator)
    execution_id = start(engine, plan)
    result = run_until_done(engine, clock, execution_id)
    execution = engine.store.get_execution(execution_id)
    assert (result.done, execution.status) == (True, ExecutionStatus.COMPLETED)
    assert [w.status for w in execution.waves] == [WaveStatus.COMPLETED] * 3
    assert [len(w.servers) for w in execution.waves] == [2, 2, 3]
    # waves ran in order: each started after the previous one completed
    for before, after in zip(execution.waves, execution.waves[1:], strict=False):
        assert after.start_time >= before.end_time
    for server in (s for w in execution.waves for s in w.servers):
        assert server.launch_status == LaunchStatus.LAUNCHED
        assert server.instance_id and server.instance_id.startswith("i-")
        assert server.snapshot_time is not None
    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED
    assert simulator.client("us-east-1").describe_recovery_instances()["items"] == []
    types = [e.type for e in engine.notifier.events(execution_id)]
    assert types[0] == EventType.STARTED
    assert types.count(EventType.WAVE_LAUNCHED) == 3
    assert types.count(EventType.WAVE_COMPLETED) == 3
    assert EventType.COMPLETED in types and types[-1] == EventType.CLEANUP_COMPLETED
    assert [e.seq for e in engine.notifier.events(execution_id)] == list(range(1, len(execution.events) + 1))
    # one DRS job per wave
    jobs = simulator.client("us-east-1").describe_jobs()["items"]
    launches = [j for j in jobs if j["type"] == "LAUNCH"]
    assert len(launches) == 3


def test_failing_server_fails_its_wave_and_skips_the_rest(engine, clock, simulator):
    plan = three_tier_plan(engine, simulator)
    simulator.fail_servers(["app-orders-02"])
    execution_id = start(engine, plan)
    run_until_done(engine, clock, execution_id)
    execution = engine.store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.FAILED
    assert [w.status for w in execution.waves] == [
        WaveStatus.COMPLETED,
        WaveStatus.FAILED,
        WaveStatus.SKIPPED,
    ]
    assert "app-orders-02" in (execution.waves[1].error or "")
    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED


def test_pause_before_gate_then_resume(engine, clock, simulator):
    plan = three_tier_plan(engine, simulator, w3={"pause": True})
    execution_id = start(engine, plan)
    result = run_until_done(engine, clock, execution_id)
    assert result.paused and result.status == ExecutionStatus.PAUSED
    execution = engine.store.get_execution(execution_id)
    assert execution.gate_wave == 3
    assert execution.waves[2].status == WaveStatus.PENDING
    resumed = execution.with_status(ExecutionStatus.RUNNING, int(clock.now())).model_copy(
        update={"gates_passed": [3], "gate_wave": None}
    )
    engine.store.update_execution(resumed, "bob")
    result = run_until_done(engine, clock, execution_id)
    assert engine.store.get_execution(execution_id).status == ExecutionStatus.COMPLETED


def test_parallel_waves_run_at_once(engine, clock, simulator):
    groups = dict(THREE_TIERS)
    groups["DB"] = {"sourceServerIds": [simulator.server_id("db-primary-01")]}
    waves = [
        {"name": "Database", "group": "DB"},
        {"name": "App", "group": "App", "after": []},
        {"name": "Web", "group": "Web", "after": [1, 2]},
    ]
    plan = make_plan(engine, waves, groups)
    execution_id = start(engine, plan)
    advance(engine, execution_id)
    execution = engine.store.get_execution(execution_id)
    assert [w.status for w in execution.waves] == [
        WaveStatus.LAUNCHING,
        WaveStatus.LAUNCHING,
        WaveStatus.PENDING,
    ]
    run_until_done(engine, clock, execution_id)
    assert engine.store.get_execution(execution_id).status == ExecutionStatus.COMPLETED


class _ExecutionWritingNotifier(RecordingNotifier):
    """Records events and saves the execution while it delivers them (a new version, as when
    someone else saves it meanwhile)."""

    def __init__(self, services: Any) -> None:
        super().__init__()
        self.services = services

    def deliver(self, execution, events):
        super().deliver(execution, events)
        store = self.services.store
        store.update_execution(store.get_execution(execution.execution_id), "notifier")


def test_a_notifier_writing_the_execution_does_not_stop_the_delivery_cursor(services, clock, simulator):
    plan = three_tier_plan(services, simulator)
    execution_id = start(services, plan)
    services.notifier = _ExecutionWritingNotifier(services)
    before = services.store.get_execution(execution_id).version
    advance(services, execution_id)
    execution = services.store.get_execution(execution_id)
    assert execution.events and execution.notified_through == execution.events[-1].seq
    writes = [a for a in services.store.list_audit(f"execution:{execution_id}") if a.actor == "notifier"]
    assert writes and execution.version > before + len(writes)
