"""The loopback Slack stub itself, through slack_sdk's own clients: what it answers, what it
records, and what it flags against the OpenAPI description."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.slack_stub import NEW_ARGUMENTS, RESPONSE_URL, SlackStub, check_call, load_spec

TOKEN = "xoxb-stub-test"
METHODS_DRBOT_USES = (
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "chat.getPermalink",
    "views.open",
    "views.update",
    "views.push",
    "usergroups.users.list",
    "users.info",
    "conversations.info",
)


@pytest.fixture
def client(slack_stub: SlackStub) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack_stub.api_url, timeout=2)


def test_the_spec_covers_every_method_drbot_uses() -> None:
    spec = load_spec()
    assert len(spec) == 174
    assert all(method in spec for method in METHODS_DRBOT_USES)
    assert set(NEW_ARGUMENTS) <= set(spec)


def test_messages_get_increasing_ts_and_the_channel_echoed(client: WebClient, slack_stub: SlackStub) -> None:
    first = client.chat_postMessage(channel="C1", text="root", blocks=[{"type": "divider"}])
    reply = client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    updated = client.chat_update(channel="C1", ts=first["ts"], text="root, updated")

    assert first["channel"] == reply["channel"] == "C1"
    assert float(reply["ts"]) > float(first["ts"])
    assert reply["message"]["thread_ts"] == first["ts"]
    assert updated["ts"] == first["ts"]
    calls = slack_stub.calls()
    assert [c.method for c in calls] == ["chat.postMessage", "chat.postMessage", "chat.update"]
    assert calls[0].args["blocks"] == [{"type": "divider"}]
    assert all(c.token == TOKEN for c in calls)
    assert calls[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert slack_stub.violations == []


def test_every_method_drbot_uses_answers_ok(client: WebClient, slack_stub: SlackStub) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []}
    slack_stub.usergroups["S1"] = ["U1", "U2"]

    assert client.auth_test()["user_id"] == slack_stub.bot_user_id
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert "/archives/C1/p" in client.chat_getPermalink(channel="C1", message_ts="1.000001")["permalink"]
    opened = client.views_open(trigger_id="1.2.3", view=view)["view"]
    assert opened["id"] and opened["type"] == "modal"
    assert client.views_update(view_id=opened["id"], view=view)["view"]["id"] == opened["id"]
    assert client.views_push(trigger_id="1.2.3", view=view)["view"]["id"] != opened["id"]
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    assert client.users_info(user="U1")["user"]["id"] == "U1"
    assert client.conversations_info(channel="C1")["channel"]["id"] == "C1"
    assert slack_stub.calls("views.open")[0].args["view"]["type"] == "modal"  # decoded from JSON
    assert slack_stub.violations == []


def test_rate_limiting_answers_429_with_retry_after_then_recovers(
    client: WebClient, slack_stub: SlackStub
) -> None:
    slack_stub.rate_limit("chat.update", retry_after=7, times=1)

    with pytest.raises(SlackApiError) as refused:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "7"
    assert client.chat_update(channel="C1", ts="1.000001", text="x")["ok"]
    assert len(slack_stub.calls("chat.update")) == 2


def test_a_planned_error_answers_ok_false(client: WebClient, slack_stub: SlackStub) -> None:
    slack_stub.fail("chat.postMessage", "channel_not_found")

    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="CGONE", text="x")
    assert failed.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_unknown_arguments_and_methods_are_violations(client: WebClient, slack_stub: SlackStub) -> None:
    client.api_call("chat.postMessage", json={"channel": "C1", "text": "x", "colour": "red"})
    client.api_call("chat.fly", params={"to": "the moon"})
    client.api_call("chat.update", json={"text": "no channel, no ts"})

    assert slack_stub.violations == [
        "chat.postMessage: unknown argument `colour`",
        "chat.fly: not a Slack Web API method",
        "chat.update: missing argument `channel`",
        "chat.update: missing argument `ts`",
    ]


def test_newer_arguments_are_allowed_only_where_listed() -> None:
    assert check_call("chat.postMessage", {"channel": "C1", "metadata": {}}, has_token=True) == []
    assert check_call(
        "chat.postEphemeral", {"channel": "C1", "user": "U1", "metadata": {}}, has_token=True
    ) == ["chat.postEphemeral: unknown argument `metadata`"]
    assert check_call("auth.test", {}, has_token=False) == ["auth.test: no token"]


def test_response_urls_are_recorded_and_checked(slack_stub: SlackStub) -> None:
    url = slack_stub.new_response_url()

    response = WebhookClient(url, timeout=2).send_dict({"text": "hi", "response_type": "in_channel", "x": 1})

    assert response.status_code == 200
    answer = slack_stub.answer_at(url)
    assert answer.method == RESPONSE_URL and answer.args["text"] == "hi"
    assert slack_stub.violations == ["response_url: unknown field `x`"]


def test_wait_for_gives_up_within_its_timeout(slack_stub: SlackStub) -> None:
    with pytest.raises(AssertionError, match=r"expected 1 call\(s\) of chat.postMessage within 0.05s"):
        slack_stub.wait_for("chat.postMessage", timeout=0.05)
