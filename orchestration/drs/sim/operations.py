"""The DRS operations the simulator answers, and what every call goes through first.

Order of a call, as in DRS: throttling, then whether the operation exists, then whether DRS is
initialized in the region (a region without source servers that the inventory does not list in
`initializedRegions` answers UninitializedAccountException, as before InitializeService), then
the operation itself. Operations raise only errors the model lists for them where it matters: an
unknown id in an operation without ResourceNotFoundException (StartRecovery,
TerminateRecoveryInstances, DescribeJobLogItems, DescribeRecoverySnapshots) is a
ValidationException whose fieldList names it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestration.clock import Clock
from orchestration.drs.sim import launches as sim_launches
from orchestration.drs.sim import queries as sim_queries
from orchestration.drs.sim import tagging as sim_tagging
from orchestration.drs.sim.api import SimApiError, throttled, validation_error
from orchestration.drs.sim.context import Call, Scope, SimLimits, SimTiming
from orchestration.drs.sim.faults import consume_throttle
from orchestration.drs.sim.store import SimTx

RETRY_AFTER_SECONDS = 1

Operation = Callable[[Call, dict[str, Any]], dict[str, Any]]

OPERATIONS: dict[str, Operation] = {
    "DescribeSourceServers": sim_queries.describe_source_servers,
    "DescribeRecoverySnapshots": sim_queries.describe_recovery_snapshots,
    "GetLaunchConfiguration": sim_queries.get_launch_configuration,
    "StartRecovery": sim_launches.start_recovery,
    "DescribeJobs": sim_queries.describe_jobs,
    "DescribeJobLogItems": sim_queries.describe_job_log_items,
    "DescribeRecoveryInstances": sim_queries.describe_recovery_instances,
    "TerminateRecoveryInstances": sim_launches.terminate_recovery_instances,
    "TagResource": sim_tagging.tag_resource,
    "UntagResource": sim_tagging.untag_resource,
    "ListTagsForResource": sim_tagging.list_tags_for_resource,
}
# the tagging API models no UninitializedAccountException: unknown resources are simply not found
_ANSWERED_UNINITIALIZED = frozenset({"TagResource", "UntagResource", "ListTagsForResource"})


class SimService:
    def __init__(self, clock: Clock, limits: SimLimits, timing: SimTiming) -> None:
        self.clock = clock
        self.limits = limits
        self.timing = timing

    def call(self, tx: SimTx, scope: Scope, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        if consume_throttle(tx, operation):
            raise throttled(RETRY_AFTER_SECONDS)
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise validation_error(
                f"Operation {operation} is not supported by the DRS simulator", reason="unknownOperation"
            )
        if operation not in _ANSWERED_UNINITIALIZED and not tx.is_initialized(scope.account_id, scope.region):
            raise SimApiError(
                "UninitializedAccountException",
                f"Elastic Disaster Recovery is not initialized in {scope}",
            )
        # a refused call leaves no trace (a throttled one did use up its throttle, above)
        with tx.savepoint():
            sim_launches.settle(tx, now)
            return handler(Call(tx, scope, now, self.limits, self.timing), params)
