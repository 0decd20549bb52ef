"""Recovery plans: the only implementation of their rules.

Rules: unique name (store); waves numbered uniquely, dependencies that exist, no self-dependency,
no cycle (the model); every protection group exists; at most `maxServersPerJob` servers per wave
(one wave is one DRS job); a server is in at most one wave (DUPLICATE_SERVER_IN_PLAN: explicit ids
compared as given, tag groups resolved against DRS, one group in two waves refused even unresolved);
a plan with a non-terminal execution cannot be changed or deleted.

When DRS does not answer a listing of source servers (a retryable error, after the gateway's own
retries), the waves of that region and account are saved unresolved: their sizes and tag-selected
servers are checked again by the run's pre-flight and by the engine at launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestration.context import Services
from orchestration.drs.gateway import SourceServer
from orchestration.drs.limits import DrsLimits
from orchestration.errors import (
    Action,
    DrbotError,
    DrsLimitExceeded,
    DrsUnavailable,
    DuplicateName,
    DuplicateServerInPlan,
    InUse,
    NotFound,
    Remedy,
    WaveSizeLimitExceeded,
)
from orchestration.models import ProtectionGroup, RecoveryPlan, servers_of
from orchestration.rbac import Permission
from orchestration.services.access import require
from orchestration.services.common import active_executions, apply_changes, server_summary, unhealthy_warning
from orchestration.services.groups import region_servers
from orchestration.validation import parse_model
from orchestration.wave_overlap import (
    duplicate_group_error,
    duplicate_server_error,
    duplicate_servers,
    waves_text,
)

Place = tuple[str, str | None]  # (region, account id)

# DRS errors that say "not now" rather than "no": a check that needs the answer is deferred, not failed
RETRYABLE_DRS_ERRORS: tuple[type[DrbotError], ...] = (DrsUnavailable, DrsLimitExceeded)

if TYPE_CHECKING:  # the typed requests are built by the callers: a service that only reads
    # does not build their models (bench/README.md, "Import cost of the Lambda entries")
    from orchestration.requests import CreateRecoveryPlan, UpdateRecoveryPlan


@dataclass(frozen=True)
class WaveView:
    wave_number: int
    wave_name: str
    group: ProtectionGroup
    servers: list[SourceServer]
    depends_on: list[int]
    pause_before: bool
    # why `servers` is not known: DRS did not answer the listing of the group's region and account
    listing_error: DrbotError | None = None

    @property
    def place(self) -> Place:
        return (self.group.region, self.group.account_id)


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
            if not wave.servers and wave.listing_error is None:
                messages.append(f"Wave {wave.wave_number} ('{wave.wave_name}') has no servers right now.")
        for place, (error, waves) in unlisted_places(self).items():
            messages.append(
                f"The servers of {waves_text(w.wave_number for w in waves)} in {where(place)} could not be "
                f"listed: DRS did not answer ({error.message}); the run's pre-flight and the engine check "
                "them again."
            )
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
            f"No recovery plan with id or name '{ref}'.",
            remedy=Remedy(Action.LIST_PLANS),
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


def where(place: Place) -> str:
    """`us-east-1`, or `us-east-1 (account 123456789012)`."""
    region, account = place
    return region + (f" (account {account})" if account else "")


def unlisted_places(view: PlanView) -> dict[Place, tuple[DrbotError, list[WaveView]]]:
    """The regions and accounts whose source servers DRS did not list, with the error and their waves."""
    places: dict[Place, tuple[DrbotError, list[WaveView]]] = {}
    for wave in view.waves:
        if wave.listing_error is not None:
            places.setdefault(wave.place, (wave.listing_error, []))[1].append(wave)
    return places


def try_listing(services: Services, place: Place) -> list[SourceServer] | DrbotError:
    """The source servers of one region and account, or the retryable DRS error that kept DRS from
    listing them for now (any other error is raised)."""
    try:
        return region_servers(services, *place)
    except RETRYABLE_DRS_ERRORS as error:
        return error


def resolve_plan(services: Services, plan: RecoveryPlan, *, lenient: bool = False) -> PlanView:
    """Each wave with the servers its group holds now (one DRS listing per region/account).

    `lenient`: a region/account DRS does not list for now (a retryable error) leaves its waves
    unresolved (`listing_error`) instead of failing."""
    groups = _groups_of(services, plan)
    listings: dict[Place, list[SourceServer] | DrbotError] = {}
    waves: list[WaveView] = []
    for wave in plan.waves:
        group = groups[wave.protection_group_id]
        place = (group.region, group.account_id)
        if place not in listings:
            listings[place] = try_listing(services, place) if lenient else region_servers(services, *place)
        listed = listings[place]
        failed = listed if isinstance(listed, DrbotError) else None
        waves.append(
            WaveView(
                wave.wave_number,
                wave.wave_name,
                group,
                [] if isinstance(listed, DrbotError) else servers_of(group, listed),
                list(wave.depends_on_waves or []),
                wave.pause_before,
                failed,
            )
        )
    return PlanView(plan, waves)


def wave_server_ids(wave: WaveView) -> list[str] | None:
    """The source server ids a wave would launch: an explicit group's ids as given, a tag group's
    servers as resolved; None when they are not known (its tags could not be resolved)."""
    if wave.group.source_server_ids:
        return list(wave.group.source_server_ids)
    if wave.listing_error is not None:
        return None
    return [s.source_server_id for s in wave.servers]


def duplicate_errors(view: PlanView) -> list[DuplicateServerInPlan]:
    """What breaks "a server is in at most one wave": the servers more than one wave would launch,
    then each group used in more than one wave whose servers are not known or are none right now
    (which still launches every server it will select more than once)."""
    known = {w.wave_number: wave_server_ids(w) or [] for w in view.waves}
    hostnames = {s.source_server_id: s.hostname for w in view.waves for s in w.servers}
    errors: list[DuplicateServerInPlan] = []
    if servers := duplicate_servers(known):
        errors.append(duplicate_server_error(servers, hostnames))
    by_group = duplicate_servers({w.wave_number: [w.group.group_id] for w in view.waves})
    unseen = {gid: numbers for gid, numbers in by_group.items() if not known[numbers[0]]}
    if unseen:
        names = {w.group.group_id: w.group.group_name for w in view.waves}
        errors.append(duplicate_group_error(unseen, names))
    return errors


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
    view = resolve_plan(services, plan, lenient=True)
    check_wave_sizes(view, services.settings.drs_limits)
    duplicates = duplicate_errors(view)
    if duplicates:
        raise duplicates[0]
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
