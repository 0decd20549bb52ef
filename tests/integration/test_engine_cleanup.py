"""A drill's cleanup is verified against DRS, never assumed; launches are reconciled by their tags.

Truth comes from the simulator's own state (`running_instances`, `launch_counts`, `jobs_by_tag`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.gateway import DrsGateway
from orchestration.engine.advance import TAG_EXECUTION, TAG_WAVE, advance
from orchestration.errors import DrsOutcomeUnknown, DrsUnavailable
from orchestration.models import CleanupStatus, EventType, ExecutionStatus
from orchestration.services.report import evidence_report
from tests.drills import start, three_tier_plan

REGION = "us-east-1"
MAX_TICKS = 2000


def drive(services: Any, clock: Any, execution_id: str) -> Any:
    for _ in range(MAX_TICKS):
        result = advance(services, execution_id)
        if result.done:
            return services.store.get_execution(execution_id)
        clock.advance(max(1, result.wait_seconds))
    raise AssertionError("the drill did not finish")


def drive_until_launched(services: Any, clock: Any, execution_id: str) -> Any:
    """Until the drill itself has ended (its cleanup not begun: a look needs the clock to move)."""
    for _ in range(MAX_TICKS):
        execution = services.store.get_execution(execution_id)
        if execution.is_terminal:
            return execution
        clock.advance(max(1, advance(services, execution_id).wait_seconds))
    raise AssertionError("the drill did not end")


def test_cleanup_gives_up_at_the_deadline_naming_exactly_what_drs_still_shows(svc, clock, simulator):
    svc.settings = dataclasses.replace(svc.settings, cleanup_deadline_minutes=30)
    plan = three_tier_plan(svc, simulator)
    execution_id = start(svc, plan, cleanup_after_minutes=1)
    drive_until_launched(svc, clock, execution_id)
    # DRS refuses every termination from now on: the instances stay
    simulator.throttle_next(10**6, ["terminate_recovery_instances"])
    execution = drive(svc, clock, execution_id)

    left = simulator.running_instances()
    assert len(left) == 7  # the truth: nothing was terminated
    cleanup = execution.cleanup
    assert cleanup is not None and cleanup.status == CleanupStatus.FAILED
    assert cleanup.finished_at is not None and cleanup.started_at is not None
    assert cleanup.finished_at - cleanup.started_at >= 30 * 60
    failed = [e for e in execution.events if e.type == EventType.CLEANUP_FAILED]
    assert len(failed) == 1 and failed[0].details["instancesLeft"] == 7
    assert "7 drill instance(s) still running" in failed[0].message
    assert "db-primary-01" in failed[0].message
    assert not any(e.type == EventType.CLEANUP_COMPLETED for e in execution.events)
    marked = {s.recovery_instance_id for w in execution.waves for s in w.servers if s.left_running}
    assert marked == {i["recoveryInstanceID"] for i in left}
    report = evidence_report(execution, plan)
    assert report.cleanup is not None and len(report.cleanup.left_running) == 7
    assert any("db-primary-01" in name for name in report.cleanup.left_running)


def test_a_verification_drs_never_answers_is_never_read_as_none_left(svc, clock, simulator):
    svc.settings = dataclasses.replace(svc.settings, cleanup_deadline_minutes=20)
    execution_id = start(svc, three_tier_plan(svc, simulator))
    drive_until_launched(svc, clock, execution_id)
    simulator.throttle_next(10**6, ["describe_recovery_instances"])
    execution = drive(svc, clock, execution_id)

    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.FAILED
    assert not any(e.type == EventType.CLEANUP_COMPLETED for e in execution.events)
    assert "DRS did not answer" in (execution.cleanup.error or "")


def test_a_launch_job_tagged_with_the_drill_that_the_record_does_not_know_is_cleaned_up(
    svc, clock, simulator
):
    """A job a lost answer left behind (here: started by hand with the drill's tags on a server no
    wave holds) is found by its tags, and its instance is terminated with the drill's."""
    execution_id = start(svc, three_tier_plan(svc, simulator))
    advance(svc, execution_id)  # RUNNING: wave 1 launching
    stray = simulator.server_id("mq-broker-01")
    simulator.client(REGION).start_recovery(
        sourceServers=[{"sourceServerID": stray}],
        isDrill=True,
        tags={TAG_EXECUTION: execution_id, TAG_WAVE: "1"},
    )
    execution = drive(svc, clock, execution_id)

    assert execution.status == ExecutionStatus.COMPLETED
    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED
    assert simulator.running_instances() == []
    assert simulator.launch_counts()[stray] == 1


