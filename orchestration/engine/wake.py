"""Wake on DRS events: the one place that turns an EventBridge event into a wake-up of the execution
it concerns (docs/engine.md, "What wakes an execution").

Two kinds of event matter:
- "DRS Source Server Launch Result" (source `aws.drs`): a server's drill or recovery launch ended.
  Its job is found through the DRS gateway of the event's account and region, and the job's drbot
  tags (TAG_EXECUTION, set on every job the engine starts) name the execution.
- "EC2 Instance State-change Notification" (source `aws.ec2`) for a terminated instance: a drill's
  cleanup may be done. The execution is the one still driven whose server ran that instance (the
  executions still needing a drive are few: they are listed, not indexed).

A launch result while other servers of its job are still launching, and a termination while DRS
still lists other running instances of the wave, wake nothing (IN_FLIGHT): the wave's last one
does. A wave of a hundred servers costs one loop of the state machine, not a hundred.

`wake_on_event` validates the envelope first (anything else: ValidationFailed, nothing changed),
then records the event's id on the execution (a duplicate wakes nothing twice) and wakes it
through the Driver port. An unknown job, a job not started by drbot, or an execution with nothing
left to drive is logged and changes nothing. When the driver released no wait (the state machine
is between waits, running an advance, or its wait timed out), the execution is marked
`wake_pending`, so the next wait returns at once: an event is never lost to a race. Events are
delivered best effort; whatever is late or lost, the wait's timeout looks anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from orchestration.engine.tick import ENGINE, TAG_EXECUTION
from orchestration.errors import DrsUnavailable, NotFound, ValidationFailed
from orchestration.models import Execution, LaunchStatus, WaveRun

if TYPE_CHECKING:
    from orchestration.context import Services

logger = Logger(service="drbot")

DRS_SOURCE = "aws.drs"
LAUNCH_RESULT = "DRS Source Server Launch Result"
EC2_SOURCE = "aws.ec2"
INSTANCE_STATE_CHANGE = "EC2 Instance State-change Notification"
WOKEN_BY_KEPT = 32  # event ids remembered per execution: duplicates arrive within seconds
_SAVE_ATTEMPTS = 5
_WAKE_ROUNDS = 3
_MAX_TEXT = 256
_LAUNCHING = {LaunchStatus.PENDING, LaunchStatus.IN_PROGRESS}
_GONE = {"TERMINATED"}  # a recovery instance's EC2 state once it has ended


class WakeOutcome(StrEnum):
    WOKEN = "WOKEN"  # the driver released a wait (or will tick at once)
    PENDING = "PENDING"  # nothing was waiting: the next wait returns at once
    DUPLICATE = "DUPLICATE"  # this event woke the execution already
    IGNORED = "IGNORED"  # an event drbot does not act on (another state, another instance state)
    UNKNOWN = "UNKNOWN"  # no execution of drbot's behind it (unknown job, not drbot's)
    ENDED = "ENDED"  # the execution has nothing left to drive
    IN_FLIGHT = "IN_FLIGHT"  # others of the wave are still launching (or running): the last wakes it


@dataclass(frozen=True)
class DrsEvent:
    """The fields of a validated EventBridge event that find its execution."""

    event_id: str
    source: str
    detail_type: str
    account: str
    region: str
    job_id: str | None = None  # a launch result's job
    instance_id: str | None = None  # a terminated instance
    state: str = ""


@dataclass(frozen=True)
class WakeResult:
    outcome: WakeOutcome
    event_id: str
    execution_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"eventId": self.event_id, "outcome": str(self.outcome)}
        if self.execution_id is not None:
            wire["executionId"] = self.execution_id
        return wire


def is_eventbridge_event(event: object) -> bool:
    """Whether `event` claims to be an EventBridge event (then `parse_event` says if it is one)."""
    return isinstance(event, dict) and "detail-type" in event


def _text(event: dict[str, Any], key: str, where: str = "") -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT or not value.isprintable():
        raise ValidationFailed(
            f"Not an EventBridge event drbot acts on: {where}{key} must be a short non-empty string",
            field=f"{where}{key}",
        )
    return value


def parse_event(event: object) -> DrsEvent:
    """The event's fields, or ValidationFailed naming what is wrong (nothing has been changed)."""
    if not isinstance(event, dict):
        raise ValidationFailed("Not an EventBridge event drbot acts on: expected a JSON object")
    source = _text(event, "source")
    detail_type = _text(event, "detail-type")
    kinds = {(DRS_SOURCE, LAUNCH_RESULT), (EC2_SOURCE, INSTANCE_STATE_CHANGE)}
    if (source, detail_type) not in kinds:
        raise ValidationFailed(
            f"Not an EventBridge event drbot acts on: source {source!r} with detail-type {detail_type!r} "
            f"(expected {DRS_SOURCE!r} {LAUNCH_RESULT!r} or {EC2_SOURCE!r} {INSTANCE_STATE_CHANGE!r})",
            field="detail-type",
        )
    event_id = _text(event, "id")
    account = _text(event, "account")
    if not (account.isdigit() and len(account) == 12):
        raise ValidationFailed(
            "Not an EventBridge event: account must be a 12-digit account id", field="account"
        )
    region = _text(event, "region")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise ValidationFailed("Not an EventBridge event: detail must be an object", field="detail")
    # a launch result names its job, an instance state change its instance
    what = {"job_id": "job-id"} if source == DRS_SOURCE else {"instance_id": "instance-id"}
    found = {name: _text(detail, key, "detail.") for name, key in what.items()}
    return DrsEvent(
        event_id, source, detail_type, account, region, state=_text(detail, "state", "detail."), **found
    )


