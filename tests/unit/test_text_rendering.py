from typing import Any

from bot.views.common import context, header, section, table
from bot.views.message import Message
from bot.views.text import mrkdwn_to_text, render_blocks, render_message


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


def test_buttons_are_numbered_by_a_list_or_by_a_function_of_element_and_block():
    blocks = [
        {
            "type": "actions",
            "block_id": "execution_actions",
            "elements": [
                {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"}},
                {"type": "button", "action_id": "reject", "text": {"type": "plain_text", "text": "Reject"}},
            ],
        },
        {
            "type": "section",
            "block_id": "more",
            "text": {"type": "mrkdwn", "text": "*More*"},
            "accessory": {
                "type": "button",
                "action_id": "show",
                "text": {"type": "plain_text", "text": "Show"},
            },
        },
    ]
    assert render_blocks(blocks) == "[Approve]   [Reject]\n\nMore\n[Show]"
    listed: list[dict[str, Any]] = []
    assert render_blocks(blocks, listed) == "[1] Approve   [2] Reject\n\nMore\n[3] Show"
    assert [e["action_id"] for e in listed] == ["approve", "reject", "show"]
    given: list[tuple[str, str]] = []

    def number(element: dict[str, Any], block_id: str) -> int:
        given.append((element["action_id"], block_id))
        return 40 + len(given)

    assert render_blocks(blocks, number) == "[41] Approve   [42] Reject\n\nMore\n[43] Show"
    assert given == [("approve", "execution_actions"), ("reject", "execution_actions"), ("show", "more")]
