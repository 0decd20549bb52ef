"""The console notifier: one indented, timed line per event, each event once."""

from __future__ import annotations

import io
import threading
from datetime import UTC, timedelta, timezone

from bot.console_notifier import ConsoleNotifier
from orchestration.engine.ports import Notifier
from orchestration.models import EventType, Execution, ExecutionStatus, ExecutionType

T0 = 1_767_225_600 + 12 * 3600 + 3 * 60 + 15  # 2026-01-01T12:03:15Z


def execution(execution_id: str = "e-1", events: int = 3) -> Execution:
    run = Execution(
        execution_id=execution_id,
        plan_id="p",
        plan_name="Prod DR",
        execution_type=ExecutionType.DRILL,
        status=ExecutionStatus.RUNNING,
        initiated_by="alice",
        requested_at=T0,
    )
    messages = [
        "Drill of Prod DR started: 3 wave(s)",
        "Wave 1 (Database) launching 2 server(s): db-primary-01, db-replica-01",
        "Wave 2 (App) launching 3 server(s): app-1, app-2, app-3",
        "Wave 2 (App) completed: 3 of 3 server(s) launched in 30s",
    ]
    for index in range(events):
        run = run.with_event(EventType.WAVE_PROGRESS, T0 + 10 * index, messages[index])
    return run


def test_each_event_is_an_indented_timed_line():
    out = io.StringIO()
    notifier: Notifier = ConsoleNotifier(out, tz=UTC)
    run = execution()
    notifier.deliver(run, run.events)
    assert out.getvalue().splitlines() == [
        "  [12:03:15] Drill of Prod DR started: 3 wave(s)",
        "  [12:03:25] Wave 1 (Database) launching 2 server(s): db-primary-01, db-replica-01",
        "  [12:03:35] Wave 2 (App) launching 3 server(s): app-1, app-2, app-3",
    ]


def test_events_delivered_again_are_printed_once():
    out = io.StringIO()
    notifier = ConsoleNotifier(out, tz=UTC)
    first = execution(events=2)
    notifier.deliver(first, first.events)
    notifier.deliver(first, first.events)  # the outbox offers them again after a failed cursor save
    later = execution(events=4)
    notifier.deliver(later, later.events)  # seq 1-2 again, 3-4 new
    other = execution("e-2", events=1)
    notifier.deliver(other, other.events)  # another execution's seq 1 is its own
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert lines.count("  [12:03:15] Drill of Prod DR started: 3 wave(s)") == 2
    assert lines[3] == "  [12:03:45] Wave 2 (App) completed: 3 of 3 server(s) launched in 30s"


def test_time_zone_and_concurrent_deliveries():
    out = io.StringIO()
    notifier = ConsoleNotifier(out, tz=timezone(timedelta(hours=2)))
    run = execution(events=4)
    threads = [threading.Thread(target=notifier.deliver, args=(run, run.events)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[0].startswith("  [14:03:15] ")
    assert (
        ConsoleNotifier(io.StringIO()).line(run.events[0]).endswith("] Drill of Prod DR started: 3 wave(s)")
    )