def wake_on_event(services: Services, event: object) -> WakeResult:
    """Wake the execution `event` concerns (see the module docstring). Raises ValidationFailed for
    anything that is not such an event, DrsUnavailable when DRS cannot say whose job it is (the
    event is then retried by EventBridge's target retry; a lost one costs at most the safety poll)."""
    parsed = parse_event(event)
    execution_id = _execution_of(services, parsed)
    if execution_id is None:
        return WakeResult(_unowned_outcome(parsed), parsed.event_id)
    if isinstance(execution_id, _StillLaunching):
        return WakeResult(WakeOutcome.IN_FLIGHT, parsed.event_id, execution_id.execution_id)
    return _wake(services, execution_id, parsed.event_id)


def _unowned_outcome(parsed: DrsEvent) -> WakeOutcome:
    if parsed.source == EC2_SOURCE and parsed.state != "terminated":
        return WakeOutcome.IGNORED
    return WakeOutcome.UNKNOWN


@dataclass(frozen=True)
class _StillLaunching:
    """The event's job is drbot's, and other servers of it are still launching."""

    execution_id: str


def _execution_of(services: Services, parsed: DrsEvent) -> str | _StillLaunching | None:
    if parsed.source == EC2_SOURCE:
        if parsed.state != "terminated":
            return None
        return _execution_of_instance(services, parsed)
    try:
        jobs = services.drs.gateway(parsed.region, parsed.account).jobs([str(parsed.job_id)])
    except DrsUnavailable:
        raise
    except Exception:  # no role into that account, say: not an account drbot drives
        logger.warning(
            "could not look up the event's DRS job", extra={"event_id": parsed.event_id}, exc_info=True
        )
        return None
    execution_id = jobs[0].tags.get(TAG_EXECUTION) if jobs else None
    if not execution_id:
        logger.info(
            "DRS event for a job that is not drbot's (or unknown)",
            extra={"event_id": parsed.event_id, "job_id": parsed.job_id},
        )
        return None
    if jobs[0].is_active and any(s.launch_status in _LAUNCHING for s in jobs[0].servers):
        # one server's result of a wave still launching others: nothing for the engine to do yet, and
        # a wave of 100 servers must not cost 100 loops of the state machine
        return _StillLaunching(execution_id)
    return execution_id


