"""The history of a recovery plan: its last runs with their verdicts, the servers that fail again
and again, and when the plan last passed.

`plan_history(plan, executions, last)` is pure: each run's line comes from its evidence report
(orchestration/services/report.py), so the verdicts are the report's. `history_of(services, ref,
last)` reads the plan and its executions newest first.

What counts:
- a *run* is an execution of the plan that started (a request rejected or expired, or still
  awaiting approval, never ran and is left out); drills and recoveries alike, newest first;
- a run *passed* as orchestration/services/run_verdicts.py says: it COMPLETED, neither its RTO nor
  its RPO verdict is MISSED, its RPO is not UNKNOWN while a target applies, and its cleanup (a
  drill's) did not FAIL;
- a *repeat failure* is a server (by hostname) that failed to launch in more than one of the plan's
  last `last` drills (recoveries are not counted: they are shown, with their type, but a server's
  trend is its drills'), with the number of those drills it failed in;
- the *last pass* is looked for among the executions read (at most HISTORY_SCAN); when there may be
  older ones that were not read (`complete` False), not finding one says "not within the last
  HISTORY_SCAN", never "never".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import Field

from orchestration.context import Services
from orchestration.errors import ValidationFailed
from orchestration.models import (
    CleanupStatus,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    RecoveryPlan,
    WireModel,
)
from orchestration.services.plans import find_plan
from orchestration.services.report import EvidenceReport, RpoResult, RtoResult, evidence_report
from orchestration.services.run_verdicts import passed

DEFAULT_LAST = 10
MAX_LAST = 50
# executions of the plan read to find when it last passed, beyond the runs shown
HISTORY_SCAN = 200


class HistoryRun(WireModel):
    """One run of the plan, as the history table shows it."""

    execution_id: str
    execution_type: ExecutionType
    requested_at: datetime
    started_at: datetime | None = None
    requested_by: str
    status: ExecutionStatus
    duration_seconds: int | None = None
    rto: RtoResult
    rpo: RpoResult
    worst_data_loss_seconds: int | None = None  # the run's worst data-loss window (its RPO)
    worst_data_loss_server: str | None = None  # whose it is (hostname)
    servers_total: int
    servers_failed: list[str] = Field(default_factory=list)  # hostnames (else source server ids)
    cleanup: CleanupStatus | None = None  # a drill's; None for a recovery
    passed: bool


class RepeatFailure(WireModel):
    hostname: str
    failures: int  # of the last `last` drills, how many this server failed in


class PlanHistory(WireModel):
    plan_id: str
    plan_name: str
    rto_target_minutes: int | None = None
    rpo_target_minutes: int | None = None
    last: int  # how many runs were asked for
    runs: list[HistoryRun] = Field(default_factory=list)  # newest first, at most `last`
    repeat_failures: list[RepeatFailure] = Field(default_factory=list)  # most failures first
    drills_counted: int = 0  # the drills the repeat failures are counted over (at most `last`)
    last_passed: HistoryRun | None = None  # the newest run that passed, among those read
    executions_read: int = 0  # the plan's executions looked through for the last pass
    complete: bool = True  # they are all of the plan's: no last pass among them means never


def check_last(last: int | str | None) -> int:
    """`last` as a number of runs, 1 to MAX_LAST (DEFAULT_LAST when not given)."""
    if last is None or last == "":
        return DEFAULT_LAST
    try:
        number = int(str(last).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_LAST or str(last).strip() != str(number):
        raise ValidationFailed(
            f"last: the number of runs to show, 1 to {MAX_LAST}, not '{str(last)[:20]}'", field="last"
        )
    return number


def history_run(report: EvidenceReport) -> HistoryRun:
    failed = [
        server.hostname or server.source_server_id
        for wave in report.waves
        for server in wave.servers
        if server.launch_status == LaunchStatus.FAILED
    ]
    return HistoryRun(
        execution_id=report.execution_id,
        execution_type=report.execution_type,
        requested_at=report.requested_at,
        started_at=report.started_at,
        requested_by=report.requested_by,
        status=report.status,
        duration_seconds=report.duration_seconds,
        rto=report.rto.result,
        rpo=report.rpo.result,
        worst_data_loss_seconds=report.rpo.worst_seconds,
        worst_data_loss_server=report.rpo.worst_server,
        servers_total=report.servers_total,
        servers_failed=sorted(set(failed)),
        cleanup=report.cleanup.status if report.cleanup is not None else None,
        passed=passed(report),
    )


def repeat_failures(runs: Iterable[HistoryRun]) -> list[RepeatFailure]:
    """The servers that failed in more than one of `runs` (the caller passes drills), most failures
    first, then by name."""
    counts = Counter(hostname for run in runs for hostname in set(run.servers_failed))
    repeated = [RepeatFailure(hostname=h, failures=n) for h, n in counts.items() if n > 1]
    return sorted(repeated, key=lambda r: (-r.failures, r.hostname))


def plan_history(
    plan: RecoveryPlan, executions: Sequence[Execution], last: int = DEFAULT_LAST, *, complete: bool = True
) -> PlanHistory:
    """The history of `plan` from its executions, newest first: the newest `last` runs, the
    servers failing in more than one of its newest `last` drills, and the newest run that passed
    among all given. `complete`: the executions given are all the plan has (not cut by a limit)."""
    last = check_last(last)
    runs: list[HistoryRun] = []
    drills: list[HistoryRun] = []
    last_passed: HistoryRun | None = None
    for execution in executions:
        if execution.plan_id != plan.plan_id or not execution.ran:
            continue
        if len(runs) >= last and len(drills) >= last and last_passed is not None:
            break
        run = history_run(evidence_report(execution, plan))
        if len(runs) < last:
            runs.append(run)
        if run.execution_type == ExecutionType.DRILL and len(drills) < last:
            drills.append(run)
        if last_passed is None and run.passed:
            last_passed = run
    return PlanHistory(
        plan_id=plan.plan_id,
        plan_name=plan.plan_name,
        rto_target_minutes=plan.rto_target_minutes,
        rpo_target_minutes=plan.rpo_target_minutes,
        last=last,
        runs=runs,
        repeat_failures=repeat_failures(drills),
        drills_counted=len(drills),
        last_passed=last_passed,
        executions_read=len(executions),
        complete=complete,
    )


def history_of(services: Services, ref: str, last: int | str | None = None) -> PlanHistory:
    """The history of the plan named by `ref` (its name or id): its newest runs, read newest first
    from the store (at most HISTORY_SCAN executions of the plan, to find when it last passed)."""
    wanted = check_last(last)
    plan = find_plan(services, ref)
    # one more than the scan: when it comes back, older executions exist that are not read
    executions = services.store.list_executions(plan_id=plan.plan_id, limit=HISTORY_SCAN + 1)
    complete = len(executions) <= HISTORY_SCAN
    return plan_history(plan, executions[:HISTORY_SCAN], wanted, complete=complete)


__all__ = [
    "DEFAULT_LAST",
    "HISTORY_SCAN",
    "MAX_LAST",
    "HistoryRun",
    "PlanHistory",
    "RepeatFailure",
    "check_last",
    "history_of",
    "passed",
    "plan_history",
    "repeat_failures",
]
