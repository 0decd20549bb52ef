"""The Slack app through the real path: signed requests into `app.dispatch` (and into the Lambda
entry as API Gateway events), its WebClient and response_urls pointed at the loopback stub."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.app import build_app
from bot.commands.grammar import Arguments
from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.views.common import MAX_BLOCKS_PER_MESSAGE
from bot.views.message import Message
from tests.integration.conftest import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
from tests.slack_requests import (
    FUNCTION_ARN,
    VERIFICATION_TOKEN,
    LambdaContext,
    StubbedLambda,
    block_actions,
    slash_command,
)
from tests.slack_stub import RESPONSE_URL, SlackStub

STALE_SECONDS = 5 * 60 + 1  # Slack's replay window is five minutes
SECRETS = (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, VERIFICATION_TOKEN)


@pytest.fixture
def app(slack_services: Any) -> Any:
    return build_app(slack_services)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything logged: powertools' JSON lines (its handler's stream swapped for a buffer) and,
    at DEBUG, every other logger (bolt, slack_sdk, urllib) through caplog's text."""
    from bot.listeners.errors import logger  # creates the powertools "drbot" logger if needed

    handler = logging.getLogger(logger.service).powertools_handler  # type: ignore[attr-defined]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    caplog.set_level(logging.DEBUG)
    try:
        yield buffer
    finally:
        handler.setStream(previous)
        buffer.write(caplog.text)  # so a test can search both at once


def powertools_records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """Blocks Slack would accept: each parses into slack_sdk's model and validates back to itself."""
    assert 0 < len(blocks) <= MAX_BLOCKS_PER_MESSAGE
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        assert parsed.to_dict() == block  # to_dict() runs slack_sdk's Block Kit validations


def dispatch_command(app: Any, stub: SlackStub, text: str, **options: Any) -> tuple[Any, str]:
    response_url = stub.new_response_url()
    request = slash_command(SLACK_SIGNING_SECRET, text, response_url=response_url, **options)
    return app.dispatch(request.bolt()), response_url


# -- slash commands ---------------------------------------------------------------------------------


def test_help_is_acked_then_answered_through_the_response_url(app: Any, slack_stub: SlackStub) -> None:
    response, response_url = dispatch_command(app, slack_stub, "help")

    assert response.status == 200
    assert response.body == ""  # an empty ack: the answer follows through the response_url
    answer = slack_stub.answer_at(response_url)
    assert answer.args["response_type"] == "ephemeral"
    assert "servers" in answer.args["text"]
    assert_valid_blocks(answer.args["blocks"])
    # the app verified its token against the stub, with the token from the settings
    (auth,) = slack_stub.calls("auth.test")
    assert auth.token == SLACK_BOT_TOKEN
    assert slack_stub.violations == []


def test_servers_lists_the_estate_with_valid_blocks(
    app: Any, slack_stub: SlackStub, slack_services: Any
) -> None:
    response, response_url = dispatch_command(app, slack_stub, "servers")

    assert response.status == 200
    answer = slack_stub.answer_at(response_url)
    from orchestration.services.servers import list_source_servers

    hostnames = [server.hostname for server in list_source_servers(slack_services).servers]
    assert hostnames
    rendered = json.dumps(answer.args["blocks"])
    assert all(hostname in rendered for hostname in hostnames[:5])
    assert_valid_blocks(answer.args["blocks"])
    assert slack_stub.violations == []


def test_an_unknown_command_answers_ephemeral_with_the_usage_and_changes_nothing(
    app: Any, slack_stub: SlackStub, slack_services: Any
) -> None:
    store = slack_services.store
    before = (store.list_groups(), store.list_plans(), store.list_executions())

    response, response_url = dispatch_command(app, slack_stub, "frobnicate everything --now")

    assert response.status == 200
    answer = slack_stub.answer_at(response_url)
    assert answer.args["response_type"] == "ephemeral"
    assert "`frobnicate` is not a /dr command" in answer.args["text"]
    rendered = json.dumps(answer.args["blocks"])
    assert "Usage" in rendered
    assert "/dr servers" in rendered
    assert "nothing was changed" in rendered
    assert_valid_blocks(answer.args["blocks"])
    assert (store.list_groups(), store.list_plans(), store.list_executions()) == before
    assert {c.method for c in slack_stub.calls()} == {"auth.test", RESPONSE_URL}  # no message posted


# -- request verification -----------------------------------------------------------------------------


def test_a_bad_signature_is_refused(app: Any, slack_stub: SlackStub) -> None:
    request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=slack_stub.new_response_url())
    forged = request.with_signature("v0=" + "0" * 64)

    response = app.dispatch(forged.bolt())

    assert response.status == 401
    assert slack_stub.calls(RESPONSE_URL) == []  # refused before any listener ran


def test_a_request_signed_with_another_secret_is_refused(app: Any, slack_stub: SlackStub) -> None:
    request = slash_command("someone-elses-secret", "help", response_url=slack_stub.new_response_url())

    assert app.dispatch(request.bolt()).status == 401
    assert slack_stub.calls(RESPONSE_URL) == []


def test_a_stale_timestamp_is_refused_even_when_correctly_signed(app: Any, slack_stub: SlackStub) -> None:
    replayed = slash_command(
        SLACK_SIGNING_SECRET,
        "help",
        response_url=slack_stub.new_response_url(),
        timestamp=int(time.time()) - STALE_SECONDS,
    )

    assert app.dispatch(replayed.bolt()).status == 401
    assert slack_stub.calls(RESPONSE_URL) == []


