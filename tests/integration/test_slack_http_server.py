"""`drbot serve --http` over a real socket on 127.0.0.1: signed requests reach the app; what bolt
cannot read is a 4xx, never a 500 (bot/http_server.py)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.app import build_app
from bot.console_slack import InlineExecutor
from bot.http_server import MAX_BODY_BYTES, slack_http_server
from tests.integration.conftest import SLACK_SIGNING_SECRET
from tests.slack_requests import SignedRequest, slash_command
from tests.slack_stub import SlackStub

PATH = "/slack/events"


@pytest.fixture
def port(slack_services: Any) -> Iterator[int]:
    app = build_app(slack_services, listener_executor=InlineExecutor())
    server = slack_http_server(app, "127.0.0.1", 0, PATH)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def post(port: int, body: bytes, headers: dict[str, str], path: str = PATH, method: str = "POST") -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(), response.headers
    finally:
        connection.close()


def test_a_signed_command_is_answered(port: int, slack_stub: SlackStub) -> None:
    response_url = slack_stub.new_response_url()
    command = slash_command(SLACK_SIGNING_SECRET, "help", response_url=response_url)

    status, _, _ = post(port, command.body.encode(), command.headers)

    assert status == 200
    assert "/dr" in json.dumps(slack_stub.answer_at(response_url).args)


def test_a_forged_signature_is_a_401(port: int, slack_stub: SlackStub) -> None:
    command = slash_command(SLACK_SIGNING_SECRET, "help", response_url=slack_stub.new_response_url())

    status, _, _ = post(port, command.body.encode(), {**command.headers, "X-Slack-Signature": "v0=00"})

    assert status == 401


@pytest.mark.parametrize(
    "body",
    [b"payload=%7Bnot-json", b"payload=%5B1%5D", b"payload=%7B%22user%22%3A5%7D", b"\xff\xfe\x00"],
    ids=["payload-not-json", "payload-a-list", "user-a-number", "not-utf8"],
)
def test_a_body_bolt_cannot_read_is_a_400(port: int, body: bytes) -> None:
    text = body.decode("latin-1")
    signed = SignedRequest.sign(text, SLACK_SIGNING_SECRET)

    status, answer, _ = post(port, body, signed.headers)

    assert status == 400
    assert "could not read this request" in answer


def test_other_paths_methods_and_sizes_are_refused(port: int) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert post(port, b"x", headers, path="/other")[0] == 404
    status, _, answer_headers = post(port, b"", {}, method="GET")
    assert (status, answer_headers.get("Allow")) == (405, "POST")
    # the length announced is refused before the body is read (sending it all would race the answer)
    assert post(port, b"x", {**headers, "Content-Length": str(MAX_BODY_BYTES + 1)})[0] == 413


@pytest.mark.parametrize("timestamp", ["abc", "²", "1.5", ""])
def test_a_timestamp_that_is_not_a_number_is_unsigned(
    port: int, slack_stub: SlackStub, timestamp: str
) -> None:
    command = slash_command(SLACK_SIGNING_SECRET, "help", response_url=slack_stub.new_response_url())

    status, _, _ = post(
        port, command.body.encode(), {**command.headers, "X-Slack-Request-Timestamp": timestamp}
    )

    assert status == 401
