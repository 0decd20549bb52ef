"""Launching a wave exactly once, even when DRS's answer is lost (docs/engine.md).

A wave is claimed (INITIATED, saved with the version check) before anything is asked of DRS. Then,
every time, before StartRecovery is issued or reissued:

1. **Reconcile**: ask DRS for this run's jobs (`describe_jobs` from the run's start, every page) and
   look for a LAUNCH job tagged with this execution and wave. One found is adopted: its id is
   recorded and no second job is started. (Two can only exist if DRS itself lost track; the oldest
   is adopted and the other is named in an event; its instances are the cleanup's as well.)
2. **Launch**: only when none exists, StartRecovery tagged `drbot:executionId` / `drbot:wave`.
3. **Outcome**: a job id → recorded. A refusal DRS answered (throttled, quota full) started nothing:
   the claim is released and the wave is tried again after a backoff. No answer at all (a timeout,
   a lost response, a 5xx: `DrsOutcomeUnknown`) may have started the job: the wave stays claimed
   with no job, and the next tick reconciles again before anything else. A ConflictException (the
   servers are in an active job) is reconciled at once: the job is ours (adopted) or someone else's
   (the wave fails with DRS's message).

Because every StartRecovery is preceded by a reconciliation that DRS answered completely, and a
claim is held by one tick at a time, a second job for a wave can only be started if DRS did not yet
list a job it had created; DRS's own guard (a server already in an active job cannot join another:
ConflictException) then refuses it, and the conflict is reconciled.
"""

from __future__ import annotations

from orchestration.drs.gateway import DrsGateway, DrsJob
from orchestration.engine.tick import TAG_EXECUTION, TAG_WAVE, Tick, named
from orchestration.errors import (
    Conflict,
    DrbotError,
    DrsLimitExceeded,
    DrsOutcomeUnknown,
    DrsUnavailable,
    NotFound,
)
from orchestration.models import (
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    ServerRun,
    WaveStatus,
    servers_of,
)
from orchestration.wave_overlap import duplicate_server_error, duplicate_servers


def launch_wave(tick: Tick, execution: Execution, number: int) -> Execution:
    """Launch a claimed wave, or adopt the job an earlier attempt started (see the module doc)."""
    wave = execution.wave(number)
    gateway = tick.gateway(tick.place(wave))
    try:
        found = launch_jobs(tick, execution, number)
        if found:
            return record_launch(tick, execution, number, found)
        if execution.status == ExecutionStatus.CANCELLING:
            return _cancel_unlaunched(tick, execution, number)
        server_ids, hostnames = wave_servers(tick, execution, number, gateway)
        if not server_ids:
            return _complete_empty(tick, execution, number)
        refusal = _refusal(tick, execution, number, server_ids, hostnames)
        if refusal is not None:
            return fail_wave(tick, execution, number, refusal)
        tags = {TAG_EXECUTION: execution.execution_id, TAG_WAVE: str(number)}
        is_drill = execution.execution_type == ExecutionType.DRILL
        job = gateway.start_recovery(server_ids, is_drill, tags)
    except DrsOutcomeUnknown as error:
        # the job may exist: keep the claim, with no lease, so the next tick reconciles first
        unknown = execution.wave(number).model_copy(update={"claimed_at": None})
        return tick.back_off(execution.replace_wave(unknown), error)
    except Conflict as error:
        return _reconcile_conflict(tick, execution, number, gateway, error)
    except (DrsUnavailable, DrsLimitExceeded) as error:
        # DRS answered and started nothing: release the claim and try again after a backoff
        released = execution.wave(number).with_status(WaveStatus.PENDING, tick.now)
        released = released.model_copy(update={"claimed_at": None, "start_time": None})
        return tick.back_off(execution.replace_wave(released), error)
    except DrbotError as error:
        return fail_wave(tick, execution, number, error.message)
    servers = [ServerRun(source_server_id=sid, hostname=hostnames.get(sid, "")) for sid in server_ids]
    return record_launch(tick, execution, number, [job], servers=servers, adopted=False)


def launch_jobs(tick: Tick, execution: Execution, number: int) -> list[DrsJob]:
    """The LAUNCH jobs DRS holds for this execution's wave, oldest first (by their tags)."""
    tagged = [
        job
        for job in tick.run_jobs(execution, tick.place(execution.wave(number)))
        if job.type == "LAUNCH"
        and job.tags.get(TAG_EXECUTION) == execution.execution_id
        and job.tags.get(TAG_WAVE) == str(number)
    ]
    return sorted(tagged, key=lambda job: (job.created_at or 0, job.job_id))


def wave_servers(
    tick: Tick, execution: Execution, number: int, gateway: DrsGateway
) -> tuple[list[str], dict[str, str]]:
    """The wave's servers now. An explicit-id group is described by its ids (200 per call); a tag
    group is resolved against the region's servers at launch."""
    wave = execution.wave(number)
    if wave.protection_group_id is None:
        return [s.source_server_id for s in wave.servers], {}
    try:
        group = tick.store.get_group(wave.protection_group_id)
    except NotFound:
        raise NotFound(f"its protection group {wave.protection_group_id} no longer exists") from None
    candidates = gateway.source_servers(group.source_server_ids or None)
    servers = servers_of(group, candidates)
    return [s.source_server_id for s in servers], {s.source_server_id: s.hostname for s in servers}


