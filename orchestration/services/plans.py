"""Recovery plans: the only implementation of their rules.

Rules: unique name (store); waves numbered uniquely, dependencies that exist, no self-dependency,
no cycle (the model); every protection group exists; at most `maxServersPerJob` servers per wave
(one wave is one DRS job); a plan with a non-terminal execution cannot be changed or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestration.bootstrap import Services
from orchestration.drs.gateway import SourceServer
from orchestration.drs.limits import DrsLimits
from orchestration.errors import DuplicateName, InUse, NotFound, WaveSizeLimitExceeded
from orchestration.models import ProtectionGroup, RecoveryPlan
from orchestration.rbac import Permission
from orchestration.requests import CreateRecoveryPlan, UpdateRecoveryPlan
from orchestration.services.access import require
from orchestration.services.common import active_executions, apply_changes, server_summary, unhealthy_warning
from orchestration.services.groups import region_servers, servers_of
from orchestration.validation import parse_model


@dataclass(frozen=True)
class WaveView:
    wave_number: int
    wave_name: str
    group: ProtectionGroup
    servers: list[SourceServer]
    depends_on: list[int]
    pause_before: bool


@dataclass(frozen=True)
class PlanView:
    """A plan with each wave's group and the servers it would launch now."""

    plan: RecoveryPlan
    waves: list[WaveView]

    @property
    def server_count(self) -> int:
        return sum(len(w.servers) for w in self.waves)

    @property
    def warnings(self) -> list[str]:
        messages: list[str] = []
        for wave in self.waves:
            messages.extend(
                f"Wave {wave.wave_number}: {unhealthy_warning(s)}" for s in wave.servers if not s.healthy
            )
            if not wave.servers:
                messages.append(f"Wave {wave.wave_number} ('{wave.wave_name}') has no servers right now.")
        return messages

    def to_wire(self) -> dict[str, Any]:
        wire = self.plan.to_wire()
        for wave_wire, view in zip(wire["waves"], self.waves, strict=True):
            wave_wire["protectionGroupName"] = view.group.group_name
            wave_wire["serverCount"] = len(view.servers)
            wave_wire["servers"] = [server_summary(s) for s in view.servers]
        wire["serverCount"] = self.server_count
        wire["warnings"] = self.warnings
        return wire


def find_plan(services: Services, ref: str) -> RecoveryPlan:
    """A plan by name (case-insensitive) or id."""
    plan = services.store.find_plan_by_name(ref)
    if plan is not None:
        return plan
    try:
        return services.store.get_plan(ref)
    except NotFound:
        raise NotFound(
            f"No recovery plan with id or name '{ref}'. `/dr plan list` shows them.",
            resourceType="plan",
            resourceId=ref,
        ) from None


def _groups_of(services: Services, plan: RecoveryPlan) -> dict[str, ProtectionGroup]:
    groups = {g.group_id: g for g in services.store.list_groups()}
    missing = [w for w in plan.waves if w.protection_group_id not in groups]
    if missing:
        listed = ", ".join(f"wave {w.wave_number} → '{w.protection_group_id}'" for w in missing)
        raise NotFound(
            f"Every wave needs an existing protection group; not found: {listed}",
            resourceType="group",
            errors=[
                {
                    "field": f"waves[{plan.waves.index(w)}].protectionGroupId",
                    "message": "no such protection group",
                }
                for w in missing
            ],
        )
    return groups


def resolve_plan(services: Services, plan: RecoveryPlan) -> PlanView:
    """Each wave with the servers its group holds now (one DRS listing per region/account)."""
    groups = _groups_of(services, plan)
    listings: dict[tuple[str, str | None], list[SourceServer]] = {}
    waves: list[WaveView] = []
    for wave in plan.waves:
        group = groups[wave.protection_group_id]
        place = (group.region, group.account_id)
        if place not in listings:
            listings[place] = region_servers(services, group.region, group.account_id)
        waves.append(
            WaveView(
                wave.wave_number,
                wave.wave_name,
                group,
                servers_of(group, listings[place]),
                list(wave.depends_on_waves or []),
                wave.pause_before,
            )
        )
    return PlanView(plan, waves)


def check_wave_sizes(view: PlanView, limits: DrsLimits) -> None:
    too_big = [w for w in view.waves if len(w.servers) > limits.max_servers_per_job]
    if too_big:
        first = too_big[0]
        raise WaveSizeLimitExceeded(
            f"Wave {first.wave_number} has {len(first.servers)} servers, max is {limits.max_servers_per_job}"
            + (f" (and {len(too_big) - 1} more wave(s) too big)" if len(too_big) > 1 else ""),
            limit=limits.max_servers_per_job,
            errors=[{"waveNumber": w.wave_number, "serverCount": len(w.servers)} for w in too_big],
        )


def _refuse_if_running(services: Services, plan: RecoveryPlan, doing: str) -> None:
    running = active_executions(services, plan.plan_id)
    if running:
        raise InUse(
            f"Plan '{plan.plan_name}' has a {running[0].status} execution ({running[0].execution_id}); "
            f"it cannot be {doing} until that execution ends.",
            executionIds=[e.execution_id for e in running],
        )


def _validated(services: Services, plan: RecoveryPlan) -> PlanView:
    view = resolve_plan(services, plan)
    check_wave_sizes(view, services.settings.drs_limits)
    return view


def create_recovery_plan(services: Services, request: CreateRecoveryPlan, actor: str) -> PlanView:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    now = int(services.clock.now())
    plan = parse_model(
        RecoveryPlan, {**request.to_wire(), "createdBy": actor, "createdDate": now, "lastModifiedDate": now}
    )
    existing = services.store.find_plan_by_name(plan.plan_name)
    if existing is not None:  # the store enforces it atomically too; this answers before calling DRS
        raise DuplicateName(
            f"A recovery plan named '{existing.plan_name}' already exists (names ignore case).",
            existingId=existing.plan_id,
        )
    view = _validated(services, plan)
    return PlanView(services.store.create_plan(plan, actor), view.waves)


def get_recovery_plan(services: Services, ref: str) -> PlanView:
    return resolve_plan(services, find_plan(services, ref))


def list_recovery_plans(services: Services) -> list[RecoveryPlan]:
    return services.store.list_plans()


def update_recovery_plan(
    services: Services, plan_id: str, request: UpdateRecoveryPlan, actor: str
) -> PlanView:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    current = services.store.get_plan(plan_id)
    _refuse_if_running(services, current, "changed")
    plan = apply_changes(RecoveryPlan, current, request.changes(), request.version, int(services.clock.now()))
    view = _validated(services, plan)
    return PlanView(services.store.update_plan(plan, actor), view.waves)


def delete_recovery_plan(
    services: Services, plan_id: str, actor: str, expected: int | None = None
) -> RecoveryPlan:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    plan = services.store.get_plan(plan_id)
    _refuse_if_running(services, plan, "deleted")
    services.store.delete_plan(plan_id, actor, expected_version=expected)
    return plan
