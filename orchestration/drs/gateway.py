"""The DRS gateway: boto3 `drs` calls in, drbot's own types out, botocore errors translated.

Nothing outside `orchestration/drs/` touches a DRS client or a botocore exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from orchestration.errors import (
    Conflict,
    DrbotError,
    DrsLimitExceeded,
    DrsUnavailable,
    NotFound,
    ValidationFailed,
)

if TYPE_CHECKING:
    from mypy_boto3_drs import DrsClient

HEALTHY_REPLICATION_STATE = "CONTINUOUS"
_GIB = 1024**3
_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)

R = TypeVar("R")


def parse_iso_duration(text: str | None) -> int | None:
    """`PT1H2M3S` -> 3723 seconds; None for absent or unreadable durations."""
    if not text:
        return None
    match = _DURATION.match(text)
    if not match:
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return int(
        parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


@dataclass(frozen=True)
class SourceServer:
    """A DRS source server as drbot sees it."""

    source_server_id: str
    hostname: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    replication_state: str = "UNKNOWN"
    lag_seconds: int | None = None
    last_launch_result: str | None = None
    recovery_instance_id: str | None = None
    cores: int = 0
    ram_gib: float = 0.0
    disk_gib: float = 0.0
    os: str = ""
    recommended_instance_type: str | None = None
    origin_account_id: str | None = None

    @property
    def healthy(self) -> bool:
        return self.replication_state == HEALTHY_REPLICATION_STATE

    @property
    def lifecycle_state(self) -> str:
        """A one-word readiness summary (the seed contract's `lifecycleState`)."""
        if self.recovery_instance_id:
            return "LAUNCHED"
        if self.healthy:
            return "READY_FOR_LAUNCH"
        if self.replication_state in ("INITIATING", "INITIAL_SYNC", "BACKLOG", "CREATING_SNAPSHOT", "RESCAN"):
            return "SYNCING"
        return "NOT_READY"

    def matches_tags(self, selector: dict[str, str]) -> bool:
        return all(self.tags.get(key) == value for key, value in selector.items())

    @classmethod
    def from_api(cls, item: dict[str, Any], region: str) -> SourceServer:
        props = item.get("sourceProperties", {})
        hints = props.get("identificationHints", {})
        replication = item.get("dataReplicationInfo", {})
        disks = props.get("disks", [])
        return cls(
            source_server_id=item["sourceServerID"],
            hostname=hints.get("hostname") or hints.get("fqdn") or item["sourceServerID"],
            region=region,
            tags=dict(item.get("tags", {})),
            replication_state=replication.get("dataReplicationState", "UNKNOWN"),
            lag_seconds=parse_iso_duration(replication.get("lagDuration")),
            last_launch_result=item.get("lastLaunchResult"),
            recovery_instance_id=item.get("recoveryInstanceId"),
            cores=sum(int(cpu.get("cores", 0)) for cpu in props.get("cpus", [])),
            ram_gib=round(int(props.get("ramBytes", 0)) / _GIB, 1),
            disk_gib=round(sum(int(d.get("bytes", 0)) for d in disks) / _GIB, 1),
            os=props.get("os", {}).get("fullString", ""),
            recommended_instance_type=props.get("recommendedInstanceType"),
            origin_account_id=item.get("sourceCloudProperties", {}).get("originAccountID"),
        )


def translate_client_error(exc: ClientError | BotoCoreError, action: str) -> DrbotError:
    """A botocore failure as the domain error that says what it means to a DRS user."""
    if isinstance(exc, BotoCoreError):
        return DrsUnavailable(f"DRS could not be reached while trying to {action}: {exc}")
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = error.get("Message") or str(exc)
    text = f"DRS refused to {action}: {message}"
    if code == "ResourceNotFoundException":
        return NotFound(text, drsError=code)
    if code == "ConflictException":
        return Conflict(text, drsError=code)
    if code == "ServiceQuotaExceededException":
        return DrsLimitExceeded(text, drsError=code)
    if code in ("ValidationException", "UninitializedAccountException", "AccessDeniedException"):
        return ValidationFailed(text, drsError=code)
    return DrsUnavailable(text, drsError=code or "Unknown")


class DrsGateway:
    """DRS operations for one region (and account) through a boto3 client."""

    def __init__(self, client: DrsClient, region: str) -> None:
        self._client = client
        self.region = region

    def _call(self, action: str, fn: Callable[[], R]) -> R:
        try:
            return fn()
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, action) from exc

    def _pages(self, operation: str, action: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator: Any = self._client.get_paginator(operation)  # type: ignore[call-overload]
        try:
            yield from paginator.paginate(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate_client_error(exc, action) from exc

    def source_servers(self, ids: Sequence[str] | None = None) -> list[SourceServer]:
        """Every source server of the region (or just `ids`), via the paginator."""
        filters: dict[str, Any] = {"sourceServerIDs": list(ids)} if ids else {}
        servers: list[SourceServer] = []
        for page in self._pages("describe_source_servers", "list source servers", filters=filters):
            servers.extend(SourceServer.from_api(item, self.region) for item in page.get("items", []))
        return servers