def _named_runs(tick: Tick, execution: Execution, number: int, job: DrsJob) -> list[ServerRun]:
    """The servers of an adopted job, with their hostnames where DRS tells them (best effort)."""
    gateway = tick.gateway(tick.place(execution.wave(number)))
    try:
        hostnames = {s.source_server_id: s.hostname for s in gateway.source_servers(job.server_ids)}
    except DrbotError:
        hostnames = {}
    return [ServerRun(source_server_id=sid, hostname=hostnames.get(sid, "")) for sid in job.server_ids]


def _refusal(
    tick: Tick, execution: Execution, number: int, server_ids: list[str], hostnames: dict[str, str]
) -> str | None:
    """Why this wave must not launch these servers: one job's limit, or a server that another wave
    of the run launched already (a tag group resolved at launch can overlap another wave's group)."""
    limit = tick.settings.drs_limits.max_servers_per_job
    if len(server_ids) > limit:
        return f"{len(server_ids)} servers, more than the {limit} one DRS job can launch"
    waves = {w.wave_number: [s.source_server_id for s in w.servers] for w in execution.waves if w.servers}
    waves[number] = server_ids
    duplicates = {sid: waves_of for sid, waves_of in duplicate_servers(waves).items() if number in waves_of}
    if not duplicates:
        return None
    known = {s.source_server_id: s.hostname for w in execution.waves for s in w.servers if s.hostname}
    return duplicate_server_error(duplicates, known | hostnames).message


def _reconcile_conflict(
    tick: Tick, execution: Execution, number: int, gateway: DrsGateway, error: Conflict
) -> Execution:
    """DRS says the servers are in an active job: the one a lost answer started (adopt it), or
    somebody else's (the wave fails with DRS's words)."""
    tick.forget_run_jobs()  # the conflict may be a job listed since this tick's listing: ask again
    try:
        found = launch_jobs(tick, execution, number)
    except DrbotError as lookup:
        unknown = execution.wave(number).model_copy(update={"claimed_at": None})
        return tick.back_off(execution.replace_wave(unknown), lookup)
    if found:
        return record_launch(tick, execution, number, found)
    return fail_wave(tick, execution, number, error.message)


def record_launch(
    tick: Tick,
    execution: Execution,
    number: int,
    jobs: list[DrsJob],
    *,
    servers: list[ServerRun] | None = None,
    adopted: bool = True,
) -> Execution:
    """Record the wave's job (the oldest of `jobs`): LAUNCHING from now on."""
    job = jobs[0]
    runs = servers or _named_runs(tick, execution, number, job)  # an adopted job: its servers named
    names = named([s.hostname or s.source_server_id for s in runs])

    def record(current: Execution) -> Execution:
        wave = current.wave(number)
        if wave.job_id is not None or wave.status != WaveStatus.INITIATED:
            return current  # recorded already, or the wave moved on
        launched = wave.with_status(WaveStatus.LAUNCHING, tick.now).model_copy(
            update={"job_id": job.job_id, "servers": runs, "claimed_at": None}
        )
        current = current.replace_wave(launched).with_event(
            EventType.WAVE_LAUNCHED,
            tick.now,
            f"Wave {number} ({wave.wave_name}) launching {len(runs)} server(s): {names}",
            wave_number=number,
            jobId=job.job_id,
            total=len(runs),
            recovered=adopted,
        )
        if len(jobs) > 1:
            others = [j.job_id for j in jobs[1:]]
            current = current.with_event(
                EventType.DRS_RETRY,
                tick.now,
                f"DRS holds {len(jobs)} launch jobs for wave {number}; following {job.job_id}, "
                f"not {', '.join(others)} (a drill's cleanup terminates their instances too)",
                wave_number=number,
                duplicateJobIds=others,
            )
        return current

    return tick.record(execution, record)


def fail_wave(tick: Tick, execution: Execution, number: int, reason: str) -> Execution:
    wave = execution.wave(number)
    failed = wave.with_status(WaveStatus.FAILED, tick.now).model_copy(
        update={"error": reason, "claimed_at": None}
    )
    return tick.save(
        execution.replace_wave(failed).with_event(
            EventType.WAVE_FAILED,
            tick.now,
            f"Wave {number} ({wave.wave_name}) failed to launch: {reason}",
            wave_number=number,
        )
    )


def _complete_empty(tick: Tick, execution: Execution, number: int) -> Execution:
    wave = execution.wave(number)
    done = wave.with_status(WaveStatus.COMPLETED, tick.now)
    return tick.save(
        execution.replace_wave(done).with_event(
            EventType.WAVE_COMPLETED,
            tick.now,
            f"Wave {number} ({wave.wave_name}) had no servers to launch",
            wave_number=number,
            launched=0,
            total=0,
        )
    )


def _cancel_unlaunched(tick: Tick, execution: Execution, number: int) -> Execution:
    """A claimed wave that never reached DRS, of an execution cancelled since: not launched."""

    def cancel(current: Execution) -> Execution:
        wave = current.wave(number)
        if wave.status != WaveStatus.INITIATED or wave.job_id is not None:
            return current
        cancelled = wave.with_status(WaveStatus.CANCELLED, tick.now).model_copy(update={"claimed_at": None})
        return current.replace_wave(cancelled).with_event(
            EventType.WAVE_CANCELLED,
            tick.now,
            f"Wave {number} ({wave.wave_name}) cancelled before it was launched",
            wave_number=number,
        )

    return tick.record(execution, cancel)
