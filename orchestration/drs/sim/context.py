"""What every simulated DRS call runs with: who asks, when, under which limits and timings."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.drs.sim.store import SimTx, SourceServerRow


@dataclass(frozen=True)
class SimLimits:
    """DRS service quotas per account and region (defaults are DRS's)."""

    max_servers_per_job: int = 100
    max_concurrent_jobs: int = 20
    max_servers_in_active_jobs: int = 500
    max_source_servers: int = 4000
    max_recovery_instances: int = 4000


@dataclass(frozen=True)
class SimTiming:
    """How long simulated work takes, in seconds of the injected clock."""

    launch_seconds: float
    pending_seconds: float
    terminate_seconds: float

    @classmethod
    def from_launch_seconds(cls, launch_seconds: float) -> SimTiming:
        # a job waits a few seconds in PENDING, and terminating is quicker than launching, as in DRS
        return cls(launch_seconds, min(5.0, launch_seconds / 4), launch_seconds / 2)


@dataclass(frozen=True)
class Scope:
    """Who is asking: DRS state is per account and region."""

    account_id: str
    region: str

    def __str__(self) -> str:
        return f"{self.region} (account {self.account_id})"

    def holds(self, account_id: str, region: str) -> bool:
        return (account_id, region) == (self.account_id, self.region)


@dataclass(frozen=True)
class Call:
    """One API call: its transaction, scope and instant, with the simulator's settings."""

    tx: SimTx
    scope: Scope
    now: float
    limits: SimLimits
    timing: SimTiming

    def server(self, source_server_id: str) -> SourceServerRow | None:
        """The source server if it exists in this call's account and region."""
        row = self.tx.server(source_server_id)
        return row if row is not None and self.scope.holds(row.account_id, row.region) else None
