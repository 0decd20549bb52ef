"""A drill's cleanup, verified against DRS, never assumed (docs/engine.md).

The cleanup is a series of *looks*, each one claimed by one tick (a lease, like a launch). In each
region and account the drill used, a look reads the run's jobs (`describe_jobs` from the run's
start, the tick's one listing): the drill's LAUNCH jobs — recorded, or tagged with the execution
though the record does not know them — and the TERMINATE jobs. From them and the record it knows
the drill's instances and which were already handed to a termination. Then:

1. **Hand over**: instances no TERMINATE job has had yet are terminated, within what DRS allows at
   once per region (20 active jobs and 500 servers in active jobs, terminations included), 200 a
   job in wave order. One DRS refuses as unknown is confirmed by id and remembered as gone.
2. **Wait** while a termination of the drill's instances is still running.
3. **Verify**: once everything was handed over and every termination ended, ask DRS for the
   recovery instances of every server the drill launched (by source server, 200 ids per call,
   every page; above 800 servers, the region's listing, 1,000 a page, is fewer calls). What is
   still there (a termination that failed) is terminated again.

Only a verification that DRS answered completely, finding none of the drill's instances and none of
its launch jobs still running, completes the cleanup. A throttled, failed or timed-out call makes the
look incomplete: it is retried after a backoff, never read as "none left". Past the deadline
(`DRBOT_CLEANUP_DEADLINE_MINUTES`, 2 hours by default) the look verifies and the cleanup FAILS,
naming exactly the instances DRS still showed, by instance id and hostname.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestration.clock import duration_text
from orchestration.drs.gateway import MAX_SERVER_IDS_PER_CALL, DrsGateway, DrsJob, RecoveryInstance, batches
from orchestration.engine.tick import TAG_EXECUTION, TAG_WAVE, Place, Tick, named
from orchestration.engine.timing import backoff_seconds, cleanup_look_after
from orchestration.errors import Conflict, DrbotError, ValidationFailed
from orchestration.models import (
    CleanupRun,
    CleanupStatus,
    EventType,
    Execution,
    LaunchStatus,
    ServerRun,
    WaveRun,
)

UNRECORDED_NAMED = 100  # survivors that no wave lists, named on the cleanup itself (the rest counted)
REGION_LISTING_ABOVE = 800  # servers: above this, one region-wide listing is fewer calls than by server


@dataclass
class PlaceLook:
    """What one look saw and did in one region/account."""

    verified: bool = False  # DRS was asked for every instance of the drill here, and answered
    ours: list[RecoveryInstance] = field(default_factory=list)  # what the verification found
    pending: int = 0  # instances not verified gone: waiting, being terminated, or found
    gone: list[str] = field(default_factory=list)  # instances DRS no longer shows (never handed)
    launching: list[str] = field(default_factory=list)  # the drill's launch jobs still active
    started: dict[int, list[str]] = field(default_factory=dict)  # wave → TERMINATE jobs started now
    handed: int = 0  # instances handed to them
    error: DrbotError | None = None  # set: DRS did not answer everything; the look is incomplete


@dataclass
class _Drill:
    """The drill's instances in one place, as its record and its DRS jobs tell them."""

    launch_jobs: set[str]
    instances: dict[str, str]  # recovery instance id → source server id
    wave_of_server: dict[str, int]  # source server id → wave number


def look(tick: Tick, execution: Execution) -> Execution:
    """One look of a claimed cleanup: see what DRS still shows, terminate it, record the outcome."""
    cleanup = execution.cleanup
    assert cleanup is not None  # decide claimed it
    deadline = cleanup.deadline_at or _deadline(tick, cleanup)
    places = sorted({tick.place(w) for w in execution.waves}, key=lambda p: (p[0], p[1] or ""))
    looks = [_look_at(tick, execution, place, force_verify=tick.now >= deadline) for place in places]
    return tick.record(execution, lambda current: _record(tick, current, looks))


