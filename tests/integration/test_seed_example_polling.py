"""The seed's Example 7: each step is its own short process, so only status calls drive the run.

A run started through the execution handler with a manual driver has nothing else to move it; on the
embedded default each status or details call advances it once, so polling alone reaches the end (and
a drill's cleanup). On AWS Step Functions drives runs: a status call only reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.simulator import DrsSimulator
from orchestration.handlers import execution, runtime
from orchestration.ports import ManualDriver, RecordingNotifier
from tests.integration.test_handler_execution import TERMINAL, seed_example_4, two_wave_plan
from tests.integration.test_handlers_data_management import seed_inventory

POLL_STEP = 15  # seconds between two polls (the script's sleep, on the fake clock)


@pytest.fixture
def drs(clock: Any) -> Iterator[DrsSimulator]:
    simulator = DrsSimulator(db_path=None, clock=clock, inventory=seed_inventory())
    yield simulator
    simulator.close()


@pytest.fixture
def api(services: Any, drs: DrsSimulator) -> Iterator[Any]:
    services.drs = SimulatedDrsClients(drs)
    services.notifier = RecordingNotifier()
    services.driver = ManualDriver()  # nothing drives a run but the calls below
    runtime.use(services)
    yield services
    runtime.use(None)


def call(operation: str, execution_id: str) -> dict[str, Any]:
    return execution.lambda_handler({"operation": operation, "body": {"executionId": execution_id}}, None)


def test_polling_status_alone_drives_the_run_to_the_end_with_cleanup(api: Any, drs: DrsSimulator) -> None:
    started = execution.lambda_handler(seed_example_4(two_wave_plan()), None)
    execution_id = started["executionId"]
    assert started["status"] == "PENDING"
    assert api.driver.started == [execution_id]

    seen: list[str] = []
    for poll in range(200):
        operation = "get_execution_details" if poll % 2 else "get_execution_status"
        response = call(operation, execution_id)
        seen.append(response["status"])
        stored = api.store.get_execution(execution_id)
        if response["status"] in TERMINAL and not stored.needs_driving:
            break
        api.clock.advance(POLL_STEP)
    else:
        raise AssertionError(f"polling did not finish the run: {seen[-5:]}")

    assert seen[0] == "RUNNING"
    assert seen[-1] == "COMPLETED"
    assert stored.cleanup is not None and not stored.cleanup.pending
    assert drs.running_instances() == []
    final = call("get_execution_status", execution_id)
    assert (final["status"], final["done"]) == ("COMPLETED", True)


def test_a_failing_advance_still_answers_what_is_stored(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    execution_id = execution.lambda_handler(seed_example_4(two_wave_plan()), None)["executionId"]

    def broken(services: Any, execution_id: str) -> Any:
        raise RuntimeError("engine down")

    monkeypatch.setattr("orchestration.engine.advance.advance", broken)
    response = call("get_execution_status", execution_id)
    assert (response["executionId"], response["status"]) == (execution_id, "PENDING")


def test_on_aws_a_status_call_does_not_advance(api: Any) -> None:
    execution_id = execution.lambda_handler(seed_example_4(two_wave_plan()), None)["executionId"]
    api.settings = dataclasses.replace(api.settings, backend="aws")
    for _ in range(3):
        api.clock.advance(POLL_STEP)
        assert call("get_execution_status", execution_id)["status"] == "PENDING"
        assert call("get_execution_details", execution_id)["status"] == "PENDING"
    stored = api.store.get_execution(execution_id)
    assert all(w.job_id is None for w in stored.waves)
