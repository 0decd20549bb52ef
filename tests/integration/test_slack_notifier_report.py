"""The evidence report in the run's Slack thread, against the loopback Slack stub with the engine on
the DRS simulator: posted once when the record is final (a drill after its cleanup, a recovery at
its end), never twice on redelivery or by a fresh notifier, and a 429 only delays it."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient

from bot.slack_notifier import SlackNotifier, SlackUnavailable
from bot.slack_thread_record import SLACK_THREADS, SlackThread, thread_of
from orchestration.models import EventType, ExecutionStatus, ExecutionType
from orchestration.services.closing import closing_event
from tests.drills import run_until_done, start, three_tier_plan
from tests.slack_stub import RecordedCall, SlackStub

CHANNEL = "C0DRILLS"
ROOT_TS = "1767225600.000001"


def notifier(services: Any, stub: SlackStub, clock: Any) -> SlackNotifier:
    client = WebClient(base_url=stub.api_url, token="xoxb-test")
    return SlackNotifier(client, clock, services=services)


def start_in_slack(services: Any, simulator: Any, execution_type: ExecutionType, **extra: Any) -> str:
    execution_id = start(services, three_tier_plan(services, simulator), execution_type, **extra)
    services.store.modify_record(SLACK_THREADS, execution_id, lambda _: SlackThread(channel=CHANNEL))
    return execution_id


def replies(stub: SlackStub) -> list[RecordedCall]:
    return [c for c in stub.calls("chat.postMessage") if c.args.get("thread_ts")]


def reports(stub: SlackStub) -> list[RecordedCall]:
    return [c for c in replies(stub) if c.args["text"].startswith("Evidence report:")]


def test_a_drill_reports_once_after_its_cleanup(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    services = sqlite_services
    services.notifier = notifier(services, slack_stub, clock)
    execution_id = start_in_slack(services, simulator, ExecutionType.DRILL, cleanup_after_minutes=30)
    run_until_done(services, clock, execution_id)
    execution = services.store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.COMPLETED
    assert execution.cleanup is not None and not execution.cleanup.pending

    (report,) = reports(slack_stub)
    texts = [c.args["text"] for c in replies(slack_stub)]
    # after the result and after the cleanup 30 minutes later, never in the channel itself
    assert texts.index(report.args["text"]) == len(texts) - 1
    assert any("Cleanup done" in t for t in texts[:-1])
    assert not report.args.get("reply_broadcast")
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and report.args["thread_ts"] == slack.thread_ts
    assert "Evidence report: drill of DR COMPLETED, 7/7 servers launched" in report.args["text"]
    blocks = str(report.args["blocks"])
    assert "db-primary-01" in blocks and "all terminated" in blocks and "point in time" in blocks
    assert slack.reported
    assert slack_stub.violations == []

    # a redelivery, and a fresh notifier (another process) reading the thread's state, post nothing
    before = len(slack_stub.calls())
    services.notifier.deliver(execution, execution.events)
    notifier(services, slack_stub, clock).deliver(execution, execution.events)
    assert len(slack_stub.calls()) == before


def test_a_recovery_reports_at_its_end_after_the_broadcast_result(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    services = sqlite_services
    services.notifier = notifier(services, slack_stub, clock)
    simulator.fail_servers(["app-orders-02"])
    execution_id = start_in_slack(services, simulator, ExecutionType.RECOVERY)
    run_until_done(services, clock, execution_id)
    assert services.store.get_execution(execution_id).status == ExecutionStatus.FAILED

    texts = [c.args["text"] for c in replies(slack_stub)]
    (broadcast,) = [c for c in replies(slack_stub) if c.args.get("reply_broadcast")]
    (report,) = reports(slack_stub)
    assert texts.index(report.args["text"]) == texts.index(broadcast.args["text"]) + 1 == len(texts) - 1
    assert "recovery of DR FAILED" in report.args["text"]
    assert "app-orders-02" in str(report.args["blocks"])
    assert slack_stub.violations == []


def _finished_recovery(services: Any, simulator: Any, clock: Any) -> Any:
    """A recovery run to its end with nobody in Slack, then given a thread that told everything up
    to its end: the state a notifier leaves when the result went out and the report did not."""
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.RECOVERY)
    run_until_done(services, clock, execution_id)
    execution = services.store.get_execution(execution_id)
    closing = closing_event(execution)
    assert closing is not None and closing.type == EventType.COMPLETED
    last = execution.events[-1].seq
    thread = SlackThread(channel=CHANNEL, thread_ts=ROOT_TS, posted_through=last, shown_through=last)
    services.store.modify_record(SLACK_THREADS, execution_id, lambda _: thread)
    return execution


def test_a_rate_limit_delays_the_report_and_it_is_posted_once(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    services = sqlite_services
    execution = _finished_recovery(services, simulator, clock)
    slack_stub.rate_limit("chat.postMessage", retry_after=5)
    first = notifier(services, slack_stub, clock)

    with pytest.raises(SlackUnavailable):
        first.deliver(execution, execution.events[-1:])
    (refused,) = slack_stub.calls("chat.postMessage")
    assert refused.args["text"].startswith("Evidence report:") and refused.args["thread_ts"] == ROOT_TS
    with pytest.raises(SlackUnavailable):  # Retry-After not yet over: Slack is not even asked
        first.deliver(execution, execution.events[-1:])
    assert len(slack_stub.calls("chat.postMessage")) == 1
    kept = services.store.get_execution(execution.execution_id)
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and not slack.reported

    clock.advance(5)
    first.deliver(kept, kept.events[-1:])
    kept = services.store.get_execution(execution.execution_id)
    notifier(services, slack_stub, clock).deliver(kept, kept.events[-1:])  # another process, later
    posted = slack_stub.calls("chat.postMessage")
    assert len(posted) == 2 and posted[1].args["text"] == refused.args["text"]
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and slack.reported
    assert slack_stub.violations == []


def test_a_report_slack_refuses_for_good_is_not_retried(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    services = sqlite_services
    execution = _finished_recovery(services, simulator, clock)
    slack_stub.fail("chat.postMessage", "not_in_channel")
    notifier(services, slack_stub, clock).deliver(execution, execution.events[-1:])
    slack = thread_of(services.store, execution.execution_id)
    assert slack is not None and slack.reported
    notifier(services, slack_stub, clock).deliver(execution, execution.events[-1:])
    assert len(slack_stub.calls("chat.postMessage")) == 1
