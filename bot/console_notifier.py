"""Execution events in the console, as they happen: the console's version of a Slack thread.

Each event is one indented line under whatever was typed last:

      [12:03:15] Wave 2 (App) launching 3 server(s): app-orders-01, app-orders-02, app-inventory-02

Events arrive at least once and in order (the Notifier port); one already printed is not printed
again. Lines are written whole under a lock, since the local runner delivers from its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TextIO

from orchestration.models import Execution, ExecutionEvent

INDENT = "  "


class ConsoleNotifier:
    """The Notifier port for the console: one line per event (`tz`: None is the local time zone)."""

    def __init__(self, out: TextIO, tz: tzinfo | None = None) -> None:
        self.out = out
        self.tz = tz
        self._printed_through: dict[str, int] = {}  # execution id -> last seq printed
        self._lock = threading.Lock()

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None:
        with self._lock:
            last = self._printed_through.get(execution.execution_id, 0)
            fresh = [e for e in sorted(events, key=lambda e: e.seq) if e.seq > last]
            if not fresh:
                return
            self.out.write("".join(self.line(e) + "\n" for e in fresh))
            self.out.flush()
            self._printed_through[execution.execution_id] = fresh[-1].seq

    def line(self, event: ExecutionEvent) -> str:
        at = datetime.fromtimestamp(event.at, self.tz)
        return f"{INDENT}[{at:%H:%M:%S}] {event.message}"
