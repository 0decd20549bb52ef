"""`/dr plan run <plan>`: request a drill or a recovery of a plan.

Every pre-flight rule runs first (a run that would fail them is refused and nothing is created);
then the request waits for approval: one approver for a drill, two different approvers for a
recovery, never the requester. The answer is the execution's root message with Approve/Reject;
in Slack it is posted in the channel as the root of the execution's thread (bot/slack_threads.py).
"""

from __future__ import annotations

from bot.commands.grammar import Arguments, Flag, Positional
from bot.commands.registry import Command, CommandContext
from bot.slack_threads import post_run_in
from bot.views.executions import build_approval_request, build_started
from bot.views.message import Message, ThreadRoot
from orchestration.errors import UsageError
from orchestration.models import MAX_MINUTES, ExecutionStatus, ExecutionType
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.services.plans import find_plan
from orchestration.start_request import StartExecution
from orchestration.validation import parse_model


def parse_minutes(value: str | None, flag: str) -> int | None:
    """`--flag MINUTES` as a whole number from 0 to a week (None when not given)."""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit() or int(text) > MAX_MINUTES:
        raise UsageError(
            f"`--{flag}` takes a whole number of minutes from 0 to {MAX_MINUTES}, not `{value}`."
        )
    return int(text)


def _execution_type(args: Arguments) -> ExecutionType:
    if args.has("drill") and args.has("recovery"):
        raise UsageError("Give `--drill` or `--recovery`, not both.")
    return ExecutionType.RECOVERY if args.has("recovery") else ExecutionType.DRILL


def _run(ctx: CommandContext, args: Arguments) -> Message:
    kind = _execution_type(args)
    cleanup = parse_minutes(args.get("cleanup-after"), "cleanup-after")
    if cleanup is not None and kind == ExecutionType.RECOVERY:
        raise UsageError("`--cleanup-after` is for drills: a recovery keeps the instances it launches.")
    user = ctx.invocation.user_id
    plan = find_plan(ctx.services, args.positionals["plan"])
    request = parse_model(
        StartExecution,
        {
            "planId": plan.plan_id,
            "executionType": kind.value,
            "initiatedBy": user,
            "reason": args.get("reason") or "",
            "cleanupAfterMinutes": cleanup,
        },
    )
    posts = ctx.invocation.can_post and ctx.invocation.channel_id is not None
    execution = execute_recovery_plan(ctx.services, request, user, require_approval=True)
    # Slack posts the root itself and then records the thread; elsewhere the notifier posts it
    if ctx.invocation.channel_id and not posts:
        post_run_in(ctx.services, execution, ctx.invocation.channel_id)
    now = int(ctx.services.clock.now())
    if execution.status == ExecutionStatus.PENDING_APPROVAL:
        message = build_approval_request(execution, now)
    else:
        message = build_started(execution, now)
    if posts:
        return ThreadRoot(message.text, message.blocks, "in_channel", execution_id=execution.execution_id)
    return message


COMMANDS = [
    Command(
        noun="plan",
        verb="run",
        summary=(
            "Run a plan as a drill (default) or a real recovery, after every pre-flight check. It "
            "starts when approved: a drill by one approver, a recovery by two different approvers, "
            "never by the requester; an unapproved request expires."
        ),
        handler=_run,
        positionals=(Positional("plan", "a recovery plan's name or id (`/dr plan list` shows them)"),),
        flags=(
            Flag("drill", "a drill: recovery instances are launched for testing, then terminated"),
            Flag("recovery", "a real recovery: needs two approvers; its instances are kept"),
            Flag("reason", "why it runs (shown to the approvers and in the report)", value="TEXT"),
            Flag(
                "cleanup-after",
                "drills: terminate the instances this many minutes after the end (default: at once)",
                value="MINUTES",
            ),
        ),
        examples=(
            '/dr plan run "Prod DR" --reason "monthly drill"',
            '/dr plan run "Prod DR" --drill --cleanup-after 120',
            '/dr plan run "Prod DR" --recovery --reason "us-east-1 outage, INC-4711"',
        ),
    ),
]
