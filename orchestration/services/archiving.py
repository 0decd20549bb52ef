"""Archiving an execution's evidence report once its record is final (docs/report.md, "The archive").

`ReportArchiver` is the Archiver the composition root gives the engine: `deliver` hands it every
execution before its events go to the notifier, so it runs wherever executions are driven (the
Step Functions tasks on AWS, the local runner on the embedded default) and the report in the thread
can print the copy's SHA-256. When `closing_event` says the record is final and nothing is archived
yet, it renders the report as it stands at that closing event — Markdown and JSON, nothing cut,
`generatedAt` the closing event's time and the timeline through it, so every attempt renders the
same bytes — writes each copy once (EvidenceArchive), and saves the SHA-256 of each and where they
are on the execution, with a version check. Twice is harmless: a copy already there with the same
bytes is taken as written, one with other bytes (a plan edited between a crash and the retry) is
kept as it is and its hash recorded; a record already ARCHIVED is left alone.

A failure never fails the run: it is recorded on the execution (`archive`, FAILED, with the error
and the attempts), said in the thread (an ARCHIVE_FAILED event, on the first failure and when it
gives up), and tried again by the tick after ARCHIVE_RETRY_SECONDS, doubling (the execution keeps
needing driving until then); a success after a failure is an ARCHIVED event.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from orchestration.context import Services
from orchestration.errors import StaleVersion
from orchestration.evidence import JSON_NAME, MARKDOWN_NAME
from orchestration.models import (
    MAX_ARCHIVE_ATTEMPTS,
    ArchiveStatus,
    EventType,
    EvidenceArchiveRecord,
    Execution,
    ExecutionEvent,
)
from orchestration.ports import CopyExists, EvidenceArchive, StoredCopy
from orchestration.services.closing import closing_event
from orchestration.services.report import evidence_report, plan_of
from orchestration.services.report_text import report_json, report_markdown

logger = logging.getLogger(__name__)

ARCHIVER = "archiver"  # the actor of the archive's writes
MAX_ERROR = 500


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def archived_report(services: Services, execution: Execution, closing: ExecutionEvent) -> tuple[bytes, bytes]:
    """The report's Markdown and JSON bytes as archived: the record as it stood at its closing event."""
    through = execution.model_copy(update={"events": [e for e in execution.events if e.seq <= closing.seq]})
    report = evidence_report(through, plan_of(services, execution), generated_at=closing.at)
    return report_markdown(report).encode("utf-8"), (report_json(report) + "\n").encode("utf-8")


def _write(evidence: EvidenceArchive, execution: Execution, name: str, content: bytes) -> StoredCopy:
    try:
        return evidence.write_once(execution.plan_id, execution.execution_id, name, content)
    except CopyExists as refused:  # an earlier attempt's copy: it is the archive, as written
        logger.warning(
            "an archived copy with other bytes is kept as written",
            extra={"execution_id": execution.execution_id, "location": refused.existing.location},
        )
        return refused.existing


class ReportArchiver:
    """See the module docstring. `bind` it to the services it archives for (the composition root)."""

    def __init__(self, evidence: EvidenceArchive) -> None:
        self.evidence = evidence
        self._services: Services | None = None

    def bind(self, services: Services) -> ReportArchiver:
        self._services = services
        return self

    def due(self, execution: Execution, now: int) -> bool:
        record = execution.archive
        if record is not None and not (record.retry_due and now >= record.retry_at):
            return False
        return closing_event(execution) is not None

    def archive(self, execution: Execution) -> Execution:
        services = self._services
        if services is None:
            return execution
        now = int(services.clock.now())
        if not self.due(execution, now):
            return execution
        closing = closing_event(execution)
        assert closing is not None  # due() says so
        markdown, json_bytes = archived_report(services, execution, closing)  # the store's errors go up
        try:
            md_copy = _write(self.evidence, execution, MARKDOWN_NAME, markdown)
            json_copy = _write(self.evidence, execution, JSON_NAME, json_bytes)
        except Exception as error:  # the archive's outage never fails the run: recorded, retried
            logger.warning(
                "archiving the evidence report failed; retried later",
                extra={"execution_id": execution.execution_id},
                exc_info=True,
            )
            reason = (f"{type(error).__name__}: {error}")[:MAX_ERROR]
            return self._save(execution, lambda current: _failed(current, reason, now))
        record = EvidenceArchiveRecord(
            status=ArchiveStatus.ARCHIVED,
            location=self.evidence.location(execution.plan_id, execution.execution_id),
            markdown_location=md_copy.location,
            json_location=json_copy.location,
            markdown_sha256=sha256(md_copy.content),
            json_sha256=sha256(json_copy.content),
            archived_at=now,
            attempts=execution.archive.attempts if execution.archive else 0,
        )
        return self._save(execution, lambda current: _archived(current, record, now))

    def _save(self, execution: Execution, change: Callable[[Execution], Execution]) -> Execution:
        services = self._services
        assert services is not None
        try:
            return services.store.modify_execution(
                execution.execution_id, change, ARCHIVER, action="archive", attempts=3
            )
        except StaleVersion:  # others kept writing: the next delivery tries again (same bytes)
            return execution


def _archived(current: Execution, record: EvidenceArchiveRecord, now: int) -> Execution:
    if current.archive is not None and current.archive.status == ArchiveStatus.ARCHIVED:
        return current  # another writer archived it first (the same bytes)
    updated = current.model_copy(update={"archive": record})
    if current.archive is None:  # the first attempt: the report says where the copy is
        return updated
    return updated.with_event(
        EventType.ARCHIVED,
        now,
        f"Evidence report archived after {current.archive.attempts} failed attempt(s): "
        f"{record.location} (Markdown SHA-256 {record.markdown_sha256})",
        sha256=record.markdown_sha256,
        jsonSha256=record.json_sha256,
        location=record.location,
    )


def _failed(current: Execution, reason: str, now: int) -> Execution:
    if current.archive is not None and current.archive.status == ArchiveStatus.ARCHIVED:
        return current
    attempts = (current.archive.attempts if current.archive else 0) + 1
    record = EvidenceArchiveRecord(
        status=ArchiveStatus.FAILED, attempts=attempts, error=reason, failed_at=now
    )
    updated = current.model_copy(update={"archive": record})
    if attempts == 1:
        return updated.with_event(
            EventType.ARCHIVE_FAILED,
            now,
            f"The evidence report could not be archived ({reason}); it is tried again in "
            f"{record.retry_at - now} s, then less often, {MAX_ARCHIVE_ATTEMPTS} attempts in all",
            error=reason,
            attempts=attempts,
        )
    if attempts >= MAX_ARCHIVE_ATTEMPTS:
        return updated.with_event(
            EventType.ARCHIVE_FAILED,
            now,
            f"The evidence report could not be archived after {attempts} attempts ({reason}); "
            "given up: `/dr report` still shows it from the record",
            error=reason,
            attempts=attempts,
        )
    return updated
