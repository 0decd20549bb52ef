"""Pre-flight checks: every rule a recovery plan must pass before it launches, as a dry run.

One piece, longer than most modules: every pre-flight rule reads the same resolved plan and DRS
answers, gathered once per check.

`/dr plan check` shows the result; execute_recovery_plan runs the same check and refuses to start
while it has errors. Nothing here changes anything. The rules (docs/preflight.md, the seed's
"Validation Functions"):

- a wave is one DRS job: at most `max_servers_per_job` servers (WAVE_SIZE_LIMIT_EXCEEDED);
- a server is in one execution and one DRS job at a time: servers of the plan already held by a
  non-terminal drbot execution (of this plan or another) or by an active DRS job (SERVER_CONFLICT);
- a server is in at most one wave of the plan: one group in two waves, or two groups selecting the
  same server, would launch it twice (DUPLICATE_SERVER_IN_PLAN);
- per region and account, what is running now plus what the plan would start at once stays within
  the DRS quotas for concurrent jobs, servers in active jobs and recovery instances
  (DRS_LIMIT_EXCEEDED);
- warnings: servers not replicating continuously (REPLICATION_UNHEALTHY) and waves with no servers
  (EMPTY_WAVE).

A DRS read the check needs that fails with a retryable error (DRS_UNAVAILABLE, or a DRS limit), after
the gateway's own retries, does not fail the check: what it would have shown becomes a NOT_CHECKED
warning ("could not be checked: DRS did not answer (…); the engine checks again at launch") and the
other rules still run. Any other DRS error (validation, access denied, not found) is raised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from orchestration.clock import duration_text
from orchestration.context import Services
from orchestration.drs.gateway import DrsJob, SourceServer
from orchestration.drs.limits import DrsLimits
from orchestration.errors import DrbotError, NotFound
from orchestration.models import Execution, ExecutionType, RecoveryPlan, WaveStatus, servers_of
from orchestration.services.plans import (
    RETRYABLE_DRS_ERRORS,
    PlanView,
    WaveView,
    duplicate_errors,
    find_plan,
    resolve_plan,
    try_listing,
    unlisted_places,
    wave_server_ids,
)
from orchestration.services.plans import where as _where
from orchestration.wave_overlap import waves_text

Severity = Literal["error", "warning"]
Place = tuple[str, str | None]  # (region, account id): DRS state and quotas are per both

WAVE_SIZE_LIMIT_EXCEEDED = "WAVE_SIZE_LIMIT_EXCEEDED"
SERVER_CONFLICT = "SERVER_CONFLICT"
DRS_LIMIT_EXCEEDED = "DRS_LIMIT_EXCEEDED"
REPLICATION_UNHEALTHY = "REPLICATION_UNHEALTHY"
EMPTY_WAVE = "EMPTY_WAVE"
DUPLICATE_SERVER_IN_PLAN = "DUPLICATE_SERVER_IN_PLAN"
NOT_CHECKED = "NOT_CHECKED"  # a warning: DRS did not answer a read a rule needs

# Far more than drbot ever runs at once; the listing is newest first, so the limit only guards a runaway.
ACTIVE_EXECUTIONS_LIMIT = 1000
_NAMES_SHOWN = 10
# waves that will never launch, so their servers are free again
_WAVES_THAT_HOLD_NOTHING = frozenset({WaveStatus.SKIPPED, WaveStatus.CANCELLED})


@dataclass(frozen=True)
class Finding:
    """One thing the check found: an error blocks a launch, a warning is said and allowed."""

    severity: Severity
    code: str  # stable: WAVE_SIZE_LIMIT_EXCEEDED, SERVER_CONFLICT, DRS_LIMIT_EXCEEDED, ...
    message: str  # a sentence a person can act on
    wave_number: int | None = None
    server_ids: tuple[str, ...] = ()
    wave_numbers: tuple[int, ...] = ()  # a finding about several waves names them here

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"severity": self.severity, "code": self.code, "message": self.message}
        if self.wave_number is not None:
            wire["waveNumber"] = self.wave_number
        if self.wave_numbers:
            wire["waveNumbers"] = list(self.wave_numbers)
        if self.server_ids:
            wire["serverIds"] = list(self.server_ids)
        return wire

    def about_wave(self, number: int) -> bool:
        return self.wave_number == number or number in self.wave_numbers


@dataclass(frozen=True)
class DrsUsage:
    """What DRS is doing now in one region and account, against its quotas."""

    region: str
    account_id: str | None
    active_jobs: int
    servers_in_active_jobs: int
    recovery_instances: int

    def to_wire(self) -> dict[str, Any]:
        """The seed's `currentUsage`."""
        return {
            "activeJobs": self.active_jobs,
            "serversInJobs": self.servers_in_active_jobs,
            "recoveryInstances": self.recovery_instances,
        }


