"""`/dr group create|list|show|edit|delete`: protection groups from the command line.

Servers are named by DRS source-server id or by hostname; hostnames are resolved against the
group's region (and account) before the service checks every rule. Given no flags, create and edit
open the group builder modal (bot/views/group_builder.py) where Slack can show one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from pydantic import TypeAdapter, ValidationError

from bot.commands.grammar import Arguments, Flag, Positional
from bot.commands.registry import Answer, Command, CommandContext, ModalAnswer
from bot.commands.servers import parse_positive_int
from bot.tag_filters import parse_tag_filters
from bot.views import group_builder
from bot.views.groups import build_deleted, build_group_message, build_groups_list, plural
from bot.views.message import Message
from bot.views.mrkdwn import escape_mrkdwn, mention
from orchestration.context import Services
from orchestration.drs.gateway import SourceServer
from orchestration.errors import ServersNotFound, UsageError, ValidationFailed
from orchestration.models import AccountId, Region
from orchestration.rbac import Permission
from orchestration.requests import CreateProtectionGroup, UpdateProtectionGroup
from orchestration.services.access import require
from orchestration.services.groups import (
    GroupView,
    create_protection_group,
    delete_protection_group,
    find_group,
    get_protection_group,
    list_protection_groups,
    plans_using,
    region_servers,
    update_protection_group,
)
from orchestration.validation import parse_model

SERVER_ID = re.compile(r"^s-[0-9a-f]{17}$")


def split_server_refs(values: Sequence[str]) -> list[str]:
    """`--server a --server b,c` -> [a, b, c], each once, in the order given."""
    refs = [ref.strip() for value in values for ref in value.split(",")]
    return list(dict.fromkeys(ref for ref in refs if ref))


def resolve_server_refs(refs: Sequence[str], candidates: Sequence[SourceServer], where: str) -> list[str]:
    """Server ids for `refs` (ids kept as typed, hostnames matched case-insensitively among the
    region's servers). An unknown or ambiguous hostname is refused by name."""
    by_host: dict[str, list[SourceServer]] = {}
    for server in candidates:
        by_host.setdefault(server.hostname.casefold(), []).append(server)
    ids: list[str] = []
    unknown: list[str] = []
    for ref in refs:
        if SERVER_ID.match(ref):
            ids.append(ref)
            continue
        matches = by_host.get(ref.casefold(), [])
        if len(matches) > 1:
            listed = ", ".join(s.source_server_id for s in matches)
            raise ValidationFailed(
                f"Hostname '{ref}' matches {len(matches)} source servers in {where} ({listed}); "
                "name the one you mean by its server id.",
                field="--server",
            )
        if matches:
            ids.append(matches[0].source_server_id)
        else:
            unknown.append(ref)
    if unknown:
        names = ", ".join(f"'{u}'" for u in unknown)
        raise ServersNotFound(
            f"No DRS source server with hostname {names} in {where}; `/dr servers` lists them.",
            serverIds=unknown,
        )
    return list(dict.fromkeys(ids))


def check_place(region: str, account_id: str | None) -> None:
    """Refuse a malformed region or account before DRS is asked anything about it."""
    try:
        TypeAdapter(Region).validate_python(region)
    except ValidationError:
        raise UsageError(f"`{region}` is not an AWS region name such as us-east-1.") from None
    try:
        TypeAdapter(AccountId | None).validate_python(account_id)
    except ValidationError:
        raise UsageError(f"`{account_id}` is not an AWS account id (12 digits).") from None


def require_configurer(ctx: CommandContext) -> None:
    """Refuse a form before it opens to someone who may not save it (the service checks again)."""
    require(ctx.services, ctx.invocation.user_id, Permission.MANAGE_CONFIGURATION)


def _where(region: str, account_id: str | None) -> str:
    return region + (f" in account {account_id}" if account_id else "")


def _server_ids(services: Services, values: Sequence[str], region: str, account_id: str | None) -> list[str]:
    refs = split_server_refs(values)
    if all(SERVER_ID.match(ref) for ref in refs):  # ids only: the service checks they exist
        return refs
    return resolve_server_refs(refs, region_servers(services, region, account_id), _where(region, account_id))


def _selection(services: Services, args: Arguments, region: str, account_id: str | None) -> dict[str, object]:
    """The request fields for `--server`/`--tag` (empty when neither was given)."""
    servers, tags = args.all("server"), args.all("tag")
    if servers and tags:
        raise UsageError("A group selects servers either by `--server` or by `--tag`, not both.")
    if servers:
        return {
            "sourceServerIds": _server_ids(services, servers, region, account_id),
            "serverSelectionTags": None,
        }
    if tags:
        return {"serverSelectionTags": parse_tag_filters(tags), "sourceServerIds": None}
    return {}


def _headline(verb: str, name: str, count: int, actor: str) -> str:
    what = f"protection group *{escape_mrkdwn(name)}* with {plural(count, 'server')}"
    return f":white_check_mark: {verb} {what} (by {mention(actor)})."


_NO_SERVERS = "Say which servers the group holds: `--server HOST|ID` (repeatable) or `--tag Key=Value`."
_FORM = "In Slack, `/dr group {verb}` with no options opens a form."


def saved_message(services: Services, view: GroupView, verb: str, actor: str) -> Message:
    """What a create or an edit answers (flags or form): the group and its servers, in the channel."""
    headline = _headline(verb, view.group.group_name, len(view.servers), actor)
    plans = plans_using(services, view.group.group_id) if verb == "Updated" else []
    return replace(build_group_message(view, plans=plans, headline=headline), response_type="in_channel")


def _create(ctx: CommandContext, args: Arguments) -> Message:
    name = args.positionals["name"]
    region = args.get("region") or ctx.services.settings.region
    account_id = args.get("account")
    check_place(region, account_id)
    selection = _selection(ctx.services, args, region, account_id)
    if not selection:
        raise UsageError(_NO_SERVERS)
    request = parse_model(
        CreateProtectionGroup,
        {
            "groupName": name,
            "region": region,
            "accountId": account_id,
            "description": args.get("description", ""),
            **{k: v for k, v in selection.items() if v is not None},
        },
    )
    view = create_protection_group(ctx.services, request, ctx.invocation.user_id)
    return saved_message(ctx.services, view, "Created", ctx.invocation.user_id)


def _create_form(ctx: CommandContext, args: Arguments) -> Answer:
    """`/dr group create [name]` alone: the group builder, empty but for the name and region."""
    if ctx.invocation.trigger_id is None:
        raise UsageError(f"{_NO_SERVERS} {_FORM.format(verb='create')}")
    require_configurer(ctx)
    draft = group_builder.GroupDraft(
        name=args.positionals.get("name", ""), region=ctx.services.settings.region
    )
    target = group_builder.GroupTarget(channel_id=ctx.invocation.channel_id)
    return ModalAnswer(group_builder.build_group_modal(draft, target))


def _list(ctx: CommandContext, args: Arguments) -> Message:
    return build_groups_list(list_protection_groups(ctx.services))


def _show(ctx: CommandContext, args: Arguments) -> Message:
    view = get_protection_group(ctx.services, args.positionals["group"])
    return build_group_message(view, plans=plans_using(ctx.services, view.group.group_id))


def _edit(ctx: CommandContext, args: Arguments) -> Message:
    changes: dict[str, object] = {
        "groupName": args.get("name"),
        "description": args.get("description"),
        "version": parse_positive_int(args.get("version"), "version"),
    }
    group = find_group(ctx.services, args.positionals["group"])
    changes = {k: v for k, v in changes.items() if v is not None}
    changes.update(_selection(ctx.services, args, group.region, group.account_id))
    if not changes.keys() - {"version"}:
        raise UsageError("Nothing to change: give `--name`, `--description`, `--server` or `--tag`.")
    request = parse_model(UpdateProtectionGroup, changes)
    view = update_protection_group(ctx.services, group.group_id, request, ctx.invocation.user_id)
    return saved_message(ctx.services, view, "Updated", ctx.invocation.user_id)


def _edit_form(ctx: CommandContext, args: Arguments) -> Answer:
    """`/dr group edit <group>` alone: the group builder filled with the group as stored now."""
    ref = args.positionals.get("group")
    if ref is None:
        raise UsageError(f"Missing <group>: {_GROUP.help}.")
    if ctx.invocation.trigger_id is None:
        raise UsageError(
            "Nothing to change: give `--name`, `--description`, `--server` or `--tag`. "
            + _FORM.format(verb="edit <group>")
        )
    require_configurer(ctx)
    view = get_protection_group(ctx.services, ref)
    target = group_builder.GroupTarget(view.group.group_id, view.group.version, ctx.invocation.channel_id)
    return ModalAnswer(group_builder.build_group_modal(group_builder.GroupDraft.of_group(view), target))


def _delete(ctx: CommandContext, args: Arguments) -> Message:
    expected = parse_positive_int(args.get("version"), "version")
    group = find_group(ctx.services, args.positionals["group"])
    deleted = delete_protection_group(ctx.services, group.group_id, ctx.invocation.user_id, expected)
    return build_deleted("protection group", deleted.group_name, deleted.group_id, ctx.invocation.user_id)


_GROUP = Positional("group", "a protection group's name or id (`/dr group list` shows them)")
_SERVER = Flag(
    "server",
    "a source server by hostname or id; repeat it or separate with commas",
    value="HOST|ID",
    repeatable=True,
)
_TAG = Flag(
    "tag", "select every source server with this tag (resolved at launch)", value="KEY=VALUE", repeatable=True
)
_DESCRIPTION = Flag("description", "what the group is for", value="TEXT")
_VERSION = Flag("version", "the version you read; refused if someone changed it since", value="N")

COMMANDS = [
    Command(
        noun="group",
        verb="create",
        summary=(
            "Create a protection group: servers by hostname or id, or every server with some tags; "
            "in Slack, with no options, a form."
        ),
        handler=_create,
        modal=_create_form,
        positionals=(Positional("name", "the new group's name (quote it if it has spaces)"),),
        flags=(
            Flag("region", "AWS region of the servers (default: the configured region)", value="REGION"),
            Flag("account", "target account id (default: this account)", value="ACCOUNT"),
            _SERVER,
            _TAG,
            _DESCRIPTION,
        ),
        examples=(
            '/dr group create "Web tier" --server web-frontend-01 --server web-frontend-02',
            '/dr group create "DB tier" --region us-east-1 --server db-primary-01,db-replica-01',
            '/dr group create "App tier" --tag Tier=app --description "every app server"',
        ),
    ),
    Command(
        noun="group",
        verb="list",
        summary="Every protection group: region, account, how it selects servers.",
        handler=_list,
        examples=("/dr group list",),
    ),
    Command(
        noun="group",
        verb="show",
        summary="One group: its servers with replication health and the plans that use it.",
        handler=_show,
        positionals=(_GROUP,),
        examples=('/dr group show "Web tier"',),
    ),
    Command(
        noun="group",
        verb="edit",
        summary=(
            "Rename a group, change its description, or replace its servers or tags; "
            "in Slack, with no options, a form filled with the group."
        ),
        handler=_edit,
        modal=_edit_form,
        positionals=(_GROUP,),
        flags=(
            Flag("name", "the new name", value="NAME"),
            _DESCRIPTION,
            _SERVER,
            _TAG,
            _VERSION,
        ),
        examples=(
            '/dr group edit "Web tier" --server web-frontend-01 --server web-admin-01',
            '/dr group edit "Web tier" --name "Web front" --description "public web servers"',
        ),
    ),
    Command(
        noun="group",
        verb="delete",
        summary="Delete a protection group that no plan uses.",
        handler=_delete,
        positionals=(_GROUP,),
        flags=(_VERSION,),
        examples=('/dr group delete "Web tier"',),
    ),
]
