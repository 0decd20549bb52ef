"""The DRS simulator through real boto3 `drs` clients: botocore serializes every request and parses
every answer, and every answer is checked against the output (or error) shape of botocore's model."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.model import OperationModel, Shape, StringShape
from botocore.validate import ParamValidator

from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.drs.inventory import Inventory, parse_inventory
from orchestration.drs.sim import operations as sim_operations
from orchestration.drs.simulator import DrsSimulator, SimLimits, simulator_from_settings

if TYPE_CHECKING:
    from mypy_boto3_drs import DrsClient

EAST = "us-east-1"
WEST = "us-west-2"
LAUNCH_SECONDS = 20.0
ENOUGH_FOR_ANY_LAUNCH = 120.0  # pending 5 s + 20 s x the slowest factor (1.8) x jitter (1.1)

Captured = list[tuple[OperationModel, dict[str, Any]]]
# DRS answers date-times with an offset ("2026-01-01T00:00:00.000000+00:00", as the AWS
# CLI shows) although the model's pattern for them ends in "Z"; every other pattern is checked
UNPATTERNED = frozenset({"ISO8601DatetimeString"})


# -- every answer valid against botocore's model --------------------------------------------------


def shape_problems(value: Any, shape: Shape, path: str = "") -> list[str]:
    """What ParamValidator does not check: enum members and maximum lengths."""
    problems: list[str] = []
    if shape.type_name == "structure":
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            if name in value:
                problems += shape_problems(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            problems += shape_problems(item, shape.member, f"{path}[{index}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        for key, item in value.items():
            problems += shape_problems(item, shape.value, f"{path}.{key}")  # type: ignore[attr-defined]
    elif shape.type_name == "string":
        if isinstance(shape, StringShape) and shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.name}'s values")
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            problems.append(f"{path}: longer than {maximum} characters")
        pattern = shape.metadata.get("pattern")
        if pattern and shape.name not in UNPATTERNED and not re.fullmatch(pattern, value):
            problems.append(f"{path}: {value!r} does not match {shape.name} /{pattern}/")
    return problems


def assert_valid_answer(operation: OperationModel, parsed: dict[str, Any]) -> None:
    body = {k: v for k, v in parsed.items() if k not in ("ResponseMetadata", "Error")}
    if "Error" in parsed:
        shape = operation.service_model.shape_for(parsed["Error"]["Code"])
        where = f"{operation.name} error {parsed['Error']['Code']}"
    elif operation.output_shape is None:  # TagResource, UntagResource: nothing but the status
        assert body == {}, f"{operation.name} answered {body}"
        return
    else:
        shape = operation.output_shape
        where = operation.name
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), f"{where}: {report.generate_report()}"
    assert not shape_problems(body, shape), f"{where}: {shape_problems(body, shape)}"


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def answers() -> Iterator[Captured]:
    """Every parsed answer of every client made by `client_for`, validated when the test ends."""
    captured: Captured = []
    yield captured
    assert captured, "the test made no DRS call"
    for operation, parsed in captured:
        assert_valid_answer(operation, parsed)


@pytest.fixture
def sim(tmp_path: Path, clock: FakeClock, no_network: None) -> Iterator[DrsSimulator]:
    with DrsSimulator(db_path=tmp_path / "drbot.db", clock=clock, launch_seconds=LAUNCH_SECONDS) as simulator:
        yield simulator


@pytest.fixture
def client_for(answers: Captured) -> Callable[..., DrsClient]:
    def make(simulator: DrsSimulator, region: str = EAST, account_id: str | None = None) -> DrsClient:
        client = simulator.client(region, account_id)

        def capture(model: OperationModel, parsed: dict[str, Any], **_: Any) -> None:
            answers.append((model, parsed))

        client.meta.events.register("after-call.drs", capture)
        return client

    return make


@pytest.fixture
def drs(sim: DrsSimulator, client_for: Callable[..., DrsClient]) -> DrsClient:
    return client_for(sim)


# -- helpers --------------------------------------------------------------------------------------


def generated_inventory(count: int, region: str = EAST) -> Inventory:
    return parse_inventory(
        {
            "servers": [
                {
                    "hostname": f"node-{index:04d}",
                    "region": region,
                    "os": "Amazon Linux 2023",
                    "cpuCores": 2,
                    "ramGiB": 4,
                    "disks": [{"deviceName": "/dev/xvda", "sizeGiB": 8}],
                    "recommendedInstanceType": "t3.medium",
                }
                for index in range(count)
            ]
        }
    )


def server_ids(drs: DrsClient) -> list[str]:
    pages = drs.get_paginator("describe_source_servers").paginate()
    return [item["sourceServerID"] for page in pages for item in page["items"]]


def start(
    drs: DrsClient, ids: list[str], drill: bool = True, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    sources: list[Any] = [{"sourceServerID": i} for i in ids]
    job = drs.start_recovery(sourceServers=sources, isDrill=drill, tags=tags or {})["job"]
    return dict(job)


def job_now(drs: DrsClient, job_id: str) -> dict[str, Any]:
    (job,) = drs.describe_jobs(filters={"jobIDs": [job_id]})["items"]
    return dict(job)


def statuses(job: dict[str, Any]) -> dict[str, str]:
    return {s["sourceServerID"]: s["launchStatus"] for s in job["participatingServers"]}


def source_server(drs: DrsClient, server_id: str) -> dict[str, Any]:
    (item,) = drs.describe_source_servers(filters={"sourceServerIDs": [server_id]})["items"]
    return dict(item)


def error_of(exc: ClientError) -> dict[str, Any]:
    return dict(exc.response)


# -- a job from start to end ----------------------------------------------------------------------


def test_a_drill_goes_pending_started_completed_and_leaves_recovery_instances(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    web, db = sim.server_id("web-frontend-01"), sim.server_id("db-primary-01")  # launch factors 0.8, 1.6
    job = start(drs, [web, db], tags={"drbot:wave": "1"})
    assert re.fullmatch(r"drsjob-[0-9a-f]{17}", job["jobID"])
    assert job["status"] == "PENDING"
    assert job["type"] == "LAUNCH"
    assert job["initiatedBy"] == "START_DRILL"
    assert job["creationDateTime"] == "2026-01-01T00:00:00.000000+00:00"
    assert job["arn"] == f"arn:aws:drs:{EAST}:111122223333:job/{job['jobID']}"
    assert statuses(job) == {web: "PENDING", db: "PENDING"}
    assert "endDateTime" not in job

    clock.advance(5)
    job = job_now(drs, job["jobID"])
    assert job["status"] == "STARTED"
    assert statuses(job) == {web: "IN_PROGRESS", db: "IN_PROGRESS"}

    clock.advance(19)  # t=24: web (<= 5 + 20 x 0.8 x 1.1) is up, db (>= 5 + 20 x 1.6 x 0.9) is not
    job = job_now(drs, job["jobID"])
    assert job["status"] == "STARTED"
    assert statuses(job) == {web: "LAUNCHED", db: "IN_PROGRESS"}
    (instance,) = drs.describe_recovery_instances()["items"]
    assert instance["sourceServerID"] == web

    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    job = job_now(drs, job["jobID"])
    assert job["status"] == "COMPLETED"
    assert statuses(job) == {web: "LAUNCHED", db: "LAUNCHED"}
    assert job["endDateTime"] > job["creationDateTime"]
    launched = {s["sourceServerID"]: s["recoveryInstanceID"] for s in job["participatingServers"]}

    instances = {i["sourceServerID"]: i for i in drs.describe_recovery_instances()["items"]}
    assert set(instances) == {web, db}
    for server_id, instance in instances.items():
        assert re.fullmatch(r"i-[0-9a-f]{17}", instance["recoveryInstanceID"])
        assert instance["recoveryInstanceID"] == instance["ec2InstanceID"] == launched[server_id]
        assert instance["isDrill"] is True
        assert instance["ec2InstanceState"] == "RUNNING"
        assert instance["jobID"] == job["jobID"]
        assert instance["pointInTimeSnapshotDateTime"] <= job["creationDateTime"]
        assert instance["tags"] == {"drbot:wave": "1"}

    server = source_server(drs, db)
    assert server["recoveryInstanceId"] == launched[db]
    assert server["lastLaunchResult"] == "SUCCEEDED"
    assert server["lifeCycle"]["lastLaunch"]["initiated"]["jobID"] == job["jobID"]
    assert server["lifeCycle"]["lastLaunch"]["initiated"]["type"] == "DRILL"
    assert server["lifeCycle"]["lastLaunch"]["status"] == "LAUNCHED"

    log = drs.describe_job_log_items(jobID=job["jobID"])["items"]
    events = [item["event"] for item in log]
    assert events[0] == "JOB_START"
    assert events[-1] == "JOB_END"
    launch_starts = [i["eventData"] for i in log if i["event"] == "LAUNCH_START"]
    assert {d["sourceServerID"]: d["targetInstanceID"] for d in launch_starts} == launched
    assert events.count("SNAPSHOT_START") == events.count("CONVERSION_END") == 2
    assert [i["logDateTime"] for i in log] == sorted(i["logDateTime"] for i in log)


def test_a_recovery_is_not_a_drill(sim: DrsSimulator, drs: DrsClient, clock: FakeClock) -> None:
    job = start(drs, [sim.server_id("app-auth-01")], drill=False)
    assert job["initiatedBy"] == "START_RECOVERY"
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    (instance,) = drs.describe_recovery_instances()["items"]
    assert instance["isDrill"] is False
    server = source_server(drs, sim.server_id("app-auth-01"))
    assert server["lifeCycle"]["lastLaunch"]["initiated"]["type"] == "RECOVERY"


def test_failed_servers_end_failed_while_the_job_completes(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    app, db = sim.server_id("app-orders-01"), sim.server_id("db-primary-01")
    assert sim.fail_servers(["db-primary-01"]) == [db]
    assert sim.faults().failing_servers == {db}
    job = start(drs, [app, db])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    job = job_now(drs, job["jobID"])
    assert job["status"] == "COMPLETED"
    assert statuses(job) == {app: "LAUNCHED", db: "FAILED"}
    failed = next(s for s in job["participatingServers"] if s["sourceServerID"] == db)
    assert "recoveryInstanceID" not in failed
    assert [i["sourceServerID"] for i in drs.describe_recovery_instances()["items"]] == [app]
    assert source_server(drs, db)["lastLaunchResult"] == "FAILED"
    log = drs.describe_job_log_items(jobID=job["jobID"])["items"]
    (failure,) = [i for i in log if i["event"] == "LAUNCH_FAILED"]
    assert failure["eventData"]["sourceServerID"] == db
    assert "InsufficientInstanceCapacity" in failure["eventData"]["rawError"]

    sim.clear_faults()
    again = start(drs, [db])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert statuses(job_now(drs, again["jobID"])) == {db: "LAUNCHED"}


def test_slow_launches_take_longer(sim: DrsSimulator, drs: DrsClient, clock: FakeClock) -> None:
    web = sim.server_id("web-frontend-01")
    sim.slow_launches("all", 10)
    job = start(drs, [web])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)  # 5 + 20 x 0.8 x 10 x >= 0.9 = 149 s at least
    assert job_now(drs, job["jobID"])["status"] == "STARTED"
    clock.advance(60)
    assert job_now(drs, job["jobID"])["status"] == "COMPLETED"


def test_settings_launch_seconds_make_a_three_wave_demo_drill_take_about_two_minutes(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    simulator = simulator_from_settings(Settings(db_path=tmp_path / "drbot.db"), clock=clock)
    drs = client_for(simulator)
    servers = drs.describe_source_servers()["items"]
    waves = [
        [s["sourceServerID"] for s in servers if s["tags"]["Tier"] == tier]
        for tier in ("database", "app", "web")
    ]
    started = clock.now()
    for wave in waves:
        job = start(drs, wave)
        while job_now(drs, job["jobID"])["status"] != "COMPLETED":
            clock.advance(5)  # a poller's interval
    assert 60 < clock.now() - started <= 150
    quick = simulator_from_settings(
        Settings(db_path=tmp_path / "quick.db", sim_launch_seconds=0), clock=clock
    ).client(EAST)
    assert start(quick, [waves[0][0]])["status"] == "COMPLETED"
    simulator.close()


# -- limits and conflicts -------------------------------------------------------------------------


def test_the_21st_concurrent_job_is_refused(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    simulator = DrsSimulator(tmp_path / "d.db", clock, generated_inventory(25), launch_seconds=LAUNCH_SECONDS)
    drs = client_for(simulator)
    ids = server_ids(drs)
    for server_id in ids[:20]:
        start(drs, [server_id])
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException) as refused:
        start(drs, [ids[20]])
    error = error_of(refused.value)
    assert error["Error"]["Code"] == "ServiceQuotaExceededException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    assert error["quotaCode"] == "MaxConcurrentJobs"
    assert error["serviceCode"] == "drs"
    assert error["resourceType"] == "JOB"
    assert "at most 20" in error["Error"]["Message"]
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert start(drs, [ids[20]])["status"] == "PENDING"


def test_a_job_of_more_than_100_servers_is_refused(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    simulator = DrsSimulator(tmp_path / "d.db", clock, generated_inventory(101))
    drs = client_for(simulator)
    ids = server_ids(drs)
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException) as refused:
        start(drs, ids)
    assert error_of(refused.value)["quotaCode"] == "MaxSourceServersPerJob"
    assert len(start(drs, ids[:100])["participatingServers"]) == 100


def test_no_more_than_500_servers_across_active_jobs(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    simulator = DrsSimulator(tmp_path / "d.db", clock, generated_inventory(501))
    drs = client_for(simulator)
    ids = server_ids(drs)
    for first in range(0, 500, 100):
        start(drs, ids[first : first + 100])
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException) as refused:
        start(drs, [ids[500]])
    assert error_of(refused.value)["quotaCode"] == "MaxSourceServersInAllActiveJobs"


def test_limits_are_configurable(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    limits = SimLimits(max_servers_per_job=2, max_concurrent_jobs=1)
    simulator = DrsSimulator(tmp_path / "d.db", clock, generated_inventory(5), limits=limits)
    drs = client_for(simulator)
    ids = server_ids(drs)
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException):
        start(drs, ids[:3])
    start(drs, ids[:2])
    with pytest.raises(drs.exceptions.ServiceQuotaExceededException):
        start(drs, ids[2:3])


def test_a_server_already_in_an_active_job_is_refused_with_conflict(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    app, web = sim.server_id("app-orders-01"), sim.server_id("web-frontend-01")
    first = start(drs, [app])
    with pytest.raises(drs.exceptions.ConflictException) as refused:
        start(drs, [web, app])
    error = error_of(refused.value)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert error["resourceId"] == app
    assert error["resourceType"] == "SOURCE_SERVER"
    assert first["jobID"] in error["Error"]["Message"]
    assert len(drs.describe_jobs()["items"]) == 1  # the refused request left nothing behind
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert start(drs, [web, app])["status"] == "PENDING"


def test_invalid_requests_are_validation_errors(sim: DrsSimulator, drs: DrsClient) -> None:
    unknown = "s-00000000000000000"
    with pytest.raises(drs.exceptions.ValidationException) as refused:
        start(drs, [unknown])
    error = error_of(refused.value)
    assert error["reason"] == "fieldValidationFailed"
    assert error["fieldList"][0]["name"] == "sourceServers.sourceServerID"
    assert unknown in error["Error"]["Message"]
    web = sim.server_id("web-frontend-01")
    with pytest.raises(drs.exceptions.ValidationException, match="more than once"):
        start(drs, [web, web])
    with pytest.raises(drs.exceptions.ValidationException, match="reserved"):
        start(drs, [web], tags={"aws:owner": "me"})
    with pytest.raises(drs.exceptions.ValidationException, match="Unknown job"):
        drs.describe_job_log_items(jobID="drsjob-00000000000000000")
    with pytest.raises(drs.exceptions.ValidationException, match="Invalid nextToken"):
        drs.describe_jobs(nextToken="bm90LWEtdG9rZW4=")
    with pytest.raises(drs.exceptions.ValidationException, match="not supported by the DRS simulator") as op:
        drs.describe_launch_configuration_templates()
    assert error_of(op.value)["reason"] == "unknownOperation"


# -- faults ---------------------------------------------------------------------------------------


def test_throttling_is_a_throttling_exception_with_retry_after(sim: DrsSimulator, drs: DrsClient) -> None:
    sim.throttle_next(2)
    for _ in range(2):
        with pytest.raises(drs.exceptions.ThrottlingException) as refused:
            drs.describe_jobs()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert refused.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
        assert error_of(refused.value)["retryAfterSeconds"] == "1"
    assert drs.describe_jobs()["items"] == []

    sim.throttle_next(1, ["describe_jobs"])
    assert drs.describe_source_servers(maxResults=1)["items"]
    with pytest.raises(drs.exceptions.ThrottlingException):
        drs.describe_jobs()
    drs.describe_jobs()


def test_a_throttle_rate_repeats_the_same_sequence_for_the_same_seed(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    def outcomes(name: str) -> list[bool]:
        simulator = DrsSimulator(tmp_path / name, clock)
        simulator.set_throttle(0.5, seed=7)
        drs = client_for(simulator)
        result = []
        for _ in range(20):
            try:
                drs.describe_jobs()
                result.append(True)
            except drs.exceptions.ThrottlingException:
                result.append(False)
        simulator.close()
        return result

    first = outcomes("a.db")
    assert first == outcomes("b.db")
    assert True in first
    assert False in first


def test_stalled_replication_shows_in_describe_source_servers(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    stalled = source_server(drs, sim.server_id("app-inventory-02"))  # STALLED PT12M in the demo
    assert stalled["dataReplicationInfo"]["dataReplicationState"] == "STALLED"
    assert stalled["dataReplicationInfo"]["lagDuration"] == "PT12M0S"
    assert stalled["dataReplicationInfo"]["dataReplicationError"]["error"] == "UNSTABLE_NETWORK"
    lagging = source_server(drs, sim.server_id("db-reporting-01"))
    assert lagging["dataReplicationInfo"]["lagDuration"] == "PT7M20S"
    assert lagging["dataReplicationInfo"]["replicatedDisks"][0]["backloggedStorageBytes"] > 0

    web = sim.server_id("web-frontend-01")
    assert source_server(drs, web)["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    sim.stall_replication(["web-frontend-01"])
    clock.advance(65)
    info = source_server(drs, web)["dataReplicationInfo"]
    assert info["dataReplicationState"] == "STALLED"
    assert info["lagDuration"] == "PT1M10S"  # 5 s of lag when it stalled + 65 s since
    assert (
        source_server(drs, sim.server_id("app-inventory-02"))["dataReplicationInfo"]["lagDuration"]
        == "PT13M5S"
    )

    sim.clear_faults()
    assert source_server(drs, web)["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"


def test_a_stalled_server_launches_from_its_latest_snapshot(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    stalled = sim.server_id("app-inventory-02")
    newest = drs.describe_recovery_snapshots(sourceServerID=stalled, order="DESC", maxResults=1)["items"][0]
    job = start(drs, [stalled])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert statuses(job_now(drs, job["jobID"])) == {stalled: "LAUNCHED"}
    (instance,) = drs.describe_recovery_instances(filters={"sourceServerIDs": [stalled]})["items"]
    assert instance["pointInTimeSnapshotDateTime"] == newest["timestamp"]
    events = [i["event"] for i in drs.describe_job_log_items(jobID=job["jobID"])["items"]]
    assert "USING_PREVIOUS_SNAPSHOT" in events
    assert "SNAPSHOT_START" not in events


def test_recovery_snapshots_can_be_listed_and_launched_from(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    server = sim.server_id("app-orders-02")
    paginator = drs.get_paginator("describe_recovery_snapshots")
    ascending = [
        s
        for page in paginator.paginate(sourceServerID=server, PaginationConfig={"PageSize": 10})
        for s in page["items"]
    ]
    assert len(ascending) > 30  # 10-minutely for an hour, hourly for a day, daily for a week
    assert all(re.fullmatch(r"pit-[0-9a-f]{17}", s["snapshotID"]) for s in ascending)
    assert [s["expectedTimestamp"] for s in ascending] == sorted(s["expectedTimestamp"] for s in ascending)
    descending = drs.describe_recovery_snapshots(sourceServerID=server, order="DESC")["items"]
    assert descending == list(reversed(ascending))
    day_old = ascending[len(ascending) // 2]
    window = drs.describe_recovery_snapshots(
        sourceServerID=server,
        filters={"fromDateTime": day_old["timestamp"], "toDateTime": day_old["timestamp"]},
    )["items"]
    assert window == [day_old]

    job = drs.start_recovery(
        sourceServers=[{"sourceServerID": server, "recoverySnapshotID": day_old["snapshotID"]}], isDrill=True
    )["job"]
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    (instance,) = drs.describe_recovery_instances(filters={"sourceServerIDs": [server]})["items"]
    assert instance["pointInTimeSnapshotDateTime"] == day_old["timestamp"]
    assert "USING_PREVIOUS_SNAPSHOT" in [
        i["event"] for i in drs.describe_job_log_items(jobID=job["jobID"])["items"]
    ]
    with pytest.raises(drs.exceptions.ValidationException, match="recovery snapshot"):
        drs.start_recovery(
            sourceServers=[{"sourceServerID": server, "recoverySnapshotID": "pit-00000000000000000"}]
        )


# -- termination, tags, pagination ----------------------------------------------------------------


def test_terminating_recovery_instances_is_a_job_after_which_they_are_gone(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    app, web = sim.server_id("app-orders-01"), sim.server_id("web-frontend-01")
    start(drs, [app, web])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    instances = [i["recoveryInstanceID"] for i in drs.describe_recovery_instances()["items"]]
    assert len(instances) == 2

    job = drs.terminate_recovery_instances(recoveryInstanceIDs=instances)["job"]
    assert job["type"] == "TERMINATE"
    assert job["initiatedBy"] == "TERMINATE_RECOVERY_INSTANCES"
    assert job["status"] == "PENDING"
    assert {s["recoveryInstanceID"] for s in job["participatingServers"]} == set(instances)
    with pytest.raises(drs.exceptions.ConflictException) as refused:
        drs.terminate_recovery_instances(recoveryInstanceIDs=instances[:1])
    assert error_of(refused.value)["resourceId"] == instances[0]
    with pytest.raises(drs.exceptions.ConflictException):
        start(drs, [app])

    clock.advance(5)
    states = {i["ec2InstanceState"] for i in drs.describe_recovery_instances()["items"]}
    assert states == {"SHUTTING-DOWN"}
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    done = job_now(drs, job["jobID"])
    assert done["status"] == "COMPLETED"
    assert set(statuses(done).values()) == {"TERMINATED"}
    assert drs.describe_recovery_instances()["items"] == []
    server = source_server(drs, app)
    assert "recoveryInstanceId" not in server
    assert server["lifeCycle"]["lastLaunch"]["status"] == "TERMINATED"
    assert server["lastLaunchResult"] == "SUCCEEDED"
    events = [i["event"] for i in drs.describe_job_log_items(jobID=job["jobID"])["items"]]
    assert events.count("CLEANUP_START") == events.count("CLEANUP_END") == 2
    with pytest.raises(drs.exceptions.ValidationException, match="recovery instance"):
        drs.terminate_recovery_instances(recoveryInstanceIDs=instances[:1])


def test_a_new_launch_replaces_the_previous_recovery_instance(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    app = sim.server_id("app-orders-01")
    start(drs, [app])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    (first,) = drs.describe_recovery_instances()["items"]
    start(drs, [app])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    (second,) = drs.describe_recovery_instances()["items"]
    assert second["recoveryInstanceID"] != first["recoveryInstanceID"]
    assert source_server(drs, app)["recoveryInstanceId"] == second["recoveryInstanceID"]


def test_tags_round_trip_on_servers_jobs_and_instances(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    app = sim.server_id("app-orders-01")
    server_arn = source_server(drs, app)["arn"]
    assert drs.list_tags_for_resource(resourceArn=server_arn)["tags"]["Tier"] == "app"
    drs.tag_resource(resourceArn=server_arn, tags={"DRWave": "2", "Owner": "sre"})
    drs.untag_resource(resourceArn=server_arn, tagKeys=["Owner"])
    tags = drs.list_tags_for_resource(resourceArn=server_arn)["tags"]
    assert tags["DRWave"] == "2"
    assert "Owner" not in tags
    assert source_server(drs, app)["tags"] == tags

    job = start(drs, [app], tags={"drbot:executionId": "e-1"})
    assert drs.list_tags_for_resource(resourceArn=job["arn"])["tags"] == {"drbot:executionId": "e-1"}
    drs.tag_resource(resourceArn=job["arn"], tags={"drbot:wave": "1"})
    assert job_now(drs, job["jobID"])["tags"] == {"drbot:executionId": "e-1", "drbot:wave": "1"}
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    (instance,) = drs.describe_recovery_instances()["items"]
    drs.tag_resource(resourceArn=instance["arn"], tags={"Purpose": "drill"})
    assert drs.list_tags_for_resource(resourceArn=instance["arn"])["tags"]["Purpose"] == "drill"

    with pytest.raises(drs.exceptions.ResourceNotFoundException) as missing:
        drs.list_tags_for_resource(
            resourceArn=f"arn:aws:drs:{EAST}:111122223333:job/drsjob-00000000000000000"
        )
    assert error_of(missing.value)["resourceType"] == "JOB"
    with pytest.raises(drs.exceptions.ValidationException, match="Invalid resource ARN"):
        drs.list_tags_for_resource(resourceArn="arn:aws:s3:::some-bucket-name")
    with pytest.raises(drs.exceptions.ValidationException, match="reserved"):
        drs.tag_resource(resourceArn=server_arn, tags={"aws:thing": "x"})
    west = client_for(sim, WEST)
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.list_tags_for_resource(resourceArn=server_arn)


def test_paginators_walk_every_page(sim: DrsSimulator, drs: DrsClient, clock: FakeClock) -> None:
    everything = drs.describe_source_servers()["items"]
    assert len(everything) == 15
    assert "nextToken" not in drs.describe_source_servers()
    pages = list(drs.get_paginator("describe_source_servers").paginate(PaginationConfig={"PageSize": 4}))
    assert len(pages) == 4
    assert [s["sourceServerID"] for p in pages for s in p["items"]] == [
        s["sourceServerID"] for s in everything
    ]
    hostnames = [s["sourceProperties"]["identificationHints"]["hostname"] for s in everything]
    assert hostnames == sorted(hostnames)

    ids = [s["sourceServerID"] for s in everything]
    jobs = [start(drs, [server_id])["jobID"] for server_id in ids[:5]]
    job_pages = list(drs.get_paginator("describe_jobs").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["items"]) for p in job_pages] == [2, 2, 1]
    assert [j["jobID"] for p in job_pages for j in p["items"]] == jobs[::-1]  # newest first, as DRS
    by_id = drs.get_paginator("describe_jobs").paginate(filters={"jobIDs": jobs[1:3]}).build_full_result()
    assert [j["jobID"] for j in by_id["items"]] == [jobs[2], jobs[1]]
    later = drs.describe_jobs(
        filters={"fromDate": "2026-01-01T00:00:00Z", "toDate": "2026-01-01T00:00:00.000000+00:00"}
    )
    assert len(later["items"]) == 5
    assert drs.describe_jobs(filters={"fromDate": "2026-01-02T00:00:00Z"})["items"] == []

    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    instances = list(
        drs.get_paginator("describe_recovery_instances").paginate(PaginationConfig={"PageSize": 2})
    )
    assert sum(len(p["items"]) for p in instances) == 5
    log_pages = list(
        drs.get_paginator("describe_job_log_items").paginate(jobID=jobs[0], PaginationConfig={"PageSize": 3})
    )
    assert len(log_pages) > 1
    assert log_pages[0]["items"][0]["event"] == "JOB_START"
    assert log_pages[-1]["items"][-1]["event"] == "JOB_END"


def test_source_server_filters(sim: DrsSimulator, drs: DrsClient) -> None:
    web = source_server(drs, sim.server_id("web-frontend-01"))
    aws_id = web["sourceProperties"]["identificationHints"]["awsInstanceID"]
    assert re.fullmatch(r"s-[0-9a-f]{17}", web["sourceServerID"])
    by_hardware = drs.describe_source_servers(filters={"hardwareId": aws_id})["items"]
    assert [s["sourceServerID"] for s in by_hardware] == [web["sourceServerID"]]
    assert drs.describe_source_servers(filters={"stagingAccountIDs": ["999988887777"]})["items"] == []
    assert web["sourceCloudProperties"] == {
        "originAccountID": "111122223333",
        "originRegion": "us-east-2",
        "originAvailabilityZone": "us-east-2a",
    }
    config = drs.get_launch_configuration(sourceServerID=web["sourceServerID"])
    assert config["name"] == "web-frontend-01"
    with pytest.raises(drs.exceptions.ResourceNotFoundException):
        drs.get_launch_configuration(sourceServerID="s-00000000000000000")


# -- state across restarts, regions and accounts --------------------------------------------------


def test_a_second_simulator_on_the_same_file_sees_the_first_ones_jobs(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    path = tmp_path / "state" / "drbot.db"
    first = DrsSimulator(db_path=path, clock=clock)
    drs = client_for(first)
    app, db = first.server_id("app-orders-01"), first.server_id("db-primary-01")
    first.fail_servers([db])
    job = start(drs, [app])
    first.close()

    second = DrsSimulator(db_path=path, clock=clock)
    again = client_for(second)
    assert job_now(again, job["jobID"])["status"] == "PENDING"
    with pytest.raises(again.exceptions.ConflictException):
        start(again, [app])
    assert second.faults().failing_servers == {db}
    failing = start(again, [db])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert statuses(job_now(again, job["jobID"])) == {app: "LAUNCHED"}
    assert statuses(job_now(again, failing["jobID"])) == {db: "FAILED"}
    assert len(again.describe_source_servers()["items"]) == 15  # the inventory was loaded once
    second.close()


def test_regions_and_accounts_are_isolated(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    west = client_for(sim, WEST)
    west_hosts = {
        s["sourceProperties"]["identificationHints"]["hostname"]
        for s in west.describe_source_servers()["items"]
    }
    assert west_hosts == {"dwh-db-01", "etl-worker-01", "etl-worker-02", "bi-web-01"}
    east_job = start(drs, [sim.server_id("app-orders-01")])
    assert west.describe_jobs()["items"] == []
    assert west.describe_jobs(filters={"jobIDs": [east_job["jobID"]]})["items"] == []
    with pytest.raises(west.exceptions.ValidationException):
        start(west, [sim.server_id("app-orders-01")])
    west_job = start(west, [sim.server_id("etl-worker-01", WEST)])
    assert [j["jobID"] for j in drs.describe_jobs()["items"]] == [east_job["jobID"]]
    assert west_job["arn"].startswith(f"arn:aws:drs:{WEST}:")
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert len(drs.describe_recovery_instances()["items"]) == 1
    assert len(west.describe_recovery_instances()["items"]) == 1

    nowhere = client_for(sim, "eu-west-1")
    with pytest.raises(nowhere.exceptions.UninitializedAccountException):
        nowhere.describe_source_servers()
    other_account = client_for(sim, EAST, "444455556666")
    with pytest.raises(other_account.exceptions.UninitializedAccountException):
        other_account.describe_jobs()


def test_attach_answers_an_existing_client(sim: DrsSimulator, answers: Captured, no_network: None) -> None:
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session = boto3.session.Session(botocore_session=core, aws_access_key_id="a", aws_secret_access_key="b")
    client = session.client("drs", region_name=WEST, config=Config(retries={"total_max_attempts": 1}))
    sim.attach(client)
    client.meta.events.register("after-call.drs", lambda model, parsed, **_: answers.append((model, parsed)))
    assert len(client.describe_source_servers()["items"]) == 4
    with pytest.raises(ValueError, match="only answers drs clients"):
        sim.attach(session.client("sts", region_name=WEST))


def test_ids_are_deterministic(tmp_path: Path, client_for: Callable[..., DrsClient]) -> None:
    def first_job(name: str) -> tuple[str, str]:
        clock = FakeClock()
        simulator = DrsSimulator(tmp_path / name, clock)
        drs = client_for(simulator)
        job = start(drs, [simulator.server_id("web-frontend-01")])
        clock.advance(ENOUGH_FOR_ANY_LAUNCH)
        (instance,) = drs.describe_recovery_instances()["items"]
        simulator.close()
        return job["jobID"], instance["recoveryInstanceID"]

    assert first_job("a.db") == first_job("b.db")


def test_fault_switches_name_servers_by_id_or_unique_hostname(sim: DrsSimulator, drs: DrsClient) -> None:
    web = sim.server_id("web-frontend-01")
    assert sim.stall_replication([web, "dwh-db-01"]) == [web, sim.server_id("dwh-db-01", WEST)]
    with pytest.raises(ValueError, match="names 0 source servers"):
        sim.fail_servers(["no-such-host"])
    with pytest.raises(ValueError, match="not a DRS operation"):
        sim.throttle_next(1, ["launch_rockets"])
    sim.slow_launches([web], 3)
    assert sim.faults().slow_launches == {web: 3.0}
    sim.clear_faults()
    assert not sim.faults().any
    drs.describe_jobs()


def test_a_simulator_bug_is_an_internal_server_error(
    drs: DrsClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(call: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setitem(sim_operations.OPERATIONS, "DescribeJobs", broken)
    with pytest.raises(drs.exceptions.InternalServerException, match="simulator error: boom"):
        drs.describe_jobs()
    assert "DRS simulator failed on DescribeJobs" in caplog.text


def test_the_answer_check_is_not_vacuous() -> None:
    model = botocore.session.get_session().get_service_model("drs").operation_model("DescribeJobs")
    good = {"jobID": "drsjob-0123456789abcdef0", "status": "COMPLETED"}
    assert_valid_answer(model, {"items": [good]})
    for bad in (
        {**good, "status": "DONE"},
        {**good, "jobID": "job-1"},
        {"status": "PENDING"},
        {**good, "tags": []},
    ):
        with pytest.raises(AssertionError):
            assert_valid_answer(model, {"items": [bad]})


def test_two_processes_racing_for_one_server_start_one_job(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    path = tmp_path / "drbot.db"
    simulators = [DrsSimulator(db_path=path, clock=clock) for _ in range(2)]
    clients = [client_for(s) for s in simulators]
    server_id = simulators[0].server_id("app-orders-01")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def race(drs: DrsClient) -> None:
        barrier.wait()
        try:
            start(drs, [server_id])
            outcomes.append("started")
        except drs.exceptions.ConflictException:
            outcomes.append("conflict")

    threads = [threading.Thread(target=race, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "started"]
    assert len(clients[1].describe_jobs()["items"]) == 1
    for simulator in simulators:
        simulator.close()


# -- listing order and cost -----------------------------------------------------------------------


def test_jobs_are_listed_newest_first_and_a_job_created_between_pages_shifts_nothing(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    ids = server_ids(drs)
    jobs = []
    for server_id in ids[:5]:
        jobs.append(start(drs, [server_id])["jobID"])
        clock.advance(1)
    first = drs.describe_jobs(maxResults=2)
    assert [j["jobID"] for j in first["items"]] == [jobs[4], jobs[3]]
    created_meanwhile = start(drs, [ids[5]])["jobID"]
    second = drs.describe_jobs(maxResults=2, nextToken=first["nextToken"])
    assert [j["jobID"] for j in second["items"]] == [jobs[2], jobs[1]]
    third = drs.describe_jobs(maxResults=2, nextToken=second["nextToken"])
    assert [j["jobID"] for j in third["items"]] == [jobs[0]]
    assert "nextToken" not in third
    assert drs.describe_jobs(maxResults=1)["items"][0]["jobID"] == created_meanwhile

    window = drs.get_paginator("describe_jobs").paginate(
        filters={"fromDate": "2026-01-01T00:00:01Z", "toDate": "2026-01-01T00:00:03Z"},
        PaginationConfig={"PageSize": 1},
    )
    assert [j["jobID"] for p in window for j in p["items"]] == [jobs[3], jobs[2], jobs[1]]
    forged = base64.urlsafe_b64encode(b'{"op":"DescribeJobs","after":["x"]}').decode()
    with pytest.raises(drs.exceptions.ValidationException, match="Invalid nextToken"):
        drs.describe_jobs(nextToken=forged)


def test_filtered_listings_page_in_order(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    simulator = DrsSimulator(tmp_path / "d.db", clock, generated_inventory(30), launch_seconds=LAUNCH_SECONDS)
    drs = client_for(simulator)
    ids = server_ids(drs)  # node-0000 … node-0029: hostname order is id order here
    wanted = ids[3:23:2]
    servers = drs.get_paginator("describe_source_servers").paginate(
        filters={"sourceServerIDs": list(reversed(wanted))}, PaginationConfig={"PageSize": 3}
    )
    assert [s["sourceServerID"] for p in servers for s in p["items"]] == wanted
    for first in range(0, 30, 10):
        start(drs, ids[first : first + 10])
        clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    instances = drs.get_paginator("describe_recovery_instances").paginate(
        filters={"sourceServerIDs": wanted}, PaginationConfig={"PageSize": 4}
    )
    items = [i for p in instances for i in p["items"]]
    assert sorted(i["sourceServerID"] for i in items) == sorted(wanted)
    assert len({i["recoveryInstanceID"] for i in items}) == len(wanted)
    launched = [i["recoveryInstanceProperties"]["lastUpdatedDateTime"] for i in items]
    assert launched == sorted(launched)
    listed = drs.get_paginator("describe_source_servers").paginate(PaginationConfig={"PageSize": 7})
    every = [s for p in listed for s in p["items"]]
    assert [s["sourceServerID"] for s in every] == ids
    assert {s["lastLaunchResult"] for s in every} == {"SUCCEEDED"}
    assert all(s["recoveryInstanceId"] for s in every)
    simulator.close()


def test_a_page_of_source_servers_costs_the_same_queries_whatever_its_size(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    simulator = DrsSimulator(tmp_path / "d.db", clock, generated_inventory(300))
    drs = client_for(simulator)
    ids = server_ids(drs)
    for first in range(0, 300, 100):
        start(drs, ids[first : first + 100])
        clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    drs.describe_jobs(maxResults=1)  # stores the finished launches (their instances) first
    statements: list[str] = []
    simulator._store._conn.set_trace_callback(statements.append)

    def queries_for(size: int) -> int:
        statements.clear()
        assert len(drs.describe_source_servers(maxResults=size)["items"]) == size
        return len(statements)

    assert queries_for(5) == queries_for(250)
    simulator.close()


# -- lost answers ---------------------------------------------------------------------------------


def test_a_lost_answer_took_effect_but_the_caller_sees_a_read_timeout(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock
) -> None:
    app = sim.server_id("app-orders-01")
    sim.lose_responses(1.0, ["StartRecovery"])
    assert sim.faults().lost_response_rate == 1.0
    assert sim.faults().lost_response_operations == {"StartRecovery"}
    with pytest.raises(ReadTimeoutError) as lost:
        start(drs, [app], tags={"drbot:executionId": "e-lost"})
    assert ".simulator.invalid" in str(lost.value)
    (job,) = sim.jobs_by_tag("drbot:executionId", "e-lost")
    assert job["sourceServerIDs"] == [app]
    assert [j["jobID"] for j in drs.describe_jobs()["items"]] == [job["jobID"]]  # other calls answer
    with pytest.raises(drs.exceptions.ConflictException):  # an error took no effect: it is answered
        start(drs, [app])
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert sim.launch_counts() == {app: 1}

    sim.lose_responses(0)
    assert not sim.faults().any
    assert start(drs, [app])["status"] == "PENDING"


def test_a_throttled_call_is_not_also_lost(sim: DrsSimulator, drs: DrsClient) -> None:
    web = sim.server_id("web-frontend-01")
    sim.throttle_next(1, ["start_recovery"])
    sim.lose_responses(1.0, ["start_recovery"])
    with pytest.raises(drs.exceptions.ThrottlingException):
        start(drs, [web])
    assert sim.launch_counts() == {}
    with pytest.raises(ReadTimeoutError):
        start(drs, [web])
    assert sim.launch_counts() == {web: 1}
    sim.clear_faults()
    assert not sim.faults().any
    drs.describe_jobs()


def test_lost_answers_repeat_for_a_seed_and_survive_a_restart(
    tmp_path: Path, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    def outcomes(name: str) -> list[bool]:
        first = DrsSimulator(tmp_path / name, clock)
        first.lose_responses(0.5, seed=3)
        first.close()
        simulator = DrsSimulator(tmp_path / name, clock)  # another process on the same file
        drs = client_for(simulator)
        result = []
        for _ in range(20):
            try:
                drs.describe_jobs()
                result.append(True)
            except ReadTimeoutError:
                result.append(False)
        assert simulator.faults().lost_response_seed == 3
        simulator.close()
        return result

    first = outcomes("a.db")
    assert first == outcomes("b.db")
    assert True in first
    assert False in first


def test_lose_responses_checks_its_arguments(sim: DrsSimulator, drs: DrsClient) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        sim.lose_responses(1.5)
    with pytest.raises(ValueError, match="not a DRS operation"):
        sim.lose_responses(0.5, ["launch_rockets"])
    sim.lose_responses(1.0, ["terminate_recovery_instances"])
    assert drs.describe_source_servers(maxResults=1)["items"]


# -- truth for fault tests ------------------------------------------------------------------------


def test_launch_counts_running_instances_and_jobs_by_tag_read_the_simulators_own_state(
    sim: DrsSimulator, drs: DrsClient, clock: FakeClock, client_for: Callable[..., DrsClient]
) -> None:
    app, db = sim.server_id("app-orders-01"), sim.server_id("db-primary-01")
    sim.fail_servers([db])
    job = start(drs, [app, db], tags={"drbot:executionId": "e-1", "drbot:wave": "1"})
    assert sim.launch_counts() == {app: 1, db: 1}
    assert sim.running_instances() == []
    (tagged,) = sim.jobs_by_tag("drbot:executionId", "e-1")
    assert tagged == {
        "jobID": job["jobID"],
        "type": "LAUNCH",
        "status": "PENDING",
        "isDrill": True,
        "sourceServerIDs": [app, db],
        "region": EAST,
        "accountID": "111122223333",
    }

    clock.advance(ENOUGH_FOR_ANY_LAUNCH)  # no API call in between: the truth settles by itself
    (instance,) = sim.running_instances()
    assert instance["sourceServerID"] == app
    assert instance["jobID"] == job["jobID"]
    assert instance["isDrill"] is True
    assert instance["tags"] == {"drbot:executionId": "e-1", "drbot:wave": "1"}
    assert instance["ec2InstanceState"] == "RUNNING"
    assert sim.jobs_by_tag("drbot:wave", "1")[0]["status"] == "COMPLETED"
    assert sim.jobs_by_tag("drbot:wave", "2") == []

    west = client_for(sim, WEST)
    etl = sim.server_id("etl-worker-01", WEST)
    start(west, [etl], drill=False)
    start(drs, [app])
    assert sim.launch_counts(EAST) == {app: 2, db: 1}
    assert sim.launch_counts(WEST) == {etl: 1}
    assert sim.launch_counts(EAST, "444455556666") == {}
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert [i["sourceServerID"] for i in sim.running_instances(EAST)] == [app]
    (recovered,) = sim.running_instances(WEST)
    assert recovered["isDrill"] is False
    assert recovered["tags"] == {}

    (current,) = drs.describe_recovery_instances()["items"]
    drs.terminate_recovery_instances(recoveryInstanceIDs=[current["recoveryInstanceID"]])
    clock.advance(5)
    assert [i["ec2InstanceState"] for i in sim.running_instances(EAST)] == ["SHUTTING-DOWN"]
    clock.advance(ENOUGH_FOR_ANY_LAUNCH)
    assert sim.running_instances(EAST) == []
    assert sim.launch_counts(EAST) == {app: 2, db: 1}  # a TERMINATE job is no launch
