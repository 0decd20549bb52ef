"""The evidence archive's failures as the engine meets them (docs/report.md, "The archive"): the
archiver never raises whatever fails (the plan read, the rendering, the save), so the thread's updates
go on; a failed archive is retried, at most hourly, for as long as it takes; and when the report went
out before the archive was recorded, the thread is told once it is (an ARCHIVED event)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from orchestration.engine.advance import advance
from orchestration.errors import StaleVersion
from orchestration.models import (
    MAX_ARCHIVE_RETRY_SECONDS,
    ArchiveStatus,
    EventType,
    Execution,
    ExecutionEvent,
    ExecutionStatus,
    ExecutionType,
)
from orchestration.ports import ManualDriver
from orchestration.services import archiving
from orchestration.services.archiving import ARCHIVER, ReportArchiver
from orchestration.services.closing import closing_event
from tests.drills import run_until_done, start, three_tier_plan
from tests.integration.test_evidence_archive import FlakyArchive

DAY = 24 * 3600


class RecordingNotifier:
    """Every event handed to the notifier, with the execution's archive record as it was then."""

    def __init__(self) -> None:
        self.delivered: list[tuple[ExecutionEvent, Any]] = []

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None:
        self.delivered.extend((event, execution.archive) for event in events)

    def types(self) -> list[EventType]:
        return [event.type for event, _ in self.delivered]


@pytest.fixture
def drill_services(sqlite_services: Any) -> Any:
    sqlite_services.driver = ManualDriver()
    sqlite_services.notifier = RecordingNotifier()
    return sqlite_services


