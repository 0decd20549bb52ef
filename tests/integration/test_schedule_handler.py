"""The scheduled-drill Lambda entry (`scheduler.handler.lambda_handler`) as EventBridge Scheduler
invokes it: a fire starts a pre-approved drill; a redelivery is answered by powertools idempotency
(DynamoDB on moto) without touching the store, or, without the idempotency table, by the schedule's
own claim; an event that is not a fire is answered with the error shape."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.handlers import runtime
from scheduler import handler
from scheduler.reporting import RecordingReporter
from scheduler.runtime import local_backend
from scheduler.service import NewSchedule, approve_schedule, create_schedule
from tests.conftest import fake_aws_env
from tests.drills import three_tier_plan
from tests.slack_requests import LambdaContext

IDEMPOTENCY_TABLE = "drbot-scheduled-drill-idempotency"
FIRE_TIME = "2026-01-01T03:00:00Z"  # the form of <aws.scheduler.scheduled-time>


@pytest.fixture
def reporter() -> Iterator[RecordingReporter]:
    recording = RecordingReporter()
    handler.use_reporter(recording)
    yield recording
    handler.use_reporter(None)


@pytest.fixture
def schedule_id(sqlite_services: Any, simulator: Any, clock: Any) -> str:
    three_tier_plan(sqlite_services, simulator)
    schedule = create_schedule(
        sqlite_services, NewSchedule(plan="DR", expression="cron(0 3 * * ? *)"), "alice"
    )
    approve_schedule(sqlite_services, schedule.schedule_id, "bob", backend=local_backend(sqlite_services))
    clock.advance(3 * 3600 + 5)  # a few seconds after the fire
    return str(schedule.schedule_id)


def use(services: Any) -> Iterator[Any]:
    runtime.use(services)
    yield services
    runtime.use(None)


@pytest.fixture
def plain(sqlite_services: Any) -> Iterator[Any]:
    yield from use(sqlite_services)


@pytest.fixture
def idempotent(
    sqlite_services: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None
) -> Iterator[Any]:
    """The services with DRBOT_IDEMPOTENCY_TABLE set, the table on moto as the template makes it."""
    import boto3
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        settings = dataclasses.replace(sqlite_services.settings, idempotency_table=IDEMPOTENCY_TABLE)
        yield from use(dataclasses.replace(sqlite_services, settings=settings))


def fire(schedule_id: str) -> dict[str, Any]:
    return {"scheduleId": schedule_id, "scheduledTime": FIRE_TIME}


def scheduled(services: Any, schedule_id: str) -> list[Any]:
    return [e for e in services.store.list_executions(limit=100) if e.schedule_id == schedule_id]


def test_a_fire_starts_a_pre_approved_drill(
    plain: Any, schedule_id: str, reporter: RecordingReporter
) -> None:
    answer = handler.lambda_handler(fire(schedule_id), None)

    (execution,) = scheduled(plain, schedule_id)
    assert answer == {
        "outcome": "STARTED",
        "scheduleId": schedule_id,
        "scheduledTime": 1767236400,
        "message": "Started the scheduled drill of DR due Thu 2026-01-01 03:00 UTC",
        "executionId": execution.execution_id,
    }
    assert (execution.initiated_by, execution.execution_type) == (f"schedule:{schedule_id}", "DRILL")
    assert plain.driver.started == [execution.execution_id]
    # without the idempotency table the schedule's own claim answers a redelivery
    assert handler.lambda_handler(fire(schedule_id), None)["outcome"] == "DUPLICATE"
    assert len(scheduled(plain, schedule_id)) == 1
    assert reporter.reports == []


def test_a_redelivered_fire_is_answered_from_the_idempotency_record(
    idempotent: Any, schedule_id: str, reporter: RecordingReporter
) -> None:
    import boto3

    first = handler.lambda_handler(fire(schedule_id), LambdaContext())
    second = handler.lambda_handler(fire(schedule_id), LambdaContext())

    assert first["outcome"] == "STARTED"
    assert second == first  # the stored answer: the store was not asked again
    assert len(scheduled(idempotent, schedule_id)) == 1
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    assert [item["status"]["S"] for item in items] == ["COMPLETED"]


def test_fires_share_one_idempotency_persistence_layer(
    idempotent: Any, schedule_id: str, reporter: RecordingReporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The persistence layer (and its DynamoDB client) is built on a container's first fire, not on
    every fire."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    built: list[str] = []

    def counting(table_name: str) -> DynamoDBPersistenceLayer:
        built.append(table_name)
        return DynamoDBPersistenceLayer(table_name=table_name)

    monkeypatch.setattr(handler, "_persistence", {})
    monkeypatch.setattr(handler, "DynamoDBPersistenceLayer", counting)

    first = handler.lambda_handler(fire(schedule_id), LambdaContext())
    again = handler.lambda_handler(fire(schedule_id), LambdaContext())

    assert first["outcome"] == "STARTED"
    assert again == first
    assert built == [IDEMPOTENCY_TABLE]


def test_the_next_fire_is_a_new_drill_under_idempotency(
    idempotent: Any, schedule_id: str, reporter: RecordingReporter, clock: Any
) -> None:
    from orchestration.models import ExecutionStatus

    first = handler.lambda_handler(fire(schedule_id), LambdaContext())
    execution = idempotent.store.get_execution(first["executionId"])
    idempotent.store.update_execution(
        execution.with_status(ExecutionStatus.RUNNING, int(clock.now())).with_status(
            ExecutionStatus.COMPLETED, int(clock.now())
        ),
        "test",
    )
    clock.advance(86400)
    second = handler.lambda_handler(
        {"scheduleId": schedule_id, "scheduledTime": "2026-01-02T03:00:00Z"}, LambdaContext()
    )
    assert second["outcome"] == "STARTED" and second["executionId"] != first["executionId"]


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"scheduledTime": FIRE_TIME}, "scheduleId is missing"),
        ({"scheduleId": "s"}, "has no scheduledTime"),
        ({"scheduleId": "s", "scheduledTime": "<aws.scheduler.scheduled-time>"}, "not an ISO 8601 time"),
        ([], "is a JSON object"),
    ],
)
def test_an_event_that_is_not_a_fire_is_answered_and_changes_nothing(
    plain: Any, schedule_id: str, event: Any, words: str
) -> None:
    answer = handler.lambda_handler(event, None)
    assert answer["error"] == "VALIDATION_ERROR" and words in answer["message"]
    assert scheduled(plain, schedule_id) == []


def test_a_skipped_fire_is_reported(plain: Any, schedule_id: str, reporter: RecordingReporter) -> None:
    from tests.drills import start

    busy = start(plain, plain.store.find_plan_by_name("DR"))
    answer = handler.lambda_handler(fire(schedule_id), None)
    assert answer["outcome"] == "SKIPPED"
    (message,) = reporter.messages(schedule_id)
    assert f"its drill {busy[:8]} is still PENDING" in message


def test_parse_fire_reads_the_scheduled_time_as_utc() -> None:
    assert handler.parse_fire({"scheduleId": " s1 ", "scheduledTime": "2026-01-01T03:00:00Z"}) == (
        "s1",
        1767236400,
    )
    assert handler.parse_fire({"scheduleId": "s1", "scheduledTime": "2026-01-01T03:00:00"}) == (
        "s1",
        1767236400,
    )
    assert (
        handler.parse_fire({"scheduleId": "s1", "scheduledTime": "2026-01-01T04:00:00+01:00"})[1]
        == 1767236400
    )


ACCOUNT = "123456789012"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None) -> dict[str, str]:
    """Fake AWS credentials, and the settings of the scheduled-drill function in the template."""
    fake_aws_env(monkeypatch, tmp_path)
    return {
        "DRBOT_BACKEND": "aws",
        "DRBOT_SCHEDULER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/drbot-scheduler",
        "DRBOT_SCHEDULED_DRILL_FUNCTION_ARN": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:drbot-drill",
        "DRBOT_SCHEDULE_DLQ_ARN": f"arn:aws:sqs:us-east-1:{ACCOUNT}:drbot-schedule-dlq",
    }


def test_a_fire_of_a_deleted_plan_disables_its_eventbridge_schedule(
    sqlite_services: Any, schedule_id: str, reporter: RecordingReporter, aws_env: dict[str, str]
) -> None:
    import boto3
    from moto import mock_aws

    from orchestration.config import Settings
    from orchestration.services.plans import delete_recovery_plan
    from scheduler.backends.eventbridge import backend_from_settings

    with mock_aws():
        aws = dataclasses.replace(sqlite_services, settings=Settings.from_env(aws_env))
        eventbridge = backend_from_settings(aws.settings)
        eventbridge.ensure_group()
        eventbridge.register(aws.store.get_schedule(schedule_id))
        delete_recovery_plan(sqlite_services, aws.store.find_plan_by_name("DR").plan_id, "alice")
        runtime.use(aws)
        try:
            answer = handler.lambda_handler(fire(schedule_id), LambdaContext())
        finally:
            runtime.use(None)
        stored = boto3.client("scheduler", region_name="us-east-1").get_schedule(
            Name=f"drbot-{schedule_id}", GroupName="drbot"
        )
    assert answer["outcome"] == "PLAN_DELETED"
    assert stored["State"] == "DISABLED"
    assert aws.store.get_schedule(schedule_id).enabled is False
    (message,) = reporter.messages(schedule_id)
    assert "was deleted, so the drill due Thu 2026-01-01 03:00 UTC did not run" in message
