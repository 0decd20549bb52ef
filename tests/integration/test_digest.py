"""The monthly digest (docs/schedules.md, "The monthly digest"; docs/report.md, "Monthly digest")
through its entry points: signed `/dr digest set|off|now` requests into the bolt app, the
data-management operations, the scheduled function's `{"task": "digest"}` event posting to the
loopback Slack, the local backend firing on the FakeClock, and EventBridge Scheduler on moto.

The drills run on the simulator: one that passes, one whose cleanup DRS refuses (simulator faults),
and a plan never drilled. Truth about what was left running comes from the simulator itself.

One piece, longer than most: every test shares the same drilled month on the simulator.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_app
from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.drs.simulator import DrsSimulator
from orchestration.handlers import data_management, runtime
from orchestration.models import CleanupStatus, ExecutionStatus
from orchestration.recurring import DIGEST_PRINCIPAL, RecordingRecurringTasks
from orchestration.services.digest_fire import RecordingDigestPoster
from scheduler import handler
from scheduler.backends import eventbridge
from scheduler.backends.eventbridge import DIGEST_SCHEDULE, SCHEDULED_TIME, EventBridgeSchedulerBackend
from scheduler.runtime import start_local_schedules, stop_local_schedules
from tests.conftest import fake_aws_env
from tests.drills import make_plan, start
from tests.integration.conftest import SLACK_SIGNING_SECRET, with_roles
from tests.integration.test_engine_cleanup import drive, drive_until_launched
from tests.integration.test_schedule_backends import TARGET
from tests.slack_requests import slash_command
from tests.slack_stub import SlackStub

ALICE, BOB, VICTOR = "U0ALICE01", "U0BOB0001", "U0VICTOR1"  # an operator, an approver, a viewer
ROLES = {"operator": [ALICE, "alice"], "approver": [BOB], "default": "viewer"}  # drills.py acts as "alice"
DIGEST_CHANNEL = "C0DIGEST01"
MONTHLY = "cron(0 9 1 * ? *)"
T0 = 1_767_225_600  # the FakeClock's start: 2026-01-01T00:00:00Z
DAY = 86_400
FEB_FIRE = "2026-02-01T09:00:00Z"  # <aws.scheduler.scheduled-time> of February's fire


@pytest.fixture
def services(slack_services: Any) -> Services:
    services: Services = with_roles(slack_services, ROLES)
    services.recurring = RecordingRecurringTasks()
    return services


def slash(services: Services, stub: SlackStub, text: str, user: str = ALICE) -> Any:
    """A signed `/dr <text>` into the real app; the answer Slack gets at the response_url."""
    app = build_app(services)
    response_url = stub.new_response_url()
    request = slash_command(SLACK_SIGNING_SECRET, text, response_url=response_url, user_id=user)
    response = app.dispatch(request.bolt())
    assert (response.status, response.body) == (200, "")
    return stub.answer_at(response_url)


def blocks_text(call: Any) -> str:
    """Every text of the message's blocks, one a line (as a person reads them)."""
    blocks = call.args["blocks"]
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(blocks) if isinstance(blocks, str) else blocks)
    return "\n".join(found)


# -- settings through signed Slack requests ----------------------------------------------------------


