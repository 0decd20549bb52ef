"""Execution events in Slack: a live summary at the root of the execution's thread, replies in it.

The Notifier port (orchestration/engine/ports.py) for executions that have `execution.slack` set:

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
refreshed (the throttle) — is also kept on the execution (`execution.slack`) once `bind(services)`
gave it the store, with a version-checked write of the Slack thread alone.

Slack rate-limiting (HTTP 429) or a Slack outage (HTTP 5xx, connection errors) raises: the engine
keeps the events and offers them again on its next tick, so Slack only ever delays messages, never
the drill. The notifier never sleeps; after a 429 it
does not call that method again until Retry-After has passed. Permanent refusals (channel_not_found,
not_in_channel, …) are logged and the message is dropped — retrying them would change nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack_retry import retry_after as slack_retry_after
from bot.slack_secrets import bot_client
from bot.views.common import escape, section
from bot.views.executions import build_approval_copy, build_execution_summary
from bot.views.message import Message
from bot.views.report import build_report_message
from orchestration.bootstrap import Services
from orchestration.clock import Clock
from orchestration.config import Settings
from orchestration.models import EventType, Execution, ExecutionEvent, LaunchStatus, SlackThread
from orchestration.services.executions import update_slack_thread
from orchestration.services.report import closing_event, evidence_report, plan_of

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_SECONDS = 1.0
MAX_FAILED_SERVERS_LISTED = 20

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
    """What the notifier knows of one execution's Slack thread (merged with `execution.slack`)."""

    root_ts: str | None = None  # the root message
    handled_through: int = 0  # last event seq posted (or deliberately not posted)
    shown_through: int = 0  # last event seq the live summary shows
    last_update: float | None = None  # when the root last showed the live summary
    disabled: bool = False  # the root could not be posted for good (e.g. channel_not_found)
    reported: bool = False  # the evidence report was posted (or refused for good)

    def absorb(self, slack: SlackThread) -> None:
        """Take in what an earlier process kept on the execution."""
        self.root_ts = self.root_ts or slack.thread_ts
        self.handled_through = max(self.handled_through, slack.posted_through)
        self.shown_through = max(self.shown_through, slack.shown_through)
        self.reported = self.reported or slack.reported
        if slack.updated_at is not None:
            self.last_update = max(self.last_update or 0.0, float(slack.updated_at))

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


