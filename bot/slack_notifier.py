"""Execution events in Slack: a live summary at the root of the execution's thread, replies in it.
One piece, longer than most modules: the one writer of a run's messages and its outbox.

The Notifier port (orchestration/ports.py) for executions that have a Slack thread (their record,
bot/slack_thread_record.py: `/dr plan run`'s channel, or a scheduled drill's schedule's channel):

- the root message shows the live summary (`build_execution_summary`); when the run request did not
  post one (`slack.thread_ts` is None) the first delivery posts it and the notifier remembers its ts
  (two invocations posting it at once: the root recorded first is the thread, the other is deleted);
- every new event makes the root stale: it is refreshed with chat.update at most once per
  `min_update_seconds` per execution, except when the execution ends (always refreshed);
- wave launches, completions and failures (naming the failed servers and their errors), pause,
  resume, cancel requests and cleanup are thread replies; WAVE_PROGRESS only refreshes the root;
- COMPLETED / FAILED / CANCELLED are thread replies broadcast to the channel (`reply_broadcast`);
- once the record is final — a drill's cleanup ended (or it had nothing to clean up), a recovery
  ended — the evidence report (bot/views/report.py) is one more reply, posted once
  (`slack.reported`).

A request still awaiting approval may have a copy in the approvals channel
(`slack.approval_channel`/`approval_ts`): APPROVED, REJECTED and EXPIRED update it too.

Events arrive at least once and in order; the notifier remembers, per execution, the last event it
handled, so a redelivery never posts twice. Each Lambda invocation is a fresh process, so what it
remembers — the root's ts, the last event handled, the last event the summary shows and when it was
refreshed (the throttle) — is also kept in the execution's Slack thread record once `bind(services)`
gave it the store, with a version-checked write of that record alone. Unbound, the notifier knows
no thread and posts nothing.

Deliveries are queued and posted off the engine's thread (docs/slack.md): by a background worker in
long-lived processes (`delivery="background"`: `drbot serve`, the console), at the end of each
Lambda invocation (`"deferred"`: `flush()`, bounded; what cannot go is given back to the record, so
the engine offers it again), or at once by the caller (`"inline"`, the default). Queued, a 429 is
waited exactly Retry-After and retried (bot/slack_retry.py), and a Slack outage (HTTP 5xx, no
connection) keeps the work at the head of the queue: order is kept. Inline, the notifier never
sleeps: Slack rate-limiting or an outage raises and the engine offers the events again on its next
tick; after a 429 that method is not called again until Retry-After has passed. Permanent refusals
(channel_not_found, not_in_channel, …) are logged and the message is dropped — retrying them would
change nothing.

Clicks' updates of the root or the copy go through the same writer (`update_message`): rendered at
send time from the newest record, so a click never puts an older state back on screen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app_home import HomePublisher
from bot.slack_api import api_base_url
from bot.slack_files import share_file
from bot.slack_retry import ExactRateLimitRetry, with_exact_rate_limits
from bot.slack_retry import retry_after as slack_retry_after
from bot.slack_secrets import bot_client
from bot.slack_thread_record import SlackThread, save_thread, thread_for, thread_of
from bot.views.common import MAX_BLOCKS_PER_MESSAGE, context, escape, section
from bot.views.message import Message
from orchestration.clock import Clock
from orchestration.config import Settings
from orchestration.context import Services
from orchestration.models import ArchiveStatus, EventType, Execution, ExecutionEvent, LaunchStatus
from orchestration.ports import CompositeNotifier, defer_until_flushed
from orchestration.services.closing import closing_event

if TYPE_CHECKING:
    from orchestration.services.report import EvidenceReport

# what changes someone's App Home (what needs them, what runs): after these, their Home is refreshed
HOME_EVENTS = frozenset(
    {
        EventType.REQUESTED,
        EventType.APPROVED,
        EventType.REJECTED,
        EventType.EXPIRED,
        EventType.STARTED,
        EventType.WAVE_COMPLETED,
        EventType.WAVE_FAILED,
        EventType.PAUSED,
        EventType.RESUMED,
        EventType.CANCEL_REQUESTED,
        EventType.CANCELLED,
        EventType.COMPLETED,
        EventType.FAILED,
    }
)

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_SECONDS = 1.0
MAX_FAILED_SERVERS_LISTED = 20
# the delivery worker's pause after Slack was down (5xx, no connection), doubling up to the maximum
OUTAGE_RETRY_SECONDS = 1.0
MAX_OUTAGE_RETRY_SECONDS = 30.0
# how long a Lambda invocation waits for its deliveries at its end (see `flush`)
FLUSH_SECONDS = 5.0

# inline: deliver() posts at once and raises when Slack did not take it (the engine offers the
# events again); background: a worker thread posts, deliver() returns at once; deferred: deliver()
# queues and `flush()` posts (a Lambda invocation, at its end)
Delivery = Literal["inline", "background", "deferred"]

_T = EventType
# events that are thread replies (the rest only refresh the root)
REPLY_ICONS: dict[EventType, str] = {
    _T.WAVE_LAUNCHED: ":rocket:",
    _T.WAVE_COMPLETED: ":white_check_mark:",
    _T.WAVE_FAILED: ":x:",
    _T.PAUSED: ":double_vertical_bar:",
    _T.RESUMED: ":arrow_forward:",
    _T.CANCEL_REQUESTED: ":black_square_for_stop:",
    _T.CLEANUP_SCHEDULED: ":broom:",
    _T.CLEANUP_STARTED: ":broom:",
    _T.CLEANUP_COMPLETED: ":broom:",
    _T.CLEANUP_FAILED: ":warning:",
    _T.COMPLETED: ":white_check_mark:",
    _T.FAILED: ":x:",
    _T.CANCELLED: ":black_square_for_stop:",
    _T.ARCHIVE_FAILED: ":warning:",
    _T.ARCHIVED: ":lock:",
    _T.ARCHIVE_DIFFERS: ":warning:",
}
# the final result: a thread reply also shown in the channel
BROADCAST = frozenset({_T.COMPLETED, _T.FAILED, _T.CANCELLED})
# the root is refreshed at once, whatever the throttle says
FORCE_UPDATE = frozenset(
    {
        _T.APPROVED,
        _T.COMPLETED,
        _T.FAILED,
        _T.CANCELLED,
        _T.REJECTED,
        _T.EXPIRED,
        _T.CLEANUP_COMPLETED,
        _T.CLEANUP_FAILED,
    }
)
# the approvals channel's copy of a request is updated on these
COPY_UPDATES = frozenset({_T.APPROVED, _T.REJECTED, _T.EXPIRED})


class SlackUnavailable(Exception):
    """Slack did not take a message now (rate-limited or down): the events are offered again later."""

    def __init__(self, method: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"{method}: {reason}" + (f" (retry after {retry_after:g}s)" if retry_after else ""))
        self.method = method
        self.retry_after = retry_after


@dataclass
class _Thread:
    """What the notifier knows of one execution's Slack thread (merged with its record)."""

    root_ts: str | None = None  # the root message
    handled_through: int = 0  # last event seq posted (or deliberately not posted)
    shown_through: int = 0  # last event seq the live summary shows
    last_update: float | None = None  # when the root last showed the live summary
    disabled: bool = False  # the root could not be posted for good (e.g. channel_not_found)
    reported: bool = False  # the evidence report was posted (or refused for good)
    root_message: Message | None = None  # the run request to post as the root (posted late)
    shown_status: str | None = None  # the status the root shows, when this process updated it

    def absorb(self, slack: SlackThread) -> None:
        """Take in what an earlier process kept in the record."""
        self.root_ts = self.root_ts or slack.thread_ts
        self.handled_through = max(self.handled_through, slack.posted_through)
        self.shown_through = max(self.shown_through, slack.shown_through)
        self.reported = self.reported or slack.reported
        if slack.updated_at is not None:
            self.last_update = max(self.last_update or 0.0, float(slack.updated_at))

    def delivered_through(self, execution: Execution) -> int:
        """The last event whose messages all went: replied, shown in the summary, reported."""
        if self.root_ts is None:
            return 0
        through = min(self.handled_through, self.shown_through)
        closing = closing_event(execution)
        if not self.reported and closing is not None and closing.seq <= through:
            through = closing.seq - 1
        return through

    def kept(self, slack: SlackThread) -> SlackThread:
        """`slack` with what this process learnt (never going back)."""
        updated_at = slack.updated_at
        if self.last_update is not None:
            updated_at = max(updated_at or 0, int(self.last_update))
        return slack.model_copy(
            update={
                "thread_ts": slack.thread_ts or self.root_ts,
                "posted_through": max(slack.posted_through, self.handled_through),
                "shown_through": max(slack.shown_through, self.shown_through),
                "updated_at": updated_at,
                "reported": slack.reported or self.reported,
            }
        )


