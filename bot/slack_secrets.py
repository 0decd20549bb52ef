"""Where the Slack bot token and signing secret come from.

On AWS they live in one Secrets Manager secret (SLACK_SECRET_ARN, a JSON object with the keys
`bot_token` and `signing_secret`), read through powertools' parameters utility, which caches the
value for `SECRET_MAX_AGE_SECONDS`: a warm Lambda container asks Secrets Manager at most every five
minutes, and picks up a rotated secret within that time. Elsewhere they come from SLACK_BOT_TOKEN
and SLACK_SIGNING_SECRET. Both stay `SecretStr` until the composition root (bot/app.py) unwraps them.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

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
