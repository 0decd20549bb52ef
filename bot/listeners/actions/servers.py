"""The Previous / Next buttons of `/dr servers`: the page asked for, in place of the message.

The click is acked at once and the listing read lazily (DRS may take a moment). The button's value
carries the page and the filters (bot/views/servers.py `ServerQuery`), so the page is read again as
it is now. A refusal (the filters no longer valid, a page past the last) is told to the clicker
alone, as every refusal is (bot/views/errors.py); the message is left as it was.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond

from bot.listeners.context import drbot_of
from bot.listeners.lazy import ack_now, attempt
from bot.views.ids import ServersActionId
from bot.views.message import Message
from orchestration.context import Services
from orchestration.errors import UsageError


def register(app: App) -> None:
    app.action(ServersActionId.PAGE.value)(ack=ack_now, lazy=[show_page])


def show_page(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """The lazy half of the button: the page, read again, in place of the message."""
    drbot = drbot_of(context)
    value = str(body["actions"][0].get("value") or "")
    message = attempt(
        drbot,
        body,
        respond,
        lambda: _page(drbot.services, value),
        failed="servers page button failed",
        label="the servers page button",
    )
    if message is not None and respond.response_url:
        respond(replace_original=True, text=message.text, blocks=message.blocks)


def _page(services: Services, value: str) -> Message:
    from bot.commands.servers import servers_page
    from bot.views.servers import ServerQuery

    try:
        query, page = ServerQuery.from_button_value(value)
    except ValueError as error:
        raise UsageError("This button does not name a page of `/dr servers`: type the command.") from error
    return servers_page(services, query, page)
