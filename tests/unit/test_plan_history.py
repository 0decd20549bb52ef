"""The plan history service (orchestration/services/plan_history.py): which runs it lists, the
servers failing in more than one of the last N, when the plan last passed, and the bounds of N.
The properties are checked against an oracle written from the definitions in the module docstring,
not from the code."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.views.plan_history import build_history_message
from orchestration.errors import ValidationFailed
from orchestration.models import (
    CleanupRun,
    CleanupStatus,
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
from orchestration.services.plan_history import (
    DEFAULT_LAST,
    MAX_LAST,
    check_last,
    plan_history,
)
from orchestration.services.report import RpoResult, RtoResult

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOSTS = ("db-01", "db-02", "app-01", "app-02", "web-01")
ENDED = (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


def the_plan(rto: int | None = 30, rpo: int | None = 15) -> RecoveryPlan:
    return RecoveryPlan(
        plan_id="p-1",
        plan_name="Prod DR",
        waves=[Wave(wave_number=1, wave_name="All", protection_group_id="g-1")],
        rto_target_minutes=rto,
        rpo_target_minutes=rpo,
        last_modified_date=T0 - 86_400,
        version=1,
    )


def a_run(
    n: int,
    *,
    status: ExecutionStatus = ExecutionStatus.COMPLETED,
    duration: int = 600,
    failed: frozenset[str] = frozenset(),
    loss: int = 300,
    cleanup: CleanupStatus | None = CleanupStatus.COMPLETED,
    started: bool = True,
    execution_type: ExecutionType = ExecutionType.DRILL,
) -> Execution:
    """The n-th run (a larger n is newer): one wave of HOSTS, `failed` of them FAILED, each launched
    one recovered `loss` seconds before the request."""
    requested = T0 + n * 86_400
    servers = [
        ServerRun(
            source_server_id=f"s-{i:017d}",
            hostname=host,
            launch_status=LaunchStatus.FAILED if host in failed else LaunchStatus.LAUNCHED,
            recovery_instance_id=None if host in failed else f"i-rec{n:04d}{i:05d}",
            snapshot_time=None if host in failed else requested - loss,
            error="capacity" if host in failed else None,
        )
        for i, host in enumerate(HOSTS)
    ]
    start = requested + 60 if started else None
    run = Execution(
        execution_id=f"e-{n:04d}-0000-4000-8000-000000000000",
        plan_id="p-1",
        plan_name="Prod DR",
        execution_type=execution_type,
        status=status if started else ExecutionStatus.REJECTED,
        initiated_by="alice",
        requested_at=requested,
        required_approvals=1,
        start_time=start,
        end_time=None if start is None else start + duration,
        waves=[
            WaveRun(
                wave_number=1,
                wave_name="All",
                status=WaveStatus.COMPLETED if not failed else WaveStatus.FAILED,
                start_time=start,
                end_time=None if start is None else start + duration,
                servers=servers,
            )
        ],
    )
    if cleanup is not None and started:
        run = run.model_copy(
            update={
                "cleanup": CleanupRun(
                    status=cleanup,
                    due_at=start + duration if start else None,
                    recovery_instance_ids=[s.recovery_instance_id for s in servers if s.recovery_instance_id],
                    finished_at=(start or 0) + duration + 60,
                )
            }
        )
    return run


def oracle_passed(run: Execution, plan: RecoveryPlan) -> bool:
    """Passed, from the definition: COMPLETED, within the RTO, every server recovered within the RPO,
    cleanup not FAILED."""
    if run.status != ExecutionStatus.COMPLETED:
        return False
    duration = (run.end_time or 0) - (run.start_time or 0)
    if plan.rto_target_minutes is not None and duration > plan.rto_target_minutes * 60:
        return False
    servers = [s for w in run.waves for s in w.servers]
    if plan.rpo_target_minutes is not None and any(
        s.launch_status != LaunchStatus.LAUNCHED
        or s.snapshot_time is None
        or run.requested_at - s.snapshot_time > plan.rpo_target_minutes * 60
        for s in servers
    ):
        return False
    return run.cleanup is None or run.cleanup.status != CleanupStatus.FAILED


runs_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(ENDED),
            "duration": st.integers(60, 3600),
            "failed": st.frozensets(st.sampled_from(HOSTS), max_size=3),
            "loss": st.integers(0, 1800),
            "cleanup": st.sampled_from([CleanupStatus.COMPLETED, CleanupStatus.FAILED, None]),
            "started": st.booleans() | st.just(True),
            "execution_type": st.sampled_from([ExecutionType.DRILL, ExecutionType.RECOVERY]),
        }
    ),
    max_size=25,
)


def newest_first(specs: list[dict[str, Any]]) -> list[Execution]:
    return [a_run(len(specs) - i, **spec) for i, spec in enumerate(specs)]


@settings(max_examples=60, deadline=None)
@given(
    specs=runs_strategy,
    last=st.integers(1, 12),
    rto=st.none() | st.integers(1, 60),
    rpo=st.none() | st.integers(1, 30),
)
def test_repeat_failures_and_last_passed_follow_their_definitions(
    specs: list[dict[str, Any]], last: int, rto: int | None, rpo: int | None
) -> None:
    plan = the_plan(rto, rpo)
    executions = newest_first(specs)

    history = plan_history(plan, executions, last)

    ran = [e for e in executions if e.start_time is not None]
    assert [r.execution_id for r in history.runs] == [e.execution_id for e in ran[:last]]
    # repeat failures: over the last `last` drills, however many recoveries are among the runs shown
    drills = [e for e in ran if e.execution_type == ExecutionType.DRILL][:last]
    assert history.drills_counted == len(drills)
    counts = Counter(
        s.hostname
        for e in drills
        for s in {
            s.hostname: s for w in e.waves for s in w.servers if s.launch_status == LaunchStatus.FAILED
        }.values()
    )
    assert {(r.hostname, r.failures) for r in history.repeat_failures} == {
        (h, n) for h, n in counts.items() if n > 1
    }
    assert [r.failures for r in history.repeat_failures] == sorted(
        (r.failures for r in history.repeat_failures), reverse=True
    )
    expected = next((e.execution_id for e in ran if oracle_passed(e, plan)), None)
    assert (history.last_passed.execution_id if history.last_passed else None) == expected
    assert history.complete and history.executions_read == len(executions)
    for run, execution in zip(history.runs, ran, strict=False):
        assert run.passed == oracle_passed(execution, plan)
        assert run.servers_failed == sorted(
            s.hostname for w in execution.waves for s in w.servers if s.launch_status == LaunchStatus.FAILED
        )


def test_a_run_line_has_its_verdicts_worst_loss_and_cleanup() -> None:
    plan = the_plan(rto=30, rpo=10)
    slow = a_run(3, duration=45 * 60, loss=120)  # missed the RTO
    lossy = a_run(2, loss=20 * 60, cleanup=CleanupStatus.COMPLETED)  # missed the RPO
    good = a_run(1, duration=600, loss=300)

    history = plan_history(plan, [slow, lossy, good], 10)

    first, second, third = history.runs
    assert (first.rto, first.rpo, first.passed) == (RtoResult.MISSED, RpoResult.MET, False)
    assert (second.rto, second.rpo, second.passed) == (RtoResult.MET, RpoResult.MISSED, False)
    assert second.worst_data_loss_seconds == 20 * 60 and second.worst_data_loss_server in HOSTS
    assert (third.rto, third.rpo, third.passed) == (RtoResult.MET, RpoResult.MET, True)
    assert third.duration_seconds == 600 and third.cleanup == CleanupStatus.COMPLETED
    assert history.last_passed is not None and history.last_passed.execution_id == good.execution_id
    assert (history.rto_target_minutes, history.rpo_target_minutes) == (30, 10)


def test_a_failed_cleanup_fails_an_otherwise_passing_drill_and_requests_that_never_ran_are_left_out() -> None:
    plan = the_plan(rto=None, rpo=None)
    leaky = a_run(3, cleanup=CleanupStatus.FAILED)
    never = a_run(2, started=False)
    recovery = a_run(1, cleanup=None, execution_type=ExecutionType.RECOVERY)

    history = plan_history(plan, [leaky, never, recovery], 10)

    assert [r.execution_id for r in history.runs] == [leaky.execution_id, recovery.execution_id]
    assert history.runs[0].passed is False and history.runs[0].cleanup == CleanupStatus.FAILED
    assert history.runs[1].rto == RtoResult.NO_TARGET and history.runs[1].cleanup is None
    assert history.last_passed is not None and history.last_passed.execution_type == ExecutionType.RECOVERY


def test_last_passed_is_found_beyond_the_runs_shown() -> None:
    plan = the_plan(rto=30, rpo=None)
    failures = [a_run(10 - i, status=ExecutionStatus.FAILED, failed=frozenset({"db-01"})) for i in range(5)]
    passing = a_run(2)

    history = plan_history(plan, [*failures, passing], 3)

    assert len(history.runs) == 3 and not any(r.passed for r in history.runs)
    assert [(r.hostname, r.failures) for r in history.repeat_failures] == [("db-01", 3)]
    assert history.last_passed is not None and history.last_passed.execution_id == passing.execution_id


@pytest.mark.parametrize(
    ("given_last", "expected"), [(None, DEFAULT_LAST), ("", DEFAULT_LAST), ("1", 1), (50, 50)]
)
def test_last_defaults_to_ten_and_takes_one_to_fifty(given_last: Any, expected: int) -> None:
    assert check_last(given_last) == expected


@pytest.mark.parametrize("bad", [0, 51, -3, "abc", "2.5", "1e3", " 7x"])
def test_a_bad_last_is_refused_naming_the_field_and_the_bounds(bad: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_last(bad)
    assert raised.value.to_body()["field"] == "last"
    assert f"1 to {MAX_LAST}" in raised.value.to_body()["message"]


def test_repeat_failures_count_the_last_drills_only_not_recoveries() -> None:
    plan = the_plan(rto=None, rpo=None)
    db = frozenset({"db-01"})
    recoveries = [
        a_run(
            10 - i,
            status=ExecutionStatus.FAILED,
            failed=db,
            cleanup=None,
            execution_type=ExecutionType.RECOVERY,
        )
        for i in range(3)
    ]
    drills = [a_run(5, status=ExecutionStatus.FAILED, failed=db), a_run(4), a_run(3, failed=db)]

    history = plan_history(plan, [*recoveries, *drills], 3)

    # the three runs shown are the recoveries; the repeat failures are counted over the last 3 drills
    assert [r.execution_type for r in history.runs] == [ExecutionType.RECOVERY] * 3
    assert history.drills_counted == 3
    assert [(r.hostname, r.failures) for r in history.repeat_failures] == [("db-01", 2)]


def test_no_pass_among_a_scan_cut_short_is_not_said_to_be_never() -> None:
    plan = the_plan(rto=30, rpo=None)
    failures = [a_run(10 - i, status=ExecutionStatus.FAILED) for i in range(4)]

    cut = plan_history(plan, failures, 3, complete=False)
    whole = plan_history(plan, failures, 3)

    assert cut.last_passed is None and not cut.complete and cut.executions_read == 4
    assert build_history_message(cut).text  # renders
    cut_text = json.dumps(build_history_message(cut).block_dicts())
    whole_text = json.dumps(build_history_message(whole).block_dicts())
    assert "*Last passed:* not within the last 4 runs requested (older ones were not read)." in cut_text
    assert "never" not in cut_text
    assert "*Last passed:* never, among its runs on record." in whole_text
