"""`/dr status|executions|approve|reject|pause|resume|cancel`: watching and steering runs.

An execution is named by its id or the first characters of it (at least six; `/dr executions`
shows eight), so `/dr approve 3f2a9c1b` is enough.
"""

from __future__ import annotations

from bot.commands.grammar import Arguments, Flag, Positional
from bot.commands.registry import Command, CommandContext, Handler
from bot.views.executions import build_execution_summary, build_executions_list, build_outcome
from bot.views.message import Message
from orchestration.errors import UsageError
from orchestration.services.execution_control import (
    approve_execution,
    cancel_execution,
    pause_execution,
    reject_execution,
    resume_execution,
)
from orchestration.services.execution_queries import active_executions, find_execution, list_executions
from orchestration.services.plans import find_plan

LIST_LIMIT = 50
_EXECUTION = Positional("execution", "an execution id, or its first 6+ characters (`/dr executions`)")


def _now(ctx: CommandContext) -> int:
    return int(ctx.services.clock.now())


def _execution_id(ctx: CommandContext, args: Arguments) -> str:
    return find_execution(ctx.services, args.positionals["execution"]).execution_id


def _status(ctx: CommandContext, args: Arguments) -> Message:
    ref = args.get("execution")
    if ref is not None:
        return build_execution_summary(find_execution(ctx.services, ref), _now(ctx))
    active = active_executions(ctx.services)
    if len(active) == 1:
        return build_execution_summary(active[0], _now(ctx))
    return build_executions_list(active, title="Active executions", empty="Nothing is running.")


def _list(ctx: CommandContext, args: Arguments) -> Message:
    plan_ref = args.get("plan")
    plan = find_plan(ctx.services, plan_ref) if plan_ref else None
    plan_id = plan.plan_id if plan else None
    of_plan = f" of {plan.plan_name}" if plan else ""
    if args.has("all"):
        found = list_executions(ctx.services, plan_id=plan_id, limit=LIST_LIMIT)
        return build_executions_list(
            found, title=f"Executions{of_plan}", empty=f"No executions{of_plan} yet."
        )
    found = list_executions(ctx.services, plan_id=plan_id, limit=LIST_LIMIT, active_only=True)
    return build_executions_list(
        found, title=f"Active executions{of_plan}", empty=f"No execution{of_plan} is running."
    )


def _approve(ctx: CommandContext, args: Arguments) -> Message:
    outcome = approve_execution(ctx.services, _execution_id(ctx, args), ctx.invocation.user_id)
    return build_outcome(outcome, _now(ctx))


def _reject(ctx: CommandContext, args: Arguments) -> Message:
    reason = (args.get("reason") or "").strip()
    if not reason:
        raise UsageError("Say why with `--reason TEXT`: the requester sees it.")
    outcome = reject_execution(ctx.services, _execution_id(ctx, args), ctx.invocation.user_id, reason)
    return build_outcome(outcome, _now(ctx))


def _pause(ctx: CommandContext, args: Arguments) -> Message:
    outcome = pause_execution(ctx.services, _execution_id(ctx, args), ctx.invocation.user_id)
    return build_outcome(outcome, _now(ctx))


def _resume(ctx: CommandContext, args: Arguments) -> Message:
    outcome = resume_execution(ctx.services, _execution_id(ctx, args), ctx.invocation.user_id)
    return build_outcome(outcome, _now(ctx))


def _cancel(ctx: CommandContext, args: Arguments) -> Message:
    outcome = cancel_execution(ctx.services, _execution_id(ctx, args), ctx.invocation.user_id)
    return build_outcome(outcome, _now(ctx))


def _command(
    noun: str,
    summary: str,
    handler: Handler,
    *examples: str,
    positionals: tuple[Positional, ...] = (_EXECUTION,),
    flags: tuple[Flag, ...] = (),
) -> Command:
    return Command(
        noun=noun,
        verb=None,
        summary=summary,
        handler=handler,
        positionals=positionals,
        flags=flags,
        examples=examples,
    )


# (noun summary for `/dr help`, the noun's command): each is its own noun, `/dr approve <execution>`
NOUNS: list[tuple[str, list[Command]]] = [
    (
        "an execution's live summary, or what is running now",
        [
            _command(
                "status",
                "One execution's live summary; without an argument, what is running now.",
                _status,
                "/dr status",
                "/dr status 3f2a9c1b",
                positionals=(Positional("execution", _EXECUTION.help, required=False),),
            )
        ],
    ),
    (
        "executions, newest first",
        [
            _command(
                "executions",
                "Executions that have not ended, newest first; `--all` includes those that have.",
                _list,
                "/dr executions",
                '/dr executions --plan "Prod DR" --all',
                positionals=(),
                flags=(
                    Flag("plan", "only this plan's executions (name or id)", value="PLAN"),
                    Flag("all", "include executions that have ended"),
                ),
            )
        ],
    ),
    (
        "approve a run request",
        [
            _command(
                "approve",
                "Approve a run request: a drill needs one approver, a recovery two different ones; "
                "the requester cannot approve their own.",
                _approve,
                "/dr approve 3f2a9c1b",
            )
        ],
    ),
    (
        "reject a run request, saying why",
        [
            _command(
                "reject",
                "Reject a run request awaiting approval, saying why.",
                _reject,
                '/dr reject 3f2a9c1b --reason "change freeze until Monday"',
                flags=(Flag("reason", "why (the requester sees it)", value="TEXT", required=True),),
            )
        ],
    ),
    (
        "pause a running execution",
        [
            _command(
                "pause",
                "Pause a running execution: waves in flight finish, no new wave launches.",
                _pause,
                "/dr pause 3f2a9c1b",
            )
        ],
    ),
    (
        "resume a paused execution",
        [
            _command(
                "resume",
                "Resume a paused execution (also passes a pause-before gate).",
                _resume,
                "/dr resume 3f2a9c1b",
            )
        ],
    ),
    (
        "cancel an execution, or withdraw your request",
        [
            _command(
                "cancel",
                "Cancel an execution: no further wave launches and a drill's instances are terminated; "
                "the requester withdraws a request awaiting approval the same way.",
                _cancel,
                "/dr cancel 3f2a9c1b",
            )
        ],
    ),
]
