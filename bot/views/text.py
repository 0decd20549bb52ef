"""Block Kit as plain text, for the console: the same messages Slack gets, read in a terminal.

Headers are underlined, mrkdwn markup is removed, tables are aligned in columns, buttons become
numbered choices and replies in a thread are indented by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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

_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])")
_EMOJI_CODE = re.compile(r":[a-z0-9_+-]+:")
# what is shown as is, whatever its characters: a <…> reference (link, mention, channel, date, and
# the date tokens bot/views/mrkdwn.py escapes with), inline code, and the placeholder character
_KEPT = re.compile(r"<([^<>\n]*)>|`([^`\n]+)`|\x00")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}

Names = Mapping[str, str]  # a Slack user or user group id -> the name the console shows


def mrkdwn_to_text(text: str, names: Names | None = None) -> str:
    """Slack mrkdwn as readable plain text; code fences become indented lines. `names` gives the
    names of mentioned users and user groups (an unknown one is shown as @ and its id)."""
    out = ""
    for index, piece in enumerate(text.split("```")):
        if index % 2 == 1:  # inside a code fence
            if out and not out.endswith("\n"):
                out += "\n"
            out += "\n".join("    " + unescape(line) for line in piece.strip("\n").splitlines()) + "\n"
        else:
            out += _inline(piece, names or {})
    return out.strip("\n")


def unescape(text: str) -> str:
    """Slack's entities as the characters they stand for."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def _inline(text: str, names: Names) -> str:
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            shown = _reference(match.group(1), names)
        elif match.group(2) is not None:
            shown = unescape(match.group(2))
        else:
            shown = match.group(0)
        kept.append(shown)
        return f"\x00{len(kept) - 1}\x00"

    text = _KEPT.sub(keep, text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = _STRIKE.sub(r"\1", text)
    text = _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), text)
    text = unescape(text)
    return _PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], text)


def _reference(target: str, names: Names) -> str:
    """A <…> reference as Slack shows it: a link's label, @name, #channel, a date's fallback."""
    target, _, label = target.partition("|")
    if target.startswith("@"):  # a user
        return f"@{names.get(target[1:], target[1:])}" if not label else f"@{label.lstrip('@')}"
    if target.startswith("#"):  # a channel
        return f"#{label}" if label else target
    if target.startswith("!subteam^"):  # a user group
        group = target.split("^", maxsplit=1)[1]
        return f"@{names.get(group, group)}" if not label else f"@{label.lstrip('@')}"
    if target.startswith("!date^"):  # shown in the reader's zone in Slack; here, the fallback
        return unescape(label)
    if target.startswith("!"):  # !here, !channel, !everyone
        return "@" + target[1:]
    return unescape(label or target)


def _text_of(obj: dict[str, Any] | None, names: Names | None = None) -> str:
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(text, names)
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), text)


def _cell_text(cell: dict[str, Any], names: Names | None = None) -> str:
    if cell.get("type") in ("raw_text", "raw_number"):
        return str(cell.get("text", cell.get("value", "")))
    if cell.get("type") == "rich_text":
        return _rich_text(cell, names)
    return str(cell.get("text", ""))


def _rich_text(block: dict[str, Any], names: Names | None = None) -> str:
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                parts.append(str(node.get("text", "")))
            elif node.get("type") == "emoji":
                parts.append(EMOJI.get(f":{node.get('name')}:", f":{node.get('name')}:"))
            elif node.get("type") in ("user", "usergroup"):
                who = str(node.get("user_id") or node.get("usergroup_id"))
                parts.append(f"@{(names or {}).get(who, who)}")
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


def render_blocks(
    blocks: Sequence[dict[str, Any]], choices: Choices | None = None, names: Names | None = None
) -> str:
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
            parts = [_text_of(block.get("text"), names)] if block.get("text") else []
            fields = [_text_of(f, names) for f in block.get("fields", [])]
            if fields:
                parts.append("\n".join(fields))
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                parts.append(_button(accessory, block_id, choices))
            out.append("\n".join(p for p in parts if p))
        elif kind == "context":
            out.append(
                "  "
                + "  ".join(_text_of(e, names) for e in block.get("elements", []) if e.get("type") != "image")
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
            rows = [[_cell_text(c, names) for c in row] for row in block.get("rows", [])]
            out.append(render_table(rows))
        elif kind == "rich_text":
            out.append(_rich_text(block, names))
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


def render_message(message: Message, choices: Choices | None = None, names: Names | None = None) -> str:
    if not message.blocks:
        return mrkdwn_to_text(message.text, names)
    return render_blocks(message.block_dicts(), choices, names)
