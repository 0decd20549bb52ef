"""The evidence report: the model over hand-made executions (completed, failed, cancelled, RTO met,
missed or unset, plan changed or deleted since, when the record closes), and its Slack, JSON and
Markdown renderings, inside Block Kit's limits even for 40 waves of 25 servers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.views.common import MAX_BLOCKS_PER_MESSAGE, MAX_SECTION_TEXT
from bot.views.report import build_report_json_message, build_report_message
from bot.views.text import render_message
from orchestration.models import (
    Approval,
    CleanupRun,
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    RecoveryPlan,
    ServerRun,
    Wave,
    WaveRun,
    WaveStatus,
)
from orchestration.services.closing import closing_event
from orchestration.services.report import (
    EvidenceReport,
    PlanState,
    RtoResult,
    evidence_report,
)
from orchestration.services.report_text import report_json, report_markdown

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
EXECUTION_ID = "3f2a9c1b-0000-4000-8000-000000000000"
WAVE_NAMES = ("Database", "App", "Web")


def server(
    wave: int, n: int, status: LaunchStatus = LaunchStatus.LAUNCHED, error: str | None = None
) -> ServerRun:
    launched = status == LaunchStatus.LAUNCHED
    return ServerRun(
        source_server_id=f"s-{wave:03d}{n:014d}",
        hostname=f"host-{wave}-{n}",
        launch_status=status,
        recovery_instance_id=f"i-rec{wave:03d}{n:05d}" if launched else None,
        instance_id=f"i-ec2{wave:03d}{n:05d}" if launched else None,
        launched_at=T0 + 600 * wave if launched else None,
        snapshot_time=T0 - 300 if launched else None,
        error=error,
    )


def wave_run(number: int, status: WaveStatus, servers: list[ServerRun], name: str | None = None) -> WaveRun:
    started = T0 + 60 + 600 * (number - 1)
    return WaveRun(
        wave_number=number,
        wave_name=name or WAVE_NAMES[(number - 1) % 3],
        status=status,
        job_id=f"drsjob-{number:04d}",
        region="us-east-1",
        start_time=started if status not in (WaveStatus.PENDING, WaveStatus.SKIPPED) else None,
        end_time=started + 540 if status.is_terminal and status != WaveStatus.SKIPPED else None,
        servers=servers,
    )


def plan(rto: int | None = 60, modified: int = T0 - 3600, version: int = 3) -> RecoveryPlan:
    return RecoveryPlan(
        plan_id="p-1",
        plan_name="Prod DR",
        waves=[
            Wave(wave_number=i, wave_name=n, protection_group_id=f"g-{i}")
            for i, n in enumerate(WAVE_NAMES, 1)
        ],
        rto_target_minutes=rto,
        last_modified_date=modified,
        version=version,
    )


def execution(
    waves: list[WaveRun],
    status: ExecutionStatus = ExecutionStatus.COMPLETED,
    execution_type: ExecutionType = ExecutionType.DRILL,
    end: int | None = None,
    **update: Any,
) -> Execution:
    run = Execution(
        execution_id=EXECUTION_ID,
        plan_id="p-1",
        plan_name="Prod DR",
        execution_type=execution_type,
        status=status,
        initiated_by="alice",
        reason="quarterly drill <Q1>",
        requested_at=T0,
        required_approvals=1,
        approvals=[Approval(user_id="bob", at=T0 + 30)],
        start_time=T0 + 60,
        end_time=end if end is not None else T0 + 60 + 600 * len(waves),
        waves=waves,
    ).with_event(
        EventType.REQUESTED,
        T0,
        "alice requested a drill",
        actor="alice",
        warnings=[
            {"severity": "warning", "code": "REPLICATION_LAG", "message": "db-replica-01 lags 20 minutes"}
        ],
    )
    run = run.with_event(EventType.APPROVED, T0 + 30, "bob approved the drill (1 of 1)", actor="bob")
    return run.model_copy(update=update)


def completed_drill(cleanup: CleanupStatus = CleanupStatus.COMPLETED) -> Execution:
    waves = [wave_run(n, WaveStatus.COMPLETED, [server(n, i) for i in range(2)]) for n in (1, 2, 3)]
    run = execution(waves)
    end = run.end_time or 0
    run = run.with_event(EventType.COMPLETED, end, "Drill completed after 30m 00s: 6 of 6 server(s) launched")
    ids = [s.recovery_instance_id or "" for w in waves for s in w.servers]
    done = cleanup != CleanupStatus.SCHEDULED
    run = run.model_copy(
        update={
            "cleanup": CleanupRun(
                status=cleanup,
                due_at=end,
                recovery_instance_ids=ids,
                finished_at=end + 120 if done else None,
                error="DRS refused the cleanup: AccessDenied" if cleanup == CleanupStatus.FAILED else None,
            )
        }
    )
    if cleanup == CleanupStatus.COMPLETED:
        run = run.with_event(
            EventType.CLEANUP_COMPLETED, end + 120, "Cleanup done: 6 drill instance(s) terminated"
        )
    if cleanup == CleanupStatus.FAILED:
        run = run.with_event(EventType.CLEANUP_FAILED, end + 120, "DRS refused the cleanup: AccessDenied")
    return run


def slack_limits_hold(report: EvidenceReport) -> str:
    message = build_report_message(report)
    payload = message.to_slack()  # slack_sdk validates each block
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS_PER_MESSAGE
    assert sum(1 for b in blocks if b["type"] == "table") <= 1
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "table":
            assert len(block["rows"]) <= 100
    return render_message(message)


def test_a_completed_three_wave_drill_is_the_whole_record() -> None:
    report = evidence_report(completed_drill(), plan(rto=60), generated_at=T0 + 7200)
    assert report.final and report.status == ExecutionStatus.COMPLETED
    assert (report.plan.state, report.plan.version, report.plan.rto_target_minutes) == (
        PlanState.UNCHANGED,
        3,
        60,
    )
    assert report.duration_seconds == 1800
    assert report.rto.result == RtoResult.MET and report.rto.actual_seconds == 1800
    assert [(w.wave_name, w.servers_launched, w.servers_total, w.duration_seconds) for w in report.waves] == [
        ("Database", 2, 2, 540),
        ("App", 2, 2, 540),
        ("Web", 2, 2, 540),
    ]
    assert report.approval.given[0].user_id == "bob" and not report.approval.given[0].via_schedule
    assert [w.code for w in report.warnings] == ["REPLICATION_LAG"]
    assert report.cleanup is not None and report.cleanup.instances_terminated == 6
    assert report.cleanup.left_running == []

    wire = json.loads(report_json(report))
    assert wire["executionId"] == EXECUTION_ID and wire["rto"]["result"] == "MET"
    assert wire["startedAt"] == "2026-01-01T00:01:00Z" and wire["generatedAt"] == "2026-01-01T02:00:00Z"
    first = wire["waves"][0]["servers"][0]
    assert first["snapshotTime"] == "2025-12-31T23:55:00Z" and first["recoveryInstanceId"] == "i-rec00100000"
    assert EvidenceReport.model_validate(wire) == report  # it reads back

    text = slack_limits_hold(report)
    assert "Evidence report: Drill of Prod DR" in text
    assert "Prod DR (id p-1, version 3)" in text
    assert "Requested by alice at 2026-01-01T00:00:00Z" in text and "quarterly drill <Q1>" in text
    assert "Approval: Approved by bob at 2026-01-01T00:00:30Z" in text
    assert "MET (target 60 min, took 30m 00s)" in text
    assert "REPLICATION_LAG" in text
    assert "host-2-1 (s-00200000000000001): LAUNCHED, recovery instance i-rec00200001" in text
    assert "point in time 2025-12-31T23:55:00Z" in text
    assert "completed at 2026-01-01T00:33:00Z: 6 drill instances, all terminated" in text

    markdown = report_markdown(report)
    assert markdown.startswith("# Evidence report: Drill of Prod DR")
    assert (
        "| 1 | Database | COMPLETED | 2026-01-01T00:01:00Z | 2026-01-01T00:10:00Z | 9m 00s | 2/2 |"
        in markdown
    )
    assert "| host-3-1 | s-00300000000000001 | LAUNCHED | i-rec00300001 | i-ec200300001 |" in markdown
    assert "bob approved the drill" in markdown  # the timeline


def test_a_failed_wave_names_the_server_and_its_error() -> None:
    failing = [server(2, 0), server(2, 1, LaunchStatus.FAILED, error="Insufficient capacity in us-east-1a")]
    waves = [
        wave_run(1, WaveStatus.COMPLETED, [server(1, 0)]),
        wave_run(2, WaveStatus.FAILED, failing).model_copy(
            update={"error": "1 of 2 server(s) failed to launch"}
        ),
        wave_run(3, WaveStatus.SKIPPED, []),
    ]
    run = execution(waves, status=ExecutionStatus.FAILED, status_reason="Wave 2 (App) failed")
    run = run.with_event(EventType.FAILED, run.end_time or 0, "Drill failed")
    run = run.model_copy(update={"cleanup": CleanupRun(status=CleanupStatus.SCHEDULED, due_at=T0 + 9999)})
    report = evidence_report(run, plan())
    assert not report.final  # its cleanup has not ended
    assert report.rto.result == RtoResult.MISSED and "ended FAILED" in report.rto.note
    wave = report.waves[1]
    assert (wave.status, wave.servers_launched, wave.servers_total) == ("FAILED", 1, 2)
    assert wave.servers[1].error == "Insufficient capacity in us-east-1a"
    assert report.waves[2].status == "SKIPPED" and report.waves[2].started_at is None
    text = slack_limits_hold(report)
    assert "Wave 2 (App) FAILED, 1/2 launched — 1 of 2 server(s) failed to launch" in text
    assert "host-2-1 (s-00200000000000001): FAILED — error: Insufficient capacity in us-east-1a" in text
    assert "not final" in text
    assert "Insufficient capacity in us-east-1a" in report_markdown(report)


def test_a_cancelled_run_records_who_paused_resumed_and_cancelled_it() -> None:
    waves = [wave_run(1, WaveStatus.COMPLETED, [server(1, 0)]), wave_run(2, WaveStatus.CANCELLED, [])]
    run = execution(waves, status=ExecutionStatus.CANCELLED, execution_type=ExecutionType.RECOVERY)
    run = run.with_event(EventType.PAUSED, T0 + 300, "carol paused the recovery", actor="carol")
    run = run.with_event(EventType.RESUMED, T0 + 400, "carol resumed the recovery", actor="carol")
    run = run.with_event(EventType.CANCEL_REQUESTED, T0 + 500, "dave cancelled the recovery", actor="dave")
    run = run.with_event(EventType.CANCELLED, T0 + 600, "Recovery cancelled")
    report = evidence_report(run, plan())
    assert report.final and report.cleanup is None
    assert [(e.type, e.actor) for e in report.interventions] == [
        (EventType.PAUSED, "carol"),
        (EventType.RESUMED, "carol"),
        (EventType.CANCEL_REQUESTED, "dave"),
    ]
    assert report.rto.result == RtoResult.MISSED
    text = slack_limits_hold(report)
    assert "Evidence report: Recovery of Prod DR" in text
    assert "2026-01-01T00:08:20Z CANCEL_REQUESTED by dave: dave cancelled the recovery" in text
    assert "Drill cleanup" not in text
    assert closing_event(run) is not None and closing_event(run).type == EventType.CANCELLED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("rto", "end", "result", "phrase"),
    [
        (31, T0 + 60 + 1800, RtoResult.MET, "MET (target 31 min, took 30m 00s)"),
        (30, T0 + 60 + 1801, RtoResult.MISSED, "MISSED (target 30 min, took 30m 01s)"),
        (None, T0 + 60 + 1800, RtoResult.NO_TARGET, "NO TARGET (no target, took 30m 00s)"),
    ],
)
def test_rto_is_met_missed_or_not_set(rto: int | None, end: int, result: RtoResult, phrase: str) -> None:
    run = completed_drill().model_copy(update={"end_time": end})
    report = evidence_report(run, plan(rto=rto))
    assert report.rto.result == result
    assert phrase in slack_limits_hold(report)


def test_a_plan_deleted_or_edited_since_is_said_so() -> None:
    deleted = evidence_report(completed_drill(), None)
    assert deleted.plan.state == PlanState.DELETED and deleted.plan.version is None
    assert deleted.rto.result == RtoResult.UNKNOWN
    text = slack_limits_hold(deleted)
    assert "Prod DR (id p-1, deleted since the run)" in text and "its RTO target is not known" in text
    assert "deleted since the run" in report_markdown(deleted)

    edited = evidence_report(completed_drill(), plan(rto=60, modified=T0 + 99_999, version=5))
    assert (edited.plan.state, edited.plan.version, edited.plan.current_version) == (
        PlanState.CHANGED,
        None,
        5,
    )
    assert "edited after the run" in edited.rto.note
    assert "now version 5; the version run is not known" in slack_limits_hold(edited)


def test_a_scheduled_drill_names_its_schedule_and_approver() -> None:
    run = completed_drill().model_copy(
        update={
            "schedule_id": "sch-1",
            "initiated_by": "drbot",
            "approvals": [Approval(user_id="bob", at=T0)],
        }
    )
    report = evidence_report(run, plan())
    assert report.approval.schedule_id == "sch-1" and report.approval.given[0].via_schedule
    text = slack_limits_hold(report)
    assert "Started by schedule sch-1" in text and "(approved the schedule beforehand)" in text


def test_the_record_closes_with_the_cleanup_of_a_drill_and_the_end_of_anything_else() -> None:
    assert closing_event(completed_drill(CleanupStatus.SCHEDULED)) is None
    closed = closing_event(completed_drill(CleanupStatus.COMPLETED))
    assert closed is not None and closed.type == EventType.CLEANUP_COMPLETED
    failed = completed_drill(CleanupStatus.FAILED)
    closed = closing_event(failed)
    assert closed is not None and closed.type == EventType.CLEANUP_FAILED
    report = evidence_report(failed, plan())
    assert report.cleanup is not None and len(report.cleanup.left_running) == 6
    assert "i-rec00100000 (host-1-0)" in report.cleanup.left_running
    assert "Possibly left running (6): i-rec00100000 (host-1-0)" in slack_limits_hold(report)

    nothing = completed_drill(CleanupStatus.NOT_NEEDED)
    closed = closing_event(nothing)
    assert closed is not None and closed.type == EventType.COMPLETED
    pending = execution([], status=ExecutionStatus.PENDING_APPROVAL)
    assert closing_event(pending) is None
    assert evidence_report(pending, plan()).rto.result == RtoResult.IN_PROGRESS


def test_forty_waves_of_twenty_five_servers_stay_inside_block_kit() -> None:
    waves = [
        wave_run(
            n,
            WaveStatus.COMPLETED if n != 7 else WaveStatus.FAILED,
            [
                server(
                    n,
                    i,
                    LaunchStatus.FAILED if (n, i) == (7, 3) else LaunchStatus.LAUNCHED,
                    "boom" if (n, i) == (7, 3) else None,
                )
                for i in range(25)
            ],
            name=f"Wave {n:02d} of the estate",
        )
        for n in range(1, 41)
    ]
    report = evidence_report(execution(waves, status=ExecutionStatus.FAILED), plan())
    assert report.servers_total == 1000 and report.servers_launched == 999
    text = slack_limits_hold(report)
    assert "1000 servers in 40 waves" in text and "too many to list here" in text
    assert "host-7-3 (s-00700000000000003): FAILED — error: boom" in text
    assert "--json has every server" in text
    assert "40  Wave 40 of the estate" in text  # every wave is in the table

    as_json = build_report_json_message(report)
    payload = as_json.to_slack()
    assert len(payload["blocks"]) <= MAX_BLOCKS_PER_MESSAGE
    assert all(
        len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in payload["blocks"] if b["type"] == "section"
    )
    assert "Truncated: lines 1 to" in render_message(as_json)

    markdown = report_markdown(report)
    assert markdown.count("| host-") == 1000


def test_a_small_report_in_json_is_whole() -> None:
    report = evidence_report(completed_drill(), plan())
    message = build_report_json_message(report)
    text = render_message(message)
    assert "Truncated" not in text
    code = "".join(
        b["text"]["text"].strip("`") + "\n" for b in message.block_dicts() if b["type"] == "section"
    )
    assert json.loads(code)["executionId"] == EXECUTION_ID


def test_a_thousand_failed_servers_and_long_errors_still_fit() -> None:
    long_error = "DRS could not launch the instance: " + "capacity " * 400
    waves = [
        wave_run(n, WaveStatus.FAILED, [server(n, i, LaunchStatus.FAILED, long_error) for i in range(25)])
        for n in range(1, 41)
    ]
    report = evidence_report(execution(waves, status=ExecutionStatus.FAILED), plan())
    text = slack_limits_hold(report)
    assert "Not launched (1000)" in text and "more." in text
    blocks = build_report_json_message(report).to_slack()["blocks"]
    assert len(blocks) <= MAX_BLOCKS_PER_MESSAGE
    assert all(0 < len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in blocks if b["type"] == "section")
    small = evidence_report(
        execution([waves[0].model_copy(update={"servers": waves[0].servers[:1]})]), plan()
    )
    assert "host-1-0" in slack_limits_hold(small)
