"""EventBridge Scheduler's rules as drbot meets them, once for the drill schedules' backend
(scheduler/backends/eventbridge.py) and the executions' one-time wake-ups
(orchestration/engine/eventbridge_wake_ups.py): what a schedule name, a target function's ARN and
the scheduler role's ARN may look like, and one wording for its errors."""

from __future__ import annotations

import re

from botocore.exceptions import BotoCoreError, ClientError

from orchestration.errors import InternalError

SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")  # a schedule's or a group's name
FUNCTION_ARN = re.compile(
    r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:[A-Za-z0-9\-_]{1,64}(:[A-Za-z0-9\-_$]{1,128})?$"
)
ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/\-]{1,512}$")


def error_code(error: ClientError) -> str:
    """The AWS error code of a refused call ("ConflictException", ...), or ""."""
    return str(error.response.get("Error", {}).get("Code", ""))


def scheduler_refused(operation: str, error: ClientError | BotoCoreError) -> InternalError:
    """The error a caller sees when EventBridge Scheduler refused `operation` or could not be reached."""
    code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
    return InternalError(
        f"EventBridge Scheduler refused {operation} ({code}).", operation=operation, awsError=code
    )
