"""The seed's read-only queries: DRS quotas and usage, accounts, and the EC2/IAM resources a DRS
launch configuration refers to. Each returns the seed's camelCase response dict.

DRS goes through the DRS gateway, EC2, IAM and STS through `services.aws`. The embedded default
simulates both: its EC2 estate (VPCs, subnets, security groups, instance types, instance profiles)
comes from the simulator's inventory, and its account is the simulator's (`DrsSimulator.account_id`,
"111122223333" unless configured otherwise), as docs/simulator.md describes.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter, ValidationError

from orchestration.aws import NoAws, calling_aws
from orchestration.context import Services
from orchestration.drs.clients import SimulatedAws, SimulatedDrsClients
from orchestration.errors import MissingField, NotFound, ValidationFailed
from orchestration.models import Region
from orchestration.services.preflight import observe_region

# DRS's quota on replicating source servers per account and region (docs/preflight.md); the launch-time
# quotas are configurable in Settings.drs_limits, this one drbot only reports.
MAX_SOURCE_SERVERS = 4000
HUB_ACCOUNT_NAME = "Hub account"

_REGION: TypeAdapter[str] = TypeAdapter(Region)
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_AVAILABILITY_ZONE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d{1,2}[a-z]$")
_INSTANCE_FAMILY = re.compile(r"^[a-z][a-z0-9-]*$")


# -- parameters -----------------------------------------------------------------------------------


def _required_region(region: str | None) -> str:
    if not region:
        raise MissingField("region is required, e.g. region=us-east-1", field="region")
    return valid_region(region)


def valid_region(region: str) -> str:
    """`region` if it is an AWS region name, else ValidationFailed naming the parameter."""
    try:
        return _REGION.validate_python(region)
    except ValidationError as exc:
        raise ValidationFailed(f"'{region}' is not an AWS region such as us-east-1", field="region") from exc


def _required_vpc(vpc_id: str | None) -> str:
    if not vpc_id:
        raise MissingField("vpcId is required, e.g. vpcId=vpc-0123456789abcdef0", field="vpcId")
    if not _VPC_ID.match(vpc_id):
        raise ValidationFailed(f"'{vpc_id}' is not a VPC id such as vpc-0123456789abcdef0", field="vpcId")
    return vpc_id


def _name_tag(tags: list[dict[str, Any]] | None) -> str | None:
    return next((t.get("Value") for t in tags or [] if t.get("Key") == "Name"), None)


# -- DRS ------------------------------------------------------------------------------------------


def get_drs_service_limits(
    services: Services, region: str | None = None, account_id: str | None = None
) -> dict[str, Any]:
    """The DRS limits drbot checks against, with what DRS uses of them now (seed: DRS Service Limits)."""
    region = valid_region(region or services.settings.region)
    usage, _ = observe_region(services, region, account_id)
    answer: dict[str, Any] = {
        "region": region,
        "limits": services.settings.drs_limits.to_wire(),
        "currentUsage": usage.to_wire(),
    }
    if account_id:
        answer["accountId"] = account_id
    return answer


def get_drs_quotas(
    services: Services, region: str | None = None, account_id: str | None = None
) -> dict[str, Any]:
    """Each DRS quota with its limit, what is used and what is left."""
    region = valid_region(region or services.settings.region)
    limits = services.settings.drs_limits
    usage, active = observe_region(services, region, account_id)
    source_servers = len(services.drs.gateway(region, account_id).source_servers())
    largest_job = max((len(job.servers) for job in active), default=0)

    def quota(name: str, code: str, limit: int, used: int) -> dict[str, Any]:
        return {
            "quotaName": name,
            "quotaCode": code,
            "limit": limit,
            "used": used,
            "available": max(0, limit - used),
        }

    answer: dict[str, Any] = {
        "region": region,
        "quotas": [
            quota("Concurrent jobs", "MaxConcurrentJobs", limits.max_concurrent_jobs, usage.active_jobs),
            quota(
                "Source servers in all active jobs",
                "MaxSourceServersInAllActiveJobs",
                limits.max_servers_in_all_jobs,
                usage.servers_in_active_jobs,
            ),
            # per job, "used" is the largest active job: how close any one job is to the limit
            quota(
                "Source servers per job", "MaxSourceServersPerJob", limits.max_servers_per_job, largest_job
            ),
            quota(
                "Recovery instances",
                "MaxRecoveryInstances",
                limits.max_recovery_instances,
                usage.recovery_instances,
            ),
            quota("Replicating source servers", "MaxSourceServers", MAX_SOURCE_SERVERS, source_servers),
        ],
    }
    if account_id:
        answer["accountId"] = account_id
    return answer


# the account-capacity status: WARNING from this share of MAX_SOURCE_SERVERS used, CRITICAL from that one
CAPACITY_WARNING_PERCENT = 80
CAPACITY_CRITICAL_PERCENT = 90
# replication states in which a source server is replicating (docs/api.md, get_drs_account_capacity)
_REPLICATING_STATES = frozenset(
    {"INITIATING", "INITIAL_SYNC", "BACKLOG", "CREATING_SNAPSHOT", "CONTINUOUS", "RESCAN"}
)


def capacity_status(percent_used: float) -> str:
    """OK below 80% of the 4,000 source servers, WARNING from 80%, CRITICAL from 90%."""
    if percent_used >= CAPACITY_CRITICAL_PERCENT:
        return "CRITICAL"
    if percent_used >= CAPACITY_WARNING_PERCENT:
        return "WARNING"
    return "OK"


def get_drs_account_capacity(
    services: Services, region: str | None = None, account_id: str | None = None
) -> dict[str, Any]:
    """One region and account against DRS's 4,000 source-server quota: source servers, how many
    replicate (and stalled or disconnected), recovery instances and the servers held by active jobs."""
    region = valid_region(region or services.settings.region)
    usage, active = observe_region(services, region, account_id)
    servers = services.drs.gateway(region, account_id).source_servers()
    states = [s.replication_state for s in servers]
    total = len(servers)
    percent = round(100 * total / MAX_SOURCE_SERVERS, 1)
    in_jobs = {sid for job in active for sid in job.server_ids}
    if account_id is None:
        account_id = str(get_current_account_info(services)["accountId"])
    return {
        "region": region,
        "accountId": account_id,
        "sourceServers": {
            "total": total,
            "limit": MAX_SOURCE_SERVERS,
            "available": max(0, MAX_SOURCE_SERVERS - total),
            "percentUsed": percent,
        },
        "replicating": sum(1 for state in states if state in _REPLICATING_STATES),
        "stalled": states.count("STALLED"),
        "disconnected": states.count("DISCONNECTED"),
        "recoveryInstances": usage.recovery_instances,
        "serversInActiveJobs": len(in_jobs),
        "activeJobs": usage.active_jobs,
        "status": capacity_status(percent),
    }


# -- accounts -------------------------------------------------------------------------------------


def get_current_account_info(services: Services) -> dict[str, Any]:
    """The account drbot runs in (the hub), its region and backend."""
    region = services.settings.region
    base: dict[str, Any] = {"region": region, "backend": services.settings.backend}
    if isinstance(services.aws, NoAws):
        if isinstance(services.drs, SimulatedDrsClients):
            return {"accountId": services.drs.simulator.account_id, **base, "simulated": True}
        services.aws.client("sts", region)  # raises the NoAws explanation
    with calling_aws("sts", "identify the current account"):
        identity = services.aws.client("sts", region).get_caller_identity()
    simulated = isinstance(services.aws, SimulatedAws)
    return {"accountId": identity["Account"], **base, "arn": identity["Arn"], "simulated": simulated}


def get_drs_accounts(services: Services) -> dict[str, Any]:
    """The hub account and every registered target account, with the regions drbot uses in each."""
    hub_id = str(get_current_account_info(services)["accountId"])
    groups = services.store.list_groups()
    hub_regions = {services.settings.region} | {g.region for g in groups if g.account_id in (None, hub_id)}
    accounts: list[dict[str, Any]] = [
        {"accountId": hub_id, "accountName": HUB_ACCOUNT_NAME, "isHub": True, "regions": sorted(hub_regions)}
    ]
    for target in services.store.list_target_accounts():
        if target.account_id == hub_id:
            continue
        regions = set(target.regions) | {g.region for g in groups if g.account_id == target.account_id}
        accounts.append(
            {
                "accountId": target.account_id,
                "accountName": target.account_name,
                "isHub": False,
                "regions": sorted(regions),
                "roleArn": target.role_arn,
            }
        )
    return {"accounts": accounts, "count": len(accounts)}


# -- EC2 and IAM ----------------------------------------------------------------------------------


def _ec2(services: Services, region: str, account_id: str | None) -> Any:
    return services.aws.client("ec2", region, account_id)


def _check_vpc_exists(ec2: Any, vpc_id: str, region: str) -> None:
    """A filter on an unknown VPC just matches nothing; a person should hear that the VPC is wrong."""
    try:
        with calling_aws("ec2", f"find VPC {vpc_id}"):
            ec2.describe_vpcs(VpcIds=[vpc_id])
    except NotFound as exc:
        raise NotFound(f"No VPC {vpc_id} in {region}", resourceType="vpc", resourceId=vpc_id) from exc


def get_ec2_subnets(
    services: Services,
    region: str | None,
    vpc_id: str | None,
    availability_zone: str | None = None,
    account_id: str | None = None,
) -> dict[str, Any]:
    region, vpc_id = _required_region(region), _required_vpc(vpc_id)
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
    if availability_zone:
        if not _AVAILABILITY_ZONE.match(availability_zone):
            raise ValidationFailed(
                f"'{availability_zone}' is not an availability zone such as us-east-1a",
                field="availabilityZone",
            )
        filters.append({"Name": "availability-zone", "Values": [availability_zone]})
    ec2 = _ec2(services, region, account_id)
    _check_vpc_exists(ec2, vpc_id, region)
    subnets: list[dict[str, Any]] = []
    with calling_aws("ec2", f"list the subnets of {vpc_id}"):
        for page in ec2.get_paginator("describe_subnets").paginate(Filters=filters):
            for subnet in page.get("Subnets", []):
                item = {
                    "subnetId": subnet["SubnetId"],
                    "vpcId": subnet["VpcId"],
                    "availabilityZone": subnet.get("AvailabilityZone"),
                    "cidrBlock": subnet.get("CidrBlock"),
                    "availableIpAddressCount": subnet.get("AvailableIpAddressCount"),
                    "defaultForAz": bool(subnet.get("DefaultForAz", False)),
                    "state": subnet.get("State"),
                }
                name = _name_tag(subnet.get("Tags"))
                if name:
                    item["name"] = name
                subnets.append(item)
    subnets.sort(key=lambda s: (s["availabilityZone"] or "", s["cidrBlock"] or "", s["subnetId"]))
    return {"region": region, "vpcId": vpc_id, "subnets": subnets, "count": len(subnets)}


def get_ec2_security_groups(
    services: Services, region: str | None, vpc_id: str | None, account_id: str | None = None
) -> dict[str, Any]:
    region, vpc_id = _required_region(region), _required_vpc(vpc_id)
    ec2 = _ec2(services, region, account_id)
    _check_vpc_exists(ec2, vpc_id, region)
    groups: list[dict[str, Any]] = []
    with calling_aws("ec2", f"list the security groups of {vpc_id}"):
        paginator = ec2.get_paginator("describe_security_groups")
        for page in paginator.paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]):
            for group in page.get("SecurityGroups", []):
                item = {
                    "groupId": group["GroupId"],
                    "groupName": group.get("GroupName"),
                    "description": group.get("Description", ""),
                    "vpcId": group.get("VpcId"),
                }
                name = _name_tag(group.get("Tags"))
                if name:
                    item["name"] = name
                groups.append(item)
    groups.sort(key=lambda g: (str(g["groupName"]).casefold(), g["groupId"]))
    return {"region": region, "vpcId": vpc_id, "securityGroups": groups, "count": len(groups)}


def get_ec2_instance_types(
    services: Services, region: str | None, instance_family: str | None = None, account_id: str | None = None
) -> dict[str, Any]:
    region = _required_region(region)
    kwargs: dict[str, Any] = {}
    if instance_family:
        family = instance_family.strip().lower()
        if not _INSTANCE_FAMILY.match(family):
            raise ValidationFailed(
                f"'{instance_family}' is not an instance family such as m6i or r5", field="instanceFamily"
            )
        kwargs["Filters"] = [{"Name": "instance-type", "Values": [f"{family}.*"]}]
    ec2 = _ec2(services, region, account_id)
    types: list[dict[str, Any]] = []
    with calling_aws("ec2", "list instance types"):
        for page in ec2.get_paginator("describe_instance_types").paginate(**kwargs):
            for info in page.get("InstanceTypes", []):
                types.append(
                    {
                        "instanceType": info["InstanceType"],
                        "vCpus": info.get("VCpuInfo", {}).get("DefaultVCpus"),
                        "memoryMiB": info.get("MemoryInfo", {}).get("SizeInMiB"),
                        "architectures": info.get("ProcessorInfo", {}).get("SupportedArchitectures", []),
                        "currentGeneration": bool(info.get("CurrentGeneration", False)),
                    }
                )
    types.sort(key=lambda t: (t["instanceType"].split(".")[0], t["vCpus"] or 0, t["memoryMiB"] or 0))
    answer: dict[str, Any] = {"region": region, "instanceTypes": types, "count": len(types)}
    if instance_family:
        answer["instanceFamily"] = instance_family.strip().lower()
    return answer


def get_ec2_instance_profiles(services: Services, account_id: str | None = None) -> dict[str, Any]:
    """IAM instance profiles (IAM is global; the client's region is only where the call goes)."""
    iam = services.aws.client("iam", services.settings.region, account_id)
    profiles: list[dict[str, Any]] = []
    with calling_aws("iam", "list instance profiles"):
        for page in iam.get_paginator("list_instance_profiles").paginate():
            for profile in page.get("InstanceProfiles", []):
                created = profile.get("CreateDate")
                profiles.append(
                    {
                        "instanceProfileName": profile["InstanceProfileName"],
                        "instanceProfileId": profile.get("InstanceProfileId"),
                        "arn": profile["Arn"],
                        "path": profile.get("Path", "/"),
                        "roles": [role["RoleName"] for role in profile.get("Roles", [])],
                        **({"createDate": int(created.timestamp())} if created else {}),
                    }
                )
    profiles.sort(key=lambda p: str(p["instanceProfileName"]).casefold())
    return {"instanceProfiles": profiles, "count": len(profiles)}
