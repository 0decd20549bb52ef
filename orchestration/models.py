"""drbot's domain model (docs/architecture.md), pydantic v2.

One piece, longer than most modules: the aggregates refer to each other's types and the two status
tables, and the wire format is defined once for all of them.

Wire format: camelCase JSON, epoch seconds for dates, UUID4 ids. Every stored aggregate carries
`version` for optimistic locking. The invariants of each type live on the type; the allowed status
changes of executions and waves live in the two transition tables below and nowhere else.
"""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated, Any, Protocol, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from orchestration.errors import InvalidTransition

# -- scalar types --------------------------------------------------------------------------------

EpochSeconds = Annotated[int, Field(ge=0, description="Seconds since 1970-01-01T00:00:00Z")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024)]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")]
AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
# DRS ids are "s-" + 17 characters; the seed contract's own examples include a 16-character one
SourceServerId = Annotated[str, StringConstraints(pattern=r"^s-[0-9a-zA-Z]{16,17}$")]
# where a plan or schedule reports: a chat channel id, in the only form drbot speaks today (Slack's)
ChannelId = Annotated[str, StringConstraints(pattern=r"^[CGD][A-Z0-9]{2,}$")]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]
RoleArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$")]


MAX_MINUTES = 10_080  # a week: the longest cleanup delay, gate wait or RTO/RPO target drbot accepts


def new_id() -> str:
    """A new UUID4 id, the format of every drbot id."""
    return str(uuid.uuid4())


def name_key(name: str) -> str:
    """The form under which names are unique: case-insensitive, surrounding blanks ignored."""
    return name.strip().casefold()


def _valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PydanticCustomError(
            "invalid_timezone", "'{tz}' is not an IANA time zone such as Europe/Berlin", {"tz": value}
        ) from exc
    return value


Timezone = Annotated[str, AfterValidator(_valid_timezone)]


class WireModel(BaseModel):
    """Base of every domain type: camelCase on the wire, snake_case in Python, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=False,
        # each model's schema is built on its first use, not at import: a Lambda's cold start
        # builds only the models its request needs (pydantic 2.14 builds them under a lock, so
        # threads using a model for the first time at once each get the built validator)
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready camelCase dict of the seed contract (unset optional fields omitted)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


# -- protection groups and plans ----------------------------------------------------------------


class ProtectionGroup(WireModel):
    """A set of DRS source servers recovered together: explicit ids XOR tag selectors."""

    group_id: str = Field(default_factory=new_id)
    group_name: Name
    description: Description = ""
    region: Region
    account_id: AccountId | None = None
    source_server_ids: list[SourceServerId] | None = None
    server_selection_tags: dict[TagKey, TagValue] | None = None
    created_by: str = "system"
    created_date: EpochSeconds = 0
    last_modified_date: EpochSeconds = 0
    version: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _servers_by_id_xor_tags(self) -> Self:
        by_id = bool(self.source_server_ids)
        by_tags = bool(self.server_selection_tags)
        if by_id == by_tags:
            raise PydanticCustomError(
                "server_selection",
                "a protection group selects servers either by sourceServerIds or by "
                "serverSelectionTags: give exactly one of them, not empty",
            )
        if self.source_server_ids is not None:
            duplicates = sorted({s for s in self.source_server_ids if self.source_server_ids.count(s) > 1})
            if duplicates:
                raise PydanticCustomError(
                    "duplicate_servers", "servers listed twice: {servers}", {"servers": ", ".join(duplicates)}
                )
        return self

    @property
    def selects_by_tags(self) -> bool:
        return bool(self.server_selection_tags)


class TaggedServer(Protocol):
    """What selecting a group's servers reads of a DRS source server (orchestration/drs/gateway.py)."""

    @property
    def source_server_id(self) -> str: ...

    def matches_tags(self, selector: dict[str, str]) -> bool: ...


ServerT = TypeVar("ServerT", bound=TaggedServer)


def servers_of(group: ProtectionGroup, candidates: list[ServerT]) -> list[ServerT]:
    """The servers a group holds among `candidates` (its region's servers)."""
    if group.source_server_ids:
        wanted = set(group.source_server_ids)
        return [s for s in candidates if s.source_server_id in wanted]
    selector = group.server_selection_tags or {}
    return [s for s in candidates if s.matches_tags(selector)]


