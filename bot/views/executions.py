"""Execution messages: the live summary (the root of an execution's thread), the approval request,
the answer to an action (approve, reject, pause, resume, cancel) and the list of executions.

Pure builders: everything they show comes from their arguments, `now` included (elapsed times of
waves in flight). Times are Slack date tokens, which Slack shows in the reader's time zone and the
console renders as their UTC fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject

from bot.slack_thread_record import SlackThread
from bot.views.common import Cell, context, header, person_cell, section, table, truncate
from bot.views.groups import MAX_TABLE_DATA_ROWS, bullet_sections, plural
from bot.views.ids import ActionId, BlockId
from bot.views.message import Message
from bot.views.mrkdwn import escape_mrkdwn, escape_with_mentions, mention, mentions, without_bold
from orchestration.clock import duration_text
from orchestration.models import (
    CleanupStatus,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    WaveRun,
    WaveStatus,
)
from orchestration.services.execution_control import ApprovalOutcome, Outcome
from orchestration.services.execution_queries import preflight_warnings, progress

WAVE_COLUMNS = ("#", "Wave", "Status", "Servers launched", "Elapsed")
LIST_COLUMNS = ("ID", "Plan", "Type", "Status", "Requested by", "Requested", "Waves done", "Servers")
SHORT_ID = 8

_S = ExecutionStatus
STATUS_EMOJI = {
    _S.PENDING_APPROVAL: ":lock:",
    _S.PENDING: ":hourglass_flowing_sand:",
    _S.RUNNING: ":arrow_forward:",
    _S.PAUSED: ":double_vertical_bar:",
    _S.CANCELLING: ":black_square_for_stop:",
    _S.CANCELLED: ":black_square_for_stop:",
    _S.COMPLETED: ":white_check_mark:",
    _S.FAILED: ":x:",
    _S.REJECTED: ":x:",
    _S.EXPIRED: ":x:",
}
_BUTTONS: dict[ExecutionStatus, tuple[ActionId, ...]] = {
    _S.PENDING_APPROVAL: (ActionId.APPROVE, ActionId.REJECT),
    _S.PENDING: (ActionId.CANCEL,),
    _S.RUNNING: (ActionId.PAUSE, ActionId.CANCEL),
    _S.PAUSED: (ActionId.RESUME, ActionId.CANCEL),
}
_LABELS = {
    ActionId.APPROVE: "Approve",
    ActionId.REJECT: "Reject",
    ActionId.PAUSE: "Pause",
    ActionId.RESUME: "Resume",
    ActionId.CANCEL: "Cancel",
}
_STYLES = {ActionId.APPROVE: "primary", ActionId.RESUME: "primary", ActionId.CANCEL: "danger"}


# -- small pieces -----------------------------------------------------------------------------------


def short_id(execution_id: str) -> str:
    """The first characters of an id: enough to name an execution in a command."""
    return execution_id[:SHORT_ID]


def kind_title(execution: Execution) -> str:
    return execution.execution_type.word.capitalize()


def utc_text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def slack_time(epoch: int) -> str:
    """A time Slack shows in the reader's zone; the console shows the UTC fallback."""
    return f"<!date^{epoch}^{{date_short_pretty}} {{time_secs}}|{utc_text(epoch)}>"


def status_text(status: ExecutionStatus) -> str:
    return f"{STATUS_EMOJI[status]} {status}"


def _wave_elapsed(wave: WaveRun, now: int) -> str:
    if wave.start_time is None:
        return "-"
    return duration_text((wave.end_time or now) - wave.start_time)


def _wave_row(wave: WaveRun, gated: bool, now: int) -> list[str]:
    launched = sum(1 for s in wave.servers if s.launch_status == LaunchStatus.LAUNCHED)
    servers = f"{launched}/{len(wave.servers)}" if wave.servers else "-"
    status = f"{wave.status} (gate)" if gated else str(wave.status)
    return [str(wave.wave_number), wave.wave_name, status, servers, _wave_elapsed(wave, now)]


