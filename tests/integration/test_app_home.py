"""The App Home (bot/app_home.py): what needs the viewer with its buttons, what runs, the next
drills and each plan's last drill; published on `app_home_opened`, refreshed for the people a
change concerns, and the same in the console as `/dr home`."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.app import build_app
from bot.app_home import HomePublisher, publisher_of
from bot.commands import build_registry
from bot.console import Console
from bot.console_slack import InlineExecutor
from bot.home_contents import home_of
from bot.slack_notifier import SlackNotifier
from bot.slack_thread_record import SLACK_THREADS, SlackThread
from bot.views.text import mrkdwn_to_text
from orchestration.bootstrap import build_running_services
from orchestration.config import Settings
from orchestration.models import ExecutionStatus
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.start_request import StartExecution
from tests.drills import run_until_done, three_tier_plan
from tests.integration.conftest import SLACK_SIGNING_SECRET, with_roles
from tests.slack_requests import SignedRequest, event_callback
from tests.slack_stub import SlackStub

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
ROLES = {"operator": [ALICE, "alice"], "approver": [BOB], "default": "viewer"}  # "alice" makes the plans


def requested(services: Any, plan: Any) -> Any:
    request = StartExecution(plan_id=plan.plan_id, execution_type="DRILL")
    return execute_recovery_plan(services, request, ALICE, require_approval=True)


def home_opened(user: str) -> SignedRequest:
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    return event_callback(SLACK_SIGNING_SECRET, event, "Ev0HOME")


@pytest.fixture
def slack_home(slack_services: Any, simulator: Any) -> Any:
    """Slack services with the test's roles, a plan, alice's drill request and the app."""
    services = with_roles(slack_services, ROLES)
    execution = requested(services, three_tier_plan(services, simulator))
    return services, execution, build_app(services, listener_executor=InlineExecutor())


def published_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def test_a_request_needs_an_approver_not_its_requester_nor_a_viewer(services: Any, simulator: Any) -> None:
    services = with_roles(services, ROLES)
    plan = three_tier_plan(services, simulator)
    execution = requested(services, plan)

    assert [e.execution_id for e in home_of(services, BOB).approvals] == [execution.execution_id]
    assert home_of(services, ALICE).approvals == []  # their own request
    assert home_of(services, CAROL).approvals == []  # a viewer approves nothing
    assert home_of(services, CAROL).running == []  # awaiting approval is not running yet


def test_opening_the_home_tab_publishes_it_with_the_buttons(slack_home: Any, slack_stub: SlackStub) -> None:
    _, execution, app = slack_home

    response = app.dispatch(home_opened(BOB).bolt())

    assert response.status == 200
    [call] = slack_stub.calls("views.publish")
    assert call.args["user_id"] == BOB
    view = call.args["view"]
    assert view["type"] == "home"
    text = published_text(view)
    assert "*Needs you* (1)" in text and f"<@{ALICE}>" in text
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {(b["action_id"], b["value"]) for b in buttons} >= {
        ("execution_approve", execution.execution_id),
        ("execution_reject", execution.execution_id),
    }
    block_ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))  # Slack refuses a view with two equal block ids
    assert slack_stub.violations == []


def test_a_change_refreshes_the_homes_it_concerns(slack_home: Any, slack_stub: SlackStub) -> None:
    services, execution, app = slack_home
    publisher = HomePublisher(app.client, services)
    publisher.opened(CAROL)  # a viewer who looked at their Home

    refreshed = publisher.refresh_for(execution)

    assert refreshed == sorted({ALICE, BOB, CAROL})
    published = {c.args["user_id"] for c in slack_stub.calls("views.publish")}
    assert published == {ALICE, BOB, CAROL}


def test_plans_show_their_last_drill_against_the_rto_target(
    services: Any, simulator: Any, clock: Any
) -> None:
    services = with_roles(services, ROLES)
    plan = three_tier_plan(services, simulator)
    plan = services.store.update_plan(plan.model_copy(update={"rto_target_minutes": 1}), ALICE)
    request = StartExecution(plan_id=plan.plan_id, execution_type="DRILL")
    execution = execute_recovery_plan(services, request, ALICE, require_approval=False)
    run_until_done(services, clock, execution.execution_id)

    [line] = home_of(services, BOB).plans

    assert line.last_drill is not None and line.last_drill.status == ExecutionStatus.COMPLETED
    from bot.views.home import build_home_blocks

    text = json.dumps([b.to_dict() for b in build_home_blocks(home_of(services, BOB), int(clock.now()))])
    assert "RTO target 1 min: missed" in text  # three waves of simulated launches take minutes


def test_the_console_home_approves_with_a_numbered_button(tmp_path: Any, clock: Any) -> None:
    out = io.StringIO()
    services = build_running_services(Settings.from_env({}, db_path=tmp_path / "drbot.db"), clock=clock)
    console = Console(services, build_registry(), "alice", out)
    try:
        assert (
            console.run(
                [
                    '/dr group create "DB" --server db-primary-01',
                    '/dr plan create "DR" --wave "db:DB"',
                    '/dr plan run "DR" --drill',
                    "/dr as bob",
                    "/dr home",
                ],
                echo=True,
            )
            == 0
        )
        home = out.getvalue().split("drbot> /dr home\n", 1)[1]
        assert "Needs you (1)" in home and "asks for approval" in home
        assert console.run(["/dr click Approve"], echo=True) == 0
        [execution] = services.store.list_executions()
        assert execution.status != ExecutionStatus.PENDING_APPROVAL
        assert [a.user_id for a in execution.approvals] == ["bob"]
    finally:
        console.close()
        services.close()


def home_click(action_id: str, value: str, user: str) -> SignedRequest:
    """A button click on the Home tab: a view container, no message, no response_url."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0DRBOT"},
        "api_app_id": "A0DRBOT",
        "token": "x",
        "container": {"type": "view", "view_id": "V0HOME"},
        "trigger_id": "1.2.3",
        "team": {"id": "T0DRBOT", "domain": "drbot-test"},
        "view": {"id": "V0HOME", "type": "home", "callback_id": "drbot_home", "blocks": []},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "home_x", "value": value}],
    }
    return SignedRequest.sign(urlencode({"payload": json.dumps(payload)}), SLACK_SIGNING_SECRET)


