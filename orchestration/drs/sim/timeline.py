"""A simulated DRS job is planned once, when it is created; everything else is read off the plan.

Each participating server gets a finish time (launch time * slow factors * a small deterministic
jitter) and an outcome at creation, so a job's status, every server's launchStatus and the job log
at any instant are pure functions of (plan, now). Nothing runs in the background: callers ask "what
does this look like at `now`?" and the answer never depends on when, or how often, they asked.

    created ── pending ──▶ started ──────────────── each server's finish ────▶ ended (last finish)
    PENDING                STARTED                   LAUNCHED | FAILED           COMPLETED
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

JobType = Literal["LAUNCH", "TERMINATE"]
InitiatedBy = Literal["START_DRILL", "START_RECOVERY", "TERMINATE_RECOVERY_INSTANCES"]
JobStatus = Literal["PENDING", "STARTED", "COMPLETED"]
LaunchStatus = Literal["PENDING", "IN_PROGRESS", "LAUNCHED", "FAILED", "TERMINATED"]
Outcome = Literal["LAUNCHED", "FAILED", "SKIPPED", "TERMINATED"]

# Where a launch spends its time, as fractions of the server's launch duration (real DRS: snapshot,
# then conversion on a conversion server, then the EC2 launch itself).
SNAPSHOT_SHARE = 0.2
CONVERSION_SHARE = 0.4


@dataclass(frozen=True)
class JobServer:
    """One participating server of a job, with its planned outcome."""

    job_id: str
    position: int
    source_server_id: str
    instance_id: str | None
    """LAUNCH: the EC2 id the recovery instance gets if it launches; TERMINATE: the instance terminated."""
    conversion_server_id: str | None
    outcome: Outcome
    finish_at: float
    snapshot_id: str | None = None
    point_in_time: float | None = None
    previous_snapshot: bool = False
    """True when launched from an existing point-in-time snapshot rather than an on-demand one."""
    raw_error: str | None = None
    settled: bool = False
    """Whether the consequences of finishing (instance created or removed) are already stored."""


@dataclass(frozen=True)
class Job:
    job_id: str
    account_id: str
    region: str
    seq: int
    type: JobType
    initiated_by: InitiatedBy
    is_drill: bool
    created_at: float
    started_at: float
    ended_at: float
    servers: tuple[JobServer, ...] = field(default_factory=tuple)

    def status(self, now: float) -> JobStatus:
        if now < self.started_at:
            return "PENDING"
        if now < self.ended_at:
            return "STARTED"
        return "COMPLETED"

    def is_active(self, now: float) -> bool:
        return self.status(now) != "COMPLETED"

    def launch_status(self, server: JobServer, now: float) -> LaunchStatus:
        if now < self.started_at:
            return "PENDING"
        if server.outcome == "SKIPPED":
            return "FAILED"
        if now < server.finish_at:
            return "IN_PROGRESS"
        if server.outcome == "TERMINATED":
            return "TERMINATED"
        return "FAILED" if server.outcome == "FAILED" else "LAUNCHED"

    def recovery_instance_id(self, server: JobServer, now: float) -> str | None:
        """Shown once the instance exists (LAUNCH) or always (TERMINATE: the instance being removed)."""
        if self.type == "TERMINATE":
            return server.instance_id
        if self.launch_status(server, now) == "LAUNCHED":
            return server.instance_id
        return None


@dataclass(frozen=True)
class LogEvent:
    at: float
    event: str
    data: dict[str, Any]


def plan_end(started_at: float, servers: list[JobServer]) -> float:
    return max((s.finish_at for s in servers), default=started_at)


def log_events(job: Job, now: float) -> list[LogEvent]:
    """The job log as far as it has happened at `now`, oldest first (JobLogEvent enum values)."""
    events: list[LogEvent] = [LogEvent(job.started_at, "JOB_START", {})]
    for server in job.servers:
        events.extend(_launch_events(job, server) if job.type == "LAUNCH" else _terminate_events(job, server))
    events.append(LogEvent(job.ended_at, "JOB_END", {}))
    happened = [e for e in events if e.at <= now]
    # stable sort: events at the same instant keep their causal order
    return sorted(happened, key=lambda e: e.at)


def _launch_events(job: Job, server: JobServer) -> list[LogEvent]:
    sid = {"sourceServerID": server.source_server_id}
    start = job.started_at
    if server.outcome == "SKIPPED":
        return [LogEvent(start, "SERVER_SKIPPED", {**sid, "rawError": server.raw_error or "skipped"})]
    duration = server.finish_at - start
    converted_from = start + SNAPSHOT_SHARE * duration
    launched_from = converted_from + CONVERSION_SHARE * duration
    conversion = {**sid, "conversionServerID": server.conversion_server_id or ""}
    events = (
        [LogEvent(start, "USING_PREVIOUS_SNAPSHOT", sid)]
        if server.previous_snapshot
        else [LogEvent(start, "SNAPSHOT_START", sid), LogEvent(converted_from, "SNAPSHOT_END", sid)]
    )
    events += [
        LogEvent(converted_from, "CONVERSION_START", conversion),
        LogEvent(launched_from, "CONVERSION_END", conversion),
        LogEvent(launched_from, "LAUNCH_START", {**sid, "targetInstanceID": server.instance_id or ""}),
    ]
    if server.outcome == "FAILED":
        events.append(
            LogEvent(server.finish_at, "LAUNCH_FAILED", {**sid, "rawError": server.raw_error or ""})
        )
    return events


def _terminate_events(job: Job, server: JobServer) -> list[LogEvent]:
    data = {"sourceServerID": server.source_server_id, "targetInstanceID": server.instance_id or ""}
    return [LogEvent(job.started_at, "CLEANUP_START", data), LogEvent(server.finish_at, "CLEANUP_END", data)]
