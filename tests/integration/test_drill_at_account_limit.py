"""A drill at DRS's account limit: 4,000 source servers in 40 waves of 100, on SQLite and on
DynamoDB (moto), runs to COMPLETED and its cleanup terminates every instance.

Judged from the simulator's own state (every server launched once, none still running), with the
largest item the store wrote measured (`Store.stats`): it must stay under 64 KB, far below
DynamoDB's 400 KB item limit. Slow (minutes): marked `large`, left out of `make test` and run by
`make test-large`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.engine_tick import create_plan, synthetic_inventory
from orchestration.bootstrap import build_services
from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.advance import advance
from orchestration.models import CleanupStatus, ExecutionStatus, ExecutionType, LaunchStatus, WaveStatus
from orchestration.ports import ManualDriver, RecordingNotifier
from orchestration.services.execution_builder import build_execution
from tests.drills import engine_store

pytestmark = pytest.mark.large

WAVES, SERVERS = 40, 4000
MAX_TICKS = 2000
ITEM_BUDGET_BYTES = 64 * 1024


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb"])
def test_a_4000_server_drill_completes_and_cleans_up(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    clock = FakeClock()
    simulator = DrsSimulator(db_path=None, clock=clock, inventory=synthetic_inventory(SERVERS))
    store = engine_store(backend, tmp_path / "large.db", clock, request)
    services = build_services(
        Settings.from_env({}, db_path=tmp_path / "unused.db"),
        clock=clock,
        store=store,
        drs=SimulatedDrsClients(simulator),
        notifier=RecordingNotifier(),
        driver=ManualDriver(),
    )
    try:
        plan = create_plan(services, WAVES, SERVERS)
        execution = build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING)
        execution_id = store.create_execution(execution, "alice").execution_id
        store.stats.reset()
        for _ in range(MAX_TICKS):
            result = advance(services, execution_id)
            if result.done:
                break
            clock.advance(max(1, result.wait_seconds))
        else:
            raise AssertionError(f"not done after {MAX_TICKS} ticks")

        final = store.get_execution(execution_id)
        assert final.status == ExecutionStatus.COMPLETED, final.status_reason
        assert [w.status for w in final.waves] == [WaveStatus.COMPLETED] * WAVES
        assert (
            sum(1 for w in final.waves for s in w.servers if s.launch_status == LaunchStatus.LAUNCHED)
            == SERVERS
        )
        assert final.cleanup is not None and final.cleanup.status == CleanupStatus.COMPLETED
        # the truth: DRS launched each server once and shows none of the drill's instances now
        launches = simulator.launch_counts()
        assert len(launches) == SERVERS and set(launches.values()) == {1}
        assert simulator.running_instances() == []
        largest = store.stats.largest_item_bytes
        print(f"{backend}: largest item written {largest / 1024:.1f} KB")
        assert 0 < largest < ITEM_BUDGET_BYTES
    finally:
        services.close()