def _deadline(tick: Tick, cleanup: CleanupRun) -> int:
    return (cleanup.started_at or tick.now) + tick.settings.cleanup_deadline_minutes * 60


def _look_at(tick: Tick, execution: Execution, place: Place, force_verify: bool) -> PlaceLook:
    seen = PlaceLook()
    try:
        jobs = tick.run_jobs(execution, place)
    except DrbotError as error:
        seen.error = error
        return seen
    drill = _drill(tick, execution, place, jobs)
    seen.launching = [j.job_id for j in jobs if j.job_id in drill.launch_jobs and j.is_active]
    terminations = [j for j in jobs if j.type == "TERMINATE"]
    handed = {s.recovery_instance_id for j in terminations for s in j.servers if s.recovery_instance_id}
    held = {s.recovery_instance_id for j in terminations if j.is_active for s in j.servers}
    gone = set(execution.cleanup.gone if execution.cleanup else [])
    waiting = [i for i in drill.instances if i not in handed and i not in gone]
    gateway = tick.gateway(place)
    if waiting and not force_verify:
        _hand_over(tick, gateway, seen, jobs, drill=drill, waiting=waiting)
        seen.pending = len(drill.instances) - len(gone) - len(seen.gone)
        return seen
    if held & set(drill.instances) and not force_verify:
        seen.pending = len(held & set(drill.instances))
        return seen  # terminations still running: verify once they have ended
    found, unanswered = _drill_instances(gateway, sorted(drill.wave_of_server))
    seen.error = unanswered
    seen.verified = unanswered is None
    seen.ours = [
        i
        for i in found
        if i.is_drill and (i.job_id in drill.launch_jobs or i.recovery_instance_id in drill.instances)
    ]
    seen.pending = len(seen.ours)
    survivors = [i.recovery_instance_id for i in seen.ours if i.recovery_instance_id not in held]
    waves = {i.recovery_instance_id: drill.wave_of_server.get(i.source_server_id or "", 0) for i in seen.ours}
    _terminate(tick, gateway, seen, jobs, instance_ids=survivors, wave_of=waves)
    return seen


def _drill(tick: Tick, execution: Execution, place: Place, jobs: list[DrsJob]) -> _Drill:
    waves = [w for w in execution.waves if tick.place(w) == place]
    launch_jobs = {w.job_id for w in waves if w.job_id}
    instances = {
        s.recovery_instance_id: s.source_server_id
        for w in waves
        for s in w.servers
        if s.recovery_instance_id and s.launch_status == LaunchStatus.LAUNCHED
    }
    wave_of_server = {s.source_server_id: w.wave_number for w in waves for s in w.servers}
    for job in jobs:
        if job.type != "LAUNCH" or job.tags.get(TAG_EXECUTION) != execution.execution_id:
            continue
        launch_jobs.add(job.job_id)
        tag = job.tags.get(TAG_WAVE, "")
        number = int(tag) if tag.isascii() and tag.isdigit() else 0
        for server in job.servers:
            wave_of_server.setdefault(server.source_server_id, number)
            if server.recovery_instance_id and server.launch_status == LaunchStatus.LAUNCHED:
                instances.setdefault(server.recovery_instance_id, server.source_server_id)
    return _Drill(launch_jobs, instances, wave_of_server)


def _drill_instances(
    gateway: DrsGateway, server_ids: list[str]
) -> tuple[list[RecoveryInstance], DrbotError | None]:
    """The recovery instances of these servers, every page, with the error that left it incomplete.
    By source server (200 ids a call) for most drills; a drill of more servers than that costs reads
    the whole region's (1,000 a page; DRS holds at most 4,000 recovery instances a region)."""
    if len(server_ids) <= REGION_LISTING_ABOVE:
        return gateway.recovery_instances_of(server_ids)
    wanted = set(server_ids)
    try:
        listed = gateway.recovery_instances()
    except DrbotError as error:
        return [], error
    return [i for i in listed if i.source_server_id in wanted], None


