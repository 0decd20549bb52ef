"""What bolt and slack_sdk log carries no Slack secret at any level, and drbot's own log level holds.

Captured at DEBUG: the Lambda entry's "Incoming event" line (plain and base64 bodies), the INFO line
of a badly signed request, a click answered through its response_url. And the level that
POWERTOOLS_LOG_LEVEL gives powertools' `drbot` logger is still its level after several requests
(bolt used to reset the logger named after the app, `drbot`, to the root's level on each one).
And the Lambda entry answers a body bolt cannot read with a 400, not an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.app import build_app
from bot.console_slack import InlineExecutor
from bot.slack_logging import redact
from tests.integration.conftest import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
from tests.slack_requests import (
    VERIFICATION_TOKEN,
    LambdaContext,
    StubbedLambda,
    block_actions,
    slash_command,
)
from tests.slack_stub import RESPONSE_URL, SlackStub

FORGED = "v0=" + "0" * 64


@pytest.fixture
def lambda_entry(slack_services: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubbedLambda]:
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


def secrets_in(text: str, response_url: str) -> list[str]:
    return [secret for secret in (VERIFICATION_TOKEN, response_url, SLACK_BOT_TOKEN) if secret in text]


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_the_lambda_entry_logs_no_token_and_no_response_url_at_debug(
    lambda_entry: StubbedLambda,
    slack_stub: SlackStub,
    caplog: pytest.LogCaptureFixture,
    base64_encoded: bool,
) -> None:
    from bot.lambda_function import handler

    caplog.set_level(logging.DEBUG)
    response_url = slack_stub.new_response_url()
    request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=response_url)
    lambda_entry.expect(1)

    signed = handler(request.apigw_event(base64_encoded=base64_encoded), LambdaContext())
    forged = handler(
        request.with_signature(FORGED).apigw_event(base64_encoded=base64_encoded), LambdaContext()
    )

    assert (signed["statusCode"], forged["statusCode"]) == (200, 401)
    assert "Incoming event" in caplog.text  # the lines were there to be redacted
    assert "Invalid request signature" in caplog.text
    assert "team_domain" in caplog.text  # the body is still logged, less its secrets
    assert secrets_in(caplog.text, response_url) == []


def test_dispatch_logs_no_token_and_no_response_url_at_debug(
    slack_services: Any, slack_stub: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = build_app(slack_services, listener_executor=InlineExecutor())
    response_url = slack_stub.new_response_url()
    command = slash_command(SLACK_SIGNING_SECRET, "help", response_url=response_url)
    click_url = slack_stub.new_response_url()
    click = block_actions(SLACK_SIGNING_SECRET, "no-such-button", value="x", response_url=click_url)

    responses = [
        app.dispatch(command.bolt()),
        app.dispatch(command.with_signature(FORGED).bolt()),
        app.dispatch(click.with_signature(FORGED).bolt()),
        app.dispatch(click.bolt()),
    ]

    assert [r.status for r in responses] == [200, 401, 401, 200]  # the unknown button answered privately
    assert slack_stub.calls(RESPONSE_URL)  # help was answered through its response_url
    assert "Invalid request signature" in caplog.text
    assert secrets_in(caplog.text, response_url) == []
    assert secrets_in(caplog.text, click_url) == []


@pytest.mark.parametrize(
    "text",
    [
        "token=abc&team_id=T1&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F2%2Fx",
        "payload=%7B%22token%22%3A+%22abc%22%2C+%22response_url%22%3A%22http%3A%2F%2F127.0.0.1%2Fr%22%7D",
        "{'token': 'abc', 'response_url': 'https://hooks.slack.com/actions/T1/2/x'}",
        '{"token": "abc", "response_urls": [{"response_url": "http://127.0.0.1:1/response/9"}]}',
        '"{\\"token\\": \\"abc\\", \\"response_url\\": \\"http://127.0.0.1:1/response/9\\"}"',
        "posting to https://hooks.slack.com/commands/T1/2/x now",
    ],
)
def test_redact_replaces_the_token_and_the_response_url(text: str) -> None:
    redacted = redact(text)

    assert "abc" not in redacted
    assert "hooks.slack.com" not in redacted and "/response/9" not in redacted and "%2Fr%22" not in redacted
    assert "***" in redacted


def test_the_powertools_log_level_holds_after_requests(
    slack_services: Any, slack_stub: SlackStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.listeners.errors import logger

    drbot = logging.getLogger(logger.service)
    root = logging.getLogger()
    levels = (drbot.level, root.level)
    monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    try:
        logger.setLevel(None)  # read from POWERTOOLS_LOG_LEVEL, as at cold start
        root.setLevel(logging.WARNING)  # Lambda's root logger
        app = build_app(slack_services, listener_executor=InlineExecutor())
        for _ in range(3):
            request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=slack_stub.new_response_url())
            assert app.dispatch(request.bolt()).status == 200

        assert drbot.level == logging.DEBUG
        assert drbot.isEnabledFor(logging.DEBUG)
    finally:
        drbot.setLevel(levels[0])
        root.setLevel(levels[1])


@pytest.mark.parametrize(
    "body",
    ["payload=x%7B", "payload=%5B1%5D", "payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3Atrue%7D"],
)
def test_the_lambda_entry_refuses_a_body_bolt_cannot_read_with_a_400(
    lambda_entry: StubbedLambda, body: str
) -> None:

    from bot.lambda_function import handler
    from tests.slack_requests import SignedRequest

    request = SignedRequest.sign(body, SLACK_SIGNING_SECRET)

    response = handler(request.apigw_event(), LambdaContext())

    assert response["statusCode"] == 400
    assert "could not read" in response["body"]
    assert lambda_entry.invocations == []


def test_the_lambda_entry_answers_a_timestamp_that_is_not_a_number_with_a_401(
    lambda_entry: StubbedLambda, slack_stub: SlackStub
) -> None:
    from bot.lambda_function import handler

    request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=slack_stub.new_response_url())
    event = request.apigw_event()
    event["headers"]["X-Slack-Request-Timestamp"] = "1e9"
    event["multiValueHeaders"]["X-Slack-Request-Timestamp"] = ["1e9"]

    response = handler(event, LambdaContext())

    assert response["statusCode"] == 401
    assert lambda_entry.invocations == []
