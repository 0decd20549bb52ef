"""The console's Slack through a real WebClient and response_url posts: what it prints and what it
remembers (thread replies indented, ephemeral answers marked, updates compact, buttons numbered)."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.console_slack import CHANNEL_ID, CLEAR_LINE, ConsoleSlack, InlineExecutor


@pytest.fixture
def slack() -> Iterator[ConsoleSlack]:
    with ConsoleSlack(io.StringIO()) as running:
        yield running


def printed(slack: ConsoleSlack) -> str:
    assert isinstance(slack.out, io.StringIO)
    return slack.out.getvalue()


def summary(status: str, buttons: list[str]) -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Drill: Prod DR"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Status:* {status}"}},
        {
            "type": "actions",
            "block_id": "execution_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": f"execution_{b.lower()}",
                    "text": {"type": "plain_text", "text": b},
                    "value": "e-1",
                }
                for b in buttons
            ],
        },
    ]


def post(url: str, payload: dict[str, Any]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status)


def test_thread_replies_are_indented_under_their_root_and_a_broadcast_says_so(slack):
    client = slack.client()
    assert client.auth_test()["team_id"] == slack.workspace.team_id
    root = client.chat_postMessage(channel=CHANNEL_ID, text="Drill of Prod DR", blocks=summary("RUNNING", []))
    client.chat_postMessage(channel=CHANNEL_ID, thread_ts=root["ts"], text=":rocket: Wave 1 (DB) launching")
    client.chat_postMessage(
        channel=CHANNEL_ID,
        thread_ts=root["ts"],
        text=":white_check_mark: Drill completed",
        reply_broadcast=True,
    )
    assert printed(slack) == (
        "Drill: Prod DR\n==============\n\nStatus: RUNNING\n\n"
        "  │ in the thread of “Drill: Prod DR”:\n"
        "  │ » Wave 1 (DB) launching\n"
        "  │ ✔ Drill completed\n"
        "  │ (also sent to the channel)\n"
    )
    slack.write("next\n")
    assert printed(slack).endswith("(also sent to the channel)\n\nnext\n")  # a blank line after a thread


def test_a_reply_to_a_root_posted_before_the_console_started_says_so(slack):
    slack.client().chat_postMessage(channel=CHANNEL_ID, thread_ts="1767225600.000100", text="Wave 2 (App)")
    assert printed(slack) == (
        "  │ in the thread of a message from before this console started:\n  │ Wave 2 (App)\n"
    )


def test_updates_are_compact_and_buttons_are_numbered_for_the_whole_session(slack):
    client = slack.client()
    root = client.chat_postMessage(
        channel=CHANNEL_ID, text="a: PENDING_APPROVAL", blocks=summary("PENDING", ["Approve", "Reject"])
    )
    assert "[1] Approve   [2] Reject" in printed(slack)
    assert (slack.choice(1).button.label, slack.choice(2).message_ts) == ("Approve", root["ts"])
    before = printed(slack)

    client.chat_update(
        channel=CHANNEL_ID,
        ts=root["ts"],
        text="a: PENDING_APPROVAL",
        blocks=summary("PENDING", ["Approve", "Reject"]),
    )
    assert printed(slack) == before  # nothing changed: nothing printed
    client.chat_update(
        channel=CHANNEL_ID,
        ts=root["ts"],
        text="a: PENDING_APPROVAL",
        blocks=summary("PENDING 1m", ["Approve", "Reject"]),
    )
    assert printed(slack) == before  # only a detail changed, not its summary text: nothing printed
    client.chat_update(
        channel=CHANNEL_ID,
        ts=root["ts"],
        text="a: 1/2 waves",
        blocks=summary("RUNNING", ["Approve", "Reject"]),
    )
    assert printed(slack)[len(before) :] == "↻ a: 1/2 waves\n\n"  # the summary text, one line
    client.chat_update(
        channel=CHANNEL_ID, ts=root["ts"], text="a: RUNNING", blocks=summary("RUNNING", ["Cancel"])
    )
    assert printed(slack).endswith(
        "↻ updated:\nDrill: Prod DR\n==============\n\nStatus: RUNNING\n\n[3] Cancel\n\n"
    )
    message = slack.message(CHANNEL_ID, root["ts"])
    assert message is not None and [b.label for b in message.buttons()] == ["Cancel"]
    assert slack.newest_choice("cancel", "alice").number == 3
    assert slack.newest_choice("Approve", "alice") is None  # its message no longer has it


def test_response_urls_answer_privately_in_the_channel_replace_and_delete(slack):
    private = slack.new_response_url("alice")
    assert post(private, {"text": "*only* for you", "response_type": "ephemeral"}) == 200
    public = slack.new_response_url("alice")
    assert (
        post(
            public,
            {
                "text": "for everyone",
                "blocks": summary("PENDING", ["Approve"]),
                "response_type": "in_channel",
            },
        )
        == 200
    )
    [answer] = slack.answers(private)
    assert answer.visible_to == "alice"
    [shared] = slack.answers(public)
    assert shared.visible_to is None
    clicked = slack.new_response_url("bob", message_ts=shared.ts)
    assert (
        post(clicked, {"text": "approved", "replace_original": True, "blocks": summary("RUNNING", [])}) == 200
    )
    assert post(clicked, {"delete_original": True}) == 200
    assert slack.message(CHANNEL_ID, shared.ts).deleted
    assert printed(slack) == (
        "(only visible to alice)\nonly for you\n\n"
        "Drill: Prod DR\n==============\n\nStatus: PENDING\n\n[1] Approve\n\n"
        "↻ updated:\nDrill: Prod DR\n==============\n\nStatus: RUNNING\n\n"
        "(message deleted: Drill: Prod DR)\n\n"
    )


def test_views_open_push_and_update_keep_each_users_stack(slack):
    client = slack.client()
    view = {"type": "modal", "callback_id": "c", "title": {"type": "plain_text", "text": "One"}, "blocks": []}
    opened = client.views_open(trigger_id=slack.new_trigger_id("bob"), view=view)["view"]
    assert slack.top_view("bob")["id"] == opened["id"] and slack.top_view("alice") is None
    pushed = client.views_push(trigger_id=slack.new_trigger_id("bob"), view={**view, "callback_id": "d"})[
        "view"
    ]
    assert pushed["previous_view_id"] == opened["id"]
    updated = client.views_update(view_id=opened["id"], view={**view, "callback_id": "e"})["view"]
    assert (updated["id"], updated["callback_id"]) == (opened["id"], "e")
    assert slack.top_view("bob")["id"] == pushed["id"]
    slack.after_submission("bob", pushed["id"], {})  # a plain ack closes the submitted view
    assert slack.top_view("bob")["callback_id"] == "e"
    slack.after_submission("bob", opened["id"], {"response_action": "clear"})
    assert slack.top_view("bob") is None
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        client.views_open(trigger_id="1.T.forged", view=view)


def test_only_its_token_is_served_and_unknown_methods_are_refused(slack):
    client = slack.client()
    with pytest.raises(SlackApiError, match="unknown_method"):
        client.api_call("chat.scheduleMessage", json={"channel": CHANNEL_ID, "text": "x", "post_at": 1})
    client.token = "xoxb-someone-else"
    with pytest.raises(SlackApiError, match="invalid_auth"):
        client.auth_test()
    assert ConsoleSlack(io.StringIO()).token != slack.token  # random per process


def test_usergroups_are_answered_from_the_local_map():
    with ConsoleSlack(io.StringIO(), usergroups={"S0APPROVERS": ["bob"]}) as slack:
        client = slack.client()
        assert client.usergroups_users_list(usergroup="S0APPROVERS")["users"] == ["bob"]
        assert client.usergroups_users_list(usergroup="S0OTHER")["users"] == []


def test_the_inline_executor_runs_at_once_and_keeps_failures_in_the_future():
    ran: list[int] = []
    done: Future[None] = InlineExecutor().submit(ran.append, 1)
    assert ran == [1] and done.done()

    def fail() -> None:
        raise RuntimeError("boom")

    assert isinstance(InlineExecutor().submit(fail).exception(), RuntimeError)


def test_mentions_are_printed_by_name_and_unknown_ids_as_themselves():
    names = {"U0ALICE01": "alice", "S0APPROVERS": "dr-approvers"}
    with ConsoleSlack(io.StringIO(), names=names) as slack:
        client = slack.client()
        blocks = [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*<@U0ALICE01> asks <!subteam^S0APPROVERS>* (not <@U0NOBODY01>): "
                    "cron(0 3 <!date^0^{_}|*> <!date^0^{_}|*> <!date^0^{_}|*>) &amp; a<!date^0^{_}|_>b",
                },
            }
        ]
        client.chat_postMessage(channel=CHANNEL_ID, text="<@U0ALICE01> asks", blocks=blocks)
        assert printed(slack) == "@alice asks @dr-approvers (not @U0NOBODY01): cron(0 3 * * *) & a_b\n\n"
        assert client.users_info(user="U0ALICE01")["user"]["name"] == "alice"


def test_what_arrives_while_a_prompt_is_open_prints_above_it(slack: ConsoleSlack) -> None:
    typed = ["/dr sta"]
    slack.prompt_opened("drbot> ", lambda: typed[0])

    slack.client().chat_postMessage(channel=CHANNEL_ID, text="Wave 1 (DB) completed")

    out = printed(slack)
    assert out.startswith(CLEAR_LINE)  # the prompt's line is cleared first …
    assert out.endswith("Wave 1 (DB) completed\n\ndrbot> /dr sta")  # … and drawn again under it
    slack.prompt_closed()
    slack.write("after\n")
    assert printed(slack).endswith("drbot> /dr staafter\n")  # closed: printed as it comes


def test_an_update_of_a_message_from_an_earlier_console_is_taken(slack: ConsoleSlack) -> None:
    answer = slack.client().chat_update(channel=CHANNEL_ID, ts="1767225600.000042", text="Drill completed")
    assert answer["ok"]
    assert "Drill completed" in printed(slack)
    with pytest.raises(SlackApiError, match="message_not_found"):
        slack.client().chat_update(channel=CHANNEL_ID, ts="not-a-ts", text="x")


def test_views_publish_is_kept_for_the_user(slack: ConsoleSlack) -> None:
    view = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    assert slack.client().views_publish(user_id="bob", view=view)["ok"]
    assert slack.homes["bob"]["type"] == "home"
    assert printed(slack) == ""
