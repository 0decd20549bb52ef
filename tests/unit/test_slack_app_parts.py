"""The Slack app's pure parts: configuration checks, redaction, the failure view, request parsing,
`drbot serve`'s argument and credential checks, and the test helpers' signatures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier

from bot.app import build_app, socket_mode_handler
from bot.listeners.commands import invocation_from
from bot.listeners.errors import Redactor, request_fields
from bot.serve import main as serve_main
from bot.serve import missing_credentials
from bot.slack_api import api_base_url
from bot.views.failures import build_failure_message
from orchestration.config import Settings
from orchestration.errors import ValidationFailed
from tests.slack_requests import VERIFICATION_TOKEN, block_actions, slash_command, view_submission


class _Services:
    """Just enough of Services for build_app's configuration checks (no listener runs)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def test_build_app_needs_a_bot_token() -> None:
    with pytest.raises(ValidationFailed, match="SLACK_BOT_TOKEN"):
        build_app(_Services(Settings.from_env({})), signing_secret="s")  # type: ignore[arg-type]


def test_build_app_needs_a_signing_secret_except_in_socket_mode() -> None:
    services: Any = _Services(Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}))

    with pytest.raises(ValidationFailed, match="SLACK_SIGNING_SECRET"):
        build_app(services, token_verification=False)
    app = build_app(services, token_verification=False, socket_mode=True)  # no auth.test: no network
    assert app.client.token == "xoxb-1"


def test_explicit_arguments_beat_the_settings() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-env", "SLACK_SIGNING_SECRET": "env"})

    app = build_app(_Services(settings), token=SecretStr("xoxb-arg"), token_verification=False)  # type: ignore[arg-type]

    assert app.client.token == "xoxb-arg"


def test_the_api_url_ends_with_a_slash_and_defaults_to_slacks() -> None:
    assert api_base_url(Settings.from_env({})) == "https://slack.com/api/"
    assert api_base_url(Settings.from_env({"SLACK_API_URL": "https://slack-gov.com/api"})) == (
        "https://slack-gov.com/api/"
    )
    assert api_base_url(Settings.from_env({"SLACK_API_URL": "http://127.0.0.1:9/api/"})) == (
        "http://127.0.0.1:9/api/"
    )


def test_socket_mode_needs_an_app_token() -> None:
    services: Any = _Services(Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}))
    app = build_app(services, token_verification=False, socket_mode=True)

    with pytest.raises(ValidationFailed, match="SLACK_APP_TOKEN"):
        socket_mode_handler(app, services.settings)


def test_the_redactor_replaces_every_known_secret() -> None:
    redact = Redactor.of(["xoxb-secret", None, "", "signing"])

    assert redact("token xoxb-secret and signing, twice: xoxb-secret") == "token *** and ***, twice: ***"


def test_request_fields_locate_a_request_without_its_secrets() -> None:
    command = {
        k: v[0]
        for k, v in parse_qs(slash_command("s", "plan run nightly", response_url="http://r/1").body).items()
    }
    click = json.loads(parse_qs(block_actions("s", "approve", response_url="http://r/2").body)["payload"][0])
    submit = json.loads(parse_qs(view_submission("s", "plan_builder", {}).body)["payload"][0])

    assert request_fields(command) == {
        "slack_request": "slash_command",
        "command": "/dr",
        "text": "plan run nightly",
        "user_id": "U0ALICE",
        "channel_id": "C0DRILLS",
        "team_id": "T0DRBOT",
    }
    assert request_fields(click)["action_ids"] == ["approve"]
    assert request_fields(submit)["callback_id"] == "plan_builder"
    for fields in (request_fields(command), request_fields(click), request_fields(submit)):
        assert VERIFICATION_TOKEN not in json.dumps(fields)
        assert "http://r/" not in json.dumps(fields)


def test_invocation_from_a_slash_command() -> None:
    body = {"user_id": "U1", "channel_id": "C1", "text": "servers --state STALLED"}

    assert invocation_from(body).text == "servers --state STALLED"
    assert invocation_from({"user_id": "U1"}).text == ""  # `/dr` alone: help


def test_the_failure_message_is_valid_escaped_and_names_the_reference() -> None:
    message = build_failure_message("/dr plan run <nightly> " + "x" * 500, "abc123")

    assert message.response_type == "ephemeral"
    assert "abc123" in message.text
    blocks = message.block_dicts()
    assert all(Block.parse(b) is not None and Block.parse(b).to_dict() == b for b in blocks)  # type: ignore[union-attr]
    assert "&lt;nightly&gt;" in json.dumps(blocks)
    assert len(blocks[0]["text"]["text"]) < 400


def test_serve_needs_the_credentials_of_its_mode() -> None:
    nothing = Settings.from_env({})
    bot_only = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"})

    assert missing_credentials(nothing, "socket") == ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]
    assert missing_credentials(bot_only, "http") == ["SLACK_SIGNING_SECRET"]
    assert (
        missing_credentials(Settings.from_env({"SLACK_BOT_TOKEN": "x", "SLACK_APP_TOKEN": "y"}), "socket")
        == []
    )


def test_drbot_serve_without_credentials_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)

    assert serve_main(["--http", "--port", "0", "--db", str(tmp_path / "d.db")]) == 2
    assert "http mode needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET" in capsys.readouterr().err
    assert not (tmp_path / "d.db").exists()  # nothing was built


def test_signed_requests_verify_with_slack_sdks_verifier() -> None:
    request = slash_command("the-secret", "help", response_url="http://r/1")
    verifier = SignatureVerifier("the-secret")
    headers = {k.lower(): v for k, v in request.headers.items()}

    assert verifier.is_valid_request(request.body, headers)
    assert not SignatureVerifier("another").is_valid_request(request.body, headers)
    stale = slash_command("the-secret", "help", response_url="http://r/1", timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(stale.body, {k.lower(): v for k, v in stale.headers.items()})