def waves_table(execution: Execution, now: int) -> list[Block]:
    """Each wave: status (a gate not yet passed is shown), servers launched of total, elapsed."""
    shown = execution.waves[:MAX_TABLE_DATA_ROWS]
    rows = [
        _wave_row(
            w,
            w.status == WaveStatus.PENDING and w.pause_before and w.wave_number not in execution.gates_passed,
            now,
        )
        for w in shown
    ]
    blocks: list[Block] = [table(WAVE_COLUMNS, rows)]
    if len(shown) < len(execution.waves):
        blocks.append(context(f"Showing waves 1 to {len(shown)} of {len(execution.waves)}."))
    return blocks


def action_buttons(execution: Execution) -> ActionsBlock | None:
    """The buttons that apply to the execution's status (their value is its id)."""
    actions = _BUTTONS.get(execution.status)
    if not actions:
        return None
    buttons = []
    for action in actions:
        confirm = None
        if action == ActionId.CANCEL:
            confirm = ConfirmObject(
                title="Cancel this run?",
                text=f"No further wave of {escape_mrkdwn(truncate(execution.plan_name, 100))} will launch"
                + (" and the drill's instances are terminated." if _is_drill(execution) else "."),
                confirm="Cancel the run",
                deny="Keep it running",
            )
        buttons.append(
            ButtonElement(
                text=_LABELS[action],
                action_id=action.value,
                value=execution.execution_id,
                style=_STYLES.get(action),
                confirm=confirm,
            )
        )
    return ActionsBlock(elements=buttons, block_id=BlockId.EXECUTION_ACTIONS.value)


def _is_drill(execution: Execution) -> bool:
    return execution.execution_type == ExecutionType.DRILL


# -- the summary -----------------------------------------------------------------------------------


def _approvals_line(execution: Execution, now: int) -> str | None:
    if execution.required_approvals == 0 and not execution.approvals:
        return None
    given = len(execution.approvals)
    by = mentions([a.user_id for a in execution.approvals], empty="nobody yet")
    line = f"*Approvals:* {given}/{execution.required_approvals} ({by})"
    if execution.status == _S.PENDING_APPROVAL and execution.expires_at is not None:
        left = execution.expires_at - now
        line += f" · expires {slack_time(execution.expires_at)}" + (
            f" (in {duration_text(left)})" if left > 0 else ""
        )
    return line


def _facts(execution: Execution, now: int) -> str:
    status = f"*Status:* {status_text(execution.status)}"
    if execution.status_reason and execution.status not in (_S.RUNNING, _S.PENDING):
        status += f" — {escape_with_mentions(execution.status_reason)}"
    lines = [
        status,
        f"*Type:* {kind_title(execution)} · *Plan:* {escape_mrkdwn(execution.plan_name)} · "
        f"*Requested by:* {mention(execution.initiated_by)} {slack_time(execution.requested_at)}",
    ]
    if execution.reason:
        lines.append(f"*Reason:* {escape_mrkdwn(execution.reason)}")
    approvals = _approvals_line(execution, now)
    if approvals:
        lines.append(approvals)
    if execution.gate_wave is not None:
        gate = execution.wave(execution.gate_wave)
        lines.append(
            f"*Waiting at the gate before wave {gate.wave_number}* ({escape_mrkdwn(gate.wave_name)}): "
            f"`/dr resume {short_id(execution.execution_id)}` launches it"
        )
    return "\n".join(lines)


