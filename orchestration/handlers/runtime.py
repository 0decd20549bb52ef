"""The Lambda runtime's composition root: one Services per container, built on first use.

Nothing is built at import time (a cold start only pays for what a request needs). Tests and local
scripts hand in their own Services with `use()`.
"""

from __future__ import annotations

import threading

from orchestration.bootstrap import Services

_lock = threading.Lock()
_services: Services | None = None


def current_services() -> Services:
    global _services  # noqa: PLW0603 - the per-container singleton Lambda's execution model wants
    with _lock:
        if _services is None:
            # the embedded default also starts the local runner, so executions started through
            # these handlers in a plain Python process are driven to the end
            from orchestration.engine.local_runner import build_running_services

            _services = build_running_services()
        return _services


def use(services: Services | None) -> None:
    """Make the handlers use `services` (None: build from the environment on next use)."""
    global _services  # noqa: PLW0603
    with _lock:
        _services = services
