"""EventBridge Scheduler: one schedule per drill schedule, in drbot's schedule group, whose target is
the scheduled-drill Lambda (`scheduler.handler.lambda_handler`) with the input
`{"scheduleId": "<id>", "scheduledTime": "<aws.scheduler.scheduled-time>"}`. The tag sync has one
schedule of its own in the same group, TAG_SYNC_SCHEDULE (`drbot-tag-sync`; a drill schedule's name
holds a UUID, so the two never meet), targeting the same function with the input
`{"task": "tag_sync", "scheduledTime": "<aws.scheduler.scheduled-time>"}`. The monthly digest has
DIGEST_SCHEDULE (`drbot-digest`), with the input `{"task": "digest", "scheduledTime": ...}`.

Every request is checked here against the API's documented constraints before it is sent (names,
ARNs, lengths, retry bounds): botocore validates only types and required members, and moto, which
the tests run against, validates nothing. A refusal of AWS becomes an InternalError naming the
operation; ResourceNotFound on delete means "already gone".
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from orchestration.config import (
    ENV_SCHEDULE_DLQ_ARN,
    ENV_SCHEDULE_GROUP,
    ENV_SCHEDULED_DRILL_FUNCTION_ARN,
    ENV_SCHEDULER_ROLE_ARN,
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
from orchestration.models import Schedule
from orchestration.recurring import DIGEST_TASK, TAG_SYNC_TASK
from orchestration.schedule_expressions import RateExpression, parse, validate_timezone
from scheduler.backends.port import BackendEntry, BuiltOnFirstUse, ScheduleBackend

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

NAME_PREFIX = "drbot-"
TAG_SYNC_SCHEDULE = f"{NAME_PREFIX}tag-sync"
DIGEST_SCHEDULE = f"{NAME_PREFIX}digest"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # EventBridge Scheduler fills this context attribute
MAX_EVENT_AGE_SECONDS = 3600  # a fire not delivered within an hour goes to the dead-letter queue
MAX_RETRY_ATTEMPTS = 5

# the API reference's constraints (CreateSchedule, Target, RetryPolicy)
_QUEUE_ARN = re.compile(r"^arn:aws[a-z\-]*:sqs:[a-z0-9\-]+:\d{12}:[A-Za-z0-9_\-]{1,80}(\.fifo)?$")
MAX_EXPRESSION = 256
MAX_TIMEZONE = 50
MAX_DESCRIPTION = 512
MAX_INPUT = 8192
RETRY_AGE_RANGE = (60, 86400)
RETRY_ATTEMPTS_RANGE = (0, 185)


def schedule_name(schedule_id: str) -> str:
    """The EventBridge schedule's name: `drbot-<schedule id>` (a UUID makes 42 characters)."""
    name = f"{NAME_PREFIX}{schedule_id}"
    if not SCHEDULE_NAME.match(name):
        raise ValidationFailed(
            f"Schedule id '{schedule_id}' cannot name an EventBridge schedule (letters, digits, - _ . and "
            "at most 64 characters with the prefix).",
            scheduleId=schedule_id,
        )
    return name


@dataclass(frozen=True)
class EventBridgeTarget:
    """Where drbot's schedules live and what they invoke."""

    group: str
    function_arn: str
    role_arn: str
    dead_letter_arn: str
    max_event_age_seconds: int = MAX_EVENT_AGE_SECONDS
    max_retry_attempts: int = MAX_RETRY_ATTEMPTS

    def __post_init__(self) -> None:
        problems = []
        if not SCHEDULE_NAME.match(self.group):
            problems.append(
                f"{ENV_SCHEDULE_GROUP} '{self.group}' is not a schedule group name (A-Z a-z 0-9 - _ .)"
            )
        if not FUNCTION_ARN.match(self.function_arn):
            problems.append(
                f"{ENV_SCHEDULED_DRILL_FUNCTION_ARN} '{self.function_arn}' is not a Lambda function ARN"
            )
        if not ROLE_ARN.match(self.role_arn):
            problems.append(f"{ENV_SCHEDULER_ROLE_ARN} '{self.role_arn}' is not an IAM role ARN")
        if not _QUEUE_ARN.match(self.dead_letter_arn):
            problems.append(f"{ENV_SCHEDULE_DLQ_ARN} '{self.dead_letter_arn}' is not an SQS queue ARN")
        if not RETRY_AGE_RANGE[0] <= self.max_event_age_seconds <= RETRY_AGE_RANGE[1]:
            problems.append(
                f"the maximum event age must be {RETRY_AGE_RANGE[0]}-{RETRY_AGE_RANGE[1]} seconds"
            )
        if not RETRY_ATTEMPTS_RANGE[0] <= self.max_retry_attempts <= RETRY_ATTEMPTS_RANGE[1]:
            problems.append(f"the retry attempts must be {RETRY_ATTEMPTS_RANGE[0]}-{RETRY_ATTEMPTS_RANGE[1]}")
        if problems:
            raise ValidationFailed("EventBridge Scheduler is misconfigured: " + "; ".join(problems) + ".")

    @classmethod
    def from_settings(cls, settings: Settings) -> EventBridgeTarget:
        missing = [
            name
            for name, value in (
                (ENV_SCHEDULED_DRILL_FUNCTION_ARN, settings.scheduled_drill_function_arn),
                (ENV_SCHEDULER_ROLE_ARN, settings.scheduler_role_arn),
                (ENV_SCHEDULE_DLQ_ARN, settings.schedule_dlq_arn),
            )
            if not value
        ]
        if missing:
            raise ValidationFailed(f"Drill schedules on AWS need {', '.join(missing)} set.")
        assert (
            settings.scheduled_drill_function_arn
            and settings.scheduler_role_arn
            and settings.schedule_dlq_arn
        )
        return cls(
            group=settings.schedule_group,
            function_arn=settings.scheduled_drill_function_arn,
            role_arn=settings.scheduler_role_arn,
            dead_letter_arn=settings.schedule_dlq_arn,
        )


