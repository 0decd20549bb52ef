"""What the digest reads from the store (the digest itself is pure: orchestration/services/digest.py).

`digest_at(services, at, timezone, ...)` reads every execution requested in the period (page by page,
newest first, however many), every plan with its drill schedules, and each plan's last drill that
ran, then builds the digest.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orchestration.context import Services
from orchestration.models import Execution, ExecutionType, RecoveryPlan
from orchestration.services.digest import Digest, Period, build_digest, month_period, plan_expectation
from orchestration.services.digest_settings import get_digest_settings

PAGE = 100


def executions_between(
    services: Services, oldest: int, newest: int, plan_id: str | None = None
) -> list[Execution]:
    """Every execution requested in [oldest, newest] (epoch seconds), newest first."""
    found: list[Execution] = []
    while True:
        after = (found[-1].requested_at, found[-1].execution_id) if found else None
        page = services.store.list_executions(plan_id, limit=PAGE, after=after, newest=newest, oldest=oldest)
        found.extend(page)
        if len(page) < PAGE:
            return found


def last_drill_at(services: Services, plan_id: str, before: int) -> int | None:
    """When the plan's last drill that ran, requested at or before `before`, started; None: never."""
    after: tuple[int, str] | None = None
    while True:
        page = services.store.list_executions(plan_id, limit=PAGE, after=after, newest=before)
        for execution in page:  # newest first: the first drill that ran is the last one
            if execution.execution_type == ExecutionType.DRILL and execution.ran:
                return execution.start_time
        if len(page) < PAGE:
            return None
        after = (page[-1].requested_at, page[-1].execution_id)


def digest_of(services: Services, period: Period, default_days: int) -> Digest:
    """The digest of `period` as the store holds it now."""
    end = int(period.end.timestamp())
    plans = {plan.plan_id: plan for plan in services.store.list_plans()}
    executions = executions_between(services, int(period.start.timestamp()), end - 1)
    pairs: list[tuple[Execution, RecoveryPlan | None]] = [(e, plans.get(e.plan_id)) for e in executions]
    at = period.end.astimezone(UTC)
    expectations = [
        plan_expectation(
            plan,
            services.store.list_schedules(plan_id=plan.plan_id),
            default_days,
            last_drill_at(services, plan.plan_id, end),
            at,
        )
        for plan in plans.values()
    ]
    generated = datetime.fromtimestamp(services.clock.now(), UTC)
    return build_digest(period, pairs, expectations, generated)


def digest_at(services: Services, at: datetime, *, current: bool = False) -> Digest:
    """The digest a fire at `at` posts (the month before it, in the settings' time zone), or with
    `current` the month so far (`/dr digest now`)."""
    settings = get_digest_settings(services)
    period = month_period(at, settings.schedule_timezone, current=current)
    return digest_of(services, period, settings.expected_interval_days)


def digest_now(services: Services) -> Digest:
    """The current month so far (`/dr digest now`)."""
    return digest_at(services, datetime.fromtimestamp(services.clock.now(), UTC), current=True)
