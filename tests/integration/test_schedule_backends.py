"""The ScheduleBackend port: one contract over the local (APScheduler) and EventBridge Scheduler
backends, then what only EventBridge has — the request drbot sends, checked against botocore's
parameter validation and read back from moto (which validates nothing itself), and drbot's own
checks of its configuration before any call."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.config import Settings
from orchestration.errors import InternalError, ValidationFailed
from orchestration.models import Schedule
from scheduler.backends.eventbridge import (
    SCHEDULED_TIME,
    EventBridgeSchedulerBackend,
    EventBridgeTarget,
    backend_from_settings,
    schedule_name,
)
from scheduler.backends.port import BackendEntry, ScheduleBackend
from scheduler.runtime import local_backend
from tests.conftest import fake_aws_env

ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:drbot-scheduled-drill"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/drbot-scheduler"
DLQ_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:drbot-schedule-dlq"
TARGET = EventBridgeTarget(
    group="drbot", function_arn=FUNCTION_ARN, role_arn=ROLE_ARN, dead_letter_arn=DLQ_ARN
)
SCHEDULE_ID = "0b9b7a52-8d0e-4c1e-9a43-5f2d1c3e7a10"


def schedule(**changes: Any) -> Schedule:
    values: dict[str, Any] = {
        "schedule_id": SCHEDULE_ID,
        "plan_id": "plan-1",
        "expression": "cron(0 3 ? * sun#1 *)",
        "timezone": "Europe/Berlin",
        "approved_by": "bob",
        "enabled": True,
        "created_by": "alice",
    }
    return Schedule(**{**values, **changes})


@pytest.fixture
def scheduler_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        yield boto3.client("scheduler", region_name="us-east-1")


@pytest.fixture
def eventbridge(scheduler_client: Any) -> EventBridgeSchedulerBackend:
    backend = EventBridgeSchedulerBackend(scheduler_client, TARGET)
    backend.ensure_group()
    return backend


@pytest.fixture(params=["local", "eventbridge"])
def backend(request: pytest.FixtureRequest, sqlite_services: Any) -> ScheduleBackend:
    if request.param == "local":
        return local_backend(sqlite_services)
    result: ScheduleBackend = request.getfixturevalue("eventbridge")
    return result


# -- the contract -------------------------------------------------------------------------------------


def test_register_creates_an_enabled_entry_in_canonical_form(backend: ScheduleBackend) -> None:
    entry = backend.register(schedule())
    expected = BackendEntry(SCHEDULE_ID, "cron(0 3 ? * SUN#1 *)", "Europe/Berlin", enabled=True)
    assert entry == expected
    assert backend.entry(SCHEDULE_ID) == expected


def test_register_again_updates_state_and_expression(backend: ScheduleBackend) -> None:
    backend.register(schedule())
    backend.register(schedule(enabled=False))
    assert backend.entry(SCHEDULE_ID) == BackendEntry(
        SCHEDULE_ID, "cron(0 3 ? * SUN#1 *)", "Europe/Berlin", False
    )
    backend.register(schedule(expression="rate(1 day)", timezone="UTC"))
    assert backend.entry(SCHEDULE_ID) == BackendEntry(SCHEDULE_ID, "rate(1 day)", "UTC", True)


def test_remove_forgets_the_entry_and_a_second_remove_is_harmless(backend: ScheduleBackend) -> None:
    backend.register(schedule())
    backend.remove(SCHEDULE_ID)
    assert backend.entry(SCHEDULE_ID) is None
    backend.remove(SCHEDULE_ID)
    assert backend.entry("never-registered") is None


def test_a_schedule_awaiting_approval_is_not_registered(backend: ScheduleBackend) -> None:
    with pytest.raises(ValidationFailed, match="awaits approval"):
        backend.register(schedule(approved_by=None, enabled=False))
    assert backend.entry(SCHEDULE_ID) is None


# -- EventBridge Scheduler ----------------------------------------------------------------------------


def test_the_eventbridge_schedule_targets_the_scheduled_drill_lambda(
    eventbridge: EventBridgeSchedulerBackend, scheduler_client: Any
) -> None:
    eventbridge.register(schedule(cleanup_after_minutes=30))

    stored = scheduler_client.get_schedule(Name=f"drbot-{SCHEDULE_ID}", GroupName="drbot")
    assert stored["ScheduleExpression"] == "cron(0 3 ? * SUN#1 *)"
    assert stored["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert stored["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert stored["State"] == "ENABLED"
    target = stored["Target"]
    assert (target["Arn"], target["RoleArn"]) == (FUNCTION_ARN, ROLE_ARN)
    assert json.loads(target["Input"]) == {"scheduleId": SCHEDULE_ID, "scheduledTime": SCHEDULED_TIME}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 5}
    assert target["DeadLetterConfig"] == {"Arn": DLQ_ARN}
    listed = scheduler_client.list_schedules(GroupName="drbot")["Schedules"]
    assert [s["Name"] for s in listed] == [f"drbot-{SCHEDULE_ID}"]


@pytest.mark.parametrize("operation", ["CreateSchedule", "UpdateSchedule"])
def test_the_request_passes_botocores_parameter_validation(
    eventbridge: EventBridgeSchedulerBackend, scheduler_client: Any, operation: str
) -> None:
    from botocore.validate import ParamValidator

    entry = BackendEntry(SCHEDULE_ID, "cron(0 3 ? * SUN#1 *)", "Europe/Berlin", True)
    params = eventbridge.request(entry, schedule())
    shape = scheduler_client.meta.service_model.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()
    # and the constraints botocore leaves to the service, which drbot checks itself
    assert len(params["Name"]) <= 64 and len(params["ScheduleExpression"]) <= 256
    members = shape.members
    assert set(params) <= set(members)
    assert set(params["Target"]) <= set(members["Target"].members)


def test_the_group_is_created_once(scheduler_client: Any) -> None:
    backend = EventBridgeSchedulerBackend(scheduler_client, TARGET)
    backend.ensure_group()
    backend.ensure_group()
    groups = [g["Name"] for g in scheduler_client.list_schedule_groups()["ScheduleGroups"]]
    assert groups.count("drbot") == 1


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("function_arn", "drbot-scheduled-drill", "DRBOT_SCHEDULED_DRILL_FUNCTION_ARN"),
        ("role_arn", f"arn:aws:iam::{ACCOUNT}:user/bob", "DRBOT_SCHEDULER_ROLE_ARN"),
        ("dead_letter_arn", f"arn:aws:sns:us-east-1:{ACCOUNT}:topic", "DRBOT_SCHEDULE_DLQ_ARN"),
        ("group", "drbot group", "DRBOT_SCHEDULE_GROUP"),
        ("max_retry_attempts", 186, "retry attempts"),
        ("max_event_age_seconds", 30, "maximum event age"),
    ],
)
def test_a_misconfigured_target_is_refused_before_any_call(field: str, value: Any, words: str) -> None:
    values = {
        "group": "drbot",
        "function_arn": FUNCTION_ARN,
        "role_arn": ROLE_ARN,
        "dead_letter_arn": DLQ_ARN,
        field: value,
    }
    with pytest.raises(ValidationFailed, match=words):
        EventBridgeTarget(**values)


def test_settings_without_the_target_name_what_is_missing() -> None:
    settings = Settings.from_env({"DRBOT_BACKEND": "aws", "DRBOT_SCHEDULER_ROLE_ARN": ROLE_ARN})
    with pytest.raises(ValidationFailed) as raised:
        backend_from_settings(settings, client=object())  # type: ignore[arg-type]
    assert raised.value.message == (
        "Drill schedules on AWS need DRBOT_SCHEDULED_DRILL_FUNCTION_ARN, DRBOT_SCHEDULE_DLQ_ARN set."
    )


def test_settings_name_the_whole_target(scheduler_client: Any) -> None:
    env = {
        "DRBOT_BACKEND": "aws",
        "DRBOT_SCHEDULE_GROUP": "drbot-prod",
        "DRBOT_SCHEDULER_ROLE_ARN": ROLE_ARN,
        "DRBOT_SCHEDULED_DRILL_FUNCTION_ARN": FUNCTION_ARN,
        "DRBOT_SCHEDULE_DLQ_ARN": DLQ_ARN,
    }
    backend = backend_from_settings(Settings.from_env(env), client=scheduler_client)
    assert backend.target == EventBridgeTarget("drbot-prod", FUNCTION_ARN, ROLE_ARN, DLQ_ARN)


def test_every_backend_of_a_process_shares_its_scheduler_client(scheduler_client: Any) -> None:
    """Each /dr schedule command and each fire asks for a backend: a warm Lambda container builds its
    boto3 client once."""
    env = {
        "DRBOT_BACKEND": "aws",
        "DRBOT_SCHEDULER_ROLE_ARN": ROLE_ARN,
        "DRBOT_SCHEDULED_DRILL_FUNCTION_ARN": FUNCTION_ARN,
        "DRBOT_SCHEDULE_DLQ_ARN": DLQ_ARN,
    }
    first = backend_from_settings(Settings.from_env(env))
    second = backend_from_settings(Settings.from_env(env))
    elsewhere = backend_from_settings(Settings.from_env({**env, "DRBOT_REGION": "eu-west-1"}))

    assert first._client is second._client
    assert elsewhere._client is not first._client
    assert elsewhere._client.meta.region_name == "eu-west-1"
    first.ensure_group()  # the shared client works
    assert scheduler_client.get_schedule_group(Name="drbot")["Name"] == "drbot"


def test_a_schedule_id_that_cannot_name_a_schedule_is_refused() -> None:
    assert schedule_name(SCHEDULE_ID) == f"drbot-{SCHEDULE_ID}"
    with pytest.raises(ValidationFailed, match="cannot name an EventBridge schedule"):
        schedule_name("x" * 60)
    with pytest.raises(ValidationFailed):
        schedule_name("a/b")


def test_an_aws_refusal_becomes_an_internal_error(scheduler_client: Any) -> None:
    from botocore.stub import Stubber

    backend = EventBridgeSchedulerBackend(scheduler_client, TARGET)
    with Stubber(scheduler_client) as aws:
        aws.add_client_error(
            "update_schedule", service_error_code="ValidationException", http_status_code=400
        )
        with pytest.raises(InternalError, match=r"refused UpdateSchedule \(ValidationException\)"):
            backend.register(schedule())
        aws.add_client_error(
            "delete_schedule", service_error_code="ResourceNotFoundException", http_status_code=404
        )
        backend.remove(SCHEDULE_ID)  # already gone: nothing to do
        aws.assert_no_pending_responses()


# -- the local backend in its process -------------------------------------------------------------------


def test_the_local_backend_pumps_in_the_background_until_closed(sqlite_services: Any) -> None:
    from datetime import UTC, timedelta

    from apscheduler.schedulers.background import BackgroundScheduler

    from scheduler.backends.local import PUMP_SECONDS

    scheduler = BackgroundScheduler(timezone=UTC)
    backend = local_backend(sqlite_services, scheduler=scheduler)
    assert backend.start() == []
    try:
        pump = scheduler.get_job("drbot-schedules-pump")
        assert pump.trigger.interval == timedelta(seconds=PUMP_SECONDS) and scheduler.running
    finally:
        backend.close()
    assert not scheduler.running


def test_the_local_backend_is_built_before_the_app_and_started_after_it(sqlite_services: Any) -> None:
    from orchestration.recurring import NoRecurringTasks
    from scheduler.backends.local import LocalScheduleBackend
    from scheduler.runtime import local_schedules, start_local_schedules, stop_local_schedules

    built = local_schedules(sqlite_services)  # handed to the app's commands (bot/serve.py, bot/cli.py)
    assert isinstance(built, LocalScheduleBackend)
    assert isinstance(sqlite_services.recurring, NoRecurringTasks)  # not started: fires nothing yet
    started = start_local_schedules(sqlite_services, pump=False, backend=built)
    try:
        assert started is built and sqlite_services.recurring is built
    finally:
        stop_local_schedules(started)
    assert isinstance(sqlite_services.recurring, NoRecurringTasks)


def test_on_aws_no_local_backend_starts_and_eventbridge_is_the_backend(
    sqlite_services: Any, scheduler_client: Any
) -> None:
    from bot.app import schedule_backend as app_backend
    from scheduler.handler import schedule_backend as handler_backend
    from scheduler.runtime import local_schedules, recurring_tasks, start_local_schedules

    env = {
        "DRBOT_BACKEND": "aws",
        "DRBOT_SCHEDULER_ROLE_ARN": ROLE_ARN,
        "DRBOT_SCHEDULED_DRILL_FUNCTION_ARN": FUNCTION_ARN,
        "DRBOT_SCHEDULE_DLQ_ARN": DLQ_ARN,
    }
    aws = dataclasses.replace(sqlite_services, settings=Settings.from_env(env))
    assert start_local_schedules(aws) is None and local_schedules(aws) is None
    assert handler_backend(aws.settings) is handler_backend(aws.settings)  # one per container
    for handed_in in (app_backend(aws.settings), handler_backend(aws.settings), recurring_tasks(aws)):
        backend = handed_in.resolved()
        assert isinstance(backend, EventBridgeSchedulerBackend) and backend.target == TARGET
        assert handed_in.resolved() is backend  # built once


def test_an_enabled_rate_schedule_starts_one_interval_after_its_approval_not_at_once(
    eventbridge: EventBridgeSchedulerBackend, scheduler_client: Any
) -> None:
    from datetime import UTC, datetime

    from botocore.validate import ParamValidator

    approved_at = 1_790_000_000
    weekly = schedule(expression="rate(7 days)", last_modified_date=approved_at)
    entry = BackendEntry(SCHEDULE_ID, "rate(7 days)", "Europe/Berlin", True)

    params = eventbridge.request(entry, weekly)

    first = datetime.fromtimestamp(approved_at + 7 * 86400, UTC)
    assert params["StartDate"] == first
    shape = scheduler_client.meta.service_model.operation_model("CreateSchedule").input_shape
    assert not ParamValidator().validate(params, shape).has_errors()
    eventbridge.register(weekly)
    stored = scheduler_client.get_schedule(Name=f"drbot-{SCHEDULE_ID}", GroupName="drbot")
    assert stored["StartDate"] == first
    # cron schedules need no start; a disabled schedule fires nothing, whatever its start
    assert "StartDate" not in eventbridge.request(
        BackendEntry(SCHEDULE_ID, "cron(0 3 ? * SUN#1 *)", "Europe/Berlin", True), schedule()
    )
    assert "StartDate" not in eventbridge.request(
        BackendEntry(SCHEDULE_ID, "rate(7 days)", "Europe/Berlin", False), weekly
    )
