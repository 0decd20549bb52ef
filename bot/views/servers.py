"""`/dr servers`: source servers with replication health and protection group, as a table."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.views.common import MAX_TABLE_ROWS, context, header, section, table
from bot.views.message import Message
from orchestration.drs.gateway import SourceServer
from orchestration.services.servers import ServerListing

_LAG_WARNING_SECONDS = 300
COLUMNS = ("Hostname", "Server ID", "Replication", "Lag", "Tier", "Protection group")


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


def build_servers_message(listing: ServerListing) -> Message:
    where = listing.region + (f" · account {listing.account_id}" if listing.account_id else "")
    count = len(listing.servers)
    if count == 0:
        text = f"No DRS source servers match in {where} ({listing.total_in_region} in the region)."
        return Message(text=text, blocks=[section(f":mag: {text}")])
    unhealthy = listing.unhealthy
    lagging = [s for s in listing.servers if s.healthy and (s.lag_seconds or 0) >= _LAG_WARNING_SECONDS]
    summary = [f"*{count}* source server{'s' if count != 1 else ''} in *{where}*"]
    summary.append(f":large_green_circle: {count - len(unhealthy) - len(lagging)} healthy")
    if lagging:
        summary.append(f":large_yellow_circle: {len(lagging)} lagging ≥ 5 min")
    if unhealthy:
        summary.append(f":red_circle: {len(unhealthy)} not replicating")
    blocks: list[Block] = [header("DRS source servers"), section("  ·  ".join(summary))]
    if unhealthy:
        names = ", ".join(f"`{s.hostname}` ({s.replication_state})" for s in unhealthy[:10])
        more = f" and {len(unhealthy) - 10} more" if len(unhealthy) > 10 else ""
        blocks.append(section(f":warning: Not ready for launch: {names}{more}"))
    shown = listing.servers[: MAX_TABLE_ROWS - 1]
    blocks.append(table(COLUMNS, [_row(s, listing) for s in shown]))
    if len(shown) < count:
        blocks.append(
            context(
                f"Showing {len(shown)} of {count}; narrow with `--state`, `--tag Key=Value` or `--region`."
            )
        )
    text = f"{count} DRS source servers in {where}: {len(unhealthy)} not replicating"
    return Message(text=text, blocks=blocks)