class SlackNotifier:
    """The Notifier port for Slack threads; see the module docstring."""

    def __init__(
        self,
        client: WebClient,
        clock: Clock,
        min_update_seconds: float = 5.0,
        services: Services | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.min_update_seconds = min_update_seconds
        self._services = services
        self._threads: dict[str, _Thread] = {}
        self._blocked_until: dict[str, float] = {}  # method -> end of its Retry-After
        self._lock = threading.Lock()

    def bind(self, services: Services) -> SlackNotifier:
        """Keep each thread's state on the executions of `services` (see the module docstring)."""
        self._services = services
        return self

    def root_ts(self, execution_id: str) -> str | None:
        """The ts of the root message this notifier posted for an execution (None: not posted)."""
        with self._lock:
            thread = self._threads.get(execution_id)
            return thread.root_ts if thread else None

    # -- the port ----------------------------------------------------------------------------------

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None:
        slack = execution.slack
        if slack is None:
            return
        with self._lock:
            thread = self._threads.setdefault(execution.execution_id, _Thread())
            if thread.disabled:
                return
            thread.absorb(slack)
            fresh = [e for e in sorted(events, key=lambda e: e.seq) if e.seq > thread.handled_through]
            if (
                not fresh
                and thread.shown_through >= thread.handled_through
                and not _report_due(execution, thread)
            ):
                return
            try:
                self._deliver(execution, slack, thread, fresh, events)
            finally:  # what was posted stays posted, even when Slack refused the rest for now
                self._keep(execution.execution_id, thread)

    def _deliver(
        self,
        execution: Execution,
        slack: SlackThread,
        thread: _Thread,
        fresh: list[ExecutionEvent],
        events: Sequence[ExecutionEvent],
    ) -> None:
        root = thread.root_ts
        if root is None:
            root = self._post_root(execution, thread)
            if root is None:
                return
        for event in fresh:
            if event.type in REPLY_ICONS:
                self._reply(execution, root, event)
            if event.type in COPY_UPDATES:
                self._update_copy(execution)
            thread.handled_through = event.seq
        if _report_due(execution, thread):
            self._post_report(execution, root, thread)
        every = {e.seq: e for e in [*execution.events, *events]}
        forced = any(e.type in FORCE_UPDATE for seq, e in every.items() if seq > thread.shown_through)
        self._refresh(execution, slack.progress_ts or root, thread, forced)

    def _keep(self, execution_id: str, thread: _Thread) -> None:
        """Save the thread's state on the execution when it moved (no-op when unbound)."""
        if self._services is None:
            return
        try:
            update_slack_thread(
                self._services, execution_id, lambda e: thread.kept(e.slack) if e.slack else None
            )
        except Exception:  # this process still remembers; only a later process could post twice
            logger.warning(
                "could not keep the Slack thread state", extra={"execution_id": execution_id}, exc_info=True
            )

    # -- the messages ------------------------------------------------------------------------------

    def _post_root(self, execution: Execution, thread: _Thread) -> str | None:
        assert execution.slack is not None
        message = build_execution_summary(execution, self._now())
        answer = self._call(
            "chat.postMessage",
            channel=execution.slack.channel,
            text=message.text,
            blocks=message.block_dicts(),
        )
        if answer is None:
            thread.disabled = True
            return None
        thread.root_ts = self._adopt_first_root(execution, str(answer["ts"]))
        thread.last_update = self.clock.now()
        thread.shown_through = max(thread.shown_through, max((e.seq for e in execution.events), default=0))
        return thread.root_ts

    def _adopt_first_root(self, execution: Execution, posted: str) -> str:
        """Record the root just posted; if another process recorded one first (two invocations
        delivering the same first events), delete ours and use theirs: one thread per execution."""
        if self._services is None:
            return posted

        def first_root(current: Execution) -> SlackThread | None:
            if current.slack is None:
                return None
            return current.slack.model_copy(update={"thread_ts": current.slack.thread_ts or posted})

        try:
            saved = update_slack_thread(self._services, execution.execution_id, first_root)
        except Exception:  # kept later by _keep, or posted again by a later process: logged, not fatal
            logger.warning(
                "could not record the root", extra={"execution_id": execution.execution_id}, exc_info=True
            )
            return posted
        winner = saved.slack.thread_ts if saved.slack else None
        if winner is None or winner == posted:
            return posted
        assert execution.slack is not None
        try:
            self._call("chat.delete", channel=execution.slack.channel, ts=posted)
        except SlackUnavailable:  # a second root stays visible; the thread is still the first one
            logger.warning("could not delete a second root", extra={"execution_id": execution.execution_id})
        return winner

    def _reply(self, execution: Execution, root: str, event: ExecutionEvent) -> None:
        assert execution.slack is not None
        message = reply_message(execution, event)
        arguments: dict[str, Any] = {
            "channel": execution.slack.channel,
            "thread_ts": root,
            "text": message.text,
            "blocks": message.block_dicts(),
        }
        if event.type in BROADCAST:
            arguments["reply_broadcast"] = True
        self._call("chat.postMessage", **arguments)

    def _post_report(self, execution: Execution, root: str, thread: _Thread) -> None:
        """The evidence report, as a reply in the thread (not broadcast: the result was)."""
        assert execution.slack is not None
        if self._services is not None:
            report = evidence_report(execution, plan_of(self._services, execution), generated_at=self._now())
        else:  # no store to look the plan up in: the report says so rather than guess
            report = evidence_report(execution, None, plan_read=False, generated_at=self._now())
        message = build_report_message(report)
        self._call(
            "chat.postMessage",
            channel=execution.slack.channel,
            thread_ts=root,
            text=message.text,
            blocks=message.block_dicts(),
        )
        thread.reported = True  # posted, or refused for good: never twice

    def _update_copy(self, execution: Execution) -> None:
        """The approvals channel's copy of the request shows what became of it."""
        slack = execution.slack
        if slack is None or not (slack.approval_channel and slack.approval_ts):
            return
        message = build_approval_copy(execution, self._now())
        self._call(
            "chat.update",
            channel=slack.approval_channel,
            ts=slack.approval_ts,
            text=message.text,
            blocks=message.block_dicts(),
        )

    def _refresh(self, execution: Execution, ts: str, thread: _Thread, forced: bool) -> None:
        """chat.update the live summary if it is stale and the throttle allows (or it must)."""
        if thread.shown_through >= thread.handled_through:
            return
        now = self.clock.now()
        due = thread.last_update is None or now - thread.last_update >= self.min_update_seconds
        if not (due or forced):
            return
        assert execution.slack is not None
        message = build_execution_summary(execution, int(now))
        self._call(
            "chat.update",
            channel=execution.slack.channel,
            ts=ts,
            text=message.text,
            blocks=message.block_dicts(),
        )
        thread.last_update = now
        thread.shown_through = thread.handled_through

    # -- Slack -------------------------------------------------------------------------------------

    def _call(self, method: str, **arguments: Any) -> dict[str, Any] | None:
        """The answer of a Web API call; None when Slack refused it for good (logged).

        Raises SlackUnavailable when Slack is rate-limiting or down (the caller's events are kept)."""
        now = self.clock.now()
        blocked_until = self._blocked_until.get(method)
        if blocked_until is not None and now < blocked_until:
            raise SlackUnavailable(method, "rate-limited", blocked_until - now)
        try:
            response = self.client.api_call(method, json=arguments)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                retry_after = slack_retry_after(exc.response.headers, DEFAULT_RETRY_AFTER_SECONDS)
                self._blocked_until[method] = now + retry_after
                raise SlackUnavailable(method, "rate-limited", retry_after) from exc
            if status >= 500:
                raise SlackUnavailable(method, f"HTTP {status}") from exc
            logger.warning(
                "Slack refused a message; dropped",
                extra={
                    "method": method,
                    "error": exc.response.get("error"),
                    "channel": arguments.get("channel"),
                },
            )
            return None
        self._blocked_until.pop(method, None)
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _now(self) -> int:
        return int(self.clock.now())


def notifier_from_settings(settings: Settings, clock: Clock) -> SlackNotifier | None:
    """The DRBOT_NOTIFIER factory for the AWS functions that drive executions (the execution and
    scheduled-drill functions): a SlackNotifier whose WebClient uses the bot token of the Slack
    secret (SLACK_SECRET_ARN, read at each call, else SLACK_BOT_TOKEN) and SLACK_API_URL. The runtime
    binds it to the services it builds, so its state is kept on the executions."""
    from bot.app import api_base_url  # the app module is heavier than a notifier needs at import

    # the secret is read at each call, not here: it may still be empty when the function starts
    client = bot_client(settings, base_url=api_base_url(settings))
    if client is None:
        logger.warning("Slack is not configured (no SLACK_SECRET_ARN or SLACK_BOT_TOKEN): no Slack notifier")
        return None
    return SlackNotifier(client, clock)


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