@dataclass
class _Update:
    """A click's update of a message the notifier also writes (the run's root or its copy)."""

    channel: str
    ts: str
    message: Message  # what the click shows
    seq: int  # the last event `message` reflects
    on_failed: Callable[[], None] | None = None  # tell the clicker privately that it counted


@dataclass
class _Pending:
    """What is queued for one execution: its newest known state, the events handed over, the
    clicks' updates (one per message, the newest)."""

    execution: Execution
    events: dict[int, ExecutionEvent] = field(default_factory=dict)
    updates: dict[tuple[str, str], _Update] = field(default_factory=dict)

    def merge(self, newer: _Pending) -> None:
        if newer.execution.version >= self.execution.version:
            self.execution = newer.execution
        self.events.update(newer.events)
        self.updates.update(newer.updates)


class SlackNotifier:
    """The Notifier port for Slack threads; see the module docstring."""

    def __init__(
        self,
        client: WebClient,
        clock: Clock,
        min_update_seconds: float = 5.0,
        services: Services | None = None,
        *,
        delivery: Delivery = "inline",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.clock = clock
        self.min_update_seconds = min_update_seconds
        self.delivery: Delivery = delivery
        self._services = services
        # the App Homes to refresh after a change (bot/app_home.py); None: none are
        self.home: HomePublisher | None = None
        self._threads: dict[str, _Thread] = {}
        self._blocked_until: dict[str, float] = {}  # method -> end of its Retry-After (inline)
        self._lock = threading.RLock()  # one writer of the messages at a time, in order
        # the outbox (background and deferred): per execution, oldest first
        self._rate_limits = ExactRateLimitRetry(sleep, default=DEFAULT_RETRY_AFTER_SECONDS)
        self._retrying = with_exact_rate_limits(client, self._rate_limits)
        self._queue: OrderedDict[str, _Pending] = OrderedDict()
        self._changed = threading.Condition()
        self._busy: str | None = None  # the execution the worker is delivering now
        self._retry_at: float | None = None  # monotonic time of the next try after an outage
        self._outage_wait = 0.0
        self._kicked = False  # retry_now() while a try was under way
        self._stopping = False
        self._worker: threading.Thread | None = None
        if delivery == "deferred":
            defer_until_flushed(self)  # flushed when the Lambda invocation ends
        if delivery == "background":
            self._worker = threading.Thread(target=self._work_loop, name="slack-deliveries", daemon=True)
            self._worker.start()

    def bind(self, services: Services) -> SlackNotifier:
        """Keep each thread's state on the executions of `services` (see the module docstring);
        the functions that drive runs on AWS also refresh the App Homes a change concerns."""
        self._services = services
        if self.home is None and self.delivery == "deferred":
            self.home = HomePublisher(self.client, services)
        return self

    def root_ts(self, execution_id: str) -> str | None:
        """The ts of the root message this notifier posted for an execution (None: not posted)."""
        with self._lock:
            thread = self._threads.get(execution_id)
            return thread.root_ts if thread else None

    # -- the port ----------------------------------------------------------------------------------

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None:
        if self._services is None:  # no store: no thread to post in
            return
        if self.delivery != "inline":  # the worker (or the flush) posts; the engine goes on
            self._enqueue(execution.execution_id, _Pending(execution, {e.seq: e for e in events}))
            return
        self._deliver_now(execution, events, self.client)

    def _deliver_now(
        self,
        execution: Execution,
        events: Sequence[ExecutionEvent],
        client: WebClient,
        shown: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        """Post what `events` (and, queued, the record's newer events) call for; raises
        SlackUnavailable when Slack did not take it (what was posted is kept)."""
        slack = self._thread_for(execution)
        if slack is None:
            return
        with self._lock:
            thread = self._threads.setdefault(execution.execution_id, _Thread())
            if thread.disabled:
                return
            thread.absorb(slack)
            offered = events
            if self.delivery != "inline":  # the newest record: whatever it has beyond the thread
                offered = list({e.seq: e for e in [*execution.events, *events]}.values())
            fresh = [e for e in sorted(offered, key=lambda e: e.seq) if e.seq > thread.handled_through]
            if (
                not fresh
                and thread.shown_through >= thread.handled_through
                and not _report_due(execution, thread)
            ):
                return
            try:
                self._deliver(execution, slack, thread, fresh, offered, client=client, shown=shown)
            finally:  # what was posted stays posted, even when Slack refused the rest for now
                self._keep(execution.execution_id, thread)
        if self.home is not None and any(e.type in HOME_EVENTS for e in fresh):
            self.home.refresh_for(execution)  # outside the lock: best effort, logged when refused

    def _deliver(
        self,
        execution: Execution,
        slack: SlackThread,
        thread: _Thread,
        fresh: list[ExecutionEvent],
        events: Sequence[ExecutionEvent],
        *,
        client: WebClient,
        shown: frozenset[tuple[str, str]],
    ) -> None:
        root = thread.root_ts
        if root is None:
            root = self._post_root(execution, slack, thread, client)
            if root is None:
                return
        for event in fresh:
            if event.type in REPLY_ICONS:
                self._reply(execution, slack.channel, root, event, client)
            if event.type in COPY_UPDATES and (slack.approval_channel, slack.approval_ts) not in shown:
                self._update_copy(execution, slack, client)
            thread.handled_through = event.seq
        if _report_due(execution, thread):
            self._post_report(execution, slack.channel, root, thread, client)
        every = {e.seq: e for e in [*execution.events, *events]}
        forced = any(e.type in FORCE_UPDATE for seq, e in every.items() if seq > thread.shown_through)
        progress = slack.progress_ts or root
        if (slack.channel, progress) in shown:  # a click's update just showed the newest state
            thread.last_update = self.clock.now()
            thread.shown_through = thread.handled_through
            thread.shown_status = execution.status
            return
        self._refresh(execution, slack.channel, progress, thread, forced, client)

    def _thread_for(self, execution: Execution) -> SlackThread | None:
        """The execution's Slack thread record (a scheduled run's is opened in its schedule's
        channel on its first delivery); None: it has none, or the notifier is unbound."""
        if self._services is None:
            return None
        return thread_for(self._services, execution)

    def _record(self, execution_id: str) -> SlackThread | None:
        """The execution's Slack thread record as stored (None: none, unbound or unreadable)."""
        if self._services is None:
            return None
        try:
            return thread_of(self._services.store, execution_id)
        except Exception:  # what this process knows is all it has
            logger.warning(
                "could not read the Slack thread", extra={"execution_id": execution_id}, exc_info=True
            )
            return None

    def _keep(self, execution_id: str, thread: _Thread) -> None:
        """Save the thread's state in its record when it moved (no-op when unbound)."""
        if self._services is None:
            return
        try:
            save_thread(self._services, execution_id, lambda kept: thread.kept(kept) if kept else None)
        except Exception:  # this process still remembers; only a later process could post twice
            logger.warning(
                "could not keep the Slack thread state", extra={"execution_id": execution_id}, exc_info=True
            )

    # -- the messages ------------------------------------------------------------------------------

    def _post_root(
        self, execution: Execution, slack: SlackThread, thread: _Thread, client: WebClient
    ) -> str | None:
        message = thread.root_message or _summary(execution, self._now())
        answer = self._call(
            client,
            "chat.postMessage",
            channel=slack.channel,
            text=message.text,
            blocks=message.block_dicts(),
        )
        if answer is None:
            thread.disabled = True
            return None
        thread.root_ts = self._adopt_first_root(execution, slack.channel, str(answer["ts"]), client)
        thread.last_update = self.clock.now()
        thread.shown_through = max(thread.shown_through, max((e.seq for e in execution.events), default=0))
        return thread.root_ts

    def _adopt_first_root(self, execution: Execution, channel: str, posted: str, client: WebClient) -> str:
        """Record the root just posted; if another process recorded one first (two invocations
        delivering the same first events), delete ours and use theirs: one thread per execution."""
        if self._services is None:
            return posted

        def first_root(current: SlackThread | None) -> SlackThread | None:
            if current is None:
                return None
            return current.model_copy(update={"thread_ts": current.thread_ts or posted})

        try:
            saved = save_thread(self._services, execution.execution_id, first_root)
        except Exception:  # kept later by _keep, or posted again by a later process: logged, not fatal
            logger.warning(
                "could not record the root", extra={"execution_id": execution.execution_id}, exc_info=True
            )
            return posted
        winner = saved.thread_ts if saved else None
        if winner is None or winner == posted:
            return posted
        try:
            self._call(client, "chat.delete", channel=channel, ts=posted)
        except SlackUnavailable:  # a second root stays visible; the thread is still the first one
            logger.warning("could not delete a second root", extra={"execution_id": execution.execution_id})
        return winner

    def _reply(
        self, execution: Execution, channel: str, root: str, event: ExecutionEvent, client: WebClient
    ) -> None:
        message = reply_message(execution, event)
        arguments: dict[str, Any] = {
            "channel": channel,
            "thread_ts": root,
            "text": message.text,
            "blocks": message.block_dicts(),
        }
        if event.type in BROADCAST:
            arguments["reply_broadcast"] = True
        self._call(client, "chat.postMessage", **arguments)
        if event.type == EventType.ARCHIVED:  # archived on a retry: the archived copy joins the thread
            self._share_report(execution, channel, root, client, None)

    def _post_report(
        self, execution: Execution, channel: str, root: str, thread: _Thread, client: WebClient
    ) -> None:
        """The evidence report, as a reply in the thread (not broadcast: the result was). The
        report's modules are imported here: only the notification that closes a record needs them."""
        from bot.views.archive import archive_text
        from bot.views.report import build_report_message
        from orchestration.services.report import evidence_report, plan_of

        if self._services is not None:
            report = evidence_report(execution, plan_of(self._services, execution), generated_at=self._now())
        else:  # no store to look the plan up in: the report says so rather than guess
            report = evidence_report(execution, None, plan_read=False, generated_at=self._now())
        message = build_report_message(report)
        blocks = message.block_dicts()
        archive = archive_text(execution.archive, configured=self._archives())
        if len(blocks) < MAX_BLOCKS_PER_MESSAGE:
            blocks.append(context(archive).to_dict())
        self._call(
            client,
            "chat.postMessage",
            channel=channel,
            thread_ts=root,
            text=f"{message.text}\n{archive}",
            blocks=blocks,
        )
        thread.reported = True  # posted, or refused for good: never twice
        self._share_report(execution, channel, root, client, report)

    def _archives(self) -> bool:
        return self._services is not None and self._services.evidence is not None

    def _share_report(
        self,
        execution: Execution,
        channel: str,
        root: str,
        client: WebClient,
        report: EvidenceReport | None,
    ) -> None:
        """The report's Markdown as a file in the thread: the archived copy's bytes when there is
        one, else rendered from `report`. Best effort: a refusal is logged, the thread has the report."""
        from bot.views.archive import report_file
        from orchestration.services.archived_copies import archived_copy
        from orchestration.services.report_text import report_markdown

        content = None
        archived = execution.archive is not None and execution.archive.status == ArchiveStatus.ARCHIVED
        if archived and self._services is not None:
            try:
                content = archived_copy(self._services, execution.execution_id).content
            except Exception:  # unreadable now: the rendering below says it is not the archived copy
                logger.warning("could not read the archived copy", exc_info=True)
                archived = False
        if content is None:
            if report is None:
                return
            content = report_markdown(report).encode("utf-8")
        shared = report_file(execution, content, archived)
        try:
            share_file(
                client,
                channel,
                root,
                filename=shared.filename,
                content=shared.content,
                title=shared.title,
                comment=shared.comment,
            )
        except Exception:  # best effort: the report itself is in the thread
            logger.warning(
                "Slack did not take the report's file",
                extra={"execution_id": execution.execution_id},
                exc_info=True,
            )

    def _update_copy(self, execution: Execution, slack: SlackThread, client: WebClient) -> None:
        """The approvals channel's copy of the request shows what became of it."""
        if not (slack.approval_channel and slack.approval_ts):
            return
        message = _approval_copy(execution, self._now(), thread=slack)
        self._call(
            client,
            "chat.update",
            channel=slack.approval_channel,
            ts=slack.approval_ts,
            text=message.text,
            blocks=message.block_dicts(),
        )

    def _refresh(  # noqa: PLR0917 - the pieces _deliver holds
        self, execution: Execution, channel: str, ts: str, thread: _Thread, forced: bool, client: WebClient
    ) -> None:
        """chat.update the live summary if it is stale and the throttle allows (or it must)."""
        if thread.shown_through >= thread.handled_through:
            return
        now = self.clock.now()
        due = thread.last_update is None or now - thread.last_update >= self.min_update_seconds
        # the throttle spares progress counts, never a change of status (a click's "starts now"
        # must not stay on screen while the run is RUNNING)
        moved = thread.shown_status is not None and thread.shown_status != execution.status
        if not (due or forced or moved):
            return
        message = _summary(execution, int(now))
        self._call(
            client,
            "chat.update",
            channel=channel,
            ts=ts,
            text=message.text,
            blocks=message.block_dicts(),
        )
        thread.last_update = now
        thread.shown_through = thread.handled_through
        thread.shown_status = execution.status

    # -- Slack -------------------------------------------------------------------------------------

    def _call(self, client: WebClient, method: str, **arguments: Any) -> dict[str, Any] | None:
        """The answer of a Web API call; None when Slack refused it for good (logged).

        Raises SlackUnavailable when Slack is rate-limiting or down (the caller's events are kept).
        Inline, a 429 is not retried here (no sleeping in the engine's thread): the method is not
        called again until its Retry-After is over. Queued, the client's ExactRateLimitRetry has
        already waited Retry-After and retried (bot/slack_retry.py)."""
        now = self.clock.now()
        inline = client is self.client
        blocked_until = self._blocked_until.get(method) if inline else None
        if blocked_until is not None and now < blocked_until:
            raise SlackUnavailable(method, "rate-limited", blocked_until - now)
        try:
            response = client.api_call(method, json=arguments)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                retry_after = slack_retry_after(exc.response.headers, DEFAULT_RETRY_AFTER_SECONDS)
                if inline:
                    self._blocked_until[method] = now + retry_after
                raise SlackUnavailable(method, "rate-limited", retry_after) from None
            if status >= 500:
                raise SlackUnavailable(method, f"HTTP {status}") from None
            logger.warning(
                "Slack refused a message; dropped",
                extra={
                    "method": method,
                    "error": exc.response.get("error"),
                    "channel": arguments.get("channel"),
                },
            )
            return None
        except OSError as exc:  # no connection (URLError is an OSError), after slack_sdk's own retry
            raise SlackUnavailable(method, type(exc).__name__) from None
        self._blocked_until.pop(method, None)
        return dict(response.data) if isinstance(response.data, dict) else {}

    # -- a click's update of a message the notifier writes -----------------------------------------

    def owns(self, execution: Execution, channel: str, ts: str) -> bool:
        """Whether (channel, ts) is a message this notifier updates: the run's live summary (its
        root) or the approvals channel's copy."""
        slack = self._record(execution.execution_id)
        if slack is None:
            return False
        mine = {(slack.channel, slack.progress_ts or slack.thread_ts)}
        if slack.approval_channel and slack.approval_ts:
            mine.add((slack.approval_channel, slack.approval_ts))
        return (channel, ts) in mine

    def update_message(
        self,
        execution: Execution,
        channel: str,
        ts: str,
        message: Message,
        on_failed: Callable[[], None] | None = None,
    ) -> None:
        """Show a click's `message` (which reflects `execution`) on a message this notifier owns,
        through the same writer as the notifier's own updates: it is rendered at send time, and if
        the run moved on meanwhile, the run's newest state is sent instead. When Slack does not take
        it, `on_failed` is called (the clicker is told privately that the click counted)."""
        seq = max((e.seq for e in execution.events), default=0)
        update = _Update(channel, ts, message, seq, on_failed)
        if self.delivery != "inline":
            self._enqueue(execution.execution_id, _Pending(execution, updates={(channel, ts): update}))
            return
        with self._lock:  # a listener's thread, not the engine's: a Retry-After is waited here
            self._send_update(self._newest(execution), update, self._retrying)

    def post_thread(self, execution: Execution, root: Message | None = None) -> None:
        """Post the root of a run whose request Slack did not take at once (rate-limited, down) —
        `root`, the request as it was meant to be posted, else the live summary: queued, it goes
        when Slack allows; inline, it is posted here (a listener's thread, where a Retry-After may be
        waited), raising SlackUnavailable if Slack still does not take it."""
        with self._lock:
            self._threads.setdefault(execution.execution_id, _Thread()).root_message = root
        if self.delivery != "inline":
            self._enqueue(execution.execution_id, _Pending(execution, {e.seq: e for e in execution.events}))
            return
        newest = self._newest(execution)
        self._deliver_now(newest, newest.events, self._retrying)

    def _send_update(self, execution: Execution, update: _Update, client: WebClient) -> bool:
        newest = max((e.seq for e in execution.events), default=0)
        message = update.message if newest <= update.seq else self._rendering(execution, update)
        try:
            answer = self._call(
                client,
                "chat.update",
                channel=update.channel,
                ts=update.ts,
                text=message.text,
                blocks=message.block_dicts(),
            )
        except SlackUnavailable as unavailable:
            logger.warning(
                "Slack did not take a click's update",
                extra={"execution_id": execution.execution_id, "reason": str(unavailable)},
            )
            answer = None
        if answer is not None:
            slack = self._record(execution.execution_id)
            if slack is not None and (update.channel, update.ts) == (
                slack.channel,
                slack.progress_ts or slack.thread_ts,
            ):
                self._threads.setdefault(execution.execution_id, _Thread()).shown_status = execution.status
            return True
        if update.on_failed is not None:
            try:
                update.on_failed()
            except Exception:  # the response_url may be gone too: logged, nothing else to do
                logger.warning(
                    "could not tell the clicker",
                    extra={"execution_id": execution.execution_id},
                    exc_info=True,
                )
        return False

    def _rendering(self, execution: Execution, update: _Update) -> Message:
        """The message as the notifier itself shows it for `execution`."""
        slack = self._record(execution.execution_id)
        if slack is not None and (update.channel, update.ts) == (slack.approval_channel, slack.approval_ts):
            return _approval_copy(execution, self._now(), thread=slack)
        return _summary(execution, self._now())

    # -- the outbox (background and deferred) ------------------------------------------------------

    def _enqueue(self, execution_id: str, pending: _Pending) -> None:
        with self._changed:
            queued = self._queue.get(execution_id)
            if queued is None:
                self._queue[execution_id] = pending
            else:
                queued.merge(pending)
            self._changed.notify_all()

    def _requeue(self, execution_id: str, pending: _Pending) -> None:
        """Put undelivered work back at the head, merged with what came meanwhile: order is kept."""
        with self._changed:
            newer = self._queue.pop(execution_id, None)
            if newer is not None:
                pending.merge(newer)
            self._queue[execution_id] = pending
            self._queue.move_to_end(execution_id, last=False)
            self._changed.notify_all()

    def _newest(self, execution: Execution) -> Execution:
        """The execution as the store has it now (the snapshot when unbound or unreadable)."""
        if self._services is None:
            return execution
        try:
            stored = self._services.store.get_execution(execution.execution_id)
        except Exception:  # the snapshot is what we know
            logger.warning(
                "could not read the execution; using the snapshot",
                extra={"execution_id": execution.execution_id},
                exc_info=True,
            )
            return execution
        return stored if stored.version >= execution.version else execution

    def _work(self, execution_id: str, pending: _Pending) -> bool:
        """Deliver one execution's queued work (the clicks' updates first, rendered from the newest
        record, then what its events call for); False when Slack did not take it all (kept)."""
        execution = self._newest(pending.execution)
        with self._lock:
            shown = frozenset(
                key
                for key, update in pending.updates.items()
                if self._send_update(execution, update, self._retrying)
            )
            pending.updates.clear()  # sent, or the clicker was told: never twice
            try:
                self._deliver_now(execution, list(pending.events.values()), self._retrying, shown)
            except SlackUnavailable as unavailable:
                logger.warning(
                    "Slack did not take a delivery; kept for a retry",
                    extra={
                        "execution_id": execution_id,
                        "method": unavailable.method,
                        "reason": str(unavailable),
                    },
                )
                pending.execution = execution
                return False
            except Exception:  # e.g. the Slack secret has no token yet: kept, tried again
                logger.exception(
                    "Slack delivery failed; kept for a retry", extra={"execution_id": execution_id}
                )
                pending.execution = execution
                return False
        return True

    def _work_loop(self) -> None:
        """The background worker: the oldest execution's work first; after an outage, the same
        work again after a pause (doubling), so per-thread order is never broken."""
        while True:
            with self._changed:
                while True:
                    now = time.monotonic()
                    ready = self._queue and (self._retry_at is None or now >= self._retry_at)
                    if ready or (self._stopping and not self._queue):
                        break
                    if self._stopping and self._retry_at is not None:
                        return  # closing during an outage: what is left stays in the record
                    wait = None if self._retry_at is None else max(0.0, self._retry_at - now)
                    self._changed.wait(wait)
                if not self._queue:
                    return
                execution_id, pending = self._queue.popitem(last=False)
                self._busy = execution_id
            delivered = False
            try:
                delivered = self._work(execution_id, pending)
            except Exception:  # never let the worker die: the work is kept and tried again
                logger.exception("Slack delivery failed", extra={"execution_id": execution_id})
            with self._changed:
                self._busy = None
                if delivered or self._kicked:  # a retry_now() during a failing try: again at once
                    self._kicked = False
                    self._outage_wait = 0.0
                    self._retry_at = None
                else:
                    self._outage_wait = min(
                        MAX_OUTAGE_RETRY_SECONDS, max(OUTAGE_RETRY_SECONDS, self._outage_wait * 2)
                    )
                    self._retry_at = time.monotonic() + self._outage_wait
                self._changed.notify_all()
            if not delivered:
                self._requeue(execution_id, pending)

    def retry_now(self) -> None:
        """Try queued work at once, not after the outage pause (Slack is known to be back)."""
        with self._changed:
            self._retry_at = None
            self._outage_wait = 0.0
            self._kicked = self._busy is not None
            self._changed.notify_all()

    def pending(self) -> list[str]:
        """The executions with queued work not yet delivered."""
        with self._changed:
            return [*([self._busy] if self._busy else []), *self._queue]

    def flush(self, timeout: float = FLUSH_SECONDS) -> list[str]:
        """Deliver what is queued, waiting at most `timeout` seconds; returns the executions whose
        work is left. Background: waits for the worker. Deferred (a Lambda invocation's end): posts
        here, a Retry-After only waited when it ends before the deadline; what is left is given
        back to the engine — the execution's delivery cursor goes back to what Slack has, so the
        next tick offers those events again and the notifier re-renders them from the record."""
        if self.delivery == "background":
            deadline = time.monotonic() + timeout
            with self._changed:
                self._changed.wait_for(
                    lambda: (not self._queue and self._busy is None) or time.monotonic() >= deadline,
                    timeout=timeout,
                )
            return self.pending()
        if self.delivery == "inline":
            return []
        deadline = self.clock.now() + timeout
        self._rate_limits.may_wait = lambda seconds: self.clock.now() + seconds <= deadline
        try:
            while self.clock.now() < deadline:
                with self._changed:
                    if not self._queue:
                        break
                    execution_id, pending = self._queue.popitem(last=False)
                if not self._work(execution_id, pending):
                    self._requeue(execution_id, pending)
                    break
        finally:
            self._rate_limits.may_wait = None
        with self._changed:
            left = list(self._queue)
            self._queue.clear()
        for execution_id in left:
            self._give_back(execution_id)
        return left

    def _give_back(self, execution_id: str) -> None:
        """Move the execution's delivery cursor back to the last event whose messages all went (the
        replies, the live summary, the report): the next tick offers the rest again."""
        if self._services is None:
            return
        with self._lock:
            thread = self._threads.get(execution_id)
        slack = self._record(execution_id)
        if slack is None:
            return

        def back(current: Execution) -> Execution:
            known = _Thread()
            known.absorb(slack)
            if thread is not None:
                known.absorb(thread.kept(slack))
            cursor = min(current.notified_through, known.delivered_through(current))
            if cursor == current.notified_through:
                return current
            return current.model_copy(update={"notified_through": cursor})

        try:
            self._services.store.modify_execution(execution_id, back, "drbot", attempts=3)
        except Exception:  # the events stay unposted until the next one: logged
            logger.warning(
                "could not give undelivered events back", extra={"execution_id": execution_id}, exc_info=True
            )
        else:
            logger.info("Slack deliveries left for the next tick", extra={"execution_id": execution_id})

    def close(self, timeout: float = FLUSH_SECONDS) -> None:
        """Deliver what is queued (at most `timeout` seconds), then stop the worker."""
        self.flush(timeout)
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._worker is not None:
            self._worker.join(timeout)

    def _now(self) -> int:
        return int(self.clock.now())


def notifier_from_settings(settings: Settings, clock: Clock) -> SlackNotifier | None:
    """The DRBOT_NOTIFIER factory for the AWS functions that drive executions (the execution and
    scheduled-drill functions): a SlackNotifier whose WebClient uses the bot token of the Slack
    secret (SLACK_SECRET_ARN, read at each call, else SLACK_BOT_TOKEN) and SLACK_API_URL. The runtime
    binds it to the services it builds, so its state is kept on the executions."""
    # the secret is read at each call, not here: it may still be empty when the function starts
    client = bot_client(settings, base_url=api_base_url(settings))
    if client is None:
        logger.warning("Slack is not configured (no SLACK_SECRET_ARN or SLACK_BOT_TOKEN): no Slack notifier")
        return None
    return SlackNotifier(client, clock, delivery="deferred")


def slack_notifier_of(services: Services) -> SlackNotifier | None:
    """The Slack notifier the services report through, if any (alone or among others)."""
    notifier = services.notifier
    candidates = notifier.notifiers if isinstance(notifier, CompositeNotifier) else (notifier,)
    return next((n for n in candidates if isinstance(n, SlackNotifier)), None)


def _report_due(execution: Execution, thread: _Thread) -> bool:
    """The record is final and its closing event was handled, but the report is not posted yet."""
    closing = closing_event(execution)
    return not thread.reported and closing is not None and thread.handled_through >= closing.seq


def reply_message(execution: Execution, event: ExecutionEvent) -> Message:
    """A thread reply for one event: its message, and for a failed wave each failed server's error."""
    icon = REPLY_ICONS.get(event.type, ":information_source:")
    text = f"{icon} {event.message}"
    lines = [f"{icon} {escape(event.message)}"]
    if event.type == EventType.WAVE_FAILED and event.wave_number is not None:
        lines.extend(_failed_servers(execution, event.wave_number))
    return Message(text=text, blocks=[section("\n".join(lines))], response_type="in_channel")


def _failed_servers(execution: Execution, wave_number: int) -> list[str]:
    try:
        wave = execution.wave(wave_number)
    except KeyError:
        return []
    failed = [s for s in wave.servers if s.launch_status != LaunchStatus.LAUNCHED]
    lines = [
        f"• `{escape(s.hostname or s.source_server_id)}` ({s.launch_status}): "
        f"{escape(s.error or 'did not launch')}"
        for s in failed[:MAX_FAILED_SERVERS_LISTED]
    ]
    if len(failed) > MAX_FAILED_SERVERS_LISTED:
        lines.append(f"…and {len(failed) - MAX_FAILED_SERVERS_LISTED} more")
    return lines


# the execution views are imported by the first message rendered: an invocation that posts nothing
# (most clicks, every command that starts no run) does not load them


def _summary(execution: Execution, now: int) -> Message:
    from bot.views.executions import build_execution_summary

    return build_execution_summary(execution, now)


def _approval_copy(execution: Execution, now: int, *, thread: SlackThread | None) -> Message:
    from bot.views.executions import build_approval_copy

    return build_approval_copy(execution, now, thread=thread)
