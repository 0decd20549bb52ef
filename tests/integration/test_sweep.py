"""The sweep: due approval requests expire (their EXPIRED event reaches the notifier) and approved
runs nobody started are started; the local runner's pump sweeps on the services' clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestration.bootstrap import build_services, local_runner
from orchestration.config import Settings
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.simulator import DrsSimulator
from orchestration.models import EventType, ExecutionStatus, ExecutionType
from orchestration.ports import ManualDriver, RecordingNotifier
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.services.sweep import START_GRACE_SECONDS, SWEEP_SECONDS, sweep
from orchestration.start_request import StartExecution
from tests.drills import start, three_tier_plan


def request_run(services: Any, simulator: Any) -> str:
    plan = three_tier_plan(services, simulator)
    request = StartExecution.model_validate(
        {"planId": plan.plan_id, "executionType": "DRILL", "initiatedBy": "alice"}
    )
    return execute_recovery_plan(services, request, "alice", require_approval=True).execution_id


def test_a_due_request_expires_once_and_its_event_is_delivered(
    sqlite_services: Any, simulator: Any, clock: Any
) -> None:
    sqlite_services.notifier = notifier = RecordingNotifier()
    execution_id = request_run(sqlite_services, simulator)
    expires_at = sqlite_services.store.get_execution(execution_id).expires_at

    clock.set(expires_at - 1)
    assert sweep(sqlite_services).expired == []
    clock.set(expires_at)
    assert sweep(sqlite_services).expired == [execution_id]
    assert sweep(sqlite_services).expired == []

    saved = sqlite_services.store.get_execution(execution_id)
    assert saved.status == ExecutionStatus.EXPIRED
    assert [e.type for e in notifier.events(execution_id)] == [EventType.REQUESTED, EventType.EXPIRED]
    assert saved.notified_through == saved.events[-1].seq


def test_an_approved_run_nobody_started_is_started_after_the_grace_period(
    sqlite_services: Any, simulator: Any, clock: Any
) -> None:
    driver = sqlite_services.driver = ManualDriver()
    # what a crash between the last approval's save and the driver's start leaves: PENDING, not driven
    execution_id = start(sqlite_services, three_tier_plan(sqlite_services, simulator))

    clock.advance(START_GRACE_SECONDS - 1)
    assert sweep(sqlite_services).started == []
    clock.advance(1)
    assert sweep(sqlite_services).started == [execution_id]
    assert driver.started == [execution_id]


def test_a_run_whose_state_machine_started_is_left_to_it(
    sqlite_services: Any, simulator: Any, clock: Any
) -> None:
    driver = sqlite_services.driver = ManualDriver()
    execution_id = start(sqlite_services, three_tier_plan(sqlite_services, simulator))
    execution = sqlite_services.store.get_execution(execution_id)
    arn = f"arn:aws:states:us-east-1:111122223333:execution:drbot:{execution_id}"
    sqlite_services.store.update_execution(execution.model_copy(update={"state_machine_arn": arn}), "drbot")

    clock.advance(START_GRACE_SECONDS * 10)
    assert sweep(sqlite_services).started == []
    assert driver.started == []


def test_the_local_runner_pump_sweeps_on_the_services_clock(tmp_path: Path, clock: Any) -> None:
    db = tmp_path / "drbot.db"
    runner = local_runner()
    notifier = RecordingNotifier()
    services = build_services(
        Settings.from_env({}, db_path=db),
        clock=clock,
        drs=SimulatedDrsClients(DrsSimulator(db_path=db, clock=clock)),
        driver=runner,
        notifier=notifier,
    )
    runner.bind(services)
    try:
        execution_id = request_run(services, services.drs.simulator)
        assert runner.sweep_if_due() is True  # the first pump sweeps
        assert runner.sweep_if_due() is False  # then once per SWEEP_SECONDS
        expires_at = services.store.get_execution(execution_id).expires_at
        clock.set(expires_at)

        runner.run_pending()

        assert services.store.get_execution(execution_id).status == ExecutionStatus.EXPIRED
        assert EventType.EXPIRED in [e.type for e in notifier.events(execution_id)]
        clock.advance(SWEEP_SECONDS - 1)
        assert runner.sweep_if_due() is False
        clock.advance(1)
        assert runner.sweep_if_due() is True
    finally:
        services.close()


def test_a_recovery_approved_before_a_crash_is_started_by_the_runner_pump(tmp_path: Path, clock: Any) -> None:
    db = tmp_path / "drbot.db"
    runner = local_runner()
    services = build_services(
        Settings.from_env({}, db_path=db),
        clock=clock,
        drs=SimulatedDrsClients(DrsSimulator(db_path=db, clock=clock)),
        driver=runner,
    )
    runner.bind(services)
    try:
        plan = three_tier_plan(services, services.drs.simulator)
        execution_id = start(services, plan, ExecutionType.RECOVERY)  # saved PENDING, never handed over
        assert runner.scheduled() == {}
        clock.advance(START_GRACE_SECONDS)

        runner.run_pending()  # the sweep hands it over, and the same pump ticks it

        assert services.store.get_execution(execution_id).status == ExecutionStatus.RUNNING
    finally:
        services.close()
