"""Replication health and point-in-time snapshots of a simulated source server, as of `now`.

A server that is not replicating (STALLED, DISCONNECTED, PAUSED, STOPPED) has a "since": its lag
keeps growing from then and no snapshot is newer than it, so a launch falls back to the latest
existing snapshot, as real DRS does (USING_PREVIOUS_SNAPSHOT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from orchestration.drs.sim.faults import SimFaults
from orchestration.drs.sim.format import ebs_snapshot_id, snapshot_id, unit_interval
from orchestration.drs.sim.store import SourceServerRow

NOT_REPLICATING = frozenset({"STALLED", "DISCONNECTED", "PAUSED", "STOPPED"})
NO_DATA_YET = frozenset({"INITIATING", "INITIAL_SYNC"})
"""No snapshot exists yet, so a launch is skipped (SERVER_SKIPPED)."""
FIRST_BYTE_AFTER_SECONDS = 900.0

# DRS keeps point-in-time snapshots every 10 minutes for the last hour, hourly for a day, daily for a week
_RETENTION = ((600, 6), (3600, 24), (86_400, 7))


@dataclass(frozen=True)
class Replication:
    state: str
    lag_seconds: float
    since: float | None
    """When replication stopped advancing (None while it replicates)."""
    error: str | None
    last_seen: float

    def frontier(self, now: float) -> float:
        """Data up to this instant has reached the staging area."""
        return now - self.lag_seconds


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    source_server_id: str
    expected: float
    taken: float
    ebs_snapshots: tuple[str, ...]


def first_byte(server: SourceServerRow) -> float:
    return server.added_at + FIRST_BYTE_AFTER_SECONDS


def replication_at(server: SourceServerRow, faults: SimFaults, now: float) -> Replication:
    spec = server.spec.replication
    state: str = spec.state
    since = server.stalled_since
    fault_since = faults.stalled_servers.get(server.source_server_id)
    if fault_since is not None and (since is None or fault_since < since):
        state = "STALLED"
        # the fault freezes replication where it was: the inventory's lag plus the time since
        since = fault_since - spec.lag_seconds
    lag = max(0.0, now - since) if since is not None else spec.lag_seconds
    error = spec.error
    if error is None and state == "STALLED":
        error = "UNSTABLE_NETWORK"
    if error is None and state == "DISCONNECTED":
        error = "AGENT_NOT_SEEN"
    agent_gone = error == "AGENT_NOT_SEEN"
    last_seen = since if agent_gone and since is not None else now
    return Replication(state=state, lag_seconds=lag, since=since, error=error, last_seen=last_seen)


def snapshots(server: SourceServerRow, replication: Replication, now: float) -> list[Snapshot]:
    """Existing point-in-time snapshots, oldest first."""
    if replication.state in NO_DATA_YET:
        return []
    frontier = replication.frontier(now)
    oldest = first_byte(server)
    times: set[float] = set()
    for step, count in _RETENTION:
        top = math.floor(frontier / step) * step
        times.update(top - k * step for k in range(count))
    devices = [disk.device_name for disk in server.spec.disks]
    sid = server.source_server_id
    return [
        Snapshot(
            snapshot_id=snapshot_id(sid, expected),
            source_server_id=sid,
            expected=expected,
            # a snapshot completes a few seconds after its scheduled time
            taken=expected + 2 + math.floor(unit_interval("taken", sid, expected) * 30),
            ebs_snapshots=tuple(ebs_snapshot_id(sid, expected, device) for device in devices),
        )
        for expected in sorted(times)
        if oldest <= expected <= frontier
    ]
