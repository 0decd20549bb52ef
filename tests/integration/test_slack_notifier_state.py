"""The Slack notifier as each Lambda invocation has it: a new notifier (no memory) for every engine
tick, its state read back from its Slack thread record. A whole drill must read exactly as with one notifier:
one root, each reply once, the throttle honoured across invocations."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.slack_notifier import REPLY_ICONS, SlackNotifier
from bot.slack_thread_record import SLACK_THREADS, SlackThread, thread_of
from orchestration.engine.advance import advance
from orchestration.models import EventType, ExecutionStatus
from tests.drills import start, three_tier_plan
from tests.slack_stub import SlackStub

CHANNEL = "C0DRILLS"


def test_a_drill_told_by_a_fresh_notifier_every_tick_posts_each_message_once(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    services = sqlite_services
    execution_id = start(services, three_tier_plan(services, simulator))
    services.store.modify_record(SLACK_THREADS, execution_id, lambda _: SlackThread(channel=CHANNEL))
    client = WebClient(base_url=slack_stub.api_url, token="xoxb-test")

    for _ in range(400):
        services.notifier = SlackNotifier(client, clock, min_update_seconds=30, services=services)
        result = advance(services, execution_id)
        if result.done:
            break
        clock.advance(result.wait_seconds)
    else:
        raise AssertionError("the drill did not finish")

    execution = services.store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.COMPLETED
    assert execution.notified_through == execution.events[-1].seq
    posts = slack_stub.calls("chat.postMessage")
    roots = [c for c in posts if not c.args.get("thread_ts")]
    assert len(roots) == 1
    slack = thread_of(services.store, execution_id)
    assert slack is not None and slack.thread_ts is not None
    replies = [c.args["text"] for c in posts if c.args.get("thread_ts")]
    told = [e for e in execution.events if e.type in REPLY_ICONS]
    assert len(replies) == len(told) + 1  # and the evidence report, once, last
    assert replies[-1].startswith("Evidence report:") and slack.reported
    for event in told:
        assert sum(event.message in text for text in replies) == 1, event.message
    # the throttle held across invocations: refreshes at least 30 s apart unless forced by the end
    updates = slack_stub.calls("chat.update")
    assert 1 <= len(updates) < len(execution.events)
    assert "COMPLETED" in updates[-1].args["text"]
    assert slack.shown_through == slack.posted_through == execution.events[-1].seq
    assert slack_stub.violations == []


def test_two_invocations_posting_the_first_root_keep_one_thread(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any
) -> None:
    services = sqlite_services
    execution_id = start(services, three_tier_plan(services, simulator))
    services.store.modify_record(SLACK_THREADS, execution_id, lambda _: SlackThread(channel=CHANNEL))
    theirs = "1767225600.000001"

    class TheirRootFirst(WebClient):
        """Slack takes our root just after another invocation, delivering the same first events,
        posted and recorded its own (after we read the thread without a root)."""

        def api_call(self, api_method: str, **kwargs: Any) -> Any:
            if api_method == "chat.postMessage" and "thread_ts" not in kwargs.get("json", {}):
                services.store.modify_record(
                    SLACK_THREADS,
                    execution_id,
                    lambda thread: thread and thread.model_copy(update={"thread_ts": theirs}),
                )
            return super().api_call(api_method, **kwargs)

    client = TheirRootFirst(base_url=slack_stub.api_url, token="xoxb-test")
    notifier = SlackNotifier(client, clock, services=services)
    execution = services.store.get_execution(execution_id)
    launched = execution.with_event(EventType.WAVE_LAUNCHED, int(clock.now()), "Wave 1 (Database) launching")

    notifier.deliver(launched, launched.events)

    (ours, reply) = slack_stub.calls("chat.postMessage")
    assert "thread_ts" not in ours.args
    (deleted,) = slack_stub.calls("chat.delete")
    assert deleted.args["channel"] == CHANNEL and deleted.args["ts"] != theirs
    assert reply.args["thread_ts"] == theirs
    assert notifier.root_ts(execution_id) == theirs
    kept = thread_of(services.store, execution_id)
    assert kept is not None and kept.thread_ts == theirs
    assert slack_stub.violations == []
