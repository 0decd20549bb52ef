"""Small Block Kit helpers shared by the view builders (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import RawTextObject
from slack_sdk.models.blocks.blocks import TableBlock

from bot.views.mrkdwn import escape_entities, is_user_id, is_usergroup_id

# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks)
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_TABLE_ROWS = 100  # header row included
MAX_BLOCKS_PER_MESSAGE = 50


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=truncate(text, MAX_HEADER_TEXT), emoji=True))


def section(markdown: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(markdown, MAX_SECTION_TEXT)))


def context(*markdown: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(m, MAX_SECTION_TEXT)) for m in markdown])


Cell = str | dict[str, Any]  # raw text, or a rich_text cell (e.g. `person_cell`)


def person_cell(principal: str) -> Cell:
    """A table cell naming who did something: a Slack user or user group as a mention (a rich_text
    cell, since a raw_text cell cannot mention), anyone else as their text."""
    if is_user_id(principal):
        element: dict[str, Any] = {"type": "user", "user_id": principal}
    elif is_usergroup_id(principal):
        element = {"type": "usergroup", "usergroup_id": principal}
    else:
        return principal
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [element]}]}


def table(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> TableBlock:
    """A table block: a header row then at most MAX_TABLE_ROWS - 1 data rows (callers trim first)."""
    if len(rows) > MAX_TABLE_ROWS - 1:
        raise ValueError(f"a Slack table holds at most {MAX_TABLE_ROWS - 1} rows, got {len(rows)}")
    all_rows: list[list[Cell]] = [list(columns), *[list(r) for r in rows]]
    return TableBlock(
        rows=[
            [cell if isinstance(cell, dict) else RawTextObject(text=cell or " ") for cell in row]
            for row in all_rows
        ]
    )


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Slack's three control characters as entities. Text a person or an expression supplied needs
    more (its formatting characters): bot/views/mrkdwn.py `escape_mrkdwn`, `code`, `mention`."""
    return escape_entities(text)


def blocks_fit(blocks: Sequence[Block]) -> bool:
    return len(blocks) <= MAX_BLOCKS_PER_MESSAGE
