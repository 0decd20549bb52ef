"""The evidence archive in Slack (docs/report.md, "The archive"): the report reply in the run's
thread prints the archived copy's place and SHA-256 and the Markdown is shared in the thread as a
file (files_upload_v2, against the loopback stub); a signed `/dr report X --markdown` shares the
archived copy in the channel and says whether it matches; and the console, as `make run` builds it,
saves the shared files under the data directory and prints their paths."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.app import build_app
from bot.commands import build_registry
from bot.console import Console
from bot.slack_notifier import SlackNotifier
from bot.slack_thread_record import SLACK_THREADS, SlackThread, thread_of
from orchestration.bootstrap import build_running_services
from orchestration.config import Settings
from orchestration.models import ArchiveStatus, ExecutionType
from orchestration.ports import ManualDriver
from tests.drills import run_until_done, start, three_tier_plan
from tests.integration.conftest import SLACK_SIGNING_SECRET
from tests.slack_requests import CHANNEL_ID, slash_command
from tests.slack_stub import SlackStub


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_report_reply_prints_the_hash_and_the_markdown_is_shared_in_the_thread(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any, tmp_path: Path
) -> None:
    services = sqlite_services
    services.driver = ManualDriver()
    services.notifier = SlackNotifier(
        WebClient(base_url=slack_stub.api_url, token="xoxb-t"), clock, services=services
    )
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    services.store.modify_record(SLACK_THREADS, execution_id, lambda _: SlackThread(channel=CHANNEL_ID))
    run_until_done(services, clock, execution_id)

    record = services.store.get_execution(execution_id).archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED
    archived = (tmp_path / "evidence" / execution_id / "report.md").read_bytes()
    (report,) = [
        c for c in slack_stub.calls("chat.postMessage") if c.args["text"].startswith("Evidence report:")
    ]
    assert record.markdown_sha256 == sha256(archived)
    assert f"*SHA-256* Markdown `{record.markdown_sha256}`" in str(report.args["blocks"])
    assert f"`{tmp_path / 'evidence' / execution_id}`" in str(report.args["blocks"])
    assert record.markdown_sha256 in report.args["text"]

    (shared,) = slack_stub.uploaded()
    thread = thread_of(services.store, execution_id)
    assert thread is not None
    assert (shared.channel_id, shared.thread_ts) == (CHANNEL_ID, thread.thread_ts)
    assert shared.content == archived  # the archived bytes, not a fresh rendering
    assert shared.filename == f"evidence-{execution_id}.md"
    assert shared.initial_comment == f"Evidence report (archived copy), SHA-256 {record.markdown_sha256}"
    calls = [c.method for c in slack_stub.calls()]
    assert calls.index("files.getUploadURLExternal") > calls.index("chat.postMessage")  # after the report
    assert slack_stub.violations == []


def test_a_signed_report_markdown_command_shares_the_archived_copy(
    slack_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any, tmp_path: Path
) -> None:
    services = slack_services
    services.driver = ManualDriver()
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    run_until_done(services, clock, execution_id)
    record = services.store.get_execution(execution_id).archive
    app = build_app(services)

    response_url = slack_stub.new_response_url()
    request = slash_command(
        SLACK_SIGNING_SECRET, f"report {execution_id[:8]} --markdown", response_url=response_url
    )
    assert app.dispatch(request.bolt()).status == 200
    answer = slack_stub.answer_at(response_url)
    assert f"SHA-256:* `{record.markdown_sha256}` — :white_check_mark: matches" in str(answer.args["blocks"])
    (shared,) = slack_stub.uploaded()
    assert shared.content == (tmp_path / "evidence" / execution_id / "report.md").read_bytes()
    # to the asker alone, in their DM with drbot, not to the channel's members
    [dm] = slack_stub.calls("chat.postMessage")
    assert dm.args["channel"] == "U0ALICE" and "Messages tab" in str(answer.args["blocks"])
    assert (shared.channel_id, shared.thread_ts) == ("D0ALICE", None)
    assert shared.title == f"Evidence report {execution_id} (archived copy)"
    assert slack_stub.violations == []


def test_the_console_saves_the_thread_file_and_the_report_markdown_answer(tmp_path: Path, clock: Any) -> None:
    out = io.StringIO()
    services = build_running_services(Settings.from_env({}, db_path=tmp_path / "drbot.db"), clock=clock)

    def let_time_pass(_: float) -> None:  # instead of sleeping: move the clock, tick what is due
        clock.advance(5)
        services.driver.run_pending()

    console = Console(services, build_registry(), "alice", out, sleep=let_time_pass)
    try:
        story = [
            '/dr group create "DB" --server db-primary-01',
            '/dr plan create "DR" --wave "db:DB"',
            '/dr plan run "DR" --drill',
            "/dr as bob",
            "/dr click Approve",
            "/dr as alice",
            "/dr wait",
        ]
        assert console.run(story, echo=True) == 0
        [execution] = services.store.list_executions()
        assert console.run([f"/dr report {execution.execution_id[:8]} --markdown"], echo=True) == 0
        execution = services.store.get_execution(execution.execution_id)
    finally:
        console.close()
        services.close()
    record = execution.archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED
    archived = (tmp_path / "evidence" / execution.execution_id / "report.md").read_bytes()
    saved = sorted((tmp_path / "slack-files").iterdir())
    assert len(saved) == 2  # in the thread with the report, then the answer to --markdown
    assert all(path.read_bytes() == archived for path in saved)
    text = out.getvalue()
    assert f"SHA-256 Markdown {record.markdown_sha256}" in text  # the report reply in the thread
    assert f"  │ 📎 Evidence report {execution.execution_id}: {saved[0]}" in text
    answer = text.split(f"/dr report {execution.execution_id[:8]} --markdown\n", 1)[1]
    assert f"SHA-256: {record.markdown_sha256} — ✔ matches" in answer
    assert f"📎 Evidence report {execution.execution_id} (archived copy): {saved[1]}" in answer


def test_an_archive_outage_is_said_in_the_thread_and_the_copy_shared_once_archived(
    sqlite_services: Any, slack_stub: SlackStub, clock: Any, simulator: Any, tmp_path: Path
) -> None:
    from orchestration.services.archiving import ReportArchiver
    from tests.integration.test_evidence_archive import FlakyArchive

    services = sqlite_services
    flaky = FlakyArchive(tmp_path / "flaky", failures=1)
    services.evidence = flaky
    services.archiver = ReportArchiver(flaky).bind(services)
    services.driver = ManualDriver()
    client = WebClient(base_url=slack_stub.api_url, token="xoxb-t")
    services.notifier = SlackNotifier(client, clock, services=services)
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    services.store.modify_record(SLACK_THREADS, execution_id, lambda _: SlackThread(channel=CHANNEL_ID))
    run_until_done(services, clock, execution_id)

    record = services.store.get_execution(execution_id).archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED
    texts = [c.args["text"] for c in slack_stub.calls("chat.postMessage") if c.args.get("thread_ts")]
    failed_at = next(i for i, t in enumerate(texts) if "could not be archived" in t)
    report_at = next(i for i, t in enumerate(texts) if t.startswith("Evidence report:"))
    archived_at = next(i for i, t in enumerate(texts) if "Evidence report archived after 1 failed" in t)
    assert failed_at < report_at < archived_at
    assert "*Archive:* not written yet (OSError: [Errno 28] No space left on device)" in texts[report_at]
    assert record.markdown_sha256 in texts[archived_at]
    rendered, archived = slack_stub.uploaded()
    assert rendered.initial_comment == "Evidence report (rendered from the record: not archived yet)"
    assert archived.content == (tmp_path / "flaky" / execution_id / "report.md").read_bytes()
    assert archived.initial_comment == f"Evidence report (archived copy), SHA-256 {record.markdown_sha256}"
    assert slack_stub.violations == []
