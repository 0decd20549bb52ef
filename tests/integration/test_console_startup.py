"""`drbot` starts driving runs and firing schedules only once the console is there to show their
events: a run a previous drbot left unfinished reports its next steps in the console's thread
instead of to nobody."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.slack_notifier import SlackNotifier
from orchestration.bootstrap import build_running_services
from orchestration.config import Settings
from orchestration.engine.local_runner import LocalRunner


def test_services_built_without_starting_leave_the_runner_idle(tmp_path: Path) -> None:
    services = build_running_services(Settings.from_env({}, db_path=str(tmp_path / "d.db")), start=False)
    try:
        assert isinstance(services.driver, LocalRunner)
        assert not services.driver._running
    finally:
        services.close()


def test_the_runner_and_the_schedules_start_after_the_console_took_the_notifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, Any] = {}
    start_running, start_schedules = cli.start_running, cli.start_local_schedules

    def recording_start_running(services: Any) -> None:
        seen["runner"] = services.notifier
        start_running(services)

    def recording_start_schedules(services: Any, reporter: Any, **options: Any) -> Any:
        seen["schedules"] = services.notifier
        return start_schedules(services, reporter, **options)

    monkeypatch.setattr(cli, "start_running", recording_start_running)
    monkeypatch.setattr(cli, "start_local_schedules", recording_start_schedules)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    # the log streams stay as they are: console_logging would point them at this test's stderr
    monkeypatch.setattr(cli, "console_logging", lambda *_: None)

    status = cli.main(["--db", str(tmp_path / "drbot.db"), "--user", "alice", "-c", "/dr help"])

    assert status == 0
    assert isinstance(seen["runner"], SlackNotifier)
    assert isinstance(seen["schedules"], SlackNotifier)
