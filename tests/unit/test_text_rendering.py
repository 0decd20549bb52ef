from bot.views.common import context, header, section, table
from bot.views.message import Message
from bot.views.text import mrkdwn_to_text, render_message


def test_mrkdwn_markup_is_removed():
    text = "*Bold* and _italic_ with `code`, <https://x.example|a link>, <@U123> in <#C42|ops> :warning:"
    assert mrkdwn_to_text(text) == "Bold and italic with code, a link, @U123 in #ops !"


def test_code_fences_become_indented_lines():
    assert mrkdwn_to_text("Usage:\n```/dr servers [--region R]```") == "Usage:\n    /dr servers [--region R]"


def test_entities_are_unescaped():
    assert mrkdwn_to_text("a &lt;b&gt; &amp; c") == "a <b> & c"


def test_message_renders_header_table_and_context():
    message = Message(
        text="t",
        blocks=[
            header("DRS source servers"),
            section("*2* servers"),
            table(("Host", "State"), [["db-01", "CONTINUOUS"], ["web-1", "STALLED"]]),
            context("Showing 2 of 2"),
        ],
    )
    assert render_message(message) == (
        "DRS source servers\n"
        "==================\n\n"
        "2 servers\n\n"
        "Host   State\n"
        "-----  ----------\n"
        "db-01  CONTINUOUS\n"
        "web-1  STALLED\n\n"
        "  Showing 2 of 2"
    )


def test_message_without_blocks_renders_its_text():
    assert render_message(Message(text="*hello*")) == "hello"