class EventBridgeSchedulerBackend(ScheduleBackend):
    """The AWS backend (see the module docstring)."""

    name = "EventBridge"

    def __init__(self, client: EventBridgeSchedulerClient, target: EventBridgeTarget) -> None:
        self._client = client
        self.target = target

    def ensure_group(self) -> None:
        """Create drbot's schedule group unless it exists (the template normally creates it)."""
        try:
            self._client.get_schedule_group(Name=self.target.group)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise scheduler_refused("GetScheduleGroup", error) from error
            try:
                self._client.create_schedule_group(Name=self.target.group)
            except ClientError as create_error:
                if error_code(create_error) != "ConflictException":  # created meanwhile
                    raise scheduler_refused("CreateScheduleGroup", create_error) from create_error

    def request(self, entry: BackendEntry, schedule: Schedule) -> dict[str, Any]:
        """The CreateSchedule/UpdateSchedule parameters of an entry, checked."""
        payload = json.dumps({"scheduleId": entry.schedule_id, "scheduledTime": SCHEDULED_TIME})
        description = f"drbot drill schedule of plan {schedule.plan_id}"[:MAX_DESCRIPTION]
        first = first_rate_fire(entry, schedule)
        return self._params(schedule_name(entry.schedule_id), entry, description, payload, first)

    def tag_sync_request(self, expression: str, timezone: str, enabled: bool, since: int) -> dict[str, Any]:
        """The CreateSchedule/UpdateSchedule parameters of the tag-sync schedule, checked. An enabled
        rate starts one interval after `since` (the settings' save), as the local backend counts it."""
        entry = BackendEntry(TAG_SYNC_TASK, parse(expression).to_aws(), validate_timezone(timezone), enabled)
        payload = json.dumps({"task": TAG_SYNC_TASK, "scheduledTime": SCHEDULED_TIME})
        description = "drbot tag sync: copies EC2 instance tags onto DRS source servers"
        first = _first_fire(entry, since)
        return self._params(TAG_SYNC_SCHEDULE, entry, description, payload, first)

    def digest_request(self, expression: str, timezone: str, enabled: bool, since: int) -> dict[str, Any]:
        """The CreateSchedule/UpdateSchedule parameters of the digest's schedule, checked."""
        entry = BackendEntry(DIGEST_TASK, parse(expression).to_aws(), validate_timezone(timezone), enabled)
        payload = json.dumps({"task": DIGEST_TASK, "scheduledTime": SCHEDULED_TIME})
        description = "drbot digest: posts the month's drills across plans"
        return self._params(DIGEST_SCHEDULE, entry, description, payload, _first_fire(entry, since))

    def _params(
        self, name: str, entry: BackendEntry, description: str, payload: str, first: datetime | None
    ) -> dict[str, Any]:
        if len(entry.expression) > MAX_EXPRESSION:
            raise ValidationFailed(
                f"The expression is longer than {MAX_EXPRESSION} characters.", field="expression"
            )
        if len(entry.timezone) > MAX_TIMEZONE:
            raise ValidationFailed(
                f"The time zone is longer than {MAX_TIMEZONE} characters.", field="timezone"
            )
        if len(payload) > MAX_INPUT:  # cannot happen with an id-sized input; checked as AWS would
            raise ValidationFailed(f"The target input is longer than {MAX_INPUT} characters.")
        params: dict[str, Any] = {
            "Name": name,
            "GroupName": self.target.group,
            "Description": description,
            "ScheduleExpression": entry.expression,
            "ScheduleExpressionTimezone": entry.timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED" if entry.enabled else "DISABLED",
            "ActionAfterCompletion": "NONE",  # an at() schedule stays, so `show` still finds it
            "Target": {
                "Arn": self.target.function_arn,
                "RoleArn": self.target.role_arn,
                "Input": payload,
                "RetryPolicy": {
                    "MaximumEventAgeInSeconds": self.target.max_event_age_seconds,
                    "MaximumRetryAttempts": self.target.max_retry_attempts,
                },
                "DeadLetterConfig": {"Arn": self.target.dead_letter_arn},
            },
        }
        if first is not None:
            params["StartDate"] = first
        return params

    # -- the tag-sync schedule --------------------------------------------------------------------

    def put_tag_sync(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        self._upsert(self.tag_sync_request(expression, timezone, enabled, since))

    def remove_tag_sync(self) -> None:
        self._remove(TAG_SYNC_SCHEDULE)

    def tag_sync_entry(self) -> BackendEntry | None:
        """The tag-sync schedule as EventBridge Scheduler holds it now, or None."""
        return self._read(TAG_SYNC_SCHEDULE, TAG_SYNC_TASK)

    # -- the digest's schedule --------------------------------------------------------------------

    def put_digest(self, expression: str, timezone: str, enabled: bool, *, since: int) -> None:
        self._upsert(self.digest_request(expression, timezone, enabled, since))

    def remove_digest(self) -> None:
        self._remove(DIGEST_SCHEDULE)

    def digest_entry(self) -> BackendEntry | None:
        """The digest's schedule as EventBridge Scheduler holds it now, or None."""
        return self._read(DIGEST_SCHEDULE, DIGEST_TASK)

    # -- primitives -------------------------------------------------------------------------------

    def _put(self, entry: BackendEntry, schedule: Schedule) -> None:
        self._upsert(self.request(entry, schedule))

    def _upsert(self, params: dict[str, Any]) -> None:
        try:
            self._client.update_schedule(**params)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise scheduler_refused("UpdateSchedule", error) from error
            try:
                self._client.create_schedule(**params)
            except ClientError as create_error:
                raise scheduler_refused("CreateSchedule", create_error) from create_error

    def _delete(self, schedule_id: str) -> None:
        self._remove(schedule_name(schedule_id))

    def _remove(self, name: str) -> None:
        try:
            self._client.delete_schedule(Name=name, GroupName=self.target.group)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise scheduler_refused("DeleteSchedule", error) from error

    def _get(self, schedule_id: str) -> BackendEntry | None:
        return self._read(schedule_name(schedule_id), schedule_id)

    def _read(self, name: str, schedule_id: str) -> BackendEntry | None:
        try:
            found = self._client.get_schedule(Name=name, GroupName=self.target.group)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise scheduler_refused("GetSchedule", error) from error
        return BackendEntry(
            schedule_id=schedule_id,
            expression=found["ScheduleExpression"],
            timezone=found.get("ScheduleExpressionTimezone", "UTC"),
            enabled=found.get("State") == "ENABLED",
        )


def first_rate_fire(entry: BackendEntry, schedule: Schedule) -> datetime | None:
    """An enabled rate schedule's StartDate: one interval after its approval or resume, when drbot
    counts its first drill (scheduler/timing.py). Without one, EventBridge Scheduler would invoke
    the target at once, starting an unexpected drill the moment the schedule is approved."""
    return _first_fire(entry, schedule.last_modified_date)


def _first_fire(entry: BackendEntry, since: int) -> datetime | None:
    expression = parse(entry.expression)
    if not entry.enabled or not isinstance(expression, RateExpression):
        return None
    return datetime.fromtimestamp(since, UTC) + expression.interval


def backend_from_settings(
    settings: Settings, client: EventBridgeSchedulerClient | None = None
) -> EventBridgeSchedulerBackend:
    """The AWS backend for these settings (the process's `scheduler` client in drbot's region unless
    given)."""
    target = EventBridgeTarget.from_settings(settings)
    return EventBridgeSchedulerBackend(client or scheduler_client(settings.region), target)


def backend_on_first_use(settings: Settings) -> ScheduleBackend:
    """The AWS backend for these settings as a composition root hands it in: built (its settings
    checked, its client made) when a schedule change first needs it."""
    return BuiltOnFirstUse(EventBridgeSchedulerBackend.name, lambda: backend_from_settings(settings))


_clients: dict[str, EventBridgeSchedulerClient] = {}
_clients_lock = threading.Lock()


def scheduler_client(region: str) -> EventBridgeSchedulerClient:
    """The process's boto3 `scheduler` client for `region`, built on first use (a Lambda container
    keeps it for every later command and fire)."""
    with _clients_lock:
        client = _clients.get(region)
        if client is None:
            client = _clients[region] = boto3.client("scheduler", region_name=region)
        return client
