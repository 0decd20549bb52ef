"""The promise of drill schedules, on the simulator and a FakeClock: "first Sunday of every month at
03:00 Berlin time" set once, approved once, and from then on drills run, report and clean up with
nobody awake — two monthly fires complete, a fire while a drill still runs is skipped and said so,
a paused schedule fires nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.slack_thread_record import thread_for
from orchestration.models import EventType, ExecutionStatus
from orchestration.ports import RecordingNotifier
from scheduler.fire_result import FireOutcome
from scheduler.reporting import RecordingReporter
from scheduler.runtime import local_backend
from scheduler.service import NewSchedule, approve_schedule, create_schedule, pause_schedule
from tests.drills import run_until_done, start, three_tier_plan

FIRST_SUNDAY_3AM = "cron(0 3 ? * SUN#1 *)"
CHANNEL = "C0DRILLS"


def epoch(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


@pytest.fixture
def story(sqlite_services: Any, simulator: Any) -> Any:
    services = sqlite_services
    services.notifier = RecordingNotifier()
    plan = three_tier_plan(services, simulator)
    schedule = create_schedule(
        services,
        NewSchedule(plan="DR", expression=FIRST_SUNDAY_3AM, timezone="Europe/Berlin", channel=CHANNEL),
        "alice",
    )
    reporter = RecordingReporter()
    backend = local_backend(services, reporter)
    approve_schedule(services, schedule.schedule_id, "bob", backend=backend)
    return services, plan, schedule, backend, reporter


def scheduled_runs(services: Any, schedule_id: str) -> list[Any]:
    return [e for e in services.store.list_executions(limit=100) if e.schedule_id == schedule_id]


def test_two_monthly_fires_run_unattended_a_busy_plan_skips_and_a_paused_schedule_is_quiet(
    story: Any, clock: Any
) -> None:
    services, plan, schedule, backend, reporter = story
    assert backend.start(pump=False) == []  # nothing due on 1 January

    # 4 January 2026 is the first Sunday: 03:00 in Berlin (CET) is 02:00 UTC
    clock.set(epoch(2026, 1, 4, 1, 59, 50))
    assert backend.run_pending() == []
    clock.set(epoch(2026, 1, 4, 2, 0, 5))
    (first,) = backend.run_pending()
    assert first.outcome == FireOutcome.STARTED
    assert backend.run_pending() == []  # the same fire is never handled twice
    january = services.store.get_execution(first.execution_id)
    assert january.initiated_by == f"schedule:{schedule.schedule_id}"
    assert [a.user_id for a in january.approvals] == ["bob"]
    thread = thread_for(services, january)  # posted in the schedule's channel
    assert (january.status, january.schedule_id, thread and thread.channel) == (
        ExecutionStatus.PENDING,
        schedule.schedule_id,
        CHANNEL,
    )
    assert run_until_done(services, clock, first.execution_id).status == ExecutionStatus.COMPLETED

    # 1 February 2026, still CET
    clock.set(epoch(2026, 2, 1, 2, 0, 5))
    (second,) = backend.run_pending()
    assert second.outcome == FireOutcome.STARTED
    assert run_until_done(services, clock, second.execution_id).status == ExecutionStatus.COMPLETED

    for execution_id in (first.execution_id, second.execution_id):
        events = services.notifier.events(execution_id)
        kinds = [e.type for e in events]
        assert kinds[0] == EventType.REQUESTED and EventType.COMPLETED in kinds
        assert EventType.CLEANUP_COMPLETED in kinds  # the drill's instances were terminated
        assert "approved beforehand by bob" in events[0].message

    # a run of the plan still in progress on 1 March
    busy = start(services, plan)
    clock.set(epoch(2026, 3, 1, 2, 0, 5))
    (skipped,) = backend.run_pending()
    assert skipped.outcome == FireOutcome.SKIPPED
    (report,) = reporter.messages(schedule.schedule_id)
    assert "Skipped the scheduled drill of DR due Sun 2026-03-01 03:00 Europe/Berlin (02:00 UTC)" in report
    assert f"drill {busy[:8]} is still PENDING" in report
    # after the clocks go forward on 29 March, 03:00 in Berlin is 01:00 UTC
    assert "Next: Sun 2026-04-05 03:00 Europe/Berlin (01:00 UTC)" in report
    assert run_until_done(services, clock, busy).status == ExecutionStatus.COMPLETED

    pause_schedule(services, schedule.schedule_id, "alice", backend=backend)
    clock.set(epoch(2026, 4, 5, 1, 0, 5))
    assert backend.run_pending() == []
    clock.set(epoch(2026, 5, 3, 1, 0, 5))
    assert backend.run_pending() == []
    assert [e.execution_id for e in scheduled_runs(services, schedule.schedule_id)] == [
        second.execution_id,
        first.execution_id,
    ]
    actions = [e.action for e in services.store.list_audit(subject=f"schedule:{schedule.schedule_id}")]
    assert actions.count("schedule.fire") == 2 and actions.count("schedule.skipped") == 1
