"""The evidence archive as people read it: where a run's report was archived and its SHA-256
(beside the report in the thread), and an archived copy fetched back (`/dr report X --markdown`)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.views.common import context, section
from bot.views.message import FileToShare, WithFiles
from orchestration.models import ArchiveStatus, EvidenceArchiveRecord, Execution
from orchestration.services.archived_copies import ArchivedCopy


def _clock(epoch: int | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if epoch else "-"


def archive_text(record: EvidenceArchiveRecord | None, configured: bool = True) -> str:
    """One mrkdwn paragraph: the archived copy's place and SHA-256, or why there is none yet."""
    if not configured:
        return ":file_folder: *Archive:* not archived (no evidence archive is configured)"
    if record is None:
        return ":hourglass_flowing_sand: *Archive:* being written (`/dr report --markdown` has it once it is)"
    if record.status == ArchiveStatus.ARCHIVED:
        text = (
            f":lock: *Archived copy:* `{record.location}`\n"
            f"*SHA-256* Markdown `{record.markdown_sha256}` · JSON `{record.json_sha256}`"
        )
        if record.differs_from_rendering:
            found = " and ".join(record.differs_from_rendering)
            text += (
                f"\n:warning: The {found} already in the archive differs from this run's rendering: kept as "
                "found, and its hash is the one above (the timeline has the details)"
            )
        return text
    # a failed attempt is tried again until it works (orchestration/services/archiving.py)
    return f":warning: *Archive:* not written yet ({record.error}); next attempt at {_clock(record.retry_at)}"


def report_file(execution: Execution, content: bytes, archived: bool) -> FileToShare:
    """The report's Markdown as a file for the thread: the archived copy's bytes, else a rendering."""
    record = execution.archive
    if archived and record is not None:
        comment = f"Evidence report (archived copy), SHA-256 {record.markdown_sha256}"
    else:
        comment = "Evidence report (rendered from the record: not archived yet)"
    return FileToShare(
        filename=f"evidence-{execution.execution_id}.md",
        content=content,
        title=f"Evidence report {execution.execution_id}",
        comment=comment,
    )


def build_archived_copy_message(copy: ArchivedCopy) -> WithFiles:
    """`/dr report X --markdown`: the archived copy as a file, its SHA-256 and whether it matches."""
    check = (
        ":white_check_mark: matches the SHA-256 kept on the execution"
        if copy.verified
        else f":x: does NOT match the SHA-256 kept on the execution (`{copy.recorded_sha256}`)"
    )
    lines = [
        f"*Archived evidence report* of execution `{copy.execution_id}` ({copy.format})",
        f"*Where:* `{copy.location}`",
        f"*SHA-256:* `{copy.sha256}` — {check}",
    ]
    if copy.differs_from_rendering:
        lines.append(
            ":warning: This copy was already in the archive when the run was archived and differs from "
            "drbot's rendering of the record: it was kept as found (the run's timeline says so)."
        )
    text = f"Archived evidence report of {copy.execution_id}: SHA-256 {copy.sha256}"
    text += " (verified)" if copy.verified else " (does NOT match the recorded hash)"
    return WithFiles(
        to_asker=True,
        text=text,
        blocks=[section("\n".join(lines)), context("The file is sent to you in drbot's Messages tab.")],
        files=(
            FileToShare(
                filename=copy.filename,
                content=copy.content,
                title=f"Evidence report {copy.execution_id} (archived copy)",
                comment=f"SHA-256 {copy.sha256}" + (" (verified)" if copy.verified else " (MISMATCH)"),
            ),
        ),
    )
