"""The start-up sweep: the crash net under the wake-ups (orchestration/services/wake_ups.py).

Each future moment of an execution has a one-time wake-up, created before the write that makes it
matter (docs/engine.md, "Wake-ups"). The local runner keeps its wake-ups in memory, so when drbot
starts it sweeps once: every active execution is checked as its wake-up would (due requests
expire, approved runs nobody started are started) and what is not due yet is re-armed. Nothing
sweeps periodically: an idle drbot runs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.errors import DrbotError
from orchestration.services.preflight import ACTIVE_EXECUTIONS_LIMIT
from orchestration.services.wake_ups import EXPIRED, STARTED, check

logger = Logger(service="drbot")


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did (execution ids)."""

    expired: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # could not be handled now; their wake-up retries

    def to_wire(self) -> dict[str, Any]:
        return {"expired": self.expired, "started": self.started, "failed": self.failed}


def sweep(services: Services) -> SweepResult:
    """Check every active execution as its wake-up would (see the module docstring). One
    execution's failure is logged and does not stop the others."""
    result = SweepResult()
    for execution in services.store.list_executions(active_only=True, limit=ACTIVE_EXECUTIONS_LIMIT):
        execution_id = execution.execution_id
        try:
            done = check(services, execution)
        except DrbotError as error:  # it changed meanwhile (started, cancelled): nothing to do
            skipped = {"execution_id": execution_id, "code": error.code}
            logger.info("sweep skipped an execution", extra=skipped)
            continue
        except Exception:  # one execution must not stop the sweep of the others
            logger.exception("sweep failed on an execution", extra={"execution_id": execution_id})
            result.failed.append(execution_id)
            continue
        if done == EXPIRED:
            result.expired.append(execution_id)
        elif done == STARTED:
            result.started.append(execution_id)
    if result.expired or result.started or result.failed:
        logger.info("swept executions", extra=result.to_wire())
    return result
