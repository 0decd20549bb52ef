"""Protection groups: the only implementation of their rules (Slack, console and API call these).

Rules: unique name (case-insensitive, enforced by the store); every explicit server exists in DRS
in the group's region/account; a server belongs to at most one protection group; tag selectors are
resolved against DRS source-server tags and the servers they match now are reported; replication
health is reported per server (an unhealthy server is allowed, but named); a group used by a plan
cannot be deleted; a group used by a plan that is being executed cannot be changed; updates are
checked against the version the caller read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestration.context import Services
from orchestration.drs.gateway import SourceServer
from orchestration.errors import (
    Action,
    DuplicateName,
    InUse,
    NotFound,
    Remedy,
    ServerConflict,
    ServersNotFound,
)
from orchestration.models import ProtectionGroup, RecoveryPlan, servers_of
from orchestration.rbac import Permission
from orchestration.services.access import require
from orchestration.services.common import active_executions, apply_changes, server_summary, unhealthy_warning
from orchestration.validation import parse_model

if TYPE_CHECKING:  # the typed requests are built by the callers: a service that only reads
    # does not build their models (bench/README.md, "Import cost of the Lambda entries")
    from orchestration.requests import CreateProtectionGroup, ResolveTags, UpdateProtectionGroup


@dataclass(frozen=True)
class GroupView:
    """A group with the servers it holds right now and their replication health."""

    group: ProtectionGroup
    servers: list[SourceServer]

    @property
    def unhealthy(self) -> list[SourceServer]:
        return [s for s in self.servers if not s.healthy]

    @property
    def warnings(self) -> list[str]:
        messages = [unhealthy_warning(s) for s in self.unhealthy]
        if self.group.selects_by_tags and not self.servers:
            messages.append("The tag selector matches no source server right now.")
        return messages

    def to_wire(self) -> dict[str, Any]:
        return {
            **self.group.to_wire(),
            "servers": [server_summary(s) for s in self.servers],
            "serverCount": len(self.servers),
            "warnings": self.warnings,
        }


def find_group(services: Services, ref: str) -> ProtectionGroup:
    """A group by id, or by name (case-insensitive) — what a person types in the console."""
    group = services.store.find_group_by_name(ref)
    if group is not None:
        return group
    try:
        return services.store.get_group(ref)
    except NotFound:
        raise NotFound(
            f"No protection group with id or name '{ref}'.",
            remedy=Remedy(Action.LIST_GROUPS),
            resourceType="group",
            resourceId=ref,
        ) from None


def region_servers(services: Services, region: str, account_id: str | None) -> list[SourceServer]:
    return services.drs.gateway(region, account_id).source_servers()


def resolve_group(services: Services, group: ProtectionGroup) -> GroupView:
    return GroupView(group, servers_of(group, region_servers(services, group.region, group.account_id)))


def _same_place(a: ProtectionGroup, b: ProtectionGroup) -> bool:
    return a.region == b.region and (a.account_id or None) == (b.account_id or None)


def _check_servers(services: Services, group: ProtectionGroup) -> GroupView:
    """Explicit servers exist, and no server is already held by another group."""
    candidates = region_servers(services, group.region, group.account_id)
    if group.source_server_ids:
        known = {s.source_server_id for s in candidates}
        missing = [sid for sid in group.source_server_ids if sid not in known]
        if missing:
            where = group.region + (f" in account {group.account_id}" if group.account_id else "")
            raise ServersNotFound(
                f"{len(missing)} source server(s) do not exist in DRS in {where}: {', '.join(missing)}",
                serverIds=missing,
                region=group.region,
            )
    mine = servers_of(group, candidates)
    mine_ids = {s.source_server_id for s in mine}
    conflicts: list[dict[str, Any]] = []
    for other in services.store.list_groups():
        if other.group_id == group.group_id or not _same_place(other, group):
            continue
        overlap = sorted(mine_ids & {s.source_server_id for s in servers_of(other, candidates)})
        if overlap:
            conflicts.append({"groupId": other.group_id, "groupName": other.group_name, "serverIds": overlap})
    if conflicts:
        named = "; ".join(f"{', '.join(c['serverIds'])} in '{c['groupName']}'" for c in conflicts)
        raise ServerConflict(
            f"A server belongs to at most one protection group; already assigned: {named}",
            conflicts=conflicts,
        )
    return GroupView(group, mine)


def plans_using(services: Services, group_id: str) -> list[RecoveryPlan]:
    return [p for p in services.store.list_plans() if group_id in p.protection_group_ids]


def create_protection_group(services: Services, request: CreateProtectionGroup, actor: str) -> GroupView:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    now = int(services.clock.now())
    group = parse_model(
        ProtectionGroup,
        {**request.to_wire(), "createdBy": actor, "createdDate": now, "lastModifiedDate": now},
    )
    existing = services.store.find_group_by_name(group.group_name)
    if existing is not None:  # the store enforces it atomically too; this answers before calling DRS
        raise DuplicateName(
            f"A protection group named '{existing.group_name}' already exists (names ignore case).",
            existingId=existing.group_id,
        )
    view = _check_servers(services, group)
    stored = services.store.create_group(group, actor)
    return GroupView(stored, view.servers)


def get_protection_group(services: Services, ref: str) -> GroupView:
    return resolve_group(services, find_group(services, ref))


def list_protection_groups(services: Services) -> list[ProtectionGroup]:
    return services.store.list_groups()


def update_protection_group(
    services: Services, group_id: str, request: UpdateProtectionGroup, actor: str
) -> GroupView:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    current = services.store.get_group(group_id)
    for plan in plans_using(services, group_id):
        running = active_executions(services, plan.plan_id)
        if running:
            raise InUse(
                f"Protection group '{current.group_name}' is used by plan '{plan.plan_name}', which has a "
                f"{running[0].status} execution ({running[0].execution_id}); change it after that ends.",
                planIds=[plan.plan_id],
                executionIds=[e.execution_id for e in running],
            )
    group = apply_changes(
        ProtectionGroup, current, request.changes(), request.version, int(services.clock.now())
    )
    view = _check_servers(services, group)
    stored = services.store.update_group(group, actor)
    return GroupView(stored, view.servers)


def delete_protection_group(
    services: Services, group_id: str, actor: str, expected: int | None = None
) -> ProtectionGroup:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    group = services.store.get_group(group_id)
    users = plans_using(services, group_id)
    if users:
        names = ", ".join(f"'{p.plan_name}'" for p in users)
        raise InUse(
            f"Protection group '{group.group_name}' is used by plan(s) {names}; remove it from them first.",
            plans=[{"planId": p.plan_id, "planName": p.plan_name} for p in users],
        )
    services.store.delete_group(group_id, actor, expected_version=expected)
    return group


def resolve_protection_group_tags(services: Services, request: ResolveTags) -> dict[str, Any]:
    """Which servers a tag selector matches right now (without creating anything)."""
    probe = ProtectionGroup(
        group_name="probe",
        region=request.region,
        account_id=request.account_id,
        server_selection_tags=request.server_selection_tags,
    )
    view = resolve_group(services, probe)
    return {
        "region": probe.region,
        "serverSelectionTags": request.server_selection_tags,
        "servers": [server_summary(s) for s in view.servers],
        "serverCount": len(view.servers),
        "warnings": view.warnings,
    }
