"""Tag sync on a schedule (docs/schedules.md, "Tag sync on a schedule"): the settings' expression is
checked by the expression engine before anything is saved; saved settings are told to the
RecurringTasks port; the local backend fires on the services' clock, EventBridge Scheduler (moto)
holds one `drbot-tag-sync` schedule; the scheduled function runs `{"task": "tag_sync"}` fires, which
re-read the settings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.drs.inventory import parse_inventory
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import InternalError, InvalidScheduleExpression
from orchestration.handlers import data_management, runtime
from orchestration.handlers.runtime import load_recurring_tasks
from orchestration.recurring import (
    TAG_SYNC_PRINCIPAL,
    NoRecurringTasks,
    RecordingRecurringTasks,
)
from orchestration.services.tag_sync import UpdateTagSyncSettings, update_tag_sync_settings
from orchestration.services.tag_sync_fire import run_scheduled_tag_sync
from orchestration.validation import parse_model
from scheduler import handler
from scheduler.backends import eventbridge
from scheduler.backends.eventbridge import SCHEDULED_TIME, TAG_SYNC_SCHEDULE, EventBridgeSchedulerBackend
from scheduler.runtime import start_local_schedules, stop_local_schedules
from tests.conftest import fake_aws_env
from tests.integration.test_schedule_backends import TARGET
from tests.integration.test_tag_sync import DRS_REGION, drs_tags, run_instance, server

T0 = 1_767_225_600  # the FakeClock's start: 2026-01-01T00:00:00Z
HOUR = 3600
FIRE_TIME = "2026-01-01T03:00:00Z"


def save(services: Services, actor: str = "alice", **fields: Any) -> Any:
    return update_tag_sync_settings(services, parse_model(UpdateTagSyncSettings, fields), actor)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.fixture
def recorded(sqlite_services: Services) -> RecordingRecurringTasks:
    recording = RecordingRecurringTasks()
    sqlite_services.recurring = recording
    return recording


# -- the settings: checked, saved, then told ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"scheduleExpression": "cron(0 3 * *)"}, "expected 6 fields"),
        ({"scheduleExpression": "every hour"}, "use cron("),
        ({"scheduleExpression": "rate(1 hours)"}, "use 'hour' for 1"),
        ({"scheduleExpression": "rate(\u0661 hour)"}, "positive whole number"),  # ASCII digits only
        ({"scheduleExpression": "rate(30 minutes)"}, "at most once an hour"),
        ({"scheduleExpression": "rate(59 minutes)"}, "at most once an hour"),
        ({"scheduleExpression": "cron(0,30 * * * ? *)"}, "2 times an hour"),
        ({"scheduleExpression": "cron(*/15 9-17 ? * MON-FRI *)"}, "4 times an hour"),
        ({"scheduleExpression": "at(2026-12-01T03:00:00)"}, "at() fires once"),
        ({"scheduleExpression": "rate(1 hour)", "scheduleTimezone": "Mars/Olympus"}, "not an IANA"),
        ({"scheduleTimezone": "europe/berlin"}, "not an IANA"),
    ],
)
def test_a_bad_schedule_is_refused_before_anything_is_saved_or_registered(
    sqlite_services: Services, recorded: RecordingRecurringTasks, fields: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidScheduleExpression) as refused:
        save(sqlite_services, **fields)
    assert refused.value.status == 400 and words in refused.value.message
    assert sqlite_services.store.get_tag_sync_settings() is None
    assert recorded.calls == []


def test_the_update_operation_answers_400_with_the_engines_message(
    sqlite_services: Services, recorded: RecordingRecurringTasks
) -> None:
    runtime.use(sqlite_services)
    try:
        answer = data_management.lambda_handler(
            {"operation": "update_tag_sync_settings", "body": {"scheduleExpression": "rate(5 minutes)"}},
            None,
        )
    finally:
        runtime.use(None)
    assert answer["error"] == "INVALID_SCHEDULE_EXPRESSION"
    assert "at most once an hour" in answer["message"]
    assert sqlite_services.store.get_tag_sync_settings() is None and recorded.calls == []


def test_a_schedule_is_saved_in_canonical_form_then_registered(
    sqlite_services: Services, recorded: RecordingRecurringTasks, clock: FakeClock
) -> None:
    saved = save(
        sqlite_services, scheduleExpression=" cron(15 3 ? * mon-fri *) ", scheduleTimezone="Europe/Berlin"
    )
    assert (saved.schedule_expression, saved.schedule_timezone) == (
        "cron(15 3 ? * MON-FRI *)",
        "Europe/Berlin",
    )
    assert sqlite_services.store.get_tag_sync_settings() == saved
    assert recorded.tag_sync == ("cron(15 3 ? * MON-FRI *)", "Europe/Berlin", True, T0)
    assert saved.to_wire()["scheduleExpression"] == "cron(15 3 ? * MON-FRI *)"

    clock.advance(60)
    disabled = save(sqlite_services, enabled=False, version=saved.version)
    assert recorded.tag_sync == ("cron(15 3 ? * MON-FRI *)", "Europe/Berlin", False, T0 + 60)

    removed = save(sqlite_services, scheduleExpression=None, version=disabled.version)
    assert removed.schedule_expression is None and removed.schedule_timezone == "Europe/Berlin"
    assert recorded.tag_sync is None and recorded.calls[-1] == ("remove_tag_sync",)


@pytest.mark.parametrize(
    "expression", ["rate(1 hour)", "rate(90 minutes)", "rate(1 day)", "cron(0 * * * ? *)"]
)
def test_hourly_or_rarer_is_accepted(sqlite_services: Services, expression: str) -> None:
    assert save(sqlite_services, scheduleExpression=expression).schedule_expression == expression


def test_a_stale_version_saves_nothing_and_registers_nothing(
    sqlite_services: Services, recorded: RecordingRecurringTasks
) -> None:
    from orchestration.errors import StaleVersion

    saved = save(sqlite_services, scheduleExpression="rate(2 hours)")
    with pytest.raises(StaleVersion):
        save(sqlite_services, scheduleExpression="rate(3 hours)", version=saved.version + 5)
    assert recorded.tag_sync is not None and recorded.tag_sync[0] == "rate(2 hours)"
    assert len(recorded.calls) == 1


def test_a_backend_that_refuses_leaves_the_saved_settings_and_says_so(
    sqlite_services: Services, recorded: RecordingRecurringTasks
) -> None:
    recorded.fail_next = 1
    with pytest.raises(InternalError) as failed:
        save(sqlite_services, scheduleExpression="rate(2 hours)")
    assert "were saved (version 1)" in failed.value.message and "save them again" in failed.value.message
    stored = sqlite_services.store.get_tag_sync_settings()
    assert stored is not None and stored.schedule_expression == "rate(2 hours)"


def test_the_recurring_tasks_factory_is_loaded_by_name(sqlite_services: Services) -> None:
    from orchestration.errors import ValidationFailed
    from scheduler.backends.port import ScheduleBackend

    assert load_recurring_tasks(sqlite_services, None) is None
    assert isinstance(
        load_recurring_tasks(sqlite_services, "scheduler.runtime:recurring_tasks"), ScheduleBackend
    )
    with pytest.raises(ValidationFailed, match="cannot be loaded"):
        load_recurring_tasks(sqlite_services, "scheduler.runtime:no_such_factory")
    with pytest.raises(ValidationFailed, match="module:function"):
        load_recurring_tasks(sqlite_services, "scheduler.runtime")


# -- the local backend (embedded default) ----------------------------------------------------------------


def test_the_local_scheduler_registers_the_saved_schedule_when_it_starts(
    sqlite_services: Services, clock: FakeClock
) -> None:
    save(sqlite_services, scheduleExpression="cron(0 3 * * ? *)", scheduleTimezone="Europe/Berlin")
    local = start_local_schedules(sqlite_services, pump=False)
    assert local is not None
    try:
        assert sqlite_services.recurring is local
        assert local.tag_sync_job() == ("cron(0 3 * * ? *)", "Europe/Berlin", True)
        assert local.next_tag_sync() == datetime(2026, 1, 1, 2, 0, tzinfo=UTC)  # 03:00 in Berlin
    finally:
        stop_local_schedules(local)
    assert isinstance(sqlite_services.recurring, NoRecurringTasks)


def test_saving_updates_disables_and_removes_the_local_job(
    sqlite_services: Services, clock: FakeClock
) -> None:
    local = start_local_schedules(sqlite_services, pump=False)
    assert local is not None and local.tag_sync_job() is None
    try:
        saved = save(sqlite_services, scheduleExpression="rate(2 hours)")
        assert local.tag_sync_job() == ("rate(2 hours)", "UTC", True)
        assert local.next_tag_sync() == at(T0 + 2 * HOUR)  # one interval after the save

        clock.advance(HOUR)
        saved = save(sqlite_services, scheduleExpression="cron(30 6 * * ? *)", version=saved.version)
        assert local.next_tag_sync() == datetime(2026, 1, 1, 6, 30, tzinfo=UTC)

        saved = save(sqlite_services, enabled=False, version=saved.version)
        assert local.tag_sync_job() == ("cron(30 6 * * ? *)", "UTC", False)
        assert local.next_tag_sync() is None

        save(sqlite_services, scheduleExpression=None, version=saved.version)
        assert local.tag_sync_job() is None and local.next_tag_sync() is None
    finally:
        stop_local_schedules(local)


def test_a_change_another_process_saved_is_picked_up_by_the_pump(
    sqlite_services: Services, clock: FakeClock
) -> None:
    local = start_local_schedules(sqlite_services, pump=False)
    assert local is not None
    try:
        sqlite_services.recurring = NoRecurringTasks()  # as if the save happened elsewhere
        save(sqlite_services, scheduleExpression="rate(3 hours)")
        assert local.tag_sync_job() is None
        local.run_pending()
        assert local.tag_sync_job() == ("rate(3 hours)", "UTC", True)
        assert local.next_tag_sync() == at(T0 + 3 * HOUR)
    finally:
        stop_local_schedules(local)


# -- firing ----------------------------------------------------------------------------------------------


@pytest.fixture
def estate(aws_services: Services, simulator: DrsSimulator) -> dict[str, str]:
    """One source server replicating a moto instance whose tags differ from the server's."""
    web = run_instance(aws_services, {"Name": "web-01", "Tier": "web"})
    simulator.reset(parse_inventory({"servers": [server("web-01", web, {"Tier": "old-value"})]}))
    return {"web": web}


