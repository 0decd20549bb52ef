"""The Store port: durable state of every aggregate, with optimistic locking and an audit trail.
One piece, longer than most modules: the port's primitives and the typed methods built on them.

Adapters (`sqlite.py`, `dynamodb.py`) implement a handful of primitives over "kinds" of aggregate;
the typed public methods, version bumping and audit events live here, once.

Semantics every adapter guarantees (the contract suite in tests/ checks both):
- `create_*` fails with DuplicateName when another item of the kind has the same name
  case-insensitively, even when two creates race (the check and the write are one atomic step);
- `update_*` takes the item as it was read: its `version` must still be the stored one, else
  StaleVersion; the stored and returned item has `version + 1`;
- `delete_*` with `expected_version` checks it the same way;
- every change appends an AuditEvent in the same atomic step as the change;
- `modify` reads, changes and saves an item, reading again on StaleVersion, with the audit event of
  the change (its own action and details) in the same atomic step;
- an execution's side records (`RecordKind`: what another component keeps about a run, keyed by
  the execution id, which the domain never reads — bot/'s Slack thread of a run) are created and
  changed by `modify_record`, version-checked the same way (a create must find no record), and
  are not audited: they are delivery bookkeeping, not a change anyone made.

Executions are stored as a head and parts, and a save writes only the parts that changed
(`parts.py`); a load validates only the parts it has not read before at their stored version
(`parsed_parts`, which counts its hits and misses). `stats` counts what a store writes, for tests
and benchmarks.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from orchestration.clock import Clock, SystemClock
from orchestration.errors import Conflict, DuplicateName, InternalError, NotFound, StaleVersion
from orchestration.models import (
    AuditEvent,
    DigestSettings,
    Execution,
    ProtectionGroup,
    RecoveryPlan,
    Schedule,
    TagSyncSettings,
    TargetAccount,
    WireModel,
)
from orchestration.store.parts import PartCache

T = TypeVar("T", bound=WireModel)
R = TypeVar("R", bound=WireModel)
S = TypeVar("S", TagSyncSettings, DigestSettings)  # a settings item of the settings table

# where an execution stands in a listing: (requestedAt, executionId), newest first
ExecutionKey = tuple[int, str]
# at most this many executions requested in the same second are listed across a page boundary
MAX_TIED = 10_000


def execution_key(execution: Execution) -> ExecutionKey:
    return (execution.requested_at, execution.execution_id)


@dataclass(frozen=True)
class Kind(Generic[T]):
    """How one aggregate type is stored: its model, id field and (optional) unique name field."""

    name: str  # singular noun used in audit actions and messages: "group", "plan", ...
    label: str  # what a person calls it: "protection group"
    model: type[T]
    id_field: str  # python attribute holding the id
    name_field: str | None = None  # python attribute unique case-insensitively, if any
    # what every audit event of a change records about the item as saved, besides its version
    facts: Callable[[T], dict[str, Any]] | None = None

    def id_of(self, item: T) -> str:
        return str(getattr(item, self.id_field))

    def name_of(self, item: T) -> str | None:
        return None if self.name_field is None else str(getattr(item, self.name_field))

    # The errors every adapter raises, worded once so both backends say the same thing.

    def not_found(self, item_id: str) -> NotFound:
        return NotFound(f"No {self.label} with id '{item_id}'", resourceType=self.name, resourceId=item_id)

    def stale(self, item_id: str, expected: int, stored: int | None = None) -> StaleVersion:
        now = "" if stored is None else f" (it is now at version {stored})"
        return StaleVersion(
            f"The {self.label} '{item_id}' was changed by someone else after version {expected} was read"
            f"{now}; read it again and retry",
            resourceType=self.name,
            resourceId=item_id,
            expectedVersion=expected,
            **({} if stored is None else {"currentVersion": stored}),
        )

    def duplicate_name(self, existing_name: str, existing_id: str | None = None) -> DuplicateName:
        return DuplicateName(
            f"{_article(self.label)} {self.label} named '{existing_name}' already exists "
            "(names are case-insensitive)",
            resourceType=self.name,
            name=existing_name,
            **({} if existing_id is None else {"existingId": existing_id}),
        )

    def already_exists(self, item_id: str) -> Conflict:
        return Conflict(
            f"{_article(self.label)} {self.label} with id '{item_id}' already exists",
            resourceType=self.name,
            resourceId=item_id,
        )


def _article(noun: str) -> str:
    return "An" if noun[:1].lower() in "aeiou" else "A"


GROUPS: Kind[ProtectionGroup] = Kind(
    "group",
    "protection group",
    ProtectionGroup,
    "group_id",
    "group_name",
    facts=lambda g: {"name": g.group_name},
)
PLANS: Kind[RecoveryPlan] = Kind(
    "plan", "recovery plan", RecoveryPlan, "plan_id", "plan_name", facts=lambda p: {"name": p.plan_name}
)
EXECUTIONS: Kind[Execution] = Kind(
    "execution", "execution", Execution, "execution_id", facts=lambda e: {"status": str(e.status)}
)
SCHEDULES: Kind[Schedule] = Kind(
    "schedule", "schedule", Schedule, "schedule_id", facts=lambda s: {"enabled": s.enabled}
)
TARGET_ACCOUNTS: Kind[TargetAccount] = Kind("account", "target account", TargetAccount, "account_id")
TAG_SYNC: Kind[TagSyncSettings] = Kind("tag_sync", "tag sync settings", TagSyncSettings, "config_id")
# the digest's settings: one more item of the settings table, beside the tag sync's
DIGEST: Kind[DigestSettings] = Kind("digest", "digest settings", DigestSettings, "config_id")
KINDS: tuple[Kind[Any], ...] = (GROUPS, PLANS, EXECUTIONS, SCHEDULES, TARGET_ACCOUNTS, TAG_SYNC, DIGEST)


@dataclass(frozen=True)
class RecordKind(Generic[R]):
    """One kind of side record of an execution: kept by a component above the domain (the domain
    never reads it), one per execution, keyed by the execution id. Its model has a `version` field,
    which the store sets (1 when created, +1 at each change)."""

    name: str  # the record's key among the execution's records: lowercase letters and "_"
    label: str  # what a person calls it, in errors
    model: type[R]

    def __post_init__(self) -> None:
        if not self.name or not all(c.islower() or c == "_" for c in self.name):
            raise ValueError(f"a record kind's name is lowercase letters and '_', not {self.name!r}")
        if "version" not in self.model.model_fields:
            raise ValueError(f"{self.model.__name__} needs a version field to be a side record")

    def stale(self, execution_id: str, expected: int | None) -> StaleVersion:
        read = "none existed" if expected is None else f"version {expected} was read"
        return StaleVersion(
            f"The {self.label} of execution '{execution_id}' was changed by someone else after {read}; "
            "read it again and retry",
            resourceType=self.name,
            resourceId=execution_id,
            **({} if expected is None else {"expectedVersion": expected}),
        )


@dataclass(frozen=True)
class Audited(Generic[T]):
    """What a `Store.modify` change returns when this change has its own audit action and details
    (e.g. an approval that finds the request expired is audited "execution.expire")."""

    item: T
    action: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class StoreStats:
    """What a store has written since it was opened or reset: a measurement hook for tests and
    benchmarks (both adapters keep it). Sizes are as the backend counts them, approximately: DynamoDB's
    item size (attribute names and values), SQLite's row (its text and numbers)."""

    writes: int = 0  # atomic writes committed: a transaction, or a single put
    items_written: int = 0  # items (DynamoDB) or rows (SQLite) those writes put
    bytes_written: int = 0  # the size of those items or rows
    largest_item_bytes: int = 0  # the largest single item or row written
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, item_sizes: Iterable[int]) -> None:
        """Count one committed atomic write that put items of these sizes."""
        sizes = list(item_sizes)
        with self._lock:
            self.writes += 1
            self.items_written += len(sizes)
            self.bytes_written += sum(sizes)
            self.largest_item_bytes = max([self.largest_item_bytes, *sizes])

    def reset(self) -> None:
        with self._lock:
            self.writes = self.items_written = self.bytes_written = self.largest_item_bytes = 0

    def snapshot(self) -> StoreStats:
        with self._lock:
            return StoreStats(self.writes, self.items_written, self.bytes_written, self.largest_item_bytes)


