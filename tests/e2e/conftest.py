"""e2e: drbot run as a user runs it, in a subprocess, on a fresh database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The user's environment minus drbot/Slack/AWS settings, with a database of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRBOT_", "SLACK_", "AWS_"))}
    env["DRBOT_DB_PATH"] = str(tmp_path / "drbot.db")
    return env
