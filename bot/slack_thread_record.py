"""An execution's Slack thread: where it lives and what drbot already posted there, kept by bot/ in
its own record beside the execution (a side record of the Store port, `RecordKind`, keyed by the
execution id), never on the execution itself: the domain knows no Slack (docs/architecture.md).

Each Lambda invocation is a fresh process, so what the Slack notifier posted is kept here, read and
written with the store's version check (`save_thread`): a delivery offered twice never posts twice
(docs/slack.md).

Where a run is posted: `/dr plan run` in Slack records the thread of the command's channel; a
scheduled drill's run is posted in its schedule's channel, looked up by the notifier on the first
delivery of the run (`thread_for`), so the domain carries no destination at all.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import Field

from orchestration.context import Services
from orchestration.errors import Conflict, NotFound, StaleVersion
from orchestration.models import EpochSeconds, Execution, WireModel
from orchestration.store import Store
from orchestration.store.base import RecordKind

# how many times a save is read again and re-applied when another writer saved first
_ATTEMPTS = 5


class SlackThread(WireModel):
    """Where an execution's Slack thread lives, and what the Slack notifier already did there."""

    channel: str
    thread_ts: str | None = None  # the root message
    progress_ts: str | None = None  # the message showing the live summary (default: the root)
    permalink: str | None = None  # a link to the root message
    approval_channel: str | None = None  # the approvals channel's copy of the request …
    approval_ts: str | None = None  # … and its ts
    posted_through: int = Field(default=0, ge=0)  # last event seq handled in the thread
    shown_through: int = Field(default=0, ge=0)  # last event seq the live summary shows
    updated_at: EpochSeconds | None = None  # when the live summary was last refreshed
    reported: bool = False  # the evidence report was posted in the thread (or refused for good)
    version: int = Field(default=1, ge=1)  # the store's version check (set by the store)


SLACK_THREADS: RecordKind[SlackThread] = RecordKind("slack_thread", "Slack thread", SlackThread)


def thread_of(store: Store, execution_id: str) -> SlackThread | None:
    """The execution's Slack thread, or None: it has none (yet)."""
    return store.get_record(SLACK_THREADS, execution_id)


def save_thread(
    services: Services, execution_id: str, change: Callable[[SlackThread | None], SlackThread | None]
) -> SlackThread | None:
    """Save `change(thread)` as the execution's Slack thread (None: no thread yet; returning None or
    the thread given saves nothing), re-read and re-applied when another writer saved first. Returns
    the thread as saved."""

    def changed(current: SlackThread | None) -> SlackThread | None:
        thread = change(current)
        return current if thread is None or thread == current else thread

    try:
        return services.store.modify_record(SLACK_THREADS, execution_id, changed, attempts=_ATTEMPTS)
    except StaleVersion as stale:
        raise Conflict(
            f"Execution {execution_id} kept changing while its Slack thread was being saved; try again.",
            executionId=execution_id,
        ) from stale


def open_thread(services: Services, execution_id: str, channel: str) -> SlackThread | None:
    """Record that the execution is posted in `channel` (its root not posted yet), unless it already
    has a thread."""
    return save_thread(services, execution_id, lambda current: current or SlackThread(channel=channel))


def thread_for(services: Services, execution: Execution) -> SlackThread | None:
    """The execution's thread; for a scheduled drill's run that has none yet, the thread of its
    schedule's channel, recorded now (None: the schedule names no channel, or is gone)."""
    thread = thread_of(services.store, execution.execution_id)
    if thread is not None or execution.schedule_id is None:
        return thread
    try:
        schedule = services.store.get_schedule(execution.schedule_id)
    except NotFound:
        return None
    if not schedule.channel:
        return None
    return open_thread(services, execution.execution_id, schedule.channel)
