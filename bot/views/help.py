"""`/dr help`: generated from the registered commands, so it is always true."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import Block

from bot.views.common import context, header, section
from bot.views.message import Message
from bot.views.mrkdwn import code, escape_entities


@dataclass(frozen=True)
class HelpEntry:
    usage: str
    summary: str
    examples: tuple[str, ...] = ()


def build_help_overview(nouns: Sequence[tuple[str, str]]) -> Message:
    lines = [f"`/dr {noun}` — {summary}" for noun, summary in nouns]
    blocks: list[Block] = [
        header("drbot — DRS drills from Slack"),
        section("\n".join(lines)),
        context("`/dr help <noun>` shows every command of a noun with its options."),
    ]
    return Message(text="drbot commands: " + ", ".join(n for n, _ in nouns), blocks=blocks)


def build_help_for_noun(noun: str, summary: str, entries: Sequence[HelpEntry]) -> Message:
    blocks: list[Block] = [header(f"/dr {noun}"), section(summary)]
    for entry in entries:
        text = f"```{escape_entities(entry.usage)}```\n{entry.summary}"
        if entry.examples:
            text += "\n" + "\n".join(f"e.g. {code(example)}" for example in entry.examples)
        blocks.append(section(text))
    return Message(text=f"/dr {noun}: {summary}", blocks=blocks)
