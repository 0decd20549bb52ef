"""The sweep: the periodic look at executions nothing else is driving.

An execution awaiting approval has no driver: nothing ticks it, so nothing would notice that its
time is up. The sweep marks every due request EXPIRED (its EXPIRED event goes to the notifier, which
updates the request's messages), and hands to the driver every approved (PENDING) execution that
has waited longer than `START_GRACE_SECONDS` without being driven — what a crash between the last
approval and the driver's start leaves behind. Starting twice is harmless (drivers make a second
start a no-op), so a sweep racing an approval costs nothing.

Locally the LocalRunner's pump sweeps every `SWEEP_SECONDS`; on AWS an EventBridge Scheduler
schedule sends `{"task": "sweep"}` to the execution function every minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from orchestration.approval_expiry import is_expired
from orchestration.context import Services
from orchestration.errors import DrbotError
from orchestration.models import Execution, ExecutionStatus
from orchestration.services.execution_queries import get_execution
from orchestration.services.execution_start import hand_to_driver
from orchestration.services.preflight import ACTIVE_EXECUTIONS_LIMIT

logger = Logger(service="drbot")

SWEEP_SECONDS = 60  # how often the local runner sweeps (the AWS schedule fires every minute too)
START_GRACE_SECONDS = 60  # an approval starts its run at once; after this long, nobody did


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did (execution ids)."""

    expired: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # could not be handled now; the next sweep retries

    def to_wire(self) -> dict[str, Any]:
        return {"expired": self.expired, "started": self.started, "failed": self.failed}


def sweep(services: Services) -> SweepResult:
    """Expire due approval requests and start approved executions nobody started (see the module
    docstring). One execution's failure is logged and does not stop the others."""
    result = SweepResult()
    now = int(services.clock.now())
    for execution in services.store.list_executions(active_only=True, limit=ACTIVE_EXECUTIONS_LIMIT):
        execution_id = execution.execution_id
        try:
            if is_expired(execution, now):
                if get_execution(services, execution_id).status == ExecutionStatus.EXPIRED:
                    result.expired.append(execution_id)
            elif _never_started(execution, now):
                hand_to_driver(services, execution)
                result.started.append(execution_id)
        except DrbotError as error:  # it changed meanwhile (started, cancelled): nothing to do
            skipped = {"execution_id": execution_id, "code": error.code}
            logger.info("sweep skipped an execution", extra=skipped)
        except Exception:  # one execution must not stop the sweep of the others
            logger.exception("sweep failed on an execution", extra={"execution_id": execution_id})
            result.failed.append(execution_id)
    if result.expired or result.started or result.failed:
        logger.info("swept executions", extra=result.to_wire())
    return result


def _never_started(execution: Execution, now: int) -> bool:
    """PENDING past the grace period with no driver recorded: a state machine records its ARN when
    it starts; a local runner has none, and a second start is a harmless tick."""
    if execution.status != ExecutionStatus.PENDING or execution.state_machine_arn:
        return False
    pending_since = execution.events[-1].at if execution.events else execution.requested_at
    return now - pending_since >= START_GRACE_SECONDS