@dataclass(frozen=True)
class PlanCheck:
    """The outcome of checking a plan: its resolved waves, the findings and the DRS usage seen."""

    view: PlanView
    findings: list[Finding]
    usage: list[DrsUsage]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_wire(self) -> dict[str, Any]:
        usage = []
        for item in self.usage:
            place: dict[str, Any] = {"region": item.region}
            if item.account_id:
                place["accountId"] = item.account_id
            usage.append({**place, **item.to_wire()})
        return {
            "planId": self.view.plan.plan_id,
            "planName": self.view.plan.plan_name,
            "ok": self.ok,
            "errors": [f.to_wire() for f in self.errors],
            "warnings": [f.to_wire() for f in self.warnings],
            "usage": usage,
            "serverCount": self.view.server_count,
            "waves": self.view.to_wire()["waves"],
        }


def check_recovery_plan(
    services: Services, ref: str, execution_type: ExecutionType = ExecutionType.DRILL
) -> PlanCheck:
    """Every pre-flight rule for plan `ref` (id or name), without launching anything.

    DRS not answering for now (a retryable error) turns what it would have shown into NOT_CHECKED
    warnings; the other rules still run."""
    view = resolve_plan(services, find_plan(services, ref), lenient=True)
    limits = services.settings.drs_limits
    places = _waves_by_place(view)
    observed: dict[Place, tuple[DrsUsage, list[DrsJob]]] = {}
    unobserved: dict[Place, DrbotError] = {}
    for place in places:
        try:
            observed[place] = observe_region(services, *place)
        except RETRYABLE_DRS_ERRORS as error:
            unobserved[place] = error
    # servers known by id only (an explicit group DRS did not list) are named by their id
    hostnames = {sid: sid for w in view.waves if w.listing_error for sid in wave_server_ids(w) or []}
    hostnames.update({s.source_server_id: s.hostname for w in view.waves for s in w.servers})

    held_by_executions = _execution_conflicts(services, view, hostnames)
    reported = {sid for f in held_by_executions if f.severity == "error" for sid in f.server_ids}
    findings = [
        *_wave_size_findings(view, limits),
        *_duplicate_findings(view),
        *held_by_executions,
        *_job_conflicts(places, observed, reported, hostnames),
        *_limit_findings(view.plan, places, observed, limits),
        *_replication_findings(view, execution_type),
        *_empty_wave_findings(view),
        *_unchecked_findings(view, places, unobserved),
    ]
    return PlanCheck(view=view, findings=findings, usage=[usage for usage, _ in observed.values()])


def current_usage(services: Services, region: str, account_id: str | None) -> DrsUsage:
    """Active jobs, the servers they hold and the recovery instances of one region and account."""
    return observe_region(services, region, account_id)[0]


def observe_region(services: Services, region: str, account_id: str | None) -> tuple[DrsUsage, list[DrsJob]]:
    """The usage of one region and account, with the active jobs it counted (one listing of each)."""
    gateway = services.drs.gateway(region, account_id)
    active = gateway.active_jobs()
    usage = DrsUsage(
        region=region,
        account_id=account_id,
        active_jobs=len(active),
        servers_in_active_jobs=sum(len(job.servers) for job in active),
        recovery_instances=len(gateway.recovery_instances()),
    )
    return usage, active


def _waves_by_place(view: PlanView) -> dict[Place, list[WaveView]]:
    places: dict[Place, list[WaveView]] = {}
    for wave in view.waves:
        places.setdefault((wave.group.region, wave.group.account_id), []).append(wave)
    return places


def _named(server_ids: Iterable[str], hostnames: dict[str, str]) -> str:
    ids = list(server_ids)
    shown = ", ".join(f"{hostnames.get(sid, sid)} ({sid})" for sid in ids[:_NAMES_SHOWN])
    return shown + (f" and {len(ids) - _NAMES_SHOWN} more" if len(ids) > _NAMES_SHOWN else "")


