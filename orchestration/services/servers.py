"""DRS source servers with their replication health and protection-group assignment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from orchestration.context import Services
from orchestration.drs.gateway import DataReplicationState, SourceServer
from orchestration.errors import ValidationFailed
from orchestration.models import ProtectionGroup
from orchestration.services.common import server_summary

REPLICATION_STATES: tuple[str, ...] = get_args(DataReplicationState)


@dataclass(frozen=True)
class ServerListing:
    region: str
    account_id: str | None
    servers: list[SourceServer]
    assignments: dict[str, ProtectionGroup]  # sourceServerId -> the group that holds it
    total_in_region: int  # before filters

    @property
    def unhealthy(self) -> list[SourceServer]:
        return [s for s in self.servers if not s.healthy]

    def to_wire(self) -> dict[str, Any]:
        """The seed's get_drs_source_servers response."""
        return {
            "servers": [self._server_wire(s) for s in self.servers],
            "serverCount": len(self.servers),
            "totalCount": self.total_in_region,
            "region": self.region,
            **({"accountId": self.account_id} if self.account_id else {}),
        }

    def _server_wire(self, server: SourceServer) -> dict[str, Any]:
        wire = server_summary(server)
        wire["hardware"] = {
            "totalCores": server.cores,
            "ramGiB": server.ram_gib,
            "totalDiskGiB": server.disk_gib,
        }
        wire["tags"] = dict(server.tags)
        group = self.assignments.get(server.source_server_id)
        if group is not None:
            wire["protectionGroupId"] = group.group_id
            wire["protectionGroupName"] = group.group_name
        return wire


def group_for_server(server: SourceServer, groups: list[ProtectionGroup]) -> ProtectionGroup | None:
    """The protection group that holds a server: by explicit id, else by matching tag selector."""
    for group in groups:
        if group.source_server_ids and server.source_server_id in group.source_server_ids:
            return group
    for group in groups:
        if group.server_selection_tags and server.matches_tags(group.server_selection_tags):
            return group
    return None


def list_source_servers(
    services: Services,
    region: str | None = None,
    account_id: str | None = None,
    replication_state: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> ServerListing:
    region = region or services.settings.region
    state = replication_state.upper() if replication_state else None
    if state is not None and state not in REPLICATION_STATES:
        raise ValidationFailed(
            f"'{replication_state}' is not a DRS replication state; "
            f"use one of {', '.join(REPLICATION_STATES)}",
            field="replicationState",
        )
    everything = services.drs.gateway(region, account_id).source_servers()
    servers = [
        s
        for s in everything
        if (state is None or s.replication_state == state) and (not tags or s.matches_tags(dict(tags)))
    ]
    groups = [
        g
        for g in services.store.list_groups()
        if g.region == region and (g.account_id or None) == (account_id or None)
    ]
    assignments = {s.source_server_id: g for s in servers if (g := group_for_server(s, groups)) is not None}
    return ServerListing(
        region=region,
        account_id=account_id,
        servers=sorted(servers, key=lambda s: (s.healthy, s.hostname)),
        assignments=assignments,
        total_in_region=len(everything),
    )
