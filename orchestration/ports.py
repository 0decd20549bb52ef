"""The engine's ports: where domain events go (Notifier), what drives `advance` (Driver), what
wakes an execution at a future moment (WakeUps), and where a final evidence report is archived
(EvidenceArchive, and the Archiver the engine calls before delivering events).

They know only the domain model; `Services` (orchestration/context.py) holds one of each, with the
store, DRS, AWS, directory, clock and recurring-task ports (docs/architecture.md)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from orchestration.models import Execution, ExecutionEvent


class Notifier(Protocol):
    """Receives each event of an execution at least once, in order (dedupe by `event.seq`).

    Raising means "not delivered": the events stay in the execution's outbox and are offered again
    on the next tick. A notifier never blocks or fails the execution."""

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None: ...


class Flushes(Protocol):
    """A notifier whose deliveries are queued (`deliver` returns at once) until `flush`: in a
    Lambda invocation, the invocation's end. `flush` waits at most `timeout` seconds and returns
    the executions whose events it could not deliver; it gave them back (their delivery cursor
    moved back), so the engine offers them again on the next tick."""

    def flush(self, timeout: float) -> list[str]: ...


_deferred: weakref.WeakSet[Flushes] = weakref.WeakSet()
_deferred_lock = threading.Lock()


def defer_until_flushed(notifier: Flushes) -> None:
    """Have `flush_deferred` (called when a Lambda invocation ends) flush `notifier`."""
    with _deferred_lock:
        _deferred.add(notifier)


def flush_deferred(timeout: float) -> list[str]:
    """Flush every deferred notifier of this process (see Flushes); the executions given back."""
    with _deferred_lock:
        notifiers = list(_deferred)
    left: list[str] = []
    for notifier in notifiers:
        left.extend(notifier.flush(timeout))
    return left


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

    def wake(self, execution: Execution) -> bool:
        """Something changed (resume, cancel, a DRS event): tick soon, releasing the wait recorded on
        `execution` (its task token). True if a tick is now due at once; False if no wait was
        released (none recorded, or its token spent): the caller records a pending wake."""
        ...

    def close(self) -> None:
        """Stop driving from this process (the store keeps what is left to do)."""
        ...


class EventSource(Protocol):
    """Where a local driver finds the events DRS sends to EventBridge (the simulator on the embedded
    default): each event delivered in (since, until], by delivery time, as EventBridge sends it."""

    def events_due(self, since: float, until: float) -> list[dict[str, Any]]: ...


class ManualDriver:
    """Drives nothing: the caller calls `advance` itself (tests, benchmarks, scripts)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.woken: list[str] = []

    def start(self, execution: Execution) -> Execution:
        self.started.append(execution.execution_id)
        return execution

    def wake(self, execution: Execution) -> bool:
        self.woken.append(execution.execution_id)
        return True

    def close(self) -> None:
        return None


WAKE_EXPIRY = "expiry"  # a run request's approval deadline (Execution.expires_at)
WAKE_START = "start"  # an approved run's start grace: started by then, or started by the wake-up
WAKE_GATE = "gate"  # an unattended drill's gate deadline (Execution.gate_deadline)
WAKE_REASONS = (WAKE_EXPIRY, WAKE_START, WAKE_GATE)


class WakeUps(Protocol):
    """One-time wake-ups of one execution at a future moment (docs/engine.md, "Wake-ups").

    A wake-up is created before the write that makes its moment matter and cancelled when the moment
    is moot; when it fires, the woken handler re-reads the execution and acts only if the moment is
    really due (else it re-arms or does nothing), so a stray or early wake-up changes nothing. One
    wake-up per (execution, reason): `at` again moves it. EventBridge Scheduler `at()` schedules on
    AWS, the local runner on the embedded default."""

    def at(self, execution_id: str, when: int, reason: str) -> None:
        """Wake `execution_id` for `reason` at epoch second `when` (at once if that has passed).
        Raises if the wake-up could not be created: the caller must not write without it."""
        ...

    def cancel(self, execution_id: str, reason: str) -> None:
        """Forget the wake-up (gone already is fine). Never raises: a wake-up left behind is
        harmless."""
        ...


class NoWakeUps:
    """Nothing wakes anything (tests and scripts that call `wake` themselves); remembers what it
    was asked, so a test can see it."""

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str], int] = {}

    def at(self, execution_id: str, when: int, reason: str) -> None:
        self.pending[(execution_id, reason)] = when

    def cancel(self, execution_id: str, reason: str) -> None:
        self.pending.pop((execution_id, reason), None)


@dataclass(frozen=True)
class StoredCopy:
    """One archived copy: where it is and its bytes as stored."""

    location: str  # a file path, or s3://bucket/key
    content: bytes
    existed: bool = False  # a copy was there before this write (of the same bytes, or adopted)
    version_id: str | None = None  # S3: the object version holding these bytes
    checksum_sha256: str | None = None  # S3: its own base64 SHA-256 checksum of the object


class CopyExists(Exception):
    """A write-once copy is already there with other bytes: the write is refused; `existing` is it."""

    def __init__(self, existing: StoredCopy) -> None:
        super().__init__(f"{existing.location} already holds another copy; it is kept as written")
        self.existing = existing


class EvidenceArchive(Protocol):
    """Where final evidence reports are kept, each copy written once (docs/report.md, "The
    archive"): a folder under the data directory on the embedded default, an S3 bucket on AWS."""

    def location(self, plan_id: str, execution_id: str) -> str:
        """Where an execution's copies go (a folder, or an s3:// prefix)."""
        ...

    def write_once(self, plan_id: str, execution_id: str, name: str, content: bytes) -> StoredCopy:
        """Write `content` as `name` (`report.md`, `report.json`) unless a copy is there: the same
        bytes are taken as written (`existed`); other bytes raise CopyExists. Other errors raise."""
        ...

    def read(self, plan_id: str, execution_id: str, name: str) -> StoredCopy | None:
        """The copy as stored now (None: there is none)."""
        ...

    def read_at(self, location: str, version_id: str | None = None) -> StoredCopy | None:
        """The copy at `location` as recorded on an execution when it was written (a file path, an
        s3:// URL; not where this archive writes now), of version `version_id` when given (S3; None:
        the latest). None: there is none. ValueError: not a location this kind of archive reads."""
        ...


class Archiver(Protocol):
    """What archives an execution's evidence report once its record is final; called with every
    execution before its events go to the notifier (engine `deliver`), so the report in the thread
    can say where the copy is. Never raises: a failure is recorded on the execution and retried."""

    def archive(self, execution: Execution) -> Execution: ...


class NoArchiver:
    """Nothing is archived (no evidence store configured, and tests that do not look)."""

    def archive(self, execution: Execution) -> Execution:
        return execution
