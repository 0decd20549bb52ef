"""The evidence report of an execution: what a DR or compliance reviewer keeps as the record of a
drill or a real recovery.

One piece, longer than most modules: one pure function of an execution and its plan, with the small
readers of each part of the evidence.

`evidence_report(execution, plan)` is pure: everything comes from the execution (its waves, server
runs, approvals, events and cleanup) and the plan as it is now, which may have been edited or
deleted since the run; the report says which. The RTO and RPO verdicts hold the run against the
targets recorded on the execution at its request (`run_targets`), so a later edit of the plan does
not change them; only a record from before targets were kept falls back to the plan as it is now.
Times are UTC datetimes (ISO-8601 with `Z` on the wire), durations whole seconds.
`report_of(services, ref)` finds both by an execution reference. When the record is final, and the
Slack thread gets the report, is `closing_event(execution)` (orchestration/services/closing.py).
The recovery point (each server's data-loss window, the worst per wave and run, the RPO verdict) is
computed in orchestration/services/rpo.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from orchestration.context import Services
from orchestration.errors import NotFound
from orchestration.models import (
    CleanupStatus,
    EventType,
    Execution,
    ExecutionEvent,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    RecoveryPlan,
    WaveRun,
    WireModel,
)
from orchestration.services.execution_queries import find_execution, preflight_warnings
from orchestration.services.rpo import (
    RpoReport,
    RpoResult,
    data_loss_seconds,
    lag_at_launch_seconds,
    rpo_report,
    worst,
)
from orchestration.services.verdict import EDITED, Verdict, undecided

# bumped when a field changes meaning: 2, the RTO and RPO verdicts are judged against the targets
# recorded when the run was requested (format 1: the plan's targets when the report was built)
REPORT_FORMAT = 2
_T = EventType
_S = ExecutionStatus
INTERVENTIONS = frozenset({_T.PAUSED, _T.RESUMED, _T.CANCEL_REQUESTED})
# what the timeline leaves out: live progress and DRS back-off notes say nothing a reviewer needs
_NOT_IN_TIMELINE = frozenset({_T.WAVE_PROGRESS, _T.DRS_RETRY})


def utc(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class PlanState(StrEnum):
    UNCHANGED = "UNCHANGED"  # the plan as it is now is the plan that ran
    CHANGED = "CHANGED"  # edited after the run was requested: its version then is not known
    DELETED = "DELETED"  # deleted since
    NOT_READ = "NOT_READ"  # the report was built without looking the plan up


RtoResult = Verdict  # the RTO's verdict (orchestration/services/verdict.py)


class PlanReference(WireModel):
    plan_id: str
    plan_name: str
    state: PlanState
    version: int | None = None  # the version that ran, when known
    current_version: int | None = None
    rto_target_minutes: int | None = None
    rpo_target_minutes: int | None = None


class ApprovalRecord(WireModel):
    user_id: str
    at: datetime
    via_schedule: bool = False  # given beforehand, when the schedule that started the run was approved


class ApprovalReport(WireModel):
    required: int
    given: list[ApprovalRecord] = Field(default_factory=list)
    schedule_id: str | None = None  # the schedule that started the run


class RtoReport(WireModel):
    result: RtoResult
    target_minutes: int | None = None
    actual_seconds: int | None = None
    note: str


class ServerReport(WireModel):
    hostname: str
    source_server_id: str
    launch_status: LaunchStatus
    recovery_instance_id: str | None = None
    instance_id: str | None = None  # the EC2 instance
    launched_at: datetime | None = None
    snapshot_time: datetime | None = None  # the point in time recovered
    data_loss_seconds: int | None = None  # requested_at - snapshot_time (orchestration/services/rpo.py)
    lag_at_launch_seconds: int | None = None  # its wave's DRS job start - snapshot_time (rpo.py)
    error: str | None = None


class WaveReport(WireModel):
    wave_number: int
    wave_name: str
    status: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    servers_launched: int
    servers_total: int
    job_id: str | None = None
    region: str | None = None
    account_id: str | None = None
    error: str | None = None
    worst_data_loss_seconds: int | None = None  # of its launched servers
    servers: list[ServerReport] = Field(default_factory=list)


class WarningReport(WireModel):
    code: str
    message: str
    wave_number: int | None = None
    server_ids: list[str] = Field(default_factory=list)


class EventRecord(WireModel):
    at: datetime
    type: EventType
    message: str
    actor: str | None = None
    wave_number: int | None = None


class CleanupReport(WireModel):
    status: CleanupStatus
    due_at: datetime | None = None
    finished_at: datetime | None = None
    instances_total: int
    instances_terminated: int
    left_running: list[str] = Field(default_factory=list)  # recovery instance ids, with hostnames
    error: str | None = None


class EvidenceReport(WireModel):
    """The record of one execution, as a reviewer reads it (see the module docstring)."""

    report_format: int = REPORT_FORMAT
    generated_at: datetime | None = None
    execution_id: str
    execution_type: ExecutionType
    status: ExecutionStatus
    status_reason: str | None = None
    final: bool  # the run and a drill's cleanup have ended: nothing in the report will change
    plan: PlanReference
    requested_by: str
    requested_at: datetime
    reason: str = ""
    approval: ApprovalReport
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    rto: RtoReport
    rpo: RpoReport
    servers_launched: int
    servers_total: int
    waves: list[WaveReport] = Field(default_factory=list)
    warnings: list[WarningReport] = Field(default_factory=list)
    interventions: list[EventRecord] = Field(default_factory=list)  # pause, resume, cancel
    cleanup: CleanupReport | None = None
    timeline: list[EventRecord] = Field(default_factory=list)


# -- building it ------------------------------------------------------------------------------------


def _plan_reference(execution: Execution, plan: RecoveryPlan | None, plan_read: bool) -> PlanReference:
    base = {"plan_id": execution.plan_id, "plan_name": execution.plan_name}
    if not plan_read:
        return PlanReference(**base, state=PlanState.NOT_READ)
    if plan is None:
        return PlanReference(**base, state=PlanState.DELETED)
    unchanged = plan.last_modified_date <= execution.requested_at
    return PlanReference(
        **base,
        state=PlanState.UNCHANGED if unchanged else PlanState.CHANGED,
        version=plan.version if unchanged else None,
        current_version=plan.version,
        rto_target_minutes=plan.rto_target_minutes,
        rpo_target_minutes=plan.rpo_target_minutes,
    )


class RunTargets(WireModel):
    """The targets a run's verdicts hold it against, and where they come from."""

    rto_target_minutes: int | None = None
    rpo_target_minutes: int | None = None
    unknown: str | None = None  # why they are not known: the plan "was deleted since", "was not read"
    current: bool = False  # the plan's current targets, and it was edited after the run