def runs(services: Services) -> list[Any]:
    return [e for e in services.store.list_audit("tag_sync:default") if e.action == "tag_sync.run"]


def test_the_local_backend_fires_the_sync_when_due_on_the_clock(
    aws_services: Services, simulator: DrsSimulator, clock: FakeClock, estate: dict[str, str]
) -> None:
    local = start_local_schedules(aws_services, pump=False)
    assert local is not None
    try:
        save(aws_services, scheduleExpression="rate(1 hour)")
        clock.advance(HOUR - 1)
        local.run_pending()
        assert local.tag_sync_fires == [] and runs(aws_services) == []

        clock.advance(1)
        local.run_pending()
        (fire,) = local.tag_sync_fires
        assert (fire["outcome"], fire["scheduledTime"]) == ("SYNCED", T0 + HOUR)
        assert fire["summary"]["serversUpdated"] == 1 and fire["summary"]["tagsApplied"] == 2
        assert drs_tags(aws_services, simulator, "web-01") == {"Name": "web-01", "Tier": "web"}
        (run,) = runs(aws_services)
        assert run.actor == TAG_SYNC_PRINCIPAL

        local.run_pending()  # the same fire is not run twice
        assert len(local.tag_sync_fires) == 1

        clock.advance(3 * HOUR + 10)  # several due at once run once
        local.run_pending()
        assert [f["scheduledTime"] for f in local.tag_sync_fires] == [T0 + HOUR, T0 + 4 * HOUR]
        assert local.tag_sync_fires[-1]["summary"]["serversUnchanged"] == 1
    finally:
        stop_local_schedules(local)


