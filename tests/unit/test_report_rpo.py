"""The recovery point in the evidence report: each server's data-loss window (request time minus the
point in time recovered), the worst per wave and run, and the verdict against `rpoTargetMinutes`
over hand-made executions, with a property over generated runs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.views.report import build_report_json_message, build_report_message
from orchestration.models import (
    CleanupStatus,
    Execution,
    ExecutionStatus,
    LaunchStatus,
    RecoveryPlan,
    WaveStatus,
)
from orchestration.services.report import EvidenceReport, RpoResult, evidence_report
from orchestration.services.report_text import report_json, report_markdown
from tests.unit.test_report import T0, completed_drill, execution, plan, server, slack_limits_hold, wave_run


def rpo_plan(rpo: int | None, **kwargs: int) -> RecoveryPlan:
    return plan(**kwargs).model_copy(update={"rpo_target_minutes": rpo})


def with_snapshots(run: Execution, lags: dict[str, int | None]) -> Execution:
    """`run` with each named host's point in time `lag` seconds before the request (None: unrecorded)."""
    waves = [
        w.model_copy(
            update={
                "servers": [
                    s.model_copy(
                        update={
                            "snapshot_time": None
                            if lags[s.hostname] is None
                            else T0 - (lags[s.hostname] or 0)
                        }
                    )
                    if s.hostname in lags
                    else s
                    for s in w.servers
                ]
            }
        )
        for w in run.waves
    ]
    return run.model_copy(update={"waves": waves})


def test_each_server_wave_and_run_has_its_window_and_the_worst_is_named() -> None:
    run = with_snapshots(completed_drill(), {"host-1-0": 60, "host-1-1": 240, "host-2-0": 900, "host-3-1": 0})
    report = evidence_report(run, rpo_plan(30))
    windows = {s.hostname: s.data_loss_seconds for w in report.waves for s in w.servers}
    assert windows == {
        "host-1-0": 60,
        "host-1-1": 240,
        "host-2-0": 900,
        "host-2-1": 300,
        "host-3-0": 300,
        "host-3-1": 0,
    }
    assert [w.worst_data_loss_seconds for w in report.waves] == [240, 900, 300]
    assert (report.rpo.worst_seconds, report.rpo.worst_server) == (900, "host-2-0")
    assert report.rpo.result == RpoResult.MET and report.rpo.target_minutes == 30
    assert report.plan.rpo_target_minutes == 30

    wire = json.loads(report_json(report))
    assert wire["rpo"] == {
        "result": "MET",
        "targetMinutes": 30,
        "worstSeconds": 900,
        "worstServer": "host-2-0",
        "note": "Every server recovered within the 30-minute target.",
    }
    assert wire["waves"][1]["worstDataLossSeconds"] == 900
    assert wire["waves"][1]["servers"][0]["dataLossSeconds"] == 900
    assert EvidenceReport.model_validate(wire) == report


@pytest.mark.parametrize(
    ("target", "worst", "result"),
    [
        (5, 300, RpoResult.MET),  # exactly the target
        (5, 301, RpoResult.MISSED),  # a second over
        (1, 0, RpoResult.MET),
        (None, 999_999, RpoResult.NO_TARGET),
    ],
)
def test_the_window_against_the_target(target: int | None, worst: int, result: RpoResult) -> None:
    fresh = {f"host-{w}-{i}": 0 for w in (1, 2, 3) for i in (0, 1)}
    run = with_snapshots(completed_drill(), {**fresh, "host-3-1": worst})
    report = evidence_report(run, rpo_plan(target))
    assert report.rpo.result == result
    assert report.rpo.worst_seconds == worst
    assert report.rpo.worst_server == ("host-3-1" if worst else "host-1-0")  # a tie: the first
    if result == RpoResult.MISSED:
        assert report.rpo.note.startswith("Missed: 1 server(s) lost more than the 5-minute target")
        assert "host-3-1 (5m 01s)" in report.rpo.note
    if result == RpoResult.NO_TARGET:
        assert report.rpo.note == "The plan sets no RPO target." and report.rpo.target_minutes is None


def test_a_snapshot_taken_after_the_request_lost_nothing() -> None:
    run = with_snapshots(completed_drill(), dict.fromkeys(("host-1-0", "host-1-1"), -120))
    report = evidence_report(run, rpo_plan(5))
    assert report.waves[0].servers[0].data_loss_seconds == 0
    assert report.waves[0].worst_data_loss_seconds == 0