# -- wave sizes and empty waves ---------------------------------------------------------------------


def _wave_size_findings(view: PlanView, limits: DrsLimits) -> list[Finding]:
    return [
        Finding(
            "error",
            WAVE_SIZE_LIMIT_EXCEEDED,
            f"Wave {w.wave_number} ('{w.wave_name}') has {len(w.servers)} servers, max is "
            f"{limits.max_servers_per_job}: one wave is one DRS job. Split protection group "
            f"'{w.group.group_name}' over more waves.",
            wave_number=w.wave_number,
            server_ids=tuple(s.source_server_id for s in w.servers),
        )
        for w in view.waves
        if len(w.servers) > limits.max_servers_per_job
    ]


def _empty_wave_findings(view: PlanView) -> list[Finding]:
    findings = []
    for wave in view.waves:
        if wave.servers or wave.listing_error is not None:
            continue
        why = (
            "its tag selector matches no source server"
            if wave.group.selects_by_tags
            else "none of its source servers exist in DRS"
        )
        findings.append(
            Finding(
                "warning",
                EMPTY_WAVE,
                f"Wave {wave.wave_number} ('{wave.wave_name}') would launch nothing: protection group "
                f"'{wave.group.group_name}' has no servers right now ({why}).",
                wave_number=wave.wave_number,
            )
        )
    return findings


# -- a server in one wave --------------------------------------------------------------------------


def _duplicate_findings(view: PlanView) -> list[Finding]:
    return [
        Finding(
            "error",
            DUPLICATE_SERVER_IN_PLAN,
            error.message,
            server_ids=tuple(error.details.get("serverIds", [])),
            wave_numbers=tuple(error.details.get("waveNumbers", [])),
        )
        for error in duplicate_errors(view)
    ]


# -- what DRS did not answer ------------------------------------------------------------------------


def _not_answered(error: DrbotError) -> str:
    return f"could not be checked: DRS did not answer ({error.message}); the engine checks again at launch."


def _unchecked_findings(
    view: PlanView, places: dict[Place, list[WaveView]], unobserved: dict[Place, DrbotError]
) -> list[Finding]:
    """A warning per region and account whose source servers, or active jobs and recovery
    instances, DRS did not answer for now: what those reads would have shown."""
    findings = []
    unlisted = unlisted_places(view)
    for place, waves in places.items():
        numbers = tuple(w.wave_number for w in waves)
        if place in unlisted:
            error = unlisted[place][0]
            what = (
                f"The servers of {waves_text(numbers)} in {_where(place)} (wave sizes, servers in "
                "more than one wave, server conflicts, DRS quotas, replication health)"
            )
        elif place in unobserved:
            error = unobserved[place]
            what = f"Active DRS jobs and DRS quotas in {_where(place)} (for {waves_text(numbers)})"
        else:
            continue
        findings.append(
            Finding("warning", NOT_CHECKED, f"{what} {_not_answered(error)}", wave_numbers=numbers)
        )
    return findings


# -- conflicts ------------------------------------------------------------------------------------