def test_a_disabled_schedule_does_not_fire_locally(
    aws_services: Services, clock: FakeClock, estate: dict[str, str]
) -> None:
    local = start_local_schedules(aws_services, pump=False)
    assert local is not None
    try:
        saved = save(aws_services, scheduleExpression="rate(1 hour)")
        save(aws_services, enabled=False, version=saved.version)
        clock.advance(5 * HOUR)
        local.run_pending()
        assert local.tag_sync_fires == [] and runs(aws_services) == []
    finally:
        stop_local_schedules(local)


def test_a_fire_re_reads_the_settings_so_a_lagging_backend_syncs_nothing(
    aws_services: Services, simulator: DrsSimulator, estate: dict[str, str]
) -> None:
    assert run_scheduled_tag_sync(aws_services, T0)["outcome"] == "INACTIVE"  # no schedule saved
    saved = save(aws_services, scheduleExpression="rate(1 hour)")
    save(aws_services, enabled=False, version=saved.version)
    answer = run_scheduled_tag_sync(aws_services, T0 + HOUR)
    assert answer["outcome"] == "INACTIVE" and "disabled" in answer["message"]
    assert runs(aws_services) == []
    assert drs_tags(aws_services, simulator, "web-01") == {"Tier": "old-value"}


def test_a_sync_that_fails_is_answered_and_audited_not_raised(sqlite_services: Services) -> None:
    class Refusing:
        def client(self, service: str, region: str, account_id: str | None = None) -> Any:
            from orchestration.errors import ValidationFailed

            raise ValidationFailed("EC2 is not reachable here (test).")

    sqlite_services.aws = Refusing()  # type: ignore[assignment]
    save(sqlite_services, scheduleExpression="rate(1 hour)")
    answer = run_scheduled_tag_sync(sqlite_services, T0 + HOUR)
    assert answer["outcome"] == "FAILED" and "EC2 is not reachable" in answer["message"]
    (event,) = [
        e for e in sqlite_services.store.list_audit("tag_sync:default") if e.action == "tag_sync.failed"
    ]
    assert event.actor == TAG_SYNC_PRINCIPAL and event.details["scheduledTime"] == T0 + HOUR


