"""Modal submissions (view_submission): the reject form of an execution, and the group and plan
builders.

- Reject: the reason is checked in the ack (a refusal comes back on the field, as `errors`); the
  rejection itself runs lazily. Refusals and no-ops go to the clicker ephemerally; a change is shown
  on the message the Reject button was on (bot/listeners/outcomes.py).
- Builders: the form is parsed, then saved by the same service functions as the flag commands, in
  the ack: a refusal must come back as `response_action: errors` on the field it is about, and only
  the ack can carry it. Then the saved group or plan (the flag command's answer) is posted to the
  user: ephemerally in the channel the form was opened from, else in a DM.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.builder_forms import DAMAGED_FORM, UNREADABLE
from bot.listeners.context import Drbot, drbot_of
from bot.listeners.errors import log_failure
from bot.listeners.outcomes import as_shown, counted, show
from bot.views.failures import build_failure_message
from bot.views.ids import GroupBuilderId, PlanBuilderId
from bot.views.message import Message
from bot.views.reject_modal import DAMAGED_FORM as DAMAGED_REJECT_FORM
from bot.views.reject_modal import RejectModalId, RejectTarget, reason_errors, submitted_reason
from orchestration.errors import DrbotError
from orchestration.validation import parse_model


def register(app: App) -> None:
    app.view(RejectModalId.CALLBACK.value)(ack=check_reason, lazy=[reject])
    app.view(GroupBuilderId.CALLBACK.value)(save_group)
    app.view(PlanBuilderId.CALLBACK.value)(save_plan)


# -- the reject form --------------------------------------------------------------------------------


def check_reason(ack: Ack, view: dict[str, Any]) -> None:
    """The ack of the reject form: a damaged form or a refused reason is answered on the field."""
    if _target_of(view) is None:
        ack(response_action="errors", errors={RejectModalId.REASON_BLOCK.value: DAMAGED_REJECT_FORM})
        return
    errors = reason_errors(submitted_reason(view))
    if errors:
        ack(response_action="errors", errors=errors)
    else:
        ack()


def reject(body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """The lazy half of the reject form: reject the run as the clicker."""
    reason = submitted_reason(view)
    target = _target_of(view)
    # a refused reason or form was answered inline: nothing to do
    if reason_errors(reason) is None and target is not None:
        _reject(drbot_of(context), target, body, reason)


def _target_of(view: Mapping[str, Any]) -> RejectTarget | None:
    """The run a reject form is about, or None when its metadata is not drbot's."""
    try:
        return RejectTarget.from_metadata(str(view.get("private_metadata") or ""))
    except (ValueError, TypeError):
        return None


def _reject(drbot: Drbot, target: RejectTarget, body: Mapping[str, Any], reason: str) -> None:
    """Refusals and no-ops go to the clicker ephemerally."""
    from bot.views.executions import build_outcome
    from orchestration.services.execution_control import reject_execution

    services, client = drbot.services, drbot.client
    user = body["user"]["id"]
    try:
        outcome = reject_execution(services, target.execution_id, user, reason)
    except DrbotError as error:
        _whisper(client, target, user, Message(text=error.message))
        return
    message = build_outcome(outcome, int(services.clock.now()))
    if outcome.changed and target.message_ts and not target.is_ephemeral:
        container = {"channel_id": target.channel_id, "message_ts": target.message_ts}
        shown = as_shown(outcome, container, message, services)
        told = partial(_whisper, client, target, user, Message(text=counted(outcome)))
        show(services, client, container, outcome, shown, tell=told)
    else:
        _whisper(client, target, user, message if outcome.changed else Message(text=outcome.message))


def _whisper(client: WebClient, target: RejectTarget, user: str, message: Message) -> None:
    if target.channel_id:
        client.chat_postEphemeral(
            channel=target.channel_id, user=user, text=message.text, blocks=message.blocks or None
        )


# -- the builders -----------------------------------------------------------------------------------