class Store(ABC):
    """Durable state. Thread-safe: one instance may be shared by the threads of one process."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.stats = StoreStats()
        # the execution parts this instance read, validated, reused while stored unchanged (parts.py)
        self.parsed_parts = PartCache()

    # -- primitives the adapters implement ------------------------------------------------------

    @abstractmethod
    def _insert(self, kind: Kind[T], item: T, audit: AuditEvent) -> None:
        """Store a new item (id and name must be free) and the audit event, atomically."""

    @abstractmethod
    def _replace(self, kind: Kind[T], item: T, expected_version: int, audit: AuditEvent) -> None:
        """Overwrite the item if its stored version is `expected_version` (else StaleVersion; NotFound
        when it is gone; DuplicateName when a rename takes another item's name), moving its name lock."""

    @abstractmethod
    def _remove(self, kind: Kind[T], item_id: str, expected_version: int | None, audit: AuditEvent) -> None:
        """Delete the item (and its name lock) if present (else NotFound) and at `expected_version`
        (None: any version; else StaleVersion)."""

    @abstractmethod
    def _fetch(self, kind: Kind[T], item_id: str) -> T | None:
        """The item, or None."""

    @abstractmethod
    def _fetch_all(self, kind: Kind[T]) -> list[T]:
        """Every item of the kind, in no particular order."""

    @abstractmethod
    def _find_by_name(self, kind: Kind[T], name: str) -> T | None:
        """The item whose name matches case-insensitively, or None."""

    @abstractmethod
    def _executions(
        self,
        plan_id: str | None,
        active_only: bool,
        limit: int,
        newest: int | None = None,
        oldest: int | None = None,
    ) -> list[Execution]:
        """Executions newest first (by requestedAt; ties in any order), optionally of one plan and/or
        only those that need driving (`Execution.needs_driving`: not ended, a drill cleanup pending,
        or events not yet delivered), and requested between `oldest` and `newest` (both included).
        Must use an index, not a scan, in adapters where that matters."""

    @abstractmethod
    def _append_audit(self, event: AuditEvent) -> None: ...

    @abstractmethod
    def _fetch_record(self, kind: RecordKind[R], execution_id: str) -> R | None:
        """The execution's record of this kind, or None."""

    @abstractmethod
    def _put_record(self, kind: RecordKind[R], execution_id: str, record: R, expected: int | None) -> None:
        """Store the record (its version already set) if the stored one is at `expected` (None: if
        there is none yet); else `kind.stale(...)`. One atomic, conditional write."""

    @abstractmethod
    def _audit_events(self, subject: str | None, limit: int) -> list[AuditEvent]:
        """Audit events newest first, optionally of one subject."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""

    # -- shared behaviour -----------------------------------------------------------------------

    def _audit(self, kind: Kind[Any], action: str, item_id: str, actor: str, **details: Any) -> AuditEvent:
        return AuditEvent(
            at=int(self.clock.now()),
            actor=actor,
            action=f"{kind.name}.{action}",
            subject=f"{kind.name}:{item_id}",
            details=details,
        )

    def _create(self, kind: Kind[T], item: T, actor: str) -> T:
        stored = item.model_copy(update={"version": 1})
        details: dict[str, Any] = {}
        if kind.name_field:
            details["name"] = kind.name_of(stored)
        self._insert(kind, stored, self._audit(kind, "create", kind.id_of(stored), actor, **details))
        return stored

    def _update(self, kind: Kind[T], item: T, actor: str) -> T:
        expected = int(getattr(item, "version"))  # noqa: B009 - every aggregate has it
        return self._save(kind, item, expected, actor, action="update", details={})

    def _save(
        self, kind: Kind[T], item: T, expected: int, actor: str, *, action: str, details: Mapping[str, Any]
    ) -> T:
        """Store `item` over the version `expected` at `expected + 1`, audited as `action`."""
        stored = item.model_copy(update={"version": expected + 1})
        facts = kind.facts(stored) if kind.facts is not None else {}
        audit = self._audit(
            kind, action, kind.id_of(item), actor, **{"version": expected + 1, **facts, **details}
        )
        self._replace(kind, stored, expected, audit)
        return stored

    def modify(
        self,
        kind: Kind[T],
        item_id: str,
        change: Callable[[T], T | Audited[T]],
        actor: str,
        *,
        action: str = "update",
        attempts: int = 5,
        **details: Any,
    ) -> T:
        """Read the item, apply `change` and save the result with the version check, audited as
        `f"{kind.name}.{action}"` with `details` (and, as every change, the new version and the kind's
        facts: an execution's status, a schedule's `enabled`, a name) in the same atomic write. When
        someone else saved first (StaleVersion), read again and apply `change` again, up to `attempts`
        reads in all; then StaleVersion propagates. `change` returning the very item it was given
        means nothing to do: nothing is written and that item is returned. It may return
        `Audited(item, action, details)` to audit this change otherwise; its errors propagate
        (nothing is written). Returns the item as saved."""
        if attempts < 1:
            raise ValueError("modify needs at least one attempt")
        for attempt in range(1, attempts + 1):
            current = self._get(kind, item_id)
            changed = change(current)
            audit_action, audit_details = action, dict(details)
            if isinstance(changed, Audited):
                audit_action, audit_details = changed.action, {**details, **changed.details}
                changed = changed.item
            if changed is current:
                return current
            if kind.id_of(changed) != item_id:
                raise InternalError(
                    f"A change of {kind.label} {item_id} returned {kind.label} {kind.id_of(changed)}"
                )
            expected = int(getattr(current, "version"))  # noqa: B009 - every aggregate has it
            try:
                return self._save(kind, changed, expected, actor, action=audit_action, details=audit_details)
            except StaleVersion:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _delete(self, kind: Kind[Any], item_id: str, expected_version: int | None, actor: str) -> None:
        self._remove(kind, item_id, expected_version, self._audit(kind, "delete", item_id, actor))

    def _get(self, kind: Kind[T], item_id: str) -> T:
        item = self._fetch(kind, item_id)
        if item is None:
            raise kind.not_found(item_id)
        return item

    # -- side records of an execution -----------------------------------------------------------

    def get_record(self, kind: RecordKind[R], execution_id: str) -> R | None:
        """The execution's record of this kind, or None while none was saved."""
        return self._fetch_record(kind, execution_id)

    def modify_record(
        self,
        kind: RecordKind[R],
        execution_id: str,
        change: Callable[[R | None], R | None],
        *,
        attempts: int = 5,
    ) -> R | None:
        """Read the execution's record (None: none yet), apply `change` and save its result with the
        version check: created at version 1, or saved over the version read at version + 1. When
        someone else saved first, read again and apply `change` again, up to `attempts` reads; then
        StaleVersion propagates. `change` returning None or the very record it was given writes
        nothing and returns that record. Returns the record as saved."""
        if attempts < 1:
            raise ValueError("modify_record needs at least one attempt")
        for attempt in range(1, attempts + 1):
            current = self._fetch_record(kind, execution_id)
            changed = change(current)
            if changed is None or changed is current:
                return current
            expected = None if current is None else int(getattr(current, "version"))  # noqa: B009
            stored = changed.model_copy(update={"version": 1 if expected is None else expected + 1})
            try:
                self._put_record(kind, execution_id, stored, expected)
            except StaleVersion:
                if attempt == attempts:
                    raise
            else:
                return stored
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    # -- protection groups ----------------------------------------------------------------------

    def create_group(self, group: ProtectionGroup, actor: str) -> ProtectionGroup:
        return self._create(GROUPS, group, actor)

    def get_group(self, group_id: str) -> ProtectionGroup:
        return self._get(GROUPS, group_id)

    def find_group_by_name(self, name: str) -> ProtectionGroup | None:
        return self._find_by_name(GROUPS, name)

    def list_groups(self) -> list[ProtectionGroup]:
        return sorted(self._fetch_all(GROUPS), key=lambda g: g.group_name.casefold())

    def update_group(self, group: ProtectionGroup, actor: str) -> ProtectionGroup:
        return self._update(GROUPS, group, actor)

    def delete_group(self, group_id: str, actor: str, expected_version: int | None = None) -> None:
        self._delete(GROUPS, group_id, expected_version, actor)

    # -- recovery plans -------------------------------------------------------------------------

    def create_plan(self, plan: RecoveryPlan, actor: str) -> RecoveryPlan:
        return self._create(PLANS, plan, actor)

    def get_plan(self, plan_id: str) -> RecoveryPlan:
        return self._get(PLANS, plan_id)

    def find_plan_by_name(self, name: str) -> RecoveryPlan | None:
        return self._find_by_name(PLANS, name)

    def list_plans(self) -> list[RecoveryPlan]:
        return sorted(self._fetch_all(PLANS), key=lambda p: p.plan_name.casefold())

    def update_plan(self, plan: RecoveryPlan, actor: str) -> RecoveryPlan:
        return self._update(PLANS, plan, actor)

    def delete_plan(self, plan_id: str, actor: str, expected_version: int | None = None) -> None:
        self._delete(PLANS, plan_id, expected_version, actor)

    # -- executions -----------------------------------------------------------------------------

    def create_execution(self, execution: Execution, actor: str) -> Execution:
        return self._create(EXECUTIONS, execution, actor)

    def get_execution(self, execution_id: str) -> Execution:
        return self._get(EXECUTIONS, execution_id)

    def update_execution(self, execution: Execution, actor: str) -> Execution:
        """Save the execution as read (version check); only its head and the parts that changed are
        written (`parts.py`)."""
        return self._update(EXECUTIONS, execution, actor)

    def modify_execution(
        self,
        execution_id: str,
        change: Callable[[Execution], Execution | Audited[Execution]],
        actor: str,
        *,
        action: str = "update",
        attempts: int = 5,
        **details: Any,
    ) -> Execution:
        """`modify` of an execution: e.g. an approval, audited once as "execution.approve"."""
        return self.modify(
            EXECUTIONS, execution_id, change, actor, action=action, attempts=attempts, **details
        )

    def list_executions(
        self,
        plan_id: str | None = None,
        active_only: bool = False,
        limit: int = 50,
        *,
        after: ExecutionKey | None = None,
        newest: int | None = None,
        oldest: int | None = None,
    ) -> list[Execution]:
        """Up to `limit` executions, newest first by (requestedAt, executionId): of one plan, only
        those that need driving, requested between `oldest` and `newest` (epoch seconds, both
        included), and after `after`, the key of the last execution of the previous page."""
        if limit <= 0:
            return []
        top = newest
        ties: list[Execution] = []
        if after is not None and (top is None or after[0] <= top):
            ties = self._tied(plan_id, active_only, after[0], after)
            top = after[0] - 1
        rest = (
            []
            if oldest is not None and top is not None and top < oldest
            else self._executions(plan_id, active_only, limit + 1, top, oldest)
        )
        found = ties + rest
        if len(found) <= limit:
            return sorted(found, key=execution_key, reverse=True)
        # the oldest requestedAt on the page may have more executions than fit: read them all,
        # so that the page ends at the right one of them
        boundary = found[limit - 1].requested_at
        above = [e for e in found if e.requested_at > boundary]
        tied = (
            ties
            if after is not None and boundary == after[0]
            else self._tied(plan_id, active_only, boundary, None)
        )
        return (sorted(above, key=execution_key, reverse=True) + tied)[:limit]

    def _tied(
        self, plan_id: str | None, active_only: bool, at: int, after: ExecutionKey | None
    ) -> list[Execution]:
        """Every execution requested at `at`, by executionId descending, below `after`'s id if given."""
        found = self._executions(plan_id, active_only, MAX_TIED, at, at)
        if after is not None:
            found = [e for e in found if e.execution_id < after[1]]
        return sorted(found, key=execution_key, reverse=True)

    # -- schedules ------------------------------------------------------------------------------

    def create_schedule(self, schedule: Schedule, actor: str) -> Schedule:
        return self._create(SCHEDULES, schedule, actor)

    def get_schedule(self, schedule_id: str) -> Schedule:
        return self._get(SCHEDULES, schedule_id)

    def list_schedules(self, plan_id: str | None = None) -> list[Schedule]:
        items = self._fetch_all(SCHEDULES)
        if plan_id is not None:
            items = [s for s in items if s.plan_id == plan_id]
        return sorted(items, key=lambda s: (s.created_date, s.schedule_id))

    def update_schedule(self, schedule: Schedule, actor: str) -> Schedule:
        return self._update(SCHEDULES, schedule, actor)

    def delete_schedule(self, schedule_id: str, actor: str, expected_version: int | None = None) -> None:
        self._delete(SCHEDULES, schedule_id, expected_version, actor)

    # -- target accounts ------------------------------------------------------------------------

    def create_target_account(self, account: TargetAccount, actor: str) -> TargetAccount:
        return self._create(TARGET_ACCOUNTS, account, actor)

    def get_target_account(self, account_id: str) -> TargetAccount:
        return self._get(TARGET_ACCOUNTS, account_id)

    def list_target_accounts(self) -> list[TargetAccount]:
        return sorted(self._fetch_all(TARGET_ACCOUNTS), key=lambda a: a.account_id)

    def update_target_account(self, account: TargetAccount, actor: str) -> TargetAccount:
        return self._update(TARGET_ACCOUNTS, account, actor)

    def delete_target_account(self, account_id: str, actor: str, expected_version: int | None = None) -> None:
        self._delete(TARGET_ACCOUNTS, account_id, expected_version, actor)

    # -- tag sync settings (one item) -----------------------------------------------------------

    def get_tag_sync_settings(self) -> TagSyncSettings | None:
        """The stored settings, or None while nobody has saved any."""
        return self._fetch(TAG_SYNC, TagSyncSettings().config_id)

    def put_tag_sync_settings(self, settings: TagSyncSettings, actor: str) -> TagSyncSettings:
        """Save the settings: the first save carries version 1 (the defaults' version) and creates them
        at version 1; later saves must carry the version that was read. Anything else, or the loser
        of two first saves racing, is a StaleVersion."""
        return self._put_settings(TAG_SYNC, settings, actor)

    # -- digest settings (one item, beside the tag sync's) ----------------------------------------

    def get_digest_settings(self) -> DigestSettings | None:
        """The stored digest settings, or None while nobody has saved any."""
        return self._fetch(DIGEST, DigestSettings().config_id)

    def put_digest_settings(self, settings: DigestSettings, actor: str) -> DigestSettings:
        """Save the digest settings, version-checked as `put_tag_sync_settings`."""
        return self._put_settings(DIGEST, settings, actor)

    def _put_settings(self, kind: Kind[S], settings: S, actor: str) -> S:
        config_id = settings.config_id
        if self._fetch(kind, config_id) is None:
            if settings.version != 1:
                raise StaleVersion(
                    f"No {kind.label} are saved yet, so version {settings.version} cannot have been "
                    "read; read them again (the defaults are version 1) and retry",
                    resourceType=kind.name,
                    resourceId=config_id,
                    expectedVersion=settings.version,
                )
            try:
                return self._create(kind, settings, actor)
            except StaleVersion:
                raise
            except Conflict:  # another first save won the race
                stored = self._fetch(kind, config_id)
                raise kind.stale(config_id, 1, None if stored is None else stored.version) from None
        return self._update(kind, settings, actor)

    # -- audit ----------------------------------------------------------------------------------

    def append_audit(self, actor: str, action: str, subject: str, **details: Any) -> AuditEvent:
        """Record an event that is not itself a stored change (an approval click, a skipped fire)."""
        event = AuditEvent(
            at=int(self.clock.now()), actor=actor, action=action, subject=subject, details=details
        )
        self._append_audit(event)
        return event

    def list_audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        return self._audit_events(subject, limit)