# -- the scheduled function ------------------------------------------------------------------------------


@pytest.fixture
def lambda_services(aws_services: Services) -> Iterator[Services]:
    runtime.use(aws_services)
    yield aws_services
    runtime.use(None)


def test_the_scheduled_function_runs_a_tag_sync_fire(
    lambda_services: Services, simulator: DrsSimulator, estate: dict[str, str]
) -> None:
    save(lambda_services, scheduleExpression="cron(0 3 * * ? *)")
    answer = handler.lambda_handler({"task": "tag_sync", "scheduledTime": FIRE_TIME}, None)
    assert answer["task"] == "tag_sync" and answer["outcome"] == "SYNCED"
    assert answer["scheduledTime"] == int(datetime(2026, 1, 1, 3, tzinfo=UTC).timestamp())
    assert answer["summary"] == {
        "regions": [DRS_REGION],
        "serversScanned": 1,
        "serversUpdated": 1,
        "serversUnchanged": 0,
        "serversWithoutEc2Instance": 0,
        "tagsApplied": 2,
        "instancesNotFound": 0,
        "failed": 0,
    }
    assert drs_tags(lambda_services, simulator, "web-01") == {"Name": "web-01", "Tier": "web"}

    again = handler.lambda_handler({"task": "tag_sync", "scheduledTime": FIRE_TIME}, None)  # a redelivery
    assert again["outcome"] == "SYNCED" and again["summary"]["serversUpdated"] == 0  # harmless


def test_the_scheduled_function_does_nothing_when_the_settings_are_disabled(
    lambda_services: Services, simulator: DrsSimulator, estate: dict[str, str]
) -> None:
    saved = save(lambda_services, scheduleExpression="cron(0 3 * * ? *)")
    save(lambda_services, enabled=False, version=saved.version)
    answer = handler.lambda_handler({"task": "tag_sync", "scheduledTime": FIRE_TIME}, None)
    assert answer["outcome"] == "INACTIVE"
    assert runs(lambda_services) == []
    assert drs_tags(lambda_services, simulator, "web-01") == {"Tier": "old-value"}


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"task": "tag-sync", "scheduledTime": FIRE_TIME}, "Unknown scheduled task"),
        ({"task": ["tag_sync"], "scheduledTime": FIRE_TIME}, "Unknown scheduled task"),
        ({"task": "tag_sync"}, "no scheduledTime"),
        ({"task": "tag_sync", "scheduledTime": "yesterday"}, "not an ISO 8601 time"),
        ({"task": "tag_sync", "scheduleId": "s1", "scheduledTime": FIRE_TIME}, "not both"),
    ],
)
def test_a_malformed_task_event_is_answered_with_the_error_shape(
    lambda_services: Services, event: dict[str, Any], words: str
) -> None:
    save(lambda_services, scheduleExpression="cron(0 3 * * ? *)")
    answer = handler.lambda_handler(event, None)
    assert answer["error"] == "VALIDATION_ERROR" and words in answer["message"]
    assert runs(lambda_services) == []


