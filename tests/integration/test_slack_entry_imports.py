"""What a cold import of the Slack entry loads (bench/README.md, "Import cost"): the app and its
listeners, not the commands, views and services a request may not need. Each listener imports what
it calls when it runs; the `/dr` registry is built by the first slash command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.import_cost import lambda_environ

ROOT = Path(__file__).resolve().parents[2]

# loaded by a request that needs them, never by the import
DEFERRED = (
    "bot.commands.plans",
    "bot.commands.groups",
    "bot.commands.runs",
    "bot.commands.schedules",
    "bot.commands.servers",
    "bot.views.home",
    "bot.views.executions",
    "bot.views.plan_builder",
    "bot.views.group_builder",
    "bot.views.report",
    "bot.views.schedules",
    "bot.home_contents",
    "bot.slack_threads",
    "orchestration.drs.gateway",
    "orchestration.services.execution_control",
    "orchestration.services.report",
    "scheduler.service",
    "scheduler.fire",
    "aws_xray_sdk.core",
)


def _loaded_after(script: str) -> list[str]:
    probe = f"{script}\nimport json, sys\nprint('RESULT ' + json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=lambda_environ(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    modules: list[str] = json.loads(line.removeprefix("RESULT "))
    return modules


def test_importing_the_slack_entry_loads_no_command_view_or_drs_module() -> None:
    loaded = set(_loaded_after("import bot.lambda_function"))
    assert "bot.app" in loaded and "bot.listeners.actions.executions" in loaded  # the app is there
    assert sorted(m for m in DEFERRED if m in loaded) == []


def test_the_registry_imports_the_command_modules_when_first_used() -> None:
    script = (
        "from unittest.mock import MagicMock\n"
        "from bot.listeners.context import Drbot\n"
        "drbot = Drbot(MagicMock(), MagicMock(), MagicMock())\n"
        "import sys\n"
        "before = 'bot.commands.plans' in sys.modules\n"
        "drbot.registry.resolve(['plan', 'list'])\n"
        "assert not before and 'bot.commands.plans' in sys.modules, before\n"
    )
    loaded = set(_loaded_after(script))
    assert "bot.commands.plans" in loaded