# -- failures: reported to the user, logged, never a secret ---------------------------------------------


def _exploding_registry() -> CommandRegistry:
    def explode(ctx: CommandContext, args: Arguments) -> Message:
        # an error whose text carries secrets, as a careless library's might
        raise RuntimeError(f"DRS said no (token={SLACK_BOT_TOKEN}, secret={SLACK_SIGNING_SECRET})")

    registry = CommandRegistry()
    registry.add("explodes", [Command(noun="boom", verb=None, summary="always fails", handler=explode)])
    return registry


def test_a_failure_in_lazy_work_is_reported_to_the_user_and_logged_without_secrets(
    slack_services: Any, slack_stub: SlackStub, logs: io.StringIO
) -> None:
    app = build_app(slack_services, registry=_exploding_registry())

    response, response_url = dispatch_command(app, slack_stub, "boom")

    assert response.status == 200
    answer = slack_stub.answer_at(response_url)
    assert answer.args["response_type"] == "ephemeral"
    assert "failed unexpectedly" in answer.args["text"]
    (record,) = [r for r in powertools_records(logs) if r["message"] == "/dr command failed"]
    assert record["level"] == "ERROR"
    assert record["reference"] in answer.args["text"]  # the user can quote it, ops can find it
    assert record["error_type"] == "RuntimeError"
    assert "DRS said no" in record["error"] and "***" in record["error"]
    assert "explode" in record["traceback"]
    assert record["user_id"] == "U0ALICE" and record["command"] == "/dr"
    assert all(secret not in logs.getvalue() for secret in SECRETS)
    assert all(secret not in json.dumps(answer.args) for secret in SECRETS)


def test_the_global_error_handler_logs_without_secrets(
    slack_services: Any, slack_stub: SlackStub, logs: io.StringIO
) -> None:
    app = build_app(slack_services, process_before_response=True)

    @app.action("test_explode")
    def explode(ack: Any) -> None:
        raise RuntimeError(f"listener blew up holding {SLACK_BOT_TOKEN} and {SLACK_SIGNING_SECRET}")

    click = block_actions(SLACK_SIGNING_SECRET, "test_explode", response_url=slack_stub.new_response_url())
    response = app.dispatch(click.bolt())

    assert response.status == 500
    (record,) = [r for r in powertools_records(logs) if r["message"] == "unhandled error in a Slack listener"]
    assert record["error_type"] == "RuntimeError"
    assert record["action_ids"] == ["test_explode"]
    assert record["slack_request"] == "block_actions"
    assert "listener blew up" in record["error"]
    assert all(secret not in logs.getvalue() for secret in SECRETS)


# -- the Lambda entry ---------------------------------------------------------------------------------


@pytest.fixture
def lambda_entry(slack_services: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubbedLambda]:
    """bot.lambda_function over the test's services, its self-invocations going to a stubbed
    Lambda client."""
    from bot import lambda_function
    from orchestration.handlers import runtime

    for name in ("SLACK_SECRET_ARN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    lambda_client = StubbedLambda()
    runtime.use(slack_services)
    lambda_function.use(lambda_client=lambda_client.client)
    try:
        yield lambda_client
    finally:
        lambda_function.use(None)
        runtime.use(None)


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_lambda_acks_fast_and_the_lazy_self_invocation_answers(
    lambda_entry: StubbedLambda, slack_stub: SlackStub, base64_encoded: bool
) -> None:
    from bot.lambda_function import handler

    response_url = slack_stub.new_response_url()
    request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=response_url)
    lambda_entry.expect(1)

    response = handler(request.apigw_event(base64_encoded=base64_encoded), LambdaContext())

    assert response["statusCode"] == 200
    assert slack_stub.calls(RESPONSE_URL) == []  # the work was handed off, not done
    (invocation,) = lambda_entry.invocations
    assert invocation["FunctionName"] == FUNCTION_ARN
    assert invocation["InvocationType"] == "Event"

    # Lambda delivers the asynchronous invocation: the same function, the lazy-only event
    (lazy_event,) = lambda_entry.events()
    assert lazy_event["headers"]["x-slack-bolt-lazy-only"] == "1"
    lazy_response = handler(lazy_event, LambdaContext())

    assert lazy_response["statusCode"] == 200
    answer = slack_stub.answer_at(response_url)
    assert answer.args["response_type"] == "ephemeral"
    assert_valid_blocks(answer.args["blocks"])
    assert lambda_entry.invocations == [invocation]  # the lazy run does not invoke again
    assert slack_stub.violations == []


def test_lambda_refuses_a_forged_request_without_invoking_itself(
    lambda_entry: StubbedLambda, slack_stub: SlackStub
) -> None:
    from bot.lambda_function import handler

    request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=slack_stub.new_response_url())
    response = handler(request.with_signature("v0=" + "f" * 64).apigw_event(), LambdaContext())

    assert response["statusCode"] == 401
    assert lambda_entry.invocations == []


def test_lambda_builds_the_app_once_per_container(lambda_entry: StubbedLambda, slack_stub: SlackStub) -> None:
    from bot.lambda_function import handler, slack_handler

    lambda_entry.expect(2)
    for _ in range(2):
        request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=slack_stub.new_response_url())
        assert handler(request.apigw_event(), LambdaContext())["statusCode"] == 200

    assert slack_handler() is slack_handler()
    assert len(slack_stub.calls("auth.test")) == 1
