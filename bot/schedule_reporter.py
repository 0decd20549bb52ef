"""Schedule reports in Slack: a skipped, missed or refused fire, or a schedule disabled because its
plan was deleted, is said in the schedule's channel with chat.postMessage.

A schedule with no channel is reported to the log. Slack's refusal (not_in_channel, a deleted
channel, rate limiting) raises: `scheduler.reporting.tell` logs it, and the fire's outcome stays in
the store and the audit trail either way.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from slack_sdk import WebClient

from bot.slack_api import api_base_url
from bot.slack_secrets import bot_client
from bot.views.common import context, section
from bot.views.mrkdwn import escape_with_mentions
from bot.views.schedules import short_id
from orchestration.config import Settings
from orchestration.models import Schedule
from scheduler.reporting import LoggingReporter

logger = Logger(service="drbot")


class SlackScheduleReporter:
    """The ScheduleReporter for Slack (see the module docstring)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._fallback = LoggingReporter()

    def report(self, schedule: Schedule, message: str) -> None:
        if not schedule.channel:
            self._fallback.report(schedule, message)
            return
        ref = short_id(schedule.schedule_id)
        blocks = [
            section(f":calendar: {escape_with_mentions(message)}"),
            context(f"Drill schedule `{ref}` · `/dr schedule show {ref}`"),
        ]
        self._client.chat_postMessage(
            channel=schedule.channel, text=message, blocks=[block.to_dict() for block in blocks]
        )


def reporter_from_settings(settings: Settings) -> SlackScheduleReporter | LoggingReporter:
    """The factory the scheduled-drill Lambda loads by name (`scheduler.handler.SLACK_REPORTER`): a
    Slack reporter with the bot token of the Slack secret (SLACK_SECRET_ARN, read at each call, else
    SLACK_BOT_TOKEN)."""
    client = bot_client(settings, base_url=api_base_url(settings))  # the secret is read at each call
    if client is None:
        logger.warning("Slack is not configured: schedule reports go to the log")
        return LoggingReporter()
    return SlackScheduleReporter(client)