class _Listings:
    """DRS source-server listings per region and account, each fetched at most once; a listing DRS
    did not answer for now is the retryable error instead."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._cache: dict[Place, list[SourceServer] | DrbotError] = {}

    def servers(self, region: str, account_id: str | None) -> list[SourceServer] | DrbotError:
        place = (region, account_id)
        if place not in self._cache:
            self._cache[place] = try_listing(self._services, place)
        return self._cache[place]


def _servers_held(
    services: Services, execution: Execution, listings: _Listings
) -> tuple[set[str], DrbotError | None]:
    """The servers an active execution has launched or will launch, and the DRS error that kept
    some of them from being known (a wave's group DRS did not list for now), if any.

    Launched waves recorded their servers; a wave not launched yet has none recorded, so its group is
    resolved now, as the engine will resolve it when the wave starts.
    """
    held: set[str] = set()
    unanswered: DrbotError | None = None
    group_ids: list[str] = []
    if execution.waves:
        for wave in execution.waves:
            if wave.status in _WAVES_THAT_HOLD_NOTHING:
                continue
            held.update(s.source_server_id for s in wave.servers)
            if not wave.servers and wave.protection_group_id:
                group_ids.append(wave.protection_group_id)
    else:  # not planned into waves yet (e.g. awaiting approval): its plan says what it will launch
        try:
            group_ids = services.store.get_plan(execution.plan_id).protection_group_ids
        except NotFound:
            group_ids = []
    for group_id in dict.fromkeys(group_ids):
        try:
            group = services.store.get_group(group_id)
        except NotFound:  # deleted since: that wave will fail on its own, holding nothing
            continue
        if group.source_server_ids:  # explicit ids are known without DRS
            held.update(group.source_server_ids)
            continue
        listed = listings.servers(group.region, group.account_id)
        if isinstance(listed, DrbotError):
            unanswered = unanswered or listed
            continue
        held.update(s.source_server_id for s in servers_of(group, listed))
    return held, unanswered


def _execution_conflicts(services: Services, view: PlanView, hostnames: dict[str, str]) -> list[Finding]:
    mine = set(hostnames)
    listings = _Listings(services)
    findings = []
    for execution in services.store.list_executions(active_only=True, limit=ACTIVE_EXECUTIONS_LIMIT):
        if execution.is_terminal:  # ended (a drill's cleanup may still be pending): holds nothing
            continue
        held, unanswered = _servers_held(services, execution, listings)
        overlap = sorted(mine & held)
        if not overlap:
            if unanswered is not None:
                findings.append(
                    Finding(
                        "warning",
                        NOT_CHECKED,
                        f"Whether the {execution.status} execution {execution.execution_id} of plan "
                        f"'{execution.plan_name}' holds servers of this plan {_not_answered(unanswered)}",
                    )
                )
            continue
        if execution.plan_id == view.plan.plan_id:
            message = (
                f"This plan already has a {execution.status} execution ({execution.execution_id}) holding "
                f"{len(overlap)} of its servers: {_named(overlap, hostnames)}. "
                "Wait for it to end or cancel it."
            )
        else:
            message = (
                f"{len(overlap)} server(s) of this plan are in the {execution.status} execution "
                f"{execution.execution_id} of plan '{execution.plan_name}': {_named(overlap, hostnames)}. "
                "A server can be in one execution at a time: wait for it to end or cancel it."
            )
        findings.append(Finding("error", SERVER_CONFLICT, message, server_ids=tuple(overlap)))
    return findings


def _job_conflicts(
    places: dict[Place, list[WaveView]],
    observed: dict[Place, tuple[DrsUsage, list[DrsJob]]],
    reported: set[str],
    hostnames: dict[str, str],
) -> list[Finding]:
    """Servers in active DRS jobs that no drbot execution explains (started elsewhere, or leftovers);
    servers already reported as held by an execution are not reported twice."""
    findings = []
    for place, waves in places.items():
        if place not in observed:  # DRS did not answer: a NOT_CHECKED warning says so
            continue
        mine = {s.source_server_id for w in waves for s in w.servers}
        busy: dict[str, str] = {}
        for job in observed[place][1]:
            for sid in job.server_ids:
                busy.setdefault(sid, job.job_id)
        overlap = sorted((mine & set(busy)) - reported)
        if not overlap:
            continue
        listed = ", ".join(f"{hostnames.get(sid, sid)} ({busy[sid]})" for sid in overlap[:_NAMES_SHOWN])
        if len(overlap) > _NAMES_SHOWN:
            listed += f" and {len(overlap) - _NAMES_SHOWN} more"
        job_ids = sorted({busy[sid] for sid in overlap})
        findings.append(
            Finding(
                "error",
                SERVER_CONFLICT,
                f"{len(overlap)} server(s) of this plan are in active DRS job(s) in {_where(place)}: "
                f"{listed}. DRS launches a server in one job at a time: wait for job(s) "
                f"{', '.join(job_ids)} to complete.",
                server_ids=tuple(overlap),
            )
        )
    return findings


# -- DRS quotas -----------------------------------------------------------------------------------


def dag_levels(plan: RecoveryPlan) -> dict[int, int]:
    """Each wave's depth in the dependency DAG: 0 without dependencies, else 1 + its deepest one.

    Waves at the same depth never depend on each other, so they may run at the same time; the largest
    level is what the plan starts at once (a lower bound of the worst case, which depends on timing).
    """
    depends = {w.wave_number: list(w.depends_on_waves or []) for w in plan.waves}
    levels: dict[int, int] = {}

    def level(number: int) -> int:
        if number not in levels:
            levels[number] = 1 + max((level(dep) for dep in depends[number]), default=-1)
        return levels[number]

    for number in depends:
        level(number)
    return levels


def _limit_findings(
    plan: RecoveryPlan,
    places: dict[Place, list[WaveView]],
    observed: dict[Place, tuple[DrsUsage, list[DrsJob]]],
    limits: DrsLimits,
) -> list[Finding]:
    levels = dag_levels(plan)
    findings = []
    for place, waves in places.items():
        launching = [w for w in waves if w.servers]  # an empty wave starts no job
        if not launching or place not in observed:  # not observed: a NOT_CHECKED warning says so
            continue
        usage = observed[place][0]
        by_level: dict[int, list[WaveView]] = defaultdict(list)
        for wave in launching:
            by_level[levels[wave.wave_number]].append(wave)
        widest = max(by_level.values(), key=len)
        heaviest = max(by_level.values(), key=lambda ws: sum(len(w.servers) for w in ws))
        heaviest_servers = sum(len(w.servers) for w in heaviest)
        # DRS keeps one recovery instance per server: relaunching a server replaces its instance
        servers = {s.source_server_id: s for w in launching for s in w.servers}
        new_instances = sum(1 for s in servers.values() if not s.recovery_instance_id)
        where = _where(place)

        if usage.active_jobs + len(widest) > limits.max_concurrent_jobs:
            findings.append(
                _limit(
                    f"DRS runs at most {limits.max_concurrent_jobs} jobs at once in {where}: "
                    f"{usage.active_jobs} are active now and this plan starts {len(widest)} at once "
                    f"(waves {_numbers(widest)}). Wait for jobs to finish, or make those waves "
                    "depend on each other."
                )
            )
        if usage.servers_in_active_jobs + heaviest_servers > limits.max_servers_in_all_jobs:
            findings.append(
                _limit(
                    f"DRS allows {limits.max_servers_in_all_jobs} servers across active jobs in {where}: "
                    f"{usage.servers_in_active_jobs} are in active jobs now and this plan launches "
                    f"{heaviest_servers} at once (waves {_numbers(heaviest)}). Wait for jobs to finish, "
                    "or make those waves depend on each other."
                )
            )
        if usage.recovery_instances + new_instances > limits.max_recovery_instances:
            findings.append(
                _limit(
                    f"DRS allows {limits.max_recovery_instances} recovery instances in {where}: "
                    f"{usage.recovery_instances} exist now and this plan adds {new_instances}. "
                    "Terminate recovery instances that are no longer needed."
                )
            )
    return findings


def _limit(message: str) -> Finding:
    return Finding("error", DRS_LIMIT_EXCEEDED, message)


def _numbers(waves: list[WaveView]) -> str:
    return ", ".join(str(w.wave_number) for w in waves)


# -- replication ----------------------------------------------------------------------------------


def _replication_findings(view: PlanView, execution_type: ExecutionType) -> list[Finding]:
    consequence = (
        "a recovery would launch them from their last snapshot, losing what was written since"
        if execution_type == ExecutionType.RECOVERY
        else "a drill would launch them from their last snapshot, which does not prove current data"
    )
    findings = []
    for wave in view.waves:
        unhealthy = [s for s in wave.servers if not s.healthy]
        if not unhealthy:
            continue
        described = ", ".join(_health(s) for s in unhealthy[:_NAMES_SHOWN])
        if len(unhealthy) > _NAMES_SHOWN:
            described += f" and {len(unhealthy) - _NAMES_SHOWN} more"
        findings.append(
            Finding(
                "warning",
                REPLICATION_UNHEALTHY,
                f"Wave {wave.wave_number}: {len(unhealthy)} server(s) are not replicating continuously: "
                f"{described}; {consequence}.",
                wave_number=wave.wave_number,
                server_ids=tuple(s.source_server_id for s in unhealthy),
            )
        )
    return findings


def _health(server: SourceServer) -> str:
    lag = f", {duration_text(server.lag_seconds)} behind" if server.lag_seconds else ""
    return f"{server.hostname} ({server.replication_state}{lag})"
