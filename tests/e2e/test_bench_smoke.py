"""`python -m bench --quick` runs, in-process: a row per size with the measured columns, and every
drill's cleanup left nothing running; `python -m bench.import_cost` times one Lambda entry's import
against its libraries once (timings are not judged)."""

from __future__ import annotations

import pytest

from bench import import_cost
from bench.__main__ import main
from bench.engine_tick import CLEANUP, LAUNCH, QUICK_MATRIX, Row


def test_quick_bench_produces_a_row_per_size(capsys: pytest.CaptureFixture[str]) -> None:
    rows = main(["--quick"])
    assert [(r.waves, r.servers) for r in rows] == list(QUICK_MATRIX)
    for row in rows:
        assert row.ticks > 0
        assert row.clients == 1  # one cached boto3 client for the region, as SimulatedDrsClients does
        assert row.engine_ms_mean > 0 and row.engine_ms_p95 > 0
        assert row.drs_calls.get("StartRecovery") == row.waves  # one DRS job per wave
        assert row.drs_phases[LAUNCH] + row.drs_phases[CLEANUP] == row.drs_total
        assert row.drs_calls.get("TerminateRecoveryInstances", 0) > 0
        assert row.drs_phases[CLEANUP] >= row.drs_calls["TerminateRecoveryInstances"]
        assert row.store_writes > 0 and row.bytes_written > 0
        assert 0 < row.largest_item_bytes <= row.bytes_written
        assert (row.cleanup, row.instances_left) == ("COMPLETED", 0)
        assert row.looks > 0
    printed = capsys.readouterr().out
    for column in Row.HEADER:
        assert column in printed
    for column in ("engine ms/tick", "DRS/wave", "bytes/tick", "largest KB", "cleanup", "left"):
        assert column in Row.HEADER
    assert "DescribeJobs" in printed
    assert "CLEANUP NOT DONE" not in printed


def test_import_cost_bench_times_an_entry_against_its_libraries(capsys: pytest.CaptureFixture[str]) -> None:
    assert import_cost.lambda_entries() == [
        "bot.lambda_function",
        "orchestration.handlers.data_management",
        "orchestration.handlers.execution",  # the state machine's tasks run here too
        "orchestration.handlers.query",
        "scheduler.handler",
    ]
    environ = import_cost.lambda_environ()
    assert environ["DRBOT_BACKEND"] == "aws" and "LAMBDA_TASK_ROOT" not in environ
    [row] = import_cost.main(["--runs", "1", "--entry", "orchestration.handlers.query"])
    assert row.label == "orchestration.handlers.query"
    for timing in (row.entry, row.baseline):
        assert timing.cpu_ms > 0 and timing.wall_ms > 0
    printed = capsys.readouterr().out
    for column in import_cost.Row.HEADER:
        assert column in printed
    assert f"{row.ratio:.2f}" in printed


def test_the_fire_times_benchmark_times_every_expression_and_prints_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import fire_times

    results = fire_times.main(["--runs", "1"])
    assert list(results) == list(fire_times.EXPRESSIONS)
    assert all(seconds > 0 for seconds in results.values())
    printed = capsys.readouterr().out
    assert all(text in printed for text in fire_times.EXPRESSIONS)