class Wave(WireModel):
    """One step of a plan: a protection group launched as one DRS job."""

    wave_number: int = Field(ge=1, le=1000)
    wave_name: Name
    protection_group_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    depends_on_waves: list[int] | None = Field(
        default=None,
        description="Omitted: the previous wave (sequential). []: may start at once. A list: a DAG.",
    )
    pause_before: bool = False


class RecoveryPlan(WireModel):
    """Waves of protection groups, in dependency order."""

    plan_id: str = Field(default_factory=new_id)
    plan_name: Name
    description: Description = ""
    waves: Annotated[list[Wave], Field(min_length=1, max_length=100)]
    rto_target_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    rpo_target_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    notification_channel: ChannelId | None = None
    created_by: str = "system"
    created_date: EpochSeconds = 0
    last_modified_date: EpochSeconds = 0
    version: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _waves_form_a_dag(self) -> Self:
        numbers = [w.wave_number for w in self.waves]
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})
        if repeated:
            raise PydanticCustomError(
                "duplicate_wave_number",
                "wave numbers must be unique; repeated: {numbers}",
                {"numbers": ", ".join(map(str, repeated))},
            )
        ordered = sorted(self.waves, key=lambda w: w.wave_number)
        resolved: list[Wave] = []
        previous: int | None = None
        for wave in ordered:
            if wave.depends_on_waves is None:
                sequential = [] if previous is None else [previous]
                resolved.append(wave.model_copy(update={"depends_on_waves": sequential}))
            else:
                resolved.append(wave)
            previous = wave.wave_number
        known = set(numbers)
        for wave in resolved:
            deps = wave.depends_on_waves or []
            if wave.wave_number in deps:
                raise PydanticCustomError(
                    "self_dependency", "wave {wave} depends on itself", {"wave": wave.wave_number}
                )
            unknown = sorted(set(deps) - known)
            if unknown:
                raise PydanticCustomError(
                    "unknown_wave_dependency",
                    "wave {wave} depends on wave(s) {unknown} that the plan does not have",
                    {"wave": wave.wave_number, "unknown": ", ".join(map(str, unknown))},
                )
        cycle = find_cycle({w.wave_number: list(w.depends_on_waves or []) for w in resolved})
        if cycle:
            raise PydanticCustomError(
                "circular_dependency",
                "waves depend on each other in a cycle: {cycle}",
                {"cycle": " → ".join(map(str, cycle)), "waves": cycle},
            )
        object.__setattr__(self, "waves", resolved)
        return self

    def wave(self, number: int) -> Wave:
        for wave in self.waves:
            if wave.wave_number == number:
                return wave
        raise KeyError(number)

    @property
    def protection_group_ids(self) -> list[str]:
        return list(dict.fromkeys(w.protection_group_id for w in self.waves))


