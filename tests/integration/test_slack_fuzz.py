"""Every malformed or unexpected Slack payload is acked and answered privately, or refused with a
400/401: never an exception inside bolt, a 5xx or a late 404.

Signed requests read as the Lambda entry reads them (`read_request`), then `app.dispatch`
(listeners and lazy listeners run inline, so a request is finished when dispatch returns): slash
commands, button clicks, modal submissions and type-ahead, built valid and then changed by
hypothesis (a field removed or replaced by any JSON value, any text in the values drbot reads).
Whatever drbot or bolt logs at ERROR counts as something raised."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt import BoltRequest

from bot.app import build_app
from bot.console_slack import InlineExecutor
from bot.listeners.guard import read_request
from bot.views.ids import ActionId, BlockId, GroupBuilderId, PlanBuilderId, ScheduleActionId
from bot.views.reject_modal import MAX_REASON, RejectModalId
from tests.integration.conftest import SLACK_SIGNING_SECRET, with_roles
from tests.slack_requests import (
    USER_ID,
    SignedRequest,
    block_actions,
    block_suggestion,
    slash_command,
    view_submission,
)
from tests.slack_stub import RESPONSE_URL, SlackStub

ACK_SECONDS = 3.0  # Slack's limit: dispatch returns once the ack and the inline work are done
ANSWERED = {200, 400, 401}  # never a 404: a request no listener is for is answered too
DELETE = object()
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

BUTTONS = [a.value for a in ActionId] + [a.value for a in ScheduleActionId if a != ScheduleActionId.BLOCK]
BUILDER_BUTTONS = [PlanBuilderId.ADD_WAVE.value, PlanBuilderId.REMOVE_WAVE.value, PlanBuilderId.PAUSE.value]
MODALS = [GroupBuilderId.CALLBACK.value, PlanBuilderId.CALLBACK.value, RejectModalId.CALLBACK.value]
SUGGESTIONS = [GroupBuilderId.SERVERS.value, PlanBuilderId.GROUP_SELECT.value]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
TEXT = st.text(max_size=40) | st.sampled_from(["", "0", "-1", "²", "x", "1e9", "99999999999", "null"])
METADATA = TEXT | st.sampled_from(
    [
        "x",
        "[]",
        "{}",
        '{"waves": 1000000000}',
        '{"waves": "2"}',
        '{"version": true}',
        '{"execution_id": 5}',
        '{"execution_id": "e-1", "extra": 1}',
        '{"group_id": ["g"]}',
        '{"plan_id": null, "waves": 2, "revision": -1}',
    ]
)


class Raised(logging.Handler):
    """Every record at ERROR or above, from any logger (bolt's, slack_sdk's, drbot's)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records]


@pytest.fixture
def raised() -> Iterator[Raised]:
    from bot.listeners.errors import logger

    handler = Raised()
    watched = [logging.getLogger(), logging.getLogger(logger.service)]  # powertools does not propagate
    for watched_logger in watched:
        watched_logger.addHandler(handler)
    try:
        yield handler
    finally:
        for watched_logger in watched:
            watched_logger.removeHandler(handler)


@pytest.fixture
def app(slack_services: Any) -> Any:
    roles = {"operator": [USER_ID], "approver": [USER_ID], "default": "viewer"}
    return build_app(with_roles(slack_services, roles), listener_executor=InlineExecutor())


def dispatch(app: Any, request: SignedRequest, raised: Raised) -> Any:
    read = read_request(request.body, {k: [v] for k, v in request.headers.items()})
    response = app.dispatch(read) if isinstance(read, BoltRequest) else read
    assert response.status in ANSWERED, (response.status, response.body)
    assert raised.messages() == []
    return response


def payload_of(request: SignedRequest) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(dict(parse_qsl(request.body))["payload"])
    return result


def resigned(payload: dict[str, Any]) -> SignedRequest:
    return SignedRequest.sign(urlencode({"payload": json.dumps(payload)}), SLACK_SIGNING_SECRET)


def mutated(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """`payload` with the field at `path` removed (DELETE) or set to `value`; a path through
    something that is not an object leaves the payload as it was."""
    changed: dict[str, Any] = json.loads(json.dumps(payload))
    parent = changed
    for key in path[:-1]:
        child = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(child, list) and child:
            child = child[0]
        if not isinstance(child, dict):
            return changed
        parent = child
    if value is DELETE:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return changed


CLICK_PATHS = [
    ("actions",),
    ("actions", "action_id"),
    ("actions", "value"),
    ("actions", "block_id"),
    ("user",),
    ("user", "id"),
    ("container",),
    ("container", "channel_id"),
    ("container", "message_ts"),
    ("container", "is_ephemeral"),
    ("channel",),
    ("team",),
    ("message",),
    ("trigger_id",),
    ("type",),
    ("view",),
]
VIEW_PATHS = [
    ("view",),
    ("view", "private_metadata"),
    ("view", "callback_id"),
    ("view", "state"),
    ("view", "state", "values"),
    ("view", "id"),
    ("view", "hash"),
    ("user",),
    ("user", "id"),
    ("team",),
    ("type",),
]
SUGGESTION_PATHS = [("value",), ("action_id",), ("block_id",), ("view",), ("view", "state"), ("user",)]
CHANGE = st.one_of(st.just(DELETE), JSON)


@FUZZ
@given(
    action_id=st.sampled_from(BUTTONS + BUILDER_BUTTONS),
    value=TEXT,
    path=st.none() | st.sampled_from(CLICK_PATHS),
    change=CHANGE,
)
def test_clicks_are_answered_or_refused(  # noqa: PLR0917 - fixtures and hypothesis' values
    app: Any, slack_stub: SlackStub, raised: Raised, action_id: str, value: str, path: Any, change: Any
) -> None:
    request = block_actions(
        SLACK_SIGNING_SECRET,
        action_id,
        value=value,
        block_id=BlockId.EXECUTION_ACTIONS.value,
        response_url=slack_stub.new_response_url(),
    )
    payload = payload_of(request)
    dispatch(app, resigned(mutated(payload, path, change)) if path else request, raised)


def _reason_values(reason: Any) -> dict[str, dict[str, dict[str, Any]]]:
    block, element = RejectModalId.REASON_BLOCK.value, RejectModalId.REASON_INPUT.value
    return {block: {element: {"type": "plain_text_input", "value": reason}}}


@FUZZ
@given(
    callback_id=st.sampled_from(MODALS),
    metadata=METADATA,
    reason=TEXT | st.text(min_size=MAX_REASON, max_size=3000),
    path=st.none() | st.sampled_from(VIEW_PATHS),
    change=CHANGE,
)
def test_modal_submissions_are_answered_or_refused(  # noqa: PLR0917 - fixtures and hypothesis' values
    app: Any,
    slack_stub: SlackStub,
    raised: Raised,
    callback_id: str,
    metadata: str,
    reason: str,
    path: Any,
    change: Any,
) -> None:
    request = view_submission(
        SLACK_SIGNING_SECRET, callback_id, _reason_values(reason), private_metadata=metadata
    )
    payload = payload_of(request)
    response = dispatch(app, resigned(mutated(payload, path, change)) if path else request, raised)
    if response.status == 200 and response.body:
        answer = json.loads(response.body)
        # errors on the form, or (a form drbot does not know) the form replaced by a notice
        assert answer["response_action"] in ("errors", "update")
        if answer["response_action"] == "update":
            assert "does not know this form" in json.dumps(answer["view"])


@FUZZ
@given(
    action_id=st.sampled_from(SUGGESTIONS),
    value=TEXT,
    metadata=METADATA,
    path=st.none() | st.sampled_from(SUGGESTION_PATHS),
    change=CHANGE,
)
def test_type_ahead_is_answered_or_refused(  # noqa: PLR0917 - fixtures and hypothesis' values
    app: Any, raised: Raised, action_id: str, value: str, metadata: str, path: Any, change: Any
) -> None:
    callback = (
        GroupBuilderId.CALLBACK if action_id == GroupBuilderId.SERVERS.value else PlanBuilderId.CALLBACK
    )
    request = block_suggestion(
        SLACK_SIGNING_SECRET,
        action_id,
        value,
        block_id=action_id,
        callback_id=callback.value,
        private_metadata=metadata,
    )
    payload = payload_of(request)
    dispatch(app, resigned(mutated(payload, path, change)) if path else request, raised)


@FUZZ
@given(
    text=TEXT,
    field=st.none() | st.sampled_from(["user_id", "command", "text", "channel_id", "trigger_id", "team_id"]),
    change=st.one_of(st.just(DELETE), TEXT),
)
def test_slash_commands_are_answered_or_refused(  # noqa: PLR0917 - fixtures and hypothesis' values
    app: Any, slack_stub: SlackStub, raised: Raised, text: str, field: str | None, change: Any
) -> None:
    request = slash_command(SLACK_SIGNING_SECRET, text, response_url=slack_stub.new_response_url())
    fields = dict(parse_qsl(request.body, keep_blank_values=True))
    if field is not None:
        if change is DELETE:
            fields.pop(field, None)
        else:
            fields[field] = change
    signed = SignedRequest.sign(urlencode(fields), SLACK_SIGNING_SECRET)
    dispatch(app, signed, raised)


@FUZZ
@given(timestamp=TEXT | st.sampled_from(["abc", "1.5", "²", " 1", "-5", "0x10"]))
def test_a_timestamp_that_is_not_a_number_is_refused(
    app: Any, slack_stub: SlackStub, raised: Raised, timestamp: str
) -> None:
    request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=slack_stub.new_response_url())
    headers = {**request.headers, "X-Slack-Request-Timestamp": timestamp}

    response = dispatch(app, replace(request, headers=headers), raised)

    assert response.status == 401


# -- the cases the issue names ------------------------------------------------------------------------


def test_an_empty_actions_list_is_refused(app: Any, slack_stub: SlackStub, raised: Raised) -> None:
    request = block_actions(SLACK_SIGNING_SECRET, ActionId.APPROVE.value, value="e-1")
    payload = {**payload_of(request), "actions": []}

    response = dispatch(app, resigned(payload), raised)

    assert response.status == 400
    assert "actions" in response.body
    assert slack_stub.calls() == [c for c in slack_stub.calls() if c.method == "auth.test"]


@pytest.mark.parametrize("action_id", [PlanBuilderId.ADD_WAVE.value, PlanBuilderId.REMOVE_WAVE.value])
def test_a_plan_builder_button_on_a_message_is_answered_privately(
    app: Any, slack_stub: SlackStub, raised: Raised, action_id: str
) -> None:
    response_url = slack_stub.new_response_url()
    request = block_actions(SLACK_SIGNING_SECRET, action_id, value="2", response_url=response_url)

    response = dispatch(app, request, raised)

    assert (response.status, response.body) == (200, "")
    answer = slack_stub.answer_at(response_url)
    assert answer.args["response_type"] == "ephemeral"
    assert "plan builder" in answer.args["text"]
    assert slack_stub.calls("views.update") == []


def test_a_reject_reason_over_the_limit_is_an_inline_error(
    app: Any, slack_stub: SlackStub, raised: Raised
) -> None:
    request = view_submission(
        SLACK_SIGNING_SECRET,
        RejectModalId.CALLBACK.value,
        _reason_values("no " * 1000),
        private_metadata='{"execution_id":"e-1"}',
    )

    response = dispatch(app, request, raised)

    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert str(MAX_REASON) in body["errors"][RejectModalId.REASON_BLOCK.value]
    assert slack_stub.calls("chat.postEphemeral") == []


@pytest.mark.parametrize("callback_id", MODALS)
def test_a_form_whose_metadata_is_not_drbots_is_an_inline_error(
    app: Any, slack_stub: SlackStub, raised: Raised, callback_id: str
) -> None:
    request = view_submission(SLACK_SIGNING_SECRET, callback_id, _reason_values("why"), private_metadata="x")

    response = dispatch(app, request, raised)

    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert "cannot read this form" in " ".join(body["errors"].values())
    assert [c.method for c in slack_stub.calls() if c.method != "auth.test"] == []
    assert RESPONSE_URL not in [c.method for c in slack_stub.calls()]