def _cleanup_line(execution: Execution) -> str | None:
    cleanup = execution.cleanup
    if cleanup is None:
        return None
    count = plural(cleanup.instance_count, "drill instance")
    return {
        CleanupStatus.SCHEDULED: f"*Cleanup:* {count} to be terminated {slack_time(cleanup.due_at)}",
        CleanupStatus.TERMINATING: f"*Cleanup:* terminating {count}",
        CleanupStatus.COMPLETED: f"*Cleanup:* {count} terminated",
        CleanupStatus.FAILED: f"*Cleanup failed:* {escape_mrkdwn(cleanup.error or 'see the events')}",
        CleanupStatus.NOT_NEEDED: "*Cleanup:* nothing was launched, nothing to terminate",
    }[cleanup.status]


def _result(execution: Execution) -> str | None:
    """The final result, once the execution has ended."""
    if not execution.is_terminal:
        return None
    counts = progress(execution)
    end = execution.end_time or execution.requested_at
    if execution.status in (_S.REJECTED, _S.EXPIRED):
        return f"*Result:* {status_text(execution.status)} — nothing was launched"
    started = execution.start_time or execution.requested_at
    lines = [
        f"*Result:* {status_text(execution.status)} after {duration_text(end - started)}: "
        f"{counts['serversLaunched']} of {counts['serversTotal']} server(s) launched, "
        f"{counts['wavesCompleted']} of {counts['wavesTotal']} wave(s) completed",
        f"*Started* {slack_time(started)} · *ended* {slack_time(end)}",
    ]
    failed = [w for w in execution.waves if w.status == WaveStatus.FAILED]
    lines.extend(
        f"• Wave {w.wave_number} ({escape_mrkdwn(w.wave_name)}): {escape_mrkdwn(w.error or 'failed')}"
        for w in failed
    )
    cleanup = _cleanup_line(execution)
    if cleanup:
        lines.append(cleanup)
    return "\n".join(lines)


def _warning_lines(execution: Execution) -> list[str]:
    return [
        f"`{w.get('code', 'WARNING')}` {escape_mrkdwn(str(w.get('message', '')))}"
        for w in preflight_warnings(execution)
    ]


def build_execution_summary(execution: Execution, now: int, headline: str | None = None) -> Message:
    """The live summary: plan, type, requester, reason, status, approvals, the waves (status,
    servers launched, elapsed), pre-flight warnings, the final result, and the buttons that apply."""
    blocks: list[Block] = [header(f"{kind_title(execution)}: {execution.plan_name}")]
    if headline:
        blocks.append(section(headline))
    blocks.append(section(_facts(execution, now)))
    warnings = _warning_lines(execution)
    if warnings:
        blocks.extend(bullet_sections(":warning: *Pre-flight warnings*", warnings, max_sections=2))
    blocks.extend(waves_table(execution, now))
    result = _result(execution)
    if result:
        blocks.append(section(result))
    elif execution.cleanup is None and (cleanup := _cleanup_line(execution)):
        blocks.append(section(cleanup))
    buttons = action_buttons(execution)
    if buttons is not None:
        blocks.append(buttons)
    ref = short_id(execution.execution_id)
    blocks.append(context(f"ID `{execution.execution_id}` · `/dr status {ref}` shows it again"))
    counts = progress(execution)
    text = (
        f"{kind_title(execution)} of {execution.plan_name}: {execution.status} · "
        f"{counts['wavesCompleted']}/{counts['wavesTotal']} waves · "
        f"{counts['serversLaunched']}/{counts['serversTotal']} servers launched"
    )
    return Message(text=_headline_text(headline) + text if headline else text, blocks=blocks)


def _headline_text(headline: str) -> str:
    return without_bold(headline) + " — "


def build_approval_request(execution: Execution, now: int) -> Message:
    """The root message of a new run: what is asked, by whom, and the Approve/Reject buttons."""
    kind = kind_title(execution).lower()
    needed = execution.required_approvals
    who = "two different approvers" if needed > 1 else "an approver"
    headline = (
        f":lock: *{mention(execution.initiated_by)} asks to run a {kind} of "
        f"{escape_mrkdwn(execution.plan_name)}*: "
        f"it starts when {who} approve{'' if needed > 1 else 's'} "
        f"(`/dr approve {short_id(execution.execution_id)}`); the requester cannot approve it."
    )
    message = build_execution_summary(execution, now, headline=headline)
    return Message(text=message.text, blocks=message.blocks, response_type="in_channel")