def find_cycle(depends_on: dict[int, list[int]]) -> list[int] | None:
    """A dependency cycle as a closed path (e.g. [2, 3, 2]), or None when the graph is a DAG."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(depends_on, white)
    stack: list[int] = []

    def visit(node: int) -> list[int] | None:
        colour[node] = grey
        stack.append(node)
        for dep in sorted(depends_on.get(node, [])):
            if colour.get(dep) == grey:
                return [*stack[stack.index(dep) :], dep]
            if colour.get(dep) == white:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in sorted(depends_on):
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
    return None


# -- executions ---------------------------------------------------------------------------------


class ExecutionType(StrEnum):
    DRILL = "DRILL"
    RECOVERY = "RECOVERY"

    @property
    def word(self) -> str:
        """`drill` or `recovery`, as a sentence says it (`.capitalize()` when it starts one)."""
        return self.value.lower()


class ExecutionStatus(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_EXECUTION_STATUSES


TERMINAL_EXECUTION_STATUSES = frozenset(
    {
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.REJECTED,
        ExecutionStatus.EXPIRED,
    }
)

_E = ExecutionStatus
# docs/engine.md ("Lifecycle"): PENDING_APPROVAL → (REJECTED | EXPIRED | PENDING) → RUNNING ⇄ PAUSED
# → CANCELLING → CANCELLED, or RUNNING → COMPLETED | FAILED. A pending execution may be cancelled
# before it starts, and the state machine's Catch (docs/statemachine.md) may fail any execution
# that is being driven.
EXECUTION_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    _E.PENDING_APPROVAL: frozenset({_E.PENDING, _E.REJECTED, _E.EXPIRED}),
    _E.PENDING: frozenset({_E.RUNNING, _E.CANCELLING, _E.FAILED}),
    _E.RUNNING: frozenset({_E.PAUSED, _E.CANCELLING, _E.COMPLETED, _E.FAILED}),
    _E.PAUSED: frozenset({_E.RUNNING, _E.CANCELLING, _E.FAILED}),
    _E.CANCELLING: frozenset({_E.CANCELLED, _E.FAILED}),
    **{terminal: frozenset() for terminal in TERMINAL_EXECUTION_STATUSES},
}


class WaveStatus(StrEnum):
    PENDING = "PENDING"
    INITIATED = "INITIATED"
    LAUNCHING = "LAUNCHING"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_WAVE_STATUSES


TERMINAL_WAVE_STATUSES = frozenset(
    {WaveStatus.COMPLETED, WaveStatus.FAILED, WaveStatus.CANCELLED, WaveStatus.SKIPPED}
)

_W = WaveStatus
_WAVE_ENDINGS = frozenset({_W.COMPLETED, _W.FAILED, _W.CANCELLED})
# A wave moves forward (INITIATED → LAUNCHING → STARTED → COMPLETED), possibly skipping steps a
# single observation of DRS did not see; it can fail or be cancelled once claimed, and be skipped or
# cancelled before it is claimed.
WAVE_TRANSITIONS: dict[WaveStatus, frozenset[WaveStatus]] = {
    _W.PENDING: frozenset({_W.INITIATED, _W.SKIPPED, _W.CANCELLED}),
    # back to PENDING: the claim is released when DRS refused the launch for now (throttled, quota)
    _W.INITIATED: frozenset({_W.PENDING, _W.LAUNCHING, _W.STARTED}) | _WAVE_ENDINGS,
    _W.LAUNCHING: frozenset({_W.STARTED}) | _WAVE_ENDINGS,
    _W.STARTED: _WAVE_ENDINGS,
    **{terminal: frozenset() for terminal in TERMINAL_WAVE_STATUSES},
}


def check_transition(
    kind: str, table: dict[Any, frozenset[Any]], current: StrEnum, target: StrEnum, subject: str
) -> None:
    """Raise InvalidTransition unless `current → target` is an arrow of `table` (staying put is fine)."""
    if current == target:
        return
    if target not in table[current]:
        allowed = ", ".join(sorted(table[current])) or "none (it has ended)"
        raise InvalidTransition(
            f"{subject} is {current}; a {kind} cannot go from {current} to {target} (allowed: {allowed})",
            currentStatus=str(current),
            requestedStatus=str(target),
        )


class LaunchStatus(StrEnum):
    """DRS `participatingServers[].launchStatus`."""

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    LAUNCHED = "LAUNCHED"
    FAILED = "FAILED"
    TERMINATED = "TERMINATED"


class ServerRun(WireModel):
    """One source server within a wave's DRS job."""

    source_server_id: SourceServerId
    hostname: str = ""
    launch_status: LaunchStatus = LaunchStatus.PENDING
    recovery_instance_id: str | None = None
    instance_id: str | None = None
    launched_at: EpochSeconds | None = None
    snapshot_time: EpochSeconds | None = None
    error: str | None = None
    left_running: bool | None = None  # a drill's cleanup gave up while DRS still showed its instance


