"""`/dr schedule add|list|show|next|approve|reject|pause|resume|delete`: drills that run unattended.

`add` checks the expression and time zone, shows the next 5 fire times and asks an approver to
approve the schedule, as `/dr plan run` asks for a run (the Approve/Reject buttons in Slack,
`/dr schedule approve|reject` anywhere). From then on each fire starts a pre-approved drill in the
schedule's channel. A schedule is named by its id or its first characters (at least six; lists
show eight).
"""

from __future__ import annotations

import re

from bot.commands.grammar import Arguments, Flag, Positional
from bot.commands.registry import Command, CommandContext, Handler
from bot.commands.runs import parse_minutes
from bot.views.message import ApprovalRequest, Message
from bot.views.schedules import (
    build_next_fires,
    build_schedule_gone,
    build_schedule_message,
    build_schedule_outcome,
    build_schedule_request,
    build_schedules_list,
)
from orchestration.errors import UsageError
from orchestration.models import MAX_MINUTES, GateAction, RecoveryPlan, Schedule, UnattendedGates
from scheduler.service import (
    NewSchedule,
    ScheduleOutcome,
    approve_schedule,
    create_schedule,
    delete_schedule,
    find_schedule,
    list_schedules,
    next_fire_times,
    next_for_plan,
    pause_schedule,
    plan_of,
    reject_schedule,
    resume_schedule,
)
from scheduler.state import ScheduleState, state_of

_SCHEDULE = Positional("schedule", "a schedule id, or its first 6+ characters (`/dr schedule list`)")
_PLAN = Positional("plan", "a recovery plan's name or id (`/dr plan list` shows them)")
# Slack sends a channel picked in the message box as <#C0123ABCD|name> (or <#C0123ABCD>)
_CHANNEL_MENTION = re.compile(r"^<#(?P<id>[A-Z0-9]+)(\|[^>]*)?>$")


def channel_id(value: str) -> str:
    """A channel id from `--channel`: the id itself, or a Slack channel mention."""
    text = value.strip()
    mention = _CHANNEL_MENTION.match(text)
    if mention:
        return mention["id"]
    if text.startswith("#"):
        raise UsageError(
            f"`--channel {text}`: give the channel's id (C…) or pick it with # in Slack, not its name."
        )
    return text


AT_GATE_USAGE = "`--at-gate pass` or `--at-gate wait:MINUTES` (e.g. `wait:60`)"