def test_digest_set_through_slack_saves_checked_settings_then_registers_them(
    services: Services, slack_stub: SlackStub
) -> None:
    answer = slash(
        services,
        slack_stub,
        f'digest set --channel <#{DIGEST_CHANNEL}|dr-reports> --schedule " {MONTHLY} " '
        "--timezone Europe/Berlin --expect-every 30d",
    )
    assert "changed the monthly digest" in answer.args["text"]
    saved = services.store.get_digest_settings()
    assert saved is not None
    assert (saved.schedule_expression, saved.schedule_timezone, saved.channel) == (
        MONTHLY,
        "Europe/Berlin",
        DIGEST_CHANNEL,
    )
    assert saved.expected_interval_days == 30 and saved.enabled and saved.last_modified_by == ALICE
    recorded = services.recurring
    assert isinstance(recorded, RecordingRecurringTasks)
    assert recorded.digest == (MONTHLY, "Europe/Berlin", True, T0)
    assert f"<#{DIGEST_CHANNEL}>" in blocks_text(answer) and "30 days" in blocks_text(answer)

    shown = slash(services, slack_stub, "digest show", user=VICTOR)  # reading needs no permission
    assert MONTHLY in blocks_text(shown) and "Europe/Berlin" in blocks_text(shown)

    off = slash(services, slack_stub, "digest off")
    assert "is off" in off.args["text"]
    assert recorded.digest == (MONTHLY, "Europe/Berlin", False, T0)
    stored = services.store.get_digest_settings()
    assert stored is not None and not stored.enabled and stored.version == 2


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f'digest set --channel {DIGEST_CHANNEL} --schedule "rate(6 hours)"', "not a fixed number of days"),
        (f'digest set --channel {DIGEST_CHANNEL} --schedule "rate(1 day)"', "e.g. cron(0 9 1 * ? *)"),
        (f'digest set --channel {DIGEST_CHANNEL} --schedule "cron(0 9,17 1 * ? *)"', "2 times a day"),
        (f'digest set --channel {DIGEST_CHANNEL} --schedule "cron(0 9 ? * MON *)"', "at most once a month"),
        (f'digest set --channel {DIGEST_CHANNEL} --schedule "at(2026-02-01T09:00:00)"', "at() fires once"),
        (f'digest set --channel {DIGEST_CHANNEL} --schedule "cron(0 9 1 *)"', "expected 6 fields"),
        (f"digest set --channel {DIGEST_CHANNEL} --timezone Mars/Olympus", "not an IANA"),
        ("digest set --channel #dr-reports", "give the channel's id"),
        ("digest set --channel dr-reports", "channel"),
        (f'digest set --schedule "{MONTHLY}"', "no channel to post to"),
        ("digest set --expect-every 0", "whole days from 1"),
        ("digest set", "at least one of"),
    ],
)
def test_a_bad_expression_or_channel_is_refused_clearly_and_nothing_is_stored(
    services: Services, slack_stub: SlackStub, text: str, words: str
) -> None:
    answer = slash(services, slack_stub, text)
    assert words in answer.args["text"] + blocks_text(answer)
    assert services.store.get_digest_settings() is None
    recorded = services.recurring
    assert isinstance(recorded, RecordingRecurringTasks) and recorded.calls == []


def test_only_who_may_manage_configuration_changes_the_digest(
    services: Services, slack_stub: SlackStub
) -> None:
    answer = slash(
        services, slack_stub, f'digest set --channel {DIGEST_CHANNEL} --schedule "{MONTHLY}"', VICTOR
    )
    assert answer.args["text"].startswith("PERMISSION_DENIED: U0VICTOR1 may not manage configuration")
    assert services.store.get_digest_settings() is None


def test_the_api_operations_read_and_change_the_settings(sqlite_services: Services) -> None:
    recorded = RecordingRecurringTasks()
    sqlite_services.recurring = recorded
    runtime.use(sqlite_services)
    try:
        before = data_management.lambda_handler({"operation": "get_digest_settings"}, None)
        refused = data_management.lambda_handler(
            {"operation": "update_digest_settings", "body": {"scheduleExpression": "rate(1 hour)"}}, None
        )
        saved = data_management.lambda_handler(
            {
                "operation": "update_digest_settings",
                "body": {
                    "scheduleExpression": MONTHLY,
                    "channel": DIGEST_CHANNEL,
                    "expectedIntervalDays": 45,
                },
            },
            None,
        )
    finally:
        runtime.use(None)
    assert before["expectedIntervalDays"] == 90 and "scheduleExpression" not in before
    assert refused["error"] == "INVALID_SCHEDULE_EXPRESSION" and "at most once a month" in refused["message"]
    assert saved["scheduleExpression"] == MONTHLY and saved["channel"] == DIGEST_CHANNEL
    assert saved["expectedIntervalDays"] == 45 and saved["version"] == 1
    assert recorded.calls == [("put_digest", MONTHLY, "UTC", "True")]  # the refused one: nothing


