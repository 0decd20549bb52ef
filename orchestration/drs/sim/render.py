"""The simulator's records as DRS API items (shapes of botocore's drs service model)."""

from __future__ import annotations

from typing import Any

from orchestration.drs.inventory import InventoryServer
from orchestration.drs.sim.format import (
    arn,
    ebs_volume_id,
    ec2_instance_id,
    hex17,
    iso_datetime,
    iso_duration,
    mac_address,
)
from orchestration.drs.sim.replication import Replication, Snapshot, first_byte
from orchestration.drs.sim.store import InstanceRow, SourceServerRow
from orchestration.drs.sim.timeline import Job, JobServer, LogEvent

GIB = 1024**3
AGENT_VERSION = "4.7.1"
_CHANGE_RATE_BYTES_PER_SECOND = 256 * 1024
_LAG_WORTH_A_BACKLOG_SECONDS = 60


def source_server_arn(row: SourceServerRow) -> str:
    return arn(row.region, row.account_id, f"source-server/{row.source_server_id}")


def job_arn(job: Job) -> str:
    return arn(job.region, job.account_id, f"job/{job.job_id}")


def instance_arn(row: InstanceRow) -> str:
    return arn(row.region, row.account_id, f"recovery-instance/{row.recovery_instance_id}")


def origin_instance_id(row: SourceServerRow) -> str | None:
    origin = row.spec.origin
    if origin.environment != "AWS":
        return None
    return origin.instance_id or ec2_instance_id("origin", row.source_server_id)


def source_server_item(
    row: SourceServerRow,
    *,
    replication: Replication,
    tags: dict[str, str],
    recovery_instance_id: str | None,
    last_launch: tuple[Job, JobServer] | None,
    last_instance_exists: bool,
    now: float,
) -> dict[str, Any]:
    spec = row.spec
    item: dict[str, Any] = {
        "sourceServerID": row.source_server_id,
        "arn": source_server_arn(row),
        "tags": tags,
        "lastLaunchResult": _last_launch_result(last_launch, now),
        "dataReplicationInfo": _replication_info(row, replication),
        "lifeCycle": _life_cycle(row, replication, last_launch, last_instance_exists, now),
        "sourceProperties": _source_properties(row),
        "replicationDirection": "FAILOVER",
        "agentVersion": AGENT_VERSION,
    }
    if recovery_instance_id:
        item["recoveryInstanceId"] = recovery_instance_id
    if spec.origin.environment == "AWS":
        origin_region = spec.origin.region or row.region
        item["sourceCloudProperties"] = {
            "originAccountID": spec.origin.account_id or row.account_id,
            "originRegion": origin_region,
            "originAvailabilityZone": spec.origin.availability_zone or f"{origin_region}a",
        }
    if spec.staging_account_id:
        item["stagingArea"] = {
            "status": "EXTENDED",
            "stagingAccountID": spec.staging_account_id,
            "stagingSourceServerArn": arn(
                row.region,
                spec.staging_account_id,
                f"source-server/s-{hex17('staging', row.source_server_id)}",
            ),
        }
    return item


def _last_launch_result(last_launch: tuple[Job, JobServer] | None, now: float) -> str:
    if last_launch is None:
        return "NOT_STARTED"
    job, server = last_launch
    status = job.launch_status(server, now)
    if status in ("PENDING", "IN_PROGRESS"):
        return "PENDING"
    return "FAILED" if status == "FAILED" else "SUCCEEDED"


