"""The execution buttons through the real path: signed block_actions and view_submission requests
into `app.dispatch`, answered through the loopback Slack stub (chat.update, views.open, the
response_url), with roles of Slack user ids: U0ALICE01 operates (and approves), U0BOB0001 and U0CAROL01
approve, anyone else views."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.app import build_app
from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.ids import ActionId, BlockId
from bot.views.reject_modal import EMPTY_REASON, RejectModalId
from orchestration.engine.advance import advance
from orchestration.models import Execution, ExecutionStatus
from orchestration.services.execution_control import approve_execution
from tests.integration.conftest import SLACK_SIGNING_SECRET, with_roles
from tests.slack_requests import CHANNEL_ID, block_actions, view_submission
from tests.slack_stub import RESPONSE_URL, RecordedCall, SlackStub

ALICE, BOB, CAROL, VICTOR = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0VICTOR1"
ROOT_TS = "1767225600.000100"
# U0ALICE01 approves too, to show that a requester never approves their own run
ROLES = {"operator": [ALICE], "approver": [ALICE, BOB, CAROL], "default": "viewer"}


@pytest.fixture
def services(slack_services: Any) -> Any:
    return with_roles(slack_services, ROLES)


@pytest.fixture
def app(services: Any) -> Any:
    return build_app(services)


@pytest.fixture
def execution(services: Any) -> Execution:
    """A drill of a 2-wave plan requested by U0ALICE01, awaiting one approval."""
    registry = build_registry()
    for text in (
        '/dr group create "DB tier" --server db-primary-01,db-replica-01',
        '/dr group create "Web tier" --tag Tier=web',
        '/dr plan create "Prod DR" --wave "Database:DB tier" --wave "Web:Web tier"',
        '/dr plan run "Prod DR" --reason "monthly drill"',
    ):
        message = registry.dispatch(services, Invocation(text=text, user_id=ALICE, channel_id=CHANNEL_ID))
        assert not message.is_error, message.text
    [requested] = services.store.list_executions()
    assert requested.status == ExecutionStatus.PENDING_APPROVAL
    return requested


def click(app: Any, stub: SlackStub, action: ActionId, execution_id: str, user: str) -> str:
    """A click on the execution's root message; returns the click's response_url."""
    response_url = stub.new_response_url()
    request = block_actions(
        SLACK_SIGNING_SECRET,
        action.value,
        value=execution_id,
        block_id=BlockId.EXECUTION_ACTIONS.value,
        response_url=response_url,
        user_id=user,
        message_ts=ROOT_TS,
    )
    response = app.dispatch(request.bolt())
    assert (response.status, response.body) == (200, "")  # acked at once, empty
    return response_url


def stored(services: Any, execution: Execution) -> Execution:
    result: Execution = services.store.get_execution(execution.execution_id)
    return result


def buttons_of(call: RecordedCall) -> list[str]:
    return [
        element["action_id"]
        for block in call.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def assert_refused(stub: SlackStub, response_url: str, words: str) -> None:
    answer = stub.answer_at(response_url)
    assert answer.args["response_type"] == "ephemeral"
    assert answer.args["replace_original"] is False
    assert words in answer.args["text"]
    assert stub.calls("chat.update") == []
    assert stub.violations == []


# -- approve -----------------------------------------------------------------------------------------


def test_an_approvers_click_starts_the_run_and_updates_the_message(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    click(app, slack_stub, ActionId.APPROVE, execution.execution_id, BOB)

    (update,) = slack_stub.wait_for("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL_ID, ROOT_TS)
    assert "<@U0BOB0001> approved the drill (1 of 1): it starts now" in update.args["text"]
    assert "Approvals:* 1/1 (<@U0BOB0001>)" in json.dumps(update.args["blocks"])
    assert buttons_of(update) == [ActionId.CANCEL.value]
    assert stored(services, execution).status == ExecutionStatus.PENDING
    assert services.driver.started == [execution.execution_id]
    assert slack_stub.calls(RESPONSE_URL) == []  # nothing more is said
    assert slack_stub.violations == []


def test_the_requesters_own_click_is_refused_ephemerally_and_changes_nothing(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    response_url = click(app, slack_stub, ActionId.APPROVE, execution.execution_id, ALICE)

    assert_refused(slack_stub, response_url, "U0ALICE01 requested this drill and cannot approve it")
    assert stored(services, execution) == execution
    assert services.driver.started == []


def test_a_user_who_may_not_approve_is_refused_ephemerally(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    response_url = click(app, slack_stub, ActionId.APPROVE, execution.execution_id, VICTOR)

    assert_refused(slack_stub, response_url, "U0VICTOR1 may not approve: that needs the role admin, approver")
    assert stored(services, execution) == execution
    assert services.driver.started == []


def test_a_double_approve_click_is_harmless(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    first = click(app, slack_stub, ActionId.APPROVE, execution.execution_id, BOB)
    second = click(app, slack_stub, ActionId.APPROVE, execution.execution_id, BOB)

    slack_stub.wait_for("chat.update")
    (answer,) = slack_stub.wait_for(RESPONSE_URL)  # the click that found it done
    assert answer.path in (first.removeprefix(slack_stub.base_url), second.removeprefix(slack_stub.base_url))
    assert answer.args["response_type"] == "ephemeral"
    assert "You already approved this drill" in answer.args["text"]
    saved = stored(services, execution)
    assert [a.user_id for a in saved.approvals] == [BOB]
    assert services.driver.started == [execution.execution_id]
    assert len(slack_stub.calls("chat.update")) == 1
    assert slack_stub.violations == []


# -- reject: a modal asks why ------------------------------------------------------------------------


def open_reject_modal(app: Any, stub: SlackStub, execution: Execution, user: str = CAROL) -> dict[str, Any]:
    click(app, stub, ActionId.REJECT, execution.execution_id, user)
    (opened,) = stub.wait_for("views.open")
    view: dict[str, Any] = opened.args["view"]
    assert opened.args["trigger_id"]
    assert view["callback_id"] == RejectModalId.CALLBACK.value
    return view


def submit_reason(app: Any, view: dict[str, Any], reason: str, user: str = CAROL) -> Any:
    values = {
        RejectModalId.REASON_BLOCK.value: {
            RejectModalId.REASON_INPUT.value: {"type": "plain_text_input", "value": reason}
        }
    }
    request = view_submission(
        SLACK_SIGNING_SECRET,
        RejectModalId.CALLBACK.value,
        values,
        private_metadata=view["private_metadata"],
        user_id=user,
        blocks=view["blocks"],
    )
    return app.dispatch(request.bolt())


def test_reject_through_the_modal_records_the_reason(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    view = open_reject_modal(app, slack_stub, execution)
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["element"]["type"] for b in inputs] == ["plain_text_input"]

    response = submit_reason(app, view, "  change freeze until Friday ")

    assert (response.status, response.body) == (200, "")  # the modal closes
    (update,) = slack_stub.wait_for("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL_ID, ROOT_TS)
    assert "<@U0CAROL01> rejected the drill: change freeze until Friday" in update.args["text"]
    assert buttons_of(update) == []
    saved = stored(services, execution)
    assert saved.status == ExecutionStatus.REJECTED
    assert saved.status_reason == "Rejected by U0CAROL01: change freeze until Friday"
    assert services.driver.started == []
    assert slack_stub.violations == []


def test_an_empty_reason_comes_back_inline_and_changes_nothing(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    view = open_reject_modal(app, slack_stub, execution)

    response = submit_reason(app, view, "   ")

    assert response.status == 200
    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {RejectModalId.REASON_BLOCK.value: EMPTY_REASON},
    }
    assert stored(services, execution) == execution
    assert slack_stub.calls("chat.update") == []
    assert slack_stub.violations == []


def test_a_viewer_clicking_reject_is_refused_before_any_modal_opens(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    response_url = click(app, slack_stub, ActionId.REJECT, execution.execution_id, VICTOR)

    assert_refused(slack_stub, response_url, "U0VICTOR1 may not approve")
    assert slack_stub.calls("views.open") == []
    assert stored(services, execution) == execution


def test_a_reject_by_someone_who_lost_the_role_meanwhile_is_refused_ephemerally(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    view = open_reject_modal(app, slack_stub, execution)

    submit_reason(app, view, "I do not like it", user=VICTOR)  # the service checks again

    (whisper,) = slack_stub.wait_for("chat.postEphemeral")
    assert (whisper.args["channel"], whisper.args["user"]) == (CHANNEL_ID, VICTOR)
    assert "U0VICTOR1 may not approve" in whisper.args["text"]
    assert stored(services, execution) == execution
    assert slack_stub.calls("chat.update") == []
    assert slack_stub.violations == []


# -- pause, resume, cancel ---------------------------------------------------------------------------


def test_an_operator_pauses_resumes_and_cancels_with_the_buttons(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    approve_execution(services, execution.execution_id, BOB)
    advance(services, execution.execution_id)
    assert stored(services, execution).status == ExecutionStatus.RUNNING

    steps = [
        (
            ActionId.PAUSE,
            ExecutionStatus.PAUSED,
            "<@U0ALICE01> paused the drill",
            [ActionId.RESUME, ActionId.CANCEL],
        ),
        (
            ActionId.RESUME,
            ExecutionStatus.RUNNING,
            "<@U0ALICE01> resumed the drill",
            [ActionId.PAUSE, ActionId.CANCEL],
        ),
        (ActionId.CANCEL, ExecutionStatus.CANCELLING, "<@U0ALICE01> cancelled the drill", []),
    ]
    for count, (action, status, words, buttons) in enumerate(steps, start=1):
        click(app, slack_stub, action, execution.execution_id, ALICE)
        update = slack_stub.wait_for("chat.update", count=count)[-1]
        assert words in update.args["text"]
        assert buttons_of(update) == [b.value for b in buttons]
        assert stored(services, execution).status == status
    assert slack_stub.calls(RESPONSE_URL) == []
    assert slack_stub.violations == []


def test_an_approver_may_not_pause(
    app: Any, slack_stub: SlackStub, services: Any, execution: Execution
) -> None:
    approve_execution(services, execution.execution_id, BOB)
    advance(services, execution.execution_id)
    before = stored(services, execution)

    response_url = click(app, slack_stub, ActionId.PAUSE, execution.execution_id, BOB)

    assert_refused(slack_stub, response_url, "U0BOB0001 may not control execution")
    assert stored(services, execution) == before