# -- the month's drills on the simulator -----------------------------------------------------------------


@pytest.fixture
def january(services: Services, clock: FakeClock, simulator: DrsSimulator) -> dict[str, str]:
    """In January 2026: plan DR's drill passes; plan "Web only"'s cleanup is refused by DRS until its
    deadline; plan "Never drilled" is never drilled."""
    services.settings = dataclasses.replace(services.settings, cleanup_deadline_minutes=30)
    db = [simulator.server_id("db-primary-01"), simulator.server_id("db-replica-01")]
    passing_plan = make_plan(
        services, [{"name": "DB", "group": "DB tier"}], {"DB tier": {"sourceServerIds": db}}
    )
    web_plan = make_plan(
        services,
        [{"name": "Web", "group": "Web tier"}],
        {"Web tier": {"serverSelectionTags": {"Tier": "web"}}},
        "Web only",
    )
    make_plan(
        services,
        [{"name": "App", "group": "App tier"}],
        {"App tier": {"serverSelectionTags": {"Tier": "app", "Application": "orders"}}},
        "Never drilled",
    )
    clock.advance(4 * DAY)
    passed = start(services, passing_plan)
    done = drive(services, clock, passed)
    assert done.status == ExecutionStatus.COMPLETED and done.cleanup.status == CleanupStatus.COMPLETED

    clock.advance(10 * DAY)
    failing = start(services, web_plan, cleanup_after_minutes=1)
    drive_until_launched(services, clock, failing)
    simulator.throttle_next(10**6, ["terminate_recovery_instances"])  # DRS refuses every termination
    failed = drive(services, clock, failing)
    assert failed.cleanup.status == CleanupStatus.FAILED
    simulator.clear_faults()
    left = simulator.running_instances()  # the truth: the web servers' drill instances still run
    assert len(left) == 3
    return {"passed": passed, "failed": failing, "left": ",".join(i["recoveryInstanceID"] for i in left)}


def configure(services: Services) -> None:
    from orchestration.services.digest_settings import UpdateDigestSettings, update_digest_settings
    from orchestration.validation import parse_model

    body = {"scheduleExpression": MONTHLY, "channel": DIGEST_CHANNEL}
    update_digest_settings(services, parse_model(UpdateDigestSettings, body), ALICE)


@pytest.fixture
def lambda_services(services: Services) -> Iterator[Services]:
    runtime.use(services)
    yield services
    runtime.use(None)


def test_the_scheduled_function_posts_januarys_digest_to_the_channel(
    lambda_services: Services, january: dict[str, str], clock: FakeClock, slack_stub: SlackStub
) -> None:
    configure(lambda_services)
    clock.set(datetime(2026, 2, 1, 9, 0, 5, tzinfo=UTC).timestamp())
    answer = handler.lambda_handler({"task": "digest", "scheduledTime": FEB_FIRE}, None)

    assert answer["outcome"] == "POSTED", answer
    assert answer["summary"] == {
        "requested": 2,
        "ran": 2,
        "passed": 1,
        "missedTarget": 0,
        "cleanupFailed": 1,
        "overduePlans": 1,
    }
    (post,) = slack_stub.calls("chat.postMessage")
    assert post.args["channel"] == DIGEST_CHANNEL
    assert post.args["text"].startswith("Drill digest: January 2026:")
    text = blocks_text(post)
    assert "*Failed to clean up: instances left running* (1)" in text
    assert f"`{january['failed'][:8]}` *Web only*" in text
    for instance in january["left"].split(","):  # every instance DRS still runs is named
        assert instance in text
    assert "*Passed* (1)" in text and f"`{january['passed'][:8]}` *DR*" in text
    assert "*Never drilled* · never drilled · expected every 90 days" in text
    assert "Web only* · last drilled" not in text  # drilled in January: within 90 days
    assert slack_stub.violations == []
    (audit,) = [a for a in lambda_services.store.list_audit() if a.action == "digest.posted"]
    assert audit.actor == DIGEST_PRINCIPAL and audit.details["channel"] == DIGEST_CHANNEL