def _life_cycle(
    row: SourceServerRow,
    replication: Replication,
    last_launch: tuple[Job, JobServer] | None,
    last_instance_exists: bool,
    now: float,
) -> dict[str, Any]:
    started = first_byte(row)
    cycle: dict[str, Any] = {
        "addedToServiceDateTime": iso_datetime(row.added_at),
        "firstByteDateTime": iso_datetime(started),
        "elapsedReplicationDuration": iso_duration(max(0.0, now - started)),
        "lastSeenByServiceDateTime": iso_datetime(replication.last_seen),
    }
    if last_launch is not None:
        job, server = last_launch
        status = job.launch_status(server, now)
        if status == "LAUNCHED" and not last_instance_exists:
            status = "TERMINATED"
        cycle["lastLaunch"] = {
            "initiated": {
                "apiCallDateTime": iso_datetime(job.created_at),
                "jobID": job.job_id,
                "type": "DRILL" if job.is_drill else "RECOVERY",
            },
            "status": status,
        }
    return cycle


def _replication_info(row: SourceServerRow, replication: Replication) -> dict[str, Any]:
    backlog_per_disk = (
        int(replication.lag_seconds * _CHANGE_RATE_BYTES_PER_SECOND)
        if replication.lag_seconds >= _LAG_WORTH_A_BACKLOG_SECONDS
        else 0
    )
    disks = []
    for disk in row.spec.disks:
        total = int(disk.size_gib * GIB)
        backlog = min(total, backlog_per_disk)
        disks.append(
            {
                "deviceName": disk.device_name,
                "totalStorageBytes": total,
                "replicatedStorageBytes": total - backlog,
                "rescannedStorageBytes": 0,
                "backloggedStorageBytes": backlog,
                "volumeStatus": "REGULAR",
            }
        )
    info: dict[str, Any] = {
        "dataReplicationState": replication.state,
        "lagDuration": iso_duration(replication.lag_seconds),
        "replicatedDisks": disks,
        "stagingAvailabilityZone": f"{row.region}a",
    }
    if replication.error:
        info["dataReplicationError"] = {
            "error": replication.error,
            "rawError": f"Replication of {row.hostname} is not progressing ({replication.error})",
        }
    return info


def hardware_ids(row: SourceServerRow) -> set[str]:
    """What DescribeSourceServers' hardwareId filter matches: the source machine's EC2 instance id or
    VMware uuid, or a MAC address of it."""
    props = _source_properties(row)
    hints = props["identificationHints"]
    found = {hints.get("awsInstanceID"), hints.get("vmWareUuid")}
    found.update(nic.get("macAddress") for nic in props["networkInterfaces"])
    return {str(value) for value in found if value}


def _source_properties(row: SourceServerRow) -> dict[str, Any]:
    spec = row.spec
    hints: dict[str, Any] = {"hostname": spec.hostname, "fqdn": spec.fqdn or spec.hostname}
    origin_id = origin_instance_id(row)
    if origin_id:
        hints["awsInstanceID"] = origin_id
    else:
        digits = hex17("vmware", row.source_server_id) + hex17("vmware-tail", row.source_server_id)
        hints["vmWareUuid"] = f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:32]}"
    return {
        "lastUpdatedDateTime": iso_datetime(row.added_at),
        "recommendedInstanceType": spec.recommended_instance_type,
        "identificationHints": hints,
        "networkInterfaces": [
            {
                "macAddress": mac_address(row.source_server_id),
                "ips": [spec.ip_address] if spec.ip_address else [],
                "isPrimary": True,
            }
        ],
        "disks": [{"deviceName": d.device_name, "bytes": int(d.size_gib * GIB)} for d in spec.disks],
        "cpus": _cpus(spec),
        "ramBytes": int(spec.ram_gib * GIB),
        "os": {"fullString": spec.os},
        "supportsNitroInstances": True,
    }


def _cpus(spec: InventoryServer) -> list[dict[str, Any]]:
    return [{"cores": spec.cpu_cores, "modelName": spec.cpu_model}]


def job_item(job: Job, tags: dict[str, str], now: float) -> dict[str, Any]:
    item: dict[str, Any] = {
        "jobID": job.job_id,
        "arn": job_arn(job),
        "type": job.type,
        "initiatedBy": job.initiated_by,
        "creationDateTime": iso_datetime(job.created_at),
        "status": job.status(now),
        "participatingServers": [_participant(job, s, now) for s in job.servers],
        "tags": tags,
    }
    if item["status"] == "COMPLETED":
        item["endDateTime"] = iso_datetime(job.ended_at)
    return item


