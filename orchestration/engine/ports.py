"""The engine's ports: where domain events go (Notifier) and what drives `advance` (Driver)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from orchestration.models import Execution, ExecutionEvent


class Notifier(Protocol):
    """Receives each event of an execution at least once, in order (dedupe by `event.seq`).

    Raising means "not delivered": the events stay in the execution's outbox and are offered again
    on the next tick. A notifier never blocks or fails the execution."""

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None: ...


class NullNotifier:
    """Nobody listening (the seed API without Slack); events stay in the execution's log."""

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None:
        return None


class RecordingNotifier:
    """Keeps what it is given, for tests; `fail_next` simulates a notifier outage."""

    def __init__(self) -> None:
        self.received: list[tuple[str, ExecutionEvent]] = []
        self.fail_next = 0
        self._lock = threading.Lock()

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None:
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("notifier unavailable (simulated)")
            self.received.extend((execution.execution_id, e) for e in events)

    def events(self, execution_id: str) -> list[ExecutionEvent]:
        """Delivered events of one execution, each once, in sequence order."""
        with self._lock:
            unique = {e.seq: e for eid, e in self.received if eid == execution_id}
        return [unique[seq] for seq in sorted(unique)]


class CompositeNotifier:
    """Several notifiers (console and Slack, say); each one's failure is its own."""

    def __init__(self, *notifiers: Notifier) -> None:
        self.notifiers = notifiers

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None:
        failures: list[Exception] = []
        for notifier in self.notifiers:
            try:
                notifier.deliver(execution, events)
            except Exception as exc:  # one notifier's outage must not hide the others
                failures.append(exc)
        if failures:
            raise failures[0]


class Driver(Protocol):
    """What calls `advance` for an execution until it is done: Step Functions on AWS, the local
    runner in the embedded default, the test itself in tests."""

    def start(self, execution: Execution) -> Execution:
        """Begin driving a PENDING execution; returns it (perhaps with stateMachineArn recorded)."""
        ...

    def wake(self, execution: Execution) -> None:
        """Something changed (resume, cancel): tick soon, and release a PAUSED wait."""
        ...

    def close(self) -> None:
        """Stop driving from this process (the store keeps what is left to do)."""
        ...


class ManualDriver:
    """Drives nothing: the caller calls `advance` itself (tests, benchmarks, scripts)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.woken: list[str] = []

    def start(self, execution: Execution) -> Execution:
        self.started.append(execution.execution_id)
        return execution

    def wake(self, execution: Execution) -> None:
        self.woken.append(execution.execution_id)

    def close(self) -> None:
        return None
