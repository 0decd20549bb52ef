"""The approval flow through the real path: a signed `/dr plan run` posts the request in its channel
(and a copy in the approvals channel), signed clicks approve or are refused, its wake-up expires it;
Slack is the loopback stub, roles name people and a Slack user group (usergroups.users.list)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.app import build_app
from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.slack_directory import FAILURE_RETRY_SECONDS, SlackDirectory
from bot.slack_notifier import SlackNotifier
from bot.slack_thread_record import thread_of
from bot.views.ids import ActionId, BlockId
from orchestration.models import Execution, ExecutionStatus
from orchestration.rbac import RoleConfig
from orchestration.services.wake_ups import wake
from tests.integration.conftest import SLACK_SIGNING_SECRET, with_roles
from tests.slack_requests import CHANNEL_ID, SignedRequest, block_actions, slash_command
from tests.slack_stub import RESPONSE_URL, RecordedCall, SlackStub

ALICE, BOB, CAROL, VICTOR = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0VICTOR1"
APPROVERS_GROUP = "S0APPROVERS"
APPROVALS_CHANNEL = "C0APPROVALS"
# U0CAROL01 approves only as a member of the user group; U0ALICE01 approves too, to show that a
# requester never approves their own run
ROLES = {"operator": [ALICE], "approver": [ALICE, BOB, APPROVERS_GROUP], "default": "viewer"}
CACHE_SECONDS = 300


@pytest.fixture
def services(slack_services: Any, slack_stub: SlackStub, clock: Any) -> Any:
    services = with_roles(
        slack_services, ROLES, approval_channel=APPROVALS_CHANNEL, usergroup_cache_seconds=CACHE_SECONDS
    )
    client = WebClient(token="xoxb-notifier", base_url=slack_stub.api_url)
    services.notifier = SlackNotifier(client, clock, services=services)
    slack_stub.usergroups[APPROVERS_GROUP] = [CAROL, "U0DAVE001"]
    create_prod_dr(services)
    return services


def create_prod_dr(services: Any) -> None:
    """Two groups and the plan "Prod DR" (DB tier, then Web tier), made by alice's commands."""
    registry = build_registry()
    for text in (
        '/dr group create "DB tier" --server db-primary-01,db-replica-01',
        '/dr group create "Web tier" --tag Tier=web',
        '/dr plan create "Prod DR" --wave "Database:DB tier" --wave "Web:Web tier"',
    ):
        message = registry.dispatch(services, Invocation(text=text, user_id=ALICE))
        assert not message.is_error, message.text


@pytest.fixture
def app(services: Any) -> Any:
    return build_app(services)


def run_plan(
    app: Any, stub: SlackStub, text: str = '"Prod DR" --reason "monthly drill"', channel: str = CHANNEL_ID
) -> RecordedCall:
    """`/dr plan run …` by U0ALICE01 (in the drills channel); returns the requester's answer."""
    response_url = stub.new_response_url()
    request = slash_command(
        SLACK_SIGNING_SECRET, f"plan run {text}", response_url=response_url, user_id=ALICE, channel_id=channel
    )
    response = app.dispatch(request.bolt())
    assert (response.status, response.body) == (200, "")
    return stub.answer_at(response_url)


def requested(services: Any) -> Execution:
    [execution] = services.store.list_executions()
    result: Execution = execution
    return result