def build_approval_copy(
    execution: Execution, now: int, headline: str | None = None, *, thread: SlackThread | None = None
) -> Message:
    """The approvals channel's copy of a request: a link to its `thread`, the summary, and the
    Approve/Reject buttons while it awaits approval (the run itself is steered in its thread)."""
    link = ""
    if thread is not None:
        link = f" in <#{thread.channel}>"
        if thread.permalink:
            link += f": <{thread.permalink}|open the thread>"
    first = headline or (
        f":lock: *{mention(execution.initiated_by)} asks to run a {kind_title(execution).lower()} of "
        f"{escape_mrkdwn(execution.plan_name)}*"
    )
    message = build_execution_summary(execution, now, headline=first + link)
    blocks = message.blocks
    if execution.status != _S.PENDING_APPROVAL:
        blocks = [b for b in blocks if not isinstance(b, ActionsBlock)]
    return Message(text=message.text, blocks=blocks, response_type="in_channel")


def build_started(execution: Execution, now: int) -> Message:
    """A run that needed no approval (or had it beforehand) and was handed to the engine."""
    headline = f":rocket: *{kind_title(execution)} of {escape_mrkdwn(execution.plan_name)} started*"
    message = build_execution_summary(execution, now, headline=headline)
    return Message(text=message.text, blocks=message.blocks, response_type="in_channel")


def build_outcome(outcome: Outcome, now: int) -> Message:
    """The answer to approve, reject, pause, resume or cancel: what happened, then the summary.
    A no-op (already done) is said as such and stays private."""
    if not outcome.changed:
        return build_execution_summary(
            outcome.execution, now, headline=f":white_check_mark: {escape_with_mentions(outcome.message)}"
        )
    icon = ":rocket:" if isinstance(outcome, ApprovalOutcome) and outcome.started else ":white_check_mark:"
    headline = f"{icon} *{escape_with_mentions(outcome.message)}*"
    message = build_execution_summary(outcome.execution, now, headline=headline)
    return Message(text=message.text, blocks=message.blocks, response_type="in_channel")


# -- the list --------------------------------------------------------------------------------------


def _list_row(execution: Execution) -> list[Cell]:
    counts = progress(execution)
    servers = f"{counts['serversLaunched']}/{counts['serversTotal']}" if counts["serversTotal"] else "-"
    return [
        short_id(execution.execution_id),
        truncate(execution.plan_name, 40),
        kind_title(execution),
        str(execution.status),
        person_cell(truncate(execution.initiated_by, 30)),
        utc_text(execution.requested_at),
        f"{counts['wavesCompleted']}/{counts['wavesTotal']}",
        servers,
    ]


def build_executions_list(
    executions: Sequence[Execution], title: str = "Executions", empty: str = "No executions yet."
) -> Message:
    """Executions newest first, one row each (named by the first characters of their id)."""
    if not executions:
        hint = "`/dr plan run &lt;plan&gt;` starts one; `/dr executions --all` shows those that ended."
        return Message(text=empty, blocks=[section(f":mag: {escape_mrkdwn(empty)} {hint}")])
    shown = executions[:MAX_TABLE_DATA_ROWS]
    blocks: list[Block] = [
        header(title),
        section(f"*{plural(len(executions), 'execution')}*, newest first"),
        table(LIST_COLUMNS, [_list_row(e) for e in shown]),
    ]
    if len(shown) < len(executions):
        blocks.append(context(f"Showing the newest {len(shown)} of {len(executions)}."))
    blocks.append(context("`/dr status &lt;id&gt;` shows one (the first characters of its id are enough)."))
    return Message(text=f"{title}: {plural(len(executions), 'execution')}", blocks=blocks)
