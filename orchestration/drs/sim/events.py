"""The events the simulated DRS sends to EventBridge, in the shape AWS documents, and their faults.

Real DRS sends "DRS Source Server Launch Result" (source `aws.drs`) when a server's drill or
recovery launch ends, successfully or not; EC2 sends "EC2 Instance State-change Notification"
(source `aws.ec2`) when an instance, a recovery instance among them, is terminated. Both are
delivered *best effort*: late, twice, out of order, or never. The simulator's events follow from
its job plans (orchestration/drs/sim/timeline.py) like everything else it shows: which events exist
and when each is delivered are pure functions of (plans, event faults), so a run repeats exactly.

Event faults (`EventFaults`, one row of `sim_faults`) shift, copy or drop deliveries:
- `delay_seconds`: every event arrives this much after what it reports;
- `reorder_seconds`: plus a per-event extra in [0, reorder_seconds), so later events overtake;
- `duplicate_rate`: this share of events is delivered a second time (same event id) 1 s to
  1 s + reorder_seconds after the first;
- `lose_rate`: this share is never delivered.
Which events are late, copied or lost is drawn from `seed` and the event id.

See docs/simulator.md ("Events").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from orchestration.drs.sim.format import arn, unit_interval
from orchestration.drs.sim.timeline import Job, JobServer

DRS_SOURCE = "aws.drs"
LAUNCH_RESULT = "DRS Source Server Launch Result"
EC2_SOURCE = "aws.ec2"
INSTANCE_STATE_CHANGE = "EC2 Instance State-change Notification"
DUPLICATE_GAP_SECONDS = 1.0
_EVENT_NAMESPACE = uuid.UUID("6f1d4a52-2c55-4f5e-9a55-2b0f4a1d7c31")


@dataclass(frozen=True)
class EventFaults:
    """How the simulated EventBridge mistreats events (all zero: each delivered once, on time)."""

    delay_seconds: float = 0.0
    reorder_seconds: float = 0.0
    duplicate_rate: float = 0.0
    lose_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.delay_seconds < 0 or self.reorder_seconds < 0:
            raise ValueError("event delays cannot be negative")
        for rate in (self.duplicate_rate, self.lose_rate):
            if not 0 <= rate <= 1:
                raise ValueError("event duplicate and loss rates are shares between 0 and 1")

    @property
    def any(self) -> bool:
        return self != EventFaults(seed=self.seed)

    @property
    def latest_shift(self) -> float:
        """The longest an event can arrive after what it reports: its own lateness, then a duplicate's
        gap and lateness on top."""
        return self.delay_seconds + 2 * self.reorder_seconds + DUPLICATE_GAP_SECONDS

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EventFaults:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Delivery:
    """One delivery of an event: when it reaches EventBridge's targets, and the event itself."""

    due_at: float
    event: dict[str, Any]


def job_events(job: Job) -> list[tuple[float, dict[str, Any]]]:
    """Every event a job causes, with the time of what it reports, in that order."""
    happened = [found for server in job.servers if (found := _server_event(job, server)) is not None]
    return sorted(happened, key=lambda pair: pair[0])


def deliveries(events: Iterable[tuple[float, dict[str, Any]]], faults: EventFaults) -> list[Delivery]:
    """The deliveries of `events` under `faults`, by due time (events due together keep their order)."""
    found: list[Delivery] = []
    for at, event in events:
        key = event["id"]
        if faults.lose_rate and unit_interval("event-lost", faults.seed, key) < faults.lose_rate:
            continue
        late = faults.reorder_seconds * unit_interval("event-late", faults.seed, key)
        due = at + faults.delay_seconds + late
        found.append(Delivery(due, event))
        if faults.duplicate_rate and unit_interval("event-twice", faults.seed, key) < faults.duplicate_rate:
            again = faults.reorder_seconds * unit_interval("event-again", faults.seed, key)
            found.append(Delivery(due + DUPLICATE_GAP_SECONDS + again, event))
    return sorted(found, key=lambda d: d.due_at)


def _server_event(job: Job, server: JobServer) -> tuple[float, dict[str, Any]] | None:
    if job.type == "LAUNCH":
        # a skipped server's launch fails as the job starts; the others' when their launch ends
        at = job.started_at if server.outcome == "SKIPPED" else server.finish_at
        result = "SUCCEEDED" if server.outcome == "LAUNCHED" else "FAILED"
        kind = "DRILL" if job.is_drill else "RECOVERY"
        detail = {
            "state": f"{kind}_LAUNCH_{result}",
            "job-id": job.job_id,
            "is-drill": "TRUE" if job.is_drill else "FALSE",
        }
        resource = arn(job.region, job.account_id, f"source-server/{server.source_server_id}")
        return at, _event(job, at, DRS_SOURCE, LAUNCH_RESULT, resource=resource, detail=detail)
    if server.outcome == "TERMINATED" and server.instance_id:
        detail = {"instance-id": server.instance_id, "state": "terminated"}
        resource = f"arn:aws:ec2:{job.region}:{job.account_id}:instance/{server.instance_id}"
        at = server.finish_at
        return at, _event(job, at, EC2_SOURCE, INSTANCE_STATE_CHANGE, resource=resource, detail=detail)
    return None


def _event(
    job: Job, at: float, source: str, detail_type: str, *, resource: str, detail: dict[str, str]
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid5(_EVENT_NAMESPACE, f"{job.job_id}/{resource}/{detail_type}")),
        "detail-type": detail_type,
        "source": source,
        "account": job.account_id,
        "time": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),  # EventBridge's form
        "region": job.region,
        "resources": [resource],
        "detail": detail,
    }
