"""The monthly digest: a month's drills across plans, and the plans not drilled when they should have
been (docs/report.md, "Monthly digest"; its schedule: docs/schedules.md, "The monthly digest").

Everything here is pure: `build_digest` takes the executions requested in the period (each with its
plan as stored now) and each plan's expectation, and says, through `evidence_report` (the verdicts a
reviewer reads in each run's report, never computed twice):

- ran: the run started (a request rejected or expired, or cancelled before it started, did not);
- passed: it ran to COMPLETED, its RTO and RPO verdicts are not MISSED, its RPO was measured when a
  target applies, and its cleanup did not fail (orchestration/services/run_verdicts.py);
- missed a target: its RTO or its RPO verdict is MISSED;
- failed to clean up: its cleanup is FAILED, with the recovery instances left running;
- overdue plans: a plan whose last drill that ran started longer ago than its expected interval, or
  that was never drilled (listed however new it is: there is no evidence of it at all).

The expected interval (`plan_expectation`): a plan with an active drill schedule (approved, not
paused) is expected at that schedule's interval: the longest gap between its next
EXPECTATION_FIRES fires from the expression engine, rounded up to whole days, plus one day of grace
(a drill that fired on time started a little after its fire and the digest may run just before the
next). With several schedules the shortest of these counts; a schedule that fires only once more, or
never, sets none. Every other plan is expected within the settings' `expectedIntervalDays`.

The period (`month_period`): a scheduled digest covers the calendar month before its fire, in the
digest's time zone; `/dr digest now` covers the current month from its first day to now.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from pydantic import Field

from orchestration.models import (
    CleanupStatus,
    Execution,
    ExecutionStatus,
    ExecutionType,
    RecoveryPlan,
    Schedule,
    WireModel,
)
from orchestration.schedule_expressions import parse
from orchestration.services.report import RtoResult, evidence_report
from orchestration.services.rpo import RpoResult
from orchestration.services.run_verdicts import cleanup_failed, missed_target, passed

EXPECTATION_FIRES = 6  # upcoming fires of a drill schedule read to find its interval
GRACE = timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """[start, end) in the digest's time zone; `partial`: the month so far (`/dr digest now`)."""

    start: datetime
    end: datetime
    timezone: str
    partial: bool = False

    @property
    def label(self) -> str:
        return self.start.strftime("%B %Y")


