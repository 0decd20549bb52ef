"""The composition root for Slack: one bolt App over the given Services, its listeners registered by
`bot.listeners.register`, what they need put in bolt's context (bot/listeners/context.py).

Explicit arguments beat Settings (which read SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN
and SLACK_API_URL); this is the only place their `SecretStr`s are unwrapped.

Building the App calls `auth.test` once (bolt's token verification) through the app's WebClient,
whose base URL is SLACK_API_URL when set (GovSlack, Enterprise proxies, the tests' loopback stub);
tests that pass `token_verification=False` still meet `auth.test` on the first request, through the
same client.

When the roles name Slack user groups and the services know no directory yet, the app's client
becomes the services' directory (bot/slack_directory.py), so group members get their roles.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from functools import partial
from typing import TYPE_CHECKING

from pydantic import SecretStr
from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.app_home import HomePublisher, remember_publisher
from bot.listeners.context import Drbot, ProvideDrbot, store_only
from bot.listeners.errors import Redactor
from bot.slack_api import api_base_url
from bot.slack_directory import SlackDirectory, usergroups_named
from bot.slack_logging import bolt_logger
from orchestration.config import ENV_SLACK_APP_TOKEN, ENV_SLACK_BOT_TOKEN, ENV_SLACK_SIGNING_SECRET, Settings
from orchestration.context import Services
from orchestration.directory import NoDirectory
from orchestration.errors import ValidationFailed

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.commands.registry import CommandRegistry
    from scheduler.backends.port import ScheduleBackend

# not "drbot": bolt resets the level of the logger named after the app on every request, and
# "drbot" is the one powertools writes drbot's own lines through (bot/slack_logging.py)
APP_NAME = "drbot-slack"


def build_app(
    services: Services,
    *,
    token: str | SecretStr | None = None,
    signing_secret: str | SecretStr | None = None,
    process_before_response: bool = False,
    client: WebClient | None = None,
    registry: CommandRegistry | None = None,
    token_verification: bool = True,
    socket_mode: bool = False,
    listener_executor: Executor | None = None,
    schedules: ScheduleBackend | None = None,
) -> App:
    """The Slack app. `client` (its token wins over `token`) lets a caller choose the Web API end;
    `process_before_response` is for Lambda; `socket_mode` needs no signing secret;
    `listener_executor` runs listeners and lazy listeners (default: bolt's thread pool; the console
    passes one that runs them inline, so each request is finished when `dispatch` returns);
    `schedules`: the backend schedule changes are registered with (`schedule_backend` unless given:
    a process that fires schedules itself, the console or `drbot serve`, hands in its own)."""
    settings = services.settings
    bot_token = _reveal(token) or _reveal(settings.slack_bot_token)
    secret = _reveal(signing_secret) or _reveal(settings.slack_signing_secret)
    if client is None:
        if not bot_token:
            raise ValidationFailed(f"Slack needs a bot token: set {ENV_SLACK_BOT_TOKEN}")
        client = WebClient(token=bot_token, base_url=api_base_url(settings))
    elif not client.token:
        raise ValidationFailed("the WebClient given to build_app has no token")
    if not secret:
        if not socket_mode:
            raise ValidationFailed(f"Slack needs the app's signing secret: set {ENV_SLACK_SIGNING_SECRET}")
        # Socket Mode requests are not signed (bolt skips verification for them); a random secret
        # makes sure no unsigned HTTP request could ever pass as one from Slack
        secret = os.urandom(32).hex()
    app = App(
        name=APP_NAME,
        logger=bolt_logger(),
        client=client,
        signing_secret=secret,
        process_before_response=process_before_response,
        token_verification_enabled=token_verification,
        listener_executor=listener_executor,
        raise_error_for_unhandled_request=True,  # answered by errors.answer_unhandled, never a 404
    )
    if usergroups_named(settings.roles) and isinstance(services.directory, NoDirectory):
        services.directory = SlackDirectory(
            client, settings.roles, services.clock, settings.usergroup_cache_seconds
        )
    publisher = HomePublisher(client, services)
    remember_publisher(app, publisher)
    redact = Redactor.of([client.token, bot_token, secret, _reveal(settings.slack_app_token)])
    app.middleware(
        ProvideDrbot(
            Drbot(
                services,
                client,
                publisher,
                redact,
                (lambda: schedules) if schedules is not None else partial(schedule_backend, settings),
                given_registry=registry,
            )
        )
    )
    listeners.register(app)
    return app


def schedule_backend(settings: Settings) -> ScheduleBackend:
    """Where this app's schedule changes go when no backend is handed in: on AWS, EventBridge
    Scheduler (imported, built and its settings checked when a change first needs it); elsewhere
    the store alone, which the next local backend reads when it starts."""
    if settings.backend == "aws":
        from scheduler.backends.eventbridge import backend_on_first_use

        return backend_on_first_use(settings)
    return store_only()


def socket_mode_handler(app: App, settings: Settings) -> SocketModeHandler:
    """Socket Mode over slack_sdk's built-in WebSocket client (no extra dependency)."""
    app_token = _reveal(settings.slack_app_token)
    if not app_token:
        raise ValidationFailed(f"Socket Mode needs an app-level token (xapp-…): set {ENV_SLACK_APP_TOKEN}")
    from slack_bolt.adapter.socket_mode import SocketModeHandler  # not needed on Lambda

    return SocketModeHandler(app, app_token)


def _reveal(value: str | SecretStr | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
