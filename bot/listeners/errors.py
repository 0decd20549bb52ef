"""The one way a listener logs a failure (with a reference the user also sees, with the fields that
locate the request, and never a secret), and the answer to a request no listener is for (the error
handler in bot/listeners/middleware.py gives it).

A request body is never logged whole: it carries Slack's legacy verification `token`, and its
`response_url` lets anyone post into the channel for half an hour.
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from slack_bolt import BoltResponse, Respond
from slack_sdk import WebClient

logger = Logger(service="drbot")

REDACTED = "***"
CORRELATION_KEYS = ("slack_user", "slack_team", "slack_channel")
MAX_LOGGED_TEXT = 500


@dataclass(frozen=True)
class Redactor:
    """Replaces every known secret value (bot token, signing secret, app token) in a text."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Redactor:
        return cls(tuple(value for value in values if value))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def request_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """What identifies a Slack request in the logs: kind, command or action ids, user, channel."""
    user = body.get("user")
    channel = body.get("channel")
    fields: dict[str, Any] = {
        "slack_request": body.get("type") or ("slash_command" if "command" in body else "unknown"),
        "command": body.get("command"),
        "text": str(body["text"])[:MAX_LOGGED_TEXT] if "text" in body else None,
        "action_ids": [a.get("action_id") for a in body.get("actions", []) if isinstance(a, Mapping)] or None,
        "callback_id": (body.get("view") or {}).get("callback_id"),
        "user_id": body.get("user_id") or (user.get("id") if isinstance(user, Mapping) else None),
        "channel_id": body.get("channel_id") or (channel.get("id") if isinstance(channel, Mapping) else None),
        "team_id": body.get("team_id") or (body.get("team") or {}).get("id"),
    }
    return {name: value for name, value in fields.items() if value is not None}


def log_failure(what: str, error: BaseException, redact: Redactor, body: Mapping[str, Any]) -> str:
    """Log `error` (redacted, with its traceback) and return the reference to show the user."""
    reference = uuid.uuid4().hex[:12]
    logger.error(
        what,
        extra={
            "reference": reference,
            "error_type": type(error).__name__,
            "error": redact(str(error)),
            "traceback": redact("".join(traceback.format_exception(error))),
            **request_fields(body),
        },
    )
    return reference


def correlation_keys(body: Mapping[str, Any]) -> dict[str, str]:
    """The keys every log line of a Slack request carries: who (Slack user), where (team, channel)."""
    fields = request_fields(body)
    values = (fields.get("user_id"), fields.get("team_id"), fields.get("channel_id"))
    return {name: str(value) for name, value in zip(CORRELATION_KEYS, values, strict=True) if value}


def tell_privately(
    respond: Respond, client: WebClient, redact: Redactor, body: Mapping[str, Any], text: str
) -> None:
    """`text` to the person who clicked alone: through the click's response_url when it has one (a
    message), else ephemerally in its channel; a click with neither is only logged."""
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    try:
        if body.get("response_url"):
            respond(response_type="ephemeral", replace_original=False, text=text)
        elif channel and user:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            log_failure("a click could not be answered", ValueError(text), redact, body)
    except Exception as error:  # the person cannot be told any other way: log it
        log_failure("a click could not be answered", error, redact, body)


UNKNOWN_BUTTON = (
    "drbot does not know this button (`{action_id}`): the message may come from an older drbot. "
    "Nothing changed; type `/dr help` for what drbot can do now."
)
UNKNOWN_FORM = (
    "drbot does not know this form (`{callback_id}`): it may come from an older drbot. Nothing was "
    "saved; close it and open it again from `/dr`."
)
UNKNOWN_COMMAND = "drbot does not answer `{command}`: its command is `/dr` (try `/dr help`). Nothing changed."


def answer_unhandled(
    body: Mapping[str, Any], respond: Respond, client: WebClient, redact: Redactor
) -> BoltResponse:
    """The answer to a well-formed request no listener is for (a button, form or command of an
    older or other app, an event drbot did not subscribe to): acked, never bolt's 404 (which Slack
    shows as an error and, for events, retries), and the person told privately what happened."""
    logger.info("Slack request no listener is for", extra=request_fields(body))
    kind = body.get("type")
    if "command" in body:
        text = UNKNOWN_COMMAND.format(command=str(body["command"])[:40])
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
    if kind == "block_actions":
        action_id = str(((body.get("actions") or [{}])[0]).get("action_id", ""))[:80]
        tell_privately(respond, client, redact, body, UNKNOWN_BUTTON.format(action_id=action_id))
    elif kind == "view_submission":
        callback_id = str((body.get("view") or {}).get("callback_id", ""))[:80]
        return BoltResponse(
            status=200,
            body={
                "response_action": "update",
                "view": _notice_view(UNKNOWN_FORM.format(callback_id=callback_id)),
            },
        )
    elif kind == "block_suggestion":
        return BoltResponse(status=200, body={"options": []})
    return BoltResponse(status=200, body="")


def _notice_view(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "drbot"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
