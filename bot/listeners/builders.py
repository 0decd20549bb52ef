"""The group and plan builder modals while they are open and when they are submitted.

- Type-ahead (block_suggestion): the servers select lists the DRS source servers of the region and
  account typed so far; a wave's group select lists the groups when they are too many for a static
  select. Options are the ack itself.
- "Add wave" / "Remove wave N" (block_actions): acked at once, then views.update with the view's
  hash, every value typed so far kept (bot/views/plan_builder.py). A pause checkbox is only acked.
- Submission (view_submission): parsed, then saved by the same service functions as the flag
  commands, in the ack: a refusal must come back as `response_action: errors` on the field it is
  about, and only the ack can carry it. Then the saved group or plan (the flag command's answer)
  is posted to the user: ephemerally in the channel the form was opened from, else in a DM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Option

from bot.commands.groups import saved_message as group_saved_message
from bot.commands.plans import cycles_named
from bot.commands.plans import saved_message as plan_saved_message
from bot.listeners.errors import Redactor, log_failure, tell_privately
from bot.views.failures import build_failure_message
from bot.views.group_builder import (
    GroupTarget,
    group_fields,
    parse_group_state,
    place_of,
    server_options,
)
from bot.views.group_builder import errors_for as group_errors
from bot.views.ids import GroupBuilderId, PlanBuilderId
from bot.views.message import Message
from bot.views.plan_builder import (
    PlanDraft,
    build_plan_modal,
    group_options,
    parse_plan_state,
    plan_fields,
)
from bot.views.plan_builder import errors_for as plan_errors
from orchestration.context import Services
from orchestration.errors import DrbotError, UsageError
from orchestration.requests import (
    CreateProtectionGroup,
    CreateRecoveryPlan,
    UpdateProtectionGroup,
    UpdateRecoveryPlan,
)
from orchestration.services.groups import (
    create_protection_group,
    list_protection_groups,
    update_protection_group,
)
from orchestration.services.plans import create_recovery_plan, update_recovery_plan
from orchestration.services.servers import list_source_servers
from orchestration.validation import parse_model

# what reading a form drbot did not build (or an older drbot built) raises
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError)
DAMAGED_FORM = "drbot cannot read this form (it may be from an older version): close it and open it again."
NOT_IN_BUILDER = "That button works only in the plan builder form (`/dr plan create`): nothing changed."


def register(app: App, services: Services, redact: Redactor | None = None) -> None:
    # the app's own client, as for the execution buttons (no per-request team_id)
    builders = _Builders(services, app.client, redact or Redactor())

    def ack_only(ack: Ack) -> None:
        ack()  # the pause checkbox is read from the view's state on submission

    app.options(GroupBuilderId.SERVERS.value)(builders.suggest_servers)
    app.view(GroupBuilderId.CALLBACK.value)(builders.save_group)
    app.options(PlanBuilderId.GROUP_SELECT.value)(builders.suggest_groups)
    app.view(PlanBuilderId.CALLBACK.value)(builders.save_plan)
    app.action(PlanBuilderId.ADD_WAVE.value)(builders.add_wave)
    app.action(PlanBuilderId.REMOVE_WAVE.value)(builders.remove_wave)
    app.action(PlanBuilderId.PAUSE.value)(ack_only)


@dataclass(frozen=True)
class _Builders:
    services: Services
    client: WebClient
    redact: Redactor

    def suggest_servers(self, ack: Ack, body: dict[str, Any]) -> None:
        ack(options=self._server_options(body))

    def suggest_groups(self, ack: Ack, body: dict[str, Any]) -> None:
        ack(options=group_options(list_protection_groups(self.services), str(body.get("value") or "")))

    def save_group(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
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
                create = parse_model(
                    CreateProtectionGroup, {k: v for k, v in fields.items() if v is not None}
                )
                saved = create_protection_group(self.services, create, user)
            else:
                update = parse_model(UpdateProtectionGroup, {**fields, "version": target.version})
                saved = update_protection_group(self.services, target.group_id, update, user)
        except DrbotError as error:
            ack(response_action="errors", errors=group_errors(error, draft))
            return
        except Exception as error:  # told inline, with the reference that is in the logs
            ack(response_action="errors", errors={GroupBuilderId.NAME.value: self._failure(error, body)})
            return
        ack()
        verb = "Created" if target.group_id is None else "Updated"
        self.tell(target.channel_id, user, group_saved_message(self.services, saved, verb, user), body)

    def save_plan(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
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
                    create = parse_model(
                        CreateRecoveryPlan, {k: v for k, v in fields.items() if v is not None}
                    )
                    saved = create_recovery_plan(self.services, create, user)
                else:
                    update = parse_model(UpdateRecoveryPlan, {**fields, "version": target.version})
                    saved = update_recovery_plan(self.services, target.plan_id, update, user)
        except DrbotError as error:
            ack(response_action="errors", errors=plan_errors(error, target))
            return
        except Exception as error:  # told inline, with the reference that is in the logs
            ack(response_action="errors", errors={PlanBuilderId.NAME.value: self._failure(error, body)})
            return
        ack()
        verb = "Created" if target.plan_id is None else "Updated"
        self.tell(target.channel_id, user, plan_saved_message(saved, verb, user), body)

    def add_wave(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        self._update_plan_modal(body, respond, lambda draft: draft.with_wave_added())

    def remove_wave(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        raw = str(body["actions"][0].get("value") or "")
        if not (raw.isascii() and raw.isdigit()):
            tell_privately(
                respond,
                self.client,
                self.redact,
                body,
                "That button is not one of the plan builder's: nothing changed.",
            )
            return
        number = int(raw)
        self._update_plan_modal(body, respond, lambda draft: draft.without_wave(number))

    def tell(self, channel_id: str | None, user_id: str, message: Message, body: Mapping[str, Any]) -> None:
        """`message` to the user alone: ephemeral in `channel_id`, or (no channel, or Slack refuses,
        e.g. the bot is not in that channel) in a DM."""
        if channel_id:
            try:
                self.client.chat_postEphemeral(
                    channel=channel_id, user=user_id, text=message.text, blocks=message.blocks
                )
                return
            except SlackApiError as error:
                log_failure("could not answer in the channel; answering in a DM", error, self.redact, body)
        try:
            self.client.chat_postMessage(channel=user_id, text=message.text, blocks=message.blocks)
        except SlackApiError as error:  # saved all the same: the next `/dr … show` tells
            log_failure("could not tell the user what was saved", error, self.redact, body)

    def _server_options(self, body: Mapping[str, Any]) -> list[Option]:
        """The region's servers matching what was typed; none while the region or account is not
        one yet, or when DRS cannot be asked (logged)."""
        try:
            place = place_of(body.get("view") or {}, self.services.settings.region)
        except UNREADABLE:  # a form drbot did not build: nothing to suggest
            return []
        if place is None:
            return []
        try:
            listing = list_source_servers(self.services, region=place[0], account_id=place[1])
        except DrbotError as error:
            log_failure("could not list DRS source servers for the group builder", error, self.redact, body)
            return []
        return server_options(listing.servers, str(body.get("value") or ""))

    def _update_plan_modal(
        self, body: Mapping[str, Any], respond: Respond, change: Callable[[PlanDraft], PlanDraft]
    ) -> None:
        """The plan builder again, changed, with every value typed so far (views.update with the
        hash Slack gave, so a stale click cannot overwrite a newer view). The button anywhere but
        in the builder (on a message, in another form) is told to the clicker and changes nothing."""
        view = body.get("view")
        if not isinstance(view, Mapping) or view.get("callback_id") != PlanBuilderId.CALLBACK.value:
            tell_privately(respond, self.client, self.redact, body, NOT_IN_BUILDER)
            return
        try:
            draft, target = parse_plan_state(view)
        except UNREADABLE:
            tell_privately(respond, self.client, self.redact, body, DAMAGED_FORM)
            return
        try:
            changed = change(draft)
        except UsageError:  # more waves than the form holds: its footer already says so
            return
        groups = list_protection_groups(self.services)
        modal = build_plan_modal(changed, replace(target, revision=target.revision + 1), groups)
        try:
            self.client.views_update(view_id=str(view.get("id") or ""), hash=view.get("hash"), view=modal)
        except SlackApiError as error:  # hash_conflict: another click updated it first
            log_failure("could not update the plan builder", error, self.redact, body)

    def _failure(self, error: Exception, body: Mapping[str, Any]) -> str:
        reference = log_failure("saving a builder modal failed", error, self.redact, body)
        return build_failure_message("Saving", reference).text
