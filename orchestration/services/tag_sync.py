"""Tag sync: copy the tags of the EC2 instances that DRS replicates onto their DRS source servers
(seed: handle_drs_tag_sync, get_tag_sync_settings, update_tag_sync_settings).

Tag-based protection groups select DRS source servers by their DRS tags; people tag EC2 instances.
Syncing makes a group defined as `Tier=web` follow the EC2 estate. A source server is synced when
its `identificationHints.awsInstanceID` names an EC2 instance: that instance is looked up in the
server's origin region (`sourceCloudProperties.originRegion`), in the same account as the DRS
client. EC2 is the source of truth: a DRS tag with a different value is overwritten; DRS tags that
EC2 does not have are left alone. Keys starting with `aws:` are reserved and never copied.

On the embedded default EC2 is the simulator's (docs/simulator.md): the origin instances of its
source servers, with their tags, so a sync there works end to end. A drbot without EC2 (NoAws)
refuses a sync with NoAws's explanation before anything is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from orchestration.aws import calling_aws
from orchestration.context import Services
from orchestration.drs.gateway import DrsGateway, SourceServer
from orchestration.errors import DrbotError, ValidationFailed
from orchestration.models import TagKey, TagSyncSettings, WireModel
from orchestration.rbac import Permission
from orchestration.requests import DrsRegion
from orchestration.services.access import require
from orchestration.services.queries import valid_region
from orchestration.services.scheduled_settings import merged_settings
from orchestration.services.tag_sync_schedule import checked_schedule, register_tag_sync
from orchestration.validation import parse_model

# values per describe_instances filter (EC2 accepts up to 200 per filter)
MAX_INSTANCE_IDS_PER_CALL = 200


class UpdateTagSyncSettings(WireModel):
    """Only the fields given change; `null` puts a field back to its default."""

    enabled: bool | None = None
    tag_keys: list[TagKey] | None = Field(default=None, max_length=50)
    regions: list[DrsRegion] | None = None
    schedule_expression: str | None = Field(
        default=None,
        max_length=256,
        description="cron(...) or rate(...), at most hourly (docs/schedules.md); null: no schedule.",
    )
    schedule_timezone: str | None = Field(
        default=None, max_length=50, description="IANA time zone of the expression; null: UTC."
    )
    version: int | None = Field(default=None, ge=1, description="The version you read; refused if stale.")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, include=self.model_fields_set - {"version"})


def get_tag_sync_settings(services: Services) -> TagSyncSettings:
    """The saved settings, or the defaults (enabled, every tag, drbot's region) before any save."""
    return services.store.get_tag_sync_settings() or TagSyncSettings()


def update_tag_sync_settings(
    services: Services, request: UpdateTagSyncSettings, actor: str
) -> TagSyncSettings:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    current = get_tag_sync_settings(services).to_wire()
    changes = request.changes()
    merged = merged_settings(
        services, current, changes, version=request.version, actor=actor, check=checked_schedule
    )
    settings = parse_model(TagSyncSettings, merged)
    saved = services.store.put_tag_sync_settings(settings, actor)
    # saved first (version-checked), then the scheduler is told; a fire re-reads the saved settings
    register_tag_sync(services, saved)
    return saved


def tags_to_copy(instance_tags: Mapping[str, str], tag_keys: Sequence[str]) -> dict[str, str]:
    """The EC2 tags that belong on the source server: the chosen keys (all when none are chosen),
    never AWS-reserved `aws:` keys, which DRS refuses."""
    wanted = set(tag_keys)
    return {
        key: value
        for key, value in instance_tags.items()
        if not key.lower().startswith("aws:") and (not wanted or key in wanted)
    }


def handle_drs_tag_sync(
    services: Services, actor: str, region: str | None = None, account_id: str | None = None
) -> dict[str, Any]:
    """Copy EC2 instance tags onto their DRS source servers in `region` (default: the settings'
    regions, else drbot's region); returns what changed, what was missing and what failed."""
    settings = get_tag_sync_settings(services)
    if not settings.enabled:
        raise ValidationFailed(
            "Tag sync is disabled in its settings; enable it with update_tag_sync_settings "
            '({"enabled": true}) first.'
        )
    regions = [valid_region(region)] if region else (settings.regions or [services.settings.region])
    # Without EC2 there is nothing to sync from: ask for a client before reading anything, so a
    # drbot without EC2 answers with NoAws's explanation.
    services.aws.client("ec2", regions[0], account_id)

    report: dict[str, Any] = {
        "regions": regions,
        "serversScanned": 0,
        "serversWithoutEc2Instance": 0,
        "serversUpdated": 0,
        "serversUnchanged": 0,
        "tagsApplied": 0,
        "updated": [],
        "instancesNotFound": [],
        "failed": [],
    }
    for drs_region in regions:
        _sync_region(services, drs_region, account_id, settings, report)
    services.store.append_audit(
        actor,
        "tag_sync.run",
        f"tag_sync:{settings.config_id}",
        regions=regions,
        serversUpdated=report["serversUpdated"],
        tagsApplied=report["tagsApplied"],
        failed=len(report["failed"]),
    )
    return report


def _sync_region(
    services: Services,
    region: str,
    account_id: str | None,
    settings: TagSyncSettings,
    report: dict[str, Any],
) -> None:
    gateway = services.drs.gateway(region, account_id)
    servers = gateway.source_servers()
    report["serversScanned"] += len(servers)
    on_ec2 = [s for s in servers if s.aws_instance_id]
    report["serversWithoutEc2Instance"] += len(servers) - len(on_ec2)

    by_origin: dict[str, list[SourceServer]] = {}
    for server in on_ec2:
        by_origin.setdefault(server.origin_region or region, []).append(server)
    for origin_region, group in by_origin.items():
        instance_tags = _instance_tags(
            services, origin_region, account_id, [str(s.aws_instance_id) for s in group]
        )
        for server in group:
            tags = instance_tags.get(str(server.aws_instance_id))
            if tags is None:
                report["instancesNotFound"].append(
                    {
                        "sourceServerID": server.source_server_id,
                        "hostname": server.hostname,
                        "instanceId": server.aws_instance_id,
                        "region": origin_region,
                    }
                )
                continue
            _sync_server(gateway, server, tags_to_copy(tags, settings.tag_keys), report)


def _sync_server(
    gateway: DrsGateway, server: SourceServer, wanted: dict[str, str], report: dict[str, Any]
) -> None:
    changed = {key: value for key, value in wanted.items() if server.tags.get(key) != value}
    if not changed:
        report["serversUnchanged"] += 1
        return
    try:
        gateway.tag_source_server(server.source_server_id, changed)
    except DrbotError as exc:
        # one server DRS refuses (e.g. over its 50-tag limit) must not stop the others; it is reported
        report["failed"].append(
            {"sourceServerID": server.source_server_id, "hostname": server.hostname, "error": exc.message}
        )
        return
    report["serversUpdated"] += 1
    report["tagsApplied"] += len(changed)
    report["updated"].append(
        {
            "sourceServerID": server.source_server_id,
            "hostname": server.hostname,
            "instanceId": server.aws_instance_id,
            "tags": changed,
        }
    )


def _instance_tags(
    services: Services, region: str, account_id: str | None, instance_ids: list[str]
) -> dict[str, dict[str, str]]:
    """Tags of the instances that exist, by id. A filter (not InstanceIds) so that one terminated
    instance does not fail the whole lookup with InvalidInstanceID.NotFound."""
    ec2 = services.aws.client("ec2", region, account_id)
    unique = list(dict.fromkeys(instance_ids))
    found: dict[str, dict[str, str]] = {}
    with calling_aws("ec2", f"read instance tags in {region}"):
        paginator = ec2.get_paginator("describe_instances")
        for start in range(0, len(unique), MAX_INSTANCE_IDS_PER_CALL):
            batch = unique[start : start + MAX_INSTANCE_IDS_PER_CALL]
            for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": batch}]):
                for reservation in page.get("Reservations", []):
                    for instance in reservation.get("Instances", []):
                        found[instance["InstanceId"]] = {
                            tag["Key"]: tag.get("Value", "") for tag in instance.get("Tags", [])
                        }
    return found
