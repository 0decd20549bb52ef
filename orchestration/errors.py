"""The domain's errors: one base, one class per meaning.

Each class has a stable upper-case `code` (the seed contract's `error` field) and an HTTP status.
They are turned into API responses, Slack text and console text in exactly one place each
(`DrbotError.to_body` is the wire shape: `{"error": CODE, "message": text, ...details}`).

The message says what is wrong, never what to type: an error that a person can do something about
names that as a `Remedy` (an operation, and the id it applies to), which bot/views/errors.py words
as the `/dr` command to type. The wire body leaves the remedy out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar


class Action(StrEnum):
    """What a person can do about a refusal, named by operation."""

    REQUEST_RUN = "request_run"  # request a new run of the plan
    REQUEST_RECOVERY = "request_recovery"  # run a recovery, which approvers approve
    CANCEL_EXECUTION = "cancel_execution"  # cancel the execution (`target`)
    STOP_RUN = "stop_run"  # cancelling is how a run is stopped
    REJECT_EXECUTION = "reject_execution"  # an approver rejects the request (`target`)
    LIST_EXECUTIONS = "list_executions"
    LIST_GROUPS = "list_groups"
    LIST_PLANS = "list_plans"
    LIST_SCHEDULES = "list_schedules"
    APPROVE_SCHEDULE = "approve_schedule"  # an approver approves the schedule (`target`)
    DELETE_SCHEDULE = "delete_schedule"  # delete the schedule (`target`)
    PAUSE_OR_DELETE_SCHEDULE = "pause_or_delete_schedule"
    SYNC_SCHEDULE = "sync_schedule"  # resuming or pausing the schedule (`target`) tries again
    SAY_AT_GATE = "say_at_gate"  # say what an unattended drill does at a pause gate


@dataclass(frozen=True)
class Remedy:
    """What the person can do next: an action, and the id it applies to (empty: none)."""

    action: Action
    target: str = ""


class DrbotError(Exception):
    """Base of every error drbot reports to a person or a caller."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        """`details` go into the wire body, all but `remedy` (a `Remedy`), which bot/ words."""
        super().__init__(message)
        self.message = message
        self.remedy: Remedy | None = details.pop("remedy", None)
        self.details = details

    def to_body(self) -> dict[str, Any]:
        """The seed contract's error shape."""
        return {"error": self.code, "message": self.message, **self.details}


# 400 -------------------------------------------------------------------------------------------
class ValidationFailed(DrbotError):
    """Input is malformed or breaks a rule; `errors` lists each problem when there are several."""

    code = "VALIDATION_ERROR"
    status = 400


class MissingField(ValidationFailed):
    """A required field is absent."""

    code = "MISSING_FIELD"


class InvalidOperation(ValidationFailed):
    """A direct invocation named an operation this handler does not have."""

    code = "INVALID_OPERATION"


class InvalidTransition(ValidationFailed):
    """A status change that the lifecycle does not allow (e.g. resuming a COMPLETED execution)."""

    code = "INVALID_STATE_TRANSITION"


class WaveSizeLimitExceeded(ValidationFailed):
    """A wave holds more servers than one DRS job can launch."""

    code = "WAVE_SIZE_LIMIT_EXCEEDED"


class CircularDependency(ValidationFailed):
    """Waves depend on each other in a cycle."""

    code = "CIRCULAR_DEPENDENCY"


class DuplicateServerInPlan(ValidationFailed):
    """A server would launch in more than one wave of a plan (one group in two waves, or two
    groups that select the same server); `servers` lists each with its waves."""

    code = "DUPLICATE_SERVER_IN_PLAN"


class InvalidScheduleExpression(ValidationFailed):
    """A schedule expression or time zone that EventBridge would not accept."""

    code = "INVALID_SCHEDULE_EXPRESSION"


class UsageError(ValidationFailed):
    """A command (a chat command, a console line) that does not parse; the message says the usage."""

    code = "USAGE_ERROR"


class PayloadTooLarge(ValidationFailed):
    """The request (its body, or one of its parameters) is larger than drbot accepts."""

    code = "PAYLOAD_TOO_LARGE"
    status = 413


class UnsupportedMediaType(ValidationFailed):
    """A body sent as something other than JSON."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415


class MethodNotAllowed(ValidationFailed):
    """A known path asked with a method it does not have; `allowed` lists the ones it has."""

    code = "METHOD_NOT_ALLOWED"
    status = 405


# 403 -------------------------------------------------------------------------------------------
class PermissionDenied(DrbotError):
    """The caller's role does not allow this action."""

    code = "PERMISSION_DENIED"
    status = 403


class ArchiveAccessDenied(PermissionDenied):
    """The evidence archive refused drbot's own read (S3 AccessDenied): the message names the
    permission its role is missing. Not the caller's fault, and not an internal error."""

    code = "ARCHIVE_ACCESS_DENIED"


# 404 -------------------------------------------------------------------------------------------
class NotFound(DrbotError):
    """The named resource does not exist."""

    code = "NOT_FOUND"
    status = 404


class ServersNotFound(NotFound):
    """Source servers named in the request do not exist in DRS in that region/account."""

    code = "SERVERS_NOT_FOUND"


# 409 -------------------------------------------------------------------------------------------
class Conflict(DrbotError):
    """The request conflicts with the current state."""

    code = "CONFLICT"
    status = 409


class DuplicateName(Conflict):
    """Another group or plan already has this name (names are case-insensitive)."""

    code = "DUPLICATE_NAME"


class StaleVersion(Conflict):
    """Someone else changed the item since it was read; read it again and retry."""

    code = "VERSION_CONFLICT"


class ServerConflict(Conflict):
    """Servers are already in another protection group, execution or active DRS job."""

    code = "SERVER_CONFLICT"


class InUse(Conflict):
    """The item is referenced elsewhere (a group used by plans, a plan with a running execution)."""

    code = "RESOURCE_IN_USE"


# 429 -------------------------------------------------------------------------------------------
class DrsLimitExceeded(DrbotError):
    """Starting this would exceed a DRS service limit for the region."""

    code = "DRS_LIMIT_EXCEEDED"
    status = 429


# 500 -------------------------------------------------------------------------------------------
class InternalError(DrbotError):
    """Something failed that the caller cannot fix; details are in the logs."""

    code = "INTERNAL_ERROR"
    status = 500


class DrsUnavailable(InternalError):
    """DRS did not answer successfully after retries (throttling, outage)."""

    code = "DRS_UNAVAILABLE"


class DrsOutcomeUnknown(DrsUnavailable):
    """A DRS call that changes something got no answer (a timeout, a lost response, a 5xx): it may
    or may not have taken effect. The engine reconciles with DRS before trying again."""
