"""Opening an execution's Slack thread: `/dr plan run` answered in Slack posts the run request in
the channel, as the root of the execution's thread, and records it in the thread's own record.

1. chat.postMessage of the root in the command's channel. If Slack only says "not now" (rate-limited,
   HTTP 5xx, unreachable), the request stands: the thread is recorded without its root and the Slack
   notifier posts it when Slack allows (its outbox waits Retry-After exactly); the requester is told
   it is recorded. If Slack refuses (the bot is not in the
   channel, a DM it cannot post in, or anything else), the request is withdrawn at once and the
   requester is told why (`/invite @drbot`): a request nobody can see would hold its plan until it
   expired. Withdrawing after the fact, rather than asking Slack first, is deliberate: only the post
   itself says whether the bot may post (public channels with chat:write.public, membership that
   changes), and the withdrawn request stays in the history, audited.
2. The thread is recorded in the execution's Slack thread record (bot/slack_thread_record.py, a
   version-checked write of that record alone), with the root's permalink; the Slack notifier then
   replies in that thread and updates that root.
3. With DRBOT_APPROVAL_CHANNEL, a copy of the request with a link to the thread and the same
   Approve/Reject buttons goes there; the notifier updates it when the request is approved,
   rejected or expires. A copy Slack refuses is logged and said to the requester; the request
   stands (its own channel has it).

Other approval requests (a drill schedule's, `ApprovalRequest`) are answered in the channel as
usual and copied to DRBOT_APPROVAL_CHANNEL with the same buttons (`copy_approval_request`); a
click on either settles the request, and the message clicked shows the outcome.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack_notifier import SlackUnavailable, slack_notifier_of
from bot.slack_thread_record import SlackThread, open_thread, save_thread, thread_of
from bot.views.common import context, escape
from bot.views.executions import build_approval_copy, kind_title, short_id
from bot.views.message import ApprovalRequest, Message, ThreadRoot
from orchestration.context import Services
from orchestration.errors import DrbotError
from orchestration.models import Execution, ExecutionStatus
from orchestration.services.execution_control import cancel_execution

logger = logging.getLogger(__name__)

# Slack's answers meaning "this bot cannot post there" (as opposed to an outage)
CANNOT_POST = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


def open_execution_thread(
    client: WebClient, services: Services, root: ThreadRoot, channel: str, user: str
) -> Message:
    """Post `root` in `channel`, record the thread, copy it to the approvals channel; returns what
    the requester is told (ephemerally). See the module docstring."""
    execution = services.store.get_execution(root.execution_id)
    try:
        posted = client.chat_postMessage(channel=channel, text=root.text, blocks=root.block_dicts())
    except Exception as exc:
        if _transient(exc):  # Slack said "not now", not "never": the request stands
            return _post_later(client, services, root, execution, channel, exc)
        _withdraw(services, execution, user)
        if isinstance(exc, SlackApiError) and exc.response.get("error") in CANNOT_POST:
            return _cannot_post(execution, channel, str(exc.response.get("error")))
        raise
    ts = str(posted["ts"])
    permalink = _permalink(client, channel, ts)
    seen = max((e.seq for e in execution.events), default=0)  # the root shows these already
    now = int(services.clock.now())
    thread = SlackThread(
        channel=channel,
        thread_ts=ts,
        permalink=permalink,
        posted_through=seen,
        shown_through=seen,
        updated_at=now,
    )
    saved = save_thread(services, execution.execution_id, lambda current: _merged(current, thread))
    newest = services.store.get_execution(execution.execution_id)
    copied = _copy(client, services, newest, saved)
    return _posted(newest, saved, copied)


def _transient(error: Exception) -> bool:
    """Rate-limited (HTTP 429), Slack down (5xx) or unreachable: worth posting again later."""
    if isinstance(error, SlackApiError):
        status: int = error.response.status_code
        return status == 429 or status >= 500
    return isinstance(error, OSError)


def _post_later(  # noqa: PLR0917 - the pieces open_execution_thread holds
    client: WebClient,
    services: Services,
    root: ThreadRoot,
    execution: Execution,
    channel: str,
    error: Exception,
) -> Message:
    """Record the thread without its root and hand it to the Slack notifier, which posts the root
    (the request as it was to be posted, same buttons) when Slack allows; never withdrawn."""
    status = error.response.status_code if isinstance(error, SlackApiError) else None
    logger.warning(
        "Slack did not take a run request now; it is posted when Slack allows",
        extra={"execution_id": execution.execution_id, "channel": channel, "status": status},
    )
    thread = SlackThread(channel=channel, updated_at=int(services.clock.now()))
    save_thread(services, execution.execution_id, lambda current: _merged(current, thread))
    notifier = slack_notifier_of(services)
    if notifier is not None:
        try:
            notifier.post_thread(execution, root)
        except SlackUnavailable:  # still refused: the next delivery (an approval, say) posts it
            logger.warning("run request still not posted", extra={"execution_id": execution.execution_id})
    newest = services.store.get_execution(execution.execution_id)
    copied = _copy(client, services, newest, thread_of(services.store, execution.execution_id))
    return _posted_later(execution, copied)


def post_run_in(services: Services, execution: Execution, channel: str) -> None:
    """Where the caller cannot post the run's root itself: record that the run is posted in
    `channel` and hand it to the Slack notifier, which posts its root (when Slack allows)."""
    open_thread(services, execution.execution_id, channel)
    notifier = slack_notifier_of(services)
    if notifier is None:
        return
    try:
        notifier.deliver(execution, execution.events)
    except Exception:  # Slack down: the run's next delivery posts the root, as the engine's would
        logger.warning(
            "the run's root is not posted yet", extra={"execution_id": execution.execution_id}, exc_info=True
        )


def _merged(current: SlackThread | None, thread: SlackThread) -> SlackThread:
    """The new thread, keeping anything another writer recorded meanwhile."""
    if current is None:
        return thread
    return current.model_copy(
        update={
            "channel": thread.channel,
            "thread_ts": thread.thread_ts,
            "permalink": thread.permalink,
            "posted_through": max(current.posted_through, thread.posted_through),
            "shown_through": max(current.shown_through, thread.shown_through),
            "updated_at": thread.updated_at,
        }
    )


def _permalink(client: WebClient, channel: str, ts: str) -> str | None:
    try:
        answer = client.chat_getPermalink(channel=channel, message_ts=ts)
    except Exception:  # a missing link only makes the copy less handy
        logger.warning("no permalink for an execution's root", extra={"channel": channel}, exc_info=True)
        return None
    link = answer.get("permalink")
    return str(link) if link else None


def _copy(
    client: WebClient, services: Services, execution: Execution, thread: SlackThread | None
) -> bool | None:
    """Post the approvals channel's copy and record it; None: no copy needed (no approvals channel,
    no request, or the request was made in the approvals channel itself)."""
    channel = services.settings.approval_channel
    if not channel or execution.status != ExecutionStatus.PENDING_APPROVAL or thread is None:
        return None
    if channel == thread.channel:
        return None
    message = build_approval_copy(execution, int(services.clock.now()), thread=thread)
    try:
        posted = client.chat_postMessage(channel=channel, text=message.text, blocks=message.block_dicts())
    except Exception:
        logger.warning(
            "could not post the approval request's copy",
            extra={"channel": channel, "execution_id": execution.execution_id},
            exc_info=True,
        )
        return False
    ts = str(posted["ts"])

    def with_copy(current: SlackThread | None) -> SlackThread | None:
        if current is None:
            return None
        return current.model_copy(update={"approval_channel": channel, "approval_ts": ts})

    save_thread(services, execution.execution_id, with_copy)
    return True


def _withdraw(services: Services, execution: Execution, user: str) -> None:
    try:
        cancel_execution(services, execution.execution_id, user)
    except DrbotError:  # already over (someone else withdrew or rejected it): nothing to undo
        logger.info("request already settled", extra={"execution_id": execution.execution_id})


def _cannot_post(execution: Execution, channel: str, error: str) -> Message:
    text = (
        f":warning: drbot cannot post in <#{channel}> (Slack said `{error}`), so the "
        f"{kind_title(execution).lower()} request for {escape(execution.plan_name)} was withdrawn and "
        "nothing will run. Add drbot to the channel with `/invite @drbot` and run the command again."
    )
    return Message(text=text, is_error=True)


def _posted(execution: Execution, thread: SlackThread | None, copied: bool | None) -> Message:
    kind = kind_title(execution).lower()
    link = ""
    if thread is not None and thread.permalink:
        link = f" (<{thread.permalink}|open the thread>)"
    text = (
        f":white_check_mark: Your {kind} request for {escape(execution.plan_name)} is posted in the "
        f"channel{link}; it waits for {execution.required_approvals} approval(s). "
        f"`/dr status {short_id(execution.execution_id)}` shows it."
    )
    if copied is False:
        text += " The copy for the approvals channel could not be posted (is drbot in that channel?)."
    return Message(text=text)


def _posted_later(execution: Execution, copied: bool | None) -> Message:
    kind = kind_title(execution).lower()
    text = (
        f":hourglass_flowing_sand: Your {kind} request for {escape(execution.plan_name)} is recorded; "
        "Slack asked drbot to wait, so it appears in the channel as soon as Slack allows. It waits "
        f"for {execution.required_approvals} approval(s). "
        f"`/dr status {short_id(execution.execution_id)}` shows it."
    )
    if copied is False:
        text += " The copy for the approvals channel could not be posted (is drbot in that channel?)."
    return Message(text=text)


def copy_approval_request(
    client: WebClient, services: Services, request: ApprovalRequest, channel: str | None, user: str
) -> Message:
    """Post a copy of `request` (same blocks, same buttons) in DRBOT_APPROVAL_CHANNEL, unless it was
    asked there; returns the requester's answer: the request, with a line saying where the copy
    went or that it could not go."""
    approvals = services.settings.approval_channel
    if not approvals or approvals == channel:
        return request
    where = f"<#{channel}>" if channel else "a direct message"
    note = context(f"Requested by <@{escape(user)}> in {where}; approve or reject it here.")
    try:
        client.chat_postMessage(
            channel=approvals,
            text=f"Approval requested: {request.subject}",
            blocks=[*request.block_dicts(), note.to_dict()],
        )
    except Exception:  # the request stands: its own channel has it
        logger.warning(
            "could not post an approval request's copy", extra={"channel": approvals}, exc_info=True
        )
        told = context(f":warning: The copy for approvers in <#{approvals}> could not be posted.")
    else:
        told = context(f"A copy went to <#{approvals}> for the approvers.")
    return Message(request.text, [*request.blocks, told], request.response_type)