def test_a_launched_server_without_a_point_in_time_is_not_measured_and_said_so() -> None:
    run = with_snapshots(completed_drill(), {"host-2-1": None})
    report = evidence_report(run, rpo_plan(10))
    assert report.waves[1].servers[1].data_loss_seconds is None
    assert report.waves[1].worst_data_loss_seconds == 300  # its other server
    assert report.rpo.result == RpoResult.MET
    assert "Measured on 5 of 6 recovered servers: 1 have no recorded point in time" in report.rpo.note
    assert "the verdict is on the measured ones" in report.rpo.note

    nothing = with_snapshots(completed_drill(), {f"host-{w}-{i}": None for w in (1, 2, 3) for i in (0, 1)})
    report = evidence_report(nothing, rpo_plan(10))
    assert report.rpo.result == RpoResult.UNKNOWN and report.rpo.worst_seconds is None
    assert "the data loss is not measured" in report.rpo.note
    assert all(w.worst_data_loss_seconds is None for w in report.waves)


def test_a_server_not_recovered_misses_the_target_however_fresh_the_others() -> None:
    failing = [server(2, 0), server(2, 1, LaunchStatus.FAILED, error="capacity")]
    waves = [
        wave_run(1, WaveStatus.COMPLETED, [server(1, 0)]),
        wave_run(2, WaveStatus.FAILED, failing),
        wave_run(3, WaveStatus.SKIPPED, []),
    ]
    report = evidence_report(execution(waves, status=ExecutionStatus.FAILED), rpo_plan(60))
    assert report.rpo.result == RpoResult.MISSED
    assert report.rpo.note == "Missed: 1 server(s) of the run were not recovered."
    assert report.rpo.worst_seconds == 300  # the recovered ones are still measured
    assert report.waves[1].servers[1].data_loss_seconds is None

    cancelled = [wave_run(1, WaveStatus.COMPLETED, [server(1, 0)]), wave_run(2, WaveStatus.CANCELLED, [])]
    report = evidence_report(execution(cancelled, status=ExecutionStatus.CANCELLED), rpo_plan(60))
    assert report.rpo.result == RpoResult.MISSED
    assert "it ended CANCELLED without recovering every wave" in report.rpo.note

    both = with_snapshots(execution(waves, status=ExecutionStatus.FAILED), {"host-1-0": 7200})
    note = evidence_report(both, rpo_plan(60)).rpo.note
    assert "1 server(s) lost more than the 60-minute target, the worst host-1-0 (2h 00m)" in note
    assert "1 server(s) of the run were not recovered" in note


def test_not_run_in_progress_and_an_unknown_plan_read_like_the_rto() -> None:
    rejected = execution([], status=ExecutionStatus.REJECTED)
    report = evidence_report(rejected, rpo_plan(15))
    assert (report.rpo.result, report.rpo.note) == (RpoResult.NOT_RUN, "It never ran.")
    assert report.rpo.result.value == report.rto.result.value

    running = execution([wave_run(1, WaveStatus.LAUNCHING, [server(1, 0)])], status=ExecutionStatus.RUNNING)
    report = evidence_report(running, rpo_plan(15))
    assert report.rpo.result == RpoResult.IN_PROGRESS and report.rpo.worst_seconds == 300

    deleted = evidence_report(completed_drill(), None)
    assert deleted.rpo.result == RpoResult.UNKNOWN
    assert deleted.rpo.note == "The plan was deleted since: its RPO target is not known."
    assert deleted.rpo.worst_seconds == 300  # measured all the same
    unread = evidence_report(completed_drill(), None, plan_read=False)
    assert unread.rpo.note == "The plan was not read: its RPO target is not known."

    edited = evidence_report(completed_drill(), rpo_plan(5, modified=T0 + 99_999, version=5))
    assert edited.rpo.result == RpoResult.MET
    assert edited.rpo.note == (
        "Every server recovered within the 5-minute target (the plan's current target: it was edited "
        "after the run)."
    )
    unset = evidence_report(completed_drill(), rpo_plan(None, modified=T0 + 99_999, version=5))
    assert (
        unset.rpo.note
        == "The plan sets no RPO target (the plan's current target: it was edited after the run)."
    )


def test_the_plan_takes_an_optional_rpo_target_within_bounds() -> None:
    assert plan().rpo_target_minutes is None
    wire = rpo_plan(15).model_dump(by_alias=True)
    assert wire["rpoTargetMinutes"] == 15
    assert RecoveryPlan.model_validate(wire).rpo_target_minutes == 15
    for bad in (0, 10_081):
        with pytest.raises(ValueError, match="rpoTargetMinutes"):
            RecoveryPlan.model_validate({**wire, "rpoTargetMinutes": bad})


_OUTCOMES = st.sampled_from([LaunchStatus.LAUNCHED, LaunchStatus.LAUNCHED, LaunchStatus.FAILED])


