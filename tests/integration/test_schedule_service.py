"""Schedule rules and fires against both stores: who may create and approve, what is refused (and
changes nothing), at most one drill per fire however often it is delivered, late and missed fires
at start-up, and a schedule whose plan was deleted."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from orchestration.errors import (
    InvalidScheduleExpression,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from orchestration.models import ExecutionType
from scheduler.backends.port import StoreOnlyBackend
from scheduler.fire import fire_schedule
from scheduler.fire_result import FireOutcome
from scheduler.reporting import RecordingReporter
from scheduler.runtime import local_backend
from scheduler.service import (
    NewSchedule,
    ScheduleState,
    approve_schedule,
    create_schedule,
    delete_schedule,
    find_schedule,
    next_for_plan,
    pause_schedule,
    reject_schedule,
    resume_schedule,
    state_of,
)
from tests.drills import three_tier_plan

DAILY_3AM = "cron(0 3 * * ? *)"


def epoch(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())


@pytest.fixture
def plan(services: Any, simulator: Any) -> Any:
    return three_tier_plan(services, simulator)


def add(services: Any, expression: str = DAILY_3AM, **options: Any) -> Any:
    return create_schedule(services, NewSchedule(plan="DR", expression=expression, **options), "alice")


def approved(services: Any, expression: str = DAILY_3AM, **options: Any) -> Any:
    schedule = add(services, expression, **options)
    return approve_schedule(services, schedule.schedule_id, "bob", backend=local_backend(services)).schedule


def executions_of(services: Any, schedule_id: str) -> list[Any]:
    return [e for e in services.store.list_executions(limit=100) if e.schedule_id == schedule_id]


# -- creating and approving ---------------------------------------------------------------------------


def test_a_new_schedule_awaits_approval_and_the_requester_cannot_approve_it(services: Any, plan: Any) -> None:
    schedule = add(services, "cron(0 3 ? * SUN#1 *)", timezone="Europe/Berlin", cleanup_after_minutes=30)
    assert state_of(schedule) == ScheduleState.AWAITING_APPROVAL
    assert (schedule.plan_id, schedule.expression, schedule.created_by) == (
        plan.plan_id,
        "cron(0 3 ? * SUN#1 *)",
        "alice",
    )

    with pytest.raises(PermissionDenied, match="alice may not approve"):  # alice is an operator
        approve_schedule(services, schedule.schedule_id, "alice", StoreOnlyBackend())
    outcome = approve_schedule(services, schedule.schedule_id, "bob", StoreOnlyBackend())
    assert outcome.changed and outcome.schedule.approved_by == "bob"
    assert state_of(outcome.schedule) == ScheduleState.ACTIVE
    again = approve_schedule(services, schedule.schedule_id, "carol", StoreOnlyBackend())
    assert not again.changed and again.schedule.approved_by == "bob"
    audit = [e.action for e in services.store.list_audit(subject=f"schedule:{schedule.schedule_id}")]
    assert "schedule.approve" in audit


def test_an_approver_who_requested_a_schedule_still_cannot_approve_it(services: Any, plan: Any) -> None:
    from dataclasses import replace

    from orchestration.rbac import RoleConfig

    roles = RoleConfig.from_mapping({"admin": ["dana"], "approver": ["bob"]})
    admin_services = replace(services, settings=replace(services.settings, roles=roles))
    schedule = create_schedule(admin_services, NewSchedule(plan="DR", expression=DAILY_3AM), "dana")
    with pytest.raises(PermissionDenied, match="dana requested this schedule and cannot approve it"):
        approve_schedule(admin_services, schedule.schedule_id, "dana", StoreOnlyBackend())
    assert services.store.get_schedule(schedule.schedule_id) == schedule


@pytest.mark.parametrize(
    ("request_options", "error", "words"),
    [
        ({"expression": "cron(0 3 * * *)"}, InvalidScheduleExpression, "expected 6 fields"),
        ({"expression": "cron(0 3 * * MON *)"}, InvalidScheduleExpression, "?"),
        ({"expression": DAILY_3AM, "timezone": "Berlin"}, InvalidScheduleExpression, "not an IANA time zone"),
        ({"expression": "at(2025-12-01T03:00:00)"}, InvalidScheduleExpression, "never fires again"),
        ({"expression": DAILY_3AM, "channel": "#drills"}, ValidationFailed, "channel"),
        (
            {"expression": DAILY_3AM, "execution_type": ExecutionType.RECOVERY},
            ValidationFailed,
            "Only drills",
        ),
        ({"expression": DAILY_3AM, "plan": "No such plan"}, NotFound, "No recovery plan"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    services: Any, plan: Any, request_options: dict[str, Any], error: type[Exception], words: str
) -> None:
    options = {"plan": "DR", **request_options}
    with pytest.raises(error) as raised:
        create_schedule(services, NewSchedule(**options), "alice")
    assert words in raised.value.message  # type: ignore[attr-defined]
    assert services.store.list_schedules() == []


def test_a_viewer_may_not_schedule(services: Any, plan: Any) -> None:
    from dataclasses import replace

    from orchestration.rbac import RoleConfig

    viewer_services = replace(services, settings=replace(services.settings, roles=RoleConfig()))
    with pytest.raises(PermissionDenied, match="may not manage schedules"):
        create_schedule(viewer_services, NewSchedule(plan="DR", expression=DAILY_3AM), "victor")


def test_reject_deletes_a_schedule_awaiting_approval_and_says_why(services: Any, plan: Any) -> None:
    schedule = add(services)
    with pytest.raises(ValidationFailed, match="Say why"):
        reject_schedule(services, schedule.schedule_id, "bob", " ")
    outcome = reject_schedule(services, schedule.schedule_id, "bob", "quarter close")
    assert outcome.message == "bob rejected the schedule: quarter close"
    assert services.store.list_schedules() == []
    (event,) = [e for e in services.store.list_audit() if e.action == "schedule.reject"]
    assert event.details == {"reason": "quarter close"}


def test_an_approved_schedule_is_paused_resumed_and_deleted_not_rejected(services: Any, plan: Any) -> None:
    backend = local_backend(services)
    schedule = approved(services)
    with pytest.raises(InvalidTransition, match="can no longer be rejected"):
        reject_schedule(services, schedule.schedule_id, "bob", "too late")
    paused = pause_schedule(services, schedule.schedule_id, "alice", backend=backend)
    assert paused.changed and state_of(paused.schedule) == ScheduleState.PAUSED
    assert backend.entry(schedule.schedule_id).enabled is False
    assert not pause_schedule(services, schedule.schedule_id, "alice", backend=backend).changed
    resumed = resume_schedule(services, schedule.schedule_id, "alice", backend=backend)
    assert resumed.changed and backend.entry(schedule.schedule_id).enabled is True
    delete_schedule(services, schedule.schedule_id, "alice", backend=backend)
    assert backend.entry(schedule.schedule_id) is None
    with pytest.raises(NotFound):
        services.store.get_schedule(schedule.schedule_id)


def test_pause_needs_an_approved_schedule(services: Any, plan: Any) -> None:
    schedule = add(services)
    with pytest.raises(InvalidTransition, match="awaits approval"):
        pause_schedule(services, schedule.schedule_id, "alice", StoreOnlyBackend())


def test_schedules_are_found_by_a_prefix_of_their_id(services: Any, plan: Any) -> None:
    schedule = add(services)
    assert find_schedule(services, schedule.schedule_id[:8].upper()) == schedule
    with pytest.raises(ValidationFailed, match="too short"):
        find_schedule(services, schedule.schedule_id[:3])


def test_next_lists_the_soonest_drills_over_the_plans_active_schedules(
    services: Any, plan: Any, clock: Any
) -> None:
    approved(services, "cron(0 3 ? * SUN#1 *)", timezone="Europe/Berlin")
    approved(services, "rate(7 days)")
    add(services, "cron(0 1 * * ? *)")  # awaiting approval: not counted
    _, fires = next_for_plan(services, "DR")
    start = clock.now()
    assert [int(t.timestamp() - start) // 86400 for t, _ in fires] == [3, 7, 14, 21, 28]  # 4 Jan is a Sunday


# -- fires ------------------------------------------------------------------------------------------


def test_a_fire_delivered_twice_starts_one_drill(services: Any, plan: Any, clock: Any) -> None:
    schedule = approved(services)
    reporter = RecordingReporter()
    due = epoch(2026, 1, 1, 3, 0, 0)
    clock.set(due + 2)
    first = fire_schedule(services, schedule.schedule_id, due, reporter)
    second = fire_schedule(services, schedule.schedule_id, due, reporter)
    assert (first.outcome, second.outcome) == (FireOutcome.STARTED, FireOutcome.DUPLICATE)
    assert second.execution_id == first.execution_id
    assert [e.execution_id for e in executions_of(services, schedule.schedule_id)] == [first.execution_id]
    assert services.store.get_schedule(schedule.schedule_id).last_execution_id == first.execution_id
    assert reporter.reports == []


def test_two_processes_racing_on_one_fire_start_one_drill(services: Any, plan: Any, clock: Any) -> None:
    schedule = approved(services)
    due = epoch(2026, 1, 1, 3, 0, 0)
    clock.set(due + 2)
    results: list[Any] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        results.append(fire_schedule(services, schedule.schedule_id, due, RecordingReporter()))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(str(r.outcome) for r in results)
    assert outcomes == ["DUPLICATE", "DUPLICATE", "DUPLICATE", "STARTED"]
    assert len(executions_of(services, schedule.schedule_id)) == 1


def test_a_paused_or_deleted_schedule_fires_nothing(services: Any, plan: Any, clock: Any) -> None:
    schedule = approved(services)
    pause_schedule(services, schedule.schedule_id, "alice", backend=local_backend(services))
    due = epoch(2026, 1, 1, 3, 0, 0)
    clock.set(due)
    assert (
        fire_schedule(services, schedule.schedule_id, due, RecordingReporter()).outcome
        == FireOutcome.INACTIVE
    )
    delete_schedule(services, schedule.schedule_id, "alice", backend=local_backend(services))
    assert fire_schedule(services, schedule.schedule_id, due, RecordingReporter()).outcome == FireOutcome.GONE
    assert executions_of(services, schedule.schedule_id) == []


def test_a_schedule_whose_plan_was_deleted_is_disabled_and_says_so(
    services: Any, plan: Any, clock: Any
) -> None:
    from orchestration.services.plans import delete_recovery_plan

    backend = local_backend(services)
    schedule = approved(services, channel="C0DRILLS")
    backend.register(services.store.get_schedule(schedule.schedule_id))
    delete_recovery_plan(services, plan.plan_id, "alice")
    reporter = RecordingReporter()
    due = epoch(2026, 1, 1, 3, 0, 0)
    clock.set(due + 1)
    result = fire_schedule(services, schedule.schedule_id, due, reporter, backend)
    assert result.outcome == FireOutcome.PLAN_DELETED
    stored = services.store.get_schedule(schedule.schedule_id)
    assert state_of(stored) == ScheduleState.PAUSED and backend.entry(schedule.schedule_id).enabled is False
    (message,) = reporter.messages()
    assert (
        f"Schedule {schedule.schedule_id[:8]} is disabled: its recovery plan ({plan.plan_id}) was deleted"
        in message
    )
    with pytest.raises(NotFound, match="was deleted: it cannot run"):
        resume_schedule(services, schedule.schedule_id, "alice", backend=backend)
    assert any(e.action == "schedule.disable" for e in services.store.list_audit())


def test_a_refused_preflight_is_reported_and_not_retried(
    services: Any, plan: Any, clock: Any, simulator: Any
) -> None:
    from dataclasses import replace

    from orchestration.drs.limits import DrsLimits

    schedule = approved(services)
    tight = replace(
        services, settings=replace(services.settings, drs_limits=DrsLimits(max_servers_per_job=1))
    )
    due = epoch(2026, 1, 1, 3, 0, 0)
    clock.set(due + 1)
    reporter = RecordingReporter()
    result = fire_schedule(tight, schedule.schedule_id, due, reporter)
    assert result.outcome == FireOutcome.REFUSED
    assert "The scheduled drill of DR due Thu 2026-01-01 03:00 UTC did not start:" in reporter.messages()[0]
    assert fire_schedule(tight, schedule.schedule_id, due, reporter).outcome == FireOutcome.DUPLICATE
    assert executions_of(services, schedule.schedule_id) == []


# -- the local backend at start-up --------------------------------------------------------------------


def test_a_fire_missed_while_down_runs_once_at_start_up_within_the_grace_period(
    services: Any, plan: Any, clock: Any
) -> None:
    schedule = approved(services)  # daily at 03:00 UTC, approved at 2026-01-01 00:00
    clock.set(epoch(2026, 1, 1, 3, 40, 0))  # drbot comes back 40 minutes late
    reporter = RecordingReporter()
    (result,) = local_backend(services, reporter, grace_minutes=60).start(pump=False)
    assert (result.outcome, result.schedule_id) == (FireOutcome.STARTED, schedule.schedule_id)
    assert result.scheduled_at == epoch(2026, 1, 1, 3, 0, 0)
    assert reporter.reports == []
    assert local_backend(services, reporter, grace_minutes=60).start(pump=False) == []  # restarted again


def test_fires_missed_beyond_the_grace_period_are_reported_once_and_not_run(
    services: Any, plan: Any, clock: Any
) -> None:
    schedule = approved(services)
    clock.set(epoch(2026, 1, 3, 5, 0, 0))  # down for the drills of 1, 2 and 3 January
    reporter = RecordingReporter()
    assert local_backend(services, reporter, grace_minutes=60).start(pump=False) == []
    (message,) = reporter.messages(schedule.schedule_id)
    assert message.startswith("Missed 3 scheduled drill(s) of plan DR while drbot was not running:")
    assert "Next: Sun 2026-01-04 03:00 UTC." in message
    assert local_backend(services, reporter, grace_minutes=60).start(pump=False) == []
    assert len(reporter.messages()) == 1  # said once, not at every start
    assert executions_of(services, schedule.schedule_id) == []


def test_a_paused_schedule_misses_nothing_when_resumed(services: Any, plan: Any, clock: Any) -> None:
    backend = local_backend(services, RecordingReporter())
    schedule = approved(services)
    pause_schedule(services, schedule.schedule_id, "alice", backend=backend)
    clock.set(epoch(2026, 1, 5, 12, 0, 0))
    resume_schedule(services, schedule.schedule_id, "alice", backend=backend)
    assert backend.start(pump=False) == []
    assert backend.reporter.reports == []  # type: ignore[attr-defined]
    clock.set(epoch(2026, 1, 6, 3, 0, 1))
    (result,) = backend.run_pending()
    assert result.outcome == FireOutcome.STARTED


def test_a_rate_schedule_counts_from_its_approval(services: Any, plan: Any, clock: Any) -> None:
    backend = local_backend(services, RecordingReporter())
    schedule = add(services, "rate(6 hours)")
    clock.advance(3600)  # approved an hour after it was requested
    approve_schedule(services, schedule.schedule_id, "bob", backend=backend)
    clock.advance(6 * 3600 - 1)
    assert backend.run_pending() == []
    clock.advance(2)
    (result,) = backend.run_pending()
    assert result.scheduled_at == epoch(2026, 1, 1, 7, 0, 0)
    assert backend.next_fire(schedule.schedule_id) == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)


def test_a_member_of_an_approver_user_group_approves(services: Any, plan: Any) -> None:
    from dataclasses import replace

    from orchestration.rbac import RoleConfig

    class Groups:
        def groups_of(self, user_id: str) -> frozenset[str]:
            return frozenset({"S_DR_APPROVERS"}) if user_id == "U0ERIN001" else frozenset()

    roles = RoleConfig.from_mapping({"operator": ["alice"], "approver": ["S_DR_APPROVERS"]})
    grouped = replace(services, settings=replace(services.settings, roles=roles), directory=Groups())
    schedule = create_schedule(grouped, NewSchedule(plan="DR", expression=DAILY_3AM), "alice")
    with pytest.raises(PermissionDenied):
        approve_schedule(grouped, schedule.schedule_id, "U0FRANK01", backend=local_backend(grouped))
    outcome = approve_schedule(grouped, schedule.schedule_id, "U0ERIN001", backend=local_backend(grouped))
    assert outcome.schedule.approved_by == "U0ERIN001"


def test_a_schedule_whose_plan_was_deleted_cannot_be_approved(services: Any, plan: Any) -> None:
    from orchestration.services.plans import delete_recovery_plan

    schedule = add(services)
    delete_recovery_plan(services, plan.plan_id, "alice")
    with pytest.raises(NotFound, match="was deleted: it cannot run"):
        approve_schedule(services, schedule.schedule_id, "bob", backend=local_backend(services))
    assert services.store.get_schedule(schedule.schedule_id) == schedule


def test_one_schedules_failure_does_not_hold_back_another(
    services: Any, plan: Any, clock: Any, simulator: Any
) -> None:
    from dataclasses import replace

    from scheduler.backends.local import LocalScheduleBackend
    from scheduler.runtime import LOCAL_WORK
    from tests.drills import make_plan

    payments = {"sourceServerIds": [simulator.server_id("db-payments-01")]}
    make_plan(services, [{"name": "Payments", "group": "Payments"}], {"Payments": payments}, "Other")
    broken = approved(services)
    working = create_schedule(services, NewSchedule(plan="Other", expression=DAILY_3AM), "alice")
    approve_schedule(services, working.schedule_id, "bob", backend=local_backend(services))

    def fire(services: Any, schedule_id: str, *args: Any) -> Any:
        if schedule_id == broken.schedule_id:
            raise RuntimeError("store unavailable")
        return fire_schedule(services, schedule_id, *args)

    clock.set(epoch(2026, 1, 1, 3, 0, 5))
    backend = LocalScheduleBackend(services, replace(LOCAL_WORK, fire=fire), RecordingReporter())
    (result,) = backend.run_pending()
    assert (result.schedule_id, result.outcome) == (working.schedule_id, FireOutcome.STARTED)


def test_a_fire_the_running_pump_finds_runs_even_with_no_grace_period(
    services: Any, plan: Any, clock: Any
) -> None:
    """The grace period is for fires missed while drbot was not running: a fire that comes due while it
    runs is found by the next pump, seconds late, and runs however small the grace period is."""
    schedule = approved(services)
    reporter = RecordingReporter()
    backend = local_backend(services, reporter, grace_minutes=0)
    clock.set(epoch(2026, 1, 1, 2, 59, 55))
    assert backend.start(pump=False) == []
    clock.set(epoch(2026, 1, 1, 3, 0, 7))  # the next pump, seven seconds after the fire
    (result,) = backend.run_pending()
    assert (result.outcome, result.scheduled_at) == (FireOutcome.STARTED, epoch(2026, 1, 1, 3, 0, 0))
    assert reporter.reports == []
    # drbot stopped for a day: at its start-up the fire it missed is reported, not run
    clock.set(epoch(2026, 1, 2, 3, 0, 7))
    assert local_backend(services, reporter, grace_minutes=0).start(pump=False) == []
    (message,) = reporter.messages(schedule.schedule_id)
    assert message.startswith("Missed 1 scheduled drill(s) of plan DR")
    assert len(executions_of(services, schedule.schedule_id)) == 1


def test_a_stored_schedule_that_no_longer_parses_does_not_hold_back_another(
    services: Any, plan: Any, clock: Any
) -> None:
    from orchestration.models import Schedule

    working = approved(services)
    services.store.create_schedule(
        Schedule(
            plan_id=plan.plan_id,
            expression="cron(0 25 * * ? *)",  # the shape of an expression, but no hour 25
            approved_by="bob",
            enabled=True,
            created_by="alice",
            created_date=working.created_date,
            last_modified_date=working.last_modified_date,
        ),
        "alice",
    )
    clock.set(epoch(2026, 1, 1, 3, 0, 5))
    (result,) = local_backend(services, RecordingReporter()).run_pending()
    assert (result.schedule_id, result.outcome) == (working.schedule_id, FireOutcome.STARTED)


def test_the_local_backend_skips_a_time_the_clocks_skip_and_fires_a_repeated_one_once(
    services: Any, plan: Any, clock: Any
) -> None:
    """02:30 every day in Berlin: on 29 March 2026 it does not exist (no drill that day); on 25 October
    2026 it happens twice (one drill, at the first)."""
    from tests.drills import run_until_done

    backend = local_backend(services, RecordingReporter())
    schedule = approved(services, "cron(30 2 * * ? *)", timezone="Europe/Berlin")
    # 28 March 02:30 CET is 01:30 UTC; the next drill is 30 March 02:30 CEST, 00:30 UTC
    clock.set(epoch(2026, 3, 28, 1, 30, 5))
    (march_28,) = backend.run_pending()
    run_until_done(services, clock, march_28.execution_id)
    for moment in (epoch(2026, 3, 29, 0, 30, 5), epoch(2026, 3, 29, 1, 30, 5), epoch(2026, 3, 29, 2, 30, 5)):
        clock.set(moment)
        assert backend.run_pending() == []
    clock.set(epoch(2026, 3, 30, 0, 30, 5))
    (march_30,) = backend.run_pending()
    assert march_30.scheduled_at == epoch(2026, 3, 30, 0, 30, 0)
    run_until_done(services, clock, march_30.execution_id)

    backend = local_backend(services, RecordingReporter())
    clock.set(epoch(2026, 10, 24, 12, 0, 0))
    resume_at = epoch(2026, 10, 24, 12, 0, 0)
    pause_schedule(services, schedule.schedule_id, "alice", backend=backend)
    resume_schedule(services, schedule.schedule_id, "alice", backend=backend)
    assert services.store.get_schedule(schedule.schedule_id).last_modified_date == resume_at
    clock.set(epoch(2026, 10, 25, 0, 30, 5))  # 02:30 CEST
    (first,) = backend.run_pending()
    assert first.scheduled_at == epoch(2026, 10, 25, 0, 30, 0)
    run_until_done(services, clock, first.execution_id)
    clock.set(epoch(2026, 10, 25, 1, 30, 5))  # 02:30 CET, the same wall time an hour later
    assert backend.run_pending() == []
    clock.set(epoch(2026, 10, 26, 1, 30, 5))  # 02:30 CET on the 26th
    (next_day,) = backend.run_pending()
    assert next_day.scheduled_at == epoch(2026, 10, 26, 1, 30, 0)
    assert backend.reporter.reports == []  # type: ignore[attr-defined]


def test_a_claimed_fire_whose_start_fails_unexpectedly_is_said_and_not_retried(
    services: Any, plan: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scheduler import fire

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the state machine is unreachable")

    schedule = approved(services)
    monkeypatch.setattr(fire, "execute_recovery_plan", broken)
    due = epoch(2026, 1, 1, 3, 0, 0)
    clock.set(due + 1)
    reporter = RecordingReporter()
    result = fire_schedule(services, schedule.schedule_id, due, reporter)
    assert result.outcome == FireOutcome.REFUSED
    (message,) = reporter.messages(schedule.schedule_id)
    assert message.startswith("The scheduled drill of DR due Thu 2026-01-01 03:00 UTC did not start:")
    assert "RuntimeError" in message and "Next: Fri 2026-01-02 03:00 UTC." in message
    refused = [e for e in services.store.list_audit() if e.action == "schedule.refused"]
    assert len(refused) == 1
    assert fire_schedule(services, schedule.schedule_id, due, reporter).outcome == FireOutcome.DUPLICATE
    assert executions_of(services, schedule.schedule_id) == []


def test_a_fire_that_started_nothing_names_no_drill_of_an_earlier_fire(
    services: Any, plan: Any, clock: Any
) -> None:
    """`lastExecutionId` is the drill of the fire at `lastRunAt`: a skipped fire, or its redelivery,
    does not name the drill an earlier fire started."""
    schedule = approved(services)
    reporter = RecordingReporter()
    first_due, second_due = epoch(2026, 1, 1, 3, 0, 0), epoch(2026, 1, 2, 3, 0, 0)
    clock.set(first_due + 2)
    first = fire_schedule(services, schedule.schedule_id, first_due, reporter)
    assert first.outcome == FireOutcome.STARTED and first.execution_id is not None
    clock.set(second_due + 2)  # the first drill has not ended: the second fire is skipped
    skipped = fire_schedule(services, schedule.schedule_id, second_due, reporter)
    assert skipped.outcome == FireOutcome.SKIPPED
    stored = services.store.get_schedule(schedule.schedule_id)
    assert (stored.last_run_at, stored.last_execution_id) == (second_due, None)
    again = fire_schedule(services, schedule.schedule_id, second_due, reporter)
    assert (again.outcome, again.execution_id) == (FireOutcome.DUPLICATE, None)
    late_copy = fire_schedule(services, schedule.schedule_id, first_due, reporter)
    assert (late_copy.outcome, late_copy.execution_id) == (FireOutcome.DUPLICATE, None)


def test_a_fire_needs_no_role_for_its_schedule(services: Any, plan: Any, clock: Any) -> None:
    """The schedule was allowed when created and approved: `schedule:<id>` needs no role of its own
    (the AWS default, where anyone not named in the roles is a viewer)."""
    from dataclasses import replace

    from orchestration.rbac import RoleConfig

    schedule = approved(services)
    roles = RoleConfig.from_mapping({"operator": ["alice"], "approver": ["bob"], "default": "viewer"})
    services.settings = replace(services.settings, roles=roles)
    due = epoch(2026, 1, 1, 3, 0, 0)
    clock.set(due + 2)

    result = fire_schedule(services, schedule.schedule_id, due, RecordingReporter())

    assert result.outcome == FireOutcome.STARTED
    [execution] = executions_of(services, schedule.schedule_id)
    assert execution.initiated_by == f"schedule:{schedule.schedule_id}"
    assert [a.user_id for a in execution.approvals] == ["bob"]
