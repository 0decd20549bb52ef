"""Slack as a real workspace sees it, against the loopback stub with the engine on the DRS simulator:
rate limits waited exactly their Retry-After (measured on the notifier's injected sleep, never on
wall time), one log line per 429, order kept; a rate-limited run request posted later and never
withdrawn; a click's failed update told privately; Slack down never slows a drill, and its messages
follow in order when Slack is back; a click and the run's progress leave the newest state on screen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.app import build_app
from bot.slack_notifier import REPLY_ICONS, SlackNotifier, reply_message
from bot.slack_thread_record import SLACK_THREADS, SlackThread, thread_of
from bot.views.ids import ActionId
from orchestration.clock import FakeClock
from orchestration.engine.advance import advance
from orchestration.models import Execution, ExecutionStatus, ExecutionType
from tests.drills import start, three_tier_plan
from tests.integration.conftest import with_roles
from tests.integration.test_slack_approvals import click, create_prod_dr, requested, run_plan
from tests.slack_requests import CHANNEL_ID
from tests.slack_stub import RESPONSE_URL, SlackStub

CHANNEL = "C0DRILLS"
ROOT_TS = "1767225600.000001"
ALICE, BOB = "U0ALICE01", "U0BOB0001"
ROLES = {"operator": [ALICE], "approver": [BOB], "default": "viewer"}
FLUSH = 5.0  # a bound, never a pause: flush returns as soon as the outbox is empty


class Sleeps:
    """The notifier's sleep: records each wait and moves the fake clock by it (no wall time)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def sleeps(clock: FakeClock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
def notifier(
    sqlite_services: Any, slack_stub: SlackStub, clock: FakeClock, sleeps: Sleeps
) -> Iterator[SlackNotifier]:
    client = WebClient(base_url=slack_stub.api_url, token="xoxb-test")
    notifier = SlackNotifier(client, clock, services=sqlite_services, delivery="background", sleep=sleeps)
    sqlite_services.notifier = notifier
    try:
        yield notifier
    finally:
        notifier.close(FLUSH)


def drill_in_slack(services: Any, plan: Any) -> str:
    """A drill of `plan` whose request was posted in CHANNEL (its root is ROOT_TS)."""
    execution_id = start(services, plan, ExecutionType.DRILL)
    thread = SlackThread(channel=CHANNEL, thread_ts=ROOT_TS)
    services.store.modify_record(SLACK_THREADS, execution_id, lambda _: thread)
    return execution_id


def ticks_to_finish(services: Any, clock: FakeClock, execution_id: str) -> int:
    for tick in range(1, 400):
        result = advance(services, execution_id)
        if result.done:
            return tick
        clock.advance(result.wait_seconds)
    raise AssertionError("the drill did not finish")


def expected_replies(execution: Execution) -> list[str]:
    return [reply_message(execution, e).text for e in execution.events if e.type in REPLY_ICONS]


def replies(stub: SlackStub) -> list[str]:
    return [
        str(c.args["text"])
        for c in stub.calls("chat.postMessage")
        if c.args.get("thread_ts") == ROOT_TS and not str(c.args["text"]).startswith("Evidence report")
    ]


# -- rate limits ------------------------------------------------------------------------------------


