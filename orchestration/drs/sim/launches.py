"""Operations that start jobs: StartRecovery and TerminateRecoveryInstances, and what jobs leave behind.

A request is checked completely (ids, conflicts, quotas) before anything is written. Finished work
is "settled" at the start of every call: a launched server gets its recovery instance (replacing
the server's previous one: DRS keeps one per server), a terminated instance disappears.
"""

from __future__ import annotations

from typing import Any

from orchestration.drs.sim import render
from orchestration.drs.sim.api import (
    conflict,
    quota_exceeded,
    refuse_duplicates,
    unknown_ids,
    valid_tags,
    validation_error,
)
from orchestration.drs.sim.context import Call
from orchestration.drs.sim.faults import SimFaults
from orchestration.drs.sim.format import ec2_instance_id, job_id, unit_interval
from orchestration.drs.sim.replication import NO_DATA_YET, NOT_REPLICATING, replication_at, snapshots
from orchestration.drs.sim.store import InstanceRow, SimTx, SourceServerRow
from orchestration.drs.sim.timeline import InitiatedBy, Job, JobServer, JobType, plan_end

MAX_SERVERS_PER_REQUEST = 200  # StartRecoveryRequestSourceServers max in the model
MAX_INSTANCES_PER_REQUEST = 200  # RecoveryInstancesForTerminationRequest max in the model


