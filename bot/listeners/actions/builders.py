"""The buttons inside the plan builder modal: "Add wave" / "Remove wave N" are acked at once, then
the modal is updated (views.update with the view's hash), every value typed so far kept
(bot/views/plan_builder.py). A pause checkbox is only acked: it is read from the view's state on
submission (bot/listeners/views.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk.errors import SlackApiError

from bot.listeners.builder_forms import DAMAGED_FORM, UNREADABLE
from bot.listeners.context import Drbot, drbot_of
from bot.listeners.errors import log_failure, tell_privately
from bot.views.ids import PlanBuilderId
from orchestration.errors import UsageError

if TYPE_CHECKING:
    from bot.views.plan_builder import PlanDraft

NOT_IN_BUILDER = "That button works only in the plan builder form (`/dr plan create`): nothing changed."


def register(app: App) -> None:
    app.action(PlanBuilderId.ADD_WAVE.value)(add_wave)
    app.action(PlanBuilderId.REMOVE_WAVE.value)(remove_wave)
    app.action(PlanBuilderId.PAUSE.value)(ack_only)


def ack_only(ack: Ack) -> None:
    ack()  # the pause checkbox is read from the view's state on submission


def add_wave(ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    ack()
    from bot.views.plan_builder import PlanDraft

    _update_plan_modal(drbot_of(context), body, respond, PlanDraft.with_wave_added)


def remove_wave(ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    ack()
    drbot = drbot_of(context)
    raw = str(body["actions"][0].get("value") or "")
    if not (raw.isascii() and raw.isdigit()):
        text = "That button is not one of the plan builder's: nothing changed."
        tell_privately(respond, drbot.client, drbot.redact, body, text)
        return
    number = int(raw)
    _update_plan_modal(drbot, body, respond, lambda draft: draft.without_wave(number))


def _update_plan_modal(
    drbot: Drbot, body: Mapping[str, Any], respond: Respond, change: Callable[[PlanDraft], PlanDraft]
) -> None:
    """The plan builder again, changed, with every value typed so far (views.update with the
    hash Slack gave, so a stale click cannot overwrite a newer view). The button anywhere but
    in the builder (on a message, in another form) is told to the clicker and changes nothing."""
    from bot.views.plan_builder import build_plan_modal, parse_plan_state
    from orchestration.services.groups import list_protection_groups

    view = body.get("view")
    if not isinstance(view, Mapping) or view.get("callback_id") != PlanBuilderId.CALLBACK.value:
        tell_privately(respond, drbot.client, drbot.redact, body, NOT_IN_BUILDER)
        return
    try:
        draft, target = parse_plan_state(view)
    except UNREADABLE:
        tell_privately(respond, drbot.client, drbot.redact, body, DAMAGED_FORM)
        return
    try:
        changed = change(draft)
    except UsageError:  # more waves than the form holds: its footer already says so
        return
    groups = list_protection_groups(drbot.services)
    modal = build_plan_modal(changed, replace(target, revision=target.revision + 1), groups)
    try:
        drbot.client.views_update(view_id=str(view.get("id") or ""), hash=view.get("hash"), view=modal)
    except SlackApiError as error:  # hash_conflict: another click updated it first
        log_failure("could not update the plan builder", error, drbot.redact, body)
