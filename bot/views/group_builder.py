"""The group builder modal: a protection group's name, description, region, account, and either its
servers (a multi_external_select fed by DRS, with type-ahead) or a tag selector.

Pure builders and parsers. What the modal edits (the group and the version that was read, the
channel to answer in) rides in its private_metadata. A submission becomes the same camelCase
request fields the flag form sends; a problem found here, or by the service, is a DrbotError whose
`field` (or `errors[].field`) names a request field, which `errors_for` places on its block.
The listeners are bot/listeners/options.py and bot/listeners/views.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError
from slack_sdk.models.blocks import (
    Block,
    ExternalDataMultiSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot.tag_filters import parse_tag_filters
from bot.views.common import truncate
from bot.views.form_errors import inline_errors
from bot.views.groups import tags_text
from bot.views.ids import GroupBuilderId
from bot.views.plan_builder import metadata_fields, valid_target_ids
from orchestration.drs.gateway import SourceServer
from orchestration.errors import DrbotError, ServerConflict, ServersNotFound, UsageError, ValidationFailed
from orchestration.models import AccountId, Region
from orchestration.services.groups import GroupView

MAX_OPTIONS = 100  # an options response holds at most 100 options
MAX_OPTION_TEXT = 75
NAME_TAG = "Name"
EITHER_SERVERS_OR_TAGS = "Choose the servers, or give a tag selector below: one of the two."
NOT_BOTH = "Give either servers or tags, not both: clear one of them."
TAGS_HINT = "Every server with all these tags, e.g. Tier=web, Environment=Production (resolved at launch)."

# request field -> the block where its error shows
FIELD_BLOCKS: dict[str, GroupBuilderId] = {
    "groupName": GroupBuilderId.NAME,
    "description": GroupBuilderId.DESCRIPTION,
    "region": GroupBuilderId.REGION,
    "accountId": GroupBuilderId.ACCOUNT,
    "sourceServerIds": GroupBuilderId.SERVERS,
    "serverSelectionTags": GroupBuilderId.TAGS,
}
# DRS's answers meaning "not in this region or account" (orchestration/drs/gateway.py)
PLACE_REFUSALS = frozenset({"UninitializedAccountException", "AccessDeniedException"})
# errors that say which field only by their kind
_KIND_BLOCKS: dict[type[DrbotError], GroupBuilderId] = {
    ServersNotFound: GroupBuilderId.SERVERS,
    ServerConflict: GroupBuilderId.SERVERS,
}


@dataclass(frozen=True)
class GroupTarget:
    """What the modal edits: a new group (no id) or a stored one at the version read; and where
    the user asked from, to answer there."""

    group_id: str | None = None
    version: int | None = None
    channel_id: str | None = None

    def to_metadata(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_metadata(cls, text: str) -> GroupTarget:
        """The target a form's private_metadata names; ValueError when drbot did not write it."""
        target = cls(**metadata_fields(text, cls)) if text else cls()
        if not valid_target_ids(target.group_id, target.channel_id, version=target.version):
            raise ValueError("the form's metadata is not drbot's")
        return target


@dataclass(frozen=True)
class ServerChoice:
    """A chosen server: its id and the text its option shows."""

    server_id: str
    label: str

    def option(self) -> Option:
        return Option(value=self.server_id, text=self.label)


@dataclass(frozen=True)
class GroupDraft:
    """What the modal shows or what was typed into it, as text (checked on submission)."""

    name: str = ""
    description: str = ""
    region: str = ""
    account_id: str = ""
    servers: tuple[ServerChoice, ...] = ()
    tags: str = ""  # "Key=Value, Key2=Value2"

    @classmethod
    def of_group(cls, view: GroupView) -> GroupDraft:
        """A stored group, its servers labelled by what DRS says of them now."""
        group = view.group
        known = {s.source_server_id: s for s in view.servers}
        servers = tuple(
            ServerChoice(sid, server_label(known[sid]) if sid in known else sid)
            for sid in group.source_server_ids or []
        )
        return cls(
            name=group.group_name,
            description=group.description,
            region=group.region,
            account_id=group.account_id or "",
            servers=servers,
            tags=tags_text(group.server_selection_tags or {}),
        )


