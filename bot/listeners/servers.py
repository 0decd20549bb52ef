"""The Previous / Next buttons of `/dr servers`: the page asked for, in place of the message.

The click is acked at once and the listing read lazily (DRS may take a moment). The button's value
carries the page and the filters (bot/views/servers.py `ServerQuery`), so the page is read again as
it is now. A refusal (the filters no longer valid, a page past the last) is told to the clicker
alone, as every refusal is (bot/views/errors.py); the message is left as it was.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.commands.servers import servers_page
from bot.listeners.errors import Redactor, log_failure
from bot.views.errors import build_error_message
from bot.views.failures import build_failure_message
from bot.views.ids import ServersActionId
from bot.views.message import Message
from bot.views.servers import ServerQuery
from orchestration.context import Services
from orchestration.errors import DrbotError, UsageError


def register(app: App, services: Services, redact: Redactor | None = None) -> None:
    redact = redact or Redactor()

    def ack_at_once(ack: Ack) -> None:
        ack()

    def show_page(body: dict[str, Any], respond: Respond) -> None:
        try:
            try:
                query, page = ServerQuery.from_button_value(str(body["actions"][0].get("value") or ""))
            except ValueError as error:
                raise UsageError(
                    "This button does not name a page of `/dr servers`: type the command."
                ) from error
            message = servers_page(services, query, page)
        except DrbotError as error:
            _tell(respond, build_error_message(error))
            return
        except Exception as error:  # answered and logged here: bolt would only log a one-liner
            reference = log_failure("servers page button failed", error, redact, body)
            _tell(respond, build_failure_message("the servers page button", reference))
            return
        if respond.response_url:
            respond(replace_original=True, text=message.text, blocks=message.blocks)

    app.action(ServersActionId.PAGE.value)(ack=ack_at_once, lazy=[show_page])


def _tell(respond: Respond, message: Message) -> None:
    """`message` to the clicker alone (a click without a response_url, which Slack never sends,
    goes unanswered)."""
    if respond.response_url:
        respond(response_type="ephemeral", replace_original=False, text=message.text, blocks=message.blocks)