def test_a_429_is_waited_exactly_its_retry_after_logged_once_and_the_thread_keeps_its_order(  # noqa: PLR0917 - fixtures
    sqlite_services: Any,
    slack_stub: SlackStub,
    clock: FakeClock,
    simulator: Any,
    notifier: SlackNotifier,
    sleeps: Sleeps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    execution_id = drill_in_slack(sqlite_services, three_tier_plan(sqlite_services, simulator))
    slack_stub.rate_limit("chat.postMessage", retry_after=7)

    ticks_to_finish(sqlite_services, clock, execution_id)
    assert notifier.flush(FLUSH) == []

    assert sleeps.waits == [7.0]  # exactly Retry-After: no jitter, no engine tick in between
    final = sqlite_services.store.get_execution(execution_id)
    assert final.status == ExecutionStatus.COMPLETED
    expected = expected_replies(final)
    posted = replies(slack_stub)
    assert posted == [expected[0], *expected]  # the refused reply, retried, then the rest in order
    rate_limited = [r for r in caplog.records if "rate-limited" in r.getMessage()]
    assert len(rate_limited) == 1 and rate_limited[0].exc_info is None
    assert "Traceback" not in caplog.text and "notifier failed" not in caplog.text
    assert "retry handler" not in caplog.text  # slack_sdk's own line for the retry is not added
    assert slack_stub.violations == []


def test_slack_down_never_slows_a_drill_and_its_messages_follow_in_order_when_slack_is_back(
    sqlite_services: Any, slack_stub: SlackStub, clock: FakeClock, simulator: Any, notifier: SlackNotifier
) -> None:
    plan = three_tier_plan(sqlite_services, simulator)
    ticks_to_finish(sqlite_services, clock, drill_in_slack(sqlite_services, plan))  # a plan's first
    # run is judged without earlier waves' timings: the two compared runs both come after one
    with_slack = drill_in_slack(sqlite_services, plan)
    ticks_with_slack = ticks_to_finish(sqlite_services, clock, with_slack)
    assert notifier.flush(FLUSH) == []
    slack_stub.reset()

    slack_stub.down()
    without_slack = drill_in_slack(sqlite_services, plan)
    ticks_without_slack = ticks_to_finish(sqlite_services, clock, without_slack)
    final = sqlite_services.store.get_execution(without_slack)
    assert final.status == ExecutionStatus.COMPLETED
    assert ticks_without_slack == ticks_with_slack  # the engine never waited for Slack
    assert final.notified_through == final.events[-1].seq  # handed over, queued in the outbox
    assert replies(slack_stub) == [] and notifier.pending() == [without_slack]
    assert slack_stub.refused()  # it was tried, and refused

    slack_stub.up()
    notifier.retry_now()
    assert notifier.flush(FLUSH) == []
    assert replies(slack_stub) == expected_replies(final)  # every event, once, in order
    kept = thread_of(sqlite_services.store, without_slack)
    assert kept is not None and kept.reported and kept.posted_through == final.events[-1].seq


# -- the request and the clicks, through the app ----------------------------------------------------


@pytest.fixture
def services(slack_services: Any, slack_stub: SlackStub, clock: FakeClock, sleeps: Sleeps) -> Iterator[Any]:
    services = with_roles(slack_services, ROLES)
    client = WebClient(token="xoxb-notifier", base_url=slack_stub.api_url)
    services.notifier = SlackNotifier(client, clock, services=services, delivery="background", sleep=sleeps)
    create_prod_dr(services)
    try:
        yield services
    finally:
        services.notifier.close(FLUSH)


@pytest.fixture
def app(services: Any) -> Any:
    return build_app(services)


def roots(stub: SlackStub) -> list[Any]:
    return [
        c
        for c in stub.calls("chat.postMessage")
        if c.args["channel"] == CHANNEL_ID and "thread_ts" not in c.args
    ]


def test_a_rate_limited_run_request_is_posted_when_slack_allows_and_never_withdrawn(
    app: Any, slack_stub: SlackStub, services: Any, sleeps: Sleeps
) -> None:
    slack_stub.rate_limit("chat.postMessage", retry_after=3, times=2)  # the request's post, then once more

    answer = run_plan(app, slack_stub)
    assert services.notifier.flush(FLUSH) == []

    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert execution.status == ExecutionStatus.PENDING_APPROVAL  # still awaiting approval
    assert not (execution.status_reason or "").startswith("Withdrawn")
    assert "may or may not" not in answer.args["text"] and "recorded" in answer.args["text"]
    assert answer.args.get("response_type", "ephemeral") == "ephemeral"
    refused, again, posted = roots(slack_stub)
    assert refused.args["text"] == again.args["text"] == posted.args["text"]  # the same summary
    assert sleeps.waits == [3.0]
    assert slack is not None and slack.thread_ts is not None
    assert any(b.get("type") == "actions" for b in posted.args["blocks"])  # Approve / Reject
    assert slack_stub.violations == []


def test_an_approval_whose_update_slack_refuses_is_confirmed_privately(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    run_plan(app, slack_stub)
    assert services.notifier.flush(FLUSH) == []
    execution = requested(services)
    slack_stub.fail("chat.update", "internal_error", times=5)

    response_url = click(app, slack_stub, ActionId.APPROVE, execution, BOB, services=services)
    told = slack_stub.answer_at(response_url)
    assert services.notifier.flush(FLUSH) == []

    assert told.args["response_type"] == "ephemeral" and told.args.get("replace_original") is False
    assert "approved" in told.args["text"] and "done all the same" in told.args["text"]
    saved = requested(services)
    assert saved.status == ExecutionStatus.PENDING and [a.user_id for a in saved.approvals] == [BOB]


def test_an_approval_rate_limited_is_shown_after_retry_after_without_a_private_note(
    app: Any, slack_stub: SlackStub, services: Any, sleeps: Sleeps
) -> None:
    run_plan(app, slack_stub)
    assert services.notifier.flush(FLUSH) == []
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    slack_stub.rate_limit("chat.update", retry_after=2)

    click(app, slack_stub, ActionId.APPROVE, execution, BOB, services=services)
    slack_stub.wait_for("chat.update", count=2)
    assert services.notifier.flush(FLUSH) == []

    assert sleeps.waits == [2.0]
    assert slack_stub.calls(RESPONSE_URL)[1:] == []  # only the requester's answer
    updates = [c for c in slack_stub.calls("chat.update") if c.args["ts"] == slack.thread_ts]
    assert ": PENDING" in updates[-1].args["text"]


def test_a_click_and_the_runs_progress_leave_the_newest_state_on_screen(
    app: Any, slack_stub: SlackStub, services: Any
) -> None:
    run_plan(app, slack_stub)
    assert services.notifier.flush(FLUSH) == []
    execution = requested(services)
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None
    root = (CHANNEL_ID, slack.thread_ts)

    slack_stub.hold("chat.update")  # the first update of the click waits in Slack…
    click(app, slack_stub, ActionId.APPROVE, execution, BOB, services=services)
    slack_stub.wait_for("chat.update")
    advance(services, execution.execution_id)  # …while the run starts and launches its first wave
    running = requested(services)
    assert running.status == ExecutionStatus.RUNNING
    slack_stub.release("chat.update")
    assert services.notifier.flush(FLUSH) == []

    shown = [c for c in slack_stub.calls("chat.update") if (c.args["channel"], c.args["ts"]) == root]
    assert len(shown) <= 2  # the click and the progress: one writer, older work coalesced
    assert ": RUNNING" in shown[-1].args["text"] and "starts now" not in shown[-1].args["text"]
    assert slack_stub.violations == []


# -- Lambda: deferred until the invocation's end ----------------------------------------------------


def test_deferred_deliveries_go_at_the_flush_and_what_cannot_go_in_time_is_given_back(
    sqlite_services: Any, slack_stub: SlackStub, clock: FakeClock, simulator: Any, sleeps: Sleeps
) -> None:
    client = WebClient(base_url=slack_stub.api_url, token="xoxb-test")
    notifier = SlackNotifier(client, clock, services=sqlite_services, delivery="deferred", sleep=sleeps)
    sqlite_services.notifier = notifier
    execution_id = drill_in_slack(sqlite_services, three_tier_plan(sqlite_services, simulator))

    advance(sqlite_services, execution_id)  # the run starts and launches its first wave: queued
    assert replies(slack_stub) == []
    slack_stub.rate_limit("chat.postMessage", retry_after=2)
    assert notifier.flush(FLUSH) == []  # the invocation's end: posted, Retry-After waited
    assert sleeps.waits == [2.0]
    started = sqlite_services.store.get_execution(execution_id)
    assert replies(slack_stub)[1:] == expected_replies(started)

    ticks_to_finish(sqlite_services, clock, execution_id)  # later invocations, Slack asks for 30 s
    slack_stub.rate_limit("chat.postMessage", retry_after=30)
    assert notifier.flush(FLUSH) == [execution_id]  # more than the flush may wait: given back
    given_back = sqlite_services.store.get_execution(execution_id)
    assert given_back.undelivered and given_back.needs_driving  # the next tick offers them again

    clock.advance(30)
    advance(sqlite_services, execution_id)  # that tick
    assert notifier.flush(FLUSH) == []
    final = sqlite_services.store.get_execution(execution_id)
    assert final.status == ExecutionStatus.COMPLETED and not final.needs_driving
    # each rate-limited reply shows twice in a row (refused, then posted): every event once, in order
    posted = replies(slack_stub)
    once = [text for n, text in enumerate(posted) if n == 0 or posted[n - 1] != text]
    assert once == expected_replies(final) and len(posted) == len(once) + 2
    assert sleeps.waits == [2.0]
