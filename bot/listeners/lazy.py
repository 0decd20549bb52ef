"""The one shape of a click that does its work lazily: ack now (`ack_now`), do the work in a lazy
listener (bolt starts it on bolt's thread pool, or, on Lambda, as another invocation of the same
function: see bot/lambda_function.py), and answer a refusal or a failure to the clicker alone
(`attempt`): at the top of their Home when the click came from the Home tab, else ephemerally
through the click's response_url.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from slack_bolt import Ack, Respond

from bot.app_home import HomePublisher
from bot.listeners.context import Drbot
from bot.listeners.errors import log_failure
from bot.views.errors import build_error_message
from bot.views.failures import build_failure_message
from bot.views.message import Message
from orchestration.errors import DrbotError

T = TypeVar("T")


def ack_now(ack: Ack) -> None:
    """The ack of every lazy listener: Slack hears back at once, the work runs lazily."""
    ack()


def attempt(
    drbot: Drbot,
    body: Mapping[str, Any],
    respond: Respond,
    work: Callable[[], T],
    *,
    failed: str,
    label: str | None = None,
    refusal: Callable[[DrbotError], Message] = build_error_message,
) -> T | None:
    """`work()`, or None when it did not work: a refusal (any DrbotError) is told to the clicker as
    `refusal` renders it; any other error is logged as `failed`, with a reference that the
    clicker is told along with `label` (default: the button's action id)."""
    try:
        return work()
    except DrbotError as error:
        tell_clicker(drbot, body, respond, refusal(error))
    except Exception as error:  # answered and logged here: bolt would only log a one-liner
        reference = log_failure(failed, error, drbot.redact, body)
        shown = label or f"the {body['actions'][0]['action_id']} button"
        tell_clicker(drbot, body, respond, build_failure_message(shown, reference))
    return None


def tell_clicker(drbot: Drbot, body: Mapping[str, Any], respond: Respond, message: Message) -> None:
    """`message` to the clicker alone: its text at the top of their Home when the click came from
    the Home tab, else through the click's response_url."""
    if on_home(body):
        answer_on_home(drbot.publisher, body, message.text)
    else:
        answer_privately(respond, message)


def answer_privately(respond: Respond, message: Message) -> None:
    """`message` to the clicker alone, through the click's response_url (a click with none, which
    Slack never sends, goes unanswered)."""
    if respond.response_url:
        respond(
            response_type="ephemeral",
            replace_original=False,
            text=message.text,
            blocks=message.blocks or None,
        )


def on_home(body: Mapping[str, Any]) -> bool:
    """The click came from a Home tab (its buttons carry no response_url and no message)."""
    container = body.get("container") or {}
    view = body.get("view") or {}
    return container.get("type") == "view" and view.get("type") == "home"


def answer_on_home(publisher: HomePublisher, body: Mapping[str, Any], notice: str) -> None:
    """What a click on the Home tab did, at the top of the clicker's Home, published again."""
    user = (body.get("user") or {}).get("id")
    if isinstance(user, str):
        publisher.publish(user, notice=notice)
