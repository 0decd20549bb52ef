"""The targets a run is judged against (orchestration/services/report.py `run_targets`) and the rule
for a passed run (orchestration/services/run_verdicts.py), over hand-made executions: targets
recorded at the request hold however the plan is edited or deleted afterwards; a record without
them falls back to the plan as it is now, and says so; an RPO left unmeasured while a target
applies does not pass."""

from __future__ import annotations

from orchestration.models import Execution
from orchestration.services.digest import digest_run
from orchestration.services.plan_history import history_run
from orchestration.services.report import PlanState, RpoResult, RtoResult, evidence_report
from orchestration.services.run_verdicts import passed, rpo_unverified
from tests.unit.test_report import T0, completed_drill
from tests.unit.test_report_rpo import rpo_plan, with_snapshots

EDITED = "it was edited after the run"
HOSTS = [f"host-{w}-{i}" for w in (1, 2, 3) for i in (0, 1)]


def recorded(run: Execution, rto: int | None, rpo: int | None) -> Execution:
    """`run` as drbot creates it now: the plan's targets at the request kept on it."""
    return run.model_copy(
        update={"rto_target_minutes": rto, "rpo_target_minutes": rpo, "targets_recorded": True}
    )


def lossy_drill() -> Execution:
    """A completed 30-minute drill whose worst server lost 20 minutes of data."""
    return with_snapshots(completed_drill(), {**dict.fromkeys(HOSTS, 60), "host-2-1": 20 * 60})


def test_recorded_targets_hold_when_the_plan_is_relaxed_afterwards() -> None:
    run = recorded(lossy_drill(), rto=20, rpo=15)
    relaxed = rpo_plan(600, rto=600, modified=T0 + 86_400)  # edited after the run

    report = evidence_report(run, relaxed)

    assert report.plan.state == PlanState.CHANGED
    assert (report.plan.rto_target_minutes, report.plan.rpo_target_minutes) == (600, 600)  # the plan now
    assert (report.rto.result, report.rto.target_minutes) == (RtoResult.MISSED, 20)
    assert (report.rpo.result, report.rpo.target_minutes) == (RpoResult.MISSED, 15)
    assert EDITED not in report.rto.note and EDITED not in report.rpo.note
    assert not passed(report)
    assert (history_run(report).rto, history_run(report).rpo, history_run(report).passed) == (
        RtoResult.MISSED,
        RpoResult.MISSED,
        False,
    )
    digest = digest_run(run, relaxed)
    assert (digest.rpo, digest.missed_target, digest.passed) == (RpoResult.MISSED, True, False)


def test_recorded_targets_hold_when_the_plan_is_deleted_or_not_read() -> None:
    run = recorded(lossy_drill(), rto=60, rpo=30)
    for report in (evidence_report(run, None), evidence_report(run, None, plan_read=False)):
        assert report.plan.state in (PlanState.DELETED, PlanState.NOT_READ)
        assert (report.rto.result, report.rpo.result) == (RtoResult.MET, RpoResult.MET)
        assert passed(report)


def test_no_target_recorded_stays_no_target_when_the_plan_gets_one_later() -> None:
    run = recorded(lossy_drill(), rto=None, rpo=None)
    report = evidence_report(run, rpo_plan(5, rto=5, modified=T0 + 60))
    assert (report.rto.result, report.rpo.result) == (RtoResult.NO_TARGET, RpoResult.NO_TARGET)
    assert report.rpo.note == "The plan sets no RPO target."


def test_a_record_without_targets_falls_back_to_the_plan_now_and_says_so() -> None:
    run = lossy_drill()  # targets_recorded False: a record from before they were kept
    assert not run.targets_recorded

    edited = evidence_report(run, rpo_plan(600, rto=600, modified=T0 + 86_400))
    assert (edited.rto.result, edited.rpo.result) == (RtoResult.MET, RpoResult.MET)
    assert EDITED in edited.rto.note and EDITED in edited.rpo.note

    unchanged = evidence_report(run, rpo_plan(15, rto=20))
    assert (unchanged.rto.result, unchanged.rpo.result) == (RtoResult.MISSED, RpoResult.MISSED)
    assert EDITED not in unchanged.rpo.note

    deleted = evidence_report(run, None)
    assert (deleted.rto.result, deleted.rpo.result) == (RtoResult.UNKNOWN, RpoResult.UNKNOWN)
    assert deleted.rpo.target_minutes is None and passed(deleted)  # no target known: nothing to fail


def test_an_rpo_not_measured_while_a_target_applies_does_not_pass() -> None:
    unmeasured = recorded(with_snapshots(completed_drill(), dict.fromkeys(HOSTS)), rto=60, rpo=30)
    report = evidence_report(unmeasured, rpo_plan(30))
    assert (report.rpo.result, report.rpo.target_minutes) == (RpoResult.UNKNOWN, 30)
    assert report.rto.result == RtoResult.MET
    assert rpo_unverified(report) and not passed(report)
    assert not history_run(report).passed
    digest = digest_run(unmeasured, rpo_plan(30))
    assert (digest.passed, digest.missed_target) == (False, False)

    no_target = recorded(unmeasured, rto=60, rpo=None)
    report = evidence_report(no_target, rpo_plan(30))
    assert report.rpo.result == RpoResult.NO_TARGET and passed(report)


def test_a_partly_measured_met_says_on_how_many_servers_and_passes() -> None:
    run = recorded(with_snapshots(completed_drill(), {**dict.fromkeys(HOSTS, 60), "host-3-1": None}), 60, 30)
    report = evidence_report(run, rpo_plan(30))
    assert report.rpo.result == RpoResult.MET
    assert "Measured on 5 of 6 recovered servers" in report.rpo.note
    assert passed(report)


def test_the_lag_at_launch_is_the_job_start_minus_the_point_in_time() -> None:
    run = with_snapshots(completed_drill(), {"host-1-0": 120})
    report = evidence_report(run, rpo_plan(30))
    [first_wave] = [w for w in run.waves if w.wave_number == 1]
    server = report.waves[0].servers[0]
    assert first_wave.start_time is not None
    assert server.data_loss_seconds == 120
    assert server.lag_at_launch_seconds == first_wave.start_time - (T0 - 120)