class WaveRun(WireModel):
    """The progress of one wave within an execution."""

    wave_number: int = Field(ge=1)
    wave_name: str
    protection_group_id: str | None = None
    region: Region | None = None  # where its DRS job runs (the group's region and account)
    account_id: AccountId | None = None
    depends_on_waves: list[int] = Field(default_factory=list)
    pause_before: bool = False
    status: WaveStatus = WaveStatus.PENDING
    job_id: str | None = None
    terminate_job_ids: list[str] = Field(default_factory=list)  # drill cleanup of this wave
    claimed_at: EpochSeconds | None = None  # when an advance claimed the launch (a lease; see engine)
    start_time: EpochSeconds | None = None
    end_time: EpochSeconds | None = None
    servers: list[ServerRun] = Field(default_factory=list)
    error: str | None = None
    job_seconds: int | None = Field(default=None, ge=0)  # the DRS job's own time, creation to end

    def with_status(self, target: WaveStatus, now: int) -> WaveRun:
        """A copy in `target` status; raises InvalidTransition off the allowed arrows."""
        check_transition("wave", WAVE_TRANSITIONS, self.status, target, f"Wave {self.wave_number}")
        update: dict[str, Any] = {"status": target}
        if target == WaveStatus.INITIATED and self.start_time is None:
            update["start_time"] = now
        if target.is_terminal and self.end_time is None:
            update["end_time"] = now
        return self.model_copy(update=update)


class EventType(StrEnum):
    """What happened to an execution; every event is also a line of the evidence report."""

    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"  # one approval recorded (a recovery needs two)
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    STARTED = "STARTED"
    WAVE_LAUNCHED = "WAVE_LAUNCHED"
    WAVE_PROGRESS = "WAVE_PROGRESS"
    WAVE_COMPLETED = "WAVE_COMPLETED"
    WAVE_FAILED = "WAVE_FAILED"
    WAVE_SKIPPED = "WAVE_SKIPPED"
    WAVE_CANCELLED = "WAVE_CANCELLED"
    PAUSED = "PAUSED"
    RESUMED = "RESUMED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CLEANUP_SCHEDULED = "CLEANUP_SCHEDULED"
    CLEANUP_STARTED = "CLEANUP_STARTED"
    CLEANUP_COMPLETED = "CLEANUP_COMPLETED"
    CLEANUP_FAILED = "CLEANUP_FAILED"
    DRS_RETRY = "DRS_RETRY"  # DRS throttled or failed transiently; the engine backs off
    ARCHIVE_FAILED = "ARCHIVE_FAILED"  # the evidence report could not be archived; retried
    ARCHIVED = "ARCHIVED"  # archived after the report went out without it (a retry, a lost race)
    ARCHIVE_DIFFERS = "ARCHIVE_DIFFERS"  # a copy already there differs from the rendering: kept, said


class ExecutionEvent(WireModel):
    """One entry of an execution's event log (and outbox: notifiers get each one at least once)."""

    seq: int = Field(ge=1)
    at: EpochSeconds
    type: EventType
    message: str
    wave_number: int | None = None
    actor: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class CleanupStatus(StrEnum):
    SCHEDULED = "SCHEDULED"  # waiting for due_at
    TERMINATING = "TERMINATING"  # terminate job(s) started
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    NOT_NEEDED = "NOT_NEEDED"  # nothing was launched


class CleanupRun(WireModel):
    """Terminating a drill's recovery instances, at its end or cleanupAfterMinutes later.

    The cleanup is a series of *looks* (docs/engine.md): ask DRS which of the drill's recovery
    instances still exist, terminate those no termination job holds yet (within DRS's job quotas),
    and look again `due_at` later, until a complete look finds none (COMPLETED) or the deadline
    passes (FAILED, naming what DRS still shows)."""

    status: CleanupStatus = CleanupStatus.SCHEDULED
    due_at: EpochSeconds  # when the (next) look is due
    instances: int = Field(default=0, ge=0)  # drill instances launched, when the drill ended
    started_at: EpochSeconds | None = None  # the first look: the deadline counts from here
    deadline_at: EpochSeconds | None = None  # give up and name the survivors after this
    rounds: int = Field(default=0, ge=0)  # looks made
    terminated: int = Field(default=0, ge=0)  # instances handed to TERMINATE jobs so far
    remaining: int | None = Field(default=None, ge=0)  # instances not yet verified gone at the last look
    gone: list[str] = Field(default_factory=list)  # instances DRS no longer showed before any termination
    left_unrecorded: list[str] = Field(default_factory=list)  # survivors no wave lists (first 100)
    claimed_at: EpochSeconds | None = None  # a look in progress (a lease; see the engine)
    finished_at: EpochSeconds | None = None
    error: str | None = None
    # written by drbot before the cleanup became looks (each wave lists its TERMINATE jobs now);
    # still read from older records
    job_ids: list[str] = Field(default_factory=list)
    recovery_instance_ids: list[str] = Field(default_factory=list)
    round_started_at: EpochSeconds | None = None

    @property
    def pending(self) -> bool:
        return self.status in (CleanupStatus.SCHEDULED, CleanupStatus.TERMINATING)

    @property
    def instance_count(self) -> int:
        """How many drill instances the cleanup is about (older records listed them)."""
        return self.instances or len(self.recovery_instance_ids)


