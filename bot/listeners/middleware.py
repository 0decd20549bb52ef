"""What bolt runs around every listener: the global middleware that puts the request's Slack user
on every log line, and the global error handler (the app is built with
`raise_error_for_unhandled_request`, so a request no listener is for reaches it too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse, Respond
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk import WebClient

from bot.listeners.context import CONTEXT_KEY, Drbot
from bot.listeners.errors import (
    CORRELATION_KEYS,
    Redactor,
    answer_unhandled,
    correlation_keys,
    log_failure,
    logger,
)


def register(app: App) -> None:
    """Bolt's global error handler: whatever a listener or middleware raised is logged, redacted;
    a request no listener is for is answered (`answer_unhandled`); and a global middleware puts the
    request's Slack user on every log line it writes."""
    app.error(on_error)
    app.middleware(correlate)


def on_error(
    error: Exception, body: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> BoltResponse | None:
    redact = _redactor(context, client)
    if isinstance(error, BoltUnhandledRequestError):
        return answer_unhandled(body, respond, client, redact)
    log_failure("unhandled error in a Slack listener", error, redact, body)
    return None


def correlate(body: dict[str, Any], next: Callable[[], Any]) -> Any:  # bolt passes them by name
    # Thread-local keys, so concurrent requests (drbot serve) never swap their users. They are
    # replaced, not removed afterwards: bolt's next() returns before the listener runs.
    logger.thread_safe_remove_keys(CORRELATION_KEYS)
    logger.thread_safe_append_keys(**correlation_keys(body))
    return next()


def _redactor(context: BoltContext, client: WebClient) -> Redactor:
    """The app's redactor; before drbot's first middleware ran (an error in bolt's own), at least
    the client's token."""
    drbot = context.get(CONTEXT_KEY)
    return drbot.redact if isinstance(drbot, Drbot) else Redactor.of([client.token])
