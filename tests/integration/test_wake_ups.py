"""Wake-ups instead of a sweep: each future moment of an execution is a one-time wake-up, created
before the write that makes it matter and deleted when it is moot; the woken handler acts only if
the moment is really due. Here the wake handler, and the AWS adapter: EventBridge Scheduler `at()`
schedules (moto); the local runner's are in test_wake_ups_local.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestration.bootstrap import build_services
from orchestration.config import Settings
from orchestration.engine.advance import advance
from orchestration.engine.eventbridge_wake_ups import (
    SOONEST_SECONDS,
    EventBridgeWakeUps,
    WakeUpTarget,
    wake_up_name,
)
from orchestration.errors import ValidationFailed
from orchestration.models import EventType, ExecutionStatus, ExecutionType
from orchestration.ports import ManualDriver, NoWakeUps, RecordingNotifier
from orchestration.services import execution_control
from orchestration.services.execution_control import approve_execution, reject_execution
from orchestration.services.execution_start import START_GRACE_SECONDS, execute_recovery_plan
from orchestration.services.sweep import sweep
from orchestration.services.wake_ups import EXPIRED, NOTHING, REARMED, STARTED, wake
from orchestration.start_request import StartExecution
from tests.conftest import fake_aws_env
from tests.drills import start, three_tier_plan

GROUP = "drbot-wake-ups-test"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:drbot-execution-handler-test"
ROLE = "arn:aws:iam::123456789012:role/drbot-scheduler"
TARGET = WakeUpTarget(group=GROUP, function_arn=FUNCTION, role_arn=ROLE)


class Crash(BaseException):
    """The process dies here (not an error anything catches)."""


def request_run(services: Any, simulator: Any, execution_type: ExecutionType = ExecutionType.DRILL) -> str:
    plan = three_tier_plan(services, simulator)
    request = StartExecution.model_validate(
        {"planId": plan.plan_id, "executionType": str(execution_type), "initiatedBy": "alice"}
    )
    return execute_recovery_plan(services, request, "alice", require_approval=True).execution_id


@pytest.fixture
def scheduler_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name=GROUP)  # the template creates it
        yield client


@pytest.fixture
def wake_ups(scheduler_client: Any, sqlite_services: Any, clock: Any) -> EventBridgeWakeUps:
    sqlite_services.wakeups = adapter = EventBridgeWakeUps(scheduler_client, TARGET, clock)
    sqlite_services.driver = ManualDriver()
    sqlite_services.notifier = RecordingNotifier()
    return adapter


def at_text(epoch: int) -> str:
    return f"at({datetime.fromtimestamp(epoch, UTC):%Y-%m-%dT%H:%M:%S})"


# -- AWS: EventBridge Scheduler at() schedules ------------------------------------------------------------


def test_requesting_a_run_creates_its_expiry_wake_up_and_approving_deletes_it(
    wake_ups: EventBridgeWakeUps, sqlite_services: Any, simulator: Any, scheduler_client: Any
) -> None:
    execution_id = request_run(sqlite_services, simulator)
    expires_at = sqlite_services.store.get_execution(execution_id).expires_at

    assert wake_ups.names() == [f"drbot-wake-expiry-{execution_id}"]
    stored = scheduler_client.get_schedule(Name=f"drbot-wake-expiry-{execution_id}", GroupName=GROUP)
    assert stored["ScheduleExpression"] == at_text(expires_at)
    assert stored["ScheduleExpressionTimezone"] == "UTC"
    assert stored["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert stored["ActionAfterCompletion"] == "DELETE"
    assert stored["Target"]["Arn"] == FUNCTION and stored["Target"]["RoleArn"] == ROLE
    payload = json.loads(stored["Target"]["Input"])
    assert payload == {"task": "wake", "executionId": execution_id, "reason": "expiry"}

    outcome = approve_execution(sqlite_services, execution_id, "bob")

    assert outcome.started and sqlite_services.driver.started == [execution_id]
    assert wake_ups.names() == []  # the expiry and the start grace are both moot


def test_a_rejected_request_deletes_its_wake_up(
    wake_ups: EventBridgeWakeUps, sqlite_services: Any, simulator: Any
) -> None:
    execution_id = request_run(sqlite_services, simulator)
    reject_execution(sqlite_services, execution_id, "bob", "change freeze")
    assert wake_ups.names() == []


def test_an_approval_that_is_not_the_last_keeps_only_the_expiry(
    wake_ups: EventBridgeWakeUps, sqlite_services: Any, simulator: Any
) -> None:
    execution_id = request_run(sqlite_services, simulator, ExecutionType.RECOVERY)  # two approvals
    approve_execution(sqlite_services, execution_id, "bob")
    assert wake_ups.names() == [f"drbot-wake-expiry-{execution_id}"]
    approve_execution(sqlite_services, execution_id, "carol")
    assert wake_ups.names() == []


def test_the_wake_at_the_due_time_expires_the_request_once(
    wake_ups: EventBridgeWakeUps, sqlite_services: Any, simulator: Any, clock: Any
) -> None:
    execution_id = request_run(sqlite_services, simulator)
    expires_at = sqlite_services.store.get_execution(execution_id).expires_at
    before = sqlite_services.store.get_execution(execution_id)

    clock.set(expires_at - 1)
    assert wake(sqlite_services, execution_id, "expiry") == REARMED  # early: re-armed, nothing else
    assert sqlite_services.store.get_execution(execution_id).version == before.version
    clock.set(expires_at)
    assert wake(sqlite_services, execution_id, "expiry") == EXPIRED
    assert wake(sqlite_services, execution_id, "expiry") == NOTHING

    saved = sqlite_services.store.get_execution(execution_id)
    assert saved.status == ExecutionStatus.EXPIRED
    notifier = sqlite_services.notifier
    assert [e.type for e in notifier.events(execution_id)] == [EventType.REQUESTED, EventType.EXPIRED]
    assert saved.notified_through == saved.events[-1].seq


def test_a_stray_wake_up_changes_nothing(
    wake_ups: EventBridgeWakeUps, sqlite_services: Any, simulator: Any, clock: Any
) -> None:
    execution_id = request_run(sqlite_services, simulator)
    approve_execution(sqlite_services, execution_id, "bob")
    advance(sqlite_services, execution_id)  # its driver's first tick: RUNNING
    before = sqlite_services.store.get_execution(execution_id)
    assert before.status == ExecutionStatus.RUNNING

    clock.advance(START_GRACE_SECONDS * 100)
    for reason in ("expiry", "start", "whatever"):
        assert wake(sqlite_services, execution_id, reason) == NOTHING  # it is running
    assert wake(sqlite_services, "no-such-execution", "expiry") == NOTHING

    assert sqlite_services.store.get_execution(execution_id) == before
    assert sqlite_services.driver.started == [execution_id]  # not a second time
    assert wake_ups.names() == []


def test_a_crash_between_creating_the_wake_up_and_the_store_write_leaves_nothing_wrong(
    wake_ups: EventBridgeWakeUps, sqlite_services: Any, simulator: Any, clock: Any, monkeypatch: Any
) -> None:
    def crash(*_: Any) -> Any:
        raise Crash

    monkeypatch.setattr(sqlite_services.store, "create_execution", crash)
    with pytest.raises(Crash):
        request_run(sqlite_services, simulator)
    monkeypatch.undo()

    (name,) = wake_ups.names()  # the wake-up was created first: it is stray now
    execution_id = name.removeprefix("drbot-wake-expiry-")
    assert sqlite_services.store.list_executions(active_only=False) == []
    clock.advance(24 * 3600)
    assert wake(sqlite_services, execution_id, "expiry") == NOTHING
    assert sqlite_services.store.list_executions(active_only=False) == []
    assert sqlite_services.notifier.received == []


def test_a_crash_between_the_last_approval_and_the_start_is_started_by_its_wake_up(
    wake_ups: EventBridgeWakeUps, sqlite_services: Any, simulator: Any, clock: Any, monkeypatch: Any
) -> None:
    execution_id = request_run(sqlite_services, simulator)

    def crash(*_: Any) -> Any:
        raise Crash

    monkeypatch.setattr(execution_control, "start_driving", crash)
    with pytest.raises(Crash):
        approve_execution(sqlite_services, execution_id, "bob")
    monkeypatch.undo()
    assert sqlite_services.store.get_execution(execution_id).status == ExecutionStatus.PENDING
    assert f"drbot-wake-start-{execution_id}" in wake_ups.names()

    clock.advance(START_GRACE_SECONDS - 1)
    assert wake(sqlite_services, execution_id, "start") == REARMED
    assert sqlite_services.driver.started == []
    clock.advance(1)
    assert wake(sqlite_services, execution_id, "start") == STARTED
    assert sqlite_services.driver.started == [execution_id]
    assert wake_ups.names() == []


def test_a_run_whose_state_machine_started_is_left_to_it(
    sqlite_services: Any, simulator: Any, clock: Any
) -> None:
    driver = sqlite_services.driver = ManualDriver()
    execution_id = start(sqlite_services, three_tier_plan(sqlite_services, simulator))
    execution = sqlite_services.store.get_execution(execution_id)
    arn = f"arn:aws:states:us-east-1:111122223333:execution:drbot:{execution_id}"
    sqlite_services.store.update_execution(execution.model_copy(update={"state_machine_arn": arn}), "drbot")

    clock.advance(START_GRACE_SECONDS * 10)
    assert wake(sqlite_services, execution_id, "start") == NOTHING
    assert sweep(sqlite_services).started == []
    assert driver.started == []


def test_a_past_moment_is_woken_a_few_seconds_ahead_and_at_again_moves_it(
    wake_ups: EventBridgeWakeUps, scheduler_client: Any, clock: Any
) -> None:
    now = int(clock.now())
    wake_ups.at("e-1", now - 3600, "expiry")
    name = wake_up_name("e-1", "expiry")
    stored = scheduler_client.get_schedule(Name=name, GroupName=GROUP)
    assert stored["ScheduleExpression"] == at_text(now + SOONEST_SECONDS)
    wake_ups.at("e-1", now + 600, "expiry")
    stored = scheduler_client.get_schedule(Name=name, GroupName=GROUP)
    assert stored["ScheduleExpression"] == at_text(now + 600)
    wake_ups.cancel("e-1", "expiry")
    wake_ups.cancel("e-1", "expiry")  # gone already: harmless
    assert wake_ups.names() == []


@pytest.mark.parametrize("operation", ["CreateSchedule", "UpdateSchedule"])
def test_the_request_passes_botocores_parameter_validation(
    wake_ups: EventBridgeWakeUps, scheduler_client: Any, operation: str
) -> None:
    from botocore.validate import ParamValidator

    params = wake_ups.request("0f8fad5b-d9cb-469f-a165-70867728950e", 1_767_229_200, "expiry")
    shape = scheduler_client.meta.service_model.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()
    assert len(str(params["Name"])) <= 64
    assert set(params) <= set(shape.members)


def test_a_misconfigured_target_and_an_unnameable_id_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="DRBOT_WAKE_UP_FUNCTION_ARN"):
        WakeUpTarget(group=GROUP, function_arn="not-an-arn", role_arn=ROLE)
    with pytest.raises(ValidationFailed, match="cannot name a wake-up"):
        wake_up_name("x" * 60, "expiry")
    with pytest.raises(ValidationFailed, match="DRBOT_WAKE_UP_FUNCTION_ARN and DRBOT_SCHEDULER_ROLE_ARN"):
        WakeUpTarget.from_settings(Settings.from_env({}, backend="aws"))


def test_aws_services_wake_through_eventbridge_when_configured(
    scheduler_client: Any, monkeypatch: pytest.MonkeyPatch, moto_dynamodb: Any
) -> None:
    env = {
        "DRBOT_BACKEND": "aws",
        "DRBOT_WAKE_UP_GROUP": GROUP,
        "DRBOT_WAKE_UP_FUNCTION_ARN": FUNCTION,
        "DRBOT_SCHEDULER_ROLE_ARN": ROLE,
    }
    services = build_services(Settings.from_env(env))
    try:
        assert isinstance(services.wakeups, EventBridgeWakeUps)
        assert services.wakeups.target == TARGET
    finally:
        services.close()
    unconfigured = build_services(Settings.from_env({"DRBOT_BACKEND": "aws"}))
    try:
        assert isinstance(unconfigured.wakeups, NoWakeUps)
    finally:
        unconfigured.close()