# -- EventBridge Scheduler (moto) -------------------------------------------------------------------------


@pytest.fixture
def scheduler_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    monkeypatch.setattr(eventbridge, "_clients", {})  # the process's client is built inside the mock
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name=TARGET.group)
        yield client


def get(client: Any) -> dict[str, Any]:
    found: dict[str, Any] = client.get_schedule(Name=TAG_SYNC_SCHEDULE, GroupName=TARGET.group)
    return found


def test_eventbridge_holds_one_tag_sync_schedule_targeting_the_scheduled_function(
    scheduler_client: Any,
) -> None:
    backend = EventBridgeSchedulerBackend(scheduler_client, TARGET)
    backend.put_tag_sync("rate(2 hours)", "UTC", True, since=T0)
    found = get(scheduler_client)
    assert TAG_SYNC_SCHEDULE == "drbot-tag-sync"
    assert (found["ScheduleExpression"], found["ScheduleExpressionTimezone"]) == ("rate(2 hours)", "UTC")
    assert found["State"] == "ENABLED" and found["GroupName"] == TARGET.group
    assert found["StartDate"] == at(T0 + 2 * HOUR)  # one interval after the save, not at once
    assert found["Target"]["Arn"] == TARGET.function_arn and found["Target"]["RoleArn"] == TARGET.role_arn
    assert json.loads(found["Target"]["Input"]) == {"task": "tag_sync", "scheduledTime": SCHEDULED_TIME}
    assert handler.parse_event(json.loads(found["Target"]["Input"].replace(SCHEDULED_TIME, FIRE_TIME))) == {
        "task": "tag_sync",
        "scheduledTime": int(datetime(2026, 1, 1, 3, tzinfo=UTC).timestamp()),
    }

    backend.put_tag_sync("cron(0 3 ? * MON *)", "Europe/Berlin", False, since=T0 + 60)
    found = get(scheduler_client)
    assert (found["ScheduleExpression"], found["ScheduleExpressionTimezone"]) == (
        "cron(0 3 ? * MON *)",
        "Europe/Berlin",
    )
    assert found["State"] == "DISABLED" and "StartDate" not in found
    assert backend.tag_sync_entry() is not None

    backend.remove_tag_sync()
    assert backend.tag_sync_entry() is None
    backend.remove_tag_sync()  # already gone: no error


def test_the_update_operation_registers_with_eventbridge_through_the_configured_factory(
    sqlite_services: Services, scheduler_client: Any
) -> None:
    settings = dataclasses.replace(
        sqlite_services.settings,
        backend="aws",
        region="us-east-1",
        schedule_group=TARGET.group,
        scheduled_drill_function_arn=TARGET.function_arn,
        scheduler_role_arn=TARGET.role_arn,
        schedule_dlq_arn=TARGET.dead_letter_arn,
    )
    services = dataclasses.replace(sqlite_services, settings=settings)
    recurring = load_recurring_tasks(services, "scheduler.runtime:recurring_tasks")
    assert recurring is not None
    services.recurring = recurring

    saved = save(services, scheduleExpression="cron(0 4 * * ? *)", scheduleTimezone="America/New_York")
    found = get(scheduler_client)
    assert (found["ScheduleExpression"], found["ScheduleExpressionTimezone"]) == (
        "cron(0 4 * * ? *)",
        "America/New_York",
    )
    drill_schedules = scheduler_client.list_schedules(GroupName=TARGET.group)["Schedules"]
    assert [s["Name"] for s in drill_schedules] == ["drbot-tag-sync"]

    save(services, scheduleExpression=None, version=saved.version)
    assert scheduler_client.list_schedules(GroupName=TARGET.group)["Schedules"] == []
