"""The simulated EC2, IAM and STS (orchestration/drs/sim/aws_*.py): the query-protocol wire both
ways, checked against botocore's own serializers and parsers, and the operations drbot calls
through real boto3 clients (pagination, filters, AWS's errors)."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator

from orchestration.clock import FakeClock
from orchestration.drs.inventory import parse_inventory
from orchestration.drs.sim.aws_wire import (
    AwsQueryError,
    parse_query_body,
    render_query_error,
    render_query_response,
)
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import ValidationFailed

UTC = datetime.UTC
SESSION = botocore.session.get_session()


def model(service: str) -> Any:
    return SESSION.get_service_model(service)


# -- the wire, both ways --------------------------------------------------------------------------

REQUESTS = [
    (
        "ec2",
        "DescribeInstances",
        {"Filters": [{"Name": "instance-id", "Values": ["i-1", "i-2"]}], "MaxResults": 5},
    ),
    (
        "ec2",
        "DescribeSubnets",
        {
            "Filters": [
                {"Name": "vpc-id", "Values": ["vpc-1"]},
                {"Name": "availability-zone", "Values": ["us-east-1a"]},
            ],
            "NextToken": "abc",
            "DryRun": False,
        },
    ),
    ("ec2", "DescribeVpcs", {"VpcIds": ["vpc-1", "vpc-2"]}),
    ("ec2", "CreateTags", {"Resources": ["i-1"], "Tags": [{"Key": "Tier", "Value": "web"}]}),
    ("iam", "ListInstanceProfiles", {"PathPrefix": "/ops/", "MaxItems": 10, "Marker": "m"}),
    (
        "iam",
        "CreateRole",
        {"RoleName": "r", "AssumeRolePolicyDocument": "{}", "Tags": [{"Key": "a", "Value": "b"}]},
    ),
    ("sts", "GetCallerIdentity", {}),
    ("sns", "CreateTopic", {"Name": "t", "Attributes": {"A": "1", "B": "2"}}),  # a map, query protocol
]


@pytest.mark.parametrize(("service", "operation", "params"), REQUESTS, ids=[r[1] for r in REQUESTS])
def test_requests_read_back_as_botocore_serialized_them(service: str, operation: str, params: Any) -> None:
    service_model = model(service)
    operation_model = service_model.operation_model(operation)
    request = create_serializer(service_model.metadata["protocol"]).serialize_to_request(
        params, operation_model
    )

    assert parse_query_body(operation_model, urlencode(request["body"])) == params


def test_the_query_protocols_empty_list_reads_back_empty() -> None:
    operation = model("iam").operation_model("CreateRole")
    body = "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags="
    assert parse_query_body(operation, body)["Tags"] == []


def test_a_malformed_request_is_refused() -> None:
    operation = model("ec2").operation_model("DescribeInstances")
    with pytest.raises(AwsQueryError, match="numbered from 1") as error:
        parse_query_body(operation, "Action=DescribeInstances&Filter.x.Name=instance-id")
    assert error.value.code == "MalformedQueryString"
    with pytest.raises(AwsQueryError, match="not a number"):
        parse_query_body(operation, "Action=DescribeInstances&MaxResults=many")


MOMENT = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ANSWERS = [
    (
        "ec2",
        "DescribeInstances",
        {
            "Reservations": [
                {
                    "ReservationId": "r-1",
                    "OwnerId": "111122223333",
                    "Instances": [
                        {
                            "InstanceId": "i-1",
                            "State": {"Code": 16, "Name": "running"},
                            "LaunchTime": MOMENT,
                            "EbsOptimized": False,
                            "Tags": [{"Key": "Tier", "Value": "web"}, {"Key": "Empty", "Value": ""}],
                            "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "default"}],
                            "Placement": {"AvailabilityZone": "us-east-1a"},
                        }
                    ],
                }
            ],
            "NextToken": "t",
        },
    ),
    (
        "ec2",
        "DescribeInstanceTypes",
        {
            "InstanceTypes": [
                {
                    "InstanceType": "m6i.large",
                    "CurrentGeneration": True,
                    "VCpuInfo": {"DefaultVCpus": 2},
                    "MemoryInfo": {"SizeInMiB": 8192},
                    "ProcessorInfo": {"SupportedArchitectures": ["x86_64", "arm64"]},
                }
            ]
        },
    ),
    ("ec2", "DescribeSubnets", {"Subnets": []}),
    (
        "iam",
        "ListInstanceProfiles",
        {
            "InstanceProfiles": [
                {
                    "Path": "/",
                    "InstanceProfileName": "p",
                    "InstanceProfileId": "AIPA0",
                    "Arn": "arn:aws:iam::111122223333:instance-profile/p",
                    "CreateDate": MOMENT,
                    "Roles": [
                        {
                            "Path": "/",
                            "RoleName": "r",
                            "RoleId": "AROA0",
                            "Arn": "arn:r",
                            "CreateDate": MOMENT,
                        }
                    ],
                }
            ],
            "IsTruncated": True,
            "Marker": "next",
        },
    ),
    ("sts", "GetCallerIdentity", {"UserId": "AROA0:drbot", "Account": "111122223333", "Arn": "arn:x"}),
    ("sns", "GetTopicAttributes", {"Attributes": {"Policy": "{}", "Owner": "111122223333"}}),
]


@pytest.mark.parametrize(("service", "operation", "output"), ANSWERS, ids=[a[1] for a in ANSWERS])
def test_answers_parse_back_as_rendered(service: str, operation: str, output: dict[str, Any]) -> None:
    service_model = model(service)
    operation_model = service_model.operation_model(operation)
    body = render_query_response(operation_model, output, "req-1")

    parsed = create_parser(service_model.metadata["protocol"]).parse(
        {"status_code": 200, "headers": {}, "body": body}, operation_model.output_shape
    )

    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == output


def test_element_names_come_from_the_shapes() -> None:
    ec2 = render_query_response(model("ec2").operation_model("DescribeInstances"), ANSWERS[0][2], "r")
    assert b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' in ec2
    assert b"<reservationSet><item><reservationId>r-1</reservationId>" in ec2
    assert b"<tagSet><item><key>Tier</key><value>web</value></item>" in ec2
    assert b"<launchTime>2026-01-02T03:04:05.000Z</launchTime>" in ec2
    iam = render_query_response(model("iam").operation_model("ListInstanceProfiles"), ANSWERS[3][2], "r")
    assert b"<ListInstanceProfilesResult><InstanceProfiles><member><Path>/</Path>" in iam
    assert b"<IsTruncated>true</IsTruncated>" in iam


@pytest.mark.parametrize("service", ["ec2", "iam", "sts"])
def test_errors_parse_as_aws_errors(service: str) -> None:
    service_model = model(service)
    body = render_query_error(service_model, AwsQueryError("InvalidVpcID.NotFound", "gone"), "req-9")
    parsed = create_parser(service_model.metadata["protocol"]).parse(
        {"status_code": 400, "headers": {}, "body": body}, None
    )
    assert (parsed["Error"]["Code"], parsed["Error"]["Message"]) == ("InvalidVpcID.NotFound", "gone")
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"


# -- the operations through boto3 -----------------------------------------------------------------


@pytest.fixture
def sim() -> Any:
    simulator = DrsSimulator(db_path=None, clock=FakeClock())
    yield simulator
    simulator.close()


def valid(service: str, operation: str, answer: dict[str, Any]) -> None:
    """The answer has the output shape's types (botocore's own validator, on the output shape)."""
    shape = model(service).operation_model(operation).output_shape
    answer = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(answer, shape)
    assert not report.has_errors(), report.generate_report()


def test_describe_instances_pages_and_filters(sim: DrsSimulator) -> None:
    ec2 = sim.aws_client("ec2", "us-east-2")
    pages = list(ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
    for page in pages:
        valid("ec2", "DescribeInstances", page)
    ids = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
    assert [len(p["Reservations"]) for p in pages] == [5, 5, 5]  # the demo's 15 AWS-hosted servers
    assert len(set(ids)) == 15

    wanted = [ids[3], ids[7], "i-0000000000000dead"]
    found = ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": wanted}])["Reservations"]
    assert sorted(r["Instances"][0]["InstanceId"] for r in found) == sorted(ids[3:4] + ids[7:8])
    assert sim.aws_client("ec2", "us-west-2").describe_instances()["Reservations"] == []  # on premises


def test_the_demo_instances_sit_in_their_tiers_subnets(sim: DrsSimulator) -> None:
    db = sim.ec2_instance("db-primary-01")
    assert (db["PrivateIpAddress"], db["InstanceType"], db["State"]["Name"]) == (
        "10.20.1.11",
        "r6i.2xlarge",
        "running",
    )
    assert [g["GroupName"] for g in db["SecurityGroups"]] == ["prod-db"]
    assert db["IamInstanceProfile"]["Arn"].endswith(":instance-profile/prod-db-server")
    assert {"Key": "Application", "Value": "orders"} in db["Tags"]
    ec2 = sim.aws_client("ec2", "us-east-2")
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [db["VpcId"]]}])["Subnets"]
    assert {"Key": "Name", "Value": "prod-db-a"} in next(
        s for s in subnet if s["SubnetId"] == db["SubnetId"]
    )["Tags"]


def test_tags_changed_in_the_simulator_show_in_ec2(sim: DrsSimulator) -> None:
    instance = sim.ec2_instance("web-frontend-01")
    assert (
        sim.tag_ec2_instance(instance["InstanceId"], {"Owner": "web-team"}, remove=["BackupPolicy"])["Owner"]
        == "web-team"
    )
    again = sim.ec2_instance("web-frontend-01")
    assert {"Key": "Owner", "Value": "web-team"} in again["Tags"]
    with pytest.raises(KeyError):
        sim.tag_ec2_instance("i-0000000000000dead", {"a": "b"})


def test_every_operation_answers_its_output_shape(sim: DrsSimulator) -> None:
    ec2 = sim.aws_client("ec2", "us-east-1")
    vpcs = ec2.describe_vpcs()
    valid("ec2", "DescribeVpcs", vpcs)
    vpc_id = vpcs["Vpcs"][0]["VpcId"]
    valid("ec2", "DescribeSubnets", ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]))
    valid("ec2", "DescribeSecurityGroups", ec2.describe_security_groups())
    valid("ec2", "DescribeInstanceTypes", ec2.describe_instance_types())
    valid("iam", "ListInstanceProfiles", sim.aws_client("iam").list_instance_profiles())
    valid("sts", "GetCallerIdentity", sim.aws_client("sts", account_id="444455556666").get_caller_identity())


def test_instance_types_page_and_match_wildcards(sim: DrsSimulator) -> None:
    ec2 = sim.aws_client("ec2", "us-east-1")
    pages = list(
        ec2.get_paginator("describe_instance_types").paginate(
            Filters=[{"Name": "instance-type", "Values": ["m6i.*", "t3.micro"]}],
            PaginationConfig={"PageSize": 5},
        )
    )
    names = [t["InstanceType"] for p in pages for t in p["InstanceTypes"]]
    assert len(pages) == 2 and len(names) == 7 and "t3.micro" in names
    assert all(n.startswith("m6i.") for n in names if n != "t3.micro")


def test_instance_profiles_page_by_marker(sim: DrsSimulator) -> None:
    iam = sim.aws_client("iam")
    first = iam.list_instance_profiles(MaxItems=3)
    assert first["IsTruncated"] is True and len(first["InstanceProfiles"]) == 3
    rest = iam.list_instance_profiles(Marker=first["Marker"])
    assert rest["IsTruncated"] is False and len(rest["InstanceProfiles"]) == 1
    assert [
        p["InstanceProfileName"] for p in iam.list_instance_profiles(PathPrefix="/ops/")["InstanceProfiles"]
    ] == ["ssm-managed-instance"]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda ec2: ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"]), "InvalidVpcID.NotFound"),
        (
            lambda ec2: ec2.describe_subnets(Filters=[{"Name": "tag:Tier", "Values": ["web"]}]),
            "InvalidParameterValue",
        ),
        (lambda ec2: ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"]), "InvalidParameterValue"),
        (lambda ec2: ec2.describe_instances(MaxResults=2000), "InvalidParameterValue"),
        (lambda ec2: ec2.describe_instances(NextToken="%%%"), "InvalidParameterValue"),
        (lambda ec2: ec2.describe_subnets(DryRun=True), "DryRunOperation"),
        (lambda ec2: ec2.run_instances(ImageId="ami-1", MinCount=1, MaxCount=1), "UnsupportedOperation"),
    ],
    ids=[
        "unknown-vpc",
        "unknown-filter",
        "unsupported-parameter",
        "page-size",
        "token",
        "dry-run",
        "run-instances",
    ],
)
def test_anything_else_is_refused_as_aws_would(sim: DrsSimulator, call: Any, code: str) -> None:
    with pytest.raises(ClientError) as error:
        call(sim.aws_client("ec2", "us-east-1"))
    assert error.value.response["Error"]["Code"] == code


def test_iam_and_sts_refuse_what_they_do_not_simulate(sim: DrsSimulator) -> None:
    with pytest.raises(ClientError) as error:
        sim.aws_client("iam").list_roles()
    assert error.value.response["Error"]["Code"] == "InvalidAction"
    with pytest.raises(ValueError, match="not s3"):
        sim.aws_client("s3")


def test_a_database_loaded_before_ec2_was_simulated_gets_its_ec2(tmp_path: Path) -> None:
    path = tmp_path / "drbot.db"
    with DrsSimulator(db_path=path, clock=FakeClock()) as first:
        instance = first.ec2_instance("db-primary-01")
    with sqlite3.connect(path) as conn:  # as an older drbot left it: DRS loaded, no EC2
        conn.execute("DELETE FROM sim_ec2")
        conn.execute("DELETE FROM sim_meta WHERE key = 'aws_loaded_at'")
    with DrsSimulator(db_path=path, clock=FakeClock()) as second:
        assert second.ec2_instance("db-primary-01") == instance


def test_ec2_blocks_are_validated_by_name() -> None:
    def server(**ec2: Any) -> dict[str, Any]:
        return {
            "hostname": "web-01",
            "region": "us-east-1",
            "os": "Ubuntu 22.04",
            "cpuCores": 2,
            "ramGiB": 4,
            "disks": [{"deviceName": "/dev/xvda", "sizeGiB": 20}],
            "recommendedInstanceType": "m6i.large",
            "ec2": ec2,
        }

    with pytest.raises(ValidationFailed, match=r"servers\[0\] \(web-01\)\.ec2\.securityGroupIds"):
        parse_inventory({"servers": [server(securityGroupIds=["default"])]})
    inventory = parse_inventory({"servers": [server(subnetId="subnet-0123456789abcdef0")]})
    with (
        DrsSimulator(clock=FakeClock(), inventory=inventory) as sim,
        pytest.raises(ValidationFailed, match="is no subnet"),
    ):
        sim.server_id("web-01")
