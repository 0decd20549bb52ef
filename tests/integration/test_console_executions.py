"""`/dr plan run`, `/dr approve|reject|status|executions|pause|resume|cancel` and `/dr as` through
the real dispatcher and console, on both stores and the DRS simulator, with the embedded default's
demo roles (alice operator, bob and carol approvers)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.console import Console
from bot.slack_thread_record import thread_of
from bot.views.ids import ActionId
from bot.views.message import Message
from bot.views.text import render_message
from orchestration.engine.advance import advance
from orchestration.models import ExecutionStatus, ExecutionType
from orchestration.ports import ManualDriver
from orchestration.services.execution_builder import build_execution
from tests.support import failed, ok


@pytest.fixture
def dr(services: Any):
    services.driver = ManualDriver()
    registry = build_registry()

    def run(text: str, user: str = "alice", channel: str | None = None) -> Message:
        return registry.dispatch(services, Invocation(text=text, user_id=user, channel_id=channel))

    return run


@pytest.fixture
def estate(dr):
    ok(dr('/dr group create "DB tier" --server db-primary-01,db-replica-01'))
    ok(dr('/dr group create "App tier" --tag Tier=app --tag Application=orders'))
    ok(dr('/dr group create "Web tier" --tag Tier=web'))
    waves = '--wave "Database:DB tier" --wave "App:App tier" --wave "Web:Web tier:pause"'
    ok(dr(f'/dr plan create "Prod DR" {waves}'))


def only_execution(services: Any) -> Any:
    [execution] = services.store.list_executions()
    return execution


def buttons(message: Message) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["value"])
        for block in message.block_dicts()
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def drive(services: Any, execution_id: str) -> Any:
    for _ in range(200):
        result = advance(services, execution_id)
        if result.done or result.paused:
            return result
        services.clock.advance(result.wait_seconds)
    raise AssertionError("the execution did not finish")


def test_the_recovery_approval_story_alice_bob_carol(dr, services, estate):
    message = dr(
        '/dr plan run "prod dr" --recovery --reason "us-east-1 outage, INC-4711"', channel="C0123ABCD"
    )
    text = ok(message)
    assert message.response_type == "in_channel"
    execution = only_execution(services)
    slack = thread_of(services.store, execution.execution_id)
    short = execution.execution_id[:8]
    assert execution.status == ExecutionStatus.PENDING_APPROVAL
    assert execution.execution_type == ExecutionType.RECOVERY
    assert slack is not None and slack.channel == "C0123ABCD"
    assert "alice asks to run a recovery of Prod DR" in text and "two different approvers" in text
    assert "Reason: us-east-1 outage, INC-4711" in text
    assert "Approvals: 0/2 (nobody yet)" in text
    assert buttons(message) == [
        (ActionId.APPROVE.value, execution.execution_id),
        (ActionId.REJECT.value, execution.execution_id),
    ]

    text = failed(dr(f"/dr approve {short}", user="alice"), "PERMISSION_DENIED")
    assert "alice may not approve" in text
    text = ok(dr(f"/dr approve {short}", user="bob"))
    assert "bob approved the recovery (1 of 2)" in text and "Approvals: 1/2 (bob)" in text
    text = ok(dr(f"/dr approve {short}", user="bob"))
    assert "You already approved this recovery" in text
    assert services.driver.started == []
    message = dr(f"/dr approve {execution.execution_id}", user="carol")
    text = ok(message)
    assert "carol approved the recovery (2 of 2): it starts now" in text
    assert "Approvals: 2/2 (bob, carol)" in text
    assert services.driver.started == [execution.execution_id]
    assert [a for a, _ in buttons(message)] == [ActionId.CANCEL.value]

    result = drive(services, execution.execution_id)  # to the pause-before gate of wave 3
    assert result.paused
    text = ok(dr(f"/dr status {short}"))
    assert "Waiting at the gate before wave 3 (Web)" in text
    assert re.search(r"1\s+Database\s+COMPLETED\s+2/2", text)
    assert re.search(r"3\s+Web\s+PENDING \(gate\)", text)
    text = failed(dr(f"/dr resume {short}", user="bob"), "PERMISSION_DENIED")
    text = ok(dr(f"/dr resume {short}"))
    assert "alice resumed the recovery: wave 3 (Web) launches" in text
    drive(services, execution.execution_id)
    text = ok(dr(f"/dr status {short}"))
    assert "Result: ✔ COMPLETED after" in text and "7 of 7 server(s) launched" in text


def test_a_drill_is_approved_once_and_can_be_paused_resumed_and_cancelled(dr, services, estate):
    ok(dr('/dr plan run "Prod DR" --cleanup-after 30'))
    execution = only_execution(services)
    assert (execution.execution_type, execution.cleanup_after_minutes) == (ExecutionType.DRILL, 30)
    short = execution.execution_id[:6]
    ok(dr(f"/dr approve {short}", user="carol"))
    failed(dr(f"/dr pause {short}"), "INVALID_STATE_TRANSITION")  # PENDING: not running yet
    advance(services, execution.execution_id)
    text = ok(dr(f"/dr pause {short}"))
    assert "alice paused the drill" in text and "Status: ‖ PAUSED" in text
    assert "already paused" in ok(dr(f"/dr pause {short}"))
    assert "alice resumed the drill" in ok(dr(f"/dr resume {short}"))
    text = ok(dr(f"/dr cancel {short}"))
    assert "alice cancelled the drill" in text and "CANCELLING" in text
    drive(services, execution.execution_id)
    assert services.store.get_execution(execution.execution_id).status == ExecutionStatus.CANCELLED
    text = failed(dr(f"/dr resume {short}"), "INVALID_STATE_TRANSITION")
    assert "only a PAUSED execution can be resumed" in text


def test_reject_needs_a_reason_and_withdraw_is_the_requesters(dr, services, estate):
    ok(dr('/dr plan run "Prod DR"'))
    short = only_execution(services).execution_id[:8]
    text = failed(dr(f"/dr reject {short}", user="bob"), "USAGE_ERROR")
    assert "--reason TEXT" in text
    text = ok(dr(f'/dr reject {short} --reason "change freeze"', user="bob"))
    assert "bob rejected the drill: change freeze" in text and "REJECTED" in text
    assert only_execution(services).status == ExecutionStatus.REJECTED

    ok(dr('/dr plan run "Prod DR"'))
    [newest] = [e for e in services.store.list_executions() if e.status == ExecutionStatus.PENDING_APPROVAL]
    text = failed(dr(f"/dr cancel {newest.execution_id[:8]}", user="dave"), "PERMISSION_DENIED")
    assert "Only alice, who requested this drill, can withdraw it" in text
    text = ok(dr(f"/dr cancel {newest.execution_id[:8]}"))
    assert "alice withdrew the drill request" in text


def test_run_refusals_say_why_and_create_nothing(dr, services, estate):
    text = failed(dr('/dr plan run "Prod DR" --drill --recovery'), "USAGE_ERROR")
    assert "not both" in text
    text = failed(dr('/dr plan run "Prod DR" --recovery --cleanup-after 10'), "USAGE_ERROR")
    assert "--cleanup-after is for drills" in text
    failed(dr('/dr plan run "Prod DR" --cleanup-after soon'), "USAGE_ERROR")
    failed(dr("/dr plan run Nope"), "NOT_FOUND")
    text = failed(dr('/dr plan run "Prod DR"', user="bob"), "PERMISSION_DENIED")
    assert "bob may not request execution" in text
    assert services.store.list_executions() == []
    ok(dr('/dr plan run "Prod DR"'))
    text = failed(dr('/dr plan run "Prod DR"'), "SERVER_CONFLICT")
    assert "already has a PENDING_APPROVAL execution" in text and "db-primary-01" in text


def test_status_and_executions_lists(dr, services, estate):
    assert "Nothing is running" in ok(dr("/dr status"))
    assert "No execution is running" in ok(dr("/dr executions"))
    ok(dr('/dr plan run "Prod DR" --reason "monthly drill"'))
    execution = only_execution(services)
    text = ok(dr("/dr status"))  # the one active execution, in full
    assert "Drill: Prod DR" in text and "Reason: monthly drill" in text
    text = ok(dr('/dr executions --plan "prod dr"'))
    assert execution.execution_id[:8] in text and "PENDING_APPROVAL" in text
    ok(dr(f"/dr cancel {execution.execution_id[:8]}"))
    assert "No execution of Prod DR is running" in ok(dr('/dr executions --plan "Prod DR"'))
    text = ok(dr("/dr executions --all"))
    assert "REJECTED" in text and "1 execution, newest first" in text
    failed(dr("/dr executions --plan Nope"), "NOT_FOUND")


def test_executions_are_named_by_id_or_a_unique_prefix(dr, services, estate):
    plan = services.store.find_plan_by_name("Prod DR")
    for suffix in ("1", "2"):
        execution = build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.COMPLETED)
        execution = execution.model_copy(
            update={"execution_id": f"c0ffee0{suffix}-0000-4000-8000-000000000000"}
        )
        services.store.create_execution(execution, "alice")
    text = failed(dr("/dr status c0ffee0"), "VALIDATION_ERROR")
    assert "is the start of 2 execution ids" in text
    failed(dr("/dr status c0f"), "VALIDATION_ERROR")
    failed(dr("/dr status 0123456789"), "NOT_FOUND")
    assert "c0ffee02-0000-4000-8000-000000000000" in ok(dr("/dr status C0FFEE02"))
    text = failed(dr("/dr approve"), "USAGE_ERROR")
    assert "Missing <execution>" in text


def test_as_switches_the_console_user_and_is_refused_in_slack(services, estate):
    services.driver = ManualDriver()
    out = io.StringIO()
    with Console(services, build_registry(), "alice", out) as console:
        assert console.execute('/dr plan run "Prod DR"')
        short = only_execution(services).execution_id[:8]
        assert not console.execute(f"/dr approve {short}")
        assert console.execute("as bob")
        assert console.user_id == "bob"
        assert console.execute(f"/dr approve {short}")
        assert not console.execute("/dr as")  # says who to be
        assert console.user_id == "bob"
    text = out.getvalue()
    assert "You are now bob (roles: approver)" in text
    assert "alice asks to run a drill of Prod DR" in text  # the request, in the channel
    assert "alice may not approve" in text
    assert "» bob approved the drill (1 of 1): it starts now." in text
    assert "Approvals: 1/1 (bob)" in text
    assert only_execution(services).approvals[0].user_id == "bob"

    registry = build_registry()
    refused = registry.dispatch(services, Invocation(text="/dr as carol", user_id="U123", channel_id="C1"))
    assert refused.is_error and "only works in the drbot console" in render_message(refused)
    assert "/dr as" in render_message(registry.dispatch(services, Invocation(text="/dr help", user_id="x")))
