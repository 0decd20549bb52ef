"""How an error reads in Slack and the console: what was wrong, and what to type instead."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.views.common import context, escape, section
from bot.views.message import Message
from orchestration.errors import DrbotError


def build_error_message(error: DrbotError, usage: str | None = None) -> Message:
    """An ephemeral answer with the error code, the sentence, each listed problem and the usage."""
    lines = [f":warning: *{escape(error.message)}*"]
    for problem in error.details.get("errors", [])[:10]:
        if isinstance(problem, dict) and problem.get("message") and problem.get("message") != error.message:
            where = f"`{problem['field']}` " if problem.get("field") else ""
            lines.append(f"• {where}{escape(str(problem['message']))}")
    blocks: list[Block] = [section("\n".join(lines))]
    if usage:
        blocks.append(section("Usage:\n```" + usage + "```"))
    blocks.append(
        context(f"`{error.code}` · nothing was changed" if error.status < 500 else f"`{error.code}`")
    )
    return Message(text=f"{error.code}: {error.message}", blocks=blocks, is_error=True)