def month_period(at: datetime, timezone: str, *, current: bool = False) -> Period:
    """The calendar month before `at` (aware), in `timezone`; `current`: the month of `at`, up to it."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if current:
        return Period(first, local, timezone, partial=True)
    previous = (first - timedelta(days=1)).replace(day=1)
    # fold/ambiguity cannot bite: midnight on the first of a month is never in a DST transition
    return Period(previous.replace(tzinfo=zone), first, timezone)


@dataclass(frozen=True)
class PlanExpectation:
    """How often a plan should be drilled, and when it last was."""

    plan_id: str
    plan_name: str
    expected_days: int
    schedule_id: str | None  # the drill schedule that sets the interval; None: the settings' default
    last_drill_at: int | None  # epoch seconds the last drill that ran started; None: never


def schedule_interval_days(schedule: Schedule, after: datetime) -> int | None:
    """The days a plan with this schedule is expected within (see the module docstring), or None
    when the schedule fires fewer than two more times."""
    expression = parse(schedule.expression)
    start = datetime.fromtimestamp(schedule.created_date, UTC) if schedule.created_date else None
    fires = expression.next_fire_times(after, EXPECTATION_FIRES, schedule.timezone, start=start)
    if len(fires) < 2:
        return None
    gap = max(later - earlier for earlier, later in pairwise(fires))
    return math.ceil(gap / timedelta(days=1)) + GRACE.days


def plan_expectation(
    plan: RecoveryPlan,
    schedules: Sequence[Schedule],
    default_days: int,
    last_drill_at: int | None,
    at: datetime,
) -> PlanExpectation:
    """The plan's expectation: its active drill schedules' shortest interval, else `default_days`."""
    best: tuple[int, str] | None = None
    for schedule in schedules:
        if schedule.approved_by is None or not schedule.enabled:
            continue
        days = schedule_interval_days(schedule, at)
        if days is not None and (best is None or days < best[0]):
            best = (days, schedule.schedule_id)
    days, schedule_id = best if best is not None else (default_days, None)
    return PlanExpectation(plan.plan_id, plan.plan_name, days, schedule_id, last_drill_at)


class DigestRun(WireModel):
    """One execution requested in the period, with its verdicts from its evidence report."""

    execution_id: str
    plan_id: str
    plan_name: str
    execution_type: ExecutionType
    status: ExecutionStatus
    requested_by: str
    requested_at: datetime
    duration_seconds: int | None = None
    ran: bool
    passed: bool
    finished: bool  # the run and its cleanup have ended: the verdicts will not change
    rto: RtoResult
    rpo: RpoResult
    missed_target: bool
    cleanup: CleanupStatus | None = None
    cleanup_failed: bool
    left_running: list[str] = Field(default_factory=list)


class OverduePlan(WireModel):
    plan_id: str
    plan_name: str
    last_drill_at: datetime | None = None  # None: never drilled
    expected_days: int
    schedule_id: str | None = None  # the drill schedule the interval comes from


class DigestCounts(WireModel):
    requested: int
    ran: int
    passed: int
    missed_target: int
    cleanup_failed: int
    overdue_plans: int


class Digest(WireModel):
    period_start: datetime
    period_end: datetime
    timezone: str
    partial: bool
    label: str
    generated_at: datetime
    counts: DigestCounts
    runs: list[DigestRun] = Field(default_factory=list)  # oldest first
    overdue: list[OverduePlan] = Field(default_factory=list)  # never drilled first, then oldest drill


def digest_run(execution: Execution, plan: RecoveryPlan | None) -> DigestRun:
    """One run of the digest, from its evidence report."""
    report = evidence_report(execution, plan)
    return DigestRun(
        execution_id=execution.execution_id,
        plan_id=execution.plan_id,
        plan_name=execution.plan_name,
        execution_type=execution.execution_type,
        status=execution.status,
        requested_by=execution.initiated_by,
        requested_at=report.requested_at,
        duration_seconds=report.duration_seconds,
        ran=execution.ran,
        passed=passed(report),
        finished=report.final,
        rto=report.rto.result,
        rpo=report.rpo.result,
        missed_target=missed_target(report),
        cleanup=report.cleanup.status if report.cleanup is not None else None,
        cleanup_failed=cleanup_failed(report),
        left_running=report.cleanup.left_running if report.cleanup is not None else [],
    )


def overdue_plans(expectations: Sequence[PlanExpectation], at: datetime) -> list[OverduePlan]:
    """The plans whose last drill is older than their expected interval at `at`, or never happened."""
    late = [
        e
        for e in expectations
        if e.last_drill_at is None or e.last_drill_at < (at - timedelta(days=e.expected_days)).timestamp()
    ]
    late.sort(key=lambda e: (e.last_drill_at is not None, e.last_drill_at or 0, e.plan_name.casefold()))
    return [
        OverduePlan(
            plan_id=e.plan_id,
            plan_name=e.plan_name,
            last_drill_at=None if e.last_drill_at is None else datetime.fromtimestamp(e.last_drill_at, UTC),
            expected_days=e.expected_days,
            schedule_id=e.schedule_id,
        )
        for e in late
    ]


def build_digest(
    period: Period,
    executions: Sequence[tuple[Execution, RecoveryPlan | None]],
    expectations: Sequence[PlanExpectation],
    generated_at: datetime,
) -> Digest:
    """The digest of `period`: its executions (each with its plan as stored now) and the plans'
    expectations, judged at the period's end."""
    runs = sorted(
        (digest_run(execution, plan) for execution, plan in executions),
        key=lambda r: (r.requested_at, r.execution_id),
    )
    overdue = overdue_plans(expectations, period.end)
    return Digest(
        period_start=period.start,
        period_end=period.end,
        timezone=period.timezone,
        partial=period.partial,
        label=period.label,
        generated_at=generated_at,
        counts=DigestCounts(
            requested=len(runs),
            ran=sum(r.ran for r in runs),
            passed=sum(r.passed for r in runs),
            missed_target=sum(r.missed_target for r in runs),
            cleanup_failed=sum(r.cleanup_failed for r in runs),
            overdue_plans=len(overdue),
        ),
        runs=runs,
        overdue=overdue,
    )


__all__ = [
    "Digest",
    "DigestCounts",
    "DigestRun",
    "OverduePlan",
    "Period",
    "PlanExpectation",
    "build_digest",
    "digest_run",
    "month_period",
    "overdue_plans",
    "plan_expectation",
    "schedule_interval_days",
]