def _execution_of_instance(services: Services, parsed: DrsEvent) -> str | _StillLaunching | None:
    for execution in services.store.list_executions(active_only=True, limit=1000):
        for wave in execution.waves:
            if any(s.instance_id == parsed.instance_id for s in wave.servers):
                if _others_still_running(services, wave, parsed):
                    return _StillLaunching(execution.execution_id)
                return execution.execution_id
    logger.info("EC2 event for an instance no driven execution ran", extra={"event_id": parsed.event_id})
    return None


def _others_still_running(services: Services, wave: WaveRun, parsed: DrsEvent) -> bool:
    """Whether DRS still lists another recovery instance of this wave's servers that has not ended
    (running, or still shutting down): the cleanup then has nothing to see yet, and the wave's last
    termination wakes it (a wave of 100 instances must not cost 100 loops). When DRS cannot say,
    wake."""
    others = {s.instance_id for s in wave.servers if s.instance_id and s.instance_id != parsed.instance_id}
    if not others:
        return False
    try:
        gateway = services.drs.gateway(wave.region or parsed.region, wave.account_id)
        instances = gateway.recovery_instances([s.source_server_id for s in wave.servers])
    except Exception:  # unreachable, throttled: the wake costs a loop, never a missed cleanup
        return False
    return any(i.ec2_instance_id in others and (i.state or "").upper() not in _GONE for i in instances)


def _wake(services: Services, execution_id: str, event_id: str) -> WakeResult:
    try:
        execution = services.store.get_execution(execution_id)
    except NotFound:
        logger.info("DRS event for an execution that no longer exists", extra={"execution_id": execution_id})
        return WakeResult(WakeOutcome.UNKNOWN, event_id)
    if not execution.needs_driving:
        logger.info("DRS event for an ended execution", extra={"execution_id": execution_id})
        return WakeResult(WakeOutcome.ENDED, event_id, execution_id)
    if event_id in execution.woken_by:
        return WakeResult(WakeOutcome.DUPLICATE, event_id, execution_id)
    if execution.wake_pending and not execution.task_token:
        # a burst (one event per server of a wave): the next wait returns at once already
        return WakeResult(WakeOutcome.PENDING, event_id, execution_id)

    taken: list[Execution] = []

    def record_and_take_token(current: Execution) -> Execution:
        taken.clear()
        if event_id in current.woken_by or not current.needs_driving:
            return current
        taken.append(current)
        woken_by = [*current.woken_by, event_id][-WOKEN_BY_KEPT:]
        return current.model_copy(update={"woken_by": woken_by, "task_token": None})

    services.store.modify_execution(execution_id, record_and_take_token, ENGINE, attempts=_SAVE_ATTEMPTS)
    if not taken:  # a copy of this event, or the execution ended, while we looked
        return WakeResult(WakeOutcome.DUPLICATE, event_id, execution_id)
    before = taken[0]
    for _ in range(_WAKE_ROUNDS):
        if services.driver.wake(before):
            return WakeResult(WakeOutcome.WOKEN, event_id, execution_id)
        # nothing released: no wait recorded (an advance is running) or its token was spent
        saved = services.store.modify_execution(
            execution_id, _pend_or_take(taken), ENGINE, attempts=_SAVE_ATTEMPTS
        )
        if not taken:
            return WakeResult(
                WakeOutcome.PENDING if saved.wake_pending else WakeOutcome.ENDED, event_id, execution_id
            )
        before = taken[0]  # a wait recorded its token meanwhile: release that one
    return WakeResult(WakeOutcome.PENDING, event_id, execution_id)


def _pend_or_take(taken: list[Execution]) -> Any:
    def pend_or_take(current: Execution) -> Execution:
        taken.clear()
        if not current.needs_driving:
            return current
        if current.task_token:
            taken.append(current)
            return current.model_copy(update={"task_token": None})
        return current.model_copy(update={"wake_pending": True})

    return pend_or_take