def test_a_fire_covers_only_the_month_before_it(
    lambda_services: Services, january: dict[str, str], clock: FakeClock, slack_stub: SlackStub
) -> None:
    configure(lambda_services)
    clock.set(datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC).timestamp())
    answer = handler.lambda_handler({"task": "digest", "scheduledTime": "2026-03-01T09:00:00Z"}, None)
    assert answer["outcome"] == "POSTED"
    assert answer["summary"]["requested"] == 0  # February had no drills
    (post,) = slack_stub.calls("chat.postMessage")
    assert post.args["text"].startswith("Drill digest: February 2026:")


def test_a_plan_with_an_active_drill_schedule_is_expected_at_its_interval(
    lambda_services: Services, january: dict[str, str], clock: FakeClock, slack_stub: SlackStub
) -> None:
    from scheduler.runtime import local_backend
    from scheduler.service import NewSchedule, approve_schedule, create_schedule

    schedule = create_schedule(
        lambda_services, NewSchedule(plan="Web only", expression="cron(0 3 ? * MON *)"), ALICE
    )
    approve_schedule(lambda_services, schedule.schedule_id, BOB, backend=local_backend(lambda_services))
    configure(lambda_services)
    clock.set(datetime(2026, 2, 1, 9, 0, 5, tzinfo=UTC).timestamp())
    answer = handler.lambda_handler({"task": "digest", "scheduledTime": FEB_FIRE}, None)
    assert answer["summary"]["overduePlans"] == 2
    text = blocks_text(slack_stub.calls("chat.postMessage")[0])
    # weekly: 7 days + 1 day of grace, and its last drill (January 15) is older than that
    assert "*Web only* · last drilled 2026-01-15 · expected every 8 days (its drill schedule" in text


def test_the_scheduled_function_posts_nothing_when_the_digest_is_off(
    lambda_services: Services, slack_stub: SlackStub
) -> None:
    configure(lambda_services)
    slash(lambda_services, slack_stub, "digest off")
    slack_stub.reset()
    answer = handler.lambda_handler({"task": "digest", "scheduledTime": FEB_FIRE}, None)
    assert answer["outcome"] == "INACTIVE" and "disabled" in answer["message"]
    assert slack_stub.calls("chat.postMessage") == []


def test_a_post_slack_refuses_is_answered_and_audited(
    lambda_services: Services, slack_stub: SlackStub
) -> None:
    configure(lambda_services)
    slack_stub.fail("chat.postMessage", "not_in_channel")
    answer = handler.lambda_handler({"task": "digest", "scheduledTime": FEB_FIRE}, None)
    assert answer["outcome"] == "FAILED" and "not_in_channel" in answer["message"]
    assert sorted(a.action for a in lambda_services.store.list_audit() if a.actor == DIGEST_PRINCIPAL) == [
        "digest.claim",
        "digest.failed",
    ]
    # claimed, so never retried into a post: a redelivery of the failed fire posts nothing
    again = handler.lambda_handler({"task": "digest", "scheduledTime": FEB_FIRE}, None)
    assert again["outcome"] == "DUPLICATE"
    assert len(slack_stub.calls("chat.postMessage")) == 1  # the refused one, not tried again


def test_digest_now_shows_the_month_so_far(
    services: Services, january: dict[str, str], clock: FakeClock, slack_stub: SlackStub
) -> None:
    answer = slash(services, slack_stub, "digest now", user=VICTOR)
    assert answer.args["response_type"] == "ephemeral"
    assert answer.args["text"].startswith("Drill digest: January 2026 so far:")
    assert "2 requested" in answer.args["text"] and "1 failed to clean up" in answer.args["text"]
    assert slack_stub.calls("chat.postMessage") == []  # shown to the asker, not posted


# -- the local backend (embedded default) ----------------------------------------------------------------


