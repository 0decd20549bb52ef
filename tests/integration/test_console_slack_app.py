"""The console as a Slack client of the real app: buttons clicked by number or label as another
user, the reject modal asked and submitted (the app's inline error asks again), modals cancelled,
and the whole story built in the group and plan modals, run, approved and reported in its thread.
The embedded default's demo roles: alice operates, bob and carol approve."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.commands import build_registry
from bot.console import Console
from orchestration.bootstrap import build_running_services
from orchestration.config import Settings
from orchestration.models import ExecutionStatus
from orchestration.ports import ManualDriver

ESTATE = [
    '/dr group create "DB tier" --server db-primary-01,db-replica-01',
    '/dr group create "Web tier" --tag Tier=web',
    '/dr plan create "Prod DR" --wave "Database:DB tier" --wave "Web:Web tier"',
]


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def console(sqlite_services: Any, out: io.StringIO) -> Iterator[Console]:
    sqlite_services.driver = ManualDriver()
    with Console(sqlite_services, build_registry(), "alice", out) as running:
        assert running.run(ESTATE, echo=True) == 0
        yield running


def requested(console: Console) -> Any:
    assert console.run(['/dr plan run "Prod DR" --reason "monthly drill"'], echo=True) == 0
    [execution] = console.services.store.list_executions()
    assert execution.status == ExecutionStatus.PENDING_APPROVAL
    return execution


def number_of(out: io.StringIO, label: str) -> str:
    """The number the newest button with this label was shown with."""
    return re.findall(rf"\[(\d+)\] {label}", out.getvalue())[-1]


def stored(console: Console, execution: Any) -> Any:
    return console.services.store.get_execution(execution.execution_id)


def test_an_approver_clicks_approve_by_its_number(console, out):
    execution = requested(console)
    approve = number_of(out, "Approve")
    assert console.run(["/dr as bob", approve], echo=True) == 0

    approved = stored(console, execution)
    assert [a.user_id for a in approved.approvals] == ["bob"]
    assert approved.status == ExecutionStatus.PENDING  # handed to the driver
    assert console.services.driver.started == [execution.execution_id]
    after = out.getvalue().split(f"drbot> {approve}\n", 1)[1]
    assert after.startswith(f"→ bob clicks [{approve}] Approve\n\n↻ updated:\nDrill: Prod DR")
    assert "Approvals: 1/1 (bob)" in after
    update = after.split("↻ updated:", 1)[1]
    assert re.search(r"\[\d+\] Cancel", update) and "Approve" not in update

    # the same button again: its message no longer has it, and nothing happens
    assert not console.execute(approve)
    assert f"Button [{approve}] (Approve) cannot be clicked: its message no longer has it" in out.getvalue()
    assert [a.user_id for a in stored(console, execution).approvals] == ["bob"]


def test_the_requesters_own_click_is_refused_to_her_alone(console, out):
    execution = requested(console)
    assert console.execute("/dr click approve")
    refusal = out.getvalue().split("→ alice clicks", 1)[1]
    assert "(only visible to alice)\nPERMISSION_DENIED: alice may not approve" in refusal
    assert "↻ updated" not in refusal
    assert stored(console, execution).status == ExecutionStatus.PENDING_APPROVAL
    assert not console.execute("/dr click 99")
    assert "There is no button [99]" in out.getvalue()
    assert "/dr status <execution> shows an execution's buttons again" in out.getvalue()


def test_the_reject_modal_is_asked_and_an_inline_error_asks_again(console, out):
    execution = requested(console)
    lines = ["/dr as bob", f"/dr click {number_of(out, 'Reject')}", "   ", "change freeze until Friday"]
    assert console.run(lines, echo=True) == 0

    rejected = stored(console, execution)
    assert rejected.status == ExecutionStatus.REJECTED
    text = out.getvalue().split("→ bob clicks", 1)[1]
    assert "┌ Reject the run\n" in text
    assert "│ Reason:    \n└ Reject\n" in text  # spaces only: the app judges them
    assert "┌ Reject the run (not submitted)\n│ ! Reason: Say why the request is rejected" in text
    assert "│ Reason: change freeze until Friday\n└ Reject\n" in text
    assert "Rejected by bob: change freeze until Friday" in text


def test_a_modal_closed_with_cancel_changes_nothing(console, out):
    execution = requested(console)
    assert console.run(["/dr as bob", "/dr click Reject", "cancel", "/dr status"], echo=True) == 0
    assert "│ Reason: cancel\n└ closed: Reject the run\n" in out.getvalue()
    assert stored(console, execution).status == ExecutionStatus.PENDING_APPROVAL
    assert console.slack.top_view("bob") is None


def test_the_story_groups_and_a_two_wave_plan_in_modals_run_approved_reported(tmp_path, clock):
    """Two groups and a 2-wave plan built in the modals, `/dr plan run`, bob approves with the
    button, the waves report in the run's thread and the completion is broadcast."""
    out = io.StringIO()
    services = build_running_services(Settings.from_env({}, db_path=tmp_path / "drbot.db"), clock=clock)

    def let_time_pass(_: float) -> None:  # instead of sleeping: move the clock, tick what is due
        clock.advance(5)
        services.driver.run_pending()

    story = [
        "/dr group create",
        *["DB tier", "", "", "", "db-primary-01, db-replica-01", ""],  # name … servers, tags
        "/dr group create",
        *["Web tier", "", "", "", "", "Tier=web"],
        "/dr plan create",
        *["Prod DR", "", "", "15", "Database", "DB tier · us-east-1", "", ""],  # plan (RPO 15), wave 1
        "Add wave",
        *["Web", "2", "", ""],  # wave 2: name, group by number, waits for, pause
        "submit",
        '/dr plan run "Prod DR" --reason "monthly drill"',
        "/dr as bob",
        "/dr click Approve",
        "/dr wait",
    ]
    try:
        with Console(services, build_registry(), "alice", out, sleep=let_time_pass) as console:
            assert console.run(story, echo=True) == 0, out.getvalue()
        [plan] = services.store.list_plans()
        assert (plan.rto_target_minutes, plan.rpo_target_minutes) == (None, 15)
        groups = {g.group_id: g.group_name for g in services.store.list_groups()}
        assert [(w.wave_name, groups[w.protection_group_id]) for w in plan.waves] == [
            ("Database", "DB tier"),
            ("Web", "Web tier"),
        ]
        [execution] = services.store.list_executions()
        assert execution.status == ExecutionStatus.COMPLETED
    finally:
        services.close()
    text = out.getvalue()
    assert "Created protection group DB tier with 2 servers (by alice)" in text
    assert "Created recovery plan Prod DR with 2 waves (by alice)" in text
    assert "┌ New recovery plan (changed)\n│ Wave 1: Database\n" in text  # kept after Add wave
    thread = text.split("  │ in the thread of “Drill: Prod DR”:\n", 1)[1]
    assert "  │ » Wave 1 (Database) launching 2 server(s)" in thread
    assert "  │ ✔ Wave 2 (Web) completed: 3 of 3 server(s) launched" in thread
    assert re.search(r"  │ ✔ Drill completed after [^\n]*\n  │ \(also sent to the channel\)\n", thread)
    assert "Status: ✔ COMPLETED" in text.split("drbot> /dr wait", 1)[1]


