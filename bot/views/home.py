"""The App Home tab (bot/app_home.py gathers what it shows, a `Home` of bot/home_contents.py): what
needs the viewer, with the buttons to act, what is running, the next scheduled drills and each
plan's last drill. The same blocks answer `/dr home` in the console, where the buttons are numbered
like any message's."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.home_contents import MAX_LISTED, Home, PlanLine
from bot.views.common import MAX_SECTION_TEXT, context, header, section, truncate
from bot.views.executions import action_buttons, kind_title, short_id, slack_time, status_text
from bot.views.ids import HomeActionId
from bot.views.message import Message
from bot.views.mrkdwn import code, escape_mrkdwn, escape_with_mentions, mention
from bot.views.schedules import approval_buttons
from orchestration.clock import duration_text
from orchestration.models import Execution, ExecutionStatus
from orchestration.services.execution_queries import progress
from orchestration.services.rpo import RpoResult, rpo_report

_VERDICT_EMOJI = {
    ExecutionStatus.COMPLETED: ":white_check_mark:",
    ExecutionStatus.FAILED: ":x:",
    ExecutionStatus.CANCELLED: ":black_square_for_stop:",
}


def build_home_blocks(home: Home, now: int, notice: str | None = None) -> list[Block]:
    blocks: list[Block] = [header("drbot"), context(f"For {mention(home.viewer)} · as of {slack_time(now)}")]
    if notice:
        blocks.append(section(escape_with_mentions(notice)))
    blocks += _needs_you(home)
    blocks += _running(home, now)
    blocks += _next_drills(home)
    blocks += _plans(home)
    return blocks


def build_home_view(home: Home, now: int, notice: str | None = None) -> dict[str, Any]:
    """The `view` argument of views.publish."""
    view = View(type="home", callback_id="drbot_home", blocks=build_home_blocks(home, now, notice))
    return view.to_dict()


def build_home_message(home: Home, now: int) -> Message:
    """`/dr home`: the Home tab as a message (the console's Home)."""
    text = f"drbot home: {home.needs_viewer} item(s) need you, {len(home.running)} run(s) in progress"
    return Message(text=text, blocks=build_home_blocks(home, now))


# -- sections ---------------------------------------------------------------------------------------


def _title(text: str, count: int | None = None) -> list[Block]:
    return [DividerBlock(), section(f"*{text}*" + (f" ({count})" if count is not None else ""))]


def _run_name(execution: Execution) -> str:
    name = f"{kind_title(execution)} of {escape_mrkdwn(execution.plan_name)}"
    return f"*{name}* {code(short_id(execution.execution_id))}"


def _unique(block: ActionsBlock | None, block_id: str) -> list[Block]:
    """Buttons whose block id is unique on the tab (Slack refuses a view with two equal ids)."""
    if block is None:
        return []
    return [ActionsBlock(elements=[e.to_dict() for e in block.elements], block_id=block_id)]


def _needs_you(home: Home) -> list[Block]:
    blocks = _title("Needs you", home.needs_viewer)
    if not home.needs_viewer:
        return [*blocks, context("Nothing waits for you.")]
    for execution in home.approvals[:MAX_LISTED]:
        line = (
            f":lock: {_run_name(execution)} asks for approval: requested by {mention(execution.initiated_by)}"
        )
        if execution.expires_at is not None:
            line += f", expires {slack_time(execution.expires_at)}"
        blocks += [section(line), *_unique(action_buttons(execution), f"home_run_{execution.execution_id}")]
    for schedule, plan_name in home.schedule_requests[:MAX_LISTED]:
        line = (
            f":lock: *Drill schedule of {escape_mrkdwn(plan_name)}* {code(short_id(schedule.schedule_id))}: "
            f"{code(schedule.expression)} in {code(schedule.timezone)}, "
            f"asked by {mention(schedule.created_by)}"
        )
        blocks += [
            section(line),
            *_unique(approval_buttons(schedule), f"home_schedule_{schedule.schedule_id}"),
        ]
    for execution in home.gates[:MAX_LISTED]:
        wave = execution.wave(execution.gate_wave) if execution.gate_wave is not None else None
        where = f"wave {wave.wave_number} ({escape_mrkdwn(wave.wave_name)})" if wave else "its next wave"
        line = f":double_vertical_bar: {_run_name(execution)} waits at the gate before {where}"
        blocks += [section(line), *_unique(action_buttons(execution), f"home_gate_{execution.execution_id}")]
    hidden = sum(
        max(0, len(items) - MAX_LISTED) for items in (home.approvals, home.schedule_requests, home.gates)
    )
    if hidden:
        blocks.append(context(f"And {hidden} more: `/dr executions`, `/dr schedule list`."))
    return blocks


def _running(home: Home, now: int) -> list[Block]:
    blocks = _title("Running now", len(home.running))
    if not home.running:
        return [*blocks, context("No run in progress.")]
    for execution in home.running[:MAX_LISTED]:
        done = progress(execution)
        started = execution.start_time or execution.requested_at
        channel = home.channels.get(execution.execution_id)
        where = f" · in <#{channel}>" if channel else ""
        blocks.append(
            section(
                f"{_run_name(execution)} · {status_text(execution.status)} · "
                f"waves {done['wavesCompleted']}/{done['wavesTotal']} · "
                f"servers {done['serversLaunched']}/{done['serversTotal']} launched · "
                f"{duration_text(max(0, now - started))}{where}"
            )
        )
    if len(home.running) > MAX_LISTED:
        blocks.append(context(f"And {len(home.running) - MAX_LISTED} more: `/dr executions`."))
    return blocks


def _next_drills(home: Home) -> list[Block]:
    blocks = _title("Next scheduled drills")
    if not home.next_drills:
        return [*blocks, context("No drill is scheduled: `/dr schedule add`.")]
    lines = [
        f"• {slack_time(int(drill.at.timestamp()))} · {escape_mrkdwn(drill.plan_name)} "
        f"(schedule {code(short_id(drill.schedule.schedule_id))})"
        for drill in home.next_drills
    ]
    return [*blocks, section("\n".join(lines))]


def _plans(home: Home) -> list[Block]:
    blocks = _title("Plans", len(home.plans))
    if not home.plans:
        return [*blocks, context("No recovery plan yet: `/dr plan create`.")]
    # the first plans each with a History button (a block each: the tab holds 100); the rest as lines
    blocks += [_plan_with_history(line) for line in home.plans[:MAX_LISTED]]
    rest = [_plan_line(line) for line in home.plans[MAX_LISTED : MAX_LISTED * 3]]
    if rest:
        blocks += [section("\n".join(rest)), context("Their history: `/dr plan history <plan>`.")]
    if len(home.plans) > MAX_LISTED * 3:
        blocks.append(context(f"And {len(home.plans) - MAX_LISTED * 3} more: `/dr plan list`."))
    return blocks


def _plan_with_history(line: PlanLine) -> SectionBlock:
    """A plan's line with a History button: its runs and chart, sent to the viewer in drbot's DM."""
    plan_id = line.plan.plan_id
    button = ButtonElement(text="History", action_id=HomeActionId.PLAN_HISTORY.value, value=plan_id)
    return SectionBlock(
        text=MarkdownTextObject(text=truncate(_plan_line(line), MAX_SECTION_TEXT)),
        accessory=button,
        block_id=f"home_plan_{plan_id}",
    )


def _plan_line(line: PlanLine) -> str:
    name = f"• *{escape_mrkdwn(line.plan.plan_name)}*"
    drill = line.last_drill
    # a drill is judged against the targets recorded at its request (docs/report.md)
    held = drill if drill is not None and drill.targets_recorded else line.plan
    target = held.rto_target_minutes
    rpo = held.rpo_target_minutes
    if drill is None:
        targets = [f"RTO target {target} min" if target else "", f"RPO target {rpo} min" if rpo else ""]
        shown = ", ".join(t for t in targets if t)
        return f"{name}: never drilled" + (f" ({shown})" if shown else "")
    seconds = (drill.end_time or drill.start_time or 0) - (drill.start_time or 0)
    text = (
        f"{name}: last drill {slack_time(drill.start_time or drill.requested_at)} "
        f"{_VERDICT_EMOJI.get(drill.status, '')} {drill.status} in {duration_text(seconds)}"
    )
    if target:
        verdict = "met" if drill.status == ExecutionStatus.COMPLETED and seconds <= target * 60 else "missed"
        text += f" · RTO target {target} min: {verdict}"
    if rpo:
        result = rpo_report(drill, rpo).result
        said = {RpoResult.MET: "met", RpoResult.MISSED: "missed"}.get(result, "not measured")
        text += f" · RPO target {rpo} min: {said}"
    return text + f" {code(short_id(drill.execution_id))}"
