"""What the listeners read from bolt's context: the `Drbot` the first global middleware puts there
is the one a lazy listener gets, never a copy (bolt deep-copies the request for lazy listeners)."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest
from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.util.utils import create_copy
from slack_sdk import WebClient

from bot.listeners.context import Drbot, ProvideDrbot, drbot_of
from bot.listeners.errors import Redactor
from tests.slack_requests import slash_command


def _drbot() -> Drbot:
    # a lock stands for the services' state: deep-copying it would raise, and bolt drops what it
    # cannot copy from the context of a lazy listener's request
    services = cast(Any, threading.Lock())
    return Drbot(services, WebClient(token="xoxb-1"), cast(Any, None), Redactor.of(["s"]))


def test_a_lazy_listener_reads_the_same_drbot_as_the_ack() -> None:
    drbot = _drbot()
    request = BoltRequest(
        body=slash_command("secret", "help", response_url="http://127.0.0.1:9/r").body, headers={}
    )
    calls: list[str] = []

    def next_() -> BoltResponse:
        calls.append("next")
        return BoltResponse(status=200)

    ProvideDrbot(drbot).process(req=request, resp=BoltResponse(status=200), next=next_)
    lazy_request = create_copy(request.to_copyable())  # as bolt's thread runner copies it

    assert calls == ["next"]
    assert drbot_of(request.context) is drbot
    assert drbot_of(lazy_request.context) is drbot


def test_a_context_without_drbot_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="build_app"):
        drbot_of(BoltContext())