def run_targets(execution: Execution, plan: PlanReference) -> RunTargets:
    """The targets recorded on the execution at its request; for a record from before they were kept,
    the plan's as they are now (unknown when it is gone or was not read)."""
    if execution.targets_recorded:
        return RunTargets(
            rto_target_minutes=execution.rto_target_minutes, rpo_target_minutes=execution.rpo_target_minutes
        )
    unknown = {PlanState.DELETED: "was deleted since", PlanState.NOT_READ: "was not read"}.get(plan.state)
    return RunTargets(
        rto_target_minutes=plan.rto_target_minutes,
        rpo_target_minutes=plan.rpo_target_minutes,
        unknown=unknown,
        current=plan.state == PlanState.CHANGED,
    )


def _rto(execution: Execution, targets: RunTargets, duration: int | None) -> RtoReport:
    target = targets.rto_target_minutes
    early = undecided(execution, target, "RTO", plan_unknown=targets.unknown, edited=targets.current)
    if early is not None:
        verdict, note = early
        if verdict.shows_target:
            return RtoReport(result=verdict, target_minutes=target, note=note)
        return RtoReport(result=verdict, actual_seconds=duration, note=note)
    assert target is not None  # undecided() answered for a plan without one
    changed = EDITED if targets.current else ""
    within = duration is not None and duration <= target * 60
    if execution.status == _S.COMPLETED and within:
        return RtoReport(
            result=RtoResult.MET,
            target_minutes=target,
            actual_seconds=duration,
            note=f"Recovered within the {target}-minute target{changed}.",
        )
    why = (
        f"it took longer than the {target}-minute target"
        if execution.status == _S.COMPLETED
        else f"it ended {execution.status} without recovering every wave"
    )
    return RtoReport(
        result=RtoResult.MISSED,
        target_minutes=target,
        actual_seconds=duration,
        note=f"Missed: {why}{changed}.",
    )


