"""Pre-flight checks (orchestration/services/preflight.py) against the DRS simulator's demo estate.

Conditions are made the way they happen: jobs started on the simulator, replication stalled, time
moved on the FakeClock, executions written to the store; limits are lowered through Settings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.drs.limits import DrsLimits
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import NotFound
from orchestration.models import (
    Execution,
    ExecutionStatus,
    ExecutionType,
    ProtectionGroup,
    RecoveryPlan,
    ServerRun,
    Wave,
    WaveRun,
    WaveStatus,
)
from orchestration.requests import CreateProtectionGroup, CreateRecoveryPlan
from orchestration.services.groups import create_protection_group
from orchestration.services.plans import create_recovery_plan
from orchestration.services.preflight import (
    DRS_LIMIT_EXCEEDED,
    EMPTY_WAVE,
    REPLICATION_UNHEALTHY,
    SERVER_CONFLICT,
    WAVE_SIZE_LIMIT_EXCEEDED,
    Finding,
    check_recovery_plan,
    current_usage,
    dag_levels,
)

REGION = "us-east-1"
T0 = 1_767_225_600  # FakeClock's start
DATABASES = ["db-primary-01", "db-replica-01", "db-payments-01"]
WEB = ["web-frontend-01", "web-frontend-02"]
APPS = ["app-orders-01", "app-orders-02"]


def group(services: Services, sim: DrsSimulator, name: str, hosts: list[str]) -> ProtectionGroup:
    request = CreateProtectionGroup(
        group_name=name, region=REGION, source_server_ids=[sim.server_id(h) for h in hosts]
    )
    return create_protection_group(services, request, "alice").group


def tag_group(services: Services, name: str, tags: dict[str, str]) -> ProtectionGroup:
    request = CreateProtectionGroup(group_name=name, region=REGION, server_selection_tags=tags)
    return create_protection_group(services, request, "alice").group


def plan(services: Services, name: str, *groups: ProtectionGroup, parallel: bool = False) -> RecoveryPlan:
    waves = [
        Wave(
            wave_number=n,
            wave_name=g.group_name,
            protection_group_id=g.group_id,
            depends_on_waves=[] if parallel else None,
        )
        for n, g in enumerate(groups, start=1)
    ]
    return create_recovery_plan(services, CreateRecoveryPlan(plan_name=name, waves=waves), "alice").plan


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def launch(sim: DrsSimulator, hosts: list[str]) -> str:
    servers: Any = [{"sourceServerID": sim.server_id(h)} for h in hosts]
    return sim.client(REGION).start_recovery(sourceServers=servers, isDrill=True)["job"]["jobID"]


def set_limits(services: Services, **limits: int) -> None:
    services.settings = replace(services.settings, drs_limits=replace(DrsLimits(), **limits))


# -- a plan that can go -----------------------------------------------------------------------------


def test_a_healthy_plan_passes_and_reports_usage(sqlite_services: Services, simulator: DrsSimulator) -> None:
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    web = group(sqlite_services, simulator, "Web", WEB)
    plan(sqlite_services, "Storefront", db, web)

    check = check_recovery_plan(sqlite_services, "storefront")

    assert check.ok and check.findings == []
    assert [
        (u.region, u.active_jobs, u.servers_in_active_jobs, u.recovery_instances) for u in check.usage
    ] == [(REGION, 0, 0, 0)]
    wire = check.to_wire()
    assert wire["planName"] == "Storefront" and wire["ok"] is True
    assert wire["errors"] == [] and wire["warnings"] == []
    assert wire["usage"] == [{"region": REGION, "activeJobs": 0, "serversInJobs": 0, "recoveryInstances": 0}]
    assert [(w["waveNumber"], w["serverCount"]) for w in wire["waves"]] == [(1, 3), (2, 2)]
    assert wire["serverCount"] == 5


def test_an_unknown_plan_or_a_missing_group_is_not_found(
    sqlite_services: Services, simulator: DrsSimulator
) -> None:
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    plan(sqlite_services, "Storefront", db)
    with pytest.raises(NotFound):
        check_recovery_plan(sqlite_services, "no such plan")
    sqlite_services.store.delete_group(db.group_id, "alice")  # behind the service's back
    with pytest.raises(NotFound, match="protection group"):
        check_recovery_plan(sqlite_services, "Storefront")


# -- warnings ---------------------------------------------------------------------------------------


def test_unhealthy_replication_is_a_warning_naming_the_servers(
    sqlite_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    apps = group(sqlite_services, simulator, "Inventory", ["app-inventory-01", "app-inventory-02"])
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    plan(sqlite_services, "Inventory", db, apps)
    simulator.stall_replication(["db-primary-01"])
    clock.advance(600)

    drill = check_recovery_plan(sqlite_services, "Inventory")
    recovery = check_recovery_plan(sqlite_services, "Inventory", ExecutionType.RECOVERY)

    assert drill.ok and recovery.ok  # allowed, but said
    assert codes(drill.warnings) == [REPLICATION_UNHEALTHY, REPLICATION_UNHEALTHY]
    first, second = drill.warnings
    assert first.wave_number == 1 and first.server_ids == (simulator.server_id("db-primary-01"),)
    assert "db-primary-01 (STALLED" in first.message and "drill" in first.message
    assert second.wave_number == 2 and "app-inventory-02 (STALLED" in second.message
    assert "losing what was written since" in recovery.warnings[0].message
    assert drill.to_wire()["warnings"][0]["serverIds"] == [simulator.server_id("db-primary-01")]


def test_a_wave_with_no_servers_is_a_warning(sqlite_services: Services, simulator: DrsSimulator) -> None:
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    nothing = tag_group(sqlite_services, "Mainframes", {"Tier": "mainframe"})
    plan(sqlite_services, "Legacy", db, nothing)

    check = check_recovery_plan(sqlite_services, "Legacy")

    assert check.ok
    assert codes(check.warnings) == [EMPTY_WAVE]
    assert check.warnings[0].wave_number == 2
    assert "tag selector matches no source server" in check.warnings[0].message


# -- wave size --------------------------------------------------------------------------------------


def test_a_wave_above_the_job_size_limit_is_an_error(
    sqlite_services: Services, simulator: DrsSimulator
) -> None:
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    web = group(sqlite_services, simulator, "Web", WEB)
    plan(sqlite_services, "Storefront", db, web)
    set_limits(sqlite_services, max_servers_per_job=2)

    check = check_recovery_plan(sqlite_services, "Storefront")

    assert not check.ok
    assert codes(check.errors) == [WAVE_SIZE_LIMIT_EXCEEDED]
    error = check.errors[0]
    assert error.wave_number == 1 and len(error.server_ids) == 3
    assert "Wave 1 ('Databases') has 3 servers, max is 2" in error.message
    assert check.to_wire()["errors"][0]["code"] == WAVE_SIZE_LIMIT_EXCEEDED


# -- conflicts --------------------------------------------------------------------------------------


def test_servers_in_an_active_drs_job_conflict_until_it_completes(
    sqlite_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    plan(sqlite_services, "Databases", db)
    job_id = launch(simulator, ["db-replica-01", "web-frontend-01"])

    check = check_recovery_plan(sqlite_services, "Databases")

    assert codes(check.errors) == [SERVER_CONFLICT]
    conflict = check.errors[0]
    assert conflict.server_ids == (simulator.server_id("db-replica-01"),)
    assert job_id in conflict.message and "db-replica-01" in conflict.message
    assert check.usage[0].active_jobs == 1 and check.usage[0].servers_in_active_jobs == 2

    clock.advance(300)  # the job completes
    assert check_recovery_plan(sqlite_services, "Databases").ok


def running_execution(
    services: Services,
    of: RecoveryPlan,
    waves: list[WaveRun],
    status: ExecutionStatus = ExecutionStatus.RUNNING,
) -> Execution:
    execution = Execution(
        plan_id=of.plan_id,
        plan_name=of.plan_name,
        execution_type=ExecutionType.DRILL,
        status=status,
        initiated_by="U1",
        requested_at=int(services.clock.now()),
        waves=waves,
    )
    return services.store.create_execution(execution, "engine")


def test_servers_held_by_another_plans_execution_conflict_once(
    services: Services, simulator: DrsSimulator
) -> None:
    db = group(services, simulator, "Databases", DATABASES)
    web = group(services, simulator, "Web", WEB)
    plan(services, "Storefront", db, web)
    nightly = plan(services, "Nightly databases", db)
    job_id = launch(simulator, DATABASES)
    other = running_execution(
        services,
        nightly,
        [
            WaveRun(
                wave_number=1,
                wave_name="Databases",
                protection_group_id=db.group_id,
                status=WaveStatus.STARTED,
                job_id=job_id,
                servers=[ServerRun(source_server_id=simulator.server_id(h)) for h in DATABASES],
            )
        ],
    )

    check = check_recovery_plan(services, "Storefront")

    # the DRS job is the other execution's own: one finding, naming the execution
    assert codes(check.errors) == [SERVER_CONFLICT]
    conflict = check.errors[0]
    assert other.execution_id in conflict.message and "'Nightly databases'" in conflict.message
    assert set(conflict.server_ids) == {simulator.server_id(h) for h in DATABASES}

    services.store.update_execution(other.with_status(ExecutionStatus.COMPLETED, 0), "engine")
    assert codes(check_recovery_plan(services, "Storefront").errors) == [SERVER_CONFLICT]  # job still runs


def test_waves_not_launched_yet_hold_their_groups_servers(
    services: Services, simulator: DrsSimulator
) -> None:
    db = group(services, simulator, "Databases", DATABASES)
    web = group(services, simulator, "Web", WEB)
    storefront = plan(services, "Storefront", db, web)
    web_only = plan(services, "Web only", web)
    running_execution(
        services,
        web_only,
        [
            WaveRun(
                wave_number=1, wave_name="Web", protection_group_id=web.group_id, status=WaveStatus.PENDING
            )
        ],
    )
    awaiting = running_execution(services, storefront, [], status=ExecutionStatus.PENDING_APPROVAL)

    check = check_recovery_plan(services, "Storefront")

    messages = [f.message for f in check.errors]
    assert codes(check.errors) == [SERVER_CONFLICT, SERVER_CONFLICT]
    assert any("'Web only'" in m and "web-frontend-01" in m for m in messages)
    # an execution of this very plan, still awaiting approval, holds every server of the plan
    assert any(m.startswith("This plan already has a PENDING_APPROVAL execution") for m in messages)
    assert any(awaiting.execution_id in m for m in messages)


def test_skipped_and_cancelled_waves_hold_nothing(services: Services, simulator: DrsSimulator) -> None:
    web = group(services, simulator, "Web", WEB)
    plan(services, "Storefront", web)
    other = plan(services, "Other", web)
    running_execution(
        services,
        other,
        [
            WaveRun(
                wave_number=1, wave_name="Web", protection_group_id=web.group_id, status=WaveStatus.SKIPPED
            )
        ],
    )
    assert check_recovery_plan(services, "Storefront").ok


# -- DRS quotas -------------------------------------------------------------------------------------


def test_concurrent_jobs_limit_counts_active_jobs_and_parallel_waves(
    sqlite_services: Services, simulator: DrsSimulator
) -> None:
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    web = group(sqlite_services, simulator, "Web", WEB)
    plan(sqlite_services, "Parallel", db, web, parallel=True)
    plan(sqlite_services, "Sequential", db, web)
    launch(simulator, ["ad-dc-01"])
    set_limits(sqlite_services, max_concurrent_jobs=2)

    parallel = check_recovery_plan(sqlite_services, "Parallel")
    sequential = check_recovery_plan(sqlite_services, "Sequential")

    assert codes(parallel.errors) == [DRS_LIMIT_EXCEEDED]
    message = parallel.errors[0].message
    assert "at most 2 jobs" in message and "1 are active now" in message and "starts 2 at once" in message
    assert sequential.ok


def test_servers_in_active_jobs_limit(sqlite_services: Services, simulator: DrsSimulator) -> None:
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    plan(sqlite_services, "Databases", db)
    launch(simulator, APPS)
    set_limits(sqlite_services, max_servers_in_all_jobs=4)

    check = check_recovery_plan(sqlite_services, "Databases")

    assert codes(check.errors) == [DRS_LIMIT_EXCEEDED]
    assert "4 servers across active jobs" in check.errors[0].message
    assert "2 are in active jobs now" in check.errors[0].message
    assert "launches 3 at once" in check.errors[0].message


def test_recovery_instances_limit_counts_only_servers_without_one(
    sqlite_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    db = group(sqlite_services, simulator, "Databases", DATABASES)
    plan(sqlite_services, "Databases", db)
    launch(simulator, [*APPS, "db-primary-01"])
    clock.advance(300)  # launched: three recovery instances exist
    assert current_usage(sqlite_services, REGION, None).recovery_instances == 3

    set_limits(sqlite_services, max_recovery_instances=5)
    check = check_recovery_plan(sqlite_services, "Databases")
    # db-primary-01 already has an instance that a new launch replaces: 3 + 2 = 5 fits
    assert check.ok

    set_limits(sqlite_services, max_recovery_instances=4)
    check = check_recovery_plan(sqlite_services, "Databases")
    assert codes(check.errors) == [DRS_LIMIT_EXCEEDED]
    assert "3 exist now and this plan adds 2" in check.errors[0].message


def test_current_usage_counts_active_jobs_their_servers_and_instances(
    sqlite_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    launch(simulator, APPS)
    clock.advance(300)
    launch(simulator, DATABASES)

    usage = current_usage(sqlite_services, REGION, None)

    assert (usage.active_jobs, usage.servers_in_active_jobs, usage.recovery_instances) == (1, 3, 2)
    assert usage.to_wire() == {"activeJobs": 1, "serversInJobs": 3, "recoveryInstances": 2}
    assert current_usage(sqlite_services, "us-west-2", None).active_jobs == 0


def test_dag_levels_put_independent_waves_side_by_side() -> None:
    waves = [
        Wave(wave_number=1, wave_name="a", protection_group_id="g"),
        Wave(wave_number=2, wave_name="b", protection_group_id="g", depends_on_waves=[]),
        Wave(wave_number=3, wave_name="c", protection_group_id="g", depends_on_waves=[1, 2]),
        Wave(wave_number=4, wave_name="d", protection_group_id="g"),
        Wave(wave_number=5, wave_name="e", protection_group_id="g", depends_on_waves=[1]),
    ]
    assert dag_levels(RecoveryPlan(plan_name="p", waves=waves)) == {1: 0, 2: 0, 3: 1, 4: 2, 5: 1}


# -- the DRS observations the checks rely on (drs/gateway.py) -----------------------------------------


def test_jobs_and_recovery_instances_as_the_gateway_reads_them(
    simulator: DrsSimulator, clock: FakeClock
) -> None:
    from orchestration.drs.gateway import DrsGateway

    gateway = DrsGateway(simulator.client(REGION), REGION)
    drill = launch(simulator, APPS)
    clock.advance(300)
    recovery = simulator.client(REGION).start_recovery(
        sourceServers=[{"sourceServerID": simulator.server_id("db-primary-01")}],
        isDrill=False,
        tags={"k": "v"},
    )["job"]["jobID"]

    running, done = gateway.jobs([drill, recovery, drill])  # asked once each; DRS lists newest first
    assert (done.job_id, done.status, done.is_drill, done.is_active) == (drill, "COMPLETED", True, False)
    assert done.created_at == T0 and done.ended_at is not None and done.ended_at > T0
    assert {s.launch_status for s in done.servers} == {"LAUNCHED"}
    assert all(s.recovery_instance_id for s in done.servers)
    assert (running.is_drill, running.tags, running.ended_at) == (False, {"k": "v"}, None)
    assert [j.job_id for j in gateway.active_jobs()] == [recovery]

    instances = gateway.recovery_instances()
    assert sorted(i.source_server_id or "" for i in instances) == sorted(simulator.server_id(h) for h in APPS)
    first = instances[0]
    assert first.is_drill and first.job_id == drill and first.state == "RUNNING"
    assert first.point_in_time is not None and first.point_in_time <= T0
    mine = gateway.recovery_instances([simulator.server_id("app-orders-01")])
    assert [i.source_server_id for i in mine] == [simulator.server_id("app-orders-01")]


def test_job_ids_are_asked_for_in_batches_of_1000(simulator: DrsSimulator) -> None:
    from orchestration.drs.gateway import DrsGateway

    client = simulator.client(REGION)
    batches: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        batches.append(len(params["filters"]["jobIDs"]))

    client.meta.events.register("before-parameter-build.drs.DescribeJobs", count)
    job_id = launch(simulator, APPS)
    unknown = [f"drsjob-{n:017x}" for n in range(1500)]

    found = DrsGateway(client, REGION).jobs([*unknown, job_id])

    assert [j.job_id for j in found] == [job_id]
    assert batches == [1000, 501]
    assert DrsGateway(client, REGION).jobs([]) == []


def test_tagging_an_unknown_source_server_is_not_found(simulator: DrsSimulator) -> None:
    from orchestration.drs.gateway import DrsGateway

    gateway = DrsGateway(simulator.client(REGION), REGION)
    with pytest.raises(NotFound, match="s-00000000000000000"):
        gateway.tag_source_server("s-00000000000000000", {"Tier": "x"})
    gateway.tag_source_server(simulator.server_id("ad-dc-01"), {"Owner": "it"})
    (server,) = gateway.source_servers([simulator.server_id("ad-dc-01")])
    assert server.tags["Owner"] == "it" and server.arn and server.aws_instance_id
    assert server.origin_region == "us-east-2"