def _hand_over(
    tick: Tick, gateway: DrsGateway, seen: PlaceLook, jobs: list[DrsJob], *, drill: _Drill, waiting: list[str]
) -> None:
    """Terminate the instances no TERMINATE job has had yet, as many as DRS takes now."""
    waves = {i: drill.wave_of_server.get(drill.instances[i], 0) for i in waiting}
    _terminate(tick, gateway, seen, jobs, instance_ids=waiting, wave_of=waves)


def _server_slots(tick: Tick, jobs: list[DrsJob]) -> int:
    active = [j for j in jobs if j.is_active]
    return tick.settings.drs_limits.max_servers_in_all_jobs - sum(len(j.servers) for j in active)


def _terminate(
    tick: Tick,
    gateway: DrsGateway,
    seen: PlaceLook,
    jobs: list[DrsJob],
    *,
    instance_ids: list[str],
    wave_of: dict[str, int],
) -> None:
    """TERMINATE jobs for `instance_ids` (≤200 a job, in wave order; each job is recorded on every
    wave it holds instances of), within DRS's job quotas for the region. An instance DRS refuses as
    unknown is confirmed gone by id and the rest of its batch terminated."""
    active = [j for j in jobs if j.is_active]
    job_slots = tick.settings.drs_limits.max_concurrent_jobs - len(active)
    ordered = sorted(instance_ids[: max(0, _server_slots(tick, jobs))], key=lambda i: (wave_of.get(i, 0), i))
    for batch in batches(ordered, MAX_SERVER_IDS_PER_CALL):
        if job_slots <= 0:
            return
        try:
            started = _terminate_batch(gateway, seen, batch)
        except Conflict:
            continue  # one of them is being terminated by a job this look did not see: next look
        except DrbotError as error:
            seen.error = seen.error or error
            return  # throttled, quota full, or no answer: the next look sees what happened
        handed = [i for i in batch if i not in seen.gone]
        for number in sorted({wave_of.get(i, 0) for i in handed}):
            seen.started.setdefault(number, []).extend(job.job_id for job in started)
        seen.handed += len(handed)
        job_slots -= len(started)


def _terminate_batch(gateway: DrsGateway, seen: PlaceLook, batch: list[str]) -> list[DrsJob]:
    try:
        return gateway.terminate_recovery_instances(batch)
    except ValidationFailed:
        # DRS knows one of them no more (terminated by someone else, or replaced by a new launch)
        existing = {i.recovery_instance_id for i in gateway.recovery_instances_by_id(batch)}
        seen.gone += [i for i in batch if i not in existing]
        remaining = [i for i in batch if i in existing]
        return gateway.terminate_recovery_instances(remaining) if remaining else []