@given(
    target=st.integers(min_value=1, max_value=120),
    waves=st.lists(
        st.lists(
            st.tuples(_OUTCOMES, st.integers(min_value=-600, max_value=3 * 7200)), min_size=1, max_size=5
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_met_exactly_when_every_server_is_recovered_within_the_target(
    target: int, waves: list[list[tuple[LaunchStatus, int]]]
) -> None:
    runs = [
        wave_run(
            n,
            WaveStatus.COMPLETED
            if all(o == LaunchStatus.LAUNCHED for o, _ in servers)
            else WaveStatus.FAILED,
            [
                server(n, i, outcome).model_copy(
                    update={"snapshot_time": T0 - lag if outcome == LaunchStatus.LAUNCHED else None}
                )
                for i, (outcome, lag) in enumerate(servers)
            ],
        )
        for n, servers in enumerate(waves, 1)
    ]
    recovered = all(o == LaunchStatus.LAUNCHED for servers in waves for o, _ in servers)
    status = ExecutionStatus.COMPLETED if recovered else ExecutionStatus.FAILED
    run = execution(runs, status=status).model_copy(update={"cleanup": None})
    report = evidence_report(run, rpo_plan(target))
    windows = [max(0, lag) for servers in waves for o, lag in servers if o == LaunchStatus.LAUNCHED]
    within = all(w <= target * 60 for w in windows)
    assert (report.rpo.result == RpoResult.MET) == (recovered and within)
    assert report.rpo.result in (RpoResult.MET, RpoResult.MISSED)
    assert report.rpo.worst_seconds == (max(windows) if windows else None)
    for wave, servers in zip(report.waves, waves, strict=True):
        launched = [max(0, lag) for o, lag in servers if o == LaunchStatus.LAUNCHED]
        assert wave.worst_data_loss_seconds == (max(launched) if launched else None)


def test_the_cleanup_of_a_drill_does_not_change_its_rpo() -> None:
    # the RPO reads the servers only: a drill's cleanup state changes nothing in it
    for cleanup in (CleanupStatus.SCHEDULED, CleanupStatus.FAILED, CleanupStatus.COMPLETED):
        assert evidence_report(completed_drill(cleanup), rpo_plan(5)).rpo.result == RpoResult.MET


def test_every_rendering_shows_the_rpo_beside_the_rto() -> None:
    run = with_snapshots(completed_drill(), {"host-2-1": 1500})
    report = evidence_report(run, rpo_plan(20), generated_at=T0 + 7200)
    assert report.rpo.result == RpoResult.MISSED

    message = build_report_message(report)
    text = slack_limits_hold(report)
    assert "RTO: ✔ MET (target 60 min, took 30m 00s)" in text
    assert "RPO: ✘ MISSED (target 20 min, worst data loss 25m 00s on host-2-1): Missed: 1 server(s)" in text
    assert "host-2-1 (s-00200000000000001): LAUNCHED" in text and "data loss 25m 00s" in text
    assert message.text.endswith("RTO MET, RPO MISSED")  # the short summary line
    table = next(b for b in message.block_dicts() if b["type"] == "table")
    assert "Worst data loss" in json.dumps(table["rows"][0]) and "25m 00s" in json.dumps(table["rows"][2])

    markdown = report_markdown(report)
    assert "- **RPO:** MISSED (target 20 min, worst data loss 25m 00s on host-2-1)" in markdown
    assert "| 9m 00s | 2/2 | 25m 00s |" in markdown  # the wave's worst
    # the server's window, then its lag at launch: wave 2's job started 11 minutes after the request
    assert "| 2025-12-31T23:35:00Z | 25m 00s | 36m 00s | - |" in markdown

    code = "".join(
        b["text"]["text"].strip("`") + "\n"
        for b in build_report_json_message(report).block_dicts()
        if b["type"] == "section"
    )
    assert json.loads(code)["rpo"]["worstServer"] == "host-2-1"


def test_the_rpo_of_a_thousand_servers_still_fits_a_message() -> None:
    waves = [
        wave_run(
            n, WaveStatus.COMPLETED, [server(n, i) for i in range(25)], name=f"Wave {n:02d} of the estate"
        )
        for n in range(1, 41)
    ]
    run = with_snapshots(execution(waves), {"host-40-24": 4000})
    report = evidence_report(run, rpo_plan(60))
    text = slack_limits_hold(report)
    assert "RPO: ✘ MISSED (target 60 min, worst data loss 1h 06m on host-40-24)" in text
    assert report.waves[39].worst_data_loss_seconds == 4000
