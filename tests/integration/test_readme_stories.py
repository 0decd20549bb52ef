"""The README's console stories, typed as written (read from README.md itself): the session that
builds the plan, then the approval story; each line does what its comment says."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path
from typing import Any

from bot.commands import build_registry
from bot.console import Console
from orchestration.bootstrap import build_running_services
from orchestration.config import Settings
from orchestration.models import ExecutionStatus

README = Path(__file__).resolve().parents[2] / "README.md"
PLACEHOLDER = "3f2a9c1b"  # the README's stand-in for the id the run request shows


def session_lines(readme: str) -> list[str]:
    """The commands of the README's `printf '%s\\n' … | make run` session."""
    block = readme.split("printf '%s\\n' \\\n", 1)[1].split("| make run", 1)[0]
    return [word for line in block.splitlines() for word in shlex.split(line.rstrip(" \\"))]


def story_lines(readme: str) -> list[tuple[str, str]]:
    """(command, its comment) of the README's approval story (the `drbot>` lines)."""
    lines = re.findall(r"^drbot> (.+)$", readme, flags=re.MULTILINE)
    pairs = []
    for line in lines:
        command, _, comment = line.partition("#")
        pairs.append((command.strip(), comment.strip()))
    return pairs


def test_the_readme_stories_are_true_as_typed(tmp_path: Any, clock: Any) -> None:
    readme = README.read_text(encoding="utf-8")
    out = io.StringIO()
    services = build_running_services(Settings.from_env({}, db_path=tmp_path / "drbot.db"), clock=clock)

    def let_time_pass(_: float) -> None:  # `/dr wait`: move the clock and tick what is due
        clock.advance(5)
        services.driver.run_pending()

    console = Console(services, build_registry(), "alice", out, sleep=let_time_pass)
    try:
        assert console.run(session_lines(readme), echo=True) == 0, out.getvalue()[-3000:]
        story = story_lines(readme)
        assert story, "the README has no approval story"
        for typed, comment in story:
            newest = services.store.list_executions(limit=1)
            command = typed.replace(PLACEHOLDER, newest[0].execution_id[:8]) if newest else typed
            before = len(out.getvalue())
            answered = console.execute(command)
            said = out.getvalue()[before:]
            assert answered == (not comment.startswith("refused")), f"{command}  # {comment}\n{said}"
            [execution] = services.store.list_executions(limit=1) or [None]
            if "1 of 2" in comment:
                assert "1/2" in said, said
            if "paused at the gate before wave 3" in comment:
                assert execution is not None and execution.status == ExecutionStatus.PAUSED, said
                assert execution.gate_wave == 3
            if "completes" in comment:
                assert execution is not None and execution.status == ExecutionStatus.COMPLETED, said
            if command.startswith("/dr home"):
                assert "waits at the gate before wave 3 (Web)" in said and "Resume" in said, said
    finally:
        console.close()
        services.close()