def server_label(server: SourceServer) -> str:
    """`hostname · Name tag (s-…)` within the 75 characters of an option; the id always shows."""
    suffix = f" ({server.source_server_id})"
    name = server.tags.get(NAME_TAG, "")
    words = server.hostname if not name or name == server.hostname else f"{server.hostname} · {name}"
    return truncate(words, MAX_OPTION_TEXT - len(suffix)) + suffix


def matches(server: SourceServer, query: str) -> bool:
    """Type-ahead: the query found in the hostname, the id or the Name tag (case ignored)."""
    wanted = query.strip().casefold()
    haystack = (server.hostname, server.source_server_id, server.tags.get(NAME_TAG, ""))
    return not wanted or any(wanted in text.casefold() for text in haystack)


def server_options(servers: Iterable[SourceServer], query: str) -> list[Option]:
    """The options of the servers select for what was typed: matches by hostname, at most 100."""
    found = sorted((s for s in servers if matches(s, query)), key=lambda s: (s.hostname, s.source_server_id))
    return [Option(value=s.source_server_id, text=server_label(s)) for s in found[:MAX_OPTIONS]]


def _text_input(
    block: GroupBuilderId,
    label: str,
    value: str,
    *,
    optional: bool = False,
    hint: str | None = None,
    placeholder: str | None = None,
    max_length: int | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block.value,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=block.value,
            initial_value=value or None,
            placeholder=placeholder,
            max_length=max_length,
        ),
    )


def build_group_modal(draft: GroupDraft, target: GroupTarget) -> View:
    """The group builder, filled with `draft`; submitting it creates or updates the group."""
    editing = target.group_id is not None
    blocks: list[Block] = [
        _text_input(GroupBuilderId.NAME, "Name", draft.name, max_length=128),
        _text_input(
            GroupBuilderId.DESCRIPTION, "Description", draft.description, optional=True, max_length=1024
        ),
        _text_input(
            GroupBuilderId.REGION,
            "Region",
            draft.region,
            hint="The AWS region of the DRS source servers, e.g. us-east-1.",
        ),
        _text_input(
            GroupBuilderId.ACCOUNT,
            "Account",
            draft.account_id,
            optional=True,
            hint="The target account id (12 digits); blank: this account.",
        ),
        InputBlock(
            block_id=GroupBuilderId.SERVERS.value,
            label="Servers",
            optional=True,
            hint="Type a hostname, a server id or a Name tag. Or leave it empty and give tags below.",
            element=ExternalDataMultiSelectElement(
                action_id=GroupBuilderId.SERVERS.value,
                placeholder="Search the region's DRS source servers",
                min_query_length=0,
                initial_options=[choice.option() for choice in draft.servers] or None,
            ),
        ),
        _text_input(
            GroupBuilderId.TAGS,
            "Or tags",
            draft.tags,
            optional=True,
            hint=TAGS_HINT,
            placeholder="Tier=web, Environment=Production",
        ),
    ]
    return View(
        type="modal",
        callback_id=GroupBuilderId.CALLBACK.value,
        title="Edit protection group" if editing else "New protection group",
        submit="Save" if editing else "Create",
        close="Cancel",
        private_metadata=target.to_metadata(),
        blocks=blocks,
    )


# -- reading the modal --------------------------------------------------------------------------


def _state(view: Mapping[str, Any]) -> Mapping[str, Any]:
    values: Mapping[str, Any] = (view.get("state") or {}).get("values") or {}
    return values


def _text(values: Mapping[str, Any], block: GroupBuilderId) -> str:
    return str((values.get(block.value) or {}).get(block.value, {}).get("value") or "").strip()


def parse_group_state(view: Mapping[str, Any]) -> GroupDraft:
    """What was typed and chosen in the modal (`view` is the payload's view, with its state)."""
    values = _state(view)
    selected = (values.get(GroupBuilderId.SERVERS.value) or {}).get(GroupBuilderId.SERVERS.value, {})
    servers = tuple(
        ServerChoice(str(option["value"]), str(option.get("text", {}).get("text") or option["value"]))
        for option in selected.get("selected_options") or []
    )
    return GroupDraft(
        name=_text(values, GroupBuilderId.NAME),
        description=_text(values, GroupBuilderId.DESCRIPTION),
        region=_text(values, GroupBuilderId.REGION),
        account_id=_text(values, GroupBuilderId.ACCOUNT),
        servers=servers,
        tags=_text(values, GroupBuilderId.TAGS),
    )


