"""`/dr servers` over more servers than a Slack table holds: every server is on some page, `--page N`
in text, Previous / Next buttons in Slack that show the page asked for in place of the message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bench.engine_tick import REGION, synthetic_inventory
from bot.app import build_app
from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.ids import ServersActionId
from bot.views.message import Message
from bot.views.servers import PAGE_SIZE
from bot.views.text import render_message
from orchestration.clock import FakeClock
from tests.integration.conftest import SLACK_SIGNING_SECRET
from tests.slack_requests import block_actions
from tests.slack_stub import SlackStub

SERVERS = 250
ALICE = "U0ALICE01"


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[Any]:
    """The simulator with 250 source servers in one region (more than two tables hold)."""
    from orchestration.drs.simulator import DrsSimulator

    sim = DrsSimulator(db_path=None, clock=clock, inventory=synthetic_inventory(SERVERS))
    yield sim
    sim.close()


def servers(services: Any, text: str) -> Message:
    return build_registry().dispatch(services, Invocation(text=text, user_id=ALICE))


def table_hostnames(message: Message) -> list[str]:
    (table,) = [b for b in message.block_dicts() if b["type"] == "table"]
    return [row[0]["text"] for row in table["rows"][1:]]


def page_buttons(message: Message) -> dict[str, int]:
    """Label -> the page its click asks for."""
    found = {}
    for block in message.block_dicts():
        if block["type"] == "actions" and block.get("block_id") == ServersActionId.BLOCK.value:
            for button in block["elements"]:
                assert button["action_id"] == ServersActionId.PAGE.value
                found[button["text"]["text"].split(" ")[0]] = json.loads(button["value"])["page"]
    return found


def test_every_server_is_on_one_page_and_the_pages_say_how_to_go_on(sqlite_services: Any) -> None:
    seen: list[str] = []
    for page in (1, 2, 3):
        message = servers(sqlite_services, f"/dr servers --region {REGION} --page {page}")
        assert not message.is_error, message.text
        names = table_hostnames(message)
        assert len(names) == (PAGE_SIZE if page < 3 else SERVERS - 2 * PAGE_SIZE)
        seen += names
        text = render_message(message)
        first = (page - 1) * PAGE_SIZE + 1
        assert f"Servers {first} to {first + len(names) - 1} of 250 · page {page} of 3" in text
        if page < 3:
            assert f"/dr servers --region {REGION} --page {page + 1} shows the next" in text
        else:
            assert f"/dr servers --region {REGION} --page 1 goes back to the first" in text
        expected = {"Previous": page - 1} if page > 1 else {}
        expected |= {"Next": page + 1} if page < 3 else {}
        assert page_buttons(message) == expected
    assert sorted(seen) == [f"bench-{n:04d}" for n in range(SERVERS)]  # each server once


def test_without_page_it_is_the_first_and_the_filters_stay_on_every_page(sqlite_services: Any) -> None:
    first = servers(sqlite_services, f"/dr servers --region {REGION}")
    assert table_hostnames(first)[0] == "bench-0000"
    assert "250 source servers" in render_message(first)
    filtered = servers(sqlite_services, f"/dr servers --region {REGION} --tag Bench=yes --page 2")
    assert "--tag Bench=yes --page 3 shows the next" in render_message(filtered)
    (value,) = [
        e["value"]
        for b in filtered.block_dicts()
        if b["type"] == "actions"
        for e in b["elements"]
        if "Next" in e["text"]["text"]
    ]
    assert json.loads(value) == {"page": 3, "region": REGION, "tags": {"Bench": "yes"}}


@pytest.mark.parametrize(
    ("page", "said"),
    [("4", "--page takes 1 to 3, not 4"), ("0", "--page takes a whole number of at least 1, not 0")],
)
def test_a_page_that_is_not_there_is_refused(sqlite_services: Any, page: str, said: str) -> None:
    message = servers(sqlite_services, f"/dr servers --region {REGION} --page {page}")
    assert message.is_error
    assert message.text.startswith("USAGE_ERROR: ")
    assert said in render_message(message)


def test_help_shows_the_page_option(sqlite_services: Any) -> None:
    text = render_message(servers(sqlite_services, "/dr help servers"))
    assert "[--page N]" in text


def click_page(app: Any, stub: SlackStub, value: str) -> str:
    response_url = stub.new_response_url()
    request = block_actions(
        SLACK_SIGNING_SECRET,
        ServersActionId.PAGE.value,
        value=value,
        block_id=ServersActionId.BLOCK.value,
        response_url=response_url,
        user_id=ALICE,
    )
    response = app.dispatch(request.bolt())
    assert (response.status, response.body) == (200, "")  # acked at once
    return response_url


def test_next_in_slack_replaces_the_message_with_the_next_page(
    slack_services: Any, slack_stub: SlackStub
) -> None:
    app = build_app(slack_services)
    first = servers(slack_services, f"/dr servers --region {REGION}")
    (value,) = [
        e["value"]
        for b in first.block_dicts()
        if b["type"] == "actions"
        for e in b["elements"]
        if "Next" in e["text"]["text"]
    ]
    answer = slack_stub.answer_at(click_page(app, slack_stub, value))
    assert answer.args["replace_original"] is True
    message = Message(text=answer.args["text"], blocks=[])
    assert "page 2 of 3" in message.text
    rows = next(b for b in answer.args["blocks"] if b["type"] == "table")["rows"][1:]
    assert [row[0]["text"] for row in rows][:2] == [f"bench-{PAGE_SIZE:04d}", f"bench-{PAGE_SIZE + 1:04d}"]


def test_a_page_button_that_does_not_name_a_page_is_refused_to_the_clicker(
    slack_services: Any, slack_stub: SlackStub
) -> None:
    app = build_app(slack_services)
    answer = slack_stub.answer_at(click_page(app, slack_stub, '{"page": "two"}'))
    assert answer.args["response_type"] == "ephemeral" and answer.args["replace_original"] is False
    assert answer.args["text"].startswith("USAGE_ERROR: This button does not name a page")
