"""Type-ahead (block_suggestion) in the builder modals; the options are the ack itself.

The servers select of the group builder lists the DRS source servers of the region and account
typed so far; a wave's group select in the plan builder lists the groups when they are too many for
a static select.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.models.blocks import Option

from bot.listeners.builder_forms import UNREADABLE
from bot.listeners.context import Drbot, drbot_of
from bot.listeners.errors import log_failure
from bot.views.ids import GroupBuilderId, PlanBuilderId
from orchestration.errors import DrbotError


def register(app: App) -> None:
    app.options(GroupBuilderId.SERVERS.value)(suggest_servers)
    app.options(PlanBuilderId.GROUP_SELECT.value)(suggest_groups)


def suggest_servers(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack(options=_server_options(drbot_of(context), body))


def suggest_groups(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    from bot.views.plan_builder import group_options
    from orchestration.services.groups import list_protection_groups

    groups = list_protection_groups(drbot_of(context).services)
    ack(options=group_options(groups, str(body.get("value") or "")))


def _server_options(drbot: Drbot, body: Mapping[str, Any]) -> list[Option]:
    """The region's servers matching what was typed; none while the region or account is not one
    yet, or when DRS cannot be asked (logged)."""
    from bot.views.group_builder import place_of, server_options
    from orchestration.services.servers import list_source_servers

    try:
        place = place_of(body.get("view") or {}, drbot.services.settings.region)
    except UNREADABLE:  # a form drbot did not build: nothing to suggest
        return []
    if place is None:
        return []
    try:
        listing = list_source_servers(drbot.services, region=place[0], account_id=place[1])
    except DrbotError as error:
        log_failure("could not list DRS source servers for the group builder", error, drbot.redact, body)
        return []
    return server_options(listing.servers, str(body.get("value") or ""))
