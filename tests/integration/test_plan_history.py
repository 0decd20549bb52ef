"""A plan's history through its real entry points, after drills on the simulator (two with a
launch failure switched on with `fail_servers`): the signed `/dr plan history` with its chart
shared through files_upload_v2, the seed API's operation (direct invocation and REST), and the
App Home's History button."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from bot.app import build_app
from bot.console_slack import InlineExecutor
from bot.views.home import build_home_blocks
from orchestration.handlers import execution as execution_handler
from orchestration.handlers import runtime
from orchestration.models import ExecutionStatus
from orchestration.services import plan_history as plan_history_service
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.start_request import StartExecution
from tests.drills import run_until_done, three_tier_plan
from tests.integration.conftest import SLACK_SIGNING_SECRET, with_roles
from tests.integration.test_app_home import home_click
from tests.slack_requests import CHANNEL_ID, USER_ID, slash_command
from tests.slack_stub import SlackStub
from tests.support import apigw_event, response_json

ROLES = {"operator": [USER_ID, "alice"], "default": "viewer"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# oldest first: which servers the simulator fails in each drill
FAULTS: list[list[str]] = [[], ["db-primary-01"], ["db-primary-01", "db-replica-01"], []]


def drills(services: Any, simulator: Any, clock: Any) -> tuple[Any, list[str]]:
    """The three-tier plan (RTO 60 min, RPO 30 min) drilled once per FAULTS entry, each fault
    switched on with the simulator's `fail_servers` and off again; the execution ids, oldest first."""
    plan = three_tier_plan(services, simulator)
    plan = services.store.update_plan(
        plan.model_copy(update={"rto_target_minutes": 60, "rpo_target_minutes": 30}), "alice"
    )
    ids = []
    for failing in FAULTS:
        simulator.clear_faults()
        if failing:
            simulator.fail_servers(failing)
        request = StartExecution(plan_id=plan.plan_id, execution_type="DRILL")
        execution = execute_recovery_plan(services, request, "alice", require_approval=False)
        run_until_done(services, clock, execution.execution_id)
        ids.append(execution.execution_id)
        clock.advance(86_400)
    simulator.clear_faults()
    return plan, ids