class Approval(WireModel):
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    at: EpochSeconds


class GateAction(StrEnum):
    """What an unattended (scheduled) drill does at a wave's pause-before gate."""

    WAIT = "wait"  # pause for a person, at most `waitMinutes`; then cancel and clean up
    PASS = "pass"  # go on as if resumed: nobody is there to resume it


class UnattendedGates(WireModel):
    """A schedule's answer to "what does this drill do at a gate?" (docs/schedules.md)."""

    action: GateAction
    wait_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)

    @model_validator(mode="after")
    def _minutes_with_wait(self) -> Self:
        if (self.action == GateAction.WAIT) != (self.wait_minutes is not None):
            raise PydanticCustomError(
                "gate_wait_minutes",
                "waitMinutes goes with action 'wait' (how long a person has to resume) and only with it",
            )
        return self

    def describe(self) -> str:
        if self.action == GateAction.PASS:
            return "passes its pause gates unattended"
        return f"waits at most {self.wait_minutes} min at a pause gate, then is cancelled and cleaned up"


class ArchiveStatus(StrEnum):
    ARCHIVED = "ARCHIVED"
    FAILED = "FAILED"  # not archived yet: retried after ARCHIVE_RETRY_SECONDS, doubling


ARCHIVE_RETRY_SECONDS = 60  # the first retry's delay; then doubling, at most an hour, never given up
MAX_ARCHIVE_RETRY_SECONDS = 3600


class EvidenceArchiveRecord(WireModel):
    """Where an execution's final evidence report was archived, and the SHA-256 of each copy, so a
    copy can be checked (docs/report.md, "The archive"); or why it is not archived yet."""

    status: ArchiveStatus
    location: str | None = None  # the folder or S3 prefix holding both copies
    markdown_location: str | None = None
    json_location: str | None = None
    markdown_sha256: str | None = None  # hex SHA-256 of the Markdown copy's bytes
    json_sha256: str | None = None  # hex SHA-256 of the JSON copy's bytes
    archived_at: EpochSeconds | None = None
    # S3 only: the object version of each copy (read back by it, so a later version at the key is
    # not what is served) and S3's own base64 SHA-256 checksum of it; None on a folder or older records
    markdown_version_id: str | None = None
    json_version_id: str | None = None
    markdown_checksum_sha256: str | None = None
    json_checksum_sha256: str | None = None
    # the copies (report.md, report.json) that were already there with other bytes than this rendering:
    # kept as they are and their hashes recorded, but they differ from the report of the record
    differs_from_rendering: list[str] = Field(default_factory=list)
    attempts: int = Field(default=0, ge=0)  # failed attempts so far
    error: str | None = None  # the last failure
    failed_at: EpochSeconds | None = None

    @property
    def retry_due(self) -> bool:
        """Not archived: the driver keeps the execution for another attempt (never given up)."""
        return self.status == ArchiveStatus.FAILED

    @property
    def retry_at(self) -> int:
        """When the next attempt is due (a failed record)."""
        delay: int = min(MAX_ARCHIVE_RETRY_SECONDS, ARCHIVE_RETRY_SECONDS * 2 ** max(0, self.attempts - 1))
        return int(self.failed_at or 0) + delay