def save_group(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    from bot.commands.groups import saved_message
    from bot.views.group_builder import GroupTarget, errors_for, group_fields, parse_group_state
    from orchestration.requests import CreateProtectionGroup, UpdateProtectionGroup
    from orchestration.services.groups import create_protection_group, update_protection_group

    drbot = drbot_of(context)
    user = body["user"]["id"]
    try:
        target = GroupTarget.from_metadata(str(view.get("private_metadata") or ""))
        draft = parse_group_state(view)
    except UNREADABLE:  # not a form drbot built, or one from an older drbot
        ack(response_action="errors", errors={GroupBuilderId.NAME.value: DAMAGED_FORM})
        return
    try:
        fields = group_fields(draft)
        if target.group_id is None:
            create = parse_model(CreateProtectionGroup, {k: v for k, v in fields.items() if v is not None})
            saved = create_protection_group(drbot.services, create, user)
        else:
            update = parse_model(UpdateProtectionGroup, {**fields, "version": target.version})
            saved = update_protection_group(drbot.services, target.group_id, update, user)
    except DrbotError as error:
        ack(response_action="errors", errors=errors_for(error, draft))
        return
    except Exception as error:  # told inline, with the reference that is in the logs
        ack(response_action="errors", errors={GroupBuilderId.NAME.value: _failure(drbot, error, body)})
        return
    ack()
    verb = "Created" if target.group_id is None else "Updated"
    _tell(drbot, target.channel_id, user, saved_message(drbot.services, saved, verb, user), body)


def save_plan(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    from bot.commands.plans import cycles_named, saved_message
    from bot.views.plan_builder import errors_for, parse_plan_state, plan_fields
    from orchestration.requests import CreateRecoveryPlan, UpdateRecoveryPlan
    from orchestration.services.plans import create_recovery_plan, update_recovery_plan

    drbot = drbot_of(context)
    user = body["user"]["id"]
    try:
        draft, target = parse_plan_state(view)
    except UNREADABLE:  # not a form drbot built, or one from an older drbot
        ack(response_action="errors", errors={PlanBuilderId.NAME.value: DAMAGED_FORM})
        return
    try:
        fields = plan_fields(draft)
        with cycles_named(fields["waves"]):
            if target.plan_id is None:
                create = parse_model(CreateRecoveryPlan, {k: v for k, v in fields.items() if v is not None})
                saved = create_recovery_plan(drbot.services, create, user)
            else:
                update = parse_model(UpdateRecoveryPlan, {**fields, "version": target.version})
                saved = update_recovery_plan(drbot.services, target.plan_id, update, user)
    except DrbotError as error:
        ack(response_action="errors", errors=errors_for(error, target))
        return
    except Exception as error:  # told inline, with the reference that is in the logs
        ack(response_action="errors", errors={PlanBuilderId.NAME.value: _failure(drbot, error, body)})
        return
    ack()
    verb = "Created" if target.plan_id is None else "Updated"
    _tell(drbot, target.channel_id, user, saved_message(saved, verb, user), body)


def _tell(
    drbot: Drbot, channel_id: str | None, user_id: str, message: Message, body: Mapping[str, Any]
) -> None:
    """`message` to the user alone: ephemeral in `channel_id`, or (no channel, or Slack refuses,
    e.g. the bot is not in that channel) in a DM."""
    if channel_id:
        try:
            drbot.client.chat_postEphemeral(
                channel=channel_id, user=user_id, text=message.text, blocks=message.blocks
            )
            return
        except SlackApiError as error:
            log_failure("could not answer in the channel; answering in a DM", error, drbot.redact, body)
    try:
        drbot.client.chat_postMessage(channel=user_id, text=message.text, blocks=message.blocks)
    except SlackApiError as error:  # saved all the same: the next `/dr … show` tells
        log_failure("could not tell the user what was saved", error, drbot.redact, body)


def _failure(drbot: Drbot, error: Exception, body: Mapping[str, Any]) -> str:
    reference = log_failure("saving a builder modal failed", error, drbot.redact, body)
    return build_failure_message("Saving", reference).text
