"""The recovery point of a run: how much data each recovered server lost, against the plan's
`rpoTargetMinutes` as it was when the run was requested (recorded on the execution).

The data-loss window of a server is the time between the point in time it was recovered from
(its DRS snapshot) and the moment the run was requested, in whole seconds, floored at 0 (a snapshot
taken after the request lost nothing the request could have expected). A server without a recorded
point in time is not measured. The worst window of a wave or a run is the largest measured one.
The window is measured from the request, so a run approved later launches from newer points in time
and shows a smaller window than the replication lag at the request; beside it each server's *lag at
launch* is its wave's DRS job start minus the point in time recovered (`lag_at_launch_seconds`).
The verdict reads like the RTO's (orchestration/services/report.py): see docs/report.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestration.clock import duration_text
from orchestration.models import Execution, ExecutionStatus, LaunchStatus, ServerRun, WaveRun, WireModel
from orchestration.services.verdict import EDITED, Verdict, undecided

_S = ExecutionStatus
RpoResult = Verdict  # UNKNOWN also when no recovered server has a recorded point in time


class RpoReport(WireModel):
    result: RpoResult
    target_minutes: int | None = None
    worst_seconds: int | None = None  # the largest data-loss window measured
    worst_server: str | None = None  # whose it is (its hostname)
    note: str


def data_loss_seconds(execution: Execution, server: ServerRun) -> int | None:
    """The server's data-loss window: the run's request time minus the point in time recovered."""
    if server.snapshot_time is None:
        return None
    return max(0, execution.requested_at - server.snapshot_time)


def lag_at_launch_seconds(wave: WaveRun, server: ServerRun) -> int | None:
    """How old the point in time recovered was when the wave's DRS job started, floored at 0."""
    if server.snapshot_time is None or wave.start_time is None:
        return None
    return max(0, wave.start_time - server.snapshot_time)


def worst(windows: Iterable[int | None]) -> int | None:
    """The largest measured window; None when none was measured."""
    measured = [w for w in windows if w is not None]
    return max(measured) if measured else None


def _name(server: ServerRun) -> str:
    return server.hostname or server.source_server_id


def rpo_report(
    execution: Execution, target: int | None, *, plan_unknown: str | None = None, changed: bool = False
) -> RpoReport:
    """The run's RPO verdict. `target` is the plan's `rpoTargetMinutes`; `plan_unknown` says why the
    plan is not known (deleted since, not read), `changed` that it was edited after the run."""
    servers = [s for w in execution.waves for s in w.servers]
    launched = [s for s in servers if s.launch_status == LaunchStatus.LAUNCHED]
    measured = [(data_loss_seconds(execution, s), s) for s in launched]
    windows = [(w, s) for w, s in measured if w is not None]
    top = max(windows, key=lambda pair: pair[0], default=None)
    worst_seconds, worst_server = (top[0], _name(top[1])) if top is not None else (None, None)
    found = {"worst_seconds": worst_seconds, "worst_server": worst_server}
    early = undecided(execution, target, "RPO", plan_unknown=plan_unknown, edited=changed)
    if early is not None:
        verdict, note = early
        shown = target if verdict.shows_target else None
        loss = found if verdict != Verdict.NOT_RUN else {}
        return RpoReport(result=verdict, target_minutes=shown, note=note, **loss)
    assert target is not None  # undecided() answered for a plan without one
    edited = EDITED if changed else ""
    unmeasured = len(measured) - len(windows)
    not_measured = (
        f" Measured on {len(windows)} of {len(measured)} recovered servers: {unmeasured} have no "
        "recorded point in time; the verdict is on the measured ones."
        if unmeasured and windows
        else ""
    )
    over = [(w, s) for w, s in windows if w > target * 60]
    lost = len(servers) - len(launched)
    if over or lost or execution.status != _S.COMPLETED:
        reasons = []
        if over:
            reasons.append(
                f"{len(over)} server(s) lost more than the {target}-minute target, the worst "
                f"{worst_server} ({duration_text(worst_seconds or 0)})"
            )
        if lost:
            reasons.append(f"{lost} server(s) of the run were not recovered")
        elif execution.status != _S.COMPLETED:
            reasons.append(f"it ended {execution.status} without recovering every wave")
        return RpoReport(
            result=RpoResult.MISSED,
            target_minutes=target,
            note=f"Missed: {'; '.join(reasons)}{edited}.{not_measured}",
            **found,
        )
    if not windows:
        return RpoReport(
            result=RpoResult.UNKNOWN,
            target_minutes=target,
            note=f"No recovered server has a recorded point in time: the data loss is not measured{edited}.",
        )
    return RpoReport(
        result=RpoResult.MET,
        target_minutes=target,
        note=f"Every server recovered within the {target}-minute target{edited}.{not_measured}",
        **found,
    )


__all__ = ["RpoReport", "RpoResult", "data_loss_seconds", "lag_at_launch_seconds", "rpo_report", "worst"]
