"""The schedule buttons through the real path: signed block_actions requests into `app.dispatch`,
answered through the loopback Slack stub (chat.update, the response_url), with roles of Slack user
ids: U0ALICE01 operates (and approves), U0BOB0001 approves, anyone else views. And the Slack reporter,
which says in the schedule's channel what a fire did not do."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from bot.app import build_app
from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.schedule_reporter import SlackScheduleReporter
from bot.views.ids import ScheduleActionId
from orchestration.models import Schedule
from scheduler.fire import fire_schedule
from scheduler.fire_result import FireOutcome
from scheduler.runtime import local_backend
from scheduler.state import ScheduleState, state_of
from tests.integration.conftest import SLACK_SIGNING_SECRET, with_roles
from tests.slack_requests import CHANNEL_ID, block_actions, slash_command
from tests.slack_stub import RESPONSE_URL, SlackStub

ALICE, BOB, VICTOR = "U0ALICE01", "U0BOB0001", "U0VICTOR1"
ROOT_TS = "1767225600.000200"  # the request, as the response_url posted it
ROLES = {"operator": [ALICE], "approver": [ALICE, BOB], "default": "viewer"}


@pytest.fixture
def services(slack_services: Any) -> Any:
    return with_roles(slack_services, ROLES)


@pytest.fixture
def app(services: Any) -> Any:
    return build_app(services)


@pytest.fixture
def schedule(services: Any) -> Schedule:
    """A monthly drill schedule of a one-wave plan requested by U0ALICE01 in the drills channel."""
    registry = build_registry()
    for text in (
        '/dr group create "DB tier" --server db-primary-01,db-replica-01',
        '/dr plan create "Prod DR" --wave "Database:DB tier"',
        '/dr schedule add "Prod DR" "cron(0 3 ? * SUN#1 *)" --tz Europe/Berlin',
    ):
        message = registry.dispatch(services, Invocation(text=text, user_id=ALICE, channel_id=CHANNEL_ID))
        assert not message.is_error, message.text
    (requested,) = services.store.list_schedules()
    return requested


def click(app: Any, stub: SlackStub, action: ScheduleActionId, schedule_id: str, user: str) -> str:
    response_url = stub.new_response_url()
    request = block_actions(
        SLACK_SIGNING_SECRET,
        action.value,
        value=schedule_id,
        block_id=ScheduleActionId.BLOCK.value,
        response_url=response_url,
        user_id=user,
        message_ts=ROOT_TS,
    )
    response = app.dispatch(request.bolt())
    assert (response.status, response.body) == (200, "")  # acked at once, empty
    return response_url


def test_an_approvers_click_approves_and_updates_the_request(
    app: Any, slack_stub: SlackStub, services: Any, schedule: Schedule
) -> None:
    response_url = click(app, slack_stub, ScheduleActionId.APPROVE, schedule.schedule_id, BOB)

    update = slack_stub.answer_at(response_url)
    assert update.args["replace_original"] is True
    assert "<@U0BOB0001> approved the schedule: its drills run unattended" in update.args["text"]
    blocks = json.dumps(update.args["blocks"])
    assert "approved by:* <@U0BOB0001>" in blocks and "Next drills" in blocks
    assert ScheduleActionId.APPROVE.value not in blocks  # the buttons are gone
    stored = services.store.get_schedule(schedule.schedule_id)
    assert (state_of(stored), stored.approved_by) == (ScheduleState.ACTIVE, BOB)
    assert slack_stub.calls("chat.update") == []
    assert slack_stub.violations == []


def test_the_requesters_own_click_is_refused_ephemerally(
    app: Any, slack_stub: SlackStub, services: Any, schedule: Schedule
) -> None:
    response_url = click(app, slack_stub, ScheduleActionId.APPROVE, schedule.schedule_id, ALICE)

    answer = slack_stub.answer_at(response_url)
    assert (answer.args["response_type"], answer.args["replace_original"]) == ("ephemeral", False)
    assert "U0ALICE01 requested this schedule and cannot approve it" in answer.args["text"]
    assert services.store.get_schedule(schedule.schedule_id) == schedule
    assert slack_stub.calls("chat.update") == []


def test_a_viewers_reject_is_refused_and_an_approvers_reject_deletes_the_request(
    app: Any, slack_stub: SlackStub, services: Any, schedule: Schedule
) -> None:
    refused = click(app, slack_stub, ScheduleActionId.REJECT, schedule.schedule_id, VICTOR)
    assert "U0VICTOR1 may not approve" in slack_stub.answer_at(refused).args["text"]
    assert services.store.list_schedules() == [schedule]

    rejected = click(app, slack_stub, ScheduleActionId.REJECT, schedule.schedule_id, BOB)
    update = slack_stub.answer_at(rejected)
    assert update.args["replace_original"] is True
    assert "U0BOB0001 rejected the schedule: rejected in Slack" in update.args["text"]
    assert services.store.list_schedules() == []
    assert slack_stub.violations == []


def test_a_double_approve_click_is_harmless(
    app: Any, slack_stub: SlackStub, services: Any, schedule: Schedule
) -> None:
    first = click(app, slack_stub, ScheduleActionId.APPROVE, schedule.schedule_id, BOB)
    assert slack_stub.answer_at(first).args["replace_original"] is True
    again = click(app, slack_stub, ScheduleActionId.APPROVE, schedule.schedule_id, BOB)
    answer = slack_stub.answer_at(again)
    assert (answer.args["response_type"], answer.args["replace_original"]) == ("ephemeral", False)
    assert "approved already, by U0BOB0001" in answer.args["text"]
    assert len(slack_stub.calls(RESPONSE_URL)) == 2


def test_a_skipped_fire_is_said_in_the_schedules_channel(
    app: Any, slack_stub: SlackStub, services: Any, schedule: Schedule, clock: Any
) -> None:
    from tests.drills import start

    backend = local_backend(services)
    slack_stub.answer_at(click(app, slack_stub, ScheduleActionId.APPROVE, schedule.schedule_id, BOB))
    busy = start(services, services.store.find_plan_by_name("Prod DR"))
    clock.set(1767492000 + 5)  # Sunday 4 January 2026, 03:00 in Berlin

    result = fire_schedule(
        services, schedule.schedule_id, 1767492000, SlackScheduleReporter(app.client), backend
    )

    assert result.outcome == FireOutcome.SKIPPED
    (post,) = slack_stub.wait_for("chat.postMessage")
    assert post.args["channel"] == CHANNEL_ID
    assert f"its drill {busy[:8]} is still PENDING" in post.args["text"]
    assert f"/dr schedule show {schedule.schedule_id[:8]}" in json.dumps(post.args["blocks"])
    assert slack_stub.violations == []


APPROVALS_CHANNEL = "C0APPROVALS"


def schedule_requested_in_slack(services: Any, stub: SlackStub, approvals: str, expression: str) -> Any:
    """With DRBOT_APPROVAL_CHANNEL `approvals`, U0ALICE01's signed `/dr schedule add` of a one-wave
    plan in the drills channel; returns the app and her answer (the response_url post)."""
    services.settings = dataclasses.replace(services.settings, approval_channel=approvals)
    app = build_app(services)
    registry = build_registry()
    for text in (
        '/dr group create "DB tier" --server db-primary-01',
        '/dr plan create "Prod DR" --wave "DB:DB tier"',
    ):
        assert not registry.dispatch(services, Invocation(text=text, user_id=ALICE)).is_error
    response_url = stub.new_response_url()
    text = f'schedule add "Prod DR" "{expression}" --tz Europe/Berlin'
    request = slash_command(SLACK_SIGNING_SECRET, text, response_url=response_url, user_id=ALICE)
    assert app.dispatch(request.bolt()).status == 200
    return app, stub.answer_at(response_url)


def test_a_schedule_request_made_in_slack_is_copied_to_the_approvals_channel_and_approvable_there(
    services: Any, slack_stub: SlackStub
) -> None:
    app, answer = schedule_requested_in_slack(
        services, slack_stub, APPROVALS_CHANNEL, "cron(0 3 ? * SUN#1 *)"
    )

    assert answer.args["response_type"] == "in_channel"
    assert f"A copy went to <#{APPROVALS_CHANNEL}>" in json.dumps(answer.args["blocks"])
    (copy,) = slack_stub.calls("chat.postMessage")
    assert copy.args["channel"] == APPROVALS_CHANNEL
    assert "Approval requested: drill schedule" in copy.args["text"]
    assert f"<#{CHANNEL_ID}>" in json.dumps(copy.args["blocks"])
    actions = [e["action_id"] for b in copy.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ScheduleActionId.APPROVE.value in actions
    (schedule,) = services.store.list_schedules()
    assert state_of(schedule) == ScheduleState.AWAITING_APPROVAL

    clicked = click(app, slack_stub, ScheduleActionId.APPROVE, schedule.schedule_id, BOB)  # on the copy
    assert "<@U0BOB0001> approved the schedule" in slack_stub.answer_at(clicked).args["text"]
    assert state_of(services.store.get_schedule(schedule.schedule_id)) == ScheduleState.ACTIVE
    assert slack_stub.violations == []


def test_a_schedule_request_made_in_the_approvals_channel_is_not_copied_there(
    services: Any, slack_stub: SlackStub
) -> None:
    _, answer = schedule_requested_in_slack(services, slack_stub, CHANNEL_ID, "rate(7 days)")

    assert "A copy went" not in json.dumps(answer.args["blocks"])
    assert slack_stub.calls("chat.postMessage") == []
