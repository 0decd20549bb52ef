"""The AWS driver of `advance` (docs/statemachine.md): one Step Functions Standard execution per drbot
execution, named by its executionId, running `orchestration/statemachine/orchestration.asl.json`.

Two halves:

- What the state machine's Lambda tasks do besides `advance` (the execution handler dispatches
  events carrying a "task" key through orchestration/handlers/tasks.py): `await_wake` ("wait":
  keep the task token of WaitForEvent, released by a DRS event or by its timeout), `hold`
  ("pause": keep the Step Functions task token on the PAUSED execution) and `mark_failed` (the
  Catch of a failed advance).
- `StepFunctionsDriver` is the Driver port: `start` starts the state machine for a PENDING
  execution, `wake` releases the recorded wait by sending the stored task token back.

Pausing is race-free by the store's version check: the "pause" task saves the token only while the
execution is still PAUSED, and a resume or cancel saves the new status first and then wakes with
the execution it saved. Whichever writes second sees the other's write, so the token is always sent
by one of them. A token sent twice, or after the wait timed out, is answered with InvalidToken or
TaskTimedOut, which `wake` ignores; a wake that fails otherwise is logged, and the wait's timeout
(docs/statemachine.md) makes the machine look again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from orchestration.aws import calling_aws
from orchestration.engine.advance import ENGINE, deliver
from orchestration.errors import ValidationFailed
from orchestration.models import (
    EXECUTION_TRANSITIONS,
    CleanupRun,
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    WaveStatus,
)

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

    from orchestration.context import Services

logger = Logger(service="drbot")

# a token already used, timed out, or whose execution has ended: nothing is waiting on it any more
_SPENT_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_SAVE_ATTEMPTS = 5
_CAUSE_LIMIT = 500  # characters of the error cause kept in the FAILED event


# -- the state machine's Lambda tasks ---------------------------------------------------------------


def hold(services: Services, execution_id: str, token: str) -> dict[str, Any]:
    """Keep the task token on the PAUSED execution; if it is no longer PAUSED (resumed or
    cancelled meanwhile), release the wait at once."""

    def keep_token(execution: Execution) -> Execution:
        if execution.status != ExecutionStatus.PAUSED or execution.task_token == token:
            return execution
        return execution.model_copy(update={"task_token": token})

    execution = services.store.modify_execution(execution_id, keep_token, ENGINE, attempts=_SAVE_ATTEMPTS)
    if execution.status != ExecutionStatus.PAUSED:
        release(_sfn_client(services), execution_id, token)
        return {"executionId": execution_id, "status": str(execution.status), "waiting": False}
    return {"executionId": execution_id, "status": str(execution.status), "waiting": True}


def await_wake(services: Services, execution_id: str, token: str) -> dict[str, Any]:
    """The "wait" task of WaitForEvent: record the task token on the execution, so that a DRS event
    (orchestration/engine/wake.py) or a resume or cancel releases the wait at once; the wait's
    timeout (the advance's waitSeconds) is the safety net. If an event came while no wait was
    recorded (`wake_pending`), or nothing is left to drive, release the wait at once instead."""
    released: list[bool] = []

    def keep_token(execution: Execution) -> Execution:
        released.clear()
        if execution.wake_pending or not execution.needs_driving:
            released.append(True)
            return (
                execution.model_copy(update={"wake_pending": False}) if execution.wake_pending else execution
            )
        if execution.task_token == token:
            return execution
        return execution.model_copy(update={"task_token": token})

    execution = services.store.modify_execution(execution_id, keep_token, ENGINE, attempts=_SAVE_ATTEMPTS)
    if released:
        release(_sfn_client(services), execution_id, token)
        return {"executionId": execution_id, "status": str(execution.status), "waiting": False}
    return {"executionId": execution_id, "status": str(execution.status), "waiting": True}


def mark_failed(services: Services, execution_id: str, error: dict[str, Any]) -> dict[str, Any]:
    """The Catch of the state machine: advance failed for good and nothing drives the execution
    any more. A running one becomes FAILED; an ended drill whose cleanup was still due records that
    cleanup as FAILED. Either way people are told what was left behind."""
    name, cause = _describe(error)

    def give_up(execution: Execution) -> Execution:
        # None: ended already, or awaiting approval (never driven by the machine): nothing to record
        return _given_up(execution, name, cause, int(services.clock.now())) or execution

    saved = services.store.modify_execution(execution_id, give_up, ENGINE, attempts=_SAVE_ATTEMPTS)
    deliver(services, saved)
    return {"executionId": execution_id, "status": str(saved.status), "done": True}


def _given_up(execution: Execution, name: str, cause: str, now: int) -> Execution | None:
    """The execution as the failed state machine leaves it, or None when there is nothing to record.

    Waves not yet started are SKIPPED; waves in flight keep the state last observed (their DRS jobs
    are not stopped). A drill's launched instances are not terminated: its cleanup is recorded as
    FAILED with the instances left, so the evidence and the notifications say so."""
    if ExecutionStatus.FAILED in EXECUTION_TRANSITIONS[execution.status]:
        return _abandon_cleanup(_failed(execution, name, cause, now), name, cause, now)
    if execution.cleanup is not None and execution.cleanup.pending:
        abandoned = _abandon_cleanup(execution, name, cause, now)
        return abandoned if abandoned != execution else None
    return None


def _failed(execution: Execution, name: str, cause: str, now: int) -> Execution:
    for wave in execution.waves:
        if wave.status != WaveStatus.PENDING:
            continue
        execution = execution.replace_wave(wave.with_status(WaveStatus.SKIPPED, now)).with_event(
            EventType.WAVE_SKIPPED,
            now,
            f"Wave {wave.wave_number} ({wave.wave_name}) skipped",
            wave_number=wave.wave_number,
        )
    in_flight = [w.wave_number for w in execution.waves if not w.status.is_terminal]
    note = ""
    if in_flight:
        note = f" Wave(s) {', '.join(map(str, in_flight))} were in flight and are no longer watched."
    kind = execution.execution_type.word.capitalize()
    failed = execution.with_status(
        ExecutionStatus.FAILED, now, reason=f"The state machine driving it failed: {name}: {cause}"
    ).model_copy(update={"task_token": None})
    return failed.with_event(
        EventType.FAILED,
        now,
        f"{kind} failed: the state machine driving it stopped after an error ({name}: {cause}).{note}",
        error=name,
        cause=cause,
    )


def _abandon_cleanup(execution: Execution, name: str, cause: str, now: int) -> Execution:
    """Record that a drill's instances will not be terminated by drbot (nothing drives it now)."""
    if execution.execution_type != ExecutionType.DRILL:
        return execution  # a real recovery keeps its instances
    left = [
        s.recovery_instance_id
        for w in execution.waves
        for s in w.servers
        if s.recovery_instance_id and s.launch_status == LaunchStatus.LAUNCHED
    ]
    cleanup = execution.cleanup
    if cleanup is None and not left:
        return execution
    if cleanup is not None and not cleanup.pending:
        return execution  # done (or found not needed) before the failure
    ids = left or list(cleanup.recovery_instance_ids if cleanup is not None else [])
    error = f"not terminated: the state machine driving the drill failed ({name}: {cause})"
    abandoned = (cleanup or CleanupRun(due_at=now)).model_copy(
        update={"status": CleanupStatus.FAILED, "instances": len(ids), "finished_at": now, "error": error}
    )
    # every launched server is named as possibly left running: nothing looked at DRS after the failure
    waves = [
        w.model_copy(
            update={
                "servers": [
                    s.model_copy(update={"left_running": True}) if s.recovery_instance_id in ids else s
                    for s in w.servers
                ]
            }
        )
        if any(s.recovery_instance_id in ids for s in w.servers)
        else w
        for w in execution.waves
    ]
    return execution.model_copy(update={"cleanup": abandoned, "waves": waves}).with_event(
        EventType.CLEANUP_FAILED,
        now,
        f"{len(ids)} drill instance(s) were not terminated: the state machine driving the drill "
        "failed. Check DRS and terminate them.",
        instances=len(ids),
    )


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    """(error name, readable cause) from a Catch's {"Error", "Cause"}; a Lambda error's cause is
    the JSON of {errorType, errorMessage, stackTrace}."""
    name = str(error.get("Error") or "UnknownError")
    raw = error.get("Cause")
    cause = "" if raw is None else str(raw)
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        cause = str(parsed["errorMessage"])
    cause = cause.strip() or "no cause given"
    if len(cause) > _CAUSE_LIMIT:
        cause = cause[: _CAUSE_LIMIT - 1] + "…"
    return name, cause


def _sfn_client(services: Services) -> SFNClient:
    if isinstance(services.driver, StepFunctionsDriver):
        return services.driver.client
    client: SFNClient = services.aws.client("stepfunctions", services.settings.region)
    return client


# -- the Driver port ----------------------------------------------------------------------------------


def execution_arn(state_machine_arn: str, execution_id: str) -> str:
    """The ARN Step Functions gives the execution named `execution_id` of a Standard state machine."""
    prefix, marker, name = state_machine_arn.partition(":stateMachine:")
    if not marker or not name:
        raise ValidationFailed(f"'{state_machine_arn}' is not a Step Functions state machine ARN")
    return f"{prefix}:execution:{name}:{execution_id}"


class StepFunctionsDriver:
    """Drives each execution with its own state machine execution (name = executionId)."""

    def __init__(self, state_machine_arn: str, sfn_client: SFNClient) -> None:
        if ":stateMachine:" not in state_machine_arn:
            raise ValidationFailed(
                f"'{state_machine_arn}' is not a Step Functions state machine ARN: "
                "set STEP_FUNCTIONS_STATE_MACHINE_ARN to the ARN of drbot's state machine"
            )
        self.state_machine_arn = state_machine_arn
        self.client = sfn_client

    def start(self, execution: Execution) -> Execution:
        """Start the state machine for `execution` (idempotent: a second start finds the first)
        and return the execution with the Step Functions execution ARN recorded."""
        execution_id = execution.execution_id
        with calling_aws("stepfunctions", f"start the state machine for execution {execution_id}"):
            try:
                response = self.client.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=execution_id,
                    input=json.dumps({"executionId": execution_id}),
                )
                arn = response["executionArn"]
            except ClientError as exc:
                if _aws_code(exc) != "ExecutionAlreadyExists":
                    raise
                arn = execution_arn(self.state_machine_arn, execution_id)  # started already: fine
        return execution.model_copy(update={"state_machine_arn": arn})

    def close(self) -> None:
        """Nothing to stop: Step Functions drives executions outside this process."""

    def wake(self, execution: Execution) -> bool:
        """Release the state machine's wait (WaitForEvent or WaitForResume) with the task token
        recorded on `execution`, if any; True if that released a wait. Never raises: the change is
        saved already, and the wait's timeout looks again."""
        if execution.task_token:
            return release(self.client, execution.execution_id, execution.task_token)
        return False  # no token: the machine is not waiting on one, and its next Advance sees the change


def release(client: SFNClient, execution_id: str, token: str) -> bool:
    """SendTaskSuccess for `token`: True if it released a wait. A spent token (already used, timed
    out, its execution ended) is not an error; any other failure is logged, never raised."""
    try:
        client.send_task_success(taskToken=token, output=json.dumps({"executionId": execution_id}))
    except ClientError as exc:
        code = _aws_code(exc)
        if code in _SPENT_TOKEN_ERRORS:
            logger.info("task token already spent", extra={"execution_id": execution_id, "code": code})
        else:
            logger.error(
                "could not release the state machine's wait; it looks again when the wait times out",
                extra={"execution_id": execution_id, "code": code},
                exc_info=True,
            )
        return False
    except BotoCoreError:
        logger.error(
            "could not reach Step Functions to release the wait; it looks again when the wait times out",
            extra={"execution_id": execution_id},
            exc_info=True,
        )
        return False
    return True


def _aws_code(exc: BaseException | None) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""
