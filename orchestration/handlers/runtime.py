"""The Lambda runtime's composition root: one Services per container, built on first use.

Nothing is built at import time (a cold start only pays for what a request needs). Tests and local
scripts hand in their own Services with `use()`.

Where execution events go is configuration, not an import: DRBOT_NOTIFIER names a factory
`module:function` taking (Settings, Clock) and returning a Notifier (or None: nobody to tell), e.g.
`bot.slack_notifier:notifier_from_settings` — so orchestration never imports the Slack side. A
notifier with a `bind(services)` method is given the built services (it keeps its own state on the
executions). Where the tag-sync schedule is registered is configured the same way: DRBOT_RECURRING_TASKS
names a factory `module:function` taking the Services (orchestration/recurring.py).
"""

from __future__ import annotations

import os
import pkgutil
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from orchestration.clock import Clock, SystemClock
from orchestration.config import ENV_NOTIFIER, Settings
from orchestration.context import Services
from orchestration.errors import ValidationFailed
from orchestration.observability import with_metrics
from orchestration.ports import Notifier
from orchestration.recurring import ENV_RECURRING_TASKS, RecurringTasks

_lock = threading.Lock()
_services: Services | None = None


@runtime_checkable
class BindsServices(Protocol):
    """A notifier that needs the services it reports for (e.g. to keep its state in the store)."""

    def bind(self, services: Services) -> object: ...


def current_services() -> Services:
    global _services  # noqa: PLW0603 - the per-container singleton Lambda's execution model wants
    with _lock:
        if _services is None:
            # the embedded default also starts the local runner, so executions started through
            # these handlers in a plain Python process are driven to the end
            from orchestration.bootstrap import build_running_services

            settings = Settings.from_env()
            clock = SystemClock()
            notifier = load_notifier(settings, clock)
            # the events a notifier is given also become CloudWatch metrics (orchestration/observability.py)
            metered = with_metrics(notifier) if notifier is not None else None
            _services = build_running_services(settings, notifier=metered, clock=clock)
            if isinstance(notifier, BindsServices):
                notifier.bind(_services)
            recurring = load_recurring_tasks(_services, os.environ.get(ENV_RECURRING_TASKS))
            if recurring is not None:
                _services.recurring = recurring
        return _services


def load_notifier(settings: Settings, clock: Clock) -> Notifier | None:
    """The notifier DRBOT_NOTIFIER's factory builds (None when it is not set or builds none)."""
    if not settings.notifier:
        return None
    notifier: Notifier | None = _factory(ENV_NOTIFIER, settings.notifier)(settings, clock)
    return notifier


def use(services: Services | None) -> None:
    """Make the handlers use `services` (None: build from the environment on next use)."""
    global _services  # noqa: PLW0603
    with _lock:
        _services = services


def load_recurring_tasks(services: Services, name: str | None) -> RecurringTasks | None:
    """The implementation the factory `name` (`module:function`) builds for `services`; None when no
    name is given or the factory builds none."""
    if not name:
        return None
    if ":" not in name:
        raise ValidationFailed(
            f"{ENV_RECURRING_TASKS} must name a factory as `module:function`, not '{name}'"
        )
    tasks: RecurringTasks | None = _factory(ENV_RECURRING_TASKS, name)(services)
    return tasks


def _factory(variable: str, name: str) -> Callable[..., Any]:
    """The function `name` (`module:function`) that the environment variable `variable` names."""
    try:
        factory = pkgutil.resolve_name(name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValidationFailed(
            f"{variable} names `{name}`, which cannot be loaded ({type(exc).__name__}: "
            f"{exc}); it must be `module:function` of an installed module"
        ) from exc
    if not callable(factory):
        raise ValidationFailed(f"{variable} names `{name}`, which is not a function")
    return factory  # type: ignore[no-any-return]
