"""The simulated EC2, IAM and STS operations drbot calls, over the `sim_ec2` rows (docs/simulator.md).

Exactly what drbot's queries and tag sync use, with AWS's pagination and errors:

- EC2 DescribeVpcs (`VpcIds`; an unknown id is `InvalidVpcID.NotFound`), DescribeSubnets
  (filters `vpc-id`, `availability-zone`), DescribeSecurityGroups (filter `vpc-id`),
  DescribeInstanceTypes (filter `instance-type`, wildcards allowed), DescribeInstances (filter
  `instance-id`) — each with MaxResults / NextToken;
- IAM ListInstanceProfiles (PathPrefix, MaxItems / Marker);
- STS GetCallerIdentity.

Any other operation is refused with `UnsupportedOperation` (EC2) or `InvalidAction` (IAM, STS), and
any other parameter or filter with `InvalidParameterValue`, so a caller learns at once what the
simulator does not do rather than getting an answer that is quietly wrong.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.drs.sim.aws_state import (
    IAM_REGION,
    INSTANCE,
    INSTANCE_PROFILE,
    SECURITY_GROUP,
    SUBNET,
    VPC,
)
from orchestration.drs.sim.aws_wire import AwsQueryError
from orchestration.drs.sim.format import hex17
from orchestration.drs.sim.store import Ec2Row, SimTx

SIMULATED_ROLE = "drbot-simulator"

# the instance types on offer in every region: family -> (memory GiB per vCPU, architecture)
_FAMILIES = {
    "m5": (4, "x86_64"),
    "m6i": (4, "x86_64"),
    "m7i": (4, "x86_64"),
    "m6g": (4, "arm64"),
    "c5": (2, "x86_64"),
    "c6i": (2, "x86_64"),
    "c7i": (2, "x86_64"),
    "r5": (8, "x86_64"),
    "r6i": (8, "x86_64"),
    "r7i": (8, "x86_64"),
}
_SIZES = (("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16), ("8xlarge", 32), ("16xlarge", 64))
_BURSTABLE = (("nano", 2, 0.5), ("micro", 2, 1), ("small", 2, 2), ("medium", 2, 4), ("large", 2, 8))
_PREVIOUS_GENERATION = ("m4", "c4", "r4")


@dataclass(frozen=True)
class AwsCall:
    """One simulated EC2/IAM/STS call: its transaction, account and region (IAM: "")."""

    tx: SimTx
    account_id: str
    region: str


def instance_types() -> list[dict[str, Any]]:
    """The catalog DescribeInstanceTypes answers from, as EC2 describes each type."""
    catalog: list[tuple[str, int, float, str, bool]] = [
        (f"t3.{size}", vcpus, memory, "x86_64", True) for size, vcpus, memory in _BURSTABLE
    ]
    for family, (per_vcpu, architecture) in _FAMILIES.items():
        catalog += [
            (f"{family}.{size}", vcpus, vcpus * per_vcpu, architecture, True) for size, vcpus in _SIZES
        ]
    for family in _PREVIOUS_GENERATION:
        ratio = {"m4": 4.0, "c4": 1.875, "r4": 7.625}[family]
        catalog += [(f"{family}.{size}", vcpus, vcpus * ratio, "x86_64", False) for size, vcpus in _SIZES[:4]]
    return [
        {
            "InstanceType": name,
            "CurrentGeneration": current,
            "VCpuInfo": {"DefaultVCpus": vcpus, "DefaultCores": max(1, vcpus // 2)},
            "MemoryInfo": {"SizeInMiB": int(memory * 1024)},
            "ProcessorInfo": {"SupportedArchitectures": [architecture]},
        }
        for name, vcpus, memory, architecture, current in catalog
    ]


_CATALOG = {item["InstanceType"]: item for item in instance_types()}


def call_aws(call: AwsCall, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The output of `service`'s `operation`, or AwsQueryError as that service would refuse it."""
    handler = _OPERATIONS.get((service, operation))
    if handler is None:
        if service == "ec2":
            raise AwsQueryError(
                "UnsupportedOperation",
                f"The DRS simulator's EC2 does not support {operation}; it answers "
                + ", ".join(sorted(op for svc, op in _OPERATIONS if svc == "ec2")),
            )
        raise AwsQueryError(
            "InvalidAction", f"The DRS simulator's {service.upper()} does not support {operation}"
        )
    operation_handler, allowed = handler
    unsupported = sorted(set(params) - allowed - {"DryRun"})
    if unsupported:
        raise AwsQueryError(
            "InvalidParameterValue",
            f"The DRS simulator does not support the parameter {unsupported[0]} of {operation}",
        )
    if params.get("DryRun"):
        raise AwsQueryError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
    return operation_handler(call, params)