def _participant(job: Job, server: JobServer, now: float) -> dict[str, Any]:
    item: dict[str, Any] = {
        "sourceServerID": server.source_server_id,
        "launchStatus": job.launch_status(server, now),
    }
    instance_id = job.recovery_instance_id(server, now)
    if instance_id:
        item["recoveryInstanceID"] = instance_id
    return item


def log_item(event: LogEvent) -> dict[str, Any]:
    item: dict[str, Any] = {"logDateTime": iso_datetime(event.at), "event": event.event}
    if event.data:
        item["eventData"] = dict(event.data)
    return item


def recovery_instance_item(
    row: InstanceRow, server: SourceServerRow | None, tags: dict[str, str], shutting_down: bool
) -> dict[str, Any]:
    instance_id = row.recovery_instance_id
    item: dict[str, Any] = {
        "ec2InstanceID": instance_id,
        "ec2InstanceState": "SHUTTING-DOWN" if shutting_down else "RUNNING",
        "jobID": row.job_id,
        "recoveryInstanceID": instance_id,
        "sourceServerID": row.source_server_id,
        "arn": instance_arn(row),
        "tags": tags,
        "pointInTimeSnapshotDateTime": iso_datetime(row.point_in_time),
        "isDrill": row.is_drill,
        "dataReplicationInfo": {"dataReplicationState": "NOT_STARTED", "replicatedDisks": []},
    }
    if server is not None:
        spec = server.spec
        ip_tail = int(hex17("ip", instance_id)[:4], 16)
        item["recoveryInstanceProperties"] = {
            "lastUpdatedDateTime": iso_datetime(row.launched_at),
            "identificationHints": {
                "hostname": spec.hostname,
                "fqdn": spec.fqdn or spec.hostname,
                "awsInstanceID": instance_id,
            },
            "networkInterfaces": [
                {
                    "macAddress": mac_address(instance_id),
                    "ips": [f"10.120.{ip_tail // 256 % 256}.{ip_tail % 254 + 1}"],
                    "isPrimary": True,
                }
            ],
            "disks": [
                {
                    "internalDeviceName": d.device_name,
                    "bytes": int(d.size_gib * GIB),
                    "ebsVolumeID": ebs_volume_id(instance_id, d.device_name),
                }
                for d in spec.disks
            ],
            "cpus": _cpus(spec),
            "ramBytes": int(spec.ram_gib * GIB),
            "os": {"fullString": spec.os},
        }
        item["originEnvironment"] = "AWS" if spec.origin.environment == "AWS" else "ON_PREMISES"
        if spec.origin.environment == "AWS":
            origin_region = spec.origin.region or server.region
            item["originAvailabilityZone"] = spec.origin.availability_zone or f"{origin_region}a"
        item["agentVersion"] = AGENT_VERSION
    return item


def snapshot_item(snap: Snapshot) -> dict[str, Any]:
    return {
        "snapshotID": snap.snapshot_id,
        "sourceServerID": snap.source_server_id,
        "expectedTimestamp": iso_datetime(snap.expected),
        "timestamp": iso_datetime(snap.taken),
        "ebsSnapshots": list(snap.ebs_snapshots),
    }


def launch_configuration_item(row: SourceServerRow) -> dict[str, Any]:
    return {
        "sourceServerID": row.source_server_id,
        "name": row.hostname,
        "ec2LaunchTemplateID": f"lt-{hex17('launch-template', row.source_server_id)}",
        "launchDisposition": "STARTED",
        "targetInstanceTypeRightSizingMethod": "BASIC",
        "copyPrivateIp": False,
        "copyTags": True,
        "licensing": {"osByol": False},
        "postLaunchEnabled": False,
    }
