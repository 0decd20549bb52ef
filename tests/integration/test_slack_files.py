"""`share_file` (bot/slack_files.py) through slack_sdk's real files_upload_v2, against the console's
Slack and the tests' Slack stub: the three steps, the bytes as sent, where the file was shared, and
what the console prints and saves."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.console_slack import CHANNEL_ID, THREAD_BAR, ConsoleSlack
from bot.slack_files import share_file
from tests.slack_stub import UPLOAD, SlackStub

PNG = bytes(range(256)) * 3  # not UTF-8: the upload must carry raw bytes


def test_the_console_saves_a_shared_file_and_prints_its_path_in_the_thread(tmp_path: Path) -> None:
    out = io.StringIO()
    with ConsoleSlack(out, tmp_path) as slack:
        client = slack.client()
        root = client.chat_postMessage(channel=CHANNEL_ID, text="Drill: Prod DR")["ts"]
        file_id = share_file(
            client,
            CHANNEL_ID,
            root,
            filename="chart.png",
            content=PNG,
            title="Prod DR: last 5 drills",
            comment="The trend, as a chart",
        )
        (shared,) = slack.shared_files()
    assert shared.id == file_id and shared.content == PNG
    assert shared.thread_ts == root and shared.channel == CHANNEL_ID
    assert shared.path is not None and shared.path.parent == tmp_path / "slack-files"
    assert hashlib.sha256(shared.path.read_bytes()).hexdigest() == hashlib.sha256(PNG).hexdigest()
    printed = out.getvalue()
    assert f"{THREAD_BAR}The trend, as a chart" in printed
    assert f"{THREAD_BAR}📎 Prod DR: last 5 drills: {shared.path}" in printed


def test_text_content_in_the_channel_without_a_comment_is_one_line(tmp_path: Path) -> None:
    out = io.StringIO()
    with ConsoleSlack(out, tmp_path) as slack:
        share_file(
            slack.client(), CHANNEL_ID, None, filename="report e/1.md", content="# Évidence\n", title="Report"
        )
        (shared,) = slack.shared_files()
    assert (
        shared.path == tmp_path / "slack-files" / f"{shared.id}-report_e_1.md"
    )  # the name made safe for a path
    assert shared.path.read_text(encoding="utf-8") == "# Évidence\n"
    assert out.getvalue() == f"📎 Report: {shared.path}\n\n"


def test_a_later_console_never_replaces_a_file_an_earlier_one_saved(tmp_path: Path) -> None:
    saved = []
    for content in (b"first session", b"second session"):  # file ids start again with each console
        with ConsoleSlack(io.StringIO(), tmp_path) as slack:
            share_file(slack.client(), CHANNEL_ID, None, filename="chart.png", content=content, title="Chart")
            (shared,) = slack.shared_files()
            saved.append(shared.path)
    first, second = saved
    assert first is not None and second is not None and first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"first session", b"second session")


def test_without_a_data_dir_the_console_keeps_the_file_in_memory() -> None:
    out = io.StringIO()
    with ConsoleSlack(out) as slack:
        share_file(slack.client(), CHANNEL_ID, None, filename="a.md", content=b"12345", title="A")
        (shared,) = slack.shared_files()
    assert shared.path is None
    assert "📎 A: a.md, 5 bytes" in out.getvalue()


def test_completing_an_upload_whose_bytes_never_came_is_refused() -> None:
    with ConsoleSlack(io.StringIO()) as slack:
        client = slack.client()
        started = client.files_getUploadURLExternal(filename="a.md", length=3)
        assert started["upload_url"].startswith("http://127.0.0.1:")
        with pytest.raises(SlackApiError, match="file_not_found"):
            client.files_completeUploadExternal(files=[{"id": started["file_id"], "title": "A"}])
        assert slack.shared_files() == []


def test_the_stub_records_the_three_steps_and_the_bytes(slack_stub: SlackStub) -> None:
    client = WebClient(token="xoxb-stub", base_url=slack_stub.api_url)
    thread = "1700000000.000100"
    file_id = share_file(
        client, "C0DR", thread, filename="chart.png", content=PNG, title="Chart", comment="Trend"
    )
    methods = [c.method for c in slack_stub.calls()]
    assert methods == ["files.getUploadURLExternal", UPLOAD, "files.completeUploadExternal"]
    (upload,) = slack_stub.calls(UPLOAD)
    assert upload.body == PNG
    (shared,) = slack_stub.uploaded()
    assert (shared.id, shared.content, shared.title) == (file_id, PNG, "Chart")
    assert (shared.channel_id, shared.thread_ts, shared.initial_comment) == ("C0DR", thread, "Trend")
    assert slack_stub.violations == []
