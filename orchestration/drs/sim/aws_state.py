"""The simulated EC2 and IAM estate, derived from the simulator's inventory (docs/simulator.md).

Every account and region the inventory mentions (a source server's DRS region, its origin region,
a network, an initialized region) has AWS's default VPC (172.31.0.0/16, a subnet in zones a, b
and c, a `default` security group) beside the VPCs the inventory's `networks` declare. Every
AWS-hosted source server has its origin EC2 instance (`identificationHints.awsInstanceID`), whose
type, tags, subnet and security groups come from the server's `ec2` block or default from the
server itself, so a generated inventory gets a plausible EC2 estate without saying anything.
Resources are rows of `sim_ec2` holding each item as EC2 or IAM describes it; ids are hashes of
their inputs, so the same inventory always gives the same ids.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from orchestration.drs.inventory import (
    Inventory,
    InventorySecurityGroup,
    InventoryServer,
    InventorySubnet,
    InventoryVpc,
)
from orchestration.drs.sim.format import hex17
from orchestration.drs.sim.render import origin_instance_id
from orchestration.drs.sim.store import Ec2Row, SimTx, SourceServerRow
from orchestration.errors import ValidationFailed

VPC, SUBNET, SECURITY_GROUP, INSTANCE, INSTANCE_PROFILE = (
    "vpc",
    "subnet",
    "security-group",
    "instance",
    "instance-profile",
)
IAM_REGION = ""  # IAM is global: its rows have no region
DRS_INSTANCE_PROFILE = "AWSElasticDisasterRecoveryRecoveryInstanceRole"
_DEFAULT_VPC_CIDR = "172.31.0.0/16"
_DEFAULT_ZONES = ("a", "b", "c")
_RUNNING = {"Code": 16, "Name": "running"}
_STOPPED = {"Code": 80, "Name": "stopped"}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(item: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in item.get("Tags", [])}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Scope:
    """One account and region being built: its VPCs, subnets and groups."""

    account_id: str
    region: str
    rows: list[Ec2Row] = field(default_factory=list)
    subnets: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    placed: dict[str, int] = field(default_factory=dict)  # subnet id -> instances in it

    def add(self, kind: str, resource_id: str, parent: str | None, body: dict[str, Any]) -> None:
        self.rows.append(Ec2Row(self.account_id, self.region, kind, resource_id, parent, body))


def load_aws(
    tx: SimTx, inventory: Inventory, servers: Iterable[SourceServerRow], default_account: str, now: float
) -> None:
    """Store the EC2 and IAM estate of `inventory` and of the stored source servers."""
    servers = list(servers)
    declared: dict[tuple[str, str], list[InventoryVpc]] = {}
    for network in inventory.networks:
        declared.setdefault((network.account_id or default_account, network.region), []).extend(network.vpcs)
    scope_keys = set(declared) | {(default_account, region) for region in inventory.initialized_regions}
    for row in servers:
        scope_keys.add((row.account_id, row.region))
        if row.spec.origin.environment == "AWS":
            scope_keys.add(_origin(row))
    scopes = {key: _network(key[0], key[1], declared.get(key, []), now) for key in sorted(scope_keys)}
    for row in servers:
        instance_id = origin_instance_id(row)
        if instance_id is not None:
            _instance(scopes[_origin(row)], row, instance_id)
    for scope in scopes.values():
        for subnet in scope.subnets:
            addresses = _cidr(subnet["CidrBlock"])[1]
            # AWS reserves five addresses of every subnet
            subnet["AvailableIpAddressCount"] = max(
                0, addresses - 5 - scope.placed.get(subnet["SubnetId"], 0)
            )
        tx.put_ec2(scope.rows)
    accounts = sorted({account for account, _ in scopes} | {default_account})
    tx.put_ec2(_instance_profiles(inventory, accounts, default_account, now))


def _origin(row: SourceServerRow) -> tuple[str, str]:
    origin = row.spec.origin
    return origin.account_id or row.account_id, origin.region or row.region


def _network(account_id: str, region: str, vpcs: list[InventoryVpc], now: float) -> _Scope:
    scope = _Scope(account_id, region)
    default = InventoryVpc(
        cidr_block=_DEFAULT_VPC_CIDR,
        subnets=[
            InventorySubnet(cidr_block=f"172.31.{16 * n}.0/20", availability_zone=f"{region}{zone}")
            for n, zone in enumerate(_DEFAULT_ZONES)
        ],
    )
    for vpc, is_default in [(default, True), *((v, False) for v in vpcs)]:
        _vpc(scope, vpc, is_default, now)
    return scope


def _vpc(scope: _Scope, vpc: InventoryVpc, is_default: bool, now: float) -> None:
    account, region = scope.account_id, scope.region
    vpc_id = vpc.vpc_id or f"vpc-{hex17('vpc', account, region, vpc.cidr_block, vpc.name or is_default)}"
    scope.add(
        VPC,
        vpc_id,
        None,
        {
            "VpcId": vpc_id,
            "CidrBlock": vpc.cidr_block,
            "State": "available",
            "IsDefault": is_default,
            "OwnerId": account,
            "InstanceTenancy": "default",
            "DhcpOptionsId": f"dopt-{hex17('dhcp', account, region)}",
            "Tags": tag_list(_named(vpc.name, vpc.tags)),
        },
    )
    for subnet in vpc.subnets:
        subnet_id = subnet.subnet_id or f"subnet-{hex17('subnet', vpc_id, subnet.cidr_block)}"
        body = {
            "SubnetId": subnet_id,
            "VpcId": vpc_id,
            "CidrBlock": subnet.cidr_block,
            "AvailabilityZone": subnet.availability_zone,
            "AvailableIpAddressCount": 0,  # set once the instances are placed
            "DefaultForAz": is_default,
            "MapPublicIpOnLaunch": is_default,
            "State": "available",
            "OwnerId": account,
            "SubnetArn": f"arn:aws:ec2:{region}:{account}:subnet/{subnet_id}",
            "Tags": tag_list(_named(subnet.name, subnet.tags)),
        }
        scope.subnets.append(body)
        scope.add(SUBNET, subnet_id, vpc_id, body)
    groups = list(vpc.security_groups)
    if not any(g.group_name == "default" for g in groups):
        groups.insert(
            0, InventorySecurityGroup(group_name="default", description="default VPC security group")
        )
    for group in groups:
        group_id = group.group_id or f"sg-{hex17('security-group', vpc_id, group.group_name)}"
        body = {
            "GroupId": group_id,
            "GroupName": group.group_name,
            "Description": group.description,
            "VpcId": vpc_id,
            "OwnerId": account,
            "SecurityGroupArn": f"arn:aws:ec2:{region}:{account}:security-group/{group_id}",
            "Tags": tag_list(dict(group.tags)),
        }
        scope.groups.append(body)
        scope.add(SECURITY_GROUP, group_id, vpc_id, body)


def _named(name: str | None, tags: dict[str, str]) -> dict[str, str]:
    return {"Name": name, **tags} if name and "Name" not in tags else dict(tags)


def _instance(scope: _Scope, row: SourceServerRow, instance_id: str) -> None:
    spec = row.spec
    ec2 = spec.ec2
    tags = dict(spec.tags if ec2.tags is None else ec2.tags)
    zone = spec.origin.availability_zone or f"{scope.region}a"
    subnet = _subnet_for(scope, spec, zone, tags.get("Tier"))
    groups = _groups_for(scope, spec, subnet["VpcId"], tags.get("Tier"))
    scope.placed[subnet["SubnetId"]] = scope.placed.get(subnet["SubnetId"], 0) + 1
    ip = _private_ip(subnet["CidrBlock"], spec.ip_address, instance_id)
    region = scope.region
    body: dict[str, Any] = {
        "InstanceId": instance_id,
        "ImageId": f"ami-{hex17('image', spec.os)}",
        "InstanceType": ec2.instance_type or spec.recommended_instance_type,
        "State": _RUNNING if ec2.state == "running" else _STOPPED,
        "PrivateIpAddress": ip,
        "PrivateDnsName": f"ip-{ip.replace('.', '-')}.{region}.compute.internal",
        "SubnetId": subnet["SubnetId"],
        "VpcId": subnet["VpcId"],
        "Placement": {"AvailabilityZone": subnet["AvailabilityZone"], "Tenancy": "default"},
        "SecurityGroups": [{"GroupId": g["GroupId"], "GroupName": g["GroupName"]} for g in groups],
        "Tags": tag_list(tags),
        "LaunchTime": iso(row.added_at),
        "Architecture": "x86_64",
        "RootDeviceType": "ebs",
        "RootDeviceName": spec.disks[0].device_name,
        "VirtualizationType": "hvm",
        "Hypervisor": "xen",
        "EbsOptimized": True,
        "PlatformDetails": "Windows" if "windows" in spec.os.lower() else "Linux/UNIX",
    }
    if "windows" in spec.os.lower():
        body["Platform"] = "windows"
    if ec2.iam_instance_profile:
        body["IamInstanceProfile"] = {
            "Arn": f"arn:aws:iam::{scope.account_id}:instance-profile/{ec2.iam_instance_profile}",
            "Id": _profile_id(scope.account_id, ec2.iam_instance_profile),
        }
    scope.add(INSTANCE, instance_id, subnet["SubnetId"], body)


def _subnet_for(scope: _Scope, spec: InventoryServer, zone: str, tier: str | None) -> dict[str, Any]:
    if spec.ec2.subnet_id:
        for subnet in scope.subnets:
            if subnet["SubnetId"] == spec.ec2.subnet_id:
                return subnet
        raise ValidationFailed(
            f"simulator inventory: {spec.hostname}'s ec2.subnetId {spec.ec2.subnet_id} is no subnet of "
            f"{scope.region} (account {scope.account_id})"
        )
    declared = [s for s in scope.subnets if not s["DefaultForAz"]]
    in_zone = [s for s in declared if s["AvailabilityZone"] == zone]
    for subnet in in_zone:
        if tier is not None and tag_dict(subnet).get("Tier") == tier:
            return subnet
    if in_zone:
        return in_zone[0]
    defaults = [s for s in scope.subnets if s["DefaultForAz"]]
    return next((s for s in defaults if s["AvailabilityZone"] == zone), defaults[0])


def _groups_for(scope: _Scope, spec: InventoryServer, vpc_id: str, tier: str | None) -> list[dict[str, Any]]:
    in_vpc = [g for g in scope.groups if g["VpcId"] == vpc_id]
    if spec.ec2.security_group_ids:
        by_id = {g["GroupId"]: g for g in in_vpc}
        missing = [gid for gid in spec.ec2.security_group_ids if gid not in by_id]
        if missing:
            raise ValidationFailed(
                f"simulator inventory: {spec.hostname}'s security group {missing[0]} is not in {vpc_id}"
            )
        return [by_id[gid] for gid in spec.ec2.security_group_ids]
    matching = [g for g in in_vpc if tier is not None and tag_dict(g).get("Tier") == tier]
    return matching or [g for g in in_vpc if g["GroupName"] == "default"]


def _private_ip(cidr: str, wanted: str | None, instance_id: str) -> str:
    start, size = _cidr(cidr)
    if wanted and start <= int(ipaddress.IPv4Address(wanted)) < start + size:
        return wanted
    # past the five addresses AWS reserves, somewhere stable for this instance
    offset = 10 + int(hex17("ip", instance_id), 16) % max(1, size - 20)
    return str(ipaddress.IPv4Address(start + offset))


@lru_cache(maxsize=1024)
def _cidr(cidr: str) -> tuple[int, int]:
    """The first address of a CIDR block, as a number, and how many addresses it holds."""
    network = ipaddress.IPv4Network(cidr)
    return int(network.network_address), network.num_addresses


def _profile_id(account_id: str, name: str) -> str:
    return "AIPA" + hex17("instance-profile", account_id, name).upper()


def _instance_profiles(
    inventory: Inventory, accounts: list[str], default_account: str, now: float
) -> list[Ec2Row]:
    created = iso(now - 400 * 86_400)
    wanted: list[tuple[str, str, str, list[str]]] = (
        [(p.account_id or default_account, p.name, p.path, p.roles) for p in inventory.instance_profiles]
        if inventory.instance_profiles is not None
        else [(a, DRS_INSTANCE_PROFILE, "/", [DRS_INSTANCE_PROFILE]) for a in accounts]
    )
    rows: list[Ec2Row] = []
    for account, name, path, roles in wanted:
        body = {
            "Path": path,
            "InstanceProfileName": name,
            "InstanceProfileId": _profile_id(account, name),
            "Arn": f"arn:aws:iam::{account}:instance-profile{path}{name}",
            "CreateDate": created,
            "Roles": [
                {
                    "Path": "/service-role/" if role == DRS_INSTANCE_PROFILE else "/",
                    "RoleName": role,
                    "RoleId": "AROA" + hex17("role", account, role).upper(),
                    "Arn": f"arn:aws:iam::{account}:role/{role}",
                    "CreateDate": created,
                }
                for role in roles
            ],
        }
        rows.append(Ec2Row(account, IAM_REGION, INSTANCE_PROFILE, name, None, body))
    return rows
