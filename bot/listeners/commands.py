"""`/dr`: ack at once, run the command lazily, answer through the response_url.

On Lambda (process_before_response) the ack is the HTTP response, so it must leave within Slack's
3 seconds: the command itself runs in the lazy listener, which bolt starts by invoking this same
function again (see bot/lambda_function.py). Locally the lazy listener runs on bolt's thread pool.

A command that answers with a form (group or plan create/edit given no flags) is matched by its
own listener and opened in the ack: the trigger_id lives 3 seconds, which a lazy listener started
as another Lambda invocation may outlive. An error (an unknown plan, say) is the ack's answer.

A run request (`/dr plan run`) is posted in the channel as the root of its thread
(bot/slack_threads.py); the requester is told where, through the response_url. An answer with
files (`/dr plan history`'s chart) shares them in the command's channel (bot/slack_files.py) before
answering; a file Slack refuses is said in the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.listeners.context import drbot_of
from bot.listeners.errors import Redactor, log_failure, logger
from bot.listeners.lazy import ack_now
from bot.slack_files import share_file
from bot.views.common import context
from bot.views.failures import build_failure_message
from bot.views.ids import SLASH
from bot.views.message import ApprovalRequest, Message, ThreadRoot, WithFiles

if TYPE_CHECKING:  # the registry and its commands load with the first slash command (Drbot.registry)
    from bot.commands.registry import Invocation


def register(app: App) -> None:
    app.command(SLASH, matchers=[opens_modal])(open_modal)  # first: bolt runs the first match
    app.command(SLASH)(ack=ack_now, lazy=[run_command])


def invocation_from(body: Mapping[str, Any]) -> Invocation:
    """Who asked for what, from a slash command's form fields."""
    from bot.commands.registry import Invocation

    return Invocation(
        text=body.get("text") or "",
        user_id=body["user_id"],
        channel_id=body.get("channel_id"),
        can_post=True,
        trigger_id=body.get("trigger_id"),
    )


def run_command(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """The lazy half of `/dr`: dispatch the command and answer through the response_url."""
    from bot.slack_threads import copy_approval_request, open_execution_thread

    drbot = drbot_of(context)
    services, client = drbot.services, drbot.client
    invocation = invocation_from(body)
    try:
        message = drbot.registry.dispatch(services, invocation, drbot.schedules)
        if isinstance(message, ThreadRoot) and invocation.channel_id:
            message = open_execution_thread(
                client, services, message, invocation.channel_id, invocation.user_id
            )
        elif isinstance(message, ApprovalRequest):
            message = copy_approval_request(
                client, services, message, invocation.channel_id, invocation.user_id
            )
            drbot.publisher.refresh_for()  # approvers see it on their Home
        elif isinstance(message, WithFiles) and message.files and message.to_asker:
            message = send_to_asker(drbot.client, invocation.user_id, message, drbot.redact, body)
        elif isinstance(message, WithFiles) and message.files and invocation.channel_id:
            message = share_files(drbot.client, message, invocation.channel_id, drbot.redact, body)
    except Exception as error:  # answered and logged here: bolt would only log a one-liner
        reference = log_failure(f"{SLASH} command failed", error, drbot.redact, body)
        message = build_failure_message(f"{SLASH} {invocation.text}", reference)
    deliver(respond, message, drbot.redact, body)


def share_files(
    client: WebClient, message: WithFiles, channel: str, redact: Redactor, body: Mapping[str, Any]
) -> Message:
    """Share the answer's files in `channel` (in its `thread_ts` when set), files_upload_v2; the
    answer, with a line for each file Slack refused (the bot not in the channel, say) so the user
    knows why it is missing: the answer itself is delivered all the same."""
    refused: list[str] = []
    for shared in message.files:
        try:
            share_file(
                client,
                channel,
                message.thread_ts,
                filename=shared.filename,
                content=shared.content,
                title=shared.title,
                comment=shared.comment,
            )
        except (SlackApiError, SlackRequestError) as error:
            why = error.response.get("error") if isinstance(error, SlackApiError) else "no answer"
            log_failure("Slack did not take a shared file", error, redact, body)
            refused.append(
                f"{shared.title}: Slack did not share it here ({why}); `/invite` drbot, or ask again."
            )
    if not refused:
        return message
    return Message(text=message.text, blocks=[*message.blocks, *(context(r) for r in refused)])


def send_to_asker(
    client: WebClient, user: str, message: WithFiles, redact: Redactor, body: Mapping[str, Any]
) -> Message:
    """`message` and its files in the user's direct messages with drbot: posted to the user's id,
    Slack opens the app's DM with them and answers with its channel, where the files are shared (a
    file Slack refused is said there too). Returns what was posted there."""
    posted = client.chat_postMessage(channel=user, text=message.text, blocks=message.block_dicts())
    dm = str(posted["channel"])
    shown = share_files(client, replace(message, thread_ts=None), dm, redact, body)
    if len(shown.blocks) > len(message.blocks):  # a file Slack refused: say it in the DM too
        client.chat_postMessage(
            channel=dm, text=shown.text, blocks=shown.block_dicts()[len(message.blocks) :]
        )
    return shown


def opens_modal(body: dict[str, Any], context: BoltContext) -> bool:
    """The matcher of the commands that answer with a form."""
    return drbot_of(context).registry.opens_modal(invocation_from(body))


def open_modal(ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """The form, opened in the ack; a refusal is the ack's answer."""
    from bot.commands.registry import ModalAnswer

    drbot = drbot_of(context)
    invocation = invocation_from(body)
    try:
        answer = drbot.registry.answer(drbot.services, invocation, drbot.schedules)
    except Exception as error:  # answered and logged here: bolt would only log a one-liner
        reference = log_failure(f"{SLASH} command failed", error, drbot.redact, body)
        answer = build_failure_message(f"{SLASH} {invocation.text}", reference)
    if not isinstance(answer, ModalAnswer):
        ack(**answer.to_slack())
        return
    ack()
    try:
        drbot.client.views_open(trigger_id=invocation.trigger_id, view=answer.view)
    except SlackApiError as error:  # e.g. expired_trigger_id
        reference = log_failure("Slack did not open the form", error, drbot.redact, body)
        text = f"Slack did not open the form (reference {reference}); try again, or give the options."
        deliver(respond, Message(text=text), drbot.redact, body)


def deliver(respond: Respond, message: Message, redact: Redactor, body: Mapping[str, Any]) -> None:
    """Post the answer to the response_url; a refusal (expired URL, 5 answers used) is logged."""
    try:
        response = respond(**message.to_slack())
    except Exception as error:  # the answer cannot reach the user any other way: log it
        log_failure("could not deliver the answer to Slack", error, redact, body)
        return
    if response.status_code != 200:
        logger.error(
            "Slack refused the answer",
            extra={"status": response.status_code, "slack_body": redact(str(response.body))[:200]},
        )