# -- EC2 ------------------------------------------------------------------------------------------


def _filters(params: dict[str, Any], allowed: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in params.get("Filters", []):
        name = str(item.get("Name", ""))
        if name not in allowed:
            raise AwsQueryError("InvalidParameterValue", f"The filter '{name}' is invalid")
        values = [str(v) for v in item.get("Values", [])]
        if len(values) > 200:
            raise AwsQueryError("InvalidParameterValue", f"The filter '{name}' has more than 200 values")
        found[name] = values  # a repeated filter: the last one counts
    return found


def _page_size(params: dict[str, Any], low: int, high: int, default: int | None) -> int | None:
    if "MaxResults" not in params:
        return default
    size = int(params["MaxResults"])
    if not low <= size <= high:
        raise AwsQueryError(
            "InvalidParameterValue",
            f"Value ( {size} ) for parameter maxResults is invalid. "
            f"Expecting a value between {low} and {high}.",
        )
    return size


def _token(value: str | None) -> str | None:
    """Where a page starts: after the resource id the previous page's NextToken names."""
    if value is None:
        return None
    try:
        decoded = base64.b64decode(value.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise AwsQueryError("InvalidParameterValue", f"Invalid NextToken: {value}") from exc
    if not decoded or _next_token(decoded) != value:
        raise AwsQueryError("InvalidParameterValue", f"Invalid NextToken: {value}")
    return decoded


def _next_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode()


def _page(
    call: AwsCall,
    kind: str,
    params: dict[str, Any],
    page_size: int | None,
    keep: Callable[[Ec2Row], bool],
    **where: Any,
) -> tuple[list[dict[str, Any]], str | None]:
    rows = call.tx.ec2_resources(
        call.account_id, call.region, kind, after=_token(params.get("NextToken")), **where
    )
    kept = [row for row in rows if keep(row)]
    if page_size is not None and len(kept) > page_size:
        kept = kept[:page_size]
        return [r.body for r in kept], _next_token(kept[-1].resource_id)
    return [r.body for r in kept], None


def _answer(key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    return {key: items, **({"NextToken": token} if token else {})}


def _describe_vpcs(call: AwsCall, params: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(params, {"vpc-id"})
    ids: list[str] | None = params.get("VpcIds")
    if ids:
        known = {r.resource_id for r in call.tx.ec2_resources(call.account_id, call.region, VPC, ids=ids)}
        missing = [vpc_id for vpc_id in ids if vpc_id not in known]
        if missing:
            raise AwsQueryError("InvalidVpcID.NotFound", f"The vpc ID '{missing[0]}' does not exist")
    wanted = filters.get("vpc-id")
    items, token = _page(
        call,
        VPC,
        params,
        _page_size(params, 5, 1000, None),
        lambda r: wanted is None or r.resource_id in wanted,
        ids=ids or None,
    )
    return _answer("Vpcs", items, token)


def _describe_subnets(call: AwsCall, params: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(params, {"vpc-id", "availability-zone"})
    zones = filters.get("availability-zone")
    items, token = _page(
        call,
        SUBNET,
        params,
        _page_size(params, 5, 1000, None),
        lambda r: zones is None or r.body["AvailabilityZone"] in zones,
        parent_ids=filters.get("vpc-id"),
    )
    return _answer("Subnets", items, token)


def _describe_security_groups(call: AwsCall, params: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(params, {"vpc-id"})
    items, token = _page(
        call,
        SECURITY_GROUP,
        params,
        _page_size(params, 5, 1000, None),
        lambda _: True,
        parent_ids=filters.get("vpc-id"),
    )
    return _answer("SecurityGroups", items, token)


def _describe_instances(call: AwsCall, params: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(params, {"instance-id"})
    items, token = _page(
        call,
        INSTANCE,
        params,
        _page_size(params, 5, 1000, None),
        lambda _: True,
        ids=filters.get("instance-id"),
    )
    reservations = [
        {
            "ReservationId": f"r-{hex17('reservation', item['InstanceId'])}",
            "OwnerId": call.account_id,
            "Groups": [],
            "Instances": [item],
        }
        for item in items
    ]
    return _answer("Reservations", reservations, token)


def _describe_instance_types(call: AwsCall, params: dict[str, Any]) -> dict[str, Any]:
    patterns = _filters(params, {"instance-type"}).get("instance-type")
    names = sorted(
        name
        for name in _CATALOG
        if patterns is None or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    )
    after = _token(params.get("NextToken"))
    if after is not None:
        names = [name for name in names if name > after]
    size = _page_size(params, 5, 100, 100)
    token = None
    if size is not None and len(names) > size:
        names = names[:size]
        token = _next_token(names[-1])
    return _answer("InstanceTypes", [_CATALOG[name] for name in names], token)


# -- IAM and STS ----------------------------------------------------------------------------------


def _list_instance_profiles(call: AwsCall, params: dict[str, Any]) -> dict[str, Any]:
    prefix = str(params.get("PathPrefix", "/"))
    size = int(params.get("MaxItems", 100))
    if not 1 <= size <= 1000:
        raise AwsQueryError("ValidationError", "MaxItems must be between 1 and 1000")
    after = params.get("Marker")
    after_name = _token(after) if after is not None else None
    rows = call.tx.ec2_resources(call.account_id, IAM_REGION, INSTANCE_PROFILE, after=after_name)
    profiles = [r for r in rows if str(r.body["Path"]).startswith(prefix)]
    if len(profiles) > size:
        page = profiles[:size]
        return {
            "InstanceProfiles": [r.body for r in page],
            "IsTruncated": True,
            "Marker": _next_token(page[-1].resource_id),
        }
    return {"InstanceProfiles": [r.body for r in profiles], "IsTruncated": False}


def _get_caller_identity(call: AwsCall, _: dict[str, Any]) -> dict[str, Any]:
    role_id = "AROA" + hex17("role", call.account_id, SIMULATED_ROLE).upper()
    return {
        "UserId": f"{role_id}:drbot",
        "Account": call.account_id,
        "Arn": f"arn:aws:sts::{call.account_id}:assumed-role/{SIMULATED_ROLE}/drbot",
    }


_PAGED = {"Filters", "MaxResults", "NextToken"}
_OPERATIONS: dict[tuple[str, str], tuple[Callable[[AwsCall, dict[str, Any]], dict[str, Any]], set[str]]] = {
    ("ec2", "DescribeVpcs"): (_describe_vpcs, {"VpcIds", *_PAGED}),
    ("ec2", "DescribeSubnets"): (_describe_subnets, _PAGED),
    ("ec2", "DescribeSecurityGroups"): (_describe_security_groups, _PAGED),
    ("ec2", "DescribeInstances"): (_describe_instances, _PAGED),
    ("ec2", "DescribeInstanceTypes"): (_describe_instance_types, _PAGED),
    ("iam", "ListInstanceProfiles"): (_list_instance_profiles, {"PathPrefix", "Marker", "MaxItems"}),
    ("sts", "GetCallerIdentity"): (_get_caller_identity, set()),
}
