"""The dispatcher: every problem becomes an answer that names it and shows the usage."""

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.text import render_message


def dispatch(text: str):
    # help and usage errors never reach a service, so no services are needed
    return build_registry().dispatch(None, Invocation(text=text, user_id="U1"))  # type: ignore[arg-type]


def test_empty_command_shows_help():
    message = dispatch("/dr")
    assert not message.is_error
    assert "/dr servers" in render_message(message)


def test_help_for_one_noun_lists_its_usage_and_examples():
    text = render_message(dispatch("/dr help servers"))
    assert "/dr servers [--region REGION] [--account ACCOUNT] [--state STATE] [--tag KEY=VALUE]…" in text
    assert "/dr servers --state STALLED" in text


def test_unknown_noun_lists_the_nouns():
    message = dispatch("/dr frobnicate")
    assert message.is_error
    text = render_message(message)
    assert "frobnicate is not a /dr command" in text
    assert "/dr servers — " in text
    assert "USAGE_ERROR" in text and "nothing was changed" in text


def test_bad_option_shows_the_commands_usage():
    message = dispatch("servers --colour red")
    text = render_message(message)
    assert "Unknown option --colour" in text
    assert "/dr servers [--region REGION]" in text


def test_help_for_unknown_noun():
    assert "There is no /dr nope" in render_message(dispatch("help nope"))


def test_error_message_is_valid_block_kit():
    payload = dispatch("servers --state").to_slack()
    assert payload["response_type"] == "ephemeral"
    assert payload["text"].startswith("USAGE_ERROR:")
    assert all("type" in block for block in payload["blocks"])