def parse_tags(text: str) -> dict[str, str]:
    """`Tier=web, Environment=Production` with the flag form's `--tag` parser, one pair at a time
    so that a bad pair is named."""
    pairs = [pair.strip() for pair in text.split(",") if pair.strip()]
    for pair in pairs:
        try:
            parse_tag_filters([pair])
        except UsageError:
            raise ValidationFailed(
                f"`{pair}` is not Key=Value: write tags as Key=Value, separated by commas.",
                field="serverSelectionTags",
            ) from None
    return parse_tag_filters(pairs)


def _place_problems(region: str, account_id: str) -> list[ValidationFailed]:
    """The region and account as the model types them, refused in words a person can act on."""
    problems: list[ValidationFailed] = []
    if not region:
        problems.append(
            ValidationFailed("Give the AWS region of the servers, e.g. us-east-1.", field="region")
        )
    else:
        try:
            TypeAdapter(Region).validate_python(region)
        except PydanticError:
            problems.append(
                ValidationFailed(f"`{region}` is not an AWS region name such as us-east-1.", field="region")
            )
    if account_id:
        try:
            TypeAdapter(AccountId).validate_python(account_id)
        except PydanticError:
            problems.append(
                ValidationFailed(
                    f"`{account_id}` is not an AWS account id (12 digits); leave it blank for this account.",
                    field="accountId",
                )
            )
    return problems


def _check_place(region: str, account_id: str) -> None:
    for problem in _place_problems(region, account_id):
        raise problem


def group_fields(draft: GroupDraft) -> dict[str, Any]:
    """The request fields (camelCase) of a submission: servers by id XOR tags.

    Raises ValidationFailed naming every field in trouble (`errors[].field`), so that each shows
    its problem at once: no region or not one, an account that is not one, neither or both of
    servers and tags, a malformed tag.
    """
    problems = _place_problems(draft.region, draft.account_id)
    tags: dict[str, str] = {}
    if draft.servers and draft.tags:
        problems.append(ValidationFailed(NOT_BOTH, field="serverSelectionTags"))
    elif not draft.servers and not draft.tags:
        problems.append(ValidationFailed(EITHER_SERVERS_OR_TAGS, field="sourceServerIds"))
    elif draft.tags:
        try:
            tags = parse_tags(draft.tags)
        except ValidationFailed as bad_tag:
            problems.append(ValidationFailed(bad_tag.message, field="serverSelectionTags"))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(
            problems[0].message + more,
            field=problems[0].details["field"],
            errors=[{"field": p.details["field"], "message": p.message} for p in problems],
        )
    selection: dict[str, Any] = (
        {"sourceServerIds": [s.server_id for s in draft.servers], "serverSelectionTags": None}
        if draft.servers
        else {"serverSelectionTags": tags, "sourceServerIds": None}
    )
    return {
        "groupName": draft.name,
        "description": draft.description,
        "region": draft.region,
        "accountId": draft.account_id or None,
        **selection,
    }


def place_of(view: Mapping[str, Any], default_region: str) -> tuple[str, str | None] | None:
    """The region and account typed so far (for the servers' type-ahead); None while they are not
    a region and an account yet."""
    draft = parse_group_state(view)
    region = draft.region or default_region
    try:
        _check_place(region, draft.account_id)
    except ValidationFailed:
        return None
    return region, draft.account_id or None


def errors_for(error: DrbotError, draft: GroupDraft | None = None) -> dict[str, str]:
    """The `response_action: errors` of a refused submission, each problem on its field's block;
    DRS refusing the region or account (not initialized there, no access) on the account when one
    was given, else on the region."""
    kind = next((block for cls, block in _KIND_BLOCKS.items() if isinstance(error, cls)), GroupBuilderId.NAME)
    if error.details.get("drsError") in PLACE_REFUSALS:
        kind = GroupBuilderId.ACCOUNT if draft is not None and draft.account_id else GroupBuilderId.REGION
    fallback = kind.value
    return inline_errors(error, _block_of, fallback)


def _block_of(path: str) -> str | None:
    block = FIELD_BLOCKS.get(path.split(".", 1)[0].split("[", 1)[0])
    return None if block is None else block.value