def _record(tick: Tick, current: Execution, looks: list[PlaceLook]) -> Execution:
    cleanup = current.cleanup
    if cleanup is None or cleanup.status != CleanupStatus.TERMINATING:
        return current  # the cleanup moved on (another tick recorded it)
    ours = [i for seen in looks for i in seen.ours]
    verified = all(seen.verified for seen in looks)
    error = next((seen.error for seen in looks if seen.error is not None), None)
    launching = [job for seen in looks for job in seen.launching]
    started: dict[int, list[str]] = {}
    for seen in looks:
        for number, job_ids in seen.started.items():
            started.setdefault(number, []).extend(job_ids)
    if started:
        current = current.model_copy(
            update={
                "waves": [
                    w.model_copy(
                        update={"terminate_job_ids": [*w.terminate_job_ids, *started[w.wave_number]]}
                    )
                    if w.wave_number in started
                    else w
                    for w in current.waves
                ]
            }
        )
    handed = sum(seen.handed for seen in looks)
    deadline = cleanup.deadline_at or _deadline(tick, cleanup)
    progressed = cleanup.model_copy(
        update={
            "rounds": cleanup.rounds + 1,
            "terminated": cleanup.terminated + handed,
            "remaining": sum(seen.pending for seen in looks),
            "gone": [*cleanup.gone, *(i for seen in looks for i in seen.gone)],
            "deadline_at": deadline,
            "claimed_at": None,
        }
    )
    if verified and not ours and not launching:
        done = progressed.model_copy(update={"status": CleanupStatus.COMPLETED, "finished_at": tick.now})
        count = max(done.instance_count, done.terminated)
        return current.model_copy(update={"cleanup": done, "transient_errors": 0}).with_event(
            EventType.CLEANUP_COMPLETED,
            tick.now,
            f"Cleanup done: {count} drill instance(s) terminated; DRS shows none left",
            terminated=done.terminated,
        )
    if tick.now >= deadline:
        return _give_up(tick, current, progressed, ours, error)
    streak = current.transient_errors + 1 if error is not None else 0
    # the next look: 15 s later, backing off (a termination takes DRS minutes); an incomplete one
    # backs off as DRS errors do
    wait = backoff_seconds(streak) if error is not None else cleanup_look_after(progressed.rounds)
    updated = current.model_copy(
        update={
            "cleanup": progressed.model_copy(update={"due_at": tick.now + wait}),
            "transient_errors": streak,
        }
    )
    if cleanup.rounds == 0:
        started_text = (
            f"Terminating {progressed.remaining} drill instance(s)"
            if error is None
            else "Cleanup started: DRS did not answer every question yet; looking again"
        )
        updated = updated.with_event(
            EventType.CLEANUP_STARTED, tick.now, started_text, instances=progressed.remaining
        )
    elif error is not None and current.transient_errors == 0:
        updated = updated.with_event(
            EventType.DRS_RETRY,
            tick.now,
            f"DRS did not answer the cleanup ({error.message}); looking again with backoff",
        )
    return updated


def _give_up(
    tick: Tick,
    current: Execution,
    cleanup: CleanupRun,
    ours: list[RecoveryInstance],
    error: DrbotError | None,
) -> Execution:
    """The deadline passed: FAILED, naming what DRS still shows (each wave's servers are marked)."""
    left = {i.recovery_instance_id: i for i in ours}
    waves: list[WaveRun] = []
    listed: set[str] = set()
    for wave in current.waves:
        servers: list[ServerRun] = []
        for server in wave.servers:
            if server.recovery_instance_id in left:
                listed.add(server.recovery_instance_id)
                servers.append(server.model_copy(update={"left_running": True}))
            else:
                servers.append(server)
        waves.append(wave if servers == wave.servers else wave.model_copy(update={"servers": servers}))
    hostnames = {s.source_server_id: s.hostname for w in current.waves for s in w.servers if s.hostname}
    names = [_instance_name(i, hostnames) for i in ours]
    unrecorded = [name for i, name in zip(ours, names, strict=True) if i.recovery_instance_id not in listed]
    elapsed = duration_text(tick.now - (cleanup.started_at or tick.now))
    if ours:
        message = (
            f"{len(ours)} drill instance(s) still running after {elapsed} of cleanup: {named(names)}; "
            "terminate them in the DRS console"
        )
    else:
        message = (
            f"DRS did not answer the cleanup for {elapsed} ({error.message if error else 'no answer'}): "
            f"the {cleanup.instance_count} drill instance(s) launched may still be running; check DRS"
        )
    ended = cleanup.model_copy(
        update={
            "status": CleanupStatus.FAILED,
            "finished_at": tick.now,
            "error": message,
            "left_unrecorded": unrecorded[:UNRECORDED_NAMED],
        }
    )
    return current.model_copy(update={"cleanup": ended, "waves": waves, "transient_errors": 0}).with_event(
        EventType.CLEANUP_FAILED, tick.now, message, instancesLeft=len(ours)
    )


def _instance_name(instance: RecoveryInstance, hostnames: dict[str, str]) -> str:
    server = instance.source_server_id or ""
    return f"{instance.ec2_instance_id or instance.recovery_instance_id} ({hostnames.get(server, server)})"
