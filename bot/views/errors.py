"""How an error reads in Slack and the console: what was wrong, and what to type instead.

Every refusal of drbot (a command, a button, a form's fallback) is answered by this one renderer,
so each reads the same: the error's code, then its sentence (`PERMISSION_DENIED: …`), the problems
it lists, the usage, and whether anything changed. The sentence is drbot's own text with what was
typed in backticks; it is escaped so that none of it is lost (bot/views/mrkdwn.py). The services
say what is wrong; what to type about it is worded here, from the error's remedy (`explain`).
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.views.common import context, section
from bot.views.message import Message
from bot.views.mrkdwn import escape_entities, escape_message
from orchestration.errors import Action, DrbotError, Remedy

# what to type about a refusal, by the remedy the service named; {target} is the id it applies to
_HINTS: dict[Action, str] = {
    Action.REQUEST_RUN: "Request a new run with `/dr plan run`.",
    Action.REQUEST_RECOVERY: (
        "Run a recovery with `/dr plan run <plan> --recovery`, which two approvers approve."
    ),
    Action.CANCEL_EXECUTION: "`/dr cancel {target}` cancels it.",
    Action.STOP_RUN: "`/dr cancel` stops a run.",
    Action.REJECT_EXECUTION: "An approver rejects it with `/dr reject {target} --reason …`.",
    Action.LIST_EXECUTIONS: "`/dr executions --all` lists them.",
    Action.LIST_GROUPS: "`/dr group list` shows them.",
    Action.LIST_PLANS: "`/dr plan list` shows them.",
    Action.LIST_SCHEDULES: "`/dr schedule list` lists them.",
    Action.APPROVE_SCHEDULE: "An approver approves it with `/dr schedule approve {short}`.",
    Action.DELETE_SCHEDULE: "`/dr schedule delete {short}` removes it.",
    Action.PAUSE_OR_DELETE_SCHEDULE: "`/dr schedule pause {short}` or `delete` it instead.",
    Action.SYNC_SCHEDULE: "`/dr schedule resume {short}` or `pause` tries again.",
    Action.SAY_AT_GATE: (
        "`/dr schedule add … --at-gate wait:60` waits an hour for a person, then cancels and cleans "
        "up; `--at-gate pass` passes the gate."
    ),
}


def hint(remedy: Remedy | None) -> str:
    """The `/dr` command that does what the remedy names (empty when there is none)."""
    if remedy is None:
        return ""
    return _HINTS[remedy.action].format(target=remedy.target, short=remedy.target[:8])


def explain(error: DrbotError) -> str:
    """The error's sentence, then what to type about it."""
    more = hint(error.remedy)
    return f"{error.message} {more}" if more else error.message


def build_error_message(error: DrbotError, usage: str | None = None) -> Message:
    """An ephemeral answer with the error code, the sentence, each listed problem and the usage."""
    lines = [f":warning: *{error.code}:* {escape_message(explain(error))}"]
    for problem in error.details.get("errors", [])[:10]:
        if isinstance(problem, dict) and problem.get("message") and problem.get("message") != error.message:
            where = f"`{escape_entities(str(problem['field']))}` " if problem.get("field") else ""
            lines.append(f"• {where}{escape_message(str(problem['message']))}")
    blocks: list[Block] = [section("\n".join(lines))]
    if usage:
        blocks.append(section("Usage:\n```" + escape_entities(usage) + "```"))
    blocks.append(
        context(f"`{error.code}` · nothing was changed" if error.status < 500 else f"`{error.code}`")
    )
    return Message(text=refusal_text(error), blocks=blocks, is_error=True)


def refusal_text(error: DrbotError) -> str:
    """The one-line form of a refusal (a notification, a button's ephemeral answer): code first."""
    return f"{error.code}: {explain(error)}"
