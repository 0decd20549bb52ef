"""The DRS simulator's inventory: which source servers exist, where, and how healthy they are.

The default is the packaged demo estate (`data/demo_inventory.json`); DRBOT_SIM_INVENTORY names a
replacement file in the same format (documented in docs/simulator.md). A bad file is refused with
an error that names the offending field, e.g. `servers[3] (app-orders-01).replication.state`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from orchestration.drs.gateway import DataReplicationState
from orchestration.drs.sim.format import parse_iso_duration
from orchestration.errors import ValidationFailed

REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
ACCOUNT_PATTERN = r"^\d{12}$"
_PROBLEMS_SHOWN = 5

DataReplicationError = Literal[
    "AGENT_NOT_SEEN",
    "SNAPSHOTS_FAILURE",
    "NOT_CONVERGING",
    "UNSTABLE_NETWORK",
    "FAILED_TO_CREATE_SECURITY_GROUP",
    "FAILED_TO_LAUNCH_REPLICATION_SERVER",
    "FAILED_TO_BOOT_REPLICATION_SERVER",
    "FAILED_TO_AUTHENTICATE_WITH_SERVICE",
    "FAILED_TO_DOWNLOAD_REPLICATION_SOFTWARE",
    "FAILED_TO_CREATE_STAGING_DISKS",
    "FAILED_TO_ATTACH_STAGING_DISKS",
    "FAILED_TO_PAIR_REPLICATION_SERVER_WITH_AGENT",
    "FAILED_TO_CONNECT_AGENT_TO_REPLICATION_SERVER",
    "FAILED_TO_START_DATA_TRANSFER",
]


class _Model(BaseModel):
    # extra="forbid": a misspelt field is an error that names it, not a silently ignored setting
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class InventoryDisk(_Model):
    device_name: str = Field(min_length=1, max_length=256)
    size_gib: float = Field(alias="sizeGiB", gt=0, le=65_536)


class InventoryReplication(_Model):
    state: DataReplicationState = "CONTINUOUS"
    lag: str = "PT5S"
    """How far replication is behind, as an ISO-8601 duration; for STALLED it keeps growing from here."""
    error: DataReplicationError | None = None

    @field_validator("lag")
    @classmethod
    def _lag_is_a_duration(cls, value: str) -> str:
        if parse_iso_duration(value) is None:
            raise ValueError(f"'{value}' is not an ISO-8601 duration such as PT5S, PT4M or PT1H30M")
        return value

    @property
    def lag_seconds(self) -> float:
        return parse_iso_duration(self.lag) or 0.0


class InventoryOrigin(_Model):
    environment: Literal["AWS", "ON_PREMISES"] = "AWS"
    region: str | None = Field(default=None, pattern=REGION_PATTERN)
    account_id: str | None = Field(default=None, pattern=ACCOUNT_PATTERN)
    availability_zone: str | None = Field(default=None, pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
    instance_id: str | None = Field(default=None, pattern=r"^i-[0-9a-f]{8,17}$")


class InventoryEc2Instance(_Model):
    """The EC2 instance an AWS-hosted source server replicates (its id is `origin.instanceId`).

    Every field may be left out: the type defaults to the server's recommended instance type, the
    tags to the server's DRS tags, the subnet to one of the origin region's subnets (the one whose
    `Tier` tag matches the server's, else the first in its availability zone) and the security
    groups to those of the subnet's VPC whose `Tier` matches, else the VPC's default group."""

    instance_type: str | None = Field(default=None, min_length=1, max_length=64)
    tags: dict[str, str] | None = None
    subnet_id: str | None = Field(default=None, pattern=r"^subnet-[0-9a-f]{8,17}$")
    security_group_ids: list[str] | None = Field(default=None, max_length=5)
    iam_instance_profile: str | None = Field(default=None, min_length=1, max_length=128)
    state: Literal["running", "stopped"] = "running"

    @field_validator("security_group_ids")
    @classmethod
    def _group_ids_look_like_ids(cls, ids: list[str] | None) -> list[str] | None:
        for group_id in ids or []:
            if not re.match(r"^sg-[0-9a-f]{8,17}$", group_id):
                raise ValueError(f"'{group_id}' is not a security group id such as sg-0123456789abcdef0")
        return ids


class InventorySubnet(_Model):
    subnet_id: str | None = Field(default=None, pattern=r"^subnet-[0-9a-f]{8,17}$")
    cidr_block: str = Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    availability_zone: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
    name: str | None = Field(default=None, max_length=256)
    tags: dict[str, str] = Field(default_factory=dict)


class InventorySecurityGroup(_Model):
    group_id: str | None = Field(default=None, pattern=r"^sg-[0-9a-f]{8,17}$")
    group_name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=255)
    tags: dict[str, str] = Field(default_factory=dict)


class InventoryVpc(_Model):
    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]{8,17}$")
    cidr_block: str = Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    name: str | None = Field(default=None, max_length=256)
    tags: dict[str, str] = Field(default_factory=dict)
    subnets: list[InventorySubnet] = Field(default_factory=list)
    security_groups: list[InventorySecurityGroup] = Field(default_factory=list)


class InventoryNetwork(_Model):
    """VPCs of one region (and account); every region also gets AWS's default VPC."""

    region: str = Field(pattern=REGION_PATTERN)
    account_id: str | None = Field(default=None, pattern=ACCOUNT_PATTERN)
    vpcs: list[InventoryVpc] = Field(default_factory=list)


class InventoryInstanceProfile(_Model):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[\w+=,.@-]+$")
    path: str = Field(default="/", pattern=r"^/([\w+=,.@-]+/)*$")
    roles: list[str] = Field(default_factory=list, max_length=1)
    account_id: str | None = Field(default=None, pattern=ACCOUNT_PATTERN)


class InventoryServer(_Model):
    hostname: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
    region: str = Field(pattern=REGION_PATTERN)
    # 16 or 17: the seed contract's own example ids include a 16-character one
    source_server_id: str | None = Field(default=None, pattern=r"^s-[0-9a-zA-Z]{16,17}$")
    account_id: str | None = Field(default=None, pattern=ACCOUNT_PATTERN)
    fqdn: str | None = Field(default=None, max_length=255)
    os: str = Field(min_length=1, max_length=256)
    cpu_cores: int = Field(ge=1, le=448)
    cpu_model: str = "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
    ram_gib: float = Field(alias="ramGiB", gt=0, le=24_576)
    disks: list[InventoryDisk] = Field(min_length=1, max_length=60)
    recommended_instance_type: str = Field(min_length=1, max_length=255)
    ip_address: str | None = Field(default=None, pattern=r"^\d{1,3}(\.\d{1,3}){3}$")
    tags: dict[str, str] = Field(default_factory=dict)
    replication: InventoryReplication = Field(default_factory=InventoryReplication)
    launch_time_factor: float = Field(default=1.0, gt=0, le=100)
    """Multiplies the simulator's launch time for this server (big databases boot slower)."""
    added_days_ago: float = Field(default=30.0, ge=0)
    origin: InventoryOrigin = Field(default_factory=InventoryOrigin)
    staging_account_id: str | None = Field(default=None, pattern=ACCOUNT_PATTERN)
    ec2: InventoryEc2Instance = Field(default_factory=InventoryEc2Instance)
    """The origin EC2 instance (AWS-hosted servers only); see InventoryEc2Instance for defaults."""

    @field_validator("tags")
    @classmethod
    def _tags_fit_drs(cls, tags: dict[str, str]) -> dict[str, str]:
        if len(tags) > 50:
            raise ValueError("at most 50 tags per source server")
        for key, value in tags.items():
            if not 1 <= len(key) <= 128:
                raise ValueError(f"tag key '{key}' must be 1-128 characters")
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key '{key}' uses the reserved 'aws:' prefix")
            if len(value) > 256:
                raise ValueError(f"tag '{key}' has a value longer than 256 characters")
        return tags


class Inventory(_Model):
    version: Literal[1] = 1
    initialized_regions: list[str] = Field(default_factory=list)
    """Regions where DRS is initialized even though they hold no source server."""
    servers: list[InventoryServer] = Field(default_factory=list)
    networks: list[InventoryNetwork] = Field(default_factory=list)
    """VPCs, subnets and security groups per region, beside the default VPC every region has."""
    instance_profiles: list[InventoryInstanceProfile] | None = None
    """IAM instance profiles; None: DRS's own recovery-instance profile only."""

    @field_validator("initialized_regions")
    @classmethod
    def _regions_look_like_regions(cls, regions: list[str]) -> list[str]:
        for region in regions:
            if not re.match(REGION_PATTERN, region):
                raise ValueError(f"'{region}' is not an AWS region name such as us-east-1")
        return regions

    @model_validator(mode="after")
    def _names_and_ids_are_unique(self) -> Inventory:
        hostnames = Counter((s.account_id, s.region, s.hostname.lower()) for s in self.servers)
        for (_, region, hostname), count in hostnames.items():
            if count > 1:
                raise ValueError(f"hostname '{hostname}' appears {count} times in region {region}")
        ids = Counter(s.source_server_id for s in self.servers if s.source_server_id)
        for server_id, count in ids.items():
            if count > 1:
                raise ValueError(f"sourceServerId '{server_id}' appears {count} times")
        return self


def default_inventory_path() -> Path:
    return Path(str(resources.files("orchestration.drs").joinpath("data/demo_inventory.json")))


def load_inventory(path: Path | str | None = None) -> Inventory:
    """The inventory in `path`, or the packaged demo estate; ValidationFailed names the bad field."""
    source = Path(path) if path is not None else default_inventory_path()
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationFailed(f"simulator inventory {source} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"simulator inventory {source} is not valid JSON: {exc.msg} "
            f"at line {exc.lineno} column {exc.colno}"
        ) from exc
    return parse_inventory(raw, str(source))


def parse_inventory(raw: Any, source: str = "inventory") -> Inventory:
    """Validate already-decoded JSON; `source` only names it in error messages."""
    try:
        return Inventory.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error, raw) for error in exc.errors()]
        shown = "; ".join(problems[:_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - _PROBLEMS_SHOWN} more)" if len(problems) > _PROBLEMS_SHOWN else ""
        raise ValidationFailed(
            f"simulator inventory {source} is invalid: {shown}{more}", errors=problems
        ) from exc


def _describe(error: Any, raw: Any) -> str:
    """`servers[3] (app-orders-01).replication.state: Input should be ...`"""
    path = ""
    node = raw
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("hostname"), str):
                path += f" ({node['hostname']})"
        else:
            path += f".{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{path or '(top level)'}: {message}"
