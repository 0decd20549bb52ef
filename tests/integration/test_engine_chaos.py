"""Drills under DRS's faults end clean: nothing launched twice, nothing left running.

Seeded drills of the three-tier plan (7 servers in 3 waves) run one after another under 30 %
throttling, 30 % lost StartRecovery/TerminateRecoveryInstances responses (DRS acts, the caller sees
a read timeout), both together, and with throttling already on when the run is requested. The
truth is the simulator's own state, never drbot's record:

- no source server is in two LAUNCH jobs of one drill, and each wave has exactly one LAUNCH job;
- every LAUNCH job tagged with the drill is the job its wave recorded (no orphan);
- once drbot says the cleanup COMPLETED, DRS shows none of the drill's instances running;
- every drill ends COMPLETED (no server was made to fail), with each server LAUNCHED.

The engine sees the faults directly: its gateways make one attempt per call here (`attempts=1`),
where the embedded default retries within the call first, as botocore does on AWS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.bootstrap import build_services
from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.context import Services
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.advance import TAG_EXECUTION, advance
from orchestration.models import CleanupStatus, ExecutionStatus, LaunchStatus, WaveStatus
from orchestration.ports import ManualDriver, RecordingNotifier
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.start_request import StartExecution
from tests.drills import engine_store, start, three_tier_plan

pytestmark = pytest.mark.slow

MAX_TICKS = 3000
FAULT_RATE = 0.3
DRILLS = {"sqlite": 3, "dynamodb": 2}  # per test in `make test`; moto is slower; seeds differ per drill
DRILLS_ALL_STORES = {"sqlite": 6, "dynamodb": 2}  # under --all-stores (make test-large)
# chaos on DynamoDB (moto) runs in `make test-large`: the store's own faults are the contract
# suites' and the execution parts' (both stores in `make test`); here the faults are DRS's
STORES = ["sqlite", pytest.param("dynamodb", marks=pytest.mark.all_stores_only)]


@dataclass
class Chaos:
    services: Services
    simulator: DrsSimulator
    clock: FakeClock
    drills: int


@pytest.fixture(params=STORES)
def chaos(request: pytest.FixtureRequest, tmp_path: Path, all_stores: bool) -> Iterator[Chaos]:
    clock = FakeClock()
    simulator = DrsSimulator(db_path=None, clock=clock, launch_seconds=20.0)
    store = engine_store(request.param, tmp_path / "chaos.db", clock, request)
    services = build_services(
        Settings.from_env({}, db_path=tmp_path / "unused.db"),
        clock=clock,
        store=store,
        drs=SimulatedDrsClients(simulator, attempts=1),
        notifier=RecordingNotifier(),
        driver=ManualDriver(),
    )
    yield Chaos(services, simulator, clock, (DRILLS_ALL_STORES if all_stores else DRILLS)[request.param])
    services.close()


def drive(chaos: Chaos, execution_id: str) -> None:
    for _ in range(MAX_TICKS):
        result = advance(chaos.services, execution_id)
        if result.done:
            return
        chaos.clock.advance(max(1, result.wait_seconds))
    raise AssertionError(f"drill {execution_id} did not finish in {MAX_TICKS} ticks")


def assert_clean(chaos: Chaos, execution_id: str) -> None:
    """Judged from the simulator's state: one launch per server and wave, no orphan, nothing left."""
    execution = chaos.services.store.get_execution(execution_id)
    jobs = chaos.simulator.jobs_by_tag(TAG_EXECUTION, execution_id)
    launches = [j for j in jobs if j["type"] == "LAUNCH"]
    per_server = Counter(sid for j in launches for sid in j["sourceServerIDs"])
    assert per_server and max(per_server.values()) == 1, f"launched twice: {per_server}"
    recorded = {w.job_id for w in execution.waves}
    # one job per wave, each recorded: no orphan, no second launch of a wave
    assert len(launches) == len(recorded) == len(execution.waves)
    assert {j["jobID"] for j in launches} == recorded, "a LAUNCH job no wave recorded (an orphan)"
    running = [i for i in chaos.simulator.running_instances() if i["jobID"] in recorded]
    assert execution.status == ExecutionStatus.COMPLETED, execution.status_reason
    assert [w.status for w in execution.waves] == [WaveStatus.COMPLETED] * 3
    assert all(s.launch_status == LaunchStatus.LAUNCHED for w in execution.waves for s in w.servers)
    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED
    assert running == [], f"cleanup said COMPLETED with {len(running)} drill instance(s) still running"


Faults = Callable[[DrsSimulator, int], None]


def run_drills(chaos: Chaos, faults: Faults, seed: int) -> None:
    plan = three_tier_plan(chaos.services, chaos.simulator)
    for drill in range(chaos.drills):
        execution_id = start(chaos.services, plan)
        faults(chaos.simulator, seed + drill)
        drive(chaos, execution_id)
        chaos.simulator.clear_faults()
        assert_clean(chaos, execution_id)
    assert chaos.simulator.running_instances() == []


def throttling(sim: DrsSimulator, seed: int) -> None:
    sim.set_throttle(FAULT_RATE, seed=seed)


def losing_responses(sim: DrsSimulator, seed: int) -> None:
    sim.lose_responses(FAULT_RATE, ["start_recovery", "terminate_recovery_instances"], seed=seed)


def throttling_and_losing_responses(sim: DrsSimulator, seed: int) -> None:
    throttling(sim, seed)
    losing_responses(sim, seed)


def test_drills_end_clean_under_throttling(chaos: Chaos) -> None:
    run_drills(chaos, throttling, seed=100)


def test_drills_end_clean_when_launch_and_terminate_responses_are_lost(chaos: Chaos) -> None:
    run_drills(chaos, losing_responses, seed=200)


def test_drills_end_clean_under_throttling_and_lost_responses(chaos: Chaos) -> None:
    run_drills(chaos, throttling_and_losing_responses, seed=300)


def test_runs_requested_while_drs_throttles_are_accepted_and_end_clean(chaos: Chaos) -> None:
    """Throttling is retryable: a run request is never refused for it (the embedded default's
    gateways retry within the call, as botocore does on AWS)."""
    services = chaos.services
    services.drs = SimulatedDrsClients(chaos.simulator)  # the default: retries within the call
    plan = three_tier_plan(services, chaos.simulator)
    for drill in range(chaos.drills):
        chaos.simulator.set_throttle(FAULT_RATE, seed=400 + drill)
        body = {"planId": plan.plan_id, "executionType": "DRILL", "initiatedBy": "alice"}
        execution = execute_recovery_plan(
            services, StartExecution.model_validate(body), "alice", require_approval=False
        )
        drive(chaos, execution.execution_id)
        chaos.simulator.clear_faults()
        assert_clean(chaos, execution.execution_id)
