"""Slack secrets: Secrets Manager (on moto) through powertools' cached parameters, or the environment;
and the Lambda entry rebuilding its app when the secret rotates."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack_secrets import slack_secrets
from orchestration.config import Settings
from orchestration.errors import ValidationFailed
from tests.conftest import fake_aws_env
from tests.slack_requests import LambdaContext, StubbedLambda, slash_command
from tests.slack_stub import SlackStub


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None) -> Iterator[Any]:
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def put_secret(client: Any, value: Any) -> str:
    arn: str = client.create_secret(Name="drbot/slack", SecretString=json.dumps(value))["ARN"]
    return arn


def test_settings_read_the_secret_arn() -> None:
    assert Settings.from_env({"SLACK_SECRET_ARN": "arn:aws:secretsmanager:x"}).slack_secret_arn == (
        "arn:aws:secretsmanager:x"
    )
    assert Settings.from_env({}).slack_secret_arn is None


def test_secrets_come_from_secrets_manager_when_an_arn_is_set(secretsmanager: Any) -> None:
    arn = put_secret(secretsmanager, {"bot_token": "xoxb-from-sm", "signing_secret": "sm-signing"})
    settings = Settings.from_env({"SLACK_SECRET_ARN": arn, "SLACK_BOT_TOKEN": "xoxb-from-env"})

    token, signing_secret = slack_secrets(settings)

    assert (token.get_secret_value(), signing_secret.get_secret_value()) == ("xoxb-from-sm", "sm-signing")


def test_a_secret_missing_a_key_names_the_key_not_the_values(secretsmanager: Any) -> None:
    arn = put_secret(secretsmanager, {"bot_token": "xoxb-half-configured"})

    with pytest.raises(ValidationFailed, match="lacks signing_secret") as failed:
        slack_secrets(Settings.from_env({"SLACK_SECRET_ARN": arn}))
    assert "xoxb-half-configured" not in str(failed.value)


def test_a_secret_that_is_not_json_is_refused(secretsmanager: Any) -> None:
    arn = secretsmanager.create_secret(Name="drbot/plain", SecretString="xoxb-just-a-string")["ARN"]

    with pytest.raises(ValidationFailed, match="not a JSON object") as failed:
        slack_secrets(Settings.from_env({"SLACK_SECRET_ARN": arn}))
    assert "xoxb-just-a-string" not in str(failed.value)


def test_without_an_arn_the_environment_is_used() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-env", "SLACK_SIGNING_SECRET": "env-signing"})

    token, signing_secret = slack_secrets(settings)

    assert (token.get_secret_value(), signing_secret.get_secret_value()) == ("xoxb-env", "env-signing")


def test_without_any_slack_secret_the_error_says_what_to_set() -> None:
    with pytest.raises(ValidationFailed, match="set SLACK_SECRET_ARN or SLACK_SIGNING_SECRET"):
        slack_secrets(Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-env"}))


def test_lambda_rebuilds_the_app_when_the_secret_rotates(
    secretsmanager: Any, slack_stub: SlackStub, sqlite_services: Any
) -> None:
    from aws_lambda_powertools.utilities import parameters

    from bot import lambda_function
    from orchestration.handlers import runtime

    arn = put_secret(secretsmanager, {"bot_token": "xoxb-before", "signing_secret": "signing-before"})
    settings = dataclasses.replace(
        sqlite_services.settings, slack_secret_arn=arn, slack_api_url=slack_stub.api_url
    )
    lambda_client = StubbedLambda()
    lambda_client.expect(2)
    runtime.use(dataclasses.replace(sqlite_services, settings=settings))
    lambda_function.use(lambda_client=lambda_client.client)
    try:
        before = slash_command("signing-before", "help", response_url=slack_stub.new_response_url())
        assert lambda_function.handler(before.apigw_event(), LambdaContext())["statusCode"] == 200

        secretsmanager.put_secret_value(
            SecretId=arn,
            SecretString=json.dumps({"bot_token": "xoxb-after", "signing_secret": "signing-after"}),
        )
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # as if 5 minutes had passed
        stale = slash_command("signing-before", "help", response_url=slack_stub.new_response_url())
        assert lambda_function.handler(stale.apigw_event(), LambdaContext())["statusCode"] == 401
        after = slash_command("signing-after", "help", response_url=slack_stub.new_response_url())
        assert lambda_function.handler(after.apigw_event(), LambdaContext())["statusCode"] == 200
    finally:
        lambda_function.use(None)
        runtime.use(None)

    assert [c.token for c in slack_stub.calls("auth.test")] == ["xoxb-before", "xoxb-after"]


def test_the_posting_clients_start_with_an_empty_secret_and_follow_its_rotation(
    secretsmanager: Any, slack_stub: SlackStub
) -> None:
    """The execution and scheduled-drill functions start before the Slack app exists (the stack creates
    the secret with empty values): their notifier and reporter are built anyway, a call made meanwhile
    fails (the events stay queued), and the token put in the secret, then a rotated one, is used."""
    from aws_lambda_powertools.utilities import parameters

    from bot.schedule_reporter import SlackScheduleReporter, reporter_from_settings
    from bot.slack_notifier import SlackNotifier, notifier_from_settings
    from bot.slack_secrets import SecretTokenWebClient
    from orchestration.clock import FakeClock

    arn = put_secret(secretsmanager, {"bot_token": "", "signing_secret": ""})  # as template.yaml creates it
    settings = Settings.from_env({"SLACK_SECRET_ARN": arn, "SLACK_API_URL": slack_stub.api_url})

    notifier = notifier_from_settings(settings, FakeClock())
    assert isinstance(notifier, SlackNotifier)
    assert isinstance(reporter_from_settings(settings), SlackScheduleReporter)
    client = notifier.client
    assert isinstance(client, SecretTokenWebClient)
    with pytest.raises(ValidationFailed, match="lacks bot_token"):
        client.api_call("auth.test")

    for token in ("xoxb-filled-in", "xoxb-rotated"):
        secretsmanager.put_secret_value(
            SecretId=arn, SecretString=json.dumps({"bot_token": token, "signing_secret": "signing"})
        )
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # as if 5 minutes had passed
        assert client.api_call("auth.test")["ok"] is True

    assert [c.token for c in slack_stub.calls("auth.test")] == ["xoxb-filled-in", "xoxb-rotated"]
