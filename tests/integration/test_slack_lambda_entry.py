"""The approval flow through the Lambda entry (bot/lambda_function.py): API Gateway events for
`/dr plan run` and an Approve click, each acked at once and done by the lazy self-invocation
(played back as Lambda would deliver it), Slack at the loopback stub."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.slack_thread_record import thread_of
from bot.views.ids import ActionId, BlockId
from orchestration.models import Execution, ExecutionStatus
from orchestration.ports import ManualDriver
from orchestration.rbac import RoleConfig
from tests.integration.conftest import SLACK_SIGNING_SECRET
from tests.slack_requests import (
    CHANNEL_ID,
    LambdaContext,
    SignedRequest,
    StubbedLambda,
    block_actions,
    slash_command,
)
from tests.slack_stub import SlackStub

ALICE, BOB = "U0ALICE01", "U0BOB0001"
APPROVALS_CHANNEL = "C0APPROVALS"
ROLES = {"operator": [ALICE], "approver": [BOB], "default": "viewer"}


@pytest.fixture
def services(slack_services: Any) -> Any:
    settings = dataclasses.replace(
        slack_services.settings, roles=RoleConfig.from_mapping(ROLES), approval_channel=APPROVALS_CHANNEL
    )
    services = dataclasses.replace(slack_services, settings=settings)
    services.driver = ManualDriver()
    registry = build_registry()
    for text in (
        '/dr group create "DB tier" --server db-primary-01,db-replica-01',
        '/dr plan create "Prod DR" --wave "Database:DB tier"',
    ):
        assert not registry.dispatch(services, Invocation(text=text, user_id=ALICE)).is_error
    return services


@pytest.fixture
def lambda_entry(services: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubbedLambda]:
    from bot import lambda_function
    from orchestration.handlers import runtime

    for name in ("SLACK_SECRET_ARN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    lambda_client = StubbedLambda()
    runtime.use(services)
    lambda_function.use(lambda_client=lambda_client.client)
    try:
        yield lambda_client
    finally:
        lambda_function.use(None)
        runtime.use(None)


def through_lambda(lambda_entry: StubbedLambda, request: SignedRequest) -> None:
    """The API Gateway event acked, then the lazy self-invocation delivered and run."""
    from bot.lambda_function import handler

    lambda_entry.expect(1)
    before = len(lambda_entry.invocations)
    response = handler(request.apigw_event(), LambdaContext())
    assert response["statusCode"] == 200
    assert len(lambda_entry.invocations) == before + 1
    lazy_event = lambda_entry.events()[-1]
    assert lazy_event["headers"]["x-slack-bolt-lazy-only"] == "1"
    assert handler(lazy_event, LambdaContext())["statusCode"] == 200


def buttons_of(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_a_run_request_and_its_approval_through_the_lambda_entry(
    lambda_entry: StubbedLambda, slack_stub: SlackStub, services: Any
) -> None:
    response_url = slack_stub.new_response_url()
    through_lambda(
        lambda_entry,
        slash_command(SLACK_SIGNING_SECRET, 'plan run "Prod DR"', response_url=response_url, user_id=ALICE),
    )

    answer = slack_stub.answer_at(response_url)
    assert answer.args["response_type"] == "ephemeral" and "posted in the channel" in answer.args["text"]
    root, copy = slack_stub.calls("chat.postMessage")
    assert (root.args["channel"], copy.args["channel"]) == (CHANNEL_ID, APPROVALS_CHANNEL)
    [execution] = services.store.list_executions()
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and slack.thread_ts and slack.approval_ts

    click = block_actions(
        SLACK_SIGNING_SECRET,
        ActionId.APPROVE.value,
        value=execution.execution_id,
        block_id=BlockId.EXECUTION_ACTIONS.value,
        response_url=slack_stub.new_response_url(),
        user_id=BOB,
        message_ts=slack.thread_ts,
    )
    through_lambda(lambda_entry, click)

    saved: Execution = services.store.get_execution(execution.execution_id)
    assert saved.status == ExecutionStatus.PENDING
    assert services.driver.started == [execution.execution_id]
    updated = {(u.args["channel"], u.args["ts"]) for u in slack_stub.calls("chat.update")}
    assert updated == {
        (CHANNEL_ID, slack.thread_ts),
        (APPROVALS_CHANNEL, slack.approval_ts),
    }
    last_root = [u for u in slack_stub.calls("chat.update") if u.args["channel"] == CHANNEL_ID][-1]
    assert "<@U0BOB0001> approved the drill (1 of 1)" in last_root.args["text"]
    assert buttons_of(last_root.args["blocks"]) == [ActionId.CANCEL.value]
    assert "Approvals:* 1/1" in json.dumps(last_root.args["blocks"])
    assert slack_stub.violations == []
