"""Read operations: source servers, snapshots, launch configuration, jobs, job logs, recovery instances."""

from __future__ import annotations

from typing import Any

from orchestration.drs.sim import render
from orchestration.drs.sim.api import date_filter, id_filter, not_found, page_body, paginate, unknown_ids
from orchestration.drs.sim.context import Call
from orchestration.drs.sim.faults import SimFaults
from orchestration.drs.sim.replication import replication_at, snapshots
from orchestration.drs.sim.store import SourceServerRow
from orchestration.drs.sim.timeline import log_events

MAX_FILTER_IDS = 200
MAX_JOB_FILTER_IDS = 1000


def describe_source_servers(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    filters = params.get("filters") or {}
    ids = id_filter(filters, "sourceServerIDs", MAX_FILTER_IDS)
    staging = set(filters.get("stagingAccountIDs") or [])
    hardware = filters.get("hardwareId")
    rows = [
        r
        for r in call.tx.servers(call.scope.account_id, call.scope.region)
        if (ids is None or r.source_server_id in ids)
        and (not staging or r.spec.staging_account_id in staging)
    ]
    rows.sort(key=lambda r: (r.hostname, r.source_server_id))
    faults = SimFaults.from_rows(call.tx.faults())
    items = [_source_server_item(call, r, faults) for r in rows]
    if hardware:
        items = [item for item in items if _has_hardware_id(item, hardware)]
    page, token = paginate(items, _source_server_key, params, "DescribeSourceServers")
    return page_body(page, token)


def get_launch_configuration(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    server_id = str(params["sourceServerID"])
    row = call.server(server_id)
    if row is None:
        raise not_found(f"Source server {server_id} not found in {call.scope}", server_id, "SOURCE_SERVER")
    return render.launch_configuration_item(row)


def describe_recovery_snapshots(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    server_id = str(params["sourceServerID"])
    row = call.server(server_id)
    if row is None:
        raise unknown_ids("sourceServerID", [server_id], "source server", f" in {call.scope}")
    filters = params.get("filters") or {}
    since = date_filter(filters, "fromDateTime")
    until = date_filter(filters, "toDateTime")
    replication = replication_at(row, SimFaults.from_rows(call.tx.faults()), call.now)
    snaps = [
        s
        for s in snapshots(row, replication, call.now)
        if (since is None or s.taken >= since) and (until is None or s.taken <= until)
    ]
    descending = params.get("order") == "DESC"
    if descending:
        snaps.reverse()
    page, token = paginate(
        snaps, lambda s: (-s.expected if descending else s.expected,), params, "DescribeRecoverySnapshots"
    )
    return page_body([render.snapshot_item(s) for s in page], token)


def describe_jobs(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    filters = params.get("filters") or {}
    ids = id_filter(filters, "jobIDs", MAX_JOB_FILTER_IDS)
    since = date_filter(filters, "fromDate")
    until = date_filter(filters, "toDate")
    jobs = [
        j
        for j in call.tx.jobs(call.scope.account_id, call.scope.region)
        if (ids is None or j.job_id in ids)
        and (since is None or j.created_at >= since)
        and (until is None or j.created_at <= until)
    ]
    page, token = paginate(jobs, lambda j: (j.seq,), params, "DescribeJobs")
    return page_body([render.job_item(j, call.tx.tags(render.job_arn(j)), call.now) for j in page], token)


def describe_job_log_items(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    wanted = str(params["jobID"])
    job = call.tx.job(wanted)
    if job is None or not call.scope.holds(job.account_id, job.region):
        raise unknown_ids("jobID", [wanted], "job", f" in {call.scope}")
    numbered = list(enumerate(log_events(job, call.now)))
    page, token = paginate(numbered, lambda pair: (pair[0],), params, "DescribeJobLogItems")
    return page_body([render.log_item(event) for _, event in page], token)


def describe_recovery_instances(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    filters = params.get("filters") or {}
    ids = id_filter(filters, "recoveryInstanceIDs", MAX_FILTER_IDS)
    servers = id_filter(filters, "sourceServerIDs", None)
    rows = [
        r
        for r in call.tx.instances(call.scope.account_id, call.scope.region)
        if (ids is None or r.recovery_instance_id in ids)
        and (servers is None or r.source_server_id in servers)
    ]
    rows.sort(key=lambda r: (r.launched_at, r.recovery_instance_id))
    page, token = paginate(
        rows, lambda r: (r.launched_at, r.recovery_instance_id), params, "DescribeRecoveryInstances"
    )
    # instances of a running TERMINATE job are on their way out
    shutting_down = {
        s.instance_id
        for j in call.tx.jobs(call.scope.account_id, call.scope.region, active_at=call.now)
        if j.type == "TERMINATE" and j.status(call.now) == "STARTED"
        for s in j.servers
    }
    items = [
        render.recovery_instance_item(
            r,
            call.tx.server(r.source_server_id),
            call.tx.tags(render.instance_arn(r)),
            shutting_down=r.recovery_instance_id in shutting_down,
        )
        for r in page
    ]
    return page_body(items, token)


def _source_server_item(call: Call, row: SourceServerRow, faults: SimFaults) -> dict[str, Any]:
    instances = call.tx.instances_of_server(row.source_server_id)
    last = call.tx.last_launch(row.source_server_id)
    last_exists = last is not None and any(i.recovery_instance_id == last[1].instance_id for i in instances)
    return render.source_server_item(
        row,
        replication=replication_at(row, faults, call.now),
        tags=call.tx.tags(render.source_server_arn(row)),
        recovery_instance_id=instances[0].recovery_instance_id if instances else None,
        last_launch=last,
        last_instance_exists=last_exists,
        now=call.now,
    )


def _source_server_key(item: dict[str, Any]) -> tuple[str, str]:
    return str(item["sourceProperties"]["identificationHints"]["hostname"]), str(item["sourceServerID"])


def _has_hardware_id(item: dict[str, Any], hardware_id: str) -> bool:
    """DRS's hardwareId is an EC2 instance id, a VMware uuid or a MAC address of the source machine."""
    props = item.get("sourceProperties", {})
    hints = props.get("identificationHints", {})
    candidates = {hints.get("awsInstanceID"), hints.get("vmWareUuid")}
    candidates.update(nic.get("macAddress") for nic in props.get("networkInterfaces", []))
    return hardware_id in candidates
