"""`drbot` as a user starts it, in a subprocess: the console starts the local schedule backend, which
rebuilds itself from the database and handles the fires that came due while drbot was not running —
the newest one runs within the grace period, older ones are reported as missed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from orchestration.bootstrap import build_services
from orchestration.config import Settings
from orchestration.models import Schedule
from tests.drills import make_plan
from tests.support import run_drbot

DAY = 86400


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRBOT_", "SLACK_", "AWS_"))}
    env["DRBOT_DB_PATH"] = str(tmp_path / "drbot.db")
    return env


def daily_schedule_approved(db_path: str, seconds_ago: int) -> Schedule:
    """A plan and a `rate(1 day)` schedule approved `seconds_ago` (real time), in the database."""
    services = build_services(Settings.from_env({}, db_path=Path(db_path)))
    try:
        make_plan(
            services, [{"name": "Web", "group": "Web"}], {"Web": {"serverSelectionTags": {"Tier": "web"}}}
        )
        approved_at = int(time.time()) - seconds_ago
        plan = services.store.find_plan_by_name("DR")
        assert plan is not None
        schedule = Schedule(
            plan_id=plan.plan_id,
            expression="rate(1 day)",
            approved_by="bob",
            enabled=True,
            created_by="alice",
            created_date=approved_at,
            last_modified_date=approved_at,
        )
        return services.store.create_schedule(schedule, "alice")
    finally:
        services.close()


def scheduled_runs(db_path: str, schedule_id: str) -> list[Any]:
    services = build_services(Settings.from_env({}, db_path=Path(db_path)))
    try:
        return [e for e in services.store.list_executions(limit=100) if e.schedule_id == schedule_id]
    finally:
        services.close()


def test_fires_missed_beyond_the_grace_period_are_reported_at_start_up(env: dict[str, str]) -> None:
    schedule = daily_schedule_approved(env["DRBOT_DB_PATH"], 3 * DAY + 600)
    env["DRBOT_MISSED_FIRE_GRACE_MINUTES"] = "5"

    result = run_drbot("", env, "-c", "/dr schedule list")

    assert result.returncode == 0, result.stderr
    missed = f"[schedule {schedule.schedule_id[:8]}] Missed 3 scheduled drill(s) of plan DR while drbot was"
    assert missed in result.stdout
    assert scheduled_runs(env["DRBOT_DB_PATH"], schedule.schedule_id) == []
    again = run_drbot("", env, "-c", "/dr schedule list")
    assert "Missed" not in again.stdout  # said once


def test_the_newest_fire_within_the_grace_period_runs_at_start_up(env: dict[str, str]) -> None:
    schedule = daily_schedule_approved(env["DRBOT_DB_PATH"], DAY + 120)  # due two minutes ago

    result = run_drbot("", env, "-c", "/dr schedule list")

    assert result.returncode == 0, result.stderr
    (execution,) = scheduled_runs(env["DRBOT_DB_PATH"], schedule.schedule_id)
    assert execution.initiated_by == f"schedule:{schedule.schedule_id}"
    assert "Missed" not in result.stdout