class Execution(WireModel):
    """One run of a recovery plan, drill or real recovery."""

    execution_id: str = Field(default_factory=new_id)
    plan_id: str
    plan_name: str
    execution_type: ExecutionType
    status: ExecutionStatus
    initiated_by: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    # what a direct invocation's payload said it acts for (docs/api.md, "Who is calling"): text only
    on_behalf_of: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    reason: Description = ""
    approvals: list[Approval] = Field(default_factory=list)
    requested_at: EpochSeconds
    expires_at: EpochSeconds | None = None
    start_time: EpochSeconds | None = None
    end_time: EpochSeconds | None = None
    status_reason: str | None = None
    waves: list[WaveRun] = Field(default_factory=list)
    schedule_id: str | None = None
    state_machine_arn: str | None = None
    required_approvals: int = Field(default=0, ge=0, le=5)
    cleanup_after_minutes: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    # the plan's targets when the run was requested, which its verdicts hold it against (a later
    # edit of the plan does not change them); `targets_recorded` False: a record from before they
    # were kept, whose verdicts fall back to the plan as it is now (docs/report.md)
    rto_target_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    rpo_target_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    targets_recorded: bool = False
    cleanup: CleanupRun | None = None
    gates_passed: list[int] = Field(default_factory=list)  # waves whose pauseBefore gate was released
    gate_wave: int | None = None  # the wave whose pauseBefore gate holds the execution PAUSED
    at_gate: UnattendedGates | None = None  # a scheduled drill's gate policy (None: wait for a person)
    gate_deadline: EpochSeconds | None = None  # paused at a gate until then, then cancelled (at_gate wait)
    task_token: str | None = None  # Step Functions callback token of the wait the machine is in
    wake_pending: bool = False  # an event came while no wait was recorded: the next wait returns at once
    woken_by: list[str] = Field(default_factory=list)  # ids of the last EventBridge events that woke it
    transient_errors: int = Field(default=0, ge=0)  # consecutive DRS throttles/outages (backoff)
    events: list[ExecutionEvent] = Field(default_factory=list)
    notified_through: int = Field(default=0, ge=0)  # last event seq delivered to the notifier
    archive: EvidenceArchiveRecord | None = None  # the final report's archived copy (or its failure)
    version: int = Field(default=1, ge=1)

    # What the store last loaded or saved of this execution (orchestration/store/parts.py): which
    # store, and the waves and events as stored there, so that a save writes only the parts that
    # changed. Set by the store alone; model_copy keeps them; not on the wire, not compared.
    _stored_in: str | None = PrivateAttr(default=None)
    _stored_waves: tuple[WaveRun, ...] = PrivateAttr(default=())
    _stored_events: tuple[ExecutionEvent, ...] = PrivateAttr(default=())

    def __eq__(self, other: object) -> bool:
        """Executions are equal when their fields are, whatever the store remembers of them."""
        if not isinstance(other, Execution):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # unhashable, as pydantic models are unless frozen

    @model_validator(mode="before")
    @classmethod
    def _without_retired_fields(cls, data: Any) -> Any:
        """Executions stored before their chat thread moved out of the domain carry it as "slack":
        ignored (the thread is the notifier's own record now, docs/slack.md)."""
        if isinstance(data, dict) and "slack" in data:
            return {key: value for key, value in data.items() if key != "slack"}
        return data

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def ran(self) -> bool:
        """It started: a run, not a request that was rejected, expired or is still awaiting approval."""
        return self.start_time is not None

    @property
    def undelivered(self) -> list[ExecutionEvent]:
        return [e for e in self.events if e.seq > self.notified_through]

    @property
    def needs_driving(self) -> bool:
        """Something is left to do: the run itself, a drill's cleanup, events to deliver, or the
        evidence report to archive again after a failed attempt."""
        cleanup_pending = self.cleanup is not None and self.cleanup.pending
        archive_pending = self.archive is not None and self.archive.retry_due
        return not self.is_terminal or cleanup_pending or bool(self.undelivered) or archive_pending

    def with_event(
        self,
        type: EventType,
        at: int,
        message: str,
        wave_number: int | None = None,
        actor: str | None = None,
        **details: Any,
    ) -> Execution:
        """A copy with one more event in its log (delivered to notifiers after it is saved)."""
        seq = self.events[-1].seq + 1 if self.events else 1
        event = ExecutionEvent(
            seq=seq, at=at, type=type, message=message, wave_number=wave_number, actor=actor, details=details
        )
        return self.model_copy(update={"events": [*self.events, event]})

    def with_status(self, target: ExecutionStatus, now: int, reason: str | None = None) -> Execution:
        """A copy in `target` status, stamping start/end times; raises InvalidTransition off the arrows."""
        check_transition(
            "execution", EXECUTION_TRANSITIONS, self.status, target, f"Execution {self.execution_id}"
        )
        update: dict[str, Any] = {"status": target}
        if target != ExecutionStatus.PAUSED:  # no longer held at a gate (resumed, cancelled, ended)
            update |= {"gate_wave": None, "gate_deadline": None}
        if target == ExecutionStatus.RUNNING and self.start_time is None:
            update["start_time"] = now
        if target.is_terminal and self.end_time is None:
            update["end_time"] = now
        if reason is not None:
            update["status_reason"] = reason
        return self.model_copy(update=update)

    def wave(self, number: int) -> WaveRun:
        for wave in self.waves:
            if wave.wave_number == number:
                return wave
        raise KeyError(number)

    def replace_wave(self, updated: WaveRun) -> Execution:
        waves = [updated if w.wave_number == updated.wave_number else w for w in self.waves]
        return self.model_copy(update={"waves": waves})

    @property
    def server_ids(self) -> list[str]:
        return [s.source_server_id for w in self.waves for s in w.servers]

    @property
    def launched_instance_ids(self) -> list[str]:
        """Recovery instances of the servers this execution launched (what a drill cleans up)."""
        return [
            s.recovery_instance_id
            for w in self.waves
            for s in w.servers
            if s.recovery_instance_id and s.launch_status == LaunchStatus.LAUNCHED
        ]


