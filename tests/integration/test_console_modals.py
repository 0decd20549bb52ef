"""Modal prompting over standard Block Kit, with a small bolt app of its own: every kind of input
answered from lines, type-ahead through block_suggestion, a button in the view (views.update keeps
what was typed), a checkbox in an actions block, inline errors, response_action push, and what the
app receives in `view.state.values`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.console_modals import ModalSession
from bot.console_slack import ConsoleSlack, InlineExecutor

USER = "alice"
FRUITS = ["apple", "apricot", "banana"]


def option(text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": text}


def form(extra: bool = False) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Order* some fruit."}},
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "Name"},
            "element": {"type": "plain_text_input", "action_id": "name", "max_length": 10},
        },
        {
            "type": "input",
            "block_id": "size",
            "label": {"type": "plain_text", "text": "Size"},
            "element": {
                "type": "static_select",
                "action_id": "size",
                "options": [option("small"), option("large")],
                "initial_option": option("small"),
            },
        },
        {
            "type": "input",
            "block_id": "count",
            "optional": True,
            "label": {"type": "plain_text", "text": "How many"},
            "element": {"type": "number_input", "action_id": "count", "is_decimal_allowed": False},
        },
        {
            "type": "input",
            "block_id": "fruit",
            "label": {"type": "plain_text", "text": "Fruit"},
            "element": {"type": "external_select", "action_id": "fruit", "min_query_length": 0},
        },
        {
            "type": "input",
            "block_id": "extras",
            "optional": True,
            "label": {"type": "plain_text", "text": "Extras"},
            "element": {
                "type": "checkboxes",
                "action_id": "extras",
                "options": [option("ice"), option("mint")],
            },
        },
        {
            "type": "input",
            "block_id": "day",
            "label": {"type": "plain_text", "text": "Day"},
            "element": {"type": "datepicker", "action_id": "day"},
        },
        {
            "type": "actions",
            "block_id": "tools",
            "elements": [
                {"type": "checkboxes", "action_id": "gift", "options": [option("gift wrap")]},
                {"type": "button", "action_id": "more", "text": {"type": "plain_text", "text": "Add note"}},
            ],
        },
    ]
    if extra:
        blocks.append(
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "note", "multiline": True},
            }
        )
    return {
        "type": "modal",
        "callback_id": "order",
        "title": {"type": "plain_text", "text": "Order"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": blocks,
    }


def question() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "confirm",
        "title": {"type": "plain_text", "text": "Sure?"},
        "submit": {"type": "plain_text", "text": "Yes"},
        "blocks": [
            {
                "type": "input",
                "block_id": "why",
                "label": {"type": "plain_text", "text": "Why"},
                "element": {"type": "plain_text_input", "action_id": "why", "initial_value": "because"},
            }
        ],
    }


class Shop:
    """The app's side: what it was asked and what it received."""

    def __init__(self, client: WebClient, signing_secret: str) -> None:
        self.app = App(
            client=client, signing_secret=signing_secret, listener_executor=InlineExecutor(), name="shop"
        )
        self.searches: list[str] = []
        self.changes: list[dict[str, Any]] = []
        self.submitted: list[dict[str, Any]] = []
        app = self.app

        @app.command("/shop")
        def open_form(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            client.views_open(trigger_id=body["trigger_id"], view=form())

        @app.options("fruit")
        def fruits(ack: Ack, body: dict[str, Any]) -> None:
            self.searches.append(body["value"])
            ack(options=[option(f) for f in FRUITS if f.startswith(body["value"])])

        @app.action("gift")
        def gift(ack: Ack, body: dict[str, Any]) -> None:
            ack()
            self.changes.append(body["actions"][0])

        @app.action("more")
        def more(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            client.views_update(view_id=body["view"]["id"], view=form(extra=True))

        @app.view("confirm")
        def confirm(ack: Ack, view: dict[str, Any]) -> None:
            self.submitted.append(view["state"]["values"])
            if len(self.submitted) == 1:  # shown again as it was: the person must submit it again
                ack(response_action="update", view=question())
            else:
                ack()

        @app.command("/ask")
        def ask(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            client.views_open(trigger_id=body["trigger_id"], view=question())

        @app.view("order")
        def order(ack: Ack, view: dict[str, Any]) -> None:
            values = view["state"]["values"]
            self.submitted.append(values)
            if values["name"]["name"]["value"] == "nobody":
                ack(response_action="errors", errors={"name": "Say who orders."})
            elif "note" in values:
                done = {"type": "modal", "title": {"type": "plain_text", "text": "Thanks"}, "blocks": []}
                ack(response_action="push", view=done)
            else:
                ack()


@pytest.fixture
def slack(no_network: None) -> Iterator[ConsoleSlack]:
    with ConsoleSlack(io.StringIO()) as running:
        yield running


@pytest.fixture
def shop(slack: ConsoleSlack) -> Shop:
    return Shop(slack.client(), slack.signing_secret)


def fill(slack: ConsoleSlack, shop: Shop, answers: list[str], command: str = "/shop") -> list[str]:
    """Open a form as USER and answer from `answers`; the prompts asked, with their answers."""
    lines = iter(answers)
    asked: list[str] = []

    def ask(prompt: str) -> str | None:
        answer = next(lines, None)
        asked.append(f"{prompt}{answer}")
        return answer

    from bot.console_requests import slash_command

    request = slash_command(
        slack.workspace,
        command,
        "",
        user_id=USER,
        response_url=slack.new_response_url(USER),
        trigger_id=slack.new_trigger_id(USER),
    )
    assert shop.app.dispatch(request.bolt()).status == 200
    ModalSession(slack, shop.app, USER, ask).run()
    assert list(lines) == [], "every answer was read"
    return asked


def test_every_kind_of_input_is_answered_from_lines_and_received_as_slack_sends_it(slack, shop):
    asked = fill(
        slack,
        shop,
        [
            "far too long a name",  # max_length 10: asked again
            "ann",
            "",  # size: keeps its initial option
            "2.5",  # a whole number is needed: asked again
            "3",
            "ap",  # two fruits match: listed, then picked by number
            "2",
            "1, mint",  # extras by number and by text
            "31/01/2026",  # not a date: asked again
            "2026-01-31",
            "",  # the gift checkbox left as it is
            "submit",
        ],
    )
    [values] = shop.submitted
    assert values == {
        "name": {"name": {"type": "plain_text_input", "value": "ann"}},
        "size": {"size": {"type": "static_select", "selected_option": option("small")}},
        "count": {"count": {"type": "number_input", "value": "3"}},
        "fruit": {"fruit": {"type": "external_select", "selected_option": option("apricot")}},
        "extras": {"extras": {"type": "checkboxes", "selected_options": [option("ice"), option("mint")]}},
        "day": {"day": {"type": "datepicker", "selected_date": "2026-01-31"}},
        "tools": {"gift": {"type": "checkboxes", "selected_options": []}},
    }
    assert shop.searches == ["ap"]
    printed = slack.out.getvalue()  # type: ignore[attr-defined]
    assert printed.startswith("┌ Order\n│ Order some fruit.\n")
    assert "│ ! At most 10 characters, please.\n" in printed
    assert "│ ! Type a number: a whole one.\n" in printed
    assert "  1) apple\n  2) apricot\n" in printed
    assert "│ ! Type a date like 2026-01-31.\n" in printed
    assert "│ [1] Add note   [submit] Send   [cancel]\n" in printed
    assert asked[-1] == "│ choose: submit"
    assert slack.top_view(USER) is None  # a plain ack closed it


def test_a_button_updates_the_view_keeping_what_was_typed_then_errors_and_push(slack, shop):
    fill(
        slack,
        shop,
        [
            *["nobody", "large", "", "banana", "", "2026-02-01"],
            "1",  # the gift checkbox: sent to the app at once
            "add note",  # the view's button: the app adds a Note field with views.update
            "first line\\nsecond line",  # only the new field is asked
            "submit",
            "ann",  # the app's inline error on the name: asked again
            "submit",  # answered with a pushed "Thanks" view: shown, closed (it has no submit)
            "cancel",  # the order again, as it was: closed
        ],
    )
    assert [change["selected_options"] for change in shop.changes] == [[option("gift wrap")]]
    first, second = shop.submitted
    assert first["name"]["name"]["value"] == "nobody"
    assert first["fruit"]["fruit"]["selected_option"] == option("banana")  # kept through the update
    assert first["size"]["size"]["selected_option"] == option("large")
    assert first["note"]["note"]["value"] == "first line\nsecond line"
    assert second["name"]["name"]["value"] == "ann"
    assert {k: v for k, v in second.items() if k != "name"} == {k: v for k, v in first.items() if k != "name"}
    printed = slack.out.getvalue()  # type: ignore[attr-defined]
    assert "┌ Order (not submitted)\n│ ! Name: Say who orders.\n" in printed
    # the pushed view is shown and closed, the order is back as it was (a fresh number for its button)
    assert printed.endswith(
        "└ Send\n\n┌ Thanks\n└ closed: Thanks\n\n"
        "┌ Order\n│ [4] Add note   [submit] Send   [cancel]\n└ closed: Order\n\n"
    )
    assert len(shop.submitted) == 2 and slack.top_view(USER) is None


def test_the_end_of_input_closes_the_modal(slack, shop):
    fill(slack, shop, ["ann"])
    assert shop.submitted == []
    assert "└ closed: Order\n" in slack.out.getvalue()  # type: ignore[attr-defined]
    assert slack.top_view(USER) is None


def test_a_view_given_back_unchanged_is_submitted_again_only_when_asked(slack, shop):
    asked = fill(slack, shop, ["", "submit"], command="/ask")
    assert asked == ["│ Why: ", "│ choose: submit"]  # the kept answer is not asked again
    assert shop.submitted == [{"why": {"why": {"type": "plain_text_input", "value": "because"}}}] * 2
    assert slack.top_view(USER) is None
