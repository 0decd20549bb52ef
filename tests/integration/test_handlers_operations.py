"""Every data-management and query operation answers through both invocation styles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestration.handlers import data_management, query, runtime
from tests.support import apigw_event, response_json

ROLE = "arn:aws:iam::210987654321:role/DRSOrchestrationCrossAccountRole"


@pytest.fixture
def live(services: Any) -> Iterator[Any]:
    runtime.use(services)
    yield services
    runtime.use(None)


def direct(handler: Any, operation: str, body: Any = None, **query_params: str) -> Any:
    return handler.lambda_handler({"operation": operation, "body": body, "queryParams": query_params}, None)


def rest(handler: Any, method: str, path: str, body: Any = None, **query_params: str) -> tuple[int, Any]:
    response = handler.lambda_handler(apigw_event(method, path, body, query_params or None), None)
    return response["statusCode"], response_json(response)


def test_drs_limits_quotas_and_accounts(live, simulator):
    simulator.client("us-east-1").start_recovery(
        sourceServers=[{"sourceServerID": simulator.server_id("db-primary-01")}], isDrill=True
    )
    limits = direct(query, "get_drs_service_limits", region="us-east-1")
    assert limits["limits"]["maxServersPerJob"] == 100
    assert limits["currentUsage"] == {"activeJobs": 1, "serversInJobs": 1, "recoveryInstances": 0}
    status, quotas = rest(query, "GET", "/drs/quotas", region="us-east-1")
    assert status == 200
    jobs = next(q for q in quotas["quotas"] if q["limit"] == 20)
    assert (jobs["used"], jobs["available"]) == (1, 19)
    status, accounts = rest(query, "GET", "/drs/accounts")
    assert status == 200 and accounts["count"] >= 1
    status, current = rest(query, "GET", "/accounts/current")
    assert (status, current["accountId"], current["backend"]) == (200, "111122223333", "embedded")
    status, bad = rest(query, "GET", "/drs/quotas", region="atlantis-1")
    assert (status, bad["error"]) == (400, "VALIDATION_ERROR")


def test_ec2_queries_on_the_embedded_default_ask_the_simulated_ec2(live):
    status, body = rest(query, "GET", "/ec2/subnets", region="us-east-1", vpcId="vpc-0123456789abcdef0")
    assert (status, body["error"]) == (404, "NOT_FOUND")
    assert "No VPC vpc-0123456789abcdef0 in us-east-1" in body["message"]
    status, body = rest(query, "GET", "/ec2/subnets")
    assert (status, body["error"]) == (400, "MISSING_FIELD")
    assert "region" in body["message"]


def test_ec2_and_iam_queries_on_aws(aws_services):
    import boto3

    runtime.use(aws_services)
    try:
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1a")
        ec2.create_security_group(GroupName="dr-web", Description="web", VpcId=vpc)
        boto3.client("iam").create_instance_profile(InstanceProfileName="dr-profile")

        status, subnets = rest(query, "GET", "/ec2/subnets", region="us-east-1", vpcId=vpc)
        assert (status, [s["cidrBlock"] for s in subnets["subnets"]]) == (200, ["10.9.1.0/24"])
        groups = direct(query, "get_ec2_security_groups", region="us-east-1", vpcId=vpc)
        assert "dr-web" in [g["groupName"] for g in groups["securityGroups"]]
        status, types = rest(query, "GET", "/ec2/instance-types", region="us-east-1", instanceFamily="m6i")
        assert status == 200 and types["instanceTypes"]
        assert all(t["instanceType"].startswith("m6i.") for t in types["instanceTypes"])
        profiles = direct(query, "get_ec2_instance_profiles")
        assert [p["instanceProfileName"] for p in profiles["instanceProfiles"]] == ["dr-profile"]
        status, missing = rest(
            query, "GET", "/ec2/subnets", region="us-east-1", vpcId="vpc-0000000000000dead"
        )
        assert (status, missing["error"]) == (404, "NOT_FOUND")
    finally:
        runtime.use(None)


def test_target_accounts_crud_in_both_styles(live):
    body = {"accountId": "210987654321", "accountName": "spoke", "roleArn": ROLE, "regions": ["us-east-1"]}
    created = direct(data_management, "create_target_account", body)
    assert created["version"] == 1
    status, listed = rest(data_management, "GET", "/accounts/targets")
    assert (status, listed["count"]) == (200, 1)
    status, fetched = rest(data_management, "GET", "/accounts/targets/210987654321")
    assert fetched["roleArn"] == ROLE
    status, updated = rest(
        data_management, "PUT", "/accounts/targets/210987654321", {"accountName": "spoke-2"}
    )
    assert (status, updated["accountName"], updated["version"]) == (200, "spoke-2", 2)
    wrong = dict(body, accountId="999999999999")
    status, bad = rest(data_management, "POST", "/accounts/targets", wrong)
    assert (status, bad["error"]) == (400, "VALIDATION_ERROR")
    status, deleted = rest(data_management, "DELETE", "/accounts/targets/210987654321")
    assert (status, deleted["deleted"]) == (200, True)
    assert (
        direct(data_management, "get_target_account", {"accountId": "210987654321"})["error"] == "NOT_FOUND"
    )


def test_export_then_import_in_both_styles(live, simulator):
    group = direct(
        data_management,
        "create_protection_group",
        {"groupName": "DB", "region": "us-east-1", "sourceServerIds": [simulator.server_id("db-primary-01")]},
    )
    direct(
        data_management,
        "create_recovery_plan",
        {
            "planName": "DR",
            "waves": [{"waveNumber": 1, "waveName": "db", "protectionGroupId": group["groupId"]}],
        },
    )
    status, exported = rest(query, "GET", "/config/export")
    assert status == 200
    assert (len(exported["protectionGroups"]), len(exported["recoveryPlans"])) == (1, 1)

    # the same document again is harmless (same ids, same content)
    status, report = rest(data_management, "POST", "/config/import", exported, dryRun="true")
    assert status == 200 and report["dryRun"] is True

    broken = dict(exported, formatVersion=99)
    status, refused = rest(data_management, "POST", "/config/import", broken)
    assert (status, refused["error"]) == (400, "VALIDATION_ERROR")
    assert direct(data_management, "import_configuration", broken)["error"] == "VALIDATION_ERROR"
    status, refused = rest(data_management, "POST", "/config/import", exported, dryRun="perhaps")
    assert (status, refused["error"]) == (400, "VALIDATION_ERROR")

    # a valid document whose name or id is already taken conflicts with what is stored: a 409
    [exported_group] = exported["protectionGroups"]
    other = {
        "groupId": "g-other",
        "groupName": "db",
        "region": "us-east-1",
        "serverSelectionTags": {"Tier": "x"},
    }
    renamed = dict(exported, protectionGroups=[other], recoveryPlans=[])
    status, refused = rest(data_management, "POST", "/config/import", renamed)
    assert (status, refused["error"]) == (409, "DUPLICATE_NAME")
    assert refused["errors"][0]["path"] == "protectionGroups[0].groupName"
    changed = dict(exported, protectionGroups=[dict(exported_group, description="changed")], recoveryPlans=[])
    assert direct(data_management, "import_configuration", changed)["error"] == "CONFLICT"


def test_tag_sync_settings_round_trip_and_a_sync_on_the_simulated_ec2(live):
    status, settings = rest(data_management, "GET", "/config/tag-sync")
    assert (status, settings["enabled"]) == (200, True)
    status, changed = rest(data_management, "PUT", "/config/tag-sync", {"enabled": True, "tagKeys": ["Tier"]})
    assert (status, changed["enabled"], changed["tagKeys"]) == (200, True, ["Tier"])
    assert direct(data_management, "get_tag_sync_settings")["tagKeys"] == ["Tier"]
    status, body = rest(data_management, "POST", "/drs/tag-sync", region="us-east-1")
    # the demo's EC2 instances carry the tags their source servers have: nothing to change
    assert (status, body["serversScanned"], body["serversUpdated"]) == (200, 15, 0)
