"""The history chart (bot/views/plan_chart.py): a PNG of the runs against the targets, nothing when
no run has ended, and the plotting libraries imported only when a chart is drawn."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

from bot.views.plan_chart import PNG_SIGNATURE, charted_runs, history_chart_png, history_chart_svg
from orchestration.models import ExecutionStatus
from orchestration.services.plan_history import plan_history
from tests.unit.test_plan_history import a_run, the_plan


def test_the_chart_is_a_png_of_both_series_with_their_targets() -> None:
    runs = [a_run(n, duration=300 * n, loss=60 * n) for n in range(8, 0, -1)]
    history = plan_history(the_plan(rto=30, rpo=15), runs, 10)

    svg = history_chart_svg(history)
    png = history_chart_png(history)

    assert svg is not None and png is not None
    for label in ("Duration of each run", "Worst data loss of each run", "RTO target", "RPO target"):
        assert label in svg
    assert svg.count('stroke-dasharray="6"') == 2  # the two targets
    assert png[:8] == PNG_SIGNATURE
    assert struct.unpack(">II", png[16:24]) == (2000, 720)
    assert 10_000 < len(png) < 500_000


def test_one_run_is_a_dot_and_no_rpo_measure_nor_target_leaves_out_its_chart() -> None:
    run = a_run(1, failed=frozenset({"db-01", "db-02", "app-01", "app-02", "web-01"}))  # nothing launched
    history = plan_history(the_plan(rto=None, rpo=None), [run], 10)

    svg = history_chart_svg(history)

    assert svg is not None and "Duration of each run" in svg
    assert "Worst data loss" not in svg and "RTO target" not in svg
    assert history_chart_png(history) is not None


def test_no_ended_run_is_no_chart() -> None:
    running = a_run(1).model_copy(update={"status": ExecutionStatus.RUNNING, "end_time": None})
    history = plan_history(the_plan(), [running], 10)

    assert len(history.runs) == 1 and charted_runs(history) == []
    assert history_chart_png(history) is None


def test_the_app_and_the_commands_do_not_import_the_plotting_libraries() -> None:
    code = (
        "import sys, bot.app, bot.commands, bot.listeners;"
        "bot.commands.build_registry();"
        "names = ('leather', 'resvg_py', 'orchestration.services.plan_history');"
        "print(sorted(m for m in names if m in sys.modules))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert shown.stdout.strip() == "[]"


def test_the_home_gives_the_first_ten_plans_a_history_button_and_stays_within_slacks_100_blocks() -> None:
    from bot.home_contents import MAX_LISTED, Home, PlanLine
    from bot.views.home import build_home_blocks

    plans = [
        the_plan().model_copy(update={"plan_id": f"p-{i:02d}", "plan_name": f"Plan {i}"}) for i in range(40)
    ]
    busy = [a_run(i).model_copy(update={"status": ExecutionStatus.PENDING_APPROVAL}) for i in range(15)]
    home = Home(
        viewer="U1", approvals=busy, gates=busy, running=busy, plans=[PlanLine(p, None) for p in plans]
    )

    blocks = [b.to_dict() for b in build_home_blocks(home, 1_767_225_600, notice="done")]

    buttons = [
        b["accessory"] for b in blocks if b.get("accessory", {}).get("action_id") == "home_plan_history"
    ]
    assert [b["value"] for b in buttons] == [f"p-{i:02d}" for i in range(MAX_LISTED)]
    rest = next(b for b in blocks if "Plan 10" in json.dumps(b))
    assert "accessory" not in rest and "Plan 29" in json.dumps(rest)
    assert len(blocks) <= 100
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids))
