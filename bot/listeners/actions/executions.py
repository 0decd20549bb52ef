"""The buttons of an execution's messages: Approve, Reject (a modal asks why), Pause, Resume, Cancel.

Every click is acked at once and the service call runs lazily (as `/dr` does). The clicker is
`body["user"]["id"]`; the services decide who may do what. A refusal (any DrbotError: not an
approver, the requester approving their own run, a run that already ended) is told to the clicker
alone, ephemerally, and changes nothing; Reject checks the clicker's role before its modal opens
(the form's submission is bot/listeners/views.py). A change replaces the message with the fresh
summary (bot/listeners/outcomes.py); a no-op (a double click, a Slack retry) only tells the clicker
it was already done. A click on the approvals channel's copy of a request keeps the copy's shape
(its link to the thread); the Slack notifier updates the other message.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk.errors import SlackApiError

from bot.listeners.context import Drbot, drbot_of
from bot.listeners.errors import log_failure
from bot.listeners.lazy import ack_now, answer_on_home, answer_privately, attempt, on_home
from bot.listeners.outcomes import as_shown, counted, show
from bot.views.errors import refusal_text
from bot.views.ids import ActionId
from bot.views.message import Message
from orchestration.context import Services
from orchestration.errors import DrbotError
from orchestration.rbac import Permission

if TYPE_CHECKING:
    from orchestration.services.execution_control import Outcome

ServiceCall = Callable[[Services, str, str], "Outcome"]


def register(app: App) -> None:
    app.action(ActionId.APPROVE.value)(ack=ack_now, lazy=[approve_clicked])
    app.action(ActionId.PAUSE.value)(ack=ack_now, lazy=[pause_clicked])
    app.action(ActionId.RESUME.value)(ack=ack_now, lazy=[resume_clicked])
    app.action(ActionId.CANCEL.value)(ack=ack_now, lazy=[cancel_clicked])
    app.action(ActionId.REJECT.value)(ask_reason)


def approve_clicked(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    from orchestration.services.execution_control import approve_execution

    _clicked(drbot_of(context), body, respond, approve_execution)


def pause_clicked(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    from orchestration.services.execution_control import pause_execution

    _clicked(drbot_of(context), body, respond, pause_execution)


def resume_clicked(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    from orchestration.services.execution_control import resume_execution

    _clicked(drbot_of(context), body, respond, resume_execution)


def cancel_clicked(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    from orchestration.services.execution_control import cancel_execution

    _clicked(drbot_of(context), body, respond, cancel_execution)


def ask_reason(ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """Reject: the form that asks why, opened in the ack (the trigger_id lives 3 seconds)."""
    ack()
    from bot.views.reject_modal import RejectTarget, build_reject_modal
    from orchestration.services.access import require

    drbot = drbot_of(context)
    try:  # someone who may not reject is told now, not after typing a reason
        require(drbot.services, body["user"]["id"], Permission.APPROVE)
    except DrbotError as error:
        answer_privately(respond, Message(text=error.message))
        return
    target = RejectTarget.of_click(body)
    if not target.execution_id:
        answer_privately(respond, Message(text="That Reject button names no run: nothing changed."))
        return
    try:
        drbot.client.views_open(trigger_id=body.get("trigger_id"), view=build_reject_modal(target))
    except SlackApiError as error:  # e.g. expired_trigger_id
        reference = log_failure("Slack did not open the reject form", error, drbot.redact, body)
        text = f"Slack did not open the form (reference {reference}); click Reject again."
        answer_privately(respond, Message(text=text))


def _clicked(drbot: Drbot, body: dict[str, Any], respond: Respond, call: ServiceCall) -> None:
    """The lazy half of a button: call the service as the clicker and show what it did (on the
    Home tab: at the top of the clicker's Home, published again)."""
    from bot.views.executions import build_outcome

    services = drbot.services
    outcome = attempt(
        drbot,
        body,
        respond,
        lambda: call(services, str(body["actions"][0].get("value") or ""), body["user"]["id"]),
        failed="execution button failed",
        refusal=_refusal_line,
    )
    if outcome is None:
        return
    message = build_outcome(outcome, int(services.clock.now()))
    container = body.get("container") or {}
    if on_home(body):
        answer_on_home(drbot.publisher, body, outcome.message)
        return
    try:
        if not outcome.changed:
            answer_privately(respond, Message(text=outcome.message))
        elif container.get("is_ephemeral") or not container.get("message_ts"):
            respond(replace_original=True, text=message.text, blocks=message.blocks)
        else:
            shown = as_shown(outcome, container, message, services)
            told = partial(answer_privately, respond, Message(text=counted(outcome)))
            show(services, drbot.client, container, outcome, shown, tell=told)
    except Exception as error:  # done all the same: the run's thread tells; logged here
        log_failure("could not show what an execution button did", error, drbot.redact, body)


def _refusal_line(error: DrbotError) -> Message:
    return Message(text=refusal_text(error))