# -- schedules, accounts, audit -----------------------------------------------------------------

_EXPRESSION_SHAPE = re.compile(r"^(cron|rate|at)\(.+\)$")


class Schedule(WireModel):
    """A recurring unattended drill of a plan."""

    schedule_id: str = Field(default_factory=new_id)
    plan_id: str
    expression: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=256)]
    timezone: Timezone = "UTC"
    channel: ChannelId | None = None
    enabled: bool = True
    execution_type: ExecutionType = ExecutionType.DRILL
    approved_by: str | None = None
    cleanup_after_minutes: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    at_gate: UnattendedGates | None = None  # required when the plan has pause gates
    created_by: str = "system"
    created_date: EpochSeconds = 0
    last_modified_date: EpochSeconds = 0
    last_run_at: EpochSeconds | None = None
    last_execution_id: str | None = None
    version: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _drills_only(self) -> Self:
        if not _EXPRESSION_SHAPE.match(self.expression):
            raise PydanticCustomError(
                "invalid_schedule_expression",
                "'{expression}' is not an EventBridge expression: use cron(...), rate(...) or at(...)",
                {"expression": self.expression},
            )
        if self.execution_type != ExecutionType.DRILL:
            raise PydanticCustomError(
                "recovery_schedule_refused",
                "only drills can be scheduled: an unattended real failover is refused",
            )
        return self


class TargetAccount(WireModel):
    """A spoke account whose DRS drbot reaches by assuming a role."""

    account_id: AccountId
    account_name: Name
    role_arn: RoleArn
    external_id: Annotated[str, StringConstraints(min_length=2, max_length=1224)] | None = None
    regions: list[Region] = Field(default_factory=list)
    created_date: EpochSeconds = 0
    last_modified_date: EpochSeconds = 0
    version: int = Field(default=1, ge=1)


class AuditEvent(WireModel):
    """One state-changing operation: who did what to which subject, when."""

    event_id: str = Field(default_factory=new_id)
    at: EpochSeconds
    actor: str
    action: str
    subject: str
    details: dict[str, Any] = Field(default_factory=dict)


__all__ = [
    "EXECUTION_TRANSITIONS",
    "TERMINAL_EXECUTION_STATUSES",
    "WAVE_TRANSITIONS",
    "Approval",
    "AuditEvent",
    "CleanupRun",
    "CleanupStatus",
    "EventType",
    "Execution",
    "ExecutionEvent",
    "ExecutionStatus",
    "ExecutionType",
    "LaunchStatus",
    "ProtectionGroup",
    "RecoveryPlan",
    "Schedule",
    "ServerRun",
    "TargetAccount",
    "Wave",
    "WaveRun",
    "WaveStatus",
    "find_cycle",
    "name_key",
    "new_id",
]


