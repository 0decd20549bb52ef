"""Text people type, in Slack mrkdwn: nothing eaten, nothing formatted, people as mentions
(bot/views/mrkdwn.py), and the console reading it back as typed (bot/views/text.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.views.errors import build_error_message
from bot.views.mrkdwn import (
    code,
    escape_message,
    escape_mrkdwn,
    escape_with_mentions,
    mention,
    without_bold,
)
from bot.views.text import mrkdwn_to_text, render_message
from orchestration.errors import UsageError
from orchestration.schedule_expressions import parse

# what Slack acts on outside a <…> token and inline code: formatting, references, entities
_PIECE = re.compile(r"<([^<>]*)>|`([^`\n]+)`|&(amp|lt|gt);|([*_~`<>&])|(:[A-Za-z0-9_+'-]+:)")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def slack_reads(mrkdwn: str) -> str:
    """What Slack shows for escaped mrkdwn, read the strict way: any formatting character, bare
    `<`, `>` or `&`, or emoji code outside a token or inline code fails the test (Slack could act
    on it); a date token shows its fallback, inline code its text, an entity its character."""
    out: list[str] = []
    position = 0
    for match in _PIECE.finditer(mrkdwn):
        out.append(mrkdwn[position : match.start()])
        position = match.end()
        token, inline, entity, bare, emoji = match.groups()
        assert bare is None, f"{bare!r} left bare in {mrkdwn!r}"
        assert emoji is None, f"emoji code {emoji!r} left in {mrkdwn!r}"
        if token is not None:
            target, _, fallback = token.partition("|")
            assert target.startswith("!date^"), f"<{token}> is not a literal token"
            out.append(fallback)
        elif inline is not None:
            out.append(re.sub(r"&(amp|lt|gt);", lambda m: _ENTITIES[m.group(1)], inline))
        else:
            out.append(_ENTITIES[entity])
    out.append(mrkdwn[position:])
    return "".join(out)


EXAMPLES = [
    "cron(0 3 * * *)",
    "<!channel>",
    "a_b_c",
    "~x~",
    "`x`",
    "&lt;",
    "*bold* _it_",
    ":x: and :+1:",
    "```",
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_examples_are_shown_as_typed_in_slack_and_the_console(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert slack_reads(escaped) == text
    assert mrkdwn_to_text(f"*Name:* {escaped}.") == f"Name: {text}."


def test_slack_control_characters_become_entities() -> None:
    assert escape_mrkdwn("<!channel> & <@U0OPER0001>") == "&lt;!channel&gt; &amp; &lt;@U0OPER0001&gt;"
    assert escape_mrkdwn("&lt;") == "&amp;lt;"


@given(st.text())
def test_any_text_is_shown_as_typed(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert slack_reads(escaped) == text
    # after a bold label, as the views place it: the console shows it as typed too
    assert mrkdwn_to_text(f"*Name:* {escaped}.") == f"Name: {text}."
    assert mrkdwn_to_text(f"[{escaped}]") == f"[{text}]"


@given(st.text())
def test_any_value_as_code_is_shown_as_typed(text: str) -> None:
    shown = code(text)
    assert slack_reads(shown) == text
    assert mrkdwn_to_text(f"[{shown}]") == f"[{text}]"


@given(st.text(), st.text())
def test_a_message_keeps_its_code_spans_and_loses_nothing(before: str, value: str) -> None:
    sentence = f"{before} `{value}`."
    escaped = escape_message(sentence)
    shown = mrkdwn_to_text(f"[{escaped}]")
    assert slack_reads(escaped).replace("`", "") == sentence.replace("`", "")  # only backticks are markup
    assert shown.replace("`", "") == f"[{sentence}]".replace("`", "")
    if "`" not in before + value and value.strip() and "\n" not in value:
        assert shown == f"[{before} {value}.]"  # the backticks are code, the value is intact


def test_the_cron_hint_keeps_its_asterisks() -> None:
    with pytest.raises(Exception) as raised:
        parse("cron(0 3 * * *)")
    message = build_error_message(raised.value)  # type: ignore[arg-type]
    text = render_message(message)
    assert "add * as the year" in text
    section = message.block_dicts()[0]["text"]["text"]
    assert "add <!date^0^{_}|*> as the year" in section


def test_every_refusal_starts_with_its_code() -> None:
    message = build_error_message(UsageError("Unknown option `--x_y*`."))
    assert message.text == "USAGE_ERROR: Unknown option `--x_y*`."
    assert render_message(message).splitlines()[0] == "! USAGE_ERROR: Unknown option --x_y*."


@pytest.mark.parametrize(
    ("principal", "mrkdwn"),
    [
        ("U0OPER0001", "<@U0OPER0001>"),
        ("W0ENTERPRISE1", "<@W0ENTERPRISE1>"),
        ("S0APPROVERS", "<!subteam^S0APPROVERS>"),
        ("scheduler", "scheduler"),
        ("direct-invocation", "direct-invocation"),
        ("a.b@example.com", "a.b@example.com"),
        ("<!here>", "&lt;!here&gt;"),
    ],
)
def test_a_principal_is_a_mention_or_escaped_text(principal: str, mrkdwn: str) -> None:
    assert mention(principal) == mrkdwn


def test_an_arn_is_escaped_text() -> None:
    arn = "arn:aws:iam::123456789012:role/dr_ops"
    assert slack_reads(mention(arn)) == arn  # `:aws:` could be a custom emoji, `_` italics
    assert mrkdwn_to_text(f"by {mention(arn)}") == f"by {arn}"


def test_the_console_shows_mentions_by_name() -> None:
    names = {"U0ALICE001": "alice", "S0APPROVERS": "dr-approvers"}
    text = f"{mention('U0ALICE001')} asks {mention('S0APPROVERS')}, not {mention('U0NOBODY01')}"
    assert mrkdwn_to_text(text, names) == "@alice asks @dr-approvers, not @U0NOBODY01"
    assert mrkdwn_to_text(text) == "@U0ALICE001 asks @S0APPROVERS, not @U0NOBODY01"


def test_ids_in_a_sentence_become_mentions() -> None:
    said = escape_with_mentions("U0APPROV01 approved the drill (1 of 1): it_starts now.")
    assert said.startswith("<@U0APPROV01> approved")
    assert mrkdwn_to_text(said, {"U0APPROV01": "bob"}) == "@bob approved the drill (1 of 1): it_starts now."
    assert escape_with_mentions("UTC and US-EAST-1") == "UTC and US-EAST-1"


def test_a_headline_without_bold_keeps_escaped_asterisks() -> None:
    headline = f":lock: *{mention('U0OPER0001')} asks to run {escape_mrkdwn('a*b')}*"
    assert without_bold(headline) == ":lock: <@U0OPER0001> asks to run a*b"