def start_recovery(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    requested: list[dict[str, Any]] = list(params.get("sourceServers") or [])
    is_drill = bool(params.get("isDrill", False))
    tags = valid_tags(params.get("tags") or {})
    if not requested:
        raise validation_error(
            "sourceServers must name at least one source server", [("sourceServers", "empty")]
        )
    if len(requested) > MAX_SERVERS_PER_REQUEST:
        raise validation_error(
            f"sourceServers holds {len(requested)} items; at most {MAX_SERVERS_PER_REQUEST} are allowed",
            [("sourceServers", f"at most {MAX_SERVERS_PER_REQUEST} items")],
        )
    ids = [str(r["sourceServerID"]) for r in requested]
    refuse_duplicates(ids, "sourceServers")
    if len(ids) > call.limits.max_servers_per_job:
        raise quota_exceeded(
            f"A job can launch at most {call.limits.max_servers_per_job} source servers; "
            f"this request has {len(ids)}",
            "MaxSourceServersPerJob",
            "SOURCE_SERVER",
        )
    rows = {sid: row for sid in ids if (row := call.server(sid)) is not None}
    unknown = [sid for sid in ids if sid not in rows]
    if unknown:
        raise unknown_ids("sourceServers.sourceServerID", unknown, "source server", f" in {call.scope}")
    active = call.tx.jobs(call.scope.account_id, call.scope.region, active_at=call.now)
    _refuse_busy_servers(ids, active)
    _check_job_quotas(call, active, len(ids))
    _check_instance_quota(call, active, ids)

    faults = SimFaults.from_rows(call.tx.faults())
    seq = call.tx.next_sequence("job_seq")
    new_job_id = job_id(call.scope.account_id, call.scope.region, seq)
    started = call.now + call.timing.pending_seconds
    members = [
        _plan_launch(
            call,
            rows[str(r["sourceServerID"])],
            r,
            new_job_id=new_job_id,
            position=position,
            faults=faults,
            started=started,
        )
        for position, r in enumerate(requested)
    ]
    job = _job(
        call,
        seq=seq,
        new_job_id=new_job_id,
        job_type="LAUNCH",
        is_drill=is_drill,
        started=started,
        members=members,
    )
    return _store_job(call, job, tags)


def terminate_recovery_instances(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    ids = [str(i) for i in params.get("recoveryInstanceIDs") or []]
    if not ids:
        raise validation_error("recoveryInstanceIDs must not be empty", [("recoveryInstanceIDs", "empty")])
    if len(ids) > MAX_INSTANCES_PER_REQUEST:
        raise validation_error(
            f"recoveryInstanceIDs holds {len(ids)} ids; at most {MAX_INSTANCES_PER_REQUEST} per call",
            [("recoveryInstanceIDs", f"at most {MAX_INSTANCES_PER_REQUEST} items")],
        )
    refuse_duplicates(ids, "recoveryInstanceIDs")
    found = {
        i: row
        for i in ids
        if (row := call.tx.instance(i)) is not None and call.scope.holds(row.account_id, row.region)
    }
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise unknown_ids("recoveryInstanceIDs", unknown, "recovery instance", f" in {call.scope}")
    active = call.tx.jobs(call.scope.account_id, call.scope.region, active_at=call.now)
    terminating = {s.instance_id: j.job_id for j in active if j.type == "TERMINATE" for s in j.servers}
    busy = {s.source_server_id: j.job_id for j in active for s in j.servers}
    for instance_id, row in found.items():
        holder = terminating.get(instance_id) or busy.get(row.source_server_id)
        if holder:
            raise conflict(
                f"Recovery instance {instance_id} (source server {row.source_server_id}) is part of "
                f"active job {holder}",
                instance_id,
                "RECOVERY_INSTANCE",
            )
    _check_job_quotas(call, active, len(ids))

    seq = call.tx.next_sequence("job_seq")
    new_job_id = job_id(call.scope.account_id, call.scope.region, seq)
    started = call.now + call.timing.pending_seconds
    members = [
        JobServer(
            job_id=new_job_id,
            position=position,
            source_server_id=found[i].source_server_id,
            instance_id=i,
            conversion_server_id=None,
            outcome="TERMINATED",
            finish_at=started + call.timing.terminate_seconds * _jitter("terminate", new_job_id, i),
        )
        for position, i in enumerate(ids)
    ]
    is_drill = all(row.is_drill for row in found.values())
    job = _job(
        call,
        seq=seq,
        new_job_id=new_job_id,
        job_type="TERMINATE",
        is_drill=is_drill,
        started=started,
        members=members,
    )
    return _store_job(call, job, {})


def settle(tx: SimTx, now: float) -> None:
    """Store what finished by `now`, in the order it finished: new recovery instances, removed ones."""
    for job, member in tx.unsettled(now):
        if job.type == "LAUNCH" and member.outcome == "LAUNCHED" and member.instance_id:
            for previous in tx.instances_of_server(member.source_server_id):
                _remove_instance(tx, previous)
            instance = InstanceRow(
                recovery_instance_id=member.instance_id,
                account_id=job.account_id,
                region=job.region,
                source_server_id=member.source_server_id,
                job_id=job.job_id,
                is_drill=job.is_drill,
                launched_at=member.finish_at,
                point_in_time=member.point_in_time if member.point_in_time is not None else job.created_at,
            )
            tx.insert_instance(instance)
            job_tags = tx.tags(render.job_arn(job))
            if job_tags:
                tx.put_tags(render.instance_arn(instance), job_tags)
        elif job.type == "TERMINATE" and member.instance_id:
            existing = tx.instance(member.instance_id)
            if existing is not None:
                _remove_instance(tx, existing)
        tx.mark_settled(job.job_id, member.source_server_id)


def _plan_launch(
    call: Call,
    row: SourceServerRow,
    request: dict[str, Any],
    *,
    new_job_id: str,
    position: int,
    faults: SimFaults,
    started: float,
) -> JobServer:
    """When and how this server's launch will end, decided now (faults apply to new jobs only)."""
    sid = row.source_server_id
    replication = replication_at(row, faults, call.now)
    snaps = snapshots(row, replication, call.now)
    wanted = request.get("recoverySnapshotID")
    snapshot = None
    if wanted:
        snapshot = next((s for s in snaps if s.snapshot_id == wanted), None)
        if snapshot is None:
            raise unknown_ids(f"sourceServers[{position}].recoverySnapshotID", [wanted], "recovery snapshot")
    elif replication.state in NOT_REPLICATING and snaps:
        snapshot = snaps[-1]  # no fresh data to snapshot on demand: the latest existing one
    no_snapshot = replication.state in NO_DATA_YET or (
        replication.state in NOT_REPLICATING and snapshot is None
    )
    if no_snapshot:
        reason = (
            f"Source server {sid} has no point-in-time snapshot to launch from "
            f"(data replication state {replication.state})"
        )
        return JobServer(new_job_id, position, sid, None, None, "SKIPPED", started, raw_error=reason)
    slowness = row.spec.launch_time_factor * faults.slow_factor(sid) * _jitter("launch", new_job_id, sid)
    failing = sid in faults.failing_servers
    return JobServer(
        job_id=new_job_id,
        position=position,
        source_server_id=sid,
        instance_id=ec2_instance_id("recovery-instance", new_job_id, sid),
        conversion_server_id=ec2_instance_id("conversion-server", new_job_id, sid),
        outcome="FAILED" if failing else "LAUNCHED",
        finish_at=started + call.timing.launch_seconds * slowness,
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        point_in_time=snapshot.taken if snapshot else replication.frontier(call.now),
        previous_snapshot=snapshot is not None,
        raw_error=(
            f"Failed to launch the recovery instance of {row.hostname}: EC2 RunInstances returned "
            "InsufficientInstanceCapacity (simulated failure: fail_servers)"
            if failing
            else None
        ),
    )


def _jitter(kind: str, new_job_id: str, item: str) -> float:
    """0.9-1.1, fixed per (job, server): servers of one wave finish at slightly different times."""
    return 0.9 + 0.2 * unit_interval(kind, new_job_id, item)


def _refuse_busy_servers(ids: list[str], active: list[Job]) -> None:
    busy = {s.source_server_id: j.job_id for j in active for s in j.servers}
    taken = [sid for sid in ids if sid in busy]
    if taken:
        listed = ", ".join(f"{sid} (job {busy[sid]})" for sid in taken)
        raise conflict(
            f"Source servers already participate in an active job: {listed}", taken[0], "SOURCE_SERVER"
        )


def _check_job_quotas(call: Call, active: list[Job], new_servers: int) -> None:
    limits = call.limits
    if len(active) >= limits.max_concurrent_jobs:
        raise quota_exceeded(
            f"{len(active)} jobs are active in {call.scope}; at most {limits.max_concurrent_jobs} "
            "can run at the same time",
            "MaxConcurrentJobs",
            "JOB",
        )
    in_jobs = sum(len(j.servers) for j in active)
    if in_jobs + new_servers > limits.max_servers_in_active_jobs:
        raise quota_exceeded(
            f"Active jobs already hold {in_jobs} source servers; adding {new_servers} would exceed "
            f"the limit of {limits.max_servers_in_active_jobs}",
            "MaxSourceServersInAllActiveJobs",
            "SOURCE_SERVER",
        )


def _check_instance_quota(call: Call, active: list[Job], ids: list[str]) -> None:
    live = call.tx.instances(call.scope.account_id, call.scope.region)
    coming = sum(1 for j in active if j.type == "LAUNCH" for s in j.servers if not s.settled)
    replaced = len({i.source_server_id for i in live} & set(ids))
    total = len(live) + coming + len(ids) - replaced
    limit = call.limits.max_recovery_instances
    if total > limit:
        raise quota_exceeded(
            f"Launching would make {total} recovery instances; the limit is {limit}",
            "MaxRecoveryInstances",
            "RECOVERY_INSTANCE",
        )


def _job(
    call: Call,
    *,
    seq: int,
    new_job_id: str,
    job_type: JobType,
    is_drill: bool,
    started: float,
    members: list[JobServer],
) -> Job:
    initiated_by: InitiatedBy
    if job_type == "TERMINATE":
        initiated_by = "TERMINATE_RECOVERY_INSTANCES"
    else:
        initiated_by = "START_DRILL" if is_drill else "START_RECOVERY"
    return Job(
        job_id=new_job_id,
        account_id=call.scope.account_id,
        region=call.scope.region,
        seq=seq,
        type=job_type,
        initiated_by=initiated_by,
        is_drill=is_drill,
        created_at=call.now,
        started_at=started,
        ended_at=plan_end(started, members),
        servers=tuple(members),
    )


def _store_job(call: Call, job: Job, tags: dict[str, str]) -> dict[str, Any]:
    call.tx.insert_job(job)
    if tags:
        call.tx.put_tags(render.job_arn(job), tags)
    settle(call.tx, call.now)  # with zero launch time a job is already over when it is created
    return {"job": render.job_item(job, tags, call.now)}


def _remove_instance(tx: SimTx, row: InstanceRow) -> None:
    tx.delete_instance(row.recovery_instance_id)
    tx.delete_tags(render.instance_arn(row))
