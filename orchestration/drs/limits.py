"""DRS service limits drbot checks before it asks DRS (defaults: the seed's DRS_LIMITS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DrsLimits:
    max_servers_per_job: int = 100  # one wave is one job
    max_concurrent_jobs: int = 20  # active jobs per region
    max_servers_in_all_jobs: int = 500  # servers across active jobs per region
    max_recovery_instances: int = 4000

    def to_wire(self) -> dict[str, Any]:
        return {
            "maxServersPerJob": self.max_servers_per_job,
            "maxConcurrentJobs": self.max_concurrent_jobs,
            "maxServersInAllJobs": self.max_servers_in_all_jobs,
            "maxRecoveryInstances": self.max_recovery_instances,
        }