def test_the_local_backend_fires_the_digest_on_the_clock(
    services: Services, january: dict[str, str], clock: FakeClock
) -> None:
    poster = RecordingDigestPoster()
    local = start_local_schedules(services, pump=False, digest_poster=poster)
    assert local is not None
    try:
        configure(services)  # saved in this process: registered with the local backend at once
        assert local.digest_job() == (MONTHLY, "UTC", True)
        assert local.next_digest() == datetime(2026, 2, 1, 9, tzinfo=UTC)
        clock.set(datetime(2026, 2, 1, 8, 59, tzinfo=UTC).timestamp())
        local.run_pending()
        assert poster.posts == []
        clock.advance(70)
        local.run_pending()
        local.run_pending()  # once per fire
        ((channel, digest),) = poster.posts
        assert channel == DIGEST_CHANNEL and digest.label == "January 2026"
        assert digest.counts.cleanup_failed == 1 and local.digest_fires[-1]["outcome"] == "POSTED"
    finally:
        stop_local_schedules(local)


# -- EventBridge Scheduler (moto) -------------------------------------------------------------------------


@pytest.fixture
def scheduler_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    monkeypatch.setattr(eventbridge, "_clients", {})
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name=TARGET.group)
        yield client


def test_eventbridge_holds_one_digest_schedule_whose_input_the_scheduled_function_reads(
    scheduler_client: Any,
) -> None:
    backend = EventBridgeSchedulerBackend(scheduler_client, TARGET)
    backend.put_digest(MONTHLY, "Europe/Berlin", True, since=T0)
    found = scheduler_client.get_schedule(Name=DIGEST_SCHEDULE, GroupName=TARGET.group)
    assert DIGEST_SCHEDULE == "drbot-digest"
    assert (found["ScheduleExpression"], found["ScheduleExpressionTimezone"]) == (MONTHLY, "Europe/Berlin")
    assert found["State"] == "ENABLED" and found["Target"]["Arn"] == TARGET.function_arn
    assert json.loads(found["Target"]["Input"]) == {"task": "digest", "scheduledTime": SCHEDULED_TIME}
    event = json.loads(found["Target"]["Input"].replace(SCHEDULED_TIME, FEB_FIRE))
    assert handler.parse_event(event) == {
        "task": "digest",
        "scheduledTime": int(datetime(2026, 2, 1, 9, tzinfo=UTC).timestamp()),
    }
    backend.remove_digest()
    assert backend.digest_entry() is None
    backend.remove_digest()  # already gone: no error


def test_a_run_whose_rto_or_rpo_verdict_is_missed_missed_a_target_and_did_not_pass(
    services: Services, january: dict[str, str], clock: FakeClock, simulator: DrsSimulator
) -> None:
    """The verdicts are the evidence report's. A drill of db-reporting-01, whose replication lags
    minutes behind in the simulator, misses a 5-minute RPO target; the passing drill, held against a
    1-minute RTO target, misses that."""
    from orchestration.services.digest import digest_run
    from orchestration.services.digest_query import digest_now

    reporting = make_plan(
        services,
        [{"name": "Reports", "group": "Reporting"}],
        {"Reporting": {"sourceServerIds": [simulator.server_id("db-reporting-01")]}},
        "Reporting",
    )
    reporting = services.store.update_plan(reporting.model_copy(update={"rpo_target_minutes": 5}), "alice")
    clock.advance(60)
    lagging = drive(services, clock, start(services, reporting))
    assert lagging.status == ExecutionStatus.COMPLETED
    run = digest_run(lagging, reporting)
    assert (run.rpo, run.rto, run.missed_target, run.passed) == ("MISSED", "NO_TARGET", True, False)

    passed = services.store.get_execution(january["passed"])
    plan = services.store.get_plan(passed.plan_id)
    assert passed.end_time - passed.start_time > 60
    # held against the target recorded at its request: as if the plan had said 1 minute then
    held = digest_run(passed.model_copy(update={"rto_target_minutes": 1}), plan)
    assert (held.rto, held.missed_target, held.passed) == ("MISSED", True, False)

    digest = digest_now(services)  # the month so far, with all three drills
    assert (digest.counts.requested, digest.counts.passed, digest.counts.missed_target) == (3, 1, 1)
    assert [r.plan_name for r in digest.runs if r.missed_target] == ["Reporting"]
