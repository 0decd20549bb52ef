"""The JSON shapes of the execution handler's answers (the seed contract's execution responses)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from orchestration.context import Services
from orchestration.drs.gateway import DrsJob
from orchestration.engine.decide import IN_FLIGHT
from orchestration.models import Execution, ExecutionStatus, WaveRun
from orchestration.services.execution_queries import preflight_warnings, progress


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def wave_wire(wave: WaveRun) -> dict[str, Any]:
    """A wave as the seed's Example 5 shows it (plus timings, dependencies and errors)."""
    wire = _drop_none(
        {
            "waveNumber": wave.wave_number,
            "waveName": wave.wave_name,
            "status": str(wave.status),
            "jobId": wave.job_id,
            "startTime": wave.start_time,
            "endTime": wave.end_time,
            "dependsOnWaves": wave.depends_on_waves,
            "pauseBefore": wave.pause_before,
            "protectionGroupId": wave.protection_group_id,
            "region": wave.region,
            "accountId": wave.account_id,
            "error": wave.error,
        }
    )
    if wave.servers:
        wire["servers"] = [
            _drop_none(
                {
                    "sourceServerId": s.source_server_id,
                    "status": str(s.launch_status),
                    "instanceId": s.instance_id,
                    "hostname": s.hostname or None,
                    "recoveryInstanceId": s.recovery_instance_id,
                    "launchedAt": s.launched_at,
                    "snapshotTime": s.snapshot_time,
                    "error": s.error,
                }
            )
            for s in wave.servers
        ]
    return wire


def _approvals_wire(execution: Execution) -> dict[str, Any]:
    return _drop_none(
        {
            "required": execution.required_approvals,
            "given": [a.to_wire() for a in execution.approvals],
            "expiresAt": execution.expires_at
            if execution.status == ExecutionStatus.PENDING_APPROVAL
            else None,
        }
    )


def execution_summary(execution: Execution) -> dict[str, Any]:
    """One line of list_executions."""
    return _drop_none(
        {
            "executionId": execution.execution_id,
            "planId": execution.plan_id,
            "planName": execution.plan_name,
            "status": str(execution.status),
            "executionType": str(execution.execution_type),
            "initiatedBy": execution.initiated_by,
            "onBehalfOf": execution.on_behalf_of,
            "requestedAt": execution.requested_at,
            "startTime": execution.start_time,
            "endTime": execution.end_time,
            "scheduleId": execution.schedule_id,
            **progress(execution),
        }
    )


def execution_details(execution: Execution) -> dict[str, Any]:
    """get_execution_details: the seed's Example 5 shape, with approvals, cleanup and events."""
    wire = _drop_none(
        {
            "executionId": execution.execution_id,
            "planId": execution.plan_id,
            "planName": execution.plan_name,
            "status": str(execution.status),
            "executionType": str(execution.execution_type),
            "startTime": execution.start_time,
            "endTime": execution.end_time,
            "initiatedBy": execution.initiated_by,
            "onBehalfOf": execution.on_behalf_of,
            "reason": execution.reason or None,
            "requestedAt": execution.requested_at,
            "statusReason": execution.status_reason,
            "scheduleId": execution.schedule_id,
            "stateMachineArn": execution.state_machine_arn,
            "cleanupAfterMinutes": execution.cleanup_after_minutes,
            # the plan's targets at the request (optional: absent when none, or on older records)
            "rtoTargetMinutes": execution.rto_target_minutes,
            "rpoTargetMinutes": execution.rpo_target_minutes,
            "pausedBeforeWave": execution.gate_wave,
        }
    )
    wire["waves"] = [wave_wire(w) for w in execution.waves]
    wire["approvals"] = _approvals_wire(execution)
    if execution.cleanup is not None:
        wire["cleanup"] = execution.cleanup.to_wire()
    if execution.archive is not None:  # the final report's archived copy and its SHA-256 (docs/report.md)
        wire["archive"] = execution.archive.to_wire()
    wire["warnings"] = preflight_warnings(execution)
    wire["events"] = [e.to_wire() for e in execution.events]
    wire["version"] = execution.version
    return wire


def execution_status(execution: Execution) -> dict[str, Any]:
    """get_execution_status: where the execution is, in a few fields."""
    in_flight = [w.wave_number for w in execution.waves if w.status in IN_FLIGHT]
    return _drop_none(
        {
            "executionId": execution.execution_id,
            "planName": execution.plan_name,
            "executionType": str(execution.execution_type),
            "status": str(execution.status),
            "done": execution.is_terminal,
            "statusReason": execution.status_reason,
            "startTime": execution.start_time,
            "endTime": execution.end_time,
            "currentWaves": in_flight,
            "pausedBeforeWave": execution.gate_wave,
            "progress": progress(execution),
            "approvals": _approvals_wire(execution),
            "cleanup": str(execution.cleanup.status) if execution.cleanup else None,
        }
    )


def execution_waves(execution: Execution) -> dict[str, Any]:
    waves = [wave_wire(w) for w in execution.waves]
    return {"executionId": execution.execution_id, "waves": waves, "count": len(waves)}


def _job_wire(job: DrsJob | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return _drop_none(
        {
            "jobID": job.job_id,
            "status": job.status,
            "type": job.type,
            "initiatedBy": job.initiated_by,
            "creationDateTime": job.created_at,
            "endDateTime": job.ended_at,
            "participatingServers": [
                _drop_none(
                    {
                        "sourceServerID": s.source_server_id,
                        "launchStatus": s.launch_status,
                        "recoveryInstanceID": s.recovery_instance_id,
                    }
                )
                for s in job.servers
            ],
        }
    )


def execution_jobs(services: Services, execution: Execution) -> dict[str, Any]:
    """get_execution_jobs: each wave's DRS launch job (and a drill's cleanup jobs) as DRS describes
    it now — one describe_jobs per region and account."""
    entries: list[tuple[WaveRun, str, str]] = []  # (wave, job id, purpose)
    by_place: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for wave in execution.waves:
        place = (wave.region or services.settings.region, wave.account_id)
        for job_id, purpose in [(wave.job_id, "launch")] + [(j, "cleanup") for j in wave.terminate_job_ids]:
            if job_id:
                entries.append((wave, job_id, purpose))
                by_place[place].append(job_id)
    described: dict[str, DrsJob] = {}
    for (region, account), ids in by_place.items():
        described.update({j.job_id: j for j in services.drs.gateway(region, account).jobs(ids)})
    jobs = []
    for wave, job_id, purpose in entries:
        jobs.append(
            _drop_none(
                {
                    "waveNumber": wave.wave_number,
                    "waveName": wave.wave_name,
                    "waveStatus": str(wave.status),
                    "purpose": purpose,
                    "jobId": job_id,
                    "region": wave.region or services.settings.region,
                    "accountId": wave.account_id,
                    "status": described[job_id].status if job_id in described else "UNKNOWN",
                    "drs": _job_wire(described.get(job_id)),
                }
            )
        )
    return {"executionId": execution.execution_id, "jobs": jobs, "count": len(jobs)}