def test_on_a_terminal_the_prompts_read_the_typed_lines(console, out, monkeypatch):
    execution = requested(console)
    typed = iter(["/dr as bob", "/dr click Reject", "change freeze", "exit"])
    prompts: list[str] = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        return next(typed)

    monkeypatch.setattr("builtins.input", fake_input)
    assert console.interactive() == 0
    assert prompts == ["drbot> ", "drbot> ", "│ Reason: ", "drbot> "]
    assert "`/dr click Approve` for the newest button of that label" in out.getvalue()  # the banner
    assert stored(console, execution).status == ExecutionStatus.REJECTED


def test_closing_the_console_gives_the_services_their_notifier_back(sqlite_services, out):
    before = sqlite_services.notifier
    with Console(sqlite_services, build_registry(), "alice", out):
        assert sqlite_services.notifier is not before
    assert sqlite_services.notifier is before


def test_a_command_where_a_modal_asks_an_answer_closes_it_unsaved_and_runs(console, out):
    """A script with an answer too few: the next command is never typed into the form."""
    lines = ["/dr group create", "App tier", "", "/dr group list", "/dr as bob", "/dr whoami"]
    assert console.run(lines, echo=True) == 1

    text = out.getvalue().split("drbot> /dr group create\n", 1)[1]
    assert "│ Region: /dr group list\n└ closed: New protection group (`/dr group list` is a command" in text
    assert "drbot> /dr group list\n" in text  # then run as a command
    assert "DB tier" in text.split("drbot> /dr group list\n", 1)[1]
    assert "drbot> /dr as bob\n" in text
    assert [g.group_name for g in console.services.store.list_groups()] == ["DB tier", "Web tier"]
    assert console.slack.top_view("alice") is None


def test_a_form_is_not_opened_for_someone_who_may_not_save_it(console, out):
    assert console.run(["/dr as bob", "/dr group create", "/dr group list"], echo=True) == 1
    text = out.getvalue().split("drbot> /dr group create\n", 1)[1]
    assert text.startswith("(only visible to bob)\n! PERMISSION_DENIED: bob may not manage configuration")
    assert "┌ New protection group" not in text
    assert "drbot> /dr group list\n" in text


def test_an_error_the_app_answers_in_the_ack_of_a_form_command_is_shown(console, out):
    assert console.run(['/dr plan edit "No such plan"'], echo=True) == 1
    text = out.getvalue().split('drbot> /dr plan edit "No such plan"\n', 1)[1]
    assert text.startswith("(only visible to alice)\n! NOT_FOUND: No recovery plan")


def test_a_waves_group_is_chosen_by_its_name(console, out):
    lines = ["/dr plan create", "Quick DR", "", "", "", "Database", "db tier", "", "", "submit"]
    assert console.run(lines, echo=True) == 0
    assert "│ Wave 1: protection group: db tier\n" in out.getvalue()  # “DB tier · us-east-1”
    plan = console.services.store.find_plan_by_name("Quick DR")
    group = console.services.store.find_group_by_name("DB tier")
    assert [w.protection_group_id for w in plan.waves] == [group.group_id]
