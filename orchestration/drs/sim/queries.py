"""Read operations: source servers, snapshots, launch configuration, jobs, job logs, recovery instances."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from orchestration.drs.sim import render
from orchestration.drs.sim.api import (
    date_filter,
    id_filter,
    not_found,
    page_body,
    page_request,
    paginate,
    unknown_ids,
)
from orchestration.drs.sim.context import Call
from orchestration.drs.sim.faults import SimFaults
from orchestration.drs.sim.replication import replication_at, snapshots
from orchestration.drs.sim.store import InstanceRow, SimTx, SourceServerRow
from orchestration.drs.sim.timeline import log_events

MAX_FILTER_IDS = 200
MAX_JOB_FILTER_IDS = 1000


def describe_source_servers(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    filters = params.get("filters") or {}
    ids = id_filter(filters, "sourceServerIDs", MAX_FILTER_IDS)
    staging = set(filters.get("stagingAccountIDs") or [])
    hardware = filters.get("hardwareId")
    request = page_request(params, "DescribeSourceServers", (str, str))
    after = (str(request.after[0]), str(request.after[1])) if request.after else None
    # read in (hostname, id) order and stop once the page is full: a page costs its own rows
    rows: list[SourceServerRow] = []
    with closing(call.tx.servers_in_order(call.scope.account_id, call.scope.region, after, ids)) as ordered:
        for row in ordered:
            if staging and row.spec.staging_account_id not in staging:
                continue
            if hardware and hardware not in render.hardware_ids(row):
                continue
            rows.append(row)
            if len(rows) > request.limit:
                break
    page = rows[: request.limit]
    token = request.token(page, _source_server_key, len(rows) > request.limit)
    return page_body(_source_server_items(call, page), token)


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
    """Newest first, as DRS lists them; the token records the last job handed out."""
    filters = params.get("filters") or {}
    ids = id_filter(filters, "jobIDs", MAX_JOB_FILTER_IDS)
    since = date_filter(filters, "fromDate")
    until = date_filter(filters, "toDate")
    request = page_request(params, "DescribeJobs", (int,))
    jobs = call.tx.jobs_newest_first(
        call.scope.account_id,
        call.scope.region,
        before_seq=int(request.after[0]) if request.after else None,
        limit=request.limit + 1,
        ids=ids,
        since=since,
        until=until,
    )
    page = jobs[: request.limit]
    token = request.token(page, lambda j: (j.seq,), len(jobs) > request.limit)
    tags = call.tx.tags_of([render.job_arn(j) for j in page])
    return page_body([render.job_item(j, tags[render.job_arn(j)], call.now) for j in page], token)


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
    request = page_request(params, "DescribeRecoveryInstances", (float, str))
    after = (float(request.after[0]), str(request.after[1])) if request.after else None
    rows = call.tx.instances_in_order(
        call.scope.account_id,
        call.scope.region,
        after=after,
        limit=request.limit + 1,
        ids=ids,
        source_server_ids=servers,
    )
    page = rows[: request.limit]
    token = request.token(page, _instance_key, len(rows) > request.limit)
    shutting_down = instances_shutting_down(call.tx, call.now, call.scope.account_id, call.scope.region)
    sources = call.tx.servers_by_id({r.source_server_id for r in page})
    tags = call.tx.tags_of([render.instance_arn(r) for r in page])
    items = [
        render.recovery_instance_item(
            r,
            sources.get(r.source_server_id),
            tags[render.instance_arn(r)],
            shutting_down=r.recovery_instance_id in shutting_down,
        )
        for r in page
    ]
    return page_body(items, token)


def instances_shutting_down(
    tx: SimTx, now: float, account_id: str | None = None, region: str | None = None
) -> set[str]:
    """Ids of the recovery instances a running TERMINATE job is removing (SHUTTING-DOWN)."""
    return {
        s.instance_id
        for j in tx.jobs_active_at(now, account_id, region)
        if j.type == "TERMINATE" and j.status(now) == "STARTED"
        for s in j.servers
        if s.instance_id
    }


def _source_server_items(call: Call, rows: list[SourceServerRow]) -> list[dict[str, Any]]:
    """A page of source servers in a handful of queries, whatever its size."""
    ids = [r.source_server_id for r in rows]
    faults = SimFaults.from_rows(call.tx.faults())
    instances = call.tx.instances_of_servers(ids)
    last_launches = call.tx.last_launches(ids)
    tags = call.tx.tags_of([render.source_server_arn(r) for r in rows])
    items = []
    for row in rows:
        sid = row.source_server_id
        own = instances.get(sid, [])
        last = last_launches.get(sid)
        last_exists = last is not None and any(i.recovery_instance_id == last[1].instance_id for i in own)
        items.append(
            render.source_server_item(
                row,
                replication=replication_at(row, faults, call.now),
                tags=tags[render.source_server_arn(row)],
                recovery_instance_id=own[0].recovery_instance_id if own else None,
                last_launch=last,
                last_instance_exists=last_exists,
                now=call.now,
            )
        )
    return items


def _instance_key(row: InstanceRow) -> tuple[float, str]:
    return row.launched_at, row.recovery_instance_id


def _source_server_key(row: SourceServerRow) -> tuple[str, str]:
    return row.hostname, row.source_server_id
