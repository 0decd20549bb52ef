"""The evidence archive end to end on the embedded default (docs/report.md, "The archive"): a drill
run by the engine to its cleanup leaves its report, Markdown and JSON, in the archive folder under the
data directory, with the SHA-256 of each kept on the execution; written once whatever is delivered
again or however a crash interleaves; an archive outage never fails the run and is retried; and
`/dr report X --markdown` and the seed's `get_execution_evidence` hand the archived copy back,
checked against the hash kept on the execution. On both stores (DynamoDB on moto)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.message import Message, WithFiles
from orchestration.engine.advance import advance
from orchestration.evidence.folder import FolderArchive
from orchestration.handlers import execution as execution_handler
from orchestration.handlers import runtime
from orchestration.models import (
    ARCHIVE_RETRY_SECONDS,
    ArchiveStatus,
    EventType,
    ExecutionStatus,
    ExecutionType,
)
from orchestration.ports import ManualDriver, StoredCopy
from orchestration.services.archiving import ReportArchiver
from orchestration.services.closing import closing_event
from orchestration.services.report import evidence_report, plan_of
from orchestration.services.report_text import report_json
from tests.drills import run_until_done, start, three_tier_plan
from tests.integration.test_handlers_data_management import invoke, rest
from tests.support import failed, ok


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def drill(services: Any, simulator: Any, clock: Any) -> str:
    services.driver = ManualDriver()
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    run_until_done(services, clock, execution_id)
    return execution_id


def dr(services: Any, text: str, user: str = "alice") -> Message:
    answer = build_registry().dispatch(services, Invocation(text=text, user_id=user, channel_id="C0DRILLS"))
    assert isinstance(answer, Message)
    return answer


def test_a_drill_leaves_its_report_in_the_folder_with_its_hashes_on_the_execution(
    services: Any, simulator: Any, clock: Any, tmp_path: Path
) -> None:
    execution_id = drill(services, simulator, clock)
    execution = services.store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.COMPLETED and not execution.needs_driving
    record = execution.archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED

    folder = tmp_path / "evidence" / execution_id  # <data dir>/evidence/<executionId>/
    markdown, json_bytes = (folder / "report.md").read_bytes(), (folder / "report.json").read_bytes()
    assert sorted(os.listdir(folder)) == ["report.json", "report.md"]
    assert (record.markdown_sha256, record.json_sha256) == (sha256(markdown), sha256(json_bytes))
    assert (record.location, record.markdown_location) == (str(folder), str(folder / "report.md"))
    assert not stat.S_IMODE((folder / "report.md").stat().st_mode) & stat.S_IWUSR  # read-only

    # the whole report, nothing cut: every server, the cleanup, the timeline through the closing event
    text = markdown.decode()
    for host in ("db-primary-01", "db-replica-01", "app-orders-01", "web-frontend-01"):
        assert host in text
    closing = closing_event(execution)
    assert closing is not None and closing.type == EventType.CLEANUP_COMPLETED
    assert "## Drill cleanup" in text and "all terminated" in text and "CLEANUP_COMPLETED" in text
    wire = json.loads(json_bytes)
    assert wire["executionId"] == execution_id and wire["final"] is True
    assert len(wire["waves"]) == 3 and sum(len(w["servers"]) for w in wire["waves"]) == 7
    # what was archived is the report of the record as it stood at its closing event
    report = evidence_report(execution, plan_of(services, execution), generated_at=closing.at)
    assert json_bytes == (report_json(report) + "\n").encode()


def test_delivered_again_or_crashed_before_the_save_nothing_is_archived_twice(
    services: Any, simulator: Any, clock: Any, tmp_path: Path
) -> None:
    execution_id = drill(services, simulator, clock)
    archived = services.store.get_execution(execution_id)
    copy = tmp_path / "evidence" / execution_id / "report.md"
    written = copy.stat()

    # delivered again: the record says ARCHIVED, nothing is read or written
    clock.advance(3600)
    assert services.archiver.archive(archived) is archived
    assert advance(services, execution_id).done
    assert services.store.get_execution(execution_id).version == archived.version

    # a crash after the files were written and before the record was saved: the next try finds the
    # same bytes there (the report is rendered as of the closing event, not of now) and records them
    forgotten = services.store.modify_execution(
        execution_id, lambda e: e.model_copy(update={"archive": None}), "test"
    )
    again = services.archiver.archive(forgotten)
    assert again.archive is not None and again.archive.status == ArchiveStatus.ARCHIVED
    assert again.archive.markdown_sha256 == archived.archive.markdown_sha256
    assert (copy.stat().st_ino, copy.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    # the report already went out without the archive: the thread is told where it is, once
    assert [e.type for e in again.events] == [*(e.type for e in archived.events), EventType.ARCHIVED]
    assert services.archiver.archive(again) is again


class FlakyArchive(FolderArchive):
    """The real folder, whose first `failures` writes fail as a full disk would."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures
        self.writes = 0

    def write_once(self, plan_id: str, execution_id: str, name: str, content: bytes) -> StoredCopy:
        self.writes += 1
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return super().write_once(plan_id, execution_id, name, content)


