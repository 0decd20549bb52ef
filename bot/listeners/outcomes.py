"""How a change to an execution made from a message (a button, the reject form) is shown on that
message.

The run's root and its copy are written by the Slack notifier alone: a click's update of either is
handed to it (`SlackNotifier.update_message`), so it goes through the same writer as the run's
progress, rendered from the newest record at send time — a click never puts an older state back
on screen. When Slack does not take the update, the clicker is told privately that the click
counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack_notifier import slack_notifier_of
from bot.slack_thread_record import thread_of
from bot.views.common import escape
from bot.views.message import Message
from orchestration.context import Services

if TYPE_CHECKING:
    from orchestration.services.execution_control import Outcome

logger = logging.getLogger(__name__)


def as_shown(outcome: Outcome, container: Mapping[str, Any], message: Message, services: Services) -> Message:
    """`message`, unless the click was on the approvals channel's copy: then the copy, updated."""
    slack = thread_of(services.store, outcome.execution.execution_id)
    clicked = (container.get("channel_id"), container.get("message_ts"))
    if slack is None or not slack.approval_ts or clicked != (slack.approval_channel, slack.approval_ts):
        return message
    from bot.views.executions import build_approval_copy

    headline = f":white_check_mark: *{escape(outcome.message)}*"
    return build_approval_copy(outcome.execution, int(services.clock.now()), headline=headline, thread=slack)


def show(
    services: Services,
    client: WebClient,
    container: Mapping[str, Any],
    outcome: Outcome,
    message: Message,
    *,
    tell: Callable[[], None],
) -> None:
    """Update the clicked message with `message`: through the Slack notifier when it writes that
    message (the run's root or copy), else directly; either way, if Slack does not take it, `tell`
    the clicker privately that the click counted."""
    channel, ts = str(container["channel_id"]), str(container["message_ts"])
    writer = slack_notifier_of(services)
    if writer is not None and writer.owns(outcome.execution, channel, ts):
        writer.update_message(outcome.execution, channel, ts, message, on_failed=tell)
        return
    try:
        client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
    except SlackApiError as error:  # e.g. rate-limited: one line, and the clicker is told
        logger.warning(
            "Slack did not take a click's update",
            extra={"status": error.response.status_code, "error": error.response.get("error")},
        )
        tell()


def counted(outcome: Outcome) -> str:
    """What the clicker is told when Slack did not take the update of the message they clicked."""
    return (
        f":white_check_mark: {escape(outcome.message)} (Slack did not update the message you clicked; "
        "this is done all the same.)"
    )
