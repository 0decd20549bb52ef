"""The engine's decision: a pure function of (execution, what DRS says, now).

`decide` folds the observed DRS jobs into the execution's waves, moves the execution along its
lifecycle (docs/engine.md) and says which waves to launch and whether to terminate a drill's
instances. It performs no I/O: `advance` observes before and acts after.

Waves are claimed here (PENDING → INITIATED with `claimed_at`), and the claim is saved before any
launch, so two concurrent ticks cannot both launch a wave: the second one's save fails its version
check. A claim with no job id whose lease has run out means a tick died between its claim and
recording the job: that wave is handed back as `recover`, and `advance` looks for the job by its
tags before launching again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestration.clock import duration_text
from orchestration.drs.gateway import DrsJob, RecoveryInstance
from orchestration.drs.limits import DrsLimits
from orchestration.engine.timing import LEASE_SECONDS
from orchestration.models import (
    CleanupRun,
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    GateAction,
    LaunchStatus,
    ServerRun,
    WaveRun,
    WaveStatus,
)

__all__ = ["IN_FLIGHT", "LEASE_SECONDS", "Decision", "Observation", "decide"]

IN_FLIGHT = frozenset({WaveStatus.INITIATED, WaveStatus.LAUNCHING, WaveStatus.STARTED})
_FAILED_OR_SKIPPED = frozenset({WaveStatus.FAILED, WaveStatus.SKIPPED, WaveStatus.CANCELLED})
_E = ExecutionStatus


@dataclass(frozen=True)
class Observation:
    """What DRS said this tick."""

    jobs: Mapping[str, DrsJob] = field(default_factory=dict)  # by job id
    instances: Mapping[str, RecoveryInstance] = field(default_factory=dict)  # by recovery instance id


@dataclass(frozen=True)
class Decision:
    execution: Execution
    launch: tuple[int, ...] = ()  # waves claimed now: start their DRS jobs
    recover: tuple[int, ...] = ()  # waves whose earlier claim died: find their job, else launch
    terminate: bool = False  # the drill's cleanup is claimed: terminate its instances


def decide(execution: Execution, observation: Observation, now: int, limits: DrsLimits) -> Decision:
    """What to do now. Returns the very same execution object when nothing changed (the tick then
    writes nothing)."""
    execution = observe_waves(execution, observation, now)
    execution, launch, recover = settle(execution, now, limits)
    execution, terminate = claim_cleanup(execution, now)
    return Decision(execution, tuple(launch), tuple(recover), terminate)


# -- folding DRS into the waves -----------------------------------------------------------------


def observe_waves(execution: Execution, observation: Observation, now: int) -> Execution:
    for wave in execution.waves:
        if wave.status not in IN_FLIGHT or wave.job_id is None:
            continue
        job = observation.jobs.get(wave.job_id)
        if job is None:
            continue
        execution = _fold_job(execution, wave, job, observation, now)
    return execution


def _fold_job(
    execution: Execution, wave: WaveRun, job: DrsJob, observation: Observation, now: int
) -> Execution:
    launched_before = sum(1 for s in wave.servers if s.launch_status == LaunchStatus.LAUNCHED)
    known = {s.source_server_id: s for s in wave.servers}
    servers: list[ServerRun] = []
    for job_server in job.servers:
        current = known.get(job_server.source_server_id) or ServerRun(
            source_server_id=job_server.source_server_id
        )
        known_status = job_server.launch_status in LaunchStatus.__members__
        status = LaunchStatus(job_server.launch_status) if known_status else current.launch_status
        update: dict[str, object] = {"launch_status": status}
        if job_server.recovery_instance_id:
            update["recovery_instance_id"] = job_server.recovery_instance_id
            instance = observation.instances.get(job_server.recovery_instance_id)
            update["instance_id"] = (
                instance.ec2_instance_id if instance else None
            ) or job_server.recovery_instance_id
            if instance is not None and instance.point_in_time is not None:
                update["snapshot_time"] = instance.point_in_time
        if status == LaunchStatus.LAUNCHED and current.launched_at is None:
            update["launched_at"] = now
        if status == LaunchStatus.FAILED and current.error is None:
            update["error"] = "DRS could not launch this server (see the job log)"
        servers.append(current.model_copy(update=update))
    # servers DRS did not list (it should list all) keep what we knew
    listed = {s.source_server_id for s in servers}
    servers.extend(s for s in wave.servers if s.source_server_id not in listed)
    if (
        job.status != "COMPLETED"
        and servers == wave.servers
        and (job.status != "STARTED" or wave.status == WaveStatus.STARTED)
    ):
        return execution  # nothing new: the wave stays the object the store loaded (not rewritten)
    updated = wave.model_copy(update={"servers": servers})
    launched = sum(1 for s in servers if s.launch_status == LaunchStatus.LAUNCHED)
    total = len(servers)

    if job.status == "COMPLETED":
        if job.created_at is not None and job.ended_at is not None:
            updated = updated.model_copy(update={"job_seconds": max(0, job.ended_at - job.created_at)})
        failed = [s for s in servers if s.launch_status != LaunchStatus.LAUNCHED]
        if failed:
            names = ", ".join(f"{s.hostname or s.source_server_id} ({s.launch_status})" for s in failed)
            updated = updated.with_status(WaveStatus.FAILED, now).model_copy(
                update={"error": f"{len(failed)} of {total} server(s) did not launch: {names}"}
            )
            execution = execution.replace_wave(updated).with_event(
                EventType.WAVE_FAILED,
                now,
                f"Wave {wave.wave_number} ({wave.wave_name}) failed: {len(failed)} of {total} server(s) "
                f"did not launch: {names}",
                wave_number=wave.wave_number,
                failedServers=[s.source_server_id for s in failed],
                jobId=wave.job_id,
            )
        else:
            updated = updated.with_status(WaveStatus.COMPLETED, now)
            execution = execution.replace_wave(updated).with_event(
                EventType.WAVE_COMPLETED,
                now,
                f"Wave {wave.wave_number} ({wave.wave_name}) completed: {launched} of {total} server(s) "
                f"launched in {duration_text(now - (wave.start_time or now))}",
                wave_number=wave.wave_number,
                launched=launched,
                total=total,
                jobId=wave.job_id,
            )
        return execution

    if job.status == "STARTED" and updated.status != WaveStatus.STARTED:
        updated = updated.with_status(WaveStatus.STARTED, now)
    execution = execution.replace_wave(updated)
    if launched > launched_before:
        execution = execution.with_event(
            EventType.WAVE_PROGRESS,
            now,
            f"Wave {wave.wave_number} ({wave.wave_name}): {launched} of {total} server(s) launched",
            wave_number=wave.wave_number,
            launched=launched,
            total=total,
        )
    return execution


# -- moving the execution along ------------------------------------------------------------------


def settle(execution: Execution, now: int, limits: DrsLimits) -> tuple[Execution, list[int], list[int]]:
    """Status changes, skipped/cancelled waves, gates, and which waves to claim or recover."""
    recover = _expired_claims(execution, now)
    for number in recover:  # renew the lease: this tick recovers them
        execution = execution.replace_wave(execution.wave(number).model_copy(update={"claimed_at": now}))

    status = execution.status
    if status not in (_E.RUNNING, _E.PAUSED, _E.CANCELLING):
        return execution, [], recover
    in_flight = [w for w in execution.waves if w.status in IN_FLIGHT]

    if status == _E.CANCELLING:
        execution = _close_pending(
            execution, WaveStatus.CANCELLED, EventType.WAVE_CANCELLED, now, "cancelled"
        )
        if not in_flight:
            execution = _finish(execution, _E.CANCELLED, now, "Cancelled")
        return execution, [], recover

    failed = [w for w in execution.waves if w.status == WaveStatus.FAILED]
    if failed:
        execution = _close_pending(execution, WaveStatus.SKIPPED, EventType.WAVE_SKIPPED, now, "skipped")
        if not in_flight:
            names = ", ".join(f"{w.wave_number} ({w.wave_name})" for w in failed)
            execution = _finish(execution, _E.FAILED, now, f"Failed: wave {names} failed")
        return execution, [], recover

    if status == _E.PAUSED:  # even with every wave done: PAUSED → COMPLETED is no transition; resume ends it
        if execution.gate_deadline is None or now < execution.gate_deadline:
            return execution, [], recover
        return settle(_gate_timed_out(execution, now), now, limits)
    if all(w.status == WaveStatus.COMPLETED for w in execution.waves):
        return _finish(execution, _E.COMPLETED, now, "Completed"), [], recover

    launch: list[int] = []
    slots = max(0, limits.max_concurrent_jobs - len(in_flight))
    for wave in _ready(execution):
        if wave.pause_before and wave.wave_number not in execution.gates_passed:
            if execution.at_gate is not None and execution.at_gate.action == GateAction.PASS:
                execution = _pass_gate(execution, wave, now)
            elif launch:  # launch what is ready before the gate; pause on the next tick
                break
            else:
                return _pause_at_gate(execution, wave, now), [], recover
        if slots == 0:
            break
        claimed = wave.with_status(WaveStatus.INITIATED, now).model_copy(update={"claimed_at": now})
        execution = execution.replace_wave(claimed)
        launch.append(wave.wave_number)
        slots -= 1
    return execution, launch, recover


def _pause_at_gate(execution: Execution, wave: WaveRun, now: int) -> Execution:
    """PAUSED before `wave` until someone resumes it; an unattended drill that waits has a deadline."""
    reason = f"Paused before wave {wave.wave_number} ({wave.wave_name}): resume to launch it"
    update: dict[str, Any] = {"gate_wave": wave.wave_number}
    policy = execution.at_gate
    if policy is not None and policy.wait_minutes is not None:
        update["gate_deadline"] = now + policy.wait_minutes * 60
        reason += f" within {policy.wait_minutes} min, or this unattended drill is cancelled and cleaned up"
    paused = execution.with_status(_E.PAUSED, now, reason=reason).model_copy(update=update)
    return paused.with_event(EventType.PAUSED, now, reason, wave_number=wave.wave_number, gate=True)


def _pass_gate(execution: Execution, wave: WaveRun, now: int) -> Execution:
    """An unattended drill whose schedule says so goes through a gate as if someone resumed it."""
    message = (
        f"Gate before wave {wave.wave_number} ({wave.wave_name}) passed: this unattended drill's "
        "schedule passes pause gates"
    )
    passed = execution.model_copy(
        update={"gates_passed": sorted({*execution.gates_passed, wave.wave_number})}
    )
    return passed.with_event(
        EventType.RESUMED,
        now,
        message,
        wave_number=wave.wave_number,
        gateWave=wave.wave_number,
        unattended=True,
    )


def _gate_timed_out(execution: Execution, now: int) -> Execution:
    """Nobody resumed an unattended drill at its gate in time: cancel it (its instances are cleaned
    up as every cancelled drill's are)."""
    wave = execution.wave(execution.gate_wave) if execution.gate_wave is not None else None
    where = f"the gate before wave {wave.wave_number} ({wave.wave_name})" if wave else "its gate"
    minutes = execution.at_gate.wait_minutes if execution.at_gate else None
    reason = f"Nobody resumed this unattended drill at {where} within {minutes} min: cancelled"
    cancelling = execution.with_status(_E.CANCELLING, now, reason=reason)
    return cancelling.with_event(EventType.CANCEL_REQUESTED, now, reason, gateTimeout=True)


def _ready(execution: Execution) -> list[WaveRun]:
    """PENDING waves whose dependencies have all COMPLETED, in wave order."""
    status = {w.wave_number: w.status for w in execution.waves}
    return [
        w
        for w in execution.waves
        if w.status == WaveStatus.PENDING
        and all(status.get(d) == WaveStatus.COMPLETED for d in w.depends_on_waves)
    ]


def _expired_claims(execution: Execution, now: int) -> list[int]:
    if execution.status not in (_E.RUNNING, _E.PAUSED, _E.CANCELLING):
        return []
    return [
        w.wave_number
        for w in execution.waves
        if w.status == WaveStatus.INITIATED
        and w.job_id is None
        and (w.claimed_at is None or now - w.claimed_at >= LEASE_SECONDS)
    ]


def _close_pending(
    execution: Execution, target: WaveStatus, event: EventType, now: int, word: str
) -> Execution:
    for wave in execution.waves:
        if wave.status != WaveStatus.PENDING:
            continue
        execution = execution.replace_wave(wave.with_status(target, now)).with_event(
            event, now, f"Wave {wave.wave_number} ({wave.wave_name}) {word}", wave_number=wave.wave_number
        )
    return execution


def _finish(execution: Execution, target: ExecutionStatus, now: int, reason: str) -> Execution:
    """End the execution; a drill's instances are scheduled for termination."""
    launched = sum(1 for w in execution.waves for s in w.servers if s.launch_status == LaunchStatus.LAUNCHED)
    total = sum(len(w.servers) for w in execution.waves)
    duration = duration_text(now - (execution.start_time or execution.requested_at))
    ended = execution.with_status(target, now, reason=reason)
    event = {
        _E.COMPLETED: EventType.COMPLETED,
        _E.FAILED: EventType.FAILED,
        _E.CANCELLED: EventType.CANCELLED,
    }[target]
    kind = execution.execution_type.word.capitalize()
    ended = ended.with_event(
        event,
        now,
        f"{kind} {target.lower()} after {duration}: {launched} of {total} server(s) launched",
        launched=launched,
        total=total,
        durationSeconds=now - (execution.start_time or execution.requested_at),
    )
    if execution.execution_type != ExecutionType.DRILL:
        return ended  # a real recovery keeps its instances
    instances = execution.launched_instance_ids
    if not instances and not any(w.job_id for w in execution.waves):
        # nothing ever reached DRS (every launch was refused before a job existed): nothing to look for
        return ended.model_copy(update={"cleanup": CleanupRun(status=CleanupStatus.NOT_NEEDED, due_at=now)})
    # a job that launched nothing is still looked at once: DRS, not the record, says nothing is left
    delay = (execution.cleanup_after_minutes or 0) * 60
    cleanup = CleanupRun(due_at=now + delay, instances=len(instances))
    ended = ended.model_copy(update={"cleanup": cleanup})
    if delay:
        ended = ended.with_event(
            EventType.CLEANUP_SCHEDULED,
            now,
            f"{len(instances)} drill instance(s) will be terminated in {duration_text(delay)}",
            dueAt=now + delay,
        )
    return ended


def claim_cleanup(execution: Execution, now: int) -> tuple[Execution, bool]:
    """Claim the next look of a drill's cleanup once it is due and no other tick holds it (a look
    whose tick died is claimed again once its lease has run out)."""
    cleanup = execution.cleanup
    if cleanup is None or not cleanup.pending or now < cleanup.due_at:
        return execution, False
    if cleanup.claimed_at is not None and now - cleanup.claimed_at < LEASE_SECONDS:
        return execution, False
    claimed = cleanup.model_copy(
        update={
            "status": CleanupStatus.TERMINATING,
            "claimed_at": now,
            "started_at": cleanup.started_at or now,
        }
    )
    return execution.model_copy(update={"cleanup": claimed}), True
