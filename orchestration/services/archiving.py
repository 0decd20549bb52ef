"""Archiving an execution's evidence report once its record is final (docs/report.md, "The archive").

`ReportArchiver` is the Archiver the composition root gives the engine: `deliver` hands it every
execution before its events go to the notifier, so it runs wherever executions are driven (the
Step Functions tasks on AWS, the local runner on the embedded default) and the report in the thread
can print the copy's SHA-256. When `closing_event` says the record is final and nothing is archived
yet, it renders the report as it stands at that closing event — Markdown and JSON, nothing cut,
`generatedAt` the closing event's time and the timeline through it, so every attempt renders the
same bytes — writes each copy once (EvidenceArchive), and saves the SHA-256 of each and where they
are on the execution (S3: each copy's object version and S3's checksum too), with a version check.
Twice is harmless: a copy already there with the same bytes is taken as written; one with other
bytes (a plan edited between a crash and the retry, or someone else's object) is kept as it is, its
hash recorded as what is there, the record marked `differsFromRendering`, and an ARCHIVE_DIFFERS
event and audit entry say so; a record already ARCHIVED is left alone.

It never raises (`deliver` relies on it: a raise would stop the thread's updates): whatever fails —
reading the plan, rendering, writing, saving — is recorded on the execution (`archive`, FAILED, with
the error and the attempts), said in the thread once (an ARCHIVE_FAILED event on the first failure),
and tried again by the tick ARCHIVE_RETRY_SECONDS later, doubling up to MAX_ARCHIVE_RETRY_SECONDS,
never given up (the execution keeps needing driving until it is archived); if even that record
cannot be saved, it is logged and the execution handed back unchanged. A success after the report
already went out without it (a failed attempt, a lost save race) is an ARCHIVED event.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from orchestration.context import Services
from orchestration.evidence import JSON_NAME, MARKDOWN_NAME
from orchestration.models import (
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
from orchestration.store.base import Audited

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


def _write(
    evidence: EvidenceArchive, execution: Execution, name: str, content: bytes
) -> tuple[StoredCopy, bool]:
    """The copy written (or the same bytes found there), and whether what is there differs."""
    try:
        return evidence.write_once(execution.plan_id, execution.execution_id, name, content), False
    except CopyExists as refused:  # other bytes there: kept as written, never adopted silently
        logger.warning(
            "an archived copy with other bytes than the rendering is kept as it is",
            extra={"execution_id": execution.execution_id, "location": refused.existing.location},
        )
        return refused.existing, True


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
        try:
            markdown, json_bytes = archived_report(services, execution, closing)
            md_copy, md_differs = _write(self.evidence, execution, MARKDOWN_NAME, markdown)
            json_copy, json_differs = _write(self.evidence, execution, JSON_NAME, json_bytes)
            record = EvidenceArchiveRecord(
                status=ArchiveStatus.ARCHIVED,
                location=self.evidence.location(execution.plan_id, execution.execution_id),
                markdown_location=md_copy.location,
                json_location=json_copy.location,
                markdown_sha256=sha256(md_copy.content),
                json_sha256=sha256(json_copy.content),
                markdown_version_id=md_copy.version_id,
                json_version_id=json_copy.version_id,
                markdown_checksum_sha256=md_copy.checksum_sha256,
                json_checksum_sha256=json_copy.checksum_sha256,
                differs_from_rendering=[
                    name
                    for name, differs in ((MARKDOWN_NAME, md_differs), (JSON_NAME, json_differs))
                    if differs
                ],
                archived_at=now,
                attempts=execution.archive.attempts if execution.archive else 0,
            )
            return self._save(execution, lambda current: _archived(current, record, closing.seq, now))
        except Exception as error:  # whatever fails never fails the run: recorded, retried
            logger.warning(
                "archiving the evidence report failed; retried later",
                extra={"execution_id": execution.execution_id},
                exc_info=True,
            )
            reason = (f"{type(error).__name__}: {error}")[:MAX_ERROR]
        try:
            return self._save(execution, lambda current: _failed(current, reason, now))
        except Exception:  # not even the failure could be saved: the next delivery tries again
            logger.error(
                "could not record the evidence archive's failure",
                extra={"execution_id": execution.execution_id},
                exc_info=True,
            )
            return execution

    def _save(
        self, execution: Execution, change: Callable[[Execution], Execution | Audited[Execution]]
    ) -> Execution:
        """Save `change` with the version check (3 reads); StaleVersion and the store's errors
        propagate: a success that could not be saved is recorded as a failure, so it is retried."""
        services = self._services
        assert services is not None
        return services.store.modify_execution(
            execution.execution_id, change, ARCHIVER, action="archive", attempts=3
        )


def _archived(
    current: Execution, record: EvidenceArchiveRecord, closing_seq: int, now: int
) -> Execution | Audited[Execution]:
    if current.archive is not None and current.archive.status == ArchiveStatus.ARCHIVED:
        return current  # another writer archived it first (the same bytes)
    updated = current.model_copy(update={"archive": record})
    if record.differs_from_rendering:
        names = " and ".join(record.differs_from_rendering)
        updated = updated.with_event(
            EventType.ARCHIVE_DIFFERS,
            now,
            f"The archive already held a {names} with other bytes than this run's report: it is kept "
            f"as it is and its SHA-256 recorded (Markdown {record.markdown_sha256}), but it differs "
            "from the report rendered from the record: `/dr report` shows the record's",
            location=record.location,
            differs=list(record.differs_from_rendering),
            sha256=record.markdown_sha256,
            jsonSha256=record.json_sha256,
        )
    if current.archive is not None or closing_seq <= current.notified_through:
        # the report already went out saying the archive was not written: say where it is now
        after = f" after {current.archive.attempts} failed attempt(s)" if current.archive is not None else ""
        updated = updated.with_event(
            EventType.ARCHIVED,
            now,
            f"Evidence report archived{after}: {record.location} (Markdown SHA-256 {record.markdown_sha256})",
            sha256=record.markdown_sha256,
            jsonSha256=record.json_sha256,
            location=record.location,
        )
    if record.differs_from_rendering:
        return Audited(
            updated,
            "archive_differs",
            {"location": record.location, "differs": list(record.differs_from_rendering)},
        )
    return updated


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
            f"{record.retry_at - now} s, then less often (at least hourly) until it is",
            error=reason,
            attempts=attempts,
        )
    return updated
