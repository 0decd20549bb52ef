"""The Home tab: published when a person opens it (`app_home_opened`), from bot/app_home.py.

Slack sends `app_home_opened` each time the tab (or the Messages tab) is opened; only the Home tab
is published. The event is acked by bolt once the listener returns; publishing is one
`views.publish` call, well within Slack's three seconds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import App

from bot.app_home import HomePublisher, publisher_of


def register(app: App, publisher: HomePublisher) -> None:
    def home_opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab", "home") == "home" and isinstance(user, str) and user:
            publisher.opened(user)

    app.event("app_home_opened")(home_opened)


def on_home(body: Mapping[str, Any]) -> bool:
    """The click came from a Home tab (its buttons carry no response_url and no message)."""
    container = body.get("container") or {}
    view = body.get("view") or {}
    return container.get("type") == "view" and view.get("type") == "home"


def answer_on_home(app: App, body: Mapping[str, Any], notice: str) -> None:
    """What a click on the Home tab did, at the top of the clicker's Home, published again."""
    publisher = publisher_of(app)
    user = (body.get("user") or {}).get("id")
    if publisher is not None and isinstance(user, str):
        publisher.publish(user, notice=notice)
