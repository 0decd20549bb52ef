"""The monthly digest in Slack: the DigestPoster (orchestration/services/digest_fire.py) that posts
the digest to its channel with chat.postMessage, rendered by bot/views/digest.py.

Slack's refusal (not_in_channel, a deleted channel, rate limiting past the retries) raises:
`run_scheduled_digest` answers FAILED and audits it; the month was claimed before the post, so it is
not posted by a retry or a later fire, and the next month's fire posts the next month.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from slack_sdk import WebClient

from bot.slack_api import api_base_url
from bot.slack_secrets import bot_client
from bot.views.digest import build_digest_message
from orchestration.config import Settings
from orchestration.services.digest import Digest
from orchestration.services.digest_fire import DigestPoster, LoggingDigestPoster

logger = Logger(service="drbot")


class SlackDigestPoster:
    """Posts the digest to a channel (see the module docstring)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post(self, channel: str, digest: Digest) -> None:
        message = build_digest_message(digest)
        self._client.chat_postMessage(channel=channel, text=message.text, blocks=message.block_dicts())


def poster_from_settings(settings: Settings) -> DigestPoster:
    """The factory the scheduled function loads by name (`scheduler.handler.SLACK_DIGEST_POSTER`): a
    Slack poster with the bot token of the Slack secret, else the log's."""
    client = bot_client(settings, base_url=api_base_url(settings))
    if client is None:
        logger.warning("Slack is not configured: the digest goes to the log")
        return LoggingDigestPoster()
    return SlackDigestPoster(client)
