"""The whole Slack story through the real path, against the loopback Slack stub:

alice builds two protection groups and a 2-wave recovery plan in the builder modals, runs it with
`/dr plan run`; bob (an approver) clicks Approve; the engine drives the drill on the DRS simulator
and every wave reports in the run's thread; the completion is broadcast to the channel and the
root message ends as the final summary. Every request is signed as Slack signs it and dispatched
into the bolt app; every Web API call is checked against Slack's OpenAPI description.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.app import build_app
from bot.console_slack import InlineExecutor
from bot.slack_notifier import SlackNotifier
from bot.slack_thread_record import thread_of
from bot.views.ids import ActionId, GroupBuilderId, PlanBuilderId
from bot.views.plan_builder import wave_block
from orchestration.models import ExecutionStatus, WaveStatus
from tests.drills import run_until_done
from tests.integration.conftest import SLACK_SIGNING_SECRET, with_roles
from tests.integration.test_slack_approvals import buttons_of, click, requested
from tests.integration.test_slack_builders import (
    Values,
    choose,
    opened,
    option,
    submit,
    text_value,
    typed_wave,
    updated,
)
from tests.integration.test_slack_builders import click as click_in_modal
from tests.slack_requests import CHANNEL_ID, USER_ID, slash_command, view_state
from tests.slack_stub import SlackStub

ALICE, BOB = USER_ID, "U0BOB0001"  # alice is the user the signed requests come from by default
ROLES = {"operator": [ALICE], "approver": [BOB], "default": "viewer"}


@pytest.fixture
def services(slack_services: Any, slack_stub: SlackStub, clock: Any) -> Any:
    services = with_roles(slack_services, ROLES)
    client = WebClient(token="xoxb-notifier", base_url=slack_stub.api_url)
    services.notifier = SlackNotifier(client, clock, services=services)
    return services


@pytest.fixture
def app(services: Any) -> Any:
    # listeners and lazy listeners inline: a click's work is done when dispatch returns, so the
    # story reads the store after it without racing bolt's thread pool
    return build_app(services, listener_executor=InlineExecutor())


def build_group(
    app: Any, stub: SlackStub, services: Any, name: str, servers: list[str], *, count: int
) -> None:
    """`/dr group create` with no options opens the builder; alice picks servers by type-ahead ids."""
    view = opened(app, stub, "group create", count=count)
    typed: Values = {
        GroupBuilderId.NAME.value: {GroupBuilderId.NAME.value: text_value(name)},
        GroupBuilderId.SERVERS.value: {
            GroupBuilderId.SERVERS.value: {
                "type": "multi_external_select",
                "selected_options": [option(server) for server in servers],
            }
        },
    }
    response = submit(app, view, typed)
    assert (response.status, response.body) == (200, "")  # closed: no inline error
    assert services.store.find_group_by_name(name) is not None


def test_groups_and_plan_from_modals_then_run_approve_thread_and_broadcast(
    app: Any, slack_stub: SlackStub, services: Any, simulator: Any, clock: Any
) -> None:
    # 1. two groups from the group builder
    db = [simulator.server_id("db-primary-01"), simulator.server_id("db-replica-01")]
    web = [simulator.server_id("web-frontend-01"), simulator.server_id("web-frontend-02")]
    build_group(app, slack_stub, services, "DB tier", db, count=1)
    build_group(app, slack_stub, services, "Web tier", web, count=2)

    # 2. a 2-wave plan from the plan builder: one wave typed, "Add wave", the second typed, saved
    view = opened(app, slack_stub, 'plan create "Prod DR"', count=3)
    typed: Values = {PlanBuilderId.NAME.value: {PlanBuilderId.NAME.value: text_value("Prod DR")}}
    typed |= typed_wave(services, 1, revision=0, name="Database", group="DB tier")
    click_in_modal(
        app, view, PlanBuilderId.ADD_WAVE, block_id=PlanBuilderId.FOOTER.value, values=view_state(view, typed)
    )
    two = updated(slack_stub, 1)
    typed = {PlanBuilderId.NAME.value: {PlanBuilderId.NAME.value: text_value("Prod DR")}}
    typed |= typed_wave(services, 1, revision=1, name="Database", group="DB tier")
    typed |= typed_wave(services, 2, revision=1, name="Web", group="Web tier")
    typed |= choose(services, wave_block(PlanBuilderId.WAVE_GROUP, 2, 1), "Web tier")
    response = submit(app, two, typed)
    assert (response.status, response.body) == (200, "")
    plan = services.store.find_plan_by_name("Prod DR")
    assert plan is not None and [w.wave_name for w in plan.waves] == ["Database", "Web"]

    # 3. alice runs it: the request is the root of the run's thread, with Approve / Reject
    slack_stub.reset()
    response_url = slack_stub.new_response_url()
    run = slash_command(
        SLACK_SIGNING_SECRET, 'plan run "Prod DR" --reason "monthly drill"', response_url=response_url
    )
    assert app.dispatch(run.bolt()).status == 200
    assert slack_stub.answer_at(response_url).args["response_type"] == "ephemeral"  # "posted in the channel"
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert execution.status == ExecutionStatus.PENDING_APPROVAL
    assert slack is not None and slack.channel == CHANNEL_ID
    root_ts = slack.thread_ts
    [request] = slack_stub.calls("chat.postMessage")
    assert buttons_of(request.args["blocks"]) == [ActionId.APPROVE.value, ActionId.REJECT.value]

    # 4. alice may not approve her own run; bob approves
    click(app, slack_stub, ActionId.APPROVE, execution, ALICE, services=services)
    assert requested(services).status == ExecutionStatus.PENDING_APPROVAL
    click(app, slack_stub, ActionId.APPROVE, execution, BOB, services=services)
    approved = requested(services)
    assert approved.status not in (ExecutionStatus.PENDING_APPROVAL, ExecutionStatus.REJECTED)
    assert [a.user_id for a in approved.approvals] == [BOB]

    # 5. the engine drives the drill; each wave reports in the thread
    result = run_until_done(services, clock, approved.execution_id)
    assert result.done
    final = services.store.get_execution(approved.execution_id)
    assert final.status == ExecutionStatus.COMPLETED
    assert [w.status for w in final.waves] == [WaveStatus.COMPLETED, WaveStatus.COMPLETED]

    replies = [c for c in slack_stub.calls("chat.postMessage") if c.args.get("thread_ts") == root_ts]
    texts = [c.args["text"] for c in replies]
    assert texts[:4] == [
        ":rocket: Wave 1 (Database) launching 2 server(s): db-primary-01, db-replica-01",
        # nothing to time it by yet: looked at 10, 30 and 70 s after StartRecovery
        ":white_check_mark: Wave 1 (Database) completed: 2 of 2 server(s) launched in 1m 10s",
        ":rocket: Wave 2 (Web) launching 2 server(s): web-frontend-01, web-frontend-02",
        # looked at when wave 1's DRS job time (40 s) says it should be done, plus 2 s
        ":white_check_mark: Wave 2 (Web) completed: 2 of 2 server(s) launched in 42s",
    ]
    assert any("Cleanup done: 4 drill instance(s) terminated" in t for t in texts)
    # 6. the completion is broadcast to the channel, once
    broadcasts = [c for c in replies if c.args.get("reply_broadcast")]
    assert len(broadcasts) == 1 and "completed" in broadcasts[0].args["text"].lower()
    # the root message was updated in place and ends showing the outcome, without the buttons
    root_updates = [c for c in slack_stub.calls("chat.update") if c.args["ts"] == root_ts]
    assert root_updates
    last = root_updates[-1].args
    assert "Completed" in json.dumps(last["blocks"]) or "completed" in last["text"].lower()
    assert ActionId.APPROVE.value not in buttons_of(last["blocks"])
    # nothing was posted twice and every call was one Slack knows, with arguments it knows
    keys = [(c.args.get("thread_ts"), c.args["text"]) for c in replies]
    assert len(keys) == len(set(keys))
    assert slack_stub.violations == []
