"""What a wake-up does when it fires: the moment one execution was waiting for (docs/engine.md).

A wake-up (orchestration/ports.py, WakeUps) carries only the execution id and a reason; the handler
re-reads the execution and acts only if a moment is really due: an approval request whose time is up
is marked EXPIRED (its EXPIRED event goes to the notifier, which updates the request's messages); an
approved (PENDING) run nobody started within `START_GRACE_SECONDS` is handed to its driver (what a
crash between the approval and the driver's start leaves); an unattended drill paused at a gate
whose deadline has passed has its driver woken (Step Functions waits on the pause's task token,
the local runner polls a paused execution slowly), and its next tick cancels it. A wake-up that
came early re-arms itself for the real moment; one that finds nothing due (approved, rejected,
started, resumed meanwhile) does nothing. Starting twice is harmless (drivers make a second start a no-op).

`{"task": "wake", "executionId": ..., "reason": ...}` on AWS (an EventBridge Scheduler `at()`
schedule), the local runner on the embedded default; the start-up sweep (orchestration/services/
sweep.py) runs the same check for every active execution.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from orchestration.approval_expiry import is_expired
from orchestration.context import Services
from orchestration.errors import NotFound
from orchestration.models import Execution, ExecutionStatus
from orchestration.ports import WAKE_EXPIRY, WAKE_GATE, WAKE_START
from orchestration.services.execution_queries import get_execution
from orchestration.services.execution_start import START_GRACE_SECONDS, hand_to_driver

logger = Logger(service="drbot")

EXPIRED = "expired"
STARTED = "started"
WOKEN = "woken"  # an unattended gate's deadline passed: its driver was woken to act on it
REARMED = "rearmed"  # early: the wake-up was moved to the real moment
NOTHING = "nothing"  # moot: nothing is due, now or later


def wake(services: Services, execution_id: str, reason: str = "") -> str:
    """Act on what is due for one execution (see the module docstring); returns what it did."""
    try:
        execution = services.store.get_execution(execution_id)
    except NotFound:
        return NOTHING
    done = check(services, execution)
    logger.info("woke an execution", extra={"execution_id": execution_id, "reason": reason, "did": done})
    return done


def check(services: Services, execution: Execution) -> str:
    """Expire, start, wake the driver, re-arm, or nothing (see the module docstring)."""
    now = int(services.clock.now())
    execution_id = execution.execution_id
    if is_expired(execution, now):
        expired = get_execution(services, execution_id).status == ExecutionStatus.EXPIRED
        return EXPIRED if expired else NOTHING
    if execution.status == ExecutionStatus.PENDING_APPROVAL and execution.expires_at is not None:
        services.wakeups.at(execution_id, execution.expires_at, WAKE_EXPIRY)
        return REARMED
    deadline = execution.gate_deadline
    if execution.status == ExecutionStatus.PAUSED and deadline is not None:
        if now < deadline:
            services.wakeups.at(execution_id, deadline, WAKE_GATE)
            return REARMED
        services.driver.wake(execution)  # its next tick cancels the drill and cleans it up
        return WOKEN
    due = start_due_at(execution)
    if due is None:
        return NOTHING
    if now < due:
        services.wakeups.at(execution_id, due, WAKE_START)
        return REARMED
    hand_to_driver(services, execution)
    services.wakeups.cancel(execution_id, WAKE_START)
    return STARTED


def start_due_at(execution: Execution) -> int | None:
    """When a PENDING run with no driver recorded counts as never started (its last event plus the
    grace period); None if it is not such a run. A state machine records its ARN when it starts; a
    local runner has none, and a second start is a harmless tick."""
    if execution.status != ExecutionStatus.PENDING or execution.state_machine_arn:
        return None
    pending_since = execution.events[-1].at if execution.events else execution.requested_at
    return pending_since + START_GRACE_SECONDS
