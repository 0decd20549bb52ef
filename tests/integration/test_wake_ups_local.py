"""Wake-ups on the embedded default: the local runner keeps them in memory and fires them on the
services' clock (a FakeClock, no sleeping); at start-up it sweeps once, expiring what is due and
re-arming what is ahead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestration.bootstrap import build_running_services, build_services
from orchestration.config import Settings
from orchestration.engine.advance import advance
from orchestration.engine.local_runner import ERROR_RETRY_SECONDS, LocalRunner
from orchestration.models import EventType, ExecutionStatus, ExecutionType, GateAction, UnattendedGates
from orchestration.ports import RecordingNotifier
from orchestration.services import execution_control
from orchestration.services.execution_builder import build_execution
from orchestration.services.execution_control import approve_execution
from orchestration.services.execution_start import START_GRACE_SECONDS
from orchestration.services.wake_ups import NOTHING
from tests.drills import three_tier_plan
from tests.integration.test_wake_ups import Crash, request_run


def running(db: Path, clock: Any, notifier: Any = None) -> Any:
    """The embedded default as `make run` composes it (`build_running_services`), not yet started."""
    return build_running_services(
        Settings.from_env({}, db_path=db), notifier=notifier, clock=clock, start=False
    )


def test_the_local_runner_wakes_a_request_at_its_expiry_and_nothing_before(
    tmp_path: Path, clock: Any
) -> None:
    notifier = RecordingNotifier()
    services = running(tmp_path / "drbot.db", clock, notifier)
    runner = services.driver
    try:
        runner.run(pump=False)
        execution_id = request_run(services, services.drs.simulator)
        expires_at = services.store.get_execution(execution_id).expires_at
        assert runner.wake_ups() == {(execution_id, "expiry"): expires_at}
        assert runner.scheduled() == {}  # nothing is polled while it waits

        clock.set(expires_at - 1)
        runner.run_pending()
        assert services.store.get_execution(execution_id).status == ExecutionStatus.PENDING_APPROVAL
        clock.set(expires_at)
        runner.run_pending()

        assert services.store.get_execution(execution_id).status == ExecutionStatus.EXPIRED
        assert [e.type for e in notifier.events(execution_id)] == [EventType.REQUESTED, EventType.EXPIRED]
        assert runner.wake_ups() == {}
    finally:
        services.close()


def test_the_local_runner_forgets_a_wake_up_that_became_moot(tmp_path: Path, clock: Any) -> None:
    services = running(tmp_path / "drbot.db", clock)
    runner = services.driver
    try:
        execution_id = request_run(services, services.drs.simulator)
        approve_execution(services, execution_id, "bob")
        assert runner.wake_ups() == {}
        assert execution_id in runner.scheduled()  # the approval started it: the runner ticks it
    finally:
        services.close()


def test_a_restarted_runner_re_arms_what_is_ahead_and_expires_what_is_due(tmp_path: Path, clock: Any) -> None:
    db = tmp_path / "drbot.db"
    first = running(db, clock)
    early = request_run(first, first.drs.simulator)
    expires_at = first.store.get_execution(early).expires_at
    first.close()  # its wake-ups were in its memory

    again = running(db, clock)
    try:
        again.driver.run(pump=False)  # the start-up sweep
        assert again.driver.wake_ups() == {(early, "expiry"): expires_at}
    finally:
        again.close()

    clock.set(expires_at)
    last = running(db, clock)
    try:
        last.driver.run(pump=False)
        assert last.store.get_execution(early).status == ExecutionStatus.EXPIRED
        assert last.driver.wake_ups() == {}
    finally:
        last.close()


def test_a_recovery_approved_before_a_crash_is_started_by_the_runner(
    tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = running(tmp_path / "drbot.db", clock)
    runner = services.driver
    try:
        execution_id = request_run(services, services.drs.simulator, ExecutionType.RECOVERY)
        approve_execution(services, execution_id, "bob")

        def crash(*_: Any) -> Any:
            raise Crash

        monkeypatch.setattr(execution_control, "start_driving", crash)
        with pytest.raises(Crash):
            approve_execution(services, execution_id, "carol")  # saved PENDING, never handed over
        monkeypatch.undo()
        assert runner.wake_ups()[(execution_id, "start")] == clock.now() + START_GRACE_SECONDS
        assert runner.scheduled() == {}
        clock.advance(START_GRACE_SECONDS)

        runner.run_pending()  # the wake-up hands it over, and the same pump ticks it

        assert services.store.get_execution(execution_id).status == ExecutionStatus.RUNNING
        assert runner.wake_ups() == {}
    finally:
        services.close()


def test_a_wake_up_that_fails_is_tried_again_not_dropped(tmp_path: Path, clock: Any) -> None:
    calls: list[tuple[str, str]] = []

    def flaky(services: Any, execution_id: str, reason: str) -> str:
        calls.append((execution_id, reason))
        if len(calls) == 1:
            raise ConnectionError("store unreachable")
        return NOTHING

    runner = LocalRunner(advance=advance, wake=flaky, sweep=lambda _: None)
    services = build_services(
        Settings.from_env({}, db_path=tmp_path / "drbot.db"), clock=clock, driver=runner
    )
    runner.bind(services)
    try:
        runner.at("e-1", int(clock.now()), "expiry")
        assert runner.fire_due_wake_ups() == 1
        assert runner.wake_ups() == {("e-1", "expiry"): clock.now() + ERROR_RETRY_SECONDS}
        clock.advance(ERROR_RETRY_SECONDS)
        assert runner.fire_due_wake_ups() == 1
        assert calls == [("e-1", "expiry"), ("e-1", "expiry")] and runner.wake_ups() == {}
    finally:
        services.close()


def test_an_unattended_gate_parks_and_its_wake_up_cancels_the_drill_at_the_deadline(
    tmp_path: Path, clock: Any
) -> None:
    services = running(tmp_path / "drbot.db", clock)
    runner = services.driver
    try:
        plan = three_tier_plan(services, services.drs.simulator, w3={"pause": True})
        gates = UnattendedGates(action=GateAction.WAIT, wait_minutes=30)
        built = build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING)
        execution = services.store.create_execution(built.model_copy(update={"at_gate": gates}), "alice")
        runner.start(execution)
        execution_id = execution.execution_id

        def held() -> bool:
            return services.store.get_execution(execution_id).gate_deadline is not None

        for _ in range(500):
            if held() and runner.wake_ups():
                break
            runner.run_pending()
            clock.advance(5)
        paused = services.store.get_execution(execution_id)
        assert paused.status == ExecutionStatus.PAUSED and paused.gate_deadline is not None
        assert runner.wake_ups() == {(execution_id, "gate"): paused.gate_deadline}

        clock.set(paused.gate_deadline - 1)
        runner.run_pending()
        assert services.store.get_execution(execution_id).status == ExecutionStatus.PAUSED
        assert runner.scheduled()[execution_id] > paused.gate_deadline  # the slow poll comes later
        clock.set(paused.gate_deadline)
        runner.run_pending()  # the wake-up wakes the runner, and the same pump ticks it

        assert services.store.get_execution(execution_id).status in (
            ExecutionStatus.CANCELLING,
            ExecutionStatus.CANCELLED,
        )
        assert runner.wake_ups() == {}
    finally:
        services.close()