def parse_at_gate(value: str | None) -> UnattendedGates | None:
    """`--at-gate pass` or `--at-gate wait:N`: what an unattended drill does at a pause gate."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == GateAction.PASS.value:
        return UnattendedGates(action=GateAction.PASS)
    kind, _, minutes = text.partition(":")
    digits = minutes.isascii() and minutes.isdigit()
    if kind == GateAction.WAIT.value and digits and 1 <= int(minutes) <= MAX_MINUTES:
        return UnattendedGates(action=GateAction.WAIT, wait_minutes=int(minutes))
    raise UsageError(f"`--at-gate` takes {AT_GATE_USAGE}, minutes from 1 to {MAX_MINUTES}; not `{value}`.")


def _show(ctx: CommandContext, schedule: Schedule, headline: str | None = None) -> Message:
    plan = plan_of(ctx.services, schedule)
    return build_schedule_message(schedule, plan, next_fire_times(ctx.services, schedule), headline=headline)


def _answer(ctx: CommandContext, outcome: ScheduleOutcome) -> Message:
    plan = plan_of(ctx.services, outcome.schedule)
    return build_schedule_outcome(outcome, plan, next_fire_times(ctx.services, outcome.schedule))


def _schedule_id(ctx: CommandContext, args: Arguments) -> str:
    return find_schedule(ctx.services, args.positionals["schedule"]).schedule_id


def _add(ctx: CommandContext, args: Arguments) -> Message:
    channel = args.get("channel")
    request = NewSchedule(
        plan=args.positionals["plan"],
        expression=args.positionals["expression"],
        timezone=args.get("tz") or "UTC",
        channel=channel_id(channel) if channel else ctx.invocation.channel_id,
        cleanup_after_minutes=parse_minutes(args.get("cleanup-after"), "cleanup-after"),
        at_gate=parse_at_gate(args.get("at-gate")),
    )
    schedule = create_schedule(ctx.services, request, ctx.invocation.user_id)
    plan = plan_of(ctx.services, schedule)
    assert plan is not None  # it was found a moment ago
    message = build_schedule_request(schedule, plan, next_fire_times(ctx.services, schedule))
    subject = f"drill schedule {schedule.schedule_id[:8]} of {plan.plan_name}"
    return ApprovalRequest(message.text, message.blocks, message.response_type, subject=subject)


def _list(ctx: CommandContext, args: Arguments) -> Message:
    plan_ref = args.get("plan")
    schedules = list_schedules(ctx.services, plan_ref)
    plans: dict[str, RecoveryPlan] = {p.plan_id: p for p in ctx.services.store.list_plans()}
    next_times = {
        s.schedule_id: (
            next(iter(next_fire_times(ctx.services, s, 1)), None)
            if state_of(s) == ScheduleState.ACTIVE and s.plan_id in plans
            else None
        )
        for s in schedules
    }
    title = f"Drill schedules of {plans[schedules[0].plan_id].plan_name}" if plan_ref and schedules else None
    return build_schedules_list(schedules, plans, next_times, **({"title": title} if title else {}))


def _show_command(ctx: CommandContext, args: Arguments) -> Message:
    return _show(ctx, find_schedule(ctx.services, args.positionals["schedule"]))


def _next(ctx: CommandContext, args: Arguments) -> Message:
    plan, fires = next_for_plan(ctx.services, args.positionals["plan"])
    return build_next_fires(plan, fires)


def _approve(ctx: CommandContext, args: Arguments) -> Message:
    return _answer(
        ctx, approve_schedule(ctx.services, _schedule_id(ctx, args), ctx.invocation.user_id, ctx.schedules)
    )


def _reject(ctx: CommandContext, args: Arguments) -> Message:
    reason = (args.get("reason") or "").strip()
    if not reason:
        raise UsageError("Say why with `--reason TEXT`: the requester sees it.")
    outcome = reject_schedule(ctx.services, _schedule_id(ctx, args), ctx.invocation.user_id, reason)
    plan = plan_of(ctx.services, outcome.schedule)
    return build_schedule_gone(
        outcome.schedule, plan.plan_name if plan else outcome.schedule.plan_id, outcome.message
    )


def _pause(ctx: CommandContext, args: Arguments) -> Message:
    return _answer(
        ctx, pause_schedule(ctx.services, _schedule_id(ctx, args), ctx.invocation.user_id, ctx.schedules)
    )


def _resume(ctx: CommandContext, args: Arguments) -> Message:
    return _answer(
        ctx, resume_schedule(ctx.services, _schedule_id(ctx, args), ctx.invocation.user_id, ctx.schedules)
    )


def _delete(ctx: CommandContext, args: Arguments) -> Message:
    user = ctx.invocation.user_id
    schedule = find_schedule(ctx.services, args.positionals["schedule"])
    plan = plan_of(ctx.services, schedule)
    deleted = delete_schedule(ctx.services, schedule.schedule_id, user, ctx.schedules)
    return build_schedule_gone(
        deleted, plan.plan_name if plan else deleted.plan_id, f"{user} deleted the schedule"
    )


def _command(
    verb: str,
    summary: str,
    handler: Handler,
    *examples: str,
    positionals: tuple[Positional, ...] = (_SCHEDULE,),
    flags: tuple[Flag, ...] = (),
) -> Command:
    return Command(
        noun="schedule",
        verb=verb,
        summary=summary,
        handler=handler,
        positionals=positionals,
        flags=flags,
        examples=examples,
    )


SUMMARY = "drill schedules: drills that run unattended, approved once"

COMMANDS = [
    _command(
        "add",
        "Schedule drills of a plan with an EventBridge expression (cron, rate or at) in a time zone: shows "
        "the next 5 drills and asks an approver to approve; from then on they run unattended. Recoveries "
        "are never scheduled.",
        _add,
        '/dr schedule add "Prod DR" "cron(0 3 ? * SUN#1 *)" --tz Europe/Berlin',
        '/dr schedule add "Prod DR" "rate(7 days)" --channel C0123ABCD --cleanup-after 60',
        '/dr schedule add "Prod DR" "cron(0 3 ? * SUN#1 *)" --at-gate wait:60',
        '/dr schedule add "Prod DR" "at(2026-12-01T03:00:00)" --tz America/New_York',
        positionals=(
            _PLAN,
            Positional(
                "expression", "cron(min hour day-of-month month day-of-week year), rate(N unit) or at(…)"
            ),
        ),
        flags=(
            Flag("tz", "the IANA time zone the expression is read in (default UTC)", value="TZ"),
            Flag(
                "channel",
                "the Slack channel the drills report to (default: here, else the plan's)",
                value="C",
            ),
            Flag(
                "cleanup-after",
                "terminate each drill's instances this many minutes after it ends (default: at once)",
                value="MINUTES",
            ),
            Flag(
                "at-gate",
                "what each drill does at a pause gate, nobody being there to resume it: `wait:MINUTES` "
                "(then cancel and clean up) or `pass` (required when the plan has pause gates)",
                value="wait:N|pass",
            ),
        ),
    ),
    _command(
        "list",
        "Every drill schedule: plan, when, state, next and last drill.",
        _list,
        "/dr schedule list",
        '/dr schedule list --plan "Prod DR"',
        positionals=(),
        flags=(Flag("plan", "only this plan's schedules (name or id)", value="PLAN"),),
    ),
    _command("show", "One schedule, with its next 5 drills.", _show_command, "/dr schedule show 7c1e9a4b"),
    _command(
        "next",
        "A plan's next scheduled drills, over all its active schedules.",
        _next,
        '/dr schedule next "Prod DR"',
        positionals=(_PLAN,),
    ),
    _command(
        "approve",
        "Approve a schedule awaiting approval (an approver, never its requester): its drills run from "
        "now on.",
        _approve,
        "/dr schedule approve 7c1e9a4b",
    ),
    _command(
        "reject",
        "Reject a schedule awaiting approval, saying why: it is deleted.",
        _reject,
        '/dr schedule reject 7c1e9a4b --reason "not during the quarter close"',
        flags=(Flag("reason", "why (the requester sees it)", value="TEXT", required=True),),
    ),
    _command(
        "pause",
        "Pause a schedule: no drill runs until it is resumed (a drill running now runs on).",
        _pause,
        "/dr schedule pause 7c1e9a4b",
    ),
    _command(
        "resume",
        "Resume a paused schedule: its next drill runs at its next fire time (missed ones do not run).",
        _resume,
        "/dr schedule resume 7c1e9a4b",
    ),
    _command(
        "delete",
        "Delete a schedule: no drill of it runs any more (a drill running now runs on).",
        _delete,
        "/dr schedule delete 7c1e9a4b",
    ),
]
