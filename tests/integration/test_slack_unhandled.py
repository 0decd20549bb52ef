"""A well-formed Slack request that no listener is for (a button, form or command of an older
drbot or another app, an event drbot did not subscribe to) is acked and answered privately, never
bolt's 404: Slack shows a 404 as an error to the person and retries an event that got one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.app import build_app
from bot.console_slack import InlineExecutor
from tests.fuzz.support import snapshot
from tests.integration.conftest import SLACK_SIGNING_SECRET
from tests.slack_requests import (
    block_actions,
    block_suggestion,
    event_callback,
    slash_command,
    view_submission,
)
from tests.slack_stub import SlackStub


@pytest.fixture
def app(slack_services: Any) -> Any:
    return build_app(slack_services, listener_executor=InlineExecutor())


def test_an_unknown_button_is_answered_privately_through_its_response_url(
    app: Any, slack_stub: SlackStub
) -> None:
    response_url = slack_stub.new_response_url()
    click = block_actions(SLACK_SIGNING_SECRET, "retired-button", value="x", response_url=response_url)

    response = app.dispatch(click.bolt())

    assert response.status == 200
    answer = slack_stub.answer_at(response_url).args
    assert answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is False
    assert "does not know this button (`retired-button`)" in answer["text"]
    assert slack_stub.violations == []


def test_an_unknown_slash_command_is_answered_in_the_ack(app: Any, slack_stub: SlackStub) -> None:
    command = slash_command(
        SLACK_SIGNING_SECRET, "plan list", response_url=slack_stub.new_response_url(), command="/drx"
    )

    response = app.dispatch(command.bolt())

    assert response.status == 200
    answer = json.loads(response.body)
    assert answer["response_type"] == "ephemeral"
    assert "`/drx`" in answer["text"] and "/dr help" in answer["text"]


def test_an_unknown_form_is_replaced_by_a_notice_and_nothing_is_saved(
    app: Any, slack_stub: SlackStub, slack_services: Any
) -> None:
    before = snapshot(slack_services)
    submission = view_submission(SLACK_SIGNING_SECRET, "retired_form", {})

    response = app.dispatch(submission.bolt())

    assert response.status == 200
    answer = json.loads(response.body)
    assert answer["response_action"] == "update"
    assert answer["view"]["type"] == "modal"
    assert "does not know this form (`retired_form`)" in json.dumps(answer["view"])
    assert snapshot(slack_services) == before


def test_type_ahead_of_an_unknown_menu_offers_nothing(app: Any) -> None:
    suggestion = block_suggestion(
        SLACK_SIGNING_SECRET, "retired_menu", "web", block_id="b", callback_id="retired_form"
    )

    response = app.dispatch(suggestion.bolt())

    assert response.status == 200
    assert json.loads(response.body) == {"options": []}


def test_an_event_drbot_did_not_subscribe_to_is_acked_so_slack_does_not_retry(app: Any) -> None:
    event = event_callback(
        SLACK_SIGNING_SECRET, {"type": "reaction_added", "user": "U0ALICE", "reaction": "tada"}
    )

    response = app.dispatch(event.bolt())

    assert response.status == 200