def test_an_archive_outage_never_fails_the_run_and_is_retried(
    services: Any, simulator: Any, clock: Any, tmp_path: Path
) -> None:
    flaky = FlakyArchive(tmp_path / "flaky", failures=2)
    services.evidence = flaky
    services.archiver = ReportArchiver(flaky).bind(services)
    services.driver = ManualDriver()
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    result = run_until_done(services, clock, execution_id, limit=400)
    execution = services.store.get_execution(execution_id)
    # the run and its cleanup ended as they would have; the archive failed and says when it retries
    assert execution.status == ExecutionStatus.COMPLETED
    assert execution.cleanup is not None and not execution.cleanup.pending
    assert result.done  # run_until_done waited out the retries: it archived in the end
    failures = [e for e in execution.events if e.type == EventType.ARCHIVE_FAILED]
    assert len(failures) == 1 and "No space left on device" in failures[0].message
    (archived_event,) = [e for e in execution.events if e.type == EventType.ARCHIVED]
    record = execution.archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED and record.attempts == 2
    copy = (tmp_path / "flaky" / execution_id / "report.md").read_bytes()
    assert record.markdown_sha256 == sha256(copy) == archived_event.details["sha256"]
    # the retries came after ARCHIVE_RETRY_SECONDS, then twice that
    assert archived_event.at - failures[0].at >= ARCHIVE_RETRY_SECONDS * 3


def test_while_the_archive_is_down_the_execution_waits_for_its_retry(
    services: Any, simulator: Any, clock: Any, tmp_path: Path
) -> None:
    flaky = FlakyArchive(tmp_path / "flaky", failures=1)
    services.evidence = flaky
    services.archiver = ReportArchiver(flaky).bind(services)
    services.driver = ManualDriver()
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    for _ in range(400):
        result = advance(services, execution_id)
        execution = services.store.get_execution(execution_id)
        if execution.archive is not None:
            break
        clock.advance(result.wait_seconds)
    assert execution.archive is not None and execution.archive.status == ArchiveStatus.FAILED
    assert execution.needs_driving and not result.done
    assert result.wait_seconds <= ARCHIVE_RETRY_SECONDS
    text = failed(dr(services, f"/dr report {execution_id} --markdown"), "NOT_FOUND")
    assert "not archived yet: the last attempt failed (OSError: [Errno 28] No space left on device)" in text
    assert "the next is due at " in text
    clock.advance(ARCHIVE_RETRY_SECONDS)
    assert advance(services, execution_id).done
    assert services.store.get_execution(execution_id).archive.status == ArchiveStatus.ARCHIVED


def test_dr_report_markdown_answers_with_the_archived_copy_and_checks_it(
    services: Any, simulator: Any, clock: Any, tmp_path: Path
) -> None:
    execution_id = drill(services, simulator, clock)
    record = services.store.get_execution(execution_id).archive
    answer = dr(services, f"/dr report {execution_id[:8]} --markdown", user="carol")
    assert isinstance(answer, WithFiles)
    text = ok(answer)
    (shared,) = answer.files
    copy = tmp_path / "evidence" / execution_id / "report.md"
    assert shared.content == copy.read_bytes() and shared.filename == f"evidence-{execution_id}.md"
    assert f"SHA-256: {record.markdown_sha256} — ✔ matches the SHA-256 kept on the execution" in text
    assert str(copy) in text

    # someone edits the copy on disk: the answer says it no longer matches
    os.chmod(copy, stat.S_IWUSR | stat.S_IRUSR)
    copy.write_bytes(copy.read_bytes().replace(b"COMPLETED", b"FAILED"))
    text = ok(dr(services, f"/dr report {execution_id[:8]} --markdown"))
    assert "does NOT match the SHA-256 kept on the execution" in text
    assert record.markdown_sha256 in text

    assert "Give --json or --markdown, not both" in failed(
        dr(services, f"/dr report {execution_id[:8]} --markdown --json"), "VALIDATION_ERROR"
    )


def test_dr_report_markdown_before_the_record_is_final_says_when_it_will_be(
    services: Any, simulator: Any, clock: Any
) -> None:
    services.driver = ManualDriver()
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    advance(services, execution_id)  # running: the first wave launched
    text = failed(dr(services, f"/dr report {execution_id[:8]} --markdown"), "NOT_FOUND")
    assert "is not archived yet: its record is not final (RUNNING)" in text
    assert "It is archived when the run and its cleanup have ended." in text


@pytest.fixture
def api(services: Any) -> Any:
    runtime.use(services)
    yield services
    runtime.use(None)


def test_the_seed_operation_returns_the_archived_copy_with_its_hash_and_verified(
    api: Any, simulator: Any, clock: Any, tmp_path: Path
) -> None:
    execution_id = drill(api, simulator, clock)
    record = api.store.get_execution(execution_id).archive
    folder = tmp_path / "evidence" / execution_id

    answer = invoke(execution_handler, "get_execution_evidence", executionId=execution_id)
    assert answer["content"].encode() == (folder / "report.md").read_bytes()
    assert (answer["format"], answer["verified"]) == ("markdown", True)
    assert answer["sha256"] == answer["recordedSha256"] == record.markdown_sha256
    assert answer["location"] == str(folder / "report.md")

    details = invoke(execution_handler, "get_execution_details", executionId=execution_id)
    assert details["archive"]["markdownSha256"] == record.markdown_sha256
    assert details["archive"]["status"] == "ARCHIVED"

    status, body = rest(execution_handler, "GET", f"/executions/{execution_id}/evidence", format="json")
    assert status == 200 and body["verified"] is True and body["sha256"] == record.json_sha256
    assert json.loads(body["content"])["executionId"] == execution_id

    status, body = rest(execution_handler, "GET", f"/executions/{execution_id}/evidence", format="pdf")
    assert status == 400 and body["error"] == "VALIDATION_ERROR"
