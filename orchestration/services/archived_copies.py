"""Reading an execution's archived evidence report back (`/dr report <execution> --markdown`, the
`get_execution_evidence` operation): the copy read from where the execution records it was written
(not where the archive configured now writes), of the S3 object version recorded then (a newer version
at the key, an overwrite, is not what is served; older records without one: the latest), its SHA-256,
and whether that still matches the hash kept on the execution (docs/report.md, "The archive")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from orchestration.context import Services
from orchestration.errors import NotFound, ValidationFailed
from orchestration.evidence import JSON_NAME, MARKDOWN_NAME
from orchestration.models import ArchiveStatus, CleanupStatus, Execution, ExecutionType
from orchestration.services.closing import closing_event
from orchestration.services.execution_queries import find_execution

Format = Literal["markdown", "json"]
FORMATS: dict[str, str] = {"markdown": MARKDOWN_NAME, "json": JSON_NAME}


@dataclass(frozen=True)
class ArchivedCopy:
    execution_id: str
    format: Format
    location: str
    content: bytes
    sha256: str  # of the bytes read now
    recorded_sha256: str  # kept on the execution when the copy was written
    version_id: str | None = None  # S3: the object version read (the one recorded when written)
    differs_from_rendering: bool = False  # the archive held another copy than this run's rendering

    @property
    def verified(self) -> bool:
        """The copy's bytes are those that were archived."""
        return self.sha256 == self.recorded_sha256

    @property
    def filename(self) -> str:
        return f"evidence-{self.execution_id}.{'md' if self.format == 'markdown' else 'json'}"

    def to_wire(self) -> dict[str, Any]:
        return {
            "executionId": self.execution_id,
            "format": self.format,
            "location": self.location,
            "sha256": self.sha256,
            "recordedSha256": self.recorded_sha256,
            "verified": self.verified,
            "versionId": self.version_id,
            "differsFromRendering": self.differs_from_rendering,
            "content": self.content.decode("utf-8", errors="replace"),
        }


def _clock(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_archived_reason(services: Services, execution: Execution) -> str:
    """Why there is no archived copy yet, and when there will be one."""
    ref = f"Execution {execution.execution_id} ({execution.execution_type.word} of '{execution.plan_name}')"
    record = execution.archive
    if record is not None and record.status == ArchiveStatus.FAILED:  # retried until it is archived
        return (
            f"{ref} is not archived yet: the last attempt failed ({record.error}); the next is due "
            f"at {_clock(record.retry_at)} (attempt {record.attempts + 1})."
        )
    if closing_event(execution) is None:
        if execution.is_terminal and execution.start_time is None:
            return f"{ref} never ran ({execution.status}): there is no report to archive."
        cleanup = execution.cleanup
        waits = execution.execution_type == ExecutionType.DRILL and (
            cleanup is None or cleanup.status != CleanupStatus.NOT_NEEDED
        )
        when = "the run and its cleanup have ended" if waits else "the run has ended"
        return (
            f"{ref} is not archived yet: its record is not final ({execution.status}). "
            f"It is archived when {when}."
        )
    if services.evidence is None:
        return f"{ref} is not archived: no evidence archive is configured here."
    return (
        f"{ref} has no archived copy: it ended before drbot kept an evidence archive, or its archive "
        "is being written now. `/dr report` shows the report from the record."
    )


def archived_copy(services: Services, ref: str, fmt: str = "markdown") -> ArchivedCopy:
    """The archived copy of the report of the execution named by `ref`, in `fmt` (markdown, json)."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"format: 'markdown' or 'json', not '{fmt}'", field="format")
    execution = find_execution(services, ref)
    record = execution.archive
    if record is None or record.status != ArchiveStatus.ARCHIVED or services.evidence is None:
        raise NotFound(not_archived_reason(services, execution), executionId=execution.execution_id)
    name = FORMATS[fmt]
    markdown = fmt == "markdown"
    recorded = record.markdown_sha256 if markdown else record.json_sha256
    where = record.markdown_location if markdown else record.json_location
    version_id = record.markdown_version_id if markdown else record.json_version_id
    try:  # where it was written, as recorded: the archive's configuration may have changed since
        stored = (
            services.evidence.read_at(where, version_id)
            if where
            else services.evidence.read(execution.plan_id, execution.execution_id, name)
        )
    except ValueError as error:
        raise NotFound(
            f"The archived {fmt} copy of execution {execution.execution_id} is at {where}, which the "
            f"evidence archive configured here does not read: {error}.",
            executionId=execution.execution_id,
        ) from None
    if stored is None or recorded is None:
        version = f" (version {version_id})" if version_id else ""
        raise NotFound(
            f"The archived {fmt} copy of execution {execution.execution_id} is missing from "
            f"{where}{version}.",
            executionId=execution.execution_id,
        )
    return ArchivedCopy(
        execution_id=execution.execution_id,
        format=fmt,  # type: ignore[arg-type]  # checked above
        location=stored.location,
        content=stored.content,
        sha256=hashlib.sha256(stored.content).hexdigest(),
        recorded_sha256=recorded,
        version_id=stored.version_id,
        differs_from_rendering=name in record.differs_from_rendering,
    )
