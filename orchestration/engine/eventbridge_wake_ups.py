"""WakeUps on AWS: one EventBridge Scheduler `at()` schedule per (execution, reason).

Each wake-up is a one-time schedule `drbot-wake-<reason>-<execution id>` in its own schedule group
(DRBOT_WAKE_UP_GROUP), in UTC, with no flexible window, deleted by EventBridge Scheduler once it has
fired (ActionAfterCompletion DELETE). Its target is the execution function with the input
`{"task": "wake", "executionId": ..., "reason": ...}`, invoked with the scheduler role. A moment
already past is scheduled a few seconds ahead (an `at()` in the past never fires). `at` again moves
the schedule; `cancel` deletes it, and a failed delete is only logged: the woken handler re-reads
the execution, so a wake-up left behind does nothing (docs/engine.md, "Wake-ups").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from orchestration.clock import Clock
from orchestration.config import (
    ENV_SCHEDULER_ROLE_ARN,
    ENV_WAKE_UP_FUNCTION_ARN,
    ENV_WAKE_UP_GROUP,
    Settings,
)
from orchestration.errors import ValidationFailed
from orchestration.eventbridge_scheduler import (
    FUNCTION_ARN,
    ROLE_ARN,
    SCHEDULE_NAME,
    error_code,
    scheduler_refused,
)

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

logger = Logger(service="drbot")

WAKE_TASK = "wake"
NAME_PREFIX = "drbot-wake-"
SOONEST_SECONDS = 5  # a moment already past is woken this long from now
MAX_EVENT_AGE_SECONDS = 3600
MAX_RETRY_ATTEMPTS = 5


def wake_up_name(execution_id: str, reason: str) -> str:
    """`drbot-wake-<reason>-<execution id>` (55 characters with a UUID and `expiry`)."""
    name = f"{NAME_PREFIX}{reason}-{execution_id}"
    if not SCHEDULE_NAME.match(name):
        raise ValidationFailed(
            f"Execution id '{execution_id}' cannot name a wake-up schedule (letters, digits, - _ . and "
            "at most 64 characters with the prefix).",
            executionId=execution_id,
        )
    return name


def at_expression(epoch: int) -> str:
    """`at(yyyy-mm-ddThh:mm:ss)` in UTC."""
    return f"at({datetime.fromtimestamp(epoch, UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


@dataclass(frozen=True)
class WakeUpTarget:
    """Where the wake-ups live and what they invoke."""

    group: str
    function_arn: str
    role_arn: str

    def __post_init__(self) -> None:
        problems = []
        if not SCHEDULE_NAME.match(self.group):
            problems.append(f"{ENV_WAKE_UP_GROUP} '{self.group}' is not a schedule group name")
        if not FUNCTION_ARN.match(self.function_arn):
            problems.append(f"{ENV_WAKE_UP_FUNCTION_ARN} '{self.function_arn}' is not a Lambda function ARN")
        if not ROLE_ARN.match(self.role_arn):
            problems.append(f"{ENV_SCHEDULER_ROLE_ARN} '{self.role_arn}' is not an IAM role ARN")
        if problems:
            raise ValidationFailed("Wake-ups are misconfigured: " + "; ".join(problems) + ".")

    @classmethod
    def from_settings(cls, settings: Settings) -> WakeUpTarget:
        if not settings.wake_up_function_arn or not settings.scheduler_role_arn:
            raise ValidationFailed(
                f"Wake-ups on AWS need {ENV_WAKE_UP_FUNCTION_ARN} and {ENV_SCHEDULER_ROLE_ARN} set."
            )
        return cls(settings.wake_up_group, settings.wake_up_function_arn, settings.scheduler_role_arn)


class EventBridgeWakeUps:
    """The AWS WakeUps (see the module docstring)."""

    def __init__(self, client: EventBridgeSchedulerClient, target: WakeUpTarget, clock: Clock) -> None:
        self._client = client
        self.target = target
        self._clock = clock

    def request(self, execution_id: str, when: int, reason: str) -> dict[str, object]:
        """The CreateSchedule/UpdateSchedule parameters of one wake-up, checked."""
        soonest = int(self._clock.now()) + SOONEST_SECONDS
        payload = json.dumps({"task": WAKE_TASK, "executionId": execution_id, "reason": reason})
        return {
            "Name": wake_up_name(execution_id, reason),
            "GroupName": self.target.group,
            "Description": f"drbot wake-up ({reason}) of execution {execution_id}",
            "ScheduleExpression": at_expression(max(int(when), soonest)),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": self.target.function_arn,
                "RoleArn": self.target.role_arn,
                "Input": payload,
                "RetryPolicy": {
                    "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
                    "MaximumRetryAttempts": MAX_RETRY_ATTEMPTS,
                },
            },
        }

    def at(self, execution_id: str, when: int, reason: str) -> None:
        params = self.request(execution_id, when, reason)
        try:
            self._client.create_schedule(**params)  # type: ignore[arg-type]
        except ClientError as error:
            if error_code(error) != "ConflictException":
                raise scheduler_refused("CreateSchedule", error) from error
            try:  # it exists: move it
                self._client.update_schedule(**params)  # type: ignore[arg-type]
            except ClientError as update_error:
                raise scheduler_refused("UpdateSchedule", update_error) from update_error
        except BotoCoreError as error:
            raise scheduler_refused("CreateSchedule", error) from error

    def cancel(self, execution_id: str, reason: str) -> None:
        name = wake_up_name(execution_id, reason)
        try:
            self._client.delete_schedule(Name=name, GroupName=self.target.group)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                logger.warning(
                    "could not delete a wake-up", extra={"schedule": name, "code": error_code(error)}
                )
        except BotoCoreError:
            logger.warning("could not delete a wake-up", extra={"schedule": name})

    def names(self) -> list[str]:
        """The wake-up schedules that exist now (tests, and an operator's look)."""
        found: list[str] = []
        pages = self._client.get_paginator("list_schedules").paginate(GroupName=self.target.group)
        for page in pages:
            found.extend(item["Name"] for item in page["Schedules"])
        return sorted(found)
