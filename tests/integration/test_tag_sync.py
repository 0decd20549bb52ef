"""Tag sync (orchestration/services/tag_sync.py): EC2 instance tags onto DRS source servers.

EC2 is moto's; DRS is the simulator with a small inventory whose source servers replicate the
instances moto created (their `awsInstanceID` hints are the moto instance ids). Tag sync on the
embedded default's simulated EC2 is tests/integration/test_embedded_aws.py's.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.drs.inventory import parse_inventory
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import StaleVersion, ValidationFailed
from orchestration.models import TagSyncSettings
from orchestration.services.tag_sync import (
    UpdateTagSyncSettings,
    get_tag_sync_settings,
    handle_drs_tag_sync,
    tags_to_copy,
    update_tag_sync_settings,
)
from orchestration.validation import parse_model

DRS_REGION = "us-east-1"
ORIGIN_REGION = "us-east-2"  # where the replicated EC2 instances run
T0 = 1_767_225_600


# moto's Amazon images are the same in every mock: describing them all (seconds: thousands of
# images serialised) is done once per process, and each later instance runs from the id found then
_AMAZON_IMAGE: dict[str, str] = {}


def amazon_image(ec2: Any) -> str:
    if ORIGIN_REGION not in _AMAZON_IMAGE:
        _AMAZON_IMAGE[ORIGIN_REGION] = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return _AMAZON_IMAGE[ORIGIN_REGION]


def run_instance(services: Services, tags: dict[str, str]) -> str:
    ec2 = services.aws.client("ec2", ORIGIN_REGION)
    image = amazon_image(ec2)
    spec: Any = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return str(
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=spec)["Instances"][0][
            "InstanceId"
        ]
    )


def server(hostname: str, instance_id: str | None, tags: dict[str, str] | None = None) -> dict[str, Any]:
    origin: dict[str, Any] = {"environment": "ON_PREMISES"}
    if instance_id:
        origin = {"environment": "AWS", "region": ORIGIN_REGION, "instanceId": instance_id}
    return {
        "hostname": hostname,
        "region": DRS_REGION,
        "os": "Ubuntu 22.04.4 LTS",
        "cpuCores": 2,
        "ramGiB": 8,
        "disks": [{"deviceName": "/dev/xvda", "sizeGiB": 20}],
        "recommendedInstanceType": "m6i.large",
        "tags": tags or {},
        "origin": origin,
    }


@pytest.fixture
def estate(aws_services: Services, simulator: DrsSimulator) -> dict[str, str]:
    """Source servers replicating moto instances (one with a gone instance, one on premises)."""
    web = run_instance(aws_services, {"Name": "web-01", "Tier": "web", "Owner": "team-a", "aws:origin": "x"})
    db = run_instance(aws_services, {"Name": "db-01", "Tier": "database"})
    simulator.reset(
        parse_inventory(
            {
                "servers": [
                    server("web-01", web, {"Tier": "old-value"}),
                    server("db-01", db, {"Name": "db-01", "Tier": "database"}),
                    server("ghost-01", "i-0000000000000dead"),
                    server("onprem-01", None, {"Tier": "legacy"}),
                ]
            }
        )
    )
    return {"web": web, "db": db}


def drs_tags(services: Services, sim: DrsSimulator, hostname: str) -> dict[str, str]:
    servers = services.drs.gateway(DRS_REGION).source_servers([sim.server_id(hostname)])
    return servers[0].tags


# -- syncing --------------------------------------------------------------------------------------


def test_instance_tags_are_copied_onto_their_source_servers(
    aws_services: Services, simulator: DrsSimulator, estate: dict[str, str]
) -> None:
    report = handle_drs_tag_sync(aws_services, "alice")

    assert drs_tags(aws_services, simulator, "web-01") == {"Name": "web-01", "Tier": "web", "Owner": "team-a"}
    assert drs_tags(aws_services, simulator, "onprem-01") == {"Tier": "legacy"}
    assert report["regions"] == [DRS_REGION]
    assert (report["serversScanned"], report["serversWithoutEc2Instance"]) == (4, 1)
    assert (report["serversUpdated"], report["serversUnchanged"], report["tagsApplied"]) == (1, 1, 3)
    assert report["updated"] == [
        {
            "sourceServerID": simulator.server_id("web-01"),
            "hostname": "web-01",
            "instanceId": estate["web"],
            "tags": {"Name": "web-01", "Tier": "web", "Owner": "team-a"},
        }
    ]
    assert [(m["hostname"], m["instanceId"]) for m in report["instancesNotFound"]] == [
        ("ghost-01", "i-0000000000000dead")
    ]
    assert report["failed"] == []
    event = aws_services.store.list_audit("tag_sync:default")[0]
    assert (event.action, event.actor, event.details["tagsApplied"]) == ("tag_sync.run", "alice", 3)

    again = handle_drs_tag_sync(aws_services, "alice")  # nothing left to change
    assert (again["serversUpdated"], again["serversUnchanged"], again["tagsApplied"]) == (0, 2, 0)


def test_only_the_chosen_keys_are_copied(
    aws_services: Services, simulator: DrsSimulator, estate: dict[str, str]
) -> None:
    update_tag_sync_settings(aws_services, UpdateTagSyncSettings(tag_keys=["Tier"]), "alice")

    report = handle_drs_tag_sync(aws_services, "alice")

    assert drs_tags(aws_services, simulator, "web-01") == {"Tier": "web"}
    assert report["tagsApplied"] == 1


def test_a_server_drs_refuses_is_reported_and_the_others_still_sync(
    aws_services: Services, simulator: DrsSimulator, estate: dict[str, str]
) -> None:
    crowded = run_instance(aws_services, {f"Key{n:02d}": "v" for n in range(50)})
    simulator.reset(
        parse_inventory(
            {
                "servers": [
                    server("web-01", estate["web"]),
                    server("crowded-01", crowded, {"Existing": "tag"}),  # 51 tags would be one too many
                ]
            }
        )
    )

    report = handle_drs_tag_sync(aws_services, "alice")

    assert [f["hostname"] for f in report["failed"]] == ["crowded-01"]
    assert "at most 50 tags" in report["failed"][0]["error"]
    assert [u["hostname"] for u in report["updated"]] == ["web-01"]
    assert drs_tags(aws_services, simulator, "crowded-01") == {"Existing": "tag"}


def test_a_disabled_sync_or_a_bad_region_is_refused(sqlite_services: Services) -> None:
    with pytest.raises(ValidationFailed, match="not an AWS region"):
        handle_drs_tag_sync(sqlite_services, "alice", region="moon-1")
    update_tag_sync_settings(sqlite_services, UpdateTagSyncSettings(enabled=False), "alice")
    with pytest.raises(ValidationFailed, match="Tag sync is disabled"):
        handle_drs_tag_sync(sqlite_services, "alice")


def test_reserved_keys_are_never_copied() -> None:
    tags = {"Tier": "web", "aws:cloudformation:stack-name": "x", "AWS:Other": "y", "Owner": "a"}
    assert tags_to_copy(tags, []) == {"Tier": "web", "Owner": "a"}
    assert tags_to_copy(tags, ["Owner", "Missing"]) == {"Owner": "a"}


# -- settings -------------------------------------------------------------------------------------


def test_settings_default_until_saved_then_change_from_the_version_read(
    services: Services, clock: FakeClock
) -> None:
    assert get_tag_sync_settings(services) == TagSyncSettings()
    clock.advance(60)
    # the first save is checked against the defaults' version 1 like any other
    with pytest.raises(StaleVersion) as never_read:
        update_tag_sync_settings(services, UpdateTagSyncSettings(enabled=False, version=2), "mallory")
    assert never_read.value.status == 409 and services.store.get_tag_sync_settings() is None

    saved = update_tag_sync_settings(
        services,
        parse_model(UpdateTagSyncSettings, {"tagKeys": ["Tier", "Owner"], "regions": ["us-west-2"]}),
        "alice",
    )
    assert saved.version == 1 and saved.last_modified_by == "alice" and saved.last_modified_date == T0 + 60
    assert get_tag_sync_settings(services) == saved
    assert saved.to_wire() == {
        "configId": "default",
        "enabled": True,
        "tagKeys": ["Tier", "Owner"],
        "regions": ["us-west-2"],
        "scheduleTimezone": "UTC",  # and no scheduleExpression: no schedule
        "lastModifiedBy": "alice",
        "lastModifiedDate": T0 + 60,
        "version": 1,
    }

    reset = update_tag_sync_settings(
        services, parse_model(UpdateTagSyncSettings, {"tagKeys": None, "version": 1}), "dave"
    )
    assert reset.version == 2 and reset.tag_keys == [] and reset.regions == ["us-west-2"]
    with pytest.raises(StaleVersion):
        update_tag_sync_settings(services, UpdateTagSyncSettings(enabled=False, version=1), "erin")
    assert [e.action for e in services.store.list_audit("tag_sync:default")] == [
        "tag_sync.update",
        "tag_sync.create",
    ]


def test_bad_settings_are_refused_by_name(services: Services) -> None:
    with pytest.raises(ValidationFailed, match="reserved by AWS"):
        update_tag_sync_settings(services, UpdateTagSyncSettings(tag_keys=["aws:createdBy"]), "alice")
    with pytest.raises(ValidationFailed, match="listed twice: Tier"):
        update_tag_sync_settings(services, UpdateTagSyncSettings(tag_keys=["Tier", "Tier"]), "alice")
    with pytest.raises(ValidationFailed) as error:
        parse_model(UpdateTagSyncSettings, {"regions": ["everywhere"]})
    assert error.value.details["errors"][0]["field"] == "regions[0]"
    with pytest.raises(ValidationFailed, match="not a region Elastic Disaster Recovery is offered in"):
        parse_model(UpdateTagSyncSettings, {"regions": ["us-east-1", "us-east-9"]})
    with pytest.raises(ValidationFailed, match="Nothing to update"):
        update_tag_sync_settings(services, UpdateTagSyncSettings(), "alice")
    assert services.store.get_tag_sync_settings() is None
