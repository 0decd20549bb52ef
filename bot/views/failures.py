"""How an unexpected failure reads in Slack: what failed and a reference to find it in the logs.

Expected errors (DrbotError) are answered by bot/views/errors.py with what to type instead; this is
for everything else, so the person at 3 a.m. knows the command did not silently vanish.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.views.common import context, section, truncate
from bot.views.message import Message
from bot.views.mrkdwn import code

MAX_ECHOED_COMMAND = 200


def build_failure_message(command: str, reference: str) -> Message:
    """An ephemeral answer for a command that failed unexpectedly; `reference` is in the logs."""
    shown = code(truncate(command.strip(), MAX_ECHOED_COMMAND) or "/dr")
    blocks: list[Block] = [
        section(f":x: *{shown} failed unexpectedly.* It may or may not have taken effect."),
        context(f"Reference `{reference}` · check `/dr status` before trying again"),
    ]
    return Message(
        text=f"{command.strip() or '/dr'} failed unexpectedly (reference {reference})", blocks=blocks
    )
