"""What EventBridge Scheduler's errors mean to drbot: one wording for the drill schedules' backend
(scheduler/backends/eventbridge.py) and the executions' one-time wake-ups
(orchestration/engine/eventbridge_wake_ups.py)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from orchestration.errors import InternalError


def error_code(error: ClientError) -> str:
    """The AWS error code of a refused call ("ConflictException", ...), or ""."""
    return str(error.response.get("Error", {}).get("Code", ""))


def scheduler_refused(operation: str, error: ClientError | BotoCoreError) -> InternalError:
    """The error a caller sees when EventBridge Scheduler refused `operation` or could not be reached."""
    code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
    return InternalError(
        f"EventBridge Scheduler refused {operation} ({code}).", operation=operation, awsError=code
    )
