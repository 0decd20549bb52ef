"""What every listener gets through bolt's context: drbot's services and the parts of the app it
answers with (`Drbot`), put there by the first global middleware, `ProvideDrbot`. Listeners are
plain module-level functions that read it with `drbot_of(context)`.

Lazy listeners get it too: on Lambda, the lazy listener's own invocation runs the middleware again;
elsewhere bolt deep-copies the request's context for the lazy listener, and a `Drbot` copies as
itself (the services, their store and their locks are shared, never copied).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.listeners.errors import Redactor
from orchestration.context import Services

if TYPE_CHECKING:
    from bot.app_home import HomePublisher
    from bot.commands.registry import CommandRegistry
    from scheduler.backends.port import ScheduleBackend

CONTEXT_KEY = "drbot"


def store_only() -> ScheduleBackend:
    """The schedule backend of a process that fires no schedules itself: the store alone."""
    from scheduler.backends.port import StoreOnlyBackend

    return StoreOnlyBackend()


@dataclass(frozen=True)
class Drbot:
    """The services the listeners call, and the parts of the Slack app they answer through."""

    services: Services
    # the app's own client: bolt's per-request copy adds `team_id` to every call, which only an
    # org-wide (Enterprise Grid) install needs
    client: WebClient
    publisher: HomePublisher
    redact: Redactor = field(default_factory=Redactor)
    # builds what schedule changes are registered with (bot/app.py chooses it), on first use
    schedule_backend: Callable[[], ScheduleBackend] = field(default=store_only)
    given_registry: CommandRegistry | None = None  # None: drbot's own, built by the first command

    @cached_property
    def schedules(self) -> ScheduleBackend:
        """The schedule backend, built by the first slash command or schedule button (they hand it
        to what they call): a click on anything else, a form or an event loads no scheduler module
        (docs/architecture.md, "Import cost")."""
        return self.schedule_backend()

    @cached_property
    def registry(self) -> CommandRegistry:
        """The `/dr` commands: the given registry, else drbot's, whose command modules and views are
        imported by the first slash command (a click or an event needs none of them)."""
        if self.given_registry is not None:
            return self.given_registry
        from bot.commands import build_registry

        return build_registry()

    def __deepcopy__(self, memo: dict[int, Any]) -> Drbot:
        return self  # shared by the lazy listeners bolt runs on copies of the request


class ProvideDrbot(Middleware):
    """The first global middleware: puts the `Drbot` into the request's context. It reads nothing
    of the request, so it comes before the shape check (bot/listeners/guard.py)."""

    def __init__(self, drbot: Drbot) -> None:
        self.drbot = drbot

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        req.context[CONTEXT_KEY] = self.drbot
        return next()


def drbot_of(context: BoltContext) -> Drbot:
    """The `Drbot` of the request (`ProvideDrbot` put it there)."""
    drbot = context.get(CONTEXT_KEY)
    if not isinstance(drbot, Drbot):
        raise RuntimeError("no drbot in the request's context: build the app with bot.app.build_app")
    return drbot
