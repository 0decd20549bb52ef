"""`/dr group …` answers: a protection group with its servers, the list of groups, a deletion.

Pure builders. A message holds at most one table (the servers or the groups); long lists are
trimmed to the Block Kit limits and say so.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.views.common import (
    MAX_SECTION_TEXT,
    MAX_TABLE_ROWS,
    context,
    header,
    section,
    table,
    truncate,
)
from bot.views.message import Message
from bot.views.mrkdwn import code, escape_mrkdwn, mention
from bot.views.servers import server_row
from orchestration.models import ProtectionGroup, RecoveryPlan
from orchestration.services.groups import GroupView

SERVER_COLUMNS = ("Hostname", "Server ID", "Replication", "Lag", "Tier")
LIST_COLUMNS = ("Name", "Region", "Account", "Selection", "Description")
MAX_TABLE_DATA_ROWS = MAX_TABLE_ROWS - 1
_DESCRIPTION_CELL = 60
_HUB_ACCOUNT = "this account"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def tags_text(tags: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(tags.items()))


def selection_text(group: ProtectionGroup) -> str:
    """How a group picks its servers, in a few words: `3 servers` or `tags Tier=web`."""
    if group.server_selection_tags:
        return f"tags {tags_text(group.server_selection_tags)}"
    return plural(len(group.source_server_ids or []), "server")


def bullet_sections(title: str, lines: Sequence[str], max_sections: int = 2) -> list[Block]:
    """`lines` as bullets under `title`, packed into at most `max_sections` sections of at most
    MAX_SECTION_TEXT characters; what does not fit is counted in a last line."""
    blocks: list[Block] = []
    current = title
    for index, line in enumerate(lines):
        bullet = "\n• " + truncate(line, 600)
        if len(current) + len(bullet) <= MAX_SECTION_TEXT - 40:
            current += bullet
            continue
        if len(blocks) + 1 == max_sections:
            current += f"\n…and {len(lines) - index} more."
            break
        blocks.append(section(current))
        current = bullet.lstrip("\n")
    blocks.append(section(current))
    return blocks


def _where(group: ProtectionGroup) -> str:
    return f"*Region:* {group.region} · *Account:* {group.account_id or _HUB_ACCOUNT}"


def _selection_line(group: ProtectionGroup) -> str:
    if group.server_selection_tags:
        tags = ", ".join(code(f"{k}={v}") for k, v in sorted(group.server_selection_tags.items()))
        return f"*Selection:* source servers tagged {tags} (resolved when a wave launches)"
    return f"*Selection:* {plural(len(group.source_server_ids or []), 'server')} by id"


def _plans_line(plans: Sequence[RecoveryPlan]) -> str:
    if not plans:
        return "*Used by plans:* none"
    names = ", ".join(f"*{escape_mrkdwn(p.plan_name)}*" for p in plans[:20])
    more = f" and {len(plans) - 20} more" if len(plans) > 20 else ""
    return f"*Used by plans:* {names}{more}"


def build_group_message(
    view: GroupView, plans: Sequence[RecoveryPlan] | None = None, headline: str | None = None
) -> Message:
    """A group: where it is, how it selects servers, its servers with health, and (when given) the
    plans that use it. `headline` says what just happened (created, updated)."""
    group = view.group
    count = len(view.servers)
    unhealthy = view.unhealthy
    blocks: list[Block] = [header(f"Protection group: {group.group_name}")]
    if headline:
        blocks.append(section(headline))
    lines = [_where(group), _selection_line(group)]
    if group.description:
        lines.append(f"*Description:* {escape_mrkdwn(group.description)}")
    if plans is not None:
        lines.append(_plans_line(plans))
    blocks.append(section("\n".join(lines)))

    health = f"*{plural(count, 'server')}* now"
    if count:
        health += f" · :large_green_circle: {count - len(unhealthy)} replicating continuously"
    if unhealthy:
        health += f" · :red_circle: {len(unhealthy)} not"
    blocks.append(section(health))
    missing = sorted(set(group.source_server_ids or []) - {s.source_server_id for s in view.servers})
    warnings = list(view.warnings)
    if missing:
        warnings.append(f"Not found in DRS any more: {', '.join(missing)}.")
    if warnings:
        blocks.extend(bullet_sections(":warning: *Warnings*", warnings))
    if view.servers:
        shown = view.servers[:MAX_TABLE_DATA_ROWS]
        blocks.append(table(SERVER_COLUMNS, [server_row(s) for s in shown]))
        if len(shown) < count:
            blocks.append(context(f"Showing {len(shown)} of {count} servers; `/dr servers` lists them all."))
    blocks.append(
        context(f"ID `{group.group_id}` · version {group.version} · created by {mention(group.created_by)}")
    )
    text = f"Protection group {group.group_name}: {plural(count, 'server')} in {group.region}"
    if unhealthy:
        text += f", {len(unhealthy)} not replicating"
    return Message(text=text, blocks=blocks)


def _list_row(group: ProtectionGroup) -> list[str]:
    return [
        group.group_name,
        group.region,
        group.account_id or _HUB_ACCOUNT,
        selection_text(group),
        truncate(group.description, _DESCRIPTION_CELL) or "-",
    ]


def build_groups_list(groups: Sequence[ProtectionGroup]) -> Message:
    if not groups:
        text = "No protection groups yet."
        hint = 'Create one with `/dr group create "Web tier" --server web-frontend-01,web-frontend-02`.'
        return Message(text=text, blocks=[section(f":mag: {text} {hint}")])
    shown = groups[:MAX_TABLE_DATA_ROWS]
    blocks: list[Block] = [
        header("Protection groups"),
        section(f"*{plural(len(groups), 'protection group')}*"),
        table(LIST_COLUMNS, [_list_row(g) for g in shown]),
    ]
    if len(shown) < len(groups):
        blocks.append(
            context(f"Showing {len(shown)} of {len(groups)}; `/dr group show &lt;group&gt;` shows any.")
        )
    blocks.append(
        context("`/dr group show &lt;group&gt;` shows a group's servers and the plans that use it.")
    )
    return Message(text=f"{plural(len(groups), 'protection group')}", blocks=blocks)


def build_deleted(kind: str, name: str, item_id: str, actor: str) -> Message:
    """The answer to a deletion: what is gone, and who removed it."""
    text = f"Deleted {kind} '{name}'."
    blocks: list[Block] = [
        section(f":white_check_mark: Deleted {kind} *{escape_mrkdwn(name)}*."),
        context(f"ID `{item_id}` · by {mention(actor)}"),
    ]
    return Message(text=text, blocks=blocks, response_type="in_channel")
