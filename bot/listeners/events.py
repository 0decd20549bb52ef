"""Events: the Home tab, published when a person opens it (`app_home_opened`), from
bot/app_home.py.

Slack sends `app_home_opened` each time the tab (or the Messages tab) is opened; only the Home tab
is published. The event is acked by bolt once the listener returns; publishing is one
`views.publish` call, well within Slack's three seconds."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.listeners.context import drbot_of


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)


def home_opened(event: dict[str, Any], context: BoltContext) -> None:
    user = event.get("user")
    if event.get("tab", "home") == "home" and isinstance(user, str) and user:
        drbot_of(context).publisher.opened(user)
