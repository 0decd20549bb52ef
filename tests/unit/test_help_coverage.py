"""`/dr help` covers every command the README and the replies name, and shows what is required
from the grammar itself; every refusal reads the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.console import CLICK_USAGE, HELP, WAIT_USAGE
from bot.views.message import Message
from bot.views.text import render_message

ROOT = Path(__file__).resolve().parents[2]
# a command as the texts write one: in backticks or quotes, or at the start of a usage line
_NOUN = re.compile(r"""(?:^|[`'"(])/dr (?!help\b)([a-z]+)""", re.MULTILINE)


def dispatch(text: str) -> Message:
    # help and usage errors never reach a service, so no services are needed
    return build_registry().dispatch(None, Invocation(text=text, user_id="U1"))  # type: ignore[arg-type]


def nouns_named_in(text: str) -> set[str]:
    return set(_NOUN.findall(text))


def replies_text() -> str:
    """What drbot's own answers say: the sources of the views, commands and console."""
    sources = [*ROOT.joinpath("bot", "views").glob("*.py"), *ROOT.joinpath("bot", "commands").glob("*.py")]
    return "\n".join(p.read_text(encoding="utf-8") for p in sources) + HELP + WAIT_USAGE + CLICK_USAGE


@pytest.mark.parametrize(
    "noun", sorted(nouns_named_in(ROOT.joinpath("README.md").read_text(encoding="utf-8")))
)
def test_every_noun_the_readme_names_has_help(noun: str) -> None:
    message = dispatch(f"/dr help {noun}")
    assert not message.is_error, render_message(message)
    assert f"/dr {noun}" in render_message(message)


@pytest.mark.parametrize("noun", sorted(nouns_named_in(replies_text())))
def test_every_noun_a_reply_names_has_help(noun: str) -> None:
    message = dispatch(f"/dr help {noun}")
    assert not message.is_error, render_message(message)


@pytest.mark.parametrize("noun", ["wait", "click", "as"])
def test_console_verbs_have_help_and_say_where_they_work(noun: str) -> None:
    assert "Console only" in render_message(dispatch(f"/dr help {noun}"))
    refused = dispatch(f"/dr {noun} 3")
    assert refused.is_error and refused.text.startswith("USAGE_ERROR: ")
    assert "console" in refused.text


def test_help_marks_required_options_from_the_grammar() -> None:
    registry = build_registry()
    for command in registry.commands.values():
        usage = command.usage()
        for flag in command.flags:
            shown = f"--{flag.name}" if flag.is_switch else f"--{flag.name} {flag.value}"
            if flag.required:
                assert f" {shown}" in usage and f"[{shown}]" not in usage, usage
            else:
                assert f"[{shown}]" in usage, usage
    text = render_message(dispatch("/dr help reject"))
    assert "/dr reject <execution> --reason TEXT" in text
    assert "/dr schedule reject <schedule> --reason TEXT" in render_message(dispatch("/dr help schedule"))


@pytest.mark.parametrize(
    "command", ["/dr reject 3f2a9c1b", "/dr schedule reject 7c1e9a4b", "/dr reject 3f2a9c1b --reason"]
)
def test_a_missing_required_option_is_refused_before_anything_is_read(command: str) -> None:
    message = dispatch(command)
    assert message.is_error
    assert "--reason TEXT" in render_message(message)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("/dr frobnicate", "USAGE_ERROR"),
        ("/dr plan", "USAGE_ERROR"),
        ("/dr servers --state NOPE", "USAGE_ERROR"),
        ("/dr approve", "USAGE_ERROR"),
        ('/dr plan show "unclosed', "USAGE_ERROR"),
        ("/dr help nothing", "USAGE_ERROR"),
        ("/dr as", "USAGE_ERROR"),
    ],
)
def test_every_refusal_reads_the_same(command: str, code: str) -> None:
    message = dispatch(command)
    assert message.is_error
    assert message.text.startswith(f"{code}: ")
    lines = render_message(message).splitlines()
    assert lines[0].startswith(f"! {code}: ")
    assert lines[-1] == f"  {code} · nothing was changed"
