"""The pure parts of drill schedules: fire times of a stored schedule (counted from its approval or
resume, never before), and the Block Kit builders of its messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.views.ids import ScheduleActionId
from bot.views.schedules import (
    build_next_fires,
    build_schedule_request,
    build_schedules_list,
    when_text,
)
from bot.views.text import render_message
from orchestration.models import RecoveryPlan, Schedule, Wave
from scheduler.state import ScheduleState, state_of
from scheduler.timing import active_since, due_since_active, local_text, upcoming

JAN_1 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
PLAN = RecoveryPlan(
    plan_id="p1", plan_name="Prod DR", waves=[Wave(wave_number=1, wave_name="DB", protection_group_id="g1")]
)


def schedule(**changes: Any) -> Schedule:
    values: dict[str, Any] = {
        "schedule_id": "7c1e9a4b-0000-4000-8000-000000000001",
        "plan_id": "p1",
        "expression": "cron(0 3 * * ? *)",
        "created_by": "alice",
        "created_date": JAN_1,
        "last_modified_date": JAN_1,
        "enabled": False,
    }
    return Schedule(**{**values, **changes})


def utc(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())


# -- timing -------------------------------------------------------------------------------------------


def test_fires_count_from_the_later_of_the_last_fire_and_the_last_approval_or_resume() -> None:
    assert active_since(schedule()) == JAN_1
    assert active_since(schedule(last_run_at=utc(2026, 1, 2, 3, 0, 0))) == utc(2026, 1, 2, 3, 0, 0)
    resumed = schedule(last_run_at=utc(2026, 1, 2, 3, 0, 0), last_modified_date=utc(2026, 1, 9))
    assert due_since_active(resumed, utc(2026, 1, 10, 4, 0, 0)) == [
        utc(2026, 1, 9, 3, 0, 0),
        utc(2026, 1, 10, 3, 0, 0),
    ]


def test_due_fires_stop_at_now_and_a_long_outage_is_searched_in_batches() -> None:
    every_minute = schedule(expression="rate(1 minute)")
    due = due_since_active(every_minute, JAN_1 + 2 * 86400)
    assert len(due) == 2 * 1440 and due[-1] == JAN_1 + 2 * 86400
    assert due_since_active(schedule(), JAN_1 + 3 * 3600 - 1) == []


def test_upcoming_times_are_in_the_schedules_zone_with_daylight_saving() -> None:
    berlin = schedule(expression="cron(30 2 ? * SUN *)", timezone="Europe/Berlin")
    # 29 March 2026: 02:30 does not exist in Berlin, so EventBridge skips that Sunday
    times = upcoming(berlin, utc(2026, 3, 20), 3)
    assert [local_text(t, "Europe/Berlin") for t in times] == [
        "Sun 2026-03-22 02:30 Europe/Berlin (01:30 UTC)",
        "Sun 2026-04-05 02:30 Europe/Berlin (00:30 UTC)",
        "Sun 2026-04-12 02:30 Europe/Berlin (00:30 UTC)",
    ]
    assert local_text(JAN_1, "UTC") == "Thu 2026-01-01 00:00 UTC"


def test_states() -> None:
    assert state_of(schedule()) == ScheduleState.AWAITING_APPROVAL
    assert state_of(schedule(approved_by="bob", enabled=True)) == ScheduleState.ACTIVE
    assert state_of(schedule(approved_by="bob", enabled=False)) == ScheduleState.PAUSED


# -- views --------------------------------------------------------------------------------------------


def test_the_request_shows_when_who_and_the_buttons_and_is_valid_block_kit() -> None:
    requested = schedule(expression="cron(0 3 ? * SUN#1 *)", timezone="Europe/Berlin", channel="C0DRILLS")
    times = upcoming(requested, JAN_1, 5)
    message = build_schedule_request(requested, PLAN, times)
    payload = message.to_slack()
    assert payload["response_type"] == "in_channel"
    text = render_message(message)
    assert "alice asks to run drills of Prod DR unattended" in text
    assert "Expression: cron(0 3 ? * SUN#1 *) in Europe/Berlin" in text
    assert text.count("• Sun ") == 5
    actions = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        ScheduleActionId.APPROVE.value,
        ScheduleActionId.REJECT.value,
    ]
    assert actions[0]["elements"][1]["confirm"]["confirm"]["text"] == "Reject"


def test_the_list_names_a_deleted_plan_and_the_next_drill() -> None:
    active = schedule(approved_by="bob", enabled=True)
    orphan = schedule(schedule_id="9d000000-0000-4000-8000-000000000002", plan_id="gone")
    message = build_schedules_list(
        [active, orphan], {"p1": PLAN}, {active.schedule_id: datetime(2026, 1, 1, 3, tzinfo=UTC)}
    )
    text = render_message(message)
    assert "7c1e9a4b" in text and "Thu 2026-01-01 03:00 UTC" in text and "active" in text
    assert "(deleted plan gone)" in text and "plan deleted" in text
    assert "No drill schedules yet" in render_message(build_schedules_list([], {}, {}))


def test_next_fires_and_an_unscheduled_plan() -> None:
    active = schedule(approved_by="bob", enabled=True, timezone="America/New_York")
    moment = datetime(2026, 1, 1, 8, tzinfo=UTC)
    text = render_message(build_next_fires(PLAN, [(moment, active)]))
    assert "Thu 2026-01-01 03:00 America/New_York (08:00 UTC)" in text
    assert "no active schedule" in render_message(build_next_fires(PLAN, []))
    assert when_text(active) == "At 03:00 every day, America/New_York"
