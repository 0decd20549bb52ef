"""The buttons of an execution's messages: Approve, Reject (a modal asks why), Pause, Resume, Cancel.

Every click is acked at once and the service call runs lazily (as `/dr` does). The clicker is
`body["user"]["id"]`; the services decide who may do what. A refusal (any DrbotError: not an
approver, the requester approving their own run, a run that already ended) is told to the clicker
alone, ephemerally, and changes nothing; Reject checks the clicker's role before its modal opens.
A change replaces the message with the fresh summary; a no-op (a double click, a Slack retry) only
tells the clicker it was already done. A click on the
approvals channel's copy of a request keeps the copy's shape (its link to the thread); the Slack
notifier updates the other message.

The run's root and its copy are written by the Slack notifier alone: a click's update of either is
handed to it (`SlackNotifier.update_message`), so it goes through the same writer as the run's
progress, rendered from the newest record at send time — a click never puts an older state back
on screen. When Slack does not take the update, the clicker is told privately that the click
counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.errors import Redactor, log_failure
from bot.listeners.home import answer_on_home, on_home
from bot.slack_notifier import slack_notifier_of
from bot.slack_thread_record import thread_of
from bot.views.common import escape
from bot.views.errors import refusal_text
from bot.views.executions import build_approval_copy, build_outcome
from bot.views.failures import build_failure_message
from bot.views.ids import ActionId
from bot.views.message import Message
from bot.views.reject_modal import (
    DAMAGED_FORM,
    RejectModalId,
    RejectTarget,
    build_reject_modal,
    reason_errors,
    submitted_reason,
)
from orchestration.context import Services
from orchestration.errors import DrbotError
from orchestration.rbac import Permission
from orchestration.services.access import require
from orchestration.services.executions import (
    Outcome,
    approve_execution,
    cancel_execution,
    pause_execution,
    reject_execution,
    resume_execution,
)

logger = logging.getLogger(__name__)

ServiceCall = Callable[[Services, str, str], Outcome]

BUTTONS: dict[ActionId, ServiceCall] = {
    ActionId.APPROVE: approve_execution,
    ActionId.PAUSE: pause_execution,
    ActionId.RESUME: resume_execution,
    ActionId.CANCEL: cancel_execution,
}


def register(app: App, services: Services, redact: Redactor | None = None) -> None:
    redact = redact or Redactor()
    # the app's own client: bolt's per-request copy adds `team_id` to every call, which only an
    # org-wide (Enterprise Grid) install needs
    client = app.client

    def ack_at_once(ack: Ack) -> None:
        ack()

    for action_id, call in BUTTONS.items():
        app.action(action_id.value)(ack=ack_at_once, lazy=[_clicked(app, services, client, call, redact)])

    def ask_reason(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()  # the trigger_id lives 3 seconds: the modal opens here, not lazily
        try:  # someone who may not reject is told now, not after typing a reason
            require(services, body["user"]["id"], Permission.APPROVE)
        except DrbotError as error:
            _tell(respond, error.message)
            return
        target = RejectTarget.of_click(body)
        if not target.execution_id:
            _tell(respond, "That Reject button names no run: nothing changed.")
            return
        try:
            client.views_open(trigger_id=body.get("trigger_id"), view=build_reject_modal(target))
        except SlackApiError as error:  # e.g. expired_trigger_id
            reference = log_failure("Slack did not open the reject form", error, redact, body)
            _tell(respond, f"Slack did not open the form (reference {reference}); click Reject again.")

    def check_reason(ack: Ack, view: dict[str, Any]) -> None:
        if _target_of(view) is None:
            ack(response_action="errors", errors={RejectModalId.REASON_BLOCK.value: DAMAGED_FORM})
            return
        errors = reason_errors(submitted_reason(view))
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    def reject(body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = submitted_reason(view)
        target = _target_of(view)
        # a refused reason or form was answered inline: nothing to do
        if reason_errors(reason) is None and target is not None:
            _reject(services, client, target, body, reason)

    app.action(ActionId.REJECT.value)(ask_reason)
    app.view(RejectModalId.CALLBACK.value)(ack=check_reason, lazy=[reject])


def _clicked(
    app: App, services: Services, client: WebClient, call: ServiceCall, redact: Redactor
) -> Callable[..., None]:
    """The lazy half of a button: call the service as the clicker and show what it did (on the
    Home tab: at the top of the clicker's Home, published again)."""

    def run_action(body: dict[str, Any], respond: Respond) -> None:
        def tell(text: str) -> None:
            if on_home(body):
                answer_on_home(app, body, text)
            else:
                _tell(respond, text)

        try:
            outcome = call(services, str(body["actions"][0].get("value") or ""), body["user"]["id"])
        except DrbotError as error:
            tell(refusal_text(error))
            return
        except Exception as error:  # answered and logged here: bolt would only log a one-liner
            reference = log_failure("execution button failed", error, redact, body)
            tell(build_failure_message(_label(body), reference).text)
            return
        message = build_outcome(outcome, int(services.clock.now()))
        container = body.get("container") or {}
        if on_home(body):
            tell(outcome.message)
            return
        try:
            if not outcome.changed:
                _tell(respond, outcome.message)
            elif container.get("is_ephemeral") or not container.get("message_ts"):
                respond(replace_original=True, text=message.text, blocks=message.blocks)
            else:
                shown = _as_shown(outcome, container, message, services)
                _show(
                    services,
                    client,
                    container,
                    outcome,
                    shown,
                    tell=lambda: _tell(respond, _counted(outcome)),
                )
        except Exception as error:  # done all the same: the run's thread tells; logged here
            log_failure("could not show what an execution button did", error, redact, body)

    return run_action


def _target_of(view: Mapping[str, Any]) -> RejectTarget | None:
    """The run a reject form is about, or None when its metadata is not drbot's."""
    try:
        return RejectTarget.from_metadata(str(view.get("private_metadata") or ""))
    except (ValueError, TypeError):
        return None


def _reject(
    services: Services, client: WebClient, target: RejectTarget, body: Mapping[str, Any], reason: str
) -> None:
    """The lazy half of the reject modal: refusals and no-ops go to the clicker ephemerally."""
    user = body["user"]["id"]
    try:
        outcome = reject_execution(services, target.execution_id, user, reason)
    except DrbotError as error:
        _whisper(client, target, user, Message(text=error.message))
        return
    message = build_outcome(outcome, int(services.clock.now()))
    if outcome.changed and target.message_ts and not target.is_ephemeral:
        container = {"channel_id": target.channel_id, "message_ts": target.message_ts}
        shown = _as_shown(outcome, container, message, services)

        def tell() -> None:
            _whisper(client, target, user, Message(text=_counted(outcome)))

        _show(services, client, container, outcome, shown, tell=tell)
    else:
        _whisper(client, target, user, message if outcome.changed else Message(text=outcome.message))


def _as_shown(
    outcome: Outcome, container: Mapping[str, Any], message: Message, services: Services
) -> Message:
    """`message`, unless the click was on the approvals channel's copy: then the copy, updated."""
    slack = thread_of(services.store, outcome.execution.execution_id)
    clicked = (container.get("channel_id"), container.get("message_ts"))
    if slack is None or not slack.approval_ts or clicked != (slack.approval_channel, slack.approval_ts):
        return message
    headline = f":white_check_mark: *{escape(outcome.message)}*"
    return build_approval_copy(outcome.execution, int(services.clock.now()), headline=headline, thread=slack)


def _tell(respond: Respond, text: str) -> None:
    """`text` to the clicker alone, through the click's response_url (a click with none, which
    Slack never sends, goes unanswered)."""
    if respond.response_url:
        respond(response_type="ephemeral", replace_original=False, text=text)


def _show(
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
        _update(client, container, message)
    except SlackApiError as error:  # e.g. rate-limited: one line, and the clicker is told
        logger.warning(
            "Slack did not take a click's update",
            extra={"status": error.response.status_code, "error": error.response.get("error")},
        )
        tell()


def _counted(outcome: Outcome) -> str:
    return (
        f":white_check_mark: {escape(outcome.message)} (Slack did not update the message you clicked; "
        "this is done all the same.)"
    )


def _update(client: WebClient, container: Mapping[str, Any], message: Message) -> None:
    client.chat_update(
        channel=container["channel_id"], ts=container["message_ts"], text=message.text, blocks=message.blocks
    )


def _whisper(client: WebClient, target: RejectTarget, user: str, message: Message) -> None:
    if target.channel_id:
        client.chat_postEphemeral(
            channel=target.channel_id, user=user, text=message.text, blocks=message.blocks or None
        )


def _label(body: Mapping[str, Any]) -> str:
    return f"the {body['actions'][0]['action_id']} button"
