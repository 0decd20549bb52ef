"""The seed's query operations (orchestration/services/queries.py).

DRS answers come from the simulator; EC2, IAM and STS from moto (`aws_services`), or from NoAws
(a drbot with no EC2), which must say clearly what is missing. The embedded default's simulated
EC2 is tests/integration/test_embedded_aws.py's.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestration.aws import AwsSessions, NoAws, calling_aws
from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.drs.clients import AwsDrsClients
from orchestration.drs.limits import DrsLimits
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import (
    InternalError,
    MissingField,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from orchestration.models import ProtectionGroup, TargetAccount
from orchestration.services.accounts import UpdateTargetAccount, update_target_account
from orchestration.services.queries import (
    get_current_account_info,
    get_drs_accounts,
    get_drs_quotas,
    get_drs_service_limits,
    get_ec2_instance_profiles,
    get_ec2_instance_types,
    get_ec2_security_groups,
    get_ec2_subnets,
)

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"  # moto's default account
SIM_ACCOUNT = "111122223333"  # the DRS simulator's default account


def launch(sim: DrsSimulator, hosts: list[str]) -> str:
    servers: Any = [{"sourceServerID": sim.server_id(h)} for h in hosts]
    return sim.client(REGION).start_recovery(sourceServers=servers, isDrill=True)["job"]["jobID"]


# -- DRS limits and quotas --------------------------------------------------------------------------


def test_service_limits_have_the_seed_shape_with_current_usage(
    sqlite_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    launch(simulator, ["app-orders-01", "app-orders-02"])
    clock.advance(300)
    launch(simulator, ["db-primary-01", "db-replica-01", "db-payments-01"])

    answer = get_drs_service_limits(sqlite_services)

    assert answer == {
        "region": REGION,
        "limits": {
            "maxServersPerJob": 100,
            "maxConcurrentJobs": 20,
            "maxServersInAllJobs": 500,
            "maxRecoveryInstances": 4000,
        },
        "currentUsage": {"activeJobs": 1, "serversInJobs": 3, "recoveryInstances": 2},
    }
    west = get_drs_service_limits(sqlite_services, region="us-west-2")
    assert west["currentUsage"] == {"activeJobs": 0, "serversInJobs": 0, "recoveryInstances": 0}


def test_quotas_say_limit_used_and_available(sqlite_services: Services, simulator: DrsSimulator) -> None:
    launch(simulator, ["app-orders-01", "app-orders-02"])
    launch(simulator, ["web-frontend-01"])

    quotas = {q["quotaCode"]: q for q in get_drs_quotas(sqlite_services, region=REGION)["quotas"]}

    assert quotas["MaxConcurrentJobs"] == {
        "quotaName": "Concurrent jobs",
        "quotaCode": "MaxConcurrentJobs",
        "limit": 20,
        "used": 2,
        "available": 18,
    }
    assert (quotas["MaxSourceServersInAllActiveJobs"]["used"], quotas["MaxSourceServersPerJob"]["used"]) == (
        3,
        2,
    )
    assert quotas["MaxRecoveryInstances"]["available"] == 4000
    assert quotas["MaxSourceServers"]["used"] == 15  # the demo estate's us-east-1 servers


def test_a_bad_region_is_refused_by_name(sqlite_services: Services) -> None:
    with pytest.raises(ValidationFailed, match="'narnia' is not an AWS region") as error:
        get_drs_quotas(sqlite_services, region="narnia")
    assert error.value.details["field"] == "region"


def test_limits_follow_the_settings(sqlite_services: Services) -> None:
    from dataclasses import replace

    sqlite_services.settings = replace(sqlite_services.settings, drs_limits=DrsLimits(max_concurrent_jobs=3))
    assert get_drs_service_limits(sqlite_services)["limits"]["maxConcurrentJobs"] == 3


# -- accounts -------------------------------------------------------------------------------------


def test_the_embedded_default_is_the_simulators_account(sqlite_services: Services) -> None:
    assert get_current_account_info(sqlite_services) == {
        "accountId": SIM_ACCOUNT,
        "region": REGION,
        "backend": "embedded",
        "arn": f"arn:aws:sts::{SIM_ACCOUNT}:assumed-role/drbot-simulator/drbot",
        "simulated": True,
    }
    sqlite_services.aws = NoAws()  # a simulated DRS without the simulated STS: still its account
    assert get_current_account_info(sqlite_services)["accountId"] == SIM_ACCOUNT


def test_accounts_are_the_hub_and_every_target_with_their_regions(sqlite_services: Services) -> None:
    store = sqlite_services.store
    store.create_target_account(
        TargetAccount(
            account_id="444455556666",
            account_name="Payments",
            role_arn="arn:aws:iam::444455556666:role/drbot",
            external_id="secret-ish",
            regions=["eu-west-1"],
        ),
        "alice",
    )
    store.create_group(
        ProtectionGroup(
            group_name="West", region="us-west-2", server_selection_tags={"Tier": "app"}, account_id=None
        ),
        "alice",
    )
    store.create_group(
        ProtectionGroup(
            group_name="Payments EU",
            region="eu-central-1",
            server_selection_tags={"Tier": "db"},
            account_id="444455556666",
        ),
        "alice",
    )

    answer = get_drs_accounts(sqlite_services)

    assert answer["count"] == 2
    hub, payments = answer["accounts"]
    assert hub == {
        "accountId": SIM_ACCOUNT,
        "accountName": "Hub account",
        "isHub": True,
        "regions": [REGION, "us-west-2"],
    }
    assert payments["regions"] == ["eu-central-1", "eu-west-1"] and payments["isHub"] is False
    assert "externalId" not in payments  # the external id is a shared secret of the trust policy


def test_the_current_account_on_aws_comes_from_sts(aws_services: Services) -> None:
    info = get_current_account_info(aws_services)
    assert info["accountId"] == MOTO_ACCOUNT and info["simulated"] is False
    assert info["arn"].startswith(f"arn:aws:sts::{MOTO_ACCOUNT}:")
    assert get_drs_accounts(aws_services)["accounts"][0]["accountId"] == MOTO_ACCOUNT


# -- EC2 and IAM ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        lambda s: get_ec2_subnets(s, REGION, "vpc-0123456789abcdef0"),
        lambda s: get_ec2_security_groups(s, REGION, "vpc-0123456789abcdef0"),
        lambda s: get_ec2_instance_types(s, REGION),
        get_ec2_instance_profiles,
    ],
    ids=["subnets", "security-groups", "instance-types", "instance-profiles"],
)
def test_ec2_queries_without_ec2_say_they_need_aws(sqlite_services: Services, query: Any) -> None:
    sqlite_services.aws = NoAws()
    with pytest.raises(ValidationFailed, match="need AWS: run drbot with DRBOT_BACKEND=aws"):
        query(sqlite_services)


def test_required_parameters_are_named(sqlite_services: Services) -> None:
    with pytest.raises(MissingField, match="region is required") as error:
        get_ec2_subnets(sqlite_services, None, "vpc-0123456789abcdef0")
    assert error.value.details["field"] == "region"
    with pytest.raises(MissingField, match="vpcId is required") as error:
        get_ec2_security_groups(sqlite_services, REGION, "")
    assert error.value.details["field"] == "vpcId"
    with pytest.raises(ValidationFailed, match="not a VPC id"):
        get_ec2_subnets(sqlite_services, REGION, "my-vpc")
    with pytest.raises(MissingField):
        get_ec2_instance_types(sqlite_services, None)
    with pytest.raises(ValidationFailed, match="not an instance family"):
        get_ec2_instance_types(sqlite_services, REGION, instance_family="m5.large")


def test_subnets_of_a_vpc_optionally_in_one_zone(aws_services: Services) -> None:
    ec2 = aws_services.aws.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    ec2.create_tags(Resources=[a["SubnetId"]], Tags=[{"Key": "Name", "Value": "recovery-a"}])
    b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.2.0/24", AvailabilityZone="us-east-1b")["Subnet"]

    answer = get_ec2_subnets(aws_services, REGION, vpc)

    assert answer["count"] == 2 and answer["vpcId"] == vpc
    first, second = answer["subnets"]
    assert first["subnetId"] == a["SubnetId"] and first["name"] == "recovery-a"
    assert first["availabilityZone"] == "us-east-1a" and first["cidrBlock"] == "10.20.1.0/24"
    assert second["subnetId"] == b["SubnetId"] and "name" not in second
    in_b = get_ec2_subnets(aws_services, REGION, vpc, availability_zone="us-east-1b")
    assert [s["subnetId"] for s in in_b["subnets"]] == [b["SubnetId"]]


def test_an_unknown_vpc_is_not_found(aws_services: Services) -> None:
    with pytest.raises(NotFound, match="No VPC vpc-0123456789abcdef0 in us-east-1"):
        get_ec2_subnets(aws_services, REGION, "vpc-0123456789abcdef0")
    with pytest.raises(NotFound):
        get_ec2_security_groups(aws_services, REGION, "vpc-0123456789abcdef0")


def test_security_groups_of_a_vpc(aws_services: Services) -> None:
    ec2 = aws_services.aws.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_security_group(GroupName="drbot-web", Description="recovered web tier", VpcId=vpc)

    answer = get_ec2_security_groups(aws_services, REGION, vpc)

    names = {g["groupName"]: g for g in answer["securityGroups"]}
    assert set(names) == {"default", "drbot-web"}
    assert names["drbot-web"] == {
        "groupId": web["GroupId"],
        "groupName": "drbot-web",
        "description": "recovered web tier",
        "vpcId": vpc,
    }


def test_instance_types_of_a_family(aws_services: Services) -> None:
    answer = get_ec2_instance_types(aws_services, REGION, instance_family="M5")

    assert answer["instanceFamily"] == "m5"
    types = answer["instanceTypes"]
    assert types and all(t["instanceType"].startswith("m5.") for t in types)
    large = next(t for t in types if t["instanceType"] == "m5.large")
    assert (large["vCpus"], large["memoryMiB"]) == (2, 8192)
    assert [t["vCpus"] for t in types] == sorted(t["vCpus"] for t in types)
    # another family's listing holds none of these (the unfiltered listing, several hundred types
    # that take moto seconds to serialize, is tested on the embedded default: test_embedded_aws.py)
    others = get_ec2_instance_types(aws_services, REGION, instance_family="c5")["instanceTypes"]
    assert others and all(t["instanceType"].startswith("c5.") for t in others)


def test_instance_profiles_with_their_roles(aws_services: Services) -> None:
    iam = aws_services.aws.client("iam", REGION)
    iam.create_role(RoleName="recovered-app", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName="recovered-app")
    iam.add_role_to_instance_profile(InstanceProfileName="recovered-app", RoleName="recovered-app")

    answer = get_ec2_instance_profiles(aws_services)

    assert answer["count"] == 1
    profile = answer["instanceProfiles"][0]
    assert profile["instanceProfileName"] == "recovered-app" and profile["roles"] == ["recovered-app"]
    assert profile["arn"] == f"arn:aws:iam::{MOTO_ACCOUNT}:instance-profile/recovered-app"


def test_an_unregistered_account_is_not_found(aws_services: Services) -> None:
    with pytest.raises(NotFound, match="not a registered target account"):
        get_ec2_instance_types(aws_services, REGION, account_id="999988887777")


def test_a_registered_account_is_reached_through_its_role(aws_services: Services) -> None:
    spoke = "444455556666"
    aws_services.store.create_target_account(
        TargetAccount(account_id=spoke, account_name="Spoke", role_arn=f"arn:aws:iam::{spoke}:role/drbot"),
        "alice",
    )
    hub_vpc = aws_services.aws.client("ec2", REGION).create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]

    # the hub's VPC does not exist in the spoke account: the call really ran there
    with pytest.raises(NotFound):
        get_ec2_subnets(aws_services, REGION, hub_vpc, account_id=spoke)
    assert get_ec2_subnets(aws_services, REGION, hub_vpc)["count"] == 0


def test_an_updated_role_or_external_id_is_assumed_on_the_next_client(aws_services: Services) -> None:
    spoke = "444455556666"
    old_role = f"arn:aws:iam::{spoke}:role/drbot-old"
    aws_services.store.create_target_account(
        TargetAccount(account_id=spoke, account_name="Spoke", role_arn=old_role), "alice"
    )

    def caller_arn() -> str:
        return str(aws_services.aws.client("sts", REGION, account_id=spoke).get_caller_identity()["Arn"])

    assert "drbot-old" in caller_arn()
    update_target_account(
        aws_services, spoke, UpdateTargetAccount(role_arn=f"arn:aws:iam::{spoke}:role/drbot-new"), "alice"
    )
    assert "drbot-new" in caller_arn()

    sessions = aws_services.aws
    assert isinstance(sessions, AwsSessions)
    current = sessions.session(spoke)
    assert sessions.session(spoke) is current  # unchanged: the cached session
    update_target_account(aws_services, spoke, UpdateTargetAccount(external_id="drbot-rotated"), "alice")
    assert sessions.session(spoke) is not current


def test_clients_are_built_once_per_service_region_and_account(aws_services: Services) -> None:
    """A warm container reuses its clients; a target account whose role changed gets a new one."""
    spoke = "444455556666"
    aws_services.store.create_target_account(
        TargetAccount(account_id=spoke, account_name="Spoke", role_arn=f"arn:aws:iam::{spoke}:role/drbot"),
        "alice",
    )
    aws = aws_services.aws

    hub = aws.client("ec2", REGION)
    assert aws.client("ec2", REGION) is hub
    assert aws.client("ec2", "eu-west-1") is not hub
    assert aws.client("iam", REGION) is not hub
    spoke_ec2 = aws.client("ec2", REGION, account_id=spoke)
    assert spoke_ec2 is not hub
    assert aws.client("ec2", REGION, account_id=spoke) is spoke_ec2
    assert isinstance(aws, AwsSessions)
    drs = AwsDrsClients(aws)
    assert drs.gateway(REGION)._client is drs.gateway(REGION)._client

    update_target_account(aws_services, spoke, UpdateTargetAccount(external_id="drbot-rotated"), "alice")
    assert aws.client("ec2", REGION, account_id=spoke) is not spoke_ec2


# -- AWS errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("UnauthorizedOperation", PermissionDenied),
        ("AccessDenied", PermissionDenied),
        ("InvalidSubnetID.NotFound", NotFound),
        ("NoSuchEntity", NotFound),
        ("InvalidParameterValue", ValidationFailed),
        ("RequestLimitExceeded", InternalError),
        ("InternalFailure", InternalError),
    ],
)
def test_aws_errors_become_domain_errors(code: str, expected: type[Exception]) -> None:
    failure = ClientError({"Error": {"Code": code, "Message": "nope"}}, "DescribeSubnets")
    with pytest.raises(expected) as error, calling_aws("ec2", "list subnets"):
        raise failure
    assert "EC2 refused to list subnets: nope" in str(error.value)
    assert error.value.__cause__ is failure
