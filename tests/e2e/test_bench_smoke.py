"""`python -m bench --quick` runs, in-process: it produces a row per size (timings are not judged)."""

from __future__ import annotations

import pytest

from bench.__main__ import main
from bench.engine_tick import QUICK_MATRIX


def test_quick_bench_produces_a_row_per_size(capsys: pytest.CaptureFixture[str]) -> None:
    rows = main(["--quick"])
    assert [(r.waves, r.servers) for r in rows] == list(QUICK_MATRIX)
    for row in rows:
        assert row.ticks > 0
        assert row.drs_calls.get("StartRecovery") == row.waves  # one DRS job per wave
        assert row.writes > 0
    printed = capsys.readouterr().out
    assert "ms/tick" in printed and "DescribeJobs" in printed
