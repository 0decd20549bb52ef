"""The state machine's Lambda tasks (docs/statemachine.md): what the execution function runs for an
event carrying a "task" key (orchestration/handlers/execution.py hands such events here).

"advance" is one engine step (orchestration/engine/advance.py); "wait" keeps the task token of
the wait between advances (a DRS event releases it, orchestration/engine/wake.py); "pause" keeps
the Step Functions task token on the PAUSED execution; "mark_failed" is the Catch of a failed
advance (those three in orchestration/engine/stepfunctions.py); "wake" (with a "reason"), which a
one-time EventBridge Scheduler wake-up sends at an execution's moment, expires a due approval
request, starts an approved execution nobody started or wakes the driver of a drill whose gate
deadline passed (orchestration/services/wake_ups.py); "sweep" (no executionId) runs that check for
every active execution (orchestration/services/sweep.py), by hand: nothing sends it on a schedule.
The services are the Lambda runtime's (handlers/runtime.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from orchestration.engine.advance import advance
from orchestration.engine.stepfunctions import await_wake, hold, mark_failed
from orchestration.engine.timing import DELIVERY_RETRY
from orchestration.errors import InvalidOperation, MissingField, ValidationFailed
from orchestration.handlers.runtime import current_services
from orchestration.ports import flush_deferred
from orchestration.services.sweep import sweep
from orchestration.services.wake_ups import wake
from orchestration.validation import clip

TASK_ADVANCE = "advance"
TASK_PAUSE = "pause"
TASK_WAIT = "wait"
TASK_MARK_FAILED = "mark_failed"
TASK_SWEEP = "sweep"
TASK_WAKE = "wake"
TASKS = (TASK_ADVANCE, TASK_WAIT, TASK_PAUSE, TASK_MARK_FAILED, TASK_SWEEP, TASK_WAKE)
MAX_REASON = 32

DEFERRED_FLUSH_SECONDS = 5.0  # how long an advance waits for its queued notifications at its end
MAX_EXECUTION_ID = 128  # drbot's ids are UUIDs (36)
MAX_TASK_TOKEN = 8192  # Step Functions' task tokens are at most 1,024 characters today


def handle_task(event: dict[str, Any]) -> dict[str, Any]:
    """Run one task of the state machine. Raises on failure: the state machine's Retry and Catch
    need a Lambda error, not an error body (a missing output field would be a States.Runtime error,
    which no Catch sees)."""
    task, execution_id = _checked(event)
    if task == TASK_SWEEP:
        return sweep(current_services()).to_wire()
    services = current_services()
    if task == TASK_WAKE:
        return {
            "executionId": execution_id,
            "did": wake(services, execution_id, str(event.get("reason", ""))),
        }
    if task == TASK_ADVANCE:
        result = advance(services, execution_id)
        # a queued notifier (Slack) posts now, bounded; what it could not is given back to the
        # record, so an execution that looked done is driven once more to deliver it
        if execution_id in flush_deferred(DEFERRED_FLUSH_SECONDS) and (result.done or result.paused):
            result = replace(result, done=False, paused=False, wait_seconds=DELIVERY_RETRY)
        return result.to_wire()
    if task == TASK_WAIT:
        return await_wake(services, execution_id, str(event["taskToken"]))
    if task == TASK_PAUSE:
        return hold(services, execution_id, str(event["taskToken"]))
    error = event.get("error")
    return mark_failed(services, execution_id, error if isinstance(error, dict) else {})


def _checked(event: Mapping[str, Any]) -> tuple[str, str]:
    """(task, executionId) of a task event whose fields are what its task reads, else a DrbotError
    that names the field and echoes at most a few characters of it (the state machine only ever
    sends well-formed tasks; anything else was sent by hand)."""
    task = event.get("task")
    if not isinstance(task, str) or task not in TASKS:
        raise InvalidOperation(
            f"Unknown state machine task {clip(repr(task))}: expected one of {', '.join(TASKS)}",
            task=clip(str(task)),
        )
    if task == TASK_SWEEP:
        return task, ""
    execution_id = event.get("executionId")
    if not isinstance(execution_id, str) or not execution_id:
        raise MissingField("The state machine task needs an executionId", field="executionId")
    if len(execution_id) > MAX_EXECUTION_ID or not execution_id.isprintable():
        raise ValidationFailed(
            f"executionId {clip(execution_id)} is not an execution id", field="executionId"
        )
    reason = event.get("reason", "")
    if task == TASK_WAKE and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise ValidationFailed("reason: the wake-up's reason, a short word", field="reason")
    token = event.get("taskToken")
    if task in (TASK_PAUSE, TASK_WAIT) and (not isinstance(token, str) or not token):
        raise MissingField(f"The {task} task needs the state machine's taskToken", field="taskToken")
    if task in (TASK_PAUSE, TASK_WAIT) and len(str(token)) > MAX_TASK_TOKEN:
        raise ValidationFailed(
            f"taskToken is longer than Step Functions' {MAX_TASK_TOKEN} characters", field="taskToken"
        )
    error = event.get("error")
    if task == TASK_MARK_FAILED and error is not None and not isinstance(error, dict):
        raise ValidationFailed("error: must be the Catch's {Error, Cause} object", field="error")
    return task, execution_id
