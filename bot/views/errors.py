"""How an error reads in Slack and the console: what was wrong, and what to type instead.

Every refusal of drbot (a command, a button, a form's fallback) is answered by this one renderer,
so each reads the same: the error's code, then its sentence (`PERMISSION_DENIED: …`), the problems
it lists, the usage, and whether anything changed. The sentence is drbot's own text with what was
typed in backticks; it is escaped so that none of it is lost (bot/views/mrkdwn.py).
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.views.common import context, section
from bot.views.message import Message
from bot.views.mrkdwn import escape_entities, escape_message
from orchestration.errors import DrbotError


def build_error_message(error: DrbotError, usage: str | None = None) -> Message:
    """An ephemeral answer with the error code, the sentence, each listed problem and the usage."""
    lines = [f":warning: *{error.code}:* {escape_message(error.message)}"]
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
    return f"{error.code}: {error.message}"