def test_a_renderer_that_raises_once_the_record_is_final_fails_nothing_and_is_retried(
    drill_services: Any, simulator: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = drill_services
    real = archiving.report_markdown
    calls = {"n": 0}

    def breaks_once(report: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("waves")
        return real(report)

    monkeypatch.setattr(archiving, "report_markdown", breaks_once)
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    assert run_until_done(services, clock, execution_id).done
    execution = services.store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.COMPLETED
    # every event reached the notifier, the closing one included, with the failure recorded
    assert execution.notified_through == execution.events[-1].seq
    closing = closing_event(execution)
    assert closing is not None and closing.type in services.notifier.types()
    (failure,) = [e for e in execution.events if e.type == EventType.ARCHIVE_FAILED]
    assert "KeyError" in failure.message and failure.seq > closing.seq
    record = execution.archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED and record.attempts == 1
    assert EventType.ARCHIVED in services.notifier.types() and calls["n"] == 2


def test_a_plan_read_that_raises_when_the_record_is_final_is_recorded_as_a_failure(
    drill_services: Any, simulator: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = drill_services
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    real_get_plan = services.store.get_plan

    def unreadable(plan_id: str) -> Any:
        raise OSError("the plans table is unreachable")

    for _ in range(400):  # drive to the end with the plan unreadable from the moment the run ends
        current = services.store.get_execution(execution_id)
        if closing_event(current) is not None or current.is_terminal:
            monkeypatch.setattr(services.store, "get_plan", unreadable)
        result = advance(services, execution_id)
        if result.done or services.store.get_execution(execution_id).archive is not None:
            break
        clock.advance(result.wait_seconds)
    execution = services.store.get_execution(execution_id)
    assert execution.archive is not None and execution.archive.status == ArchiveStatus.FAILED
    assert "the plans table is unreachable" in (execution.archive.error or "")
    assert execution.notified_through == execution.events[-1].seq  # delivered all the same
    assert execution.needs_driving
    monkeypatch.setattr(services.store, "get_plan", real_get_plan)
    clock.advance(MAX_ARCHIVE_RETRY_SECONDS)
    assert run_until_done(services, clock, execution_id).done
    assert services.store.get_execution(execution_id).archive.status == ArchiveStatus.ARCHIVED


def test_when_not_even_the_failure_can_be_saved_the_execution_is_handed_back_unchanged(
    drill_services: Any, simulator: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = drill_services
    flaky = FlakyArchive(tmp_path / "flaky", failures=1)
    services.archiver = ReportArchiver(flaky).bind(services)
    services.evidence = flaky
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    run_until_done(services, clock, execution_id)
    final = services.store.modify_execution(
        execution_id, lambda e: e.model_copy(update={"archive": None}), "test"
    )
    flaky.failures = 1

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the store is down")

    monkeypatch.setattr(services.store, "modify_execution", down)
    assert services.archiver.archive(final) is final  # no raise


def test_archiving_is_retried_at_most_hourly_and_still_after_a_day(
    drill_services: Any, simulator: Any, clock: Any, tmp_path: Path
) -> None:
    services = drill_services
    flaky = FlakyArchive(tmp_path / "flaky", failures=10_000)
    services.evidence = flaky
    services.archiver = ReportArchiver(flaky).bind(services)
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    for _ in range(400):
        result = advance(services, execution_id)
        if services.store.get_execution(execution_id).archive is not None:
            break
        clock.advance(result.wait_seconds)
    failed_first = clock.now()
    attempts = []
    while clock.now() - failed_first < 2 * DAY:
        result = advance(services, execution_id)
        assert not result.done and result.wait_seconds <= MAX_ARCHIVE_RETRY_SECONDS
        attempts.append(services.store.get_execution(execution_id).archive.attempts)
        clock.advance(result.wait_seconds)
    execution = services.store.get_execution(execution_id)
    record = execution.archive
    assert record is not None and record.status == ArchiveStatus.FAILED and record.retry_due
    assert execution.needs_driving
    # two days: 60 s, 120 s, ... up to an hour apart, never given up
    assert record.attempts >= 48 and attempts == sorted(attempts)
    assert record.retry_at - int(record.failed_at or 0) == MAX_ARCHIVE_RETRY_SECONDS
    # said in the thread once, not at every attempt
    assert [e.type for e in execution.events].count(EventType.ARCHIVE_FAILED) == 1
    flaky.failures = 0
    clock.advance(MAX_ARCHIVE_RETRY_SECONDS)
    assert run_until_done(services, clock, execution_id).done
    assert services.store.get_execution(execution_id).archive.status == ArchiveStatus.ARCHIVED


def test_archived_after_the_report_went_out_without_it_the_thread_is_told(
    drill_services: Any, simulator: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = drill_services
    store = services.store
    real_modify = store.modify_execution
    refusals = {"left": 0}

    def racing(execution_id: str, change: Any, actor: str, **kwargs: Any) -> Any:
        if actor == ARCHIVER and refusals["left"]:
            refusals["left"] -= 1
            raise StaleVersion("someone else saved first")
        return real_modify(execution_id, change, actor, **kwargs)

    monkeypatch.setattr(store, "modify_execution", racing)
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    for _ in range(400):  # the archiver's first save and its failure's both lose their races
        current = store.get_execution(execution_id)
        if closing_event(current) is None and current.cleanup is not None and current.is_terminal:
            refusals["left"] = 2
        result = advance(services, execution_id)
        if result.done:
            break
        clock.advance(result.wait_seconds)
    execution = store.get_execution(execution_id)
    closing = closing_event(execution)
    assert closing is not None and execution.archive is None and refusals["left"] == 0
    # the report (its closing event) went out while the archive was not recorded
    (said,) = [archive for event, archive in services.notifier.delivered if event.seq == closing.seq]
    assert said is None

    advance(services, execution_id)  # the next delivery archives it, and says so
    execution = store.get_execution(execution_id)
    assert execution.archive is not None and execution.archive.status == ArchiveStatus.ARCHIVED
    (archived,) = [e for e in execution.events if e.type == EventType.ARCHIVED]
    assert execution.archive.location in archived.message and "failed attempt" not in archived.message
    assert services.notifier.types()[-1] == EventType.ARCHIVED
    assert EventType.ARCHIVE_FAILED not in services.notifier.types()


def test_archived_before_the_report_went_out_no_event_is_added(
    drill_services: Any, simulator: Any, clock: Any
) -> None:
    services = drill_services
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    run_until_done(services, clock, execution_id)
    execution = services.store.get_execution(execution_id)
    assert execution.archive is not None and execution.archive.status == ArchiveStatus.ARCHIVED
    assert EventType.ARCHIVED not in [e.type for e in execution.events]
