"""What a cold import of the Slack entry loads (bench/README.md, "Import cost"): the app and its
listeners, not the commands, views and services a request may not need. Each listener imports what
it calls when it runs; the `/dr` registry is built by the first slash command, the schedule backend
by the first slash command or schedule button. With tracing on, X-Ray patches only what drbot
calls. Every Lambda entry imports drbot's own modules with the collector paused, and freezes them
(orchestration/cold_start.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.import_cost import lambda_entries, lambda_environ

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
    "bot.commands.registry",
    "bot.commands.grammar",
    "scheduler.backends.port",
    "orchestration.schedule_expressions",
    "scheduler.service",
    "scheduler.fire",
    "aws_xray_sdk.core",
)


def _loaded_after(script: str, *, traced: bool = False) -> list[str]:
    probe = f"{script}\nimport json, sys\nprint('RESULT ' + json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=lambda_environ(traced=traced),
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


def test_the_schedule_backend_is_built_by_the_first_schedule_change() -> None:
    script = (
        "from unittest.mock import MagicMock\n"
        "from bot.listeners.context import Drbot\n"
        "drbot = Drbot(MagicMock(), MagicMock(), MagicMock())\n"
        "import sys\n"
        "before = 'scheduler.backends.port' in sys.modules\n"
        "backend = drbot.schedules\n"
        "assert not before and backend.name == 'store' and drbot.schedules is backend, before\n"
    )
    assert "scheduler.backends.port" in set(_loaded_after(script))


def test_with_tracing_on_x_ray_patches_what_drbot_calls_and_imports_nothing_else() -> None:
    script = (
        "import bot.lambda_function\n"
        "from aws_xray_sdk.core.patcher import _PATCHED_MODULES\n"
        "assert _PATCHED_MODULES == {'botocore', 'httplib'}, _PATCHED_MODULES\n"
    )
    loaded = set(_loaded_after(script, traced=True))
    assert "aws_xray_sdk.core" in loaded  # on Lambda with tracing on, the Tracer is built at import
    # installed here (test tools need them), never called by drbot: X-Ray's default would import them
    assert {"requests", "httpx", "pymongo", "sqlalchemy"} & loaded == set()


@pytest.mark.parametrize("entry", lambda_entries())
def test_each_entry_imports_drbot_with_the_collector_paused_and_leaves_it_on(entry: str) -> None:
    script = (
        "import gc\n"
        "collections = []\n"
        "gc.callbacks.append(lambda phase, info: collections.append(info) if phase == 'start' else None)\n"
        "import slack_bolt.adapter.aws_lambda, boto3, pydantic.main, aws_lambda_powertools\n"
        "before = len(collections)\n"
        f"import {entry}\n"
        "assert len(collections) == before, collections[before:]  # no collection during drbot's import\n"
        "assert gc.isenabled() and gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
    )
    assert entry in set(_loaded_after(script))
