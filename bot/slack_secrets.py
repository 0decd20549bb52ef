"""Where the Slack bot token and signing secret come from.

On AWS they live in one Secrets Manager secret (SLACK_SECRET_ARN, a JSON object with the keys
`bot_token` and `signing_secret`), read through powertools' parameters utility, which caches the
value for `SECRET_MAX_AGE_SECONDS`: a warm Lambda container asks Secrets Manager at most every five
minutes, and picks up a rotated secret within that time. Elsewhere they come from SLACK_BOT_TOKEN
and SLACK_SIGNING_SECRET. Both stay `SecretStr` until the composition root (bot/app.py) unwraps them.

The functions that only post (the execution and scheduled-drill functions' notifier and reporter)
use `bot_client`: a WebClient that reads the token from the secret at each call, through the same
cache, so the secret can still be empty when they start (it is filled after the Slack app exists)
and a rotated token reaches them as it reaches the Slack function.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from orchestration.config import (
    ENV_SLACK_BOT_TOKEN,
    ENV_SLACK_SECRET_ARN,
    ENV_SLACK_SIGNING_SECRET,
    Settings,
)
from orchestration.errors import ValidationFailed

SECRET_MAX_AGE_SECONDS = 300
SECRET_KEYS = ("bot_token", "signing_secret")


def slack_secrets(settings: Settings) -> tuple[SecretStr, SecretStr]:
    """(bot token, signing secret): from the secret SLACK_SECRET_ARN names, else the environment."""
    if settings.slack_secret_arn:
        return _from_secrets_manager(settings.slack_secret_arn)
    token, signing_secret = settings.slack_bot_token, settings.slack_signing_secret
    missing = [
        name
        for name, value in ((ENV_SLACK_BOT_TOKEN, token), (ENV_SLACK_SIGNING_SECRET, signing_secret))
        if value is None
    ]
    if token is None or signing_secret is None:
        raise ValidationFailed(f"Slack is not configured: set {ENV_SLACK_SECRET_ARN} or {', '.join(missing)}")
    return token, signing_secret


def _from_secrets_manager(arn: str) -> tuple[SecretStr, SecretStr]:
    # imported here: only the AWS runtime pays for powertools' parameters and boto3's client
    from aws_lambda_powertools.utilities import parameters

    try:
        value: Any = parameters.get_secret(arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    except parameters.exceptions.TransformParameterError as exc:
        # the message names the secret, never its value
        raise ValidationFailed(f"{ENV_SLACK_SECRET_ARN} {arn} is not a JSON object") from exc
    if not isinstance(value, dict):
        raise ValidationFailed(f"{ENV_SLACK_SECRET_ARN} {arn} is not a JSON object")
    missing = [key for key in SECRET_KEYS if not isinstance(value.get(key), str) or not value[key]]
    if missing:
        raise ValidationFailed(f"{ENV_SLACK_SECRET_ARN} {arn} lacks {', '.join(missing)}")
    return SecretStr(value["bot_token"]), SecretStr(value["signing_secret"])


class SecretTokenWebClient(WebClient):
    """A WebClient whose bot token comes from the Slack secret (SLACK_SECRET_ARN) at each call: cached
    for SECRET_MAX_AGE_SECONDS, so a token put in the secret, or rotated, after the client was built is
    used within that time. While the secret lacks the token a call raises ValidationFailed, which the
    notifier's caller treats as Slack being unavailable (the events are offered again)."""

    def __init__(self, settings: Settings, base_url: str = WebClient.BASE_URL) -> None:
        super().__init__(token=None, base_url=base_url)
        self._settings = settings

    def api_call(self, *args: Any, **kwargs: Any) -> SlackResponse:
        self.token = slack_secrets(self._settings)[0].get_secret_value()
        return super().api_call(*args, **kwargs)


def bot_client(settings: Settings, base_url: str = WebClient.BASE_URL) -> WebClient | None:
    """A WebClient with the bot token: from the secret SLACK_SECRET_ARN names, read at each call (see
    SecretTokenWebClient), else SLACK_BOT_TOKEN; None when neither is set."""
    if settings.slack_secret_arn:
        return SecretTokenWebClient(settings, base_url=base_url)
    if settings.slack_bot_token is not None:
        return WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=base_url)
    return None