def click(
    app: Any,
    stub: SlackStub,
    action: ActionId,
    execution: Execution,
    user: str,
    *,
    services: Any,
    on_copy: bool = False,
    retry: int | None = None,
) -> str:
    """A click on the request's root (or on its copy); returns the click's response_url."""
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None
    channel, ts = (slack.approval_channel, slack.approval_ts) if on_copy else (slack.channel, slack.thread_ts)
    response_url = stub.new_response_url()
    request = block_actions(
        SLACK_SIGNING_SECRET,
        action.value,
        value=execution.execution_id,
        block_id=BlockId.EXECUTION_ACTIONS.value,
        response_url=response_url,
        user_id=user,
        channel_id=str(channel),
        message_ts=str(ts),
    )
    if retry is not None:  # Slack's redelivery of a request it thinks was lost
        request = SignedRequest(
            request.body,
            {**request.headers, "X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "timeout"},
        )
    response = app.dispatch(request.bolt())
    assert (response.status, response.body) == (200, "")
    return response_url


def buttons_of(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def updates_of(stub: SlackStub, channel: str, ts: str) -> list[RecordedCall]:
    return [c for c in stub.calls("chat.update") if (c.args["channel"], c.args["ts"]) == (channel, ts)]


# -- the request --------------------------------------------------------------------------------------


def test_plan_run_posts_the_request_in_the_channel_and_a_copy_with_a_link_in_the_approvals_channel(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    answer = run_plan(app, slack_stub)

    root, copy = slack_stub.wait_for("chat.postMessage", count=2)
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert execution.status == ExecutionStatus.PENDING_APPROVAL
    # the root: in the command's channel, the plan summary and Approve/Reject
    assert root.args["channel"] == CHANNEL_ID and "thread_ts" not in root.args
    rendered = json.dumps(root.args["blocks"])
    for fact in ("Prod DR", "Drill", ALICE, "monthly drill", "Database", "Web", "Approvals:* 0/1"):
        assert fact in rendered, fact
    assert buttons_of(root.args["blocks"]) == [ActionId.APPROVE.value, ActionId.REJECT.value]
    # recorded as the execution's thread, with its permalink
    (link,) = slack_stub.calls("chat.getPermalink")
    assert link.args["channel"] == CHANNEL_ID
    assert slack is not None
    assert slack.channel == CHANNEL_ID
    root_ts = slack.thread_ts
    assert root_ts is not None
    assert slack.permalink and root_ts.replace(".", "") in slack.permalink
    # the copy: the approvals channel, a link to the thread, the same buttons
    assert copy.args["channel"] == APPROVALS_CHANNEL
    assert slack.permalink in json.dumps(copy.args["blocks"])
    assert buttons_of(copy.args["blocks"]) == [ActionId.APPROVE.value, ActionId.REJECT.value]
    assert slack.approval_channel == APPROVALS_CHANNEL
    assert slack.approval_ts not in (None, root_ts)
    # the requester is told where it went, privately
    assert answer.args["response_type"] == "ephemeral"
    assert "posted in the channel" in answer.args["text"] and slack.permalink in answer.args["text"]
    assert slack_stub.violations == []


def test_when_the_bot_is_not_in_the_channel_the_request_is_withdrawn_and_the_requester_told(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    slack_stub.fail("chat.postMessage", "not_in_channel")

    answer = run_plan(app, slack_stub)

    assert answer.args["response_type"] == "ephemeral"
    assert "/invite @drbot" in answer.args["text"] and "withdrawn" in answer.args["text"]
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert execution.status == ExecutionStatus.REJECTED  # nothing half-done: nothing holds the plan
    assert slack is None
    assert services.driver.started == []
    # after /invite, the same command works
    run_plan(app, slack_stub)
    assert [e.status for e in services.store.list_executions()].count(ExecutionStatus.PENDING_APPROVAL) == 1
    assert slack_stub.violations == []


def test_when_slack_fails_to_take_the_request_it_is_withdrawn_and_the_failure_reported(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    slack_stub.fail("chat.postMessage", "fatal_error")

    answer = run_plan(app, slack_stub)

    assert answer.args["response_type"] == "ephemeral"
    assert "failed unexpectedly" in answer.args["text"]
    assert requested(services).status == ExecutionStatus.REJECTED
    assert services.driver.started == []


def test_a_request_made_in_the_approvals_channel_is_not_copied_there(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    run_plan(app, slack_stub, channel=APPROVALS_CHANNEL)

    (root,) = slack_stub.calls("chat.postMessage")
    assert root.args["channel"] == APPROVALS_CHANNEL
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and slack.thread_ts is not None
    assert slack.approval_ts is None


# -- approving -----------------------------------------------------------------------------------------


def test_a_user_group_member_approves_and_both_messages_are_updated(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    run_plan(app, slack_stub)
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and slack.approval_ts is not None

    click(app, slack_stub, ActionId.APPROVE, execution, CAROL, services=services)

    slack_stub.wait_for("chat.update", count=3)  # root and copy by the notifier, root by the click
    saved = requested(services)
    assert saved.status == ExecutionStatus.PENDING
    assert [a.user_id for a in saved.approvals] == [CAROL]
    assert services.driver.started == [execution.execution_id]
    root_updates = updates_of(slack_stub, CHANNEL_ID, str(slack.thread_ts))
    copy_updates = updates_of(slack_stub, APPROVALS_CHANNEL, slack.approval_ts)
    assert len(root_updates) == 2 and len(copy_updates) == 1
    assert "<@U0CAROL01> approved the drill (1 of 1): it starts now" in root_updates[-1].args["text"]
    assert buttons_of(root_updates[-1].args["blocks"]) == [ActionId.CANCEL.value]
    assert "Approvals:* 1/1 (<@U0CAROL01>)" in json.dumps(copy_updates[0].args["blocks"])
    assert buttons_of(copy_updates[0].args["blocks"]) == []  # the run is steered in its thread
    assert len(slack_stub.calls("usergroups.users.list")) == 1
    assert slack_stub.calls(RESPONSE_URL)[1:] == []  # only the requester's answer: nothing more said
    assert slack_stub.violations == []


def test_a_recovery_needs_two_approvers_and_a_click_on_the_copy_keeps_its_link(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    run_plan(app, slack_stub, '"Prod DR" --recovery --reason "region outage"')
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and slack.approval_ts is not None

    click(app, slack_stub, ActionId.APPROVE, execution, BOB, on_copy=True, services=services)
    slack_stub.wait_for("chat.update", count=3)
    assert requested(services).status == ExecutionStatus.PENDING_APPROVAL
    click(app, slack_stub, ActionId.APPROVE, execution, CAROL, services=services)
    slack_stub.wait_for("chat.update", count=6)

    saved = requested(services)
    assert saved.status == ExecutionStatus.PENDING
    assert [a.user_id for a in saved.approvals] == [BOB, CAROL]
    copy_updates = updates_of(slack_stub, APPROVALS_CHANNEL, slack.approval_ts)
    first_click = [c for c in copy_updates if "U0BOB0001 approved the recovery (1 of 2)" in c.args["text"]]
    assert first_click and str(slack.permalink) in json.dumps(first_click[-1].args["blocks"])
    assert "Approvals:* 2/2" in json.dumps(copy_updates[-1].args["blocks"])
    assert services.driver.started == [execution.execution_id]
    assert slack_stub.violations == []


def test_someone_with_no_approver_role_is_refused_ephemerally(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    run_plan(app, slack_stub)
    execution = requested(services)

    response_url = click(app, slack_stub, ActionId.APPROVE, execution, VICTOR, services=services)

    refusal = slack_stub.answer_at(response_url)
    assert refusal.args["response_type"] == "ephemeral" and refusal.args["replace_original"] is False
    assert "U0VICTOR1 may not approve" in refusal.args["text"]
    assert requested(services) == execution
    assert slack_stub.calls("chat.update") == []
    assert services.driver.started == []


def test_the_requester_may_not_approve_their_own_request(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    run_plan(app, slack_stub)
    execution = requested(services)

    response_url = click(app, slack_stub, ActionId.APPROVE, execution, ALICE, services=services)

    refusal = slack_stub.answer_at(response_url)
    assert "U0ALICE01 requested this drill and cannot approve it" in refusal.args["text"]
    assert requested(services) == execution
    assert slack_stub.calls("chat.update") == []


def test_a_double_click_and_a_slack_retry_are_harmless(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    run_plan(app, slack_stub)
    execution = requested(services)

    click(app, slack_stub, ActionId.APPROVE, execution, BOB, services=services)
    slack_stub.wait_for("chat.update", count=3)
    click(app, slack_stub, ActionId.APPROVE, execution, BOB, services=services)
    click(app, slack_stub, ActionId.APPROVE, execution, BOB, retry=1, services=services)

    answers = slack_stub.wait_for(RESPONSE_URL, count=3)[1:]  # after the requester's answer
    assert all("You already approved this drill" in a.args["text"] for a in answers)
    assert all(a.args["response_type"] == "ephemeral" for a in answers)
    saved = requested(services)
    assert [a.user_id for a in saved.approvals] == [BOB]
    assert services.driver.started == [execution.execution_id]
    assert len(slack_stub.calls("chat.update")) == 3
    assert slack_stub.violations == []


# -- expiry ----------------------------------------------------------------------------------------------


def test_expiry_found_by_its_wake_up_updates_the_request_and_its_copy(
    app: Any, slack_stub: SlackStub, services: Any, clock: Any
) -> None:
    run_plan(app, slack_stub)
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and execution.expires_at is not None
    assert services.wakeups.pending == {(execution.execution_id, "expiry"): execution.expires_at}

    assert wake(services, execution.execution_id, "expiry") == "rearmed"  # early: not yet
    clock.set(execution.expires_at)
    assert wake(services, execution.execution_id, "expiry") == "expired"

    assert requested(services).status == ExecutionStatus.EXPIRED
    (root,) = updates_of(slack_stub, CHANNEL_ID, str(slack.thread_ts))
    (copy,) = updates_of(slack_stub, APPROVALS_CHANNEL, str(slack.approval_ts))
    for update in (root, copy):
        assert "EXPIRED" in update.args["text"]
        assert buttons_of(update.args["blocks"]) == []
    assert wake(services, execution.execution_id, "expiry") == "nothing"  # once
    assert len(slack_stub.calls("chat.update")) == 2
    assert slack_stub.violations == []


# -- user-group membership -------------------------------------------------------------------------------


@pytest.fixture
def directory(slack_stub: SlackStub, clock: Any) -> SlackDirectory:
    slack_stub.usergroups[APPROVERS_GROUP] = [CAROL]
    client = WebClient(token="xoxb-directory", base_url=slack_stub.api_url)
    return SlackDirectory(client, RoleConfig.from_mapping(ROLES), clock, CACHE_SECONDS)


def test_group_membership_is_cached_until_it_expires(
    directory: SlackDirectory, slack_stub: SlackStub, clock: Any
) -> None:
    assert directory.groups == {APPROVERS_GROUP}  # only the groups the roles name are ever read
    assert directory.groups_of(CAROL) == {APPROVERS_GROUP}
    assert directory.groups_of(BOB) == frozenset()
    assert len(slack_stub.calls("usergroups.users.list")) == 1  # the second check used the cache

    slack_stub.usergroups[APPROVERS_GROUP] = [BOB]
    clock.advance(CACHE_SECONDS - 1)
    assert directory.groups_of(BOB) == frozenset()
    clock.advance(1)
    assert directory.groups_of(BOB) == {APPROVERS_GROUP}
    assert directory.groups_of(CAROL) == frozenset()
    calls = slack_stub.calls("usergroups.users.list")
    assert [c.args["usergroup"] for c in calls] == [APPROVERS_GROUP] * 2
    assert slack_stub.violations == []


def test_a_rate_limited_group_read_uses_the_cached_members(
    directory: SlackDirectory, slack_stub: SlackStub, clock: Any
) -> None:
    assert directory.groups_of(CAROL) == {APPROVERS_GROUP}
    clock.advance(CACHE_SECONDS)
    slack_stub.rate_limit("usergroups.users.list", retry_after=30)

    assert directory.groups_of(CAROL) == {APPROVERS_GROUP}
    assert len(slack_stub.calls("usergroups.users.list")) == 2


def test_a_group_that_could_not_be_read_is_not_asked_again_before_retry_after(
    directory: SlackDirectory, slack_stub: SlackStub, clock: Any
) -> None:
    slack_stub.rate_limit("usergroups.users.list", retry_after=30)  # nothing cached yet
    assert directory.groups_of(CAROL) == frozenset()
    clock.advance(29)
    assert directory.groups_of(CAROL) == frozenset()  # every click in between: no call
    assert len(slack_stub.calls("usergroups.users.list")) == 1
    clock.advance(1)
    assert directory.groups_of(CAROL) == {APPROVERS_GROUP}
    assert len(slack_stub.calls("usergroups.users.list")) == 2
    # an error without Retry-After waits the default
    clock.advance(CACHE_SECONDS)
    slack_stub.fail("usergroups.users.list", "fatal_error")
    assert directory.groups_of(CAROL) == frozenset()
    clock.advance(FAILURE_RETRY_SECONDS - 1)
    assert directory.groups_of(CAROL) == frozenset()
    assert len(slack_stub.calls("usergroups.users.list")) == 3
    clock.advance(1)
    assert directory.groups_of(CAROL) == {APPROVERS_GROUP}


def test_a_group_that_cannot_be_read_grants_nothing(
    directory: SlackDirectory, slack_stub: SlackStub, services: Any, app: Any, clock: Any
) -> None:
    slack_stub.rate_limit("usergroups.users.list", retry_after=30)  # and nothing cached
    assert directory.groups_of(CAROL) == frozenset()
    slack_stub.fail("usergroups.users.list", "no_such_subteam")
    assert directory.groups_of(CAROL) == frozenset()

    # through a click: a refusal, not a crash
    run_plan(app, slack_stub)
    execution = requested(services)
    clock.advance(CACHE_SECONDS)  # what the request's permission check cached is too old now
    slack_stub.fail("usergroups.users.list", "fatal_error")
    response_url = click(app, slack_stub, ActionId.APPROVE, execution, CAROL, services=services)
    assert "U0CAROL01 may not approve" in slack_stub.answer_at(response_url).args["text"]
    assert requested(services).status == ExecutionStatus.PENDING_APPROVAL