def test_a_lost_launch_answer_is_adopted_not_launched_again(svc, clock, simulator):
    execution_id = start(svc, three_tier_plan(svc, simulator))
    simulator.lose_responses(1.0, ["start_recovery"])
    for _ in range(3):  # every StartRecovery takes effect, and every answer is lost
        clock.advance(max(1, advance(svc, execution_id).wait_seconds))
    simulator.clear_faults()
    execution = drive(svc, clock, execution_id)

    assert execution.status == ExecutionStatus.COMPLETED
    jobs = [j for j in simulator.jobs_by_tag(TAG_EXECUTION, execution_id) if j["type"] == "LAUNCH"]
    assert sorted(j["jobID"] for j in jobs) == sorted(w.job_id or "" for w in execution.waves)
    assert set(simulator.launch_counts().values()) == {1}
    adopted = [e for e in execution.events if e.type == EventType.WAVE_LAUNCHED and e.details["recovered"]]
    assert adopted and "db-primary-01" in adopted[0].message  # hostnames known for adopted jobs too
    assert simulator.running_instances() == []


# -- the gateway's retries ---------------------------------------------------------------------------


def test_the_gateway_retries_reads_and_refused_writes_but_never_a_write_whose_answer_was_lost(simulator):
    gateway = SimulatedDrsClients(simulator, attempts=3).gateway(REGION)
    simulator.throttle_next(2, ["describe_source_servers"])
    assert gateway.source_servers()  # two throttles, then an answer

    simulator.throttle_next(3, ["describe_jobs"])
    with pytest.raises(DrsUnavailable):
        gateway.jobs_since(0)  # three attempts, three throttles

    server = simulator.server_id("web-admin-01")
    simulator.throttle_next(1, ["start_recovery"])
    job = gateway.start_recovery([server], True, {})  # a throttle did nothing: retried
    assert job.job_id

    once = DrsGateway(simulator.client(REGION), REGION, attempts=3)
    other = simulator.server_id("web-frontend-01")
    simulator.lose_responses(1.0, ["start_recovery"])
    with pytest.raises(DrsOutcomeUnknown):
        once.start_recovery([other], True, {})
    assert simulator.launch_counts()[other] == 1  # it happened once, and was not asked again


def test_an_instance_replaced_by_someone_elses_launch_is_gone_and_theirs_is_left_alone(svc, clock, simulator):
    """DRS keeps one recovery instance per server: a launch by someone else replaces the drill's.
    The cleanup's termination of the vanished instance is refused as unknown; it is confirmed gone,
    the rest of the drill's instances are terminated, and the other launch's instance is kept."""
    execution_id = start(svc, three_tier_plan(svc, simulator), cleanup_after_minutes=5)
    drive_until_launched(svc, clock, execution_id)
    web = simulator.server_id("web-admin-01")
    theirs = simulator.client(REGION).start_recovery(sourceServers=[{"sourceServerID": web}], isDrill=True)
    execution = drive(svc, clock, execution_id)

    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED
    replaced = [
        s.recovery_instance_id for w in execution.waves for s in w.servers if s.source_server_id == web
    ]
    assert execution.cleanup.gone == replaced
    left = simulator.running_instances()
    assert [(i["sourceServerID"], i["jobID"]) for i in left] == [(web, theirs["job"]["jobID"])]
