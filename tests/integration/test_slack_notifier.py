"""The Slack notifier driven by the engine on the DRS simulator, against the loopback Slack stub:
a live root summary (throttled chat.update), thread replies per wave, the final broadcast, dedupe,
and a 429 that delays one message but never the drill."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient

from bot.slack_notifier import SlackNotifier
from bot.slack_thread_record import SLACK_THREADS, SlackThread
from orchestration.engine.advance import advance
from orchestration.models import EventType, ExecutionEvent, ExecutionStatus
from tests.drills import run_until_done, start, three_tier_plan
from tests.slack_stub import RecordedCall, SlackStub

CHANNEL = "C0DRILLS"


@pytest.fixture
def slack_engine(sqlite_services: Any, slack_stub: SlackStub, clock: Any) -> Any:
    client = WebClient(base_url=slack_stub.api_url, token="xoxb-test")
    sqlite_services.notifier = SlackNotifier(client, clock, services=sqlite_services)
    return sqlite_services


def start_in_slack(services: Any, simulator: Any, **wave_options: Any) -> str:
    execution_id = start(services, three_tier_plan(services, simulator, **wave_options))
    services.store.modify_record(SLACK_THREADS, execution_id, lambda _: SlackThread(channel=CHANNEL))
    return execution_id


def posts(stub: SlackStub) -> list[RecordedCall]:
    return stub.calls("chat.postMessage")


def replies(stub: SlackStub) -> list[RecordedCall]:
    return [c for c in posts(stub) if c.args.get("thread_ts")]


def test_drill_is_told_in_one_thread(
    slack_engine: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    execution_id = start_in_slack(slack_engine, simulator)
    run_until_done(slack_engine, clock, execution_id)
    execution = slack_engine.store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.COMPLETED
    assert execution.notified_through == execution.events[-1].seq

    roots = [c for c in posts(slack_stub) if not c.args.get("thread_ts")]
    assert len(roots) == 1 and roots[0].args["channel"] == CHANNEL
    root_ts = slack_engine.notifier.root_ts(execution_id)
    assert root_ts is not None
    assert all(c.args["thread_ts"] == root_ts and c.args["channel"] == CHANNEL for c in replies(slack_stub))

    texts = [c.args["text"] for c in replies(slack_stub)]
    for event in execution.events:
        if event.type in (EventType.WAVE_LAUNCHED, EventType.WAVE_COMPLETED):
            assert sum(event.message in t for t in texts) == 1, event.message
        if event.type == EventType.WAVE_PROGRESS:
            assert not any(event.message in t for t in texts)
    launched = [t for t in texts if "launch" in t.lower() and "Wave" in t]
    assert len(launched) >= 3

    broadcasts = [c for c in replies(slack_stub) if c.args.get("reply_broadcast")]
    assert len(broadcasts) == 1
    assert "Drill completed after" in broadcasts[0].args["text"]

    updates = slack_stub.calls("chat.update")
    # every event makes the root stale; refreshes are throttled (the end always refreshes)
    assert 1 <= len(updates) < len(execution.events)
    assert all(u.args["ts"] == root_ts and u.args["channel"] == CHANNEL for u in updates)
    assert "COMPLETED" in updates[-1].args["text"]
    assert slack_stub.violations == []

    # a redelivery of everything posts nothing again
    before = len(slack_stub.calls())
    slack_engine.notifier.deliver(execution, execution.events)
    assert len(slack_stub.calls()) == before


def test_progress_events_update_the_root_at_most_once_per_interval(
    slack_engine: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    execution_id = start_in_slack(slack_engine, simulator)
    advance(slack_engine, execution_id)  # root posted, wave 1 launching
    execution = slack_engine.store.get_execution(execution_id)
    updates_before = len(slack_stub.calls("chat.update"))
    replies_before = len(replies(slack_stub))
    seq = execution.events[-1].seq
    progress = []
    for second in range(20):  # a progress event every second for 20 seconds
        clock.advance(1)
        seq += 1
        event = ExecutionEvent(
            seq=seq,
            at=int(clock.now()),
            type=EventType.WAVE_PROGRESS,
            message=f"Wave 1 (Database): {second % 2} of 2 server(s) launched",
            wave_number=1,
        )
        progress.append(event)
        slack_engine.notifier.deliver(execution, [event])
    updates = len(slack_stub.calls("chat.update")) - updates_before
    assert 1 <= updates <= 20 // 5 < len(progress)
    assert len(replies(slack_stub)) == replies_before  # progress is never a thread reply
    assert slack_stub.violations == []


def test_throttle_bounds_root_updates(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    client = WebClient(base_url=slack_stub.api_url, token="xoxb-test")
    sqlite_services.notifier = SlackNotifier(client, clock, min_update_seconds=3600, services=sqlite_services)
    execution_id = start_in_slack(sqlite_services, simulator)
    run_until_done(sqlite_services, clock, execution_id)
    updates = slack_stub.calls("chat.update")
    # nothing but the end (completion, then cleanup) may refresh the root within an hour
    assert len(updates) <= 2
    assert "COMPLETED" in updates[-1].args["text"]
    assert slack_stub.violations == []


def test_failed_wave_names_its_servers_and_the_failure_is_broadcast(
    slack_engine: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    simulator.fail_servers(["app-orders-02"])
    execution_id = start_in_slack(slack_engine, simulator)
    run_until_done(slack_engine, clock, execution_id)
    assert slack_engine.store.get_execution(execution_id).status == ExecutionStatus.FAILED
    failed = [c for c in replies(slack_stub) if "Wave 2" in c.args["text"] and "failed" in c.args["text"]]
    assert len(failed) == 1 and "app-orders-02" in failed[0].args["text"]
    assert "app-orders-02" in str(failed[0].args["blocks"])
    (broadcast,) = [c for c in replies(slack_stub) if c.args.get("reply_broadcast")]
    assert "Drill failed after" in broadcast.args["text"]
    assert slack_stub.violations == []


def test_rate_limit_delays_one_message_never_the_drill(
    slack_engine: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    execution_id = start_in_slack(slack_engine, simulator)
    advance(slack_engine, execution_id)  # root posted, wave 1 launched
    assert len(posts(slack_stub)) >= 2
    first_refused = len(posts(slack_stub))
    slack_stub.rate_limit("chat.postMessage", retry_after=1)

    refused_seq = None
    refused_tick_progressed = False
    for _ in range(400):
        before = slack_engine.store.get_execution(execution_id)
        result = advance(slack_engine, execution_id)
        after = slack_engine.store.get_execution(execution_id)
        if refused_seq is None and len(posts(slack_stub)) > first_refused:
            refused = posts(slack_stub)[first_refused]
            (event,) = [e for e in after.events if e.message in refused.args["text"]]
            refused_seq = event.seq
            # that tick kept the event for later, and the drill moved on regardless
            assert after.notified_through < refused_seq
            refused_tick_progressed = after.events[-1].seq > before.events[-1].seq or (
                [w.status for w in after.waves] != [w.status for w in before.waves]
            )
        if result.done:
            break
        clock.advance(result.wait_seconds)
    execution = slack_engine.store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.COMPLETED
    assert refused_seq is not None and refused_tick_progressed
    assert execution.notified_through == execution.events[-1].seq

    refused = posts(slack_stub)[first_refused]
    again = [c for c in posts(slack_stub)[first_refused + 1 :] if c.args["text"] == refused.args["text"]]
    assert len(again) == 1  # delivered once, on a later tick
    # every other message went out once: no duplicates from the redelivery
    texts = [c.args["text"] for c in replies(slack_stub)]
    assert len(texts) - 1 == len(set(texts))
    broadcasts = [c for c in replies(slack_stub) if c.args.get("reply_broadcast")]
    assert len(broadcasts) == 1
    assert slack_stub.violations == []


def test_executions_without_a_slack_thread_are_ignored(
    slack_engine: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    execution_id = start(slack_engine, three_tier_plan(slack_engine, simulator))
    run_until_done(slack_engine, clock, execution_id)
    assert slack_engine.store.get_execution(execution_id).status == ExecutionStatus.COMPLETED
    assert slack_stub.calls() == []