def _approval(execution: Execution) -> ApprovalReport:
    beforehand = execution.schedule_id is not None
    return ApprovalReport(
        required=execution.required_approvals,
        schedule_id=execution.schedule_id,
        given=[
            ApprovalRecord(
                user_id=a.user_id,
                at=datetime.fromtimestamp(a.at, UTC),
                via_schedule=beforehand and a.at <= execution.requested_at,
            )
            for a in execution.approvals
        ],
    )


def _rpo(execution: Execution, targets: RunTargets) -> RpoReport:
    return rpo_report(
        execution, targets.rpo_target_minutes, plan_unknown=targets.unknown, changed=targets.current
    )


def _wave(execution: Execution, wave: WaveRun) -> WaveReport:
    launched = sum(1 for s in wave.servers if s.launch_status == LaunchStatus.LAUNCHED)
    duration = (
        wave.end_time - wave.start_time if wave.start_time is not None and wave.end_time is not None else None
    )
    return WaveReport(
        wave_number=wave.wave_number,
        wave_name=wave.wave_name,
        status=str(wave.status),
        started_at=utc(wave.start_time),
        ended_at=utc(wave.end_time),
        duration_seconds=duration,
        servers_launched=launched,
        servers_total=len(wave.servers),
        job_id=wave.job_id,
        region=wave.region,
        account_id=wave.account_id,
        error=wave.error,
        worst_data_loss_seconds=worst(
            data_loss_seconds(execution, s) for s in wave.servers if s.launch_status == LaunchStatus.LAUNCHED
        ),
        servers=[
            ServerReport(
                hostname=s.hostname,
                source_server_id=s.source_server_id,
                launch_status=s.launch_status,
                recovery_instance_id=s.recovery_instance_id,
                instance_id=s.instance_id,
                launched_at=utc(s.launched_at),
                snapshot_time=utc(s.snapshot_time),
                data_loss_seconds=data_loss_seconds(execution, s),
                lag_at_launch_seconds=lag_at_launch_seconds(wave, s),
                error=s.error,
            )
            for s in wave.servers
        ],
    )


def _warning(wire: dict[str, Any]) -> WarningReport:
    return WarningReport(
        code=str(wire.get("code", "WARNING")),
        message=str(wire.get("message", "")),
        wave_number=wire.get("waveNumber"),
        server_ids=[str(s) for s in wire.get("serverIds", [])],
    )


def _record(event: ExecutionEvent) -> EventRecord:
    return EventRecord(
        at=datetime.fromtimestamp(event.at, UTC),
        type=event.type,
        message=event.message,
        actor=event.actor,
        wave_number=event.wave_number,
    )


