"""`/dr report <execution> [--json]`: the evidence report of a drill or a recovery.

The report says which plan ran (and whether it changed since), who asked and why, who approved,
each wave and server, pre-flight warnings, pause/resume/cancel, the RTO and RPO verdicts and a
drill's cleanup. `--json` answers with the same report as JSON, for an evidence archive.
"""

from __future__ import annotations

from bot.commands.grammar import Arguments, Flag, Positional
from bot.commands.registry import Command, CommandContext
from bot.views.message import Message
from orchestration.errors import NotFound, ValidationFailed


def _report(ctx: CommandContext, args: Arguments) -> Message:
    # the report's models are built only for the request that asks for one (docs/architecture.md)
    from bot.views.report import build_report_json_message, build_report_message
    from orchestration.services.report import report_of

    try:
        report = report_of(ctx.services, args.positionals["execution"])
    except (NotFound, ValidationFailed) as error:  # a bad reference: say how to name one
        error.details.setdefault("usage", REPORT.usage())
        raise
    if args.has("json"):
        return build_report_json_message(report)
    return build_report_message(report)


REPORT = Command(
    noun="report",
    verb=None,
    summary="The evidence report of an execution: plan, approvals, waves, servers, RTO, RPO, cleanup.",
    handler=_report,
    positionals=(Positional("execution", "an execution id, or its first 6+ characters (`/dr executions`)"),),
    flags=(Flag("json", "the report as JSON, for an evidence archive"),),
    examples=("/dr report 3f2a9c1b", "/dr report 3f2a9c1b --json"),
)
SUMMARY = "the evidence report of a drill or a recovery"
COMMANDS = [REPORT]
