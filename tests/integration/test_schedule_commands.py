"""`/dr schedule …` through the real dispatcher, on SQLite and the DRS simulator, with the embedded
default's demo roles (alice operator, bob and carol approvers)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.ids import ScheduleActionId
from bot.views.message import Message
from scheduler.state import ScheduleState, state_of
from tests.support import failed, ok

CHANNEL = "C0DRILLS"
MONTHLY = '"cron(0 3 ? * SUN#1 *)" --tz Europe/Berlin'


@pytest.fixture
def dr(sqlite_services: Any) -> Any:
    registry = build_registry()

    def run(text: str, user: str = "alice", channel: str | None = CHANNEL) -> Message:
        return registry.dispatch(sqlite_services, Invocation(text=text, user_id=user, channel_id=channel))

    ok(run('/dr group create "DB tier" --server db-primary-01,db-replica-01'))
    ok(run('/dr plan create "Prod DR" --wave "Database:DB tier"'))
    return run


def only_schedule(services: Any) -> Any:
    (schedule,) = services.store.list_schedules()
    return schedule


def buttons(message: Message) -> list[str]:
    return [
        element["action_id"]
        for block in message.block_dicts()
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_add_shows_the_next_five_drills_and_asks_an_approver(dr: Any, sqlite_services: Any) -> None:
    message = dr(f'/dr schedule add "Prod DR" {MONTHLY} --cleanup-after 30')
    text = ok(message)

    schedule = only_schedule(sqlite_services)
    assert state_of(schedule) == ScheduleState.AWAITING_APPROVAL
    assert (schedule.channel, schedule.cleanup_after_minutes, schedule.created_by) == (CHANNEL, 30, "alice")
    assert message.response_type == "in_channel"
    assert (
        "alice asks to run drills of Prod DR unattended, at 03:00 on the first Sunday of every month" in text
    )
    assert f"/dr schedule approve {schedule.schedule_id[:8]}" in text
    # the clock starts on Thursday 1 January 2026; Berlin is on CET until 29 March
    for line in (
        "• Sun 2026-01-04 03:00 Europe/Berlin (02:00 UTC)",
        "• Sun 2026-02-01 03:00 Europe/Berlin (02:00 UTC)",
        "• Sun 2026-03-01 03:00 Europe/Berlin (02:00 UTC)",
        "• Sun 2026-04-05 03:00 Europe/Berlin (01:00 UTC)",
        "• Sun 2026-05-03 03:00 Europe/Berlin (01:00 UTC)",
    ):
        assert line in text
    assert text.count("• Sun ") == 5
    assert buttons(message) == [ScheduleActionId.APPROVE.value, ScheduleActionId.REJECT.value]
    block = next(b for b in message.block_dicts() if b["type"] == "actions")
    assert block["block_id"] == ScheduleActionId.BLOCK.value
    assert {e["value"] for e in block["elements"]} == {schedule.schedule_id}


def test_approve_list_show_next_pause_resume_delete(dr: Any, sqlite_services: Any) -> None:
    ok(dr(f'/dr schedule add "Prod DR" {MONTHLY}'))
    ref = only_schedule(sqlite_services).schedule_id[:8]

    refused = failed(dr(f"/dr schedule approve {ref}"), "PERMISSION_DENIED")
    assert "alice may not approve" in refused
    assert state_of(only_schedule(sqlite_services)) == ScheduleState.AWAITING_APPROVAL
    approved = dr(f"/dr schedule approve {ref}", user="bob")
    assert "bob approved the schedule: its drills run unattended" in ok(approved)
    assert approved.response_type == "in_channel" and buttons(approved) == []
    assert "already, by bob" in ok(dr(f"/dr schedule approve {ref}", user="carol"))

    listed = ok(dr("/dr schedule list"))
    assert ref in listed and "active" in listed and "Sun 2026-01-04 03:00 Europe/Berlin" in listed
    assert "approved by: bob" in ok(dr(f"/dr schedule show {ref}"))
    upcoming = ok(dr('/dr schedule next "prod dr"'))
    assert upcoming.count(f"schedule {ref}") == 5 and "2026-01-04 02:00:00 UTC" in upcoming

    assert "alice paused the schedule" in ok(dr(f"/dr schedule pause {ref}"))
    assert state_of(only_schedule(sqlite_services)) == ScheduleState.PAUSED
    assert "paused" in ok(dr('/dr schedule list --plan "Prod DR"'))
    assert "No drill of Prod DR is scheduled" in ok(dr('/dr schedule next "Prod DR"'))
    assert "alice resumed the schedule" in ok(dr(f"/dr schedule resume {ref}"))
    assert state_of(only_schedule(sqlite_services)) == ScheduleState.ACTIVE
    assert "alice deleted the schedule" in ok(dr(f"/dr schedule delete {ref}"))
    assert sqlite_services.store.list_schedules() == []
    assert "No drill schedules yet" in ok(dr("/dr schedule list"))


def test_reject_needs_a_reason_and_deletes_the_request(dr: Any, sqlite_services: Any) -> None:
    ok(dr(f'/dr schedule add "Prod DR" {MONTHLY}'))
    ref = only_schedule(sqlite_services).schedule_id[:8]
    assert "--reason TEXT" in failed(dr(f"/dr schedule reject {ref}", user="bob"), "USAGE_ERROR")
    text = ok(dr(f'/dr schedule reject {ref} --reason "quarter close"', user="bob"))
    assert "bob rejected the schedule: quarter close" in text
    assert sqlite_services.store.list_schedules() == []


@pytest.mark.parametrize(
    ("arguments", "code", "words"),
    [
        ('"cron(0 3 * * *)"', "INVALID_SCHEDULE_EXPRESSION", "expected 6 fields"),
        ('"cron(0 3 ? * SUN#6 *)"', "INVALID_SCHEDULE_EXPRESSION", "day-of-week"),
        ('"rate(1 days)"', "INVALID_SCHEDULE_EXPRESSION", "use 'day' for 1"),
        ('"cron(0 3 * * ? *)" --tz Berlin', "INVALID_SCHEDULE_EXPRESSION", "not an IANA time zone"),
        ('"cron(0 3 * * ? *)" --channel "#drills"', "USAGE_ERROR", "the channel's id"),
        ('"cron(0 3 * * ? *)" --cleanup-after soon', "USAGE_ERROR", "--cleanup-after"),
        ('"cron(0 3 * * ? *)" --recovery', "USAGE_ERROR", "Unknown option --recovery"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    dr: Any, sqlite_services: Any, arguments: str, code: str, words: str
) -> None:
    assert words in failed(dr(f'/dr schedule add "Prod DR" {arguments}'), code)
    assert sqlite_services.store.list_schedules() == []


def test_a_channel_picked_in_slack_is_read_as_its_id(dr: Any, sqlite_services: Any) -> None:
    ok(dr('/dr schedule add "Prod DR" "rate(7 days)" --channel <#C0123ABCD|dr-drills>'))
    assert only_schedule(sqlite_services).channel == "C0123ABCD"


def test_without_a_channel_the_plans_channel_is_used(dr: Any, sqlite_services: Any) -> None:
    ok(dr('/dr plan edit "Prod DR" --channel C0PLANS'))
    ok(dr('/dr schedule add "Prod DR" "rate(7 days)"', channel=None))
    assert only_schedule(sqlite_services).channel == "C0PLANS"


def test_a_schedule_whose_plan_was_deleted_says_so(dr: Any, sqlite_services: Any) -> None:
    ok(dr(f'/dr schedule add "Prod DR" {MONTHLY}'))
    ok(dr('/dr plan delete "Prod DR"'))
    listed = ok(dr("/dr schedule list"))
    assert "plan deleted" in listed and "(deleted plan" in listed
