"""`/dr plan history <plan> [--last N]`: a plan's last runs with their verdicts, the servers that
fail again and again, when it last passed, and a chart of each run's duration against the RTO
target (docs/report.md, "History").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.grammar import Arguments, Flag, Positional
from bot.commands.registry import Command, CommandContext
from bot.views.message import FileToShare, Message, WithFiles
from orchestration.context import Services
from orchestration.errors import UsageError, ValidationFailed

if TYPE_CHECKING:
    from orchestration.services.plan_history import PlanHistory

LAST_HELP = "how many runs, 1 to 50 (default 10)"  # plan_history's MAX_LAST and DEFAULT_LAST


def history_answer(history: PlanHistory) -> WithFiles:
    """The history message, with its chart as a PNG to share beside it when any run has ended."""
    # the evidence report's models and the chart, built only for a history (docs/architecture.md)
    from bot.views.plan_chart import history_chart_png
    from bot.views.plan_history import build_history_message

    message = build_history_message(history)
    png = history_chart_png(history)
    files: tuple[FileToShare, ...] = ()
    if png is not None:
        files = (
            FileToShare(
                filename=f"history-{history.plan_id[:8]}.png",
                title=f"History of {history.plan_name}: duration and worst data loss against the targets",
                content=png,
                comment=f"History of {history.plan_name}: the last {len(history.runs)} run(s)",
            ),
        )
    return WithFiles(text=message.text, blocks=message.blocks, files=files)


def plan_history_answer(services: Services, plan: str, last: int | None = None) -> tuple[str, WithFiles]:
    """The name of the plan named by `plan` (name or id) and its history, with its chart (the App
    Home's button)."""
    from orchestration.services.plan_history import history_of

    history = history_of(services, plan, last)
    return history.plan_name, history_answer(history)


def _history(ctx: CommandContext, args: Arguments) -> Message:
    from orchestration.services.plan_history import MAX_LAST, check_last, history_of

    try:
        last = check_last(args.get("last"))
    except ValidationFailed:  # said as the flag the user typed
        raise UsageError(
            f"`--last` takes a number of runs from 1 to {MAX_LAST}, not `{args.get('last')}`."
        ) from None
    return history_answer(history_of(ctx.services, args.positionals["plan"], last))


HISTORY = Command(
    noun="plan",
    verb="history",
    summary=(
        "A plan's last runs (date, type, who, duration, verdicts, servers failed, cleanup), the servers "
        "failing in more than one, when it last passed, and a chart against its targets."
    ),
    handler=_history,
    positionals=(Positional("plan", "a recovery plan's name or id"),),
    flags=(Flag("last", LAST_HELP, value="N"),),
    examples=('/dr plan history "Prod DR"', '/dr plan history "Prod DR" --last 20'),
)
COMMANDS = [HISTORY]
