"""Where a schedule says what happened to a fire that did not start a drill (docs/schedules.md).

A drill that a fire starts reports through the engine's Notifier like any execution. A fire that
starts nothing — skipped because the plan is still running, missed while drbot was down, refused by
pre-flight, or a schedule disabled because its plan was deleted — is said here, in the schedule's
channel: Slack (`bot.schedule_reporter`), the console (`PrintingReporter`) or the log.
"""

from __future__ import annotations

import threading
from typing import Protocol, TextIO

from aws_lambda_powertools import Logger

from orchestration.models import Schedule

logger = Logger(service="drbot")


class ScheduleReporter(Protocol):
    """Tells the schedule's audience one sentence. Raising means "not told": the fire's outcome is
    already recorded (store and audit), so a reporter failure is logged and never undoes a fire."""

    def report(self, schedule: Schedule, message: str) -> None: ...


class LoggingReporter:
    """Nobody to tell in person: the sentence goes to the log (as a warning, to be seen)."""

    def report(self, schedule: Schedule, message: str) -> None:
        logger.warning(message, extra={"schedule_id": schedule.schedule_id, "plan_id": schedule.plan_id})


class PrintingReporter:
    """The console: one line per report under the prompt, as the console notifier prints runs."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def report(self, schedule: Schedule, message: str) -> None:
        with self._lock:
            self._stream.write(f"  [schedule {schedule.schedule_id[:8]}] {message}\n")
            self._stream.flush()


class RecordingReporter:
    """Keeps what it is told (tests and dry runs)."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, str]] = []  # (schedule id, message)
        self._lock = threading.Lock()

    def report(self, schedule: Schedule, message: str) -> None:
        with self._lock:
            self.reports.append((schedule.schedule_id, message))

    def messages(self, schedule_id: str | None = None) -> list[str]:
        with self._lock:
            return [m for sid, m in self.reports if schedule_id is None or sid == schedule_id]


def tell(reporter: ScheduleReporter, schedule: Schedule, message: str) -> None:
    """Report, never letting the reporter's failure fail the caller (it is logged instead)."""
    try:
        reporter.report(schedule, message)
    except Exception:  # the outcome is in the store and the audit trail; only the telling failed
        logger.exception("schedule report failed", extra={"schedule_id": schedule.schedule_id})
