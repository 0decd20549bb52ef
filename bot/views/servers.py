"""`/dr servers`: source servers with replication health and protection group, as a table, a page
of at most PAGE_SIZE servers at a time (a Slack table holds 99 rows): `--page N` in text, Previous
and Next buttons in Slack (answered by bot/listeners/actions/servers.py, which shows the page asked for in
place of the message)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.views.common import MAX_TABLE_ROWS, context, header, section, table
from bot.views.ids import ServersActionId
from bot.views.message import Message
from bot.views.mrkdwn import code, escape_mrkdwn
from orchestration.drs.gateway import SourceServer
from orchestration.services.servers import ServerListing

_LAG_WARNING_SECONDS = 300
COLUMNS = ("Hostname", "Server ID", "Replication", "Lag", "Tier", "Protection group")
PAGE_SIZE = MAX_TABLE_ROWS - 1
MAX_BUTTON_VALUE = 2000  # Slack's limit on a button's value


@dataclass(frozen=True)
class ServerQuery:
    """The filters of one `/dr servers`: what a page button asks for again, and what `--page N`
    must repeat."""

    region: str | None = None
    account: str | None = None
    state: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def command(self, page: int) -> str:
        """The `/dr servers` line that shows `page` of the same listing."""
        words = ["/dr", "servers"]
        for flag, value in (("region", self.region), ("account", self.account), ("state", self.state)):
            if value:
                words += [f"--{flag}", shlex.quote(value)]
        for key, value in sorted(self.tags.items()):
            words += ["--tag", shlex.quote(f"{key}={value}")]
        return " ".join([*words, "--page", str(page)])

    def button_value(self, page: int) -> str:
        wire: dict[str, Any] = {"page": page}
        wire.update({k: v for k, v in (("region", self.region), ("account", self.account)) if v})
        if self.state:
            wire["state"] = self.state
        if self.tags:
            wire["tags"] = dict(self.tags)
        return json.dumps(wire, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_button_value(cls, value: str) -> tuple[ServerQuery, int]:
        """The query and page a button carries; ValueError when it is not one of ours."""
        wire = json.loads(value)
        if not isinstance(wire, dict) or not isinstance(wire.get("page"), int) or wire["page"] < 1:
            raise ValueError(f"not a servers page: {value[:100]!r}")
        tags = wire.get("tags") or {}
        if not isinstance(tags, dict):
            raise ValueError("tags must be an object")
        strings = {name: wire.get(name) for name in ("region", "account", "state")}
        if any(v is not None and not isinstance(v, str) for v in strings.values()):
            raise ValueError("filters must be strings")
        query = cls(
            region=strings["region"],
            account=strings["account"],
            state=strings["state"],
            tags={str(k): str(v) for k, v in tags.items()},
        )
        return query, int(wire["page"])


def page_count(count: int) -> int:
    return max(1, -(-count // PAGE_SIZE))


def health_icon(server: SourceServer) -> str:
    if not server.healthy:
        return ":red_circle:"
    if server.lag_seconds and server.lag_seconds >= _LAG_WARNING_SECONDS:
        return ":large_yellow_circle:"
    return ":large_green_circle:"


def format_lag(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def server_row(server: SourceServer) -> list[str]:
    """Hostname, id, replication state, lag and tier: the columns every server table starts with."""
    return [
        server.hostname,
        server.source_server_id,
        server.replication_state,
        format_lag(server.lag_seconds),
        server.tags.get("Tier", "-"),
    ]


def _row(server: SourceServer, listing: ServerListing) -> list[str]:
    group = listing.assignments.get(server.source_server_id)
    return [*server_row(server), group.group_name if group else "-"]


def _page_buttons(query: ServerQuery, page: int, pages: int) -> ActionsBlock | None:
    buttons: list[tuple[str, int, str | None]] = []
    if page > 1:
        buttons.append(("Previous", page - 1, None))
    if page < pages:
        buttons.append(("Next", page + 1, "primary"))
    elements = []
    for label, target, style in buttons:
        value = query.button_value(target)
        if len(value) > MAX_BUTTON_VALUE:
            return None  # filters too long to carry: the context line says how to type it
        elements.append(
            ButtonElement(
                text=f"{label} ({target} of {pages})",
                action_id=ServersActionId.PAGE.value,
                value=value,
                style=style,
            )
        )
    return ActionsBlock(block_id=ServersActionId.BLOCK.value, elements=elements) if elements else None


def build_servers_message(listing: ServerListing, page: int = 1, query: ServerQuery | None = None) -> Message:
    """Page `page` of the listing (PAGE_SIZE servers, unhealthy first), with the whole listing's
    health summary and, when there are more pages, how to see them."""
    query = query or ServerQuery()
    where = listing.region + (f" · account {listing.account_id}" if listing.account_id else "")
    count = len(listing.servers)
    if count == 0:
        text = f"No DRS source servers match in {where} ({listing.total_in_region} in the region)."
        return Message(text=text, blocks=[section(f":mag: {escape_mrkdwn(text)}")])
    pages = page_count(count)
    page = min(max(page, 1), pages)
    unhealthy = listing.unhealthy
    lagging = [s for s in listing.servers if s.healthy and (s.lag_seconds or 0) >= _LAG_WARNING_SECONDS]
    summary = [f"*{count}* source server{'s' if count != 1 else ''} in *{escape_mrkdwn(where)}*"]
    summary.append(f":large_green_circle: {count - len(unhealthy) - len(lagging)} healthy")
    if lagging:
        summary.append(f":large_yellow_circle: {len(lagging)} lagging ≥ 5 min")
    if unhealthy:
        summary.append(f":red_circle: {len(unhealthy)} not replicating")
    blocks: list[Block] = [header("DRS source servers"), section("  ·  ".join(summary))]
    if unhealthy and page == 1:
        names = ", ".join(f"{code(s.hostname)} ({s.replication_state})" for s in unhealthy[:10])
        more = f" and {len(unhealthy) - 10} more" if len(unhealthy) > 10 else ""
        blocks.append(section(f":warning: Not ready for launch: {names}{more}"))
    first = (page - 1) * PAGE_SIZE
    shown = listing.servers[first : first + PAGE_SIZE]
    blocks.append(table(COLUMNS, [_row(s, listing) for s in shown]))
    if pages > 1:
        hint = (
            f"{code(query.command(page + 1))} shows the next"
            if page < pages
            else f"{code(query.command(1))} goes back to the first"
        )
        blocks.append(
            context(
                f"Servers {first + 1} to {first + len(shown)} of {count} · page {page} of {pages}; {hint}."
            )
        )
        buttons = _page_buttons(query, page, pages)
        if buttons is not None:
            blocks.append(buttons)
    text = f"{count} DRS source servers in {where}: {len(unhealthy)} not replicating"
    if pages > 1:
        text += f" (page {page} of {pages})"
    return Message(text=text, blocks=blocks)
