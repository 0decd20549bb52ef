"""Block Kit as plain text, for the console: the same messages Slack gets, read in a terminal.

Headers are underlined, mrkdwn markup is removed, tables are aligned in columns, buttons become
numbered choices and replies in a thread are indented by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.views.message import Message

EMOJI = {
    ":large_green_circle:": "●",
    ":large_yellow_circle:": "◐",
    ":red_circle:": "○",
    ":warning:": "!",
    ":white_check_mark:": "✔",
    ":x:": "✘",
    ":hourglass_flowing_sand:": "…",
    ":arrow_forward:": "▶",
    ":double_vertical_bar:": "‖",
    ":black_square_for_stop:": "■",
    ":mag:": "?",
    ":rocket:": "»",
    ":lock:": "#",
    ":calendar:": "@",
    ":broom:": "~",
    ":information_source:": "i",
}

_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE_LINK = re.compile(r"<([^<>|]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_EMOJI_CODE = re.compile(r":[a-z0-9_+-]+:")


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn as readable plain text; code fences become indented lines."""
    out = ""
    for index, piece in enumerate(text.split("```")):
        if index % 2 == 1:  # inside a code fence
            if out and not out.endswith("\n"):
                out += "\n"
            out += "\n".join("    " + line for line in piece.strip("\n").splitlines()) + "\n"
        else:
            out += _inline(piece)
    return out.strip("\n")


def _inline(text: str) -> str:
    text = _LINK.sub(lambda m: (m.group(1)[0] if m.group(1)[0] in "#@" else "") + m.group(2), text)
    text = _BARE_LINK.sub(lambda m: _reference(m.group(1)), text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = _STRIKE.sub(r"\1", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _reference(target: str) -> str:
    if target.startswith("@"):
        return target
    if target.startswith("#"):
        return target.split("|", maxsplit=1)[0]
    if target.startswith("!"):
        return "@" + target[1:].split("^", maxsplit=1)[0]
    return target


def _text_of(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(text)
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), text)


def _cell_text(cell: dict[str, Any]) -> str:
    if cell.get("type") in ("raw_text", "raw_number"):
        return str(cell.get("text", cell.get("value", "")))
    if cell.get("type") == "rich_text":
        return _rich_text(cell)
    return str(cell.get("text", ""))


def _rich_text(block: dict[str, Any]) -> str:
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                parts.append(str(node.get("text", "")))
            elif node.get("type") == "emoji":
                parts.append(EMOJI.get(f":{node.get('name')}:", f":{node.get('name')}:"))
            elif node.get("type") == "user":
                parts.append(f"@{node.get('user_id')}")
            elif node.get("type") == "link":
                parts.append(str(node.get("text") or node.get("url")))
            for child in node.get("elements", []):
                walk(child)

    walk(block)
    return "".join(parts)


def render_table(rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(max(map(len, rows)))]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# gives a button (element, block id) its number
ButtonNumbers = Callable[[dict[str, Any], str], int]
Choices = list[dict[str, Any]] | ButtonNumbers


def render_blocks(blocks: Sequence[dict[str, Any]], choices: Choices | None = None) -> str:
    """Render block dicts. Buttons are shown as `[label]`; with `choices`, as `[n] label`: a list
    gets every button appended (n is its position), a function gives each button its number."""
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        block_id = str(block.get("block_id", ""))
        if kind == "header":
            title = _text_of(block.get("text"))
            out.append(f"{title}\n{'=' * len(title)}")
        elif kind == "section":
            parts = [_text_of(block.get("text"))] if block.get("text") else []
            fields = [_text_of(f) for f in block.get("fields", [])]
            if fields:
                parts.append("\n".join(fields))
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                parts.append(_button(accessory, block_id, choices))
            out.append("\n".join(p for p in parts if p))
        elif kind == "context":
            out.append(
                "  " + "  ".join(_text_of(e) for e in block.get("elements", []) if e.get("type") != "image")
            )
        elif kind == "divider":
            out.append("-" * 60)
        elif kind == "actions":
            buttons = [
                _button(e, block_id, choices) for e in block.get("elements", []) if e.get("type") == "button"
            ]
            if buttons:
                out.append("   ".join(buttons))
        elif kind == "table":
            rows = [[_cell_text(c) for c in row] for row in block.get("rows", [])]
            out.append(render_table(rows))
        elif kind == "rich_text":
            out.append(_rich_text(block))
        elif kind == "input":
            out.append(f"{_text_of(block.get('label'))}: …")
    return "\n\n".join(part for part in out if part)


def _button(element: dict[str, Any], block_id: str, choices: Choices | None) -> str:
    label = _text_of(element.get("text"))
    if choices is None:
        return f"[{label}]"
    if callable(choices):
        return f"[{choices(element, block_id)}] {label}"
    choices.append(element)
    return f"[{len(choices)}] {label}"


def render_message(message: Message, choices: Choices | None = None) -> str:
    if not message.blocks:
        return mrkdwn_to_text(message.text)
    return render_blocks(message.block_dicts(), choices)
