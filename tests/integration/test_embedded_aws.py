"""EC2, IAM and STS on the embedded default: the DRS simulator's EC2 estate (docs/simulator.md)
answers drbot's EC2/IAM queries and tag sync, through the handlers as a caller would use them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench.engine_tick import synthetic_inventory
from orchestration.aws import NoAws
from orchestration.context import Services
from orchestration.drs.clients import SimulatedAws
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import NotFound, ValidationFailed
from orchestration.handlers import data_management, query, runtime
from orchestration.services.queries import get_ec2_subnets
from orchestration.services.tag_sync import handle_drs_tag_sync
from tests.support import apigw_event, response_json

REGION = "us-east-1"  # the demo's DRS region
ORIGIN = "us-east-2"  # where the demo's replicated EC2 instances run
SIM_ACCOUNT = "111122223333"


@pytest.fixture
def live(sqlite_services: Services) -> Iterator[Services]:
    runtime.use(sqlite_services)
    yield sqlite_services
    runtime.use(None)


def direct(handler: Any, operation: str, body: Any = None, **params: str) -> Any:
    return handler.lambda_handler({"operation": operation, "body": body, "queryParams": params}, None)


def rest(handler: Any, method: str, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
    response = handler.lambda_handler(apigw_event(method, path, body, params or None), None)
    return response["statusCode"], response_json(response)


def vpc_named(services: Services, region: str, name: str) -> str:
    for vpc in services.aws.client("ec2", region).describe_vpcs()["Vpcs"]:
        if {"Key": "Name", "Value": name} in vpc.get("Tags", []):
            return str(vpc["VpcId"])
    raise AssertionError(f"no VPC {name} in {region}")


def drs_tags(services: Services, sim: DrsSimulator, hostname: str) -> dict[str, str]:
    return services.drs.gateway(REGION).source_servers([sim.server_id(hostname)])[0].tags


def test_the_embedded_default_answers_ec2_from_the_simulator(sqlite_services: Services) -> None:
    assert isinstance(sqlite_services.aws, SimulatedAws)
    with pytest.raises(ValidationFailed, match="STEPFUNCTIONS needs AWS"):
        sqlite_services.aws.client("stepfunctions", REGION)


# -- tag sync -------------------------------------------------------------------------------------


def test_tag_sync_copies_a_changed_ec2_tag_and_a_tag_group_follows(
    live: Services, simulator: DrsSimulator
) -> None:
    instance = simulator.ec2_instance("app-auth-01")
    assert {"Key": "Tier", "Value": "app"} in instance["Tags"]  # EC2 and DRS agree at first
    simulator.tag_ec2_instance(instance["InstanceId"], {"Tier": "web", "Owner": "identity-team"})

    report = direct(data_management, "handle_drs_tag_sync", region=REGION)

    assert (report["serversScanned"], report["serversWithoutEc2Instance"]) == (15, 0)
    assert report["updated"] == [
        {
            "sourceServerID": simulator.server_id("app-auth-01"),
            "hostname": "app-auth-01",
            "instanceId": instance["InstanceId"],
            "tags": {"Tier": "web", "Owner": "identity-team"},
        }
    ]
    assert (report["serversUnchanged"], report["instancesNotFound"], report["failed"]) == (14, [], [])
    # the simulator's own state, not the gateway's view of it
    sid = simulator.server_id("app-auth-01")
    drs = simulator.client(REGION).list_tags_for_resource(
        resourceArn=f"arn:aws:drs:{REGION}:{SIM_ACCOUNT}:source-server/{sid}"
    )
    assert (drs["tags"]["Tier"], drs["tags"]["Owner"]) == ("web", "identity-team")

    status, resolved = rest(
        data_management,
        "POST",
        "/protection-groups/resolve",
        {"region": REGION, "serverSelectionTags": {"Tier": "web"}},
    )
    assert status == 200
    assert "app-auth-01" in [s["hostname"] for s in resolved["servers"]]
    assert resolved["serverCount"] == 4  # the demo's three web servers and the re-tiered one

    again = direct(data_management, "handle_drs_tag_sync", region=REGION)
    assert (again["serversUpdated"], again["serversUnchanged"]) == (0, 15)


def test_tag_sync_over_rest_skips_on_premises_servers(live: Services, simulator: DrsSimulator) -> None:
    status, report = rest(data_management, "POST", "/drs/tag-sync", {}, region="us-west-2")
    assert status == 200
    # the demo's us-west-2 servers run on premises: no EC2 instance to read
    assert (report["serversScanned"], report["serversWithoutEc2Instance"], report["serversUpdated"]) == (
        4,
        4,
        0,
    )


def test_a_generated_inventory_has_ec2_instances_too(
    sqlite_services: Services, simulator: DrsSimulator
) -> None:
    simulator.reset(synthetic_inventory(250))  # more than one describe_instances batch of 200
    instance = simulator.ec2_instance("bench-0007")
    simulator.tag_ec2_instance(instance["InstanceId"], {"Bench": "changed"})

    report = handle_drs_tag_sync(sqlite_services, "alice", region=REGION)

    assert (report["serversScanned"], report["serversUpdated"], report["serversUnchanged"]) == (250, 1, 249)
    assert drs_tags(sqlite_services, simulator, "bench-0007")["Bench"] == "changed"


def test_a_drbot_without_ec2_still_says_what_is_needed(sqlite_services: Services) -> None:
    sqlite_services.aws = NoAws()
    with pytest.raises(ValidationFailed, match="EC2 queries need AWS: run drbot with DRBOT_BACKEND=aws"):
        handle_drs_tag_sync(sqlite_services, "alice")
    assert sqlite_services.store.list_audit() == []


# -- EC2 and IAM queries --------------------------------------------------------------------------


def test_subnets_of_a_vpc_and_of_one_zone(live: Services) -> None:
    vpc = vpc_named(live, ORIGIN, "prod-vpc")

    status, body = rest(query, "GET", "/ec2/subnets", region=ORIGIN, vpcId=vpc)

    assert (status, body["vpcId"], body["count"]) == (200, vpc, 7)
    first = body["subnets"][0]
    assert first["name"] == "prod-db-a"
    assert (first["availabilityZone"], first["cidrBlock"], first["state"]) == (
        "us-east-2a",
        "10.20.1.0/24",
        "available",
    )
    assert first["availableIpAddressCount"] == 256 - 5 - 4  # the demo's four AWS databases run there
    assert first["defaultForAz"] is False
    zone_b = direct(query, "get_ec2_subnets", region=ORIGIN, vpcId=vpc, availabilityZone="us-east-2b")
    assert [s["name"] for s in zone_b["subnets"]] == ["prod-db-b", "prod-app-b", "prod-web-b"]


def test_the_default_vpc_and_an_unknown_vpc(live: Services) -> None:
    default = next(v for v in live.aws.client("ec2", REGION).describe_vpcs()["Vpcs"] if v["IsDefault"])
    subnets = get_ec2_subnets(live, REGION, default["VpcId"])
    assert [s["cidrBlock"] for s in subnets["subnets"]] == [
        "172.31.0.0/20",
        "172.31.16.0/20",
        "172.31.32.0/20",
    ]
    assert all(s["defaultForAz"] for s in subnets["subnets"])

    with pytest.raises(NotFound, match="No VPC vpc-0123456789abcdef0 in us-east-1") as error:
        get_ec2_subnets(live, REGION, "vpc-0123456789abcdef0")
    assert error.value.details["resourceId"] == "vpc-0123456789abcdef0"
    status, body = rest(query, "GET", "/ec2/security-groups", region=REGION, vpcId="vpc-0123456789abcdef0")
    assert (status, body["error"]) == (404, "NOT_FOUND")


def test_security_groups_of_a_vpc(live: Services) -> None:
    vpc = vpc_named(live, REGION, "dr-recovery-vpc")

    status, body = rest(query, "GET", "/ec2/security-groups", region=REGION, vpcId=vpc)

    assert status == 200
    assert [g["groupName"] for g in body["securityGroups"]] == ["default", "dr-app", "dr-db", "dr-web"]
    assert {g["vpcId"] for g in body["securityGroups"]} == {vpc}
    assert body["securityGroups"][2]["description"] == "Recovered databases"


def test_instance_types_of_a_family(live: Services) -> None:
    status, body = rest(query, "GET", "/ec2/instance-types", region=REGION, instanceFamily="r6i")

    assert status == 200
    assert [t["instanceType"] for t in body["instanceTypes"]][:3] == [
        "r6i.large",
        "r6i.xlarge",
        "r6i.2xlarge",
    ]
    assert body["instanceTypes"][0] == {
        "instanceType": "r6i.large",
        "vCpus": 2,
        "memoryMiB": 16384,
        "architectures": ["x86_64"],
        "currentGeneration": True,
    }
    every = direct(query, "get_ec2_instance_types", region=REGION)
    # every type the demo's servers recommend is on offer
    offered = {t["instanceType"] for t in every["instanceTypes"]}
    assert {"r6i.2xlarge", "r6i.4xlarge", "m6i.large", "c6i.large"} <= offered
    assert every["count"] > 50


def test_instance_profiles_and_the_current_account(live: Services) -> None:
    status, body = rest(query, "GET", "/ec2/instance-profiles")

    assert status == 200
    names = [p["instanceProfileName"] for p in body["instanceProfiles"]]
    assert names == [
        "AWSElasticDisasterRecoveryRecoveryInstanceRole",
        "prod-app-server",
        "prod-db-server",
        "ssm-managed-instance",
    ]
    ssm = body["instanceProfiles"][3]
    assert (ssm["path"], ssm["roles"], ssm["arn"]) == (
        "/ops/",
        ["ssm-managed-instance-role"],
        f"arn:aws:iam::{SIM_ACCOUNT}:instance-profile/ops/ssm-managed-instance",
    )
    assert isinstance(ssm["createDate"], int)

    status, current = rest(query, "GET", "/accounts/current")
    assert status == 200
    assert current == {
        "accountId": SIM_ACCOUNT,
        "region": REGION,
        "backend": "embedded",
        "arn": f"arn:aws:sts::{SIM_ACCOUNT}:assumed-role/drbot-simulator/drbot",
        "simulated": True,
    }
