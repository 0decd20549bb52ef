"""Drill schedule messages: the approval request that answers `/dr schedule add`, one schedule, the
list, the next fire times of a plan, and the answers to approve, reject, pause, resume and delete.

Pure builders: everything they show comes from their arguments. Fire times are shown in the
schedule's own time zone (with UTC beside it), as the expression means them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject

from bot.views.common import context, header, section, table, truncate
from bot.views.executions import utc_text
from bot.views.groups import MAX_TABLE_DATA_ROWS, plural
from bot.views.ids import ScheduleActionId
from bot.views.message import Message
from bot.views.mrkdwn import code, escape_mrkdwn, escape_with_mentions, mention, without_bold
from orchestration.models import RecoveryPlan, Schedule
from orchestration.schedule_expressions import parse
from scheduler.fire import gate_policy
from scheduler.service import ScheduleOutcome
from scheduler.state import ScheduleState, state_of
from scheduler.timing import local_text

SHORT_ID = 8
LIST_COLUMNS = ("ID", "Plan", "When", "State", "Next drill", "Last drill")
STATE_TEXT = {
    ScheduleState.AWAITING_APPROVAL: ":lock: awaiting approval",
    ScheduleState.ACTIVE: ":arrow_forward: active",
    ScheduleState.PAUSED: ":double_vertical_bar: paused",
}


def short_id(schedule_id: str) -> str:
    return schedule_id[:SHORT_ID]


def when_text(schedule: Schedule) -> str:
    """E.g. "At 03:00 on the first Sunday of every month (Europe/Berlin)"."""
    return f"{parse(schedule.expression).describe(schedule.timezone)}"


def _state(schedule: Schedule, plan: RecoveryPlan | None) -> str:
    if plan is None:
        return ":warning: disabled: its plan was deleted"
    return STATE_TEXT[state_of(schedule)]


def _plan_name(schedule: Schedule, plan: RecoveryPlan | None) -> str:
    return plan.plan_name if plan is not None else f"(deleted plan {schedule.plan_id})"


def approval_buttons(schedule: Schedule) -> ActionsBlock | None:
    """Approve / Reject while the schedule awaits approval (their value is its id)."""
    if state_of(schedule) != ScheduleState.AWAITING_APPROVAL:
        return None
    return ActionsBlock(
        block_id=ScheduleActionId.BLOCK.value,
        elements=[
            ButtonElement(
                text="Approve",
                action_id=ScheduleActionId.APPROVE.value,
                value=schedule.schedule_id,
                style="primary",
            ),
            ButtonElement(
                text="Reject",
                action_id=ScheduleActionId.REJECT.value,
                value=schedule.schedule_id,
                style="danger",
                confirm=ConfirmObject(
                    title="Reject this schedule?",
                    text="The schedule is deleted; no drill of it ever runs.",
                    confirm="Reject",
                    deny="Keep it",
                ),
            ),
        ],
    )


def _facts(schedule: Schedule, plan: RecoveryPlan | None) -> str:
    lines = [
        f"*State:* {_state(schedule, plan)}",
        f"*Plan:* {escape_mrkdwn(_plan_name(schedule, plan))} · *When:* {escape_mrkdwn(when_text(schedule))}",
        f"*Expression:* {code(schedule.expression)} in {code(schedule.timezone)}",
        f"*Requested by:* {mention(schedule.created_by)}"
        + (f" · *approved by:* {mention(schedule.approved_by)}" if schedule.approved_by else ""),
    ]
    channel = f"<#{schedule.channel}>" if schedule.channel else "none (the log and the console)"
    cleanup = (
        "at once"
        if schedule.cleanup_after_minutes is None
        else f"{plural(schedule.cleanup_after_minutes, 'minute')} after the drill"
    )
    lines.append(f"*Reports to:* {channel} · *drill instances terminated:* {cleanup}")
    at_gate = gate_policy(schedule, plan) if plan is not None else schedule.at_gate
    if at_gate is not None:
        lines.append(f"*At a pause gate:* each drill {at_gate.describe()}")
    if schedule.last_run_at is not None:
        last = f"*Last fire:* {escape_mrkdwn(local_text(schedule.last_run_at, schedule.timezone))}"
        if schedule.last_execution_id:
            last += f" · drill `{short_id(schedule.last_execution_id)}`"
        lines.append(last)
    return "\n".join(lines)


def _times(times: Sequence[datetime], timezone: str, title: str) -> Block:
    if not times:
        return section(f"*{title}:* none — it will not fire again.")
    listed = "\n".join(f"• {escape_mrkdwn(local_text(t, timezone))}" for t in times)
    return section(f"*{title}:*\n{listed}")


def build_schedule_message(
    schedule: Schedule,
    plan: RecoveryPlan | None,
    times: Sequence[datetime],
    headline: str | None = None,
    response_type: str = "ephemeral",
) -> Message:
    """One schedule: state, plan, when, who asked and approved, the next fire times, the buttons."""
    blocks: list[Block] = [header(f"Drill schedule: {_plan_name(schedule, plan)}")]
    if headline:
        blocks.append(section(headline))
    blocks.append(section(_facts(schedule, plan)))
    upcoming = "Next drills" if state_of(schedule) == ScheduleState.ACTIVE else "Would run at"
    if plan is not None and state_of(schedule) != ScheduleState.PAUSED:
        blocks.append(_times(times, schedule.timezone, upcoming))
    buttons = approval_buttons(schedule)
    if buttons is not None:
        blocks.append(buttons)
    blocks.append(
        context(
            f"ID `{schedule.schedule_id}` · "
            f"`/dr schedule show {short_id(schedule.schedule_id)}` shows it again"
        )
    )
    text = f"Drill schedule of {_plan_name(schedule, plan)}: {when_text(schedule)} ({state_of(schedule)})"
    if headline:
        text = without_bold(headline) + " — " + text
    return Message(
        text=text, blocks=blocks, response_type="in_channel" if response_type == "in_channel" else "ephemeral"
    )


def build_schedule_request(schedule: Schedule, plan: RecoveryPlan, times: Sequence[datetime]) -> Message:
    """The answer to `/dr schedule add`: what is asked, the next 5 fire times, Approve / Reject."""
    when = when_text(schedule)
    ref = short_id(schedule.schedule_id)
    headline = (
        f":lock: *{mention(schedule.created_by)} asks to run drills of "
        f"{escape_mrkdwn(plan.plan_name)} unattended*, "
        f"{escape_mrkdwn(when[0].lower() + when[1:])}: they start when an approver approves "
        f"(`/dr schedule approve {ref}`); the requester cannot approve it."
    )
    return build_schedule_message(schedule, plan, times, headline=headline, response_type="in_channel")


def build_schedule_outcome(
    outcome: ScheduleOutcome, plan: RecoveryPlan | None, times: Sequence[datetime]
) -> Message:
    """The answer to approve, pause or resume: what happened, then the schedule. A no-op stays private."""
    icon = ":white_check_mark:"
    if not outcome.changed:
        return build_schedule_message(
            outcome.schedule, plan, times, headline=f"{icon} {escape_with_mentions(outcome.message)}"
        )
    return build_schedule_message(
        outcome.schedule,
        plan,
        times,
        headline=f"{icon} *{escape_with_mentions(outcome.message)}*",
        response_type="in_channel",
    )


def build_schedule_gone(schedule: Schedule, plan_name: str, what: str) -> Message:
    """A schedule that was rejected or deleted (`what` says which, and by whom)."""
    text = f"Drill schedule {short_id(schedule.schedule_id)} of {plan_name} ({when_text(schedule)}): {what}"
    blocks: list[Block] = [
        section(f":black_square_for_stop: *{escape_with_mentions(what)}*"),
        context(
            f"Schedule `{schedule.schedule_id}` of {escape_mrkdwn(plan_name)}: "
            f"{escape_mrkdwn(when_text(schedule))}. "
            "No drill of it runs any more; drills it started run on."
        ),
    ]
    return Message(text=text, blocks=blocks, response_type="in_channel")


def _list_row(schedule: Schedule, plan: RecoveryPlan | None, next_time: datetime | None) -> list[str]:
    state = "plan deleted" if plan is None else str(state_of(schedule)).replace("_", " ").lower()
    return [
        short_id(schedule.schedule_id),
        truncate(_plan_name(schedule, plan), 40),
        truncate(when_text(schedule), 80),
        state,
        local_text(next_time, schedule.timezone) if next_time else "-",
        local_text(schedule.last_run_at, schedule.timezone) if schedule.last_run_at else "-",
    ]


def build_schedules_list(
    schedules: Sequence[Schedule],
    plans: Mapping[str, RecoveryPlan],
    next_times: Mapping[str, datetime | None],
    title: str = "Drill schedules",
) -> Message:
    """Every schedule, oldest first: plan, when, state, its next and last drill."""
    if not schedules:
        hint = '`/dr schedule add &lt;plan&gt; "cron(0 3 ? * SUN#1 *)" --tz Europe/Berlin` adds one.'
        return Message(
            text="No drill schedules yet.", blocks=[section(f":mag: No drill schedules yet. {hint}")]
        )
    shown = schedules[:MAX_TABLE_DATA_ROWS]
    rows = [_list_row(s, plans.get(s.plan_id), next_times.get(s.schedule_id)) for s in shown]
    blocks: list[Block] = [
        header(title),
        section(f"*{plural(len(schedules), 'schedule')}*"),
        table(LIST_COLUMNS, rows),
    ]
    if len(shown) < len(schedules):
        blocks.append(context(f"Showing {len(shown)} of {len(schedules)}."))
    blocks.append(
        context("`/dr schedule show &lt;id&gt;` shows one (the first characters of its id are enough).")
    )
    return Message(text=f"{title}: {plural(len(schedules), 'schedule')}", blocks=blocks)


def build_next_fires(plan: RecoveryPlan, fires: Sequence[tuple[datetime, Schedule]]) -> Message:
    """The plan's next scheduled drills over all its active schedules."""
    if not fires:
        text = f"No drill of {plan.plan_name} is scheduled: it has no active schedule."
        return Message(text=text, blocks=[section(f":mag: {escape_mrkdwn(text)}")])
    lines = [
        f"• {escape_mrkdwn(local_text(moment, schedule.timezone))} · {utc_text(int(moment.timestamp()))} · "
        f"schedule `{short_id(schedule.schedule_id)}`"
        for moment, schedule in fires
    ]
    blocks: list[Block] = [header(f"Next drills of {plan.plan_name}"), section("\n".join(lines))]
    return Message(text=f"Next drills of {plan.plan_name}: {len(fires)}", blocks=blocks)
