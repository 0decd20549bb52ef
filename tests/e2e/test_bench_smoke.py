"""`python -m bench --quick` runs, in-process: a row per size with the measured columns, and every
drill's cleanup left nothing running; `python -m bench.import_cost` times one Lambda entry's import
against its libraries once (timings are not judged); `python -m bench.wake` drives a drill through
the state machine under moto and counts a template's idle schedules."""

from __future__ import annotations

from pathlib import Path

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
    (row,) = import_cost.main(["--runs", "1", "--entry", "orchestration.handlers.query"])
    assert row.label == "orchestration.handlers.query"
    for timing in (row.entry, row.baseline, row.lazy_baseline):
        assert timing.cpu_ms > 0 and timing.wall_ms > 0
    # the baseline is the libraries as drbot uses them: pydantic's top module and its BaseModel
    assert import_cost.BASELINE.startswith(import_cost.LAZY_BASELINE)
    assert "from pydantic import BaseModel" in import_cost.BASELINE
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


def test_the_wake_benchmark_measures_a_drill_under_moto_and_the_idle_schedules(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    from bench import wake

    monkeypatch.setattr(wake, "RUN_DEADLINE_SECONDS", 60.0)
    run, idle = wake.main(["--launch-seconds", "120", "--event-drills", "1"])
    assert (run.status, run.machine_status) == ("COMPLETED", "SUCCEEDED")
    assert run.launch_jobs == {1: 1, 2: 1, 3: 1}  # one DRS job per wave, counted in the simulator
    assert len(run.wave_seconds) == 3 and all(s > 0 for s in run.wave_seconds)
    assert run.transitions == len(run.states) > 3 and run.advances > 1
    assert run.per_drill_hour == pytest.approx(run.transitions * 3600 / run.drill_seconds)
    assert len(run.seen_after) == 3 and len(run.next_start_after) == 2
    assert all(s >= 0 for s in (*run.seen_after, *run.next_start_after))
    assert idle == wake.idle_invocations_per_day()
    printed = capsys.readouterr().out
    assert "per drill-hour" in printed and "Invocations per idle day" in printed
    assert "Embedded default with the simulator's events (3 waves" in printed
    assert "The same drill with the simulator's events" in printed


def test_the_wake_benchmark_counts_a_templates_schedules_per_target_function(tmp_path: Path) -> None:
    from bench import wake

    template = tmp_path / "template.yaml"
    template.write_text(
        """AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Poller:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.b
      Runtime: python3.11
      CodeUri: .
      Events:
        Often: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(5 minutes)}}
        Once: {Type: ScheduleV2, Properties: {ScheduleExpression: "at(2030-01-01T00:00:00)"}}
        Api: {Type: Api, Properties: {Path: /x, Method: GET}}
  Other:
    Type: AWS::Serverless::Function
    Properties: {Handler: a.c, Runtime: python3.11, CodeUri: .}
  Noon:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: cron(0 12 * * ? *)
      Targets: [{Id: other, Arn: !GetAtt Other.Arn}]
  Weekdays:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: cron(0 9 ? * MON-FRI *)
      FlexibleTimeWindow: {Mode: "OFF"}
      Target: {Arn: !GetAtt Poller.Arn, RoleArn: arn:aws:iam::123456789012:role/r}
""",
        encoding="utf-8",
    )
    assert wake.idle_invocations_per_day(template) == {"Poller": 288 + 1, "Other": 1}
    assert wake.fires_per_day("rate(1 minute)") == 1440