def png_size(content: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    assert content[:8] == PNG_SIGNATURE and content[12:16] == b"IHDR"
    width, height = struct.unpack(">II", content[16:24])
    return width, height


@pytest.fixture
def drilled(slack_services: Any, simulator: Any, clock: Any) -> tuple[Any, Any, list[str], Any]:
    services = with_roles(slack_services, ROLES)
    plan, ids = drills(services, simulator, clock)
    return services, plan, ids, build_app(services, listener_executor=InlineExecutor())


def test_the_signed_command_answers_the_runs_and_shares_a_png_chart(
    drilled: Any, slack_stub: SlackStub, simulator: Any
) -> None:
    services, _, ids, app = drilled
    # the truth the history is checked against: the drills the simulator failed, read from its jobs
    statuses = [services.store.get_execution(i).status for i in ids]
    assert statuses == [
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.FAILED,
        ExecutionStatus.COMPLETED,
    ]
    assert all(simulator.jobs_by_tag("drbot:executionId", i) for i in ids)

    response_url = slack_stub.new_response_url()
    request = slash_command(SLACK_SIGNING_SECRET, 'plan history "DR" --last 3', response_url=response_url)
    assert app.dispatch(request.bolt()).status == 200

    answer = slack_stub.answer_at(response_url)
    blocks = answer.args["blocks"]
    [table] = [b for b in blocks if b["type"] == "table"]
    rows = [[cell.get("text", "") for cell in row] for row in table["rows"]]
    assert rows[0][:8] == ["When (UTC)", "Type", "By", "Duration", "Status", "RTO", "RPO", "Worst loss"]
    assert [row[-1] for row in rows[1:]] == [i[:8] for i in reversed(ids[1:])]  # the last 3, newest first
    assert [row[4] for row in rows[1:]] == ["COMPLETED ✓", "FAILED", "FAILED"]
    assert rows[2][8] == "db-primary-01, db-replica-01" and rows[3][8] == "db-primary-01"
    text = json.dumps(blocks)
    assert "db-primary-01: failed in 2 of the last 3 drills" in text
    assert "db-replica-01: failed in" not in text  # once only
    assert "*Last passed:*" in text and ids[3][:8] in text
    assert "RTO target 60 min" in text and "RPO target 30 min" in text

    [shared] = slack_stub.uploaded()
    assert shared.channel_id == CHANNEL_ID and shared.thread_ts is None
    assert shared.filename.endswith(".png") and "History of DR" in shared.title
    width, height = png_size(shared.content)
    assert (width, height) == (2000, 720)
    assert 10_000 < len(shared.content) < 500_000
    assert slack_stub.violations == []


def test_a_bad_last_is_a_usage_answer_and_nothing_is_shared(drilled: Any, slack_stub: SlackStub) -> None:
    _, _, _, app = drilled
    for bad in ("0", "51", "ten"):
        response_url = slack_stub.new_response_url()
        request = slash_command(
            SLACK_SIGNING_SECRET, f"plan history DR --last {bad}", response_url=response_url
        )
        app.dispatch(request.bolt())
        answer = slack_stub.answer_at(response_url)
        assert "`--last` takes a number of runs from 1 to 50" in answer.args["text"] + json.dumps(
            answer.args["blocks"]
        )
    assert slack_stub.uploaded() == []


@pytest.fixture
def live(services: Any) -> Iterator[Any]:
    runtime.use(services)
    yield services
    runtime.use(None)


def test_the_api_operation_answers_direct_and_over_rest(live: Any, simulator: Any, clock: Any) -> None:
    plan, ids = drills(live, simulator, clock)

    history = execution_handler.lambda_handler(
        {"operation": "get_recovery_plan_history", "body": {"planId": plan.plan_id}}, None
    )

    assert [r["executionId"] for r in history["runs"]] == list(reversed(ids))
    assert [r["passed"] for r in history["runs"]] == [True, False, False, True]
    assert history["repeatFailures"] == [{"hostname": "db-primary-01", "failures": 2}]
    assert history["lastPassed"]["executionId"] == ids[3]
    assert history["runs"][1]["serversFailed"] == ["db-primary-01", "db-replica-01"]
    assert history["runs"][0]["rpo"] == "MET" and history["runs"][0]["worstDataLossSeconds"] is not None
    assert history["rpoTargetMinutes"] == 30 and history["last"] == 10

    response = execution_handler.lambda_handler(
        apigw_event("GET", f"/recovery-plans/{plan.plan_id}/history", None, {"last": "2"}), None
    )
    body = response_json(response)
    assert response["statusCode"] == 200
    assert [r["executionId"] for r in body["runs"]] == [ids[3], ids[2]]
    assert body["repeatFailures"] == []  # db-primary-01 failed in one of these two
    for bad in ("0", "51", "x"):
        response = execution_handler.lambda_handler(
            apigw_event("GET", f"/recovery-plans/{plan.plan_id}/history", None, {"last": bad}), None
        )
        assert (response["statusCode"], response_json(response)["error"]) == (400, "VALIDATION_ERROR")
        assert response_json(response)["field"] == "last"
    response = execution_handler.lambda_handler(
        apigw_event("GET", "/recovery-plans/no-such-plan/history", None, None), None
    )
    assert (response["statusCode"], response_json(response)["error"]) == (404, "NOT_FOUND")


def test_the_app_home_history_button_sends_the_history_and_chart_to_the_clickers_dm(
    drilled: Any, slack_stub: SlackStub, clock: Any
) -> None:
    services, plan, ids, app = drilled
    from bot.home_contents import home_of

    plan = services.store.update_plan(plan.model_copy(update={"plan_name": "DR: orders"}), "alice")

    home = [b.to_dict() for b in build_home_blocks(home_of(services, USER_ID), int(clock.now()))]
    [line] = [b for b in home if b.get("block_id") == f"home_plan_{plan.plan_id}"]
    button = line["accessory"]
    assert (button["text"]["text"], button["value"]) == ("History", plan.plan_id)

    response = app.dispatch(home_click(button["action_id"], button["value"], USER_ID).bolt())

    assert response.status == 200
    [posted] = slack_stub.calls("chat.postMessage")
    assert posted.args["channel"] == USER_ID  # Slack opens the app's DM with the clicker
    assert "History of DR" in posted.args["text"] and ids[3][:8] in json.dumps(posted.args["blocks"])
    [shared] = slack_stub.uploaded()
    assert shared.channel_id == "D" + USER_ID[1:] and png_size(shared.content) == (2000, 720)
    [published] = slack_stub.calls("views.publish")
    notice = f"{plan.plan_name}: sent to you in drbot's Messages tab"  # the whole name, colons and all
    assert notice in json.dumps(published.args["view"]["blocks"])
    assert slack_stub.violations == []


def test_the_history_button_of_a_deleted_plan_says_so_on_the_home(
    drilled: Any, slack_stub: SlackStub
) -> None:
    _, _, _, app = drilled

    app.dispatch(home_click("home_plan_history", "p-gone", USER_ID).bolt())

    assert slack_stub.calls("chat.postMessage") == [] and slack_stub.uploaded() == []
    [published] = slack_stub.calls("views.publish")
    notice = json.dumps(published.args["view"]["blocks"])
    assert "No recovery plan with id or name" in notice and "p-gone" in notice


def test_a_chart_slack_will_not_take_is_said_in_the_answer(drilled: Any, slack_stub: SlackStub) -> None:
    _, _, _, app = drilled
    slack_stub.fail("files.completeUploadExternal", error="not_in_channel")
    response_url = slack_stub.new_response_url()

    app.dispatch(slash_command(SLACK_SIGNING_SECRET, "plan history DR", response_url=response_url).bolt())

    answer = slack_stub.answer_at(response_url)
    text = json.dumps(answer.args["blocks"])
    assert "History of DR" in text  # the history itself is answered all the same
    assert "Slack did not share it here (not_in_channel)" in text
    assert slack_stub.uploaded() == []


def test_a_scan_cut_short_does_not_say_never(
    drilled: Any, slack_stub: SlackStub, simulator: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newest drill that fails (the simulator fails a server), and a scan of one execution: the
    pass before it is not read, so the history says so instead of "never"."""
    services, plan, ids, app = drilled
    simulator.fail_servers(["web-frontend-01"])
    request = StartExecution(plan_id=plan.plan_id, execution_type="DRILL")
    failing = execute_recovery_plan(services, request, "alice", require_approval=False)
    run_until_done(services, clock, failing.execution_id)
    simulator.clear_faults()
    assert services.store.get_execution(failing.execution_id).status == ExecutionStatus.FAILED

    def history_text() -> str:
        response_url = slack_stub.new_response_url()
        request = slash_command(SLACK_SIGNING_SECRET, 'plan history "DR" --last 1', response_url=response_url)
        assert app.dispatch(request.bolt()).status == 200
        return json.dumps(slack_stub.answer_at(response_url).args["blocks"])

    monkeypatch.setattr(plan_history_service, "HISTORY_SCAN", 1)
    text = history_text()
    assert "*Last passed:* not within the last 1 runs requested (older ones were not read)." in text
    assert "never" not in text

    monkeypatch.setattr(plan_history_service, "HISTORY_SCAN", 200)
    text = history_text()
    assert "*Last passed:*" in text and ids[3][:8] in text  # the newest drill that passed