def _cleanup(execution: Execution) -> CleanupReport | None:
    cleanup = execution.cleanup
    if cleanup is None:
        return None
    total = cleanup.instance_count
    hostnames = {
        s.recovery_instance_id: s.hostname or s.source_server_id
        for w in execution.waves
        for s in w.servers
        if s.recovery_instance_id
    }
    left: list[str] = []
    if cleanup.status == CleanupStatus.FAILED:
        # each server whose instance DRS still showed at the deadline is marked; a record from before
        # the marks existed names every instance it was to terminate, as a reviewer must check them all
        marked = [
            s.recovery_instance_id
            for w in execution.waves
            for s in w.servers
            if s.left_running and s.recovery_instance_id
        ]
        left = marked or list(cleanup.recovery_instance_ids)
    terminated = (
        max(total, cleanup.terminated) if cleanup.status == CleanupStatus.COMPLETED else cleanup.terminated
    )
    return CleanupReport(
        status=cleanup.status,
        due_at=utc(cleanup.due_at) if cleanup.status != CleanupStatus.NOT_NEEDED else None,
        finished_at=utc(cleanup.finished_at),
        instances_total=total,
        instances_terminated=terminated,
        left_running=[f"{i} ({hostnames[i]})" if i in hostnames else i for i in left]
        + list(cleanup.left_unrecorded),
        error=cleanup.error,
    )


def evidence_report(
    execution: Execution,
    plan: RecoveryPlan | None,
    *,
    plan_read: bool = True,
    generated_at: int | None = None,
) -> EvidenceReport:
    """The evidence report of `execution`; `plan` is its plan as stored now (None: deleted since;
    `plan_read=False`: not looked up, so nothing is said about it)."""
    plan_ref = _plan_reference(execution, plan, plan_read)
    targets = run_targets(execution, plan_ref)
    duration = None
    if execution.start_time is not None and execution.end_time is not None:
        duration = execution.end_time - execution.start_time
    servers = [s for w in execution.waves for s in w.servers]
    cleanup_pending = execution.cleanup is not None and execution.cleanup.pending
    return EvidenceReport(
        generated_at=utc(generated_at),
        execution_id=execution.execution_id,
        execution_type=execution.execution_type,
        status=execution.status,
        status_reason=execution.status_reason,
        final=execution.is_terminal and not cleanup_pending,
        plan=plan_ref,
        requested_by=execution.initiated_by,
        requested_at=datetime.fromtimestamp(execution.requested_at, UTC),
        reason=execution.reason,
        approval=_approval(execution),
        started_at=utc(execution.start_time),
        ended_at=utc(execution.end_time),
        duration_seconds=duration,
        rto=_rto(execution, targets, duration),
        rpo=_rpo(execution, targets),
        servers_launched=sum(1 for s in servers if s.launch_status == LaunchStatus.LAUNCHED),
        servers_total=len(servers),
        waves=[_wave(execution, w) for w in execution.waves],
        warnings=[_warning(w) for w in preflight_warnings(execution)],
        interventions=[_record(e) for e in execution.events if e.type in INTERVENTIONS],
        cleanup=_cleanup(execution),
        timeline=[_record(e) for e in execution.events if e.type not in _NOT_IN_TIMELINE],
    )


def plan_of(services: Services, execution: Execution) -> RecoveryPlan | None:
    """The execution's plan as stored now; None when it was deleted since."""
    try:
        return services.store.get_plan(execution.plan_id)
    except NotFound:
        return None


def report_of(services: Services, ref: str) -> EvidenceReport:
    """The evidence report of the execution named by `ref` (its id or a unique prefix)."""
    execution = find_execution(services, ref)
    return evidence_report(execution, plan_of(services, execution), generated_at=int(services.clock.now()))


__all__ = [
    "ApprovalRecord",
    "ApprovalReport",
    "CleanupReport",
    "EventRecord",
    "EvidenceReport",
    "PlanReference",
    "PlanState",
    "RpoReport",
    "RpoResult",
    "RtoReport",
    "RtoResult",
    "RunTargets",
    "ServerReport",
    "WarningReport",
    "WaveReport",
    "evidence_report",
    "plan_of",
    "report_of",
    "run_targets",
]