def test_approve_on_the_home_tab_approves_and_publishes_the_home_again(
    slack_home: Any, slack_stub: SlackStub
) -> None:
    services, execution, app = slack_home

    response = app.dispatch(home_click("execution_approve", execution.execution_id, BOB).bolt())

    assert response.status == 200
    assert [a.user_id for a in services.store.get_execution(execution.execution_id).approvals] == [BOB]
    [call] = slack_stub.calls("views.publish")
    assert call.args["user_id"] == BOB
    text = published_text(call.args["view"])
    assert "approved" in text and "*Needs you* (0)" in text


def test_a_refused_click_on_the_home_tab_says_why_on_the_home(slack_home: Any, slack_stub: SlackStub) -> None:
    services, execution, app = slack_home

    app.dispatch(home_click("execution_approve", execution.execution_id, ALICE).bolt())  # her own

    assert services.store.get_execution(execution.execution_id).approvals == []
    [call] = slack_stub.calls("views.publish")
    assert "PERMISSION_DENIED:" in mrkdwn_to_text(published_text(call.args["view"]), {})


def test_the_notifier_refreshes_the_homes_a_run_concerns(
    slack_services: Any, slack_stub: SlackStub, simulator: Any
) -> None:
    services = with_roles(slack_services, ROLES)
    app = build_app(services, listener_executor=InlineExecutor())
    notifier = SlackNotifier(app.client, services.clock, services=services)
    notifier.home = publisher_of(app)
    services.notifier = notifier
    execution = requested(services, three_tier_plan(services, simulator))
    services.store.modify_record(
        SLACK_THREADS, execution.execution_id, lambda _: SlackThread(channel="C0DRILLS")
    )

    notifier.deliver(execution, execution.events)

    assert {c.args["user_id"] for c in slack_stub.calls("views.publish")} == {ALICE, BOB}