# -- tag sync -------------------------------------------------------------------------------------

TAG_SYNC_CONFIG_ID = "default"  # one settings item per deployment, under the seed's `configId` key


class TagSyncSettings(WireModel):
    """How EC2 instance tags are copied onto their DRS source servers (handle_drs_tag_sync)."""

    config_id: Annotated[str, StringConstraints(pattern=f"^{TAG_SYNC_CONFIG_ID}$")] = TAG_SYNC_CONFIG_ID
    enabled: bool = True
    tag_keys: list[TagKey] = Field(
        default_factory=list,
        max_length=50,
        description="Tag keys to copy; empty copies every tag except AWS-reserved `aws:` ones.",
    )
    regions: list[Region] = Field(
        default_factory=list, description="DRS regions to sync; empty: drbot's own region."
    )
    schedule_expression: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=256)] | None
    ) = Field(
        default=None,
        description="When the sync runs by itself: an EventBridge cron(...) or rate(...) expression, "
        "at most hourly (docs/schedules.md); null: only when asked.",
    )
    schedule_timezone: Timezone = Field(
        default="UTC", description="The IANA time zone the schedule expression is read in."
    )
    last_modified_by: str = "system"
    last_modified_date: EpochSeconds = 0
    version: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _copyable_keys(self) -> Self:
        reserved = [key for key in self.tag_keys if key.lower().startswith("aws:")]
        if reserved:
            raise PydanticCustomError(
                "reserved_tag_key",
                "tag keys starting with 'aws:' are reserved by AWS and cannot be copied: {keys}",
                {"keys": ", ".join(reserved)},
            )
        repeated = sorted({k for k in self.tag_keys if self.tag_keys.count(k) > 1})
        if repeated:
            raise PydanticCustomError(
                "duplicate_tag_keys", "tag keys listed twice: {keys}", {"keys": ", ".join(repeated)}
            )
        return self


# -- the monthly digest ---------------------------------------------------------------------------

MonthKey = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]  # 2026-11
DIGEST_CONFIG_ID = "digest"  # beside the tag-sync settings, in the same settings table
DEFAULT_EXPECTED_INTERVAL_DAYS = 90
MAX_EXPECTED_INTERVAL_DAYS = 3660  # ten years: longer is no expectation at all


class DigestSettings(WireModel):
    """When and where the digest of the month's drills is posted (docs/schedules.md, "The monthly
    digest"), and how often every plan is expected to be drilled."""

    config_id: Annotated[str, StringConstraints(pattern=f"^{DIGEST_CONFIG_ID}$")] = DIGEST_CONFIG_ID
    enabled: bool = True
    schedule_expression: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=256)] | None
    ) = Field(
        default=None,
        description="When the digest is posted: an EventBridge cron(...) expression firing at most once "
        "a month, e.g. cron(0 9 1 * ? *) (docs/schedules.md); null: no digest.",
    )
    schedule_timezone: Timezone = Field(
        default="UTC",
        description="The IANA time zone the expression is read in, and the month the digest covers.",
    )
    channel: ChannelId | None = Field(default=None, description="The Slack channel the digest is posted to.")
    expected_interval_days: int = Field(
        default=DEFAULT_EXPECTED_INTERVAL_DAYS,
        ge=1,
        le=MAX_EXPECTED_INTERVAL_DAYS,
        description="Every plan should have been drilled within this many days; a plan with an active "
        "drill schedule is expected at that schedule's interval instead.",
    )
    last_posted_period: MonthKey | None = Field(
        default=None,
        description="The month (YYYY-MM) the latest fire claimed, in `lastPostedTimezone`: a fire posts "
        "only for a later month, so each month is posted at most once. Written by the fires only.",
    )
    last_posted_timezone: Timezone | None = Field(
        default=None, description="The time zone `lastPostedPeriod` was read in."
    )
    last_modified_by: str = "system"
    last_modified_date: EpochSeconds = 0
    version: int = Field(default=1, ge=1)
