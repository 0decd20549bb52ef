"""The AWS Store: one DynamoDB table per kind (seed keys), plus schedules and the audit trail. One
piece, longer than most modules: every write below goes through the same conditional transactions.

Items are the aggregate's `to_wire()` dict plus a few bookkeeping attributes (`entity`, `nameKey`,
`activePartition`), written with the low-level client so that every change is one TransactWriteItems
together with its audit event. Conditions do the locking:

- a new item must not exist yet: `attribute_not_exists(<pk>)`;
- a change or delete must find the version it read: `version = :expected`;
- a unique name is a second item in the same table, the name lock, keyed `#name#<name_key>`:

      groupId = "6f1c...-uuid"   entity = "group"     groupName = "Web"  nameKey = "web"  version = 3
      groupId = "#name#web"      entity = "nameLock"  ownerId = "6f1c...-uuid"  lockedName = "Web"

  Creating or renaming puts the lock with `attribute_not_exists`, in the same transaction as the
  item, so two racing creates of "Web" and " web " cannot both commit.

A cancelled transaction says, per action, which condition failed (`CancellationReasons`, with the
stored item thanks to `ReturnValuesOnConditionCheckFailure=ALL_OLD`); each action carries the domain
error its failure means. No botocore exception leaves this module.

An execution is an item collection (`parts.py`): its head is the item in the executions table (the
seed's key and the listings' indexes, as before), its servers parts and event chunks are items of the
execution-parts table under the same `executionId`, sorted by `part`:

      executions:       executionId = "e1"  entity = "execution"  status = "RUNNING"  version = 7
                        storedParts = {"eventCount": 260, "wavesPerPart": 1}  waves = [no servers]
      execution-parts:  executionId = "e1"  part = "servers#000"   version = 5  waves = [{servers}]
                        executionId = "e1"  part = "events#00010"  version = 7  events = [...]

A save is one TransactWriteItems: the head with its version check, the parts that changed, the
audit event. A read is a consistent GetItem of the head and a consistent Query of its parts, read
again when a part carries a newer version than the head (a save committed in between); only the parts
this store has not parsed at their stored version yet are decoded and validated (parts.py).

An execution's side records (`RecordKind`, base.py: bot/'s Slack thread of a run) are items of the
same execution-parts table, `part = "record#<kind>"`, the record's wire form in one `record` map:

      execution-parts:  executionId = "e1"  part = "record#slack_thread"  version = 3  record = {...}

They are kept there rather than in a table of their own because a record is one per execution and
read by the execution id, exactly that table's key: no new table, no new grant for every function,
no new setting, and nothing else changes (an execution's assembly reads only the parts its head
names, so a record beside them is never taken for one). Each is written alone with one conditional
PutItem (`attribute_not_exists` to create, `version = :expected` to change).

Listings of executions and of the audit trail are Queries on global secondary indexes, never Scans
(plus a Query of each listed execution's parts); GSIs are eventually consistent, so an item may
show up in a listing a moment after it is written.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from orchestration.clock import Clock
from orchestration.config import TableNames
from orchestration.errors import Conflict, DrbotError, InternalError, StaleVersion
from orchestration.models import AuditEvent, Execution, name_key
from orchestration.store import parts
from orchestration.store.base import EXECUTIONS, Kind, R, RecordKind, Store, T

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        CreateTableInputTypeDef,
        DeleteTypeDef,
        GlobalSecondaryIndexTypeDef,
        PutItemInputTypeDef,
        PutTypeDef,
        QueryInputTypeDef,
        ScanInputTypeDef,
        TransactWriteItemTypeDef,
    )

# -- layout: shared with template.yaml through table_definitions() ------------------------------

# Kind.name → (TableNames field, partition key attribute)
_KIND_TABLES: dict[str, tuple[str, str]] = {
    "group": ("protection_groups", "groupId"),
    "plan": ("recovery_plans", "planId"),
    "execution": ("executions", "executionId"),
    "schedule": ("schedules", "scheduleId"),
    "account": ("target_accounts", "accountId"),
    "tag_sync": ("tag_sync_config", "configId"),
    "digest": ("tag_sync_config", "configId"),  # one more item of the settings table
}

ENTITY = "entity"  # which kind an item is ("group", ..., "nameLock", "audit"); lets listings skip locks
NAME_KEY = "nameKey"  # the name lock key an item holds
ACTIVE = "activePartition"  # set to ACTIVE_VALUE only while an execution needs driving (sparse GSI)
ACTIVE_VALUE = "ACTIVE"
REQUESTED_AT = "requestedAt"
PLAN_ID = "planId"
OWNER = "ownerId"  # on a name lock: the id of the item holding the name
LOCKED_NAME = "lockedName"  # on a name lock: the name as its owner spells it, for error messages
LOCK_ENTITY = "nameLock"
LOCK_PREFIX = "#name#"
AUDIT_SUBJECT = "subject"
AUDIT_SORT = "sortKey"  # f"{at:012d}#{tick:020d}#{eventId}": newest first, insertion order within a second
AUDIT_ENTITY = "audit"
PART = "part"  # sort key of the execution-parts table: "servers#000", "events#00000" (parts.py)
RECORD_PREFIX = "record#"  # an execution's side record in that table: part = "record#<kind>"
RECORD = "record"  # the side record's wire form, one map attribute

PLAN_INDEX = "PlanIndex"  # executions of a plan: planId, requestedAt
ACTIVE_INDEX = "ActiveIndex"  # executions that need driving only: activePartition, requestedAt
# Everything of one entity, newest first: entity, requestedAt (executions) or sortKey (audit). A
# single partition value, which is fine at drbot's write rate (people and drills, not traffic).
RECENT_INDEX = "RecentIndex"

_BOOKKEEPING = frozenset({ENTITY, NAME_KEY, ACTIVE, AUDIT_SORT})

# A transaction cancelled only because another one held an item, or by throttling, is tried again.
_TRANSIENT = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_ATTEMPTS = 4
_BACKOFF_SECONDS = 0.05


def table_definitions(tables: TableNames) -> list[CreateTableInputTypeDef]:
    """The `create_table` arguments of every table the store uses (template.yaml declares the same)."""

    def attribute(name: str, kind: str = "S") -> AttributeDefinitionTypeDef:
        return {"AttributeName": name, "AttributeType": "N" if kind == "N" else "S"}

    def newest_first(index: str, partition: str, sort: str) -> GlobalSecondaryIndexTypeDef:
        return {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": partition, "KeyType": "HASH"},
                {"AttributeName": sort, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    definitions: list[CreateTableInputTypeDef] = []
    for table_field, key in dict(_KIND_TABLES.values()).items():  # a table shared by two kinds once
        definition: CreateTableInputTypeDef = {
            "TableName": getattr(tables, table_field),
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "AttributeDefinitions": [attribute(key)],
        }
        if table_field == "executions":
            definition["AttributeDefinitions"] = [
                attribute(key),
                attribute(PLAN_ID),
                attribute(REQUESTED_AT, "N"),
                attribute(ACTIVE),
                attribute(ENTITY),
            ]
            definition["GlobalSecondaryIndexes"] = [
                newest_first(PLAN_INDEX, PLAN_ID, REQUESTED_AT),
                newest_first(ACTIVE_INDEX, ACTIVE, REQUESTED_AT),
                newest_first(RECENT_INDEX, ENTITY, REQUESTED_AT),
            ]
        definitions.append(definition)
    definitions.append(
        {
            "TableName": tables.audit,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": AUDIT_SUBJECT, "KeyType": "HASH"},
                {"AttributeName": AUDIT_SORT, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [attribute(AUDIT_SUBJECT), attribute(AUDIT_SORT), attribute(ENTITY)],
            "GlobalSecondaryIndexes": [newest_first(RECENT_INDEX, ENTITY, AUDIT_SORT)],
        }
    )
    _, execution_key = _KIND_TABLES[EXECUTIONS.name]
    definitions.append(
        {
            "TableName": tables.execution_parts,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": execution_key, "KeyType": "HASH"},
                {"AttributeName": PART, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [attribute(execution_key), attribute(PART)],
        }
    )
    return definitions


def create_tables(client: DynamoDBClient, tables: TableNames) -> None:
    """Create the store's tables that do not exist yet and wait until they are ACTIVE."""
    definitions = table_definitions(tables)
    for definition in definitions:
        try:
            client.create_table(**definition)
        except client.exceptions.ResourceInUseException:
            continue  # already there (or being created): creating is idempotent
    for definition in definitions:
        client.get_waiter("table_exists").wait(TableName=definition["TableName"])


# -- values: pydantic's JSON dicts ↔ DynamoDB attribute values -----------------------------------

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_decimals(value: Any) -> Any:
    """DynamoDB numbers are Decimals; via str() so 0.1 stays 0.1 rather than its binary expansion."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {key: _to_decimals(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_decimals(item) for item in value]
    return value


def _from_decimals(value: Any) -> Any:
    """Back to JSON types before pydantic sees them: whole numbers as int, the rest as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: _from_decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_decimals(item) for item in value]
    return value


def _to_dynamo(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(_to_decimals(value)) for key, value in values.items()}


def _from_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _from_decimals(_deserializer.deserialize(value)) for key, value in item.items()}


def _no_parts(keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {}


def item_bytes(item: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for an item in its attribute-value form (names and values; what its
    400 KB limit is about), following the rules of its documentation, approximately."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: Mapping[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = len(str(inner).lstrip("-").replace(".", "").strip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_bytes(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(key.encode()) + _value_bytes(element) for key, element in inner.items())
    member = kind[0]  # SS, NS, BS: the members' sizes
    return sum(_value_bytes({member: element}) for element in inner)


# -- transactions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _If:
    """A condition expression with its placeholders (values as plain Python, serialised on use)."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)


def _absent(key: str) -> _If:
    return _If("attribute_not_exists(#k)", {"#k": key})


def _is(kind: Kind[Any], version: int | None = None) -> _If:
    """The item is of this kind (not a name lock) and, when given, at this version."""
    if version is None:
        return _If("#e = :e", {"#e": ENTITY}, {":e": kind.name})
    return _If("#e = :e AND #v = :v", {"#e": ENTITY, "#v": "version"}, {":e": kind.name, ":v": version})


def _owned_by(item_id: str) -> _If:
    return _If("#o = :o", {"#o": OWNER}, {":o": item_id})


def _put(table: str, item: Mapping[str, Any], condition: _If | None = None) -> TransactWriteItemTypeDef:
    put: PutTypeDef = {"TableName": table, "Item": _to_dynamo(item)}
    if condition is not None:
        put["ConditionExpression"] = condition.expression
        put["ExpressionAttributeNames"] = condition.names
        put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if condition.values:  # DynamoDB refuses an empty map here
            put["ExpressionAttributeValues"] = _to_dynamo(condition.values)
    return {"Put": put}


def _delete(table: str, key: Mapping[str, Any], condition: _If) -> TransactWriteItemTypeDef:
    delete: DeleteTypeDef = {
        "TableName": table,
        "Key": _to_dynamo(key),
        "ConditionExpression": condition.expression,
        "ExpressionAttributeNames": condition.names,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if condition.values:
        delete["ExpressionAttributeValues"] = _to_dynamo(condition.values)
    return {"Delete": delete}


Refusal = Callable[[dict[str, Any] | None], DrbotError]


@dataclass(frozen=True)
class _Write:
    """One action of a transaction and what its failed condition means, given the stored item."""

    action: TransactWriteItemTypeDef
    refused: Refusal | None = None


class DynamoDbStore(Store):
    """Store on DynamoDB tables named by `tables` (create them with `create_tables` or template.yaml)."""

    def __init__(
        self,
        tables: TableNames,
        client: DynamoDBClient | None = None,
        region: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock)
        self.tables = tables
        self._client: DynamoDBClient = client or boto3.client("dynamodb", region_name=region)
        self._tick_lock = threading.Lock()
        self._last_tick = 0
        # where an execution was read from (parts.py): these tables, whichever client reaches them
        meta = self._client.meta
        self._origin = (
            f"dynamodb:{meta.endpoint_url}:{meta.region_name}:{tables.executions}:{tables.execution_parts}"
        )

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _aws(self, what: str) -> Iterator[None]:
        """Any failure of DynamoDB itself (missing table, credentials, outage) as an InternalError."""
        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise InternalError(f"DynamoDB refused to {what}: {code}", awsErrorCode=code) from exc
        except BotoCoreError as exc:
            raise InternalError(f"Could not reach DynamoDB to {what}: {exc}") from exc

    def _transact(self, kind: Kind[Any], writes: list[_Write]) -> None:
        """Run the writes all-or-nothing; a failed condition raises the domain error of its action."""
        actions = [write.action for write in writes]
        with self._aws(f"save the {kind.label}"):
            for attempt in range(_ATTEMPTS):
                try:
                    self._client.transact_write_items(TransactItems=actions)
                    self.stats.record(
                        item_bytes(action["Put"]["Item"]) for action in actions if "Put" in action
                    )
                    return
                except self._client.exceptions.TransactionCanceledException as exc:
                    reasons = exc.response.get("CancellationReasons", [])
                    # Actions are in priority order: the item's own check speaks before its name lock.
                    for write, reason in zip(writes, reasons, strict=False):
                        if reason.get("Code") == "ConditionalCheckFailed" and write.refused is not None:
                            stored = reason.get("Item")
                            raise write.refused(
                                _from_dynamo(cast(dict[str, Any], stored)) if stored else None
                            ) from exc
                    codes = {str(reason.get("Code")) for reason in reasons} - {"None"}
                    if not codes <= _TRANSIENT:
                        raise InternalError(
                            f"DynamoDB cancelled the change to the {kind.label}: {', '.join(sorted(codes))}"
                        ) from exc
                time.sleep(random.uniform(0, _BACKOFF_SECONDS * 2**attempt))
        raise Conflict(
            f"The {kind.label} is being changed by someone else right now; try again", resourceType=kind.name
        )

    def _table(self, kind: Kind[Any]) -> tuple[str, str]:
        table_field, key = _KIND_TABLES[kind.name]
        return getattr(self.tables, table_field), key

    def _tick(self) -> int:
        """Strictly increasing nanoseconds: orders audit events written within the same second."""
        with self._tick_lock:
            self._last_tick = max(time.time_ns(), self._last_tick + 1)
            return self._last_tick

    def _get_raw(self, table: str, key: str, value: str) -> dict[str, Any] | None:
        with self._aws(f"read {table}"):
            found = self._client.get_item(TableName=table, Key={key: {"S": value}}, ConsistentRead=True)
        item = found.get("Item")
        return None if item is None else _from_dynamo(item)

    def _stored(self, kind: Kind[Any], item_id: str) -> dict[str, Any] | None:
        """The stored attributes of the item (never a name lock that happens to have that key)."""
        table, key = self._table(kind)
        data = self._get_raw(table, key, item_id)
        return data if data is not None and data.get(ENTITY) == kind.name else None

    @staticmethod
    def _load(kind: Kind[T], data: Mapping[str, Any]) -> T:
        return kind.model.from_wire({k: v for k, v in data.items() if k not in _BOOKKEEPING})

    @staticmethod
    def _attributes(kind: Kind[T], item: T, wire: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The item's attributes: its wire form (or `wire`: an execution's head) and bookkeeping."""
        attributes = dict(item.to_wire() if wire is None else wire) | {ENTITY: kind.name}
        name = kind.name_of(item)
        if name is not None:
            attributes[NAME_KEY] = name_key(name)
        if isinstance(item, Execution) and item.needs_driving:
            attributes[ACTIVE] = ACTIVE_VALUE
        return attributes

    def _lock(self, kind: Kind[Any], lock_key: str, owner_id: str, name: str, condition: _If) -> _Write:
        table, key = self._table(kind)
        lock = {key: LOCK_PREFIX + lock_key, ENTITY: LOCK_ENTITY, OWNER: owner_id, LOCKED_NAME: name}

        def taken(stored: dict[str, Any] | None) -> DrbotError:
            if stored is None:  # vanished between check and report: name it as the caller spelled it
                return kind.duplicate_name(name)
            return kind.duplicate_name(str(stored.get(LOCKED_NAME, name)), stored.get(OWNER))

        return _Write(_put(table, lock, condition), taken)

    def _unlock(self, kind: Kind[Any], lock_key: str, owner_id: str) -> _Write:
        table, key = self._table(kind)
        # The lock not being ours means the item changed under us: the item's check reports it.
        return _Write(_delete(table, {key: LOCK_PREFIX + lock_key}, _owned_by(owner_id)))

    def _part_writes(self, execution: Execution, write: parts.ExecutionWrite) -> list[_Write]:
        """Puts of the parts a save writes, stamped with the version it saves (no condition: the
        head's version check in the same transaction guards them)."""
        _, key = self._table(EXECUTIONS)
        stamp = {key: execution.execution_id, "version": execution.version}
        return [
            _Write(_put(self.tables.execution_parts, {**stamp, PART: part.key, **part.body}))
            for part in write.parts
        ]

    def _parts(self, execution_id: str) -> dict[str, dict[str, Any]]:
        """Every part stored under the execution, by part key, as DynamoDB returns it (attribute
        values: decoded only when the part is not in the cache; a consistent Query)."""
        _, key = self._table(EXECUTIONS)
        query: QueryInputTypeDef = {
            "TableName": self.tables.execution_parts,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":k": {"S": execution_id}},
            "ConsistentRead": True,
        }
        found: dict[str, dict[str, Any]] = {}
        with self._aws(f"read {self.tables.execution_parts}"):
            while True:
                page = self._client.query(**query)
                for item in page["Items"]:
                    found[str(item[PART]["S"])] = dict(item)
                if "LastEvaluatedKey" not in page:
                    return found
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _assemble(self, stored: Mapping[str, Any]) -> Execution | None:
        """The execution of a stored head and its parts; None when a part is newer than the head
        (saved after the head was read: read both again)."""
        head = {k: v for k, v in stored.items() if k not in _BOOKKEEPING}
        if not parts.is_split(head):
            return parts.assemble(head, {}, _no_parts, self._origin)
        found = self._parts(str(head["executionId"]))
        versions = {key: int(item["version"]["N"]) for key, item in found.items()}
        version = int(head["version"])
        if any(versions[key] > version for key in parts.part_keys(head) if key in versions):
            return None

        def read(keys: Sequence[str]) -> dict[str, dict[str, Any]]:
            return {key: _from_dynamo(found[key]) for key in keys if key in found}

        return parts.assemble(head, versions, read, self._origin, self.parsed_parts)

    def _fetch_execution(self, execution_id: str) -> Execution | None:
        for _ in range(_ATTEMPTS):
            stored = self._stored(EXECUTIONS, execution_id)
            if stored is None:
                return None
            execution = self._assemble(stored)
            if execution is not None:
                return execution
        raise Conflict(
            f"The execution {execution_id} is being changed by someone else right now; try again",
            resourceType=EXECUTIONS.name,
        )

    def _audit_write(self, event: AuditEvent) -> _Write:
        return _Write(_put(self.tables.audit, self._audit_attributes(event)))

    def _audit_attributes(self, event: AuditEvent) -> dict[str, Any]:
        sort_key = f"{event.at:012d}#{self._tick():020d}#{event.event_id}"
        return event.to_wire() | {AUDIT_SORT: sort_key, ENTITY: AUDIT_ENTITY}

    def _item_refusal(self, kind: Kind[Any], item_id: str, expected: int | None) -> Refusal:
        """What a failed `_is(kind, version)` check on the item means."""

        def refused(stored: dict[str, Any] | None) -> DrbotError:
            if stored is None or stored.get(ENTITY) != kind.name or expected is None:
                return kind.not_found(item_id)
            return kind.stale(item_id, expected, int(stored["version"]))

        return refused

    def _query(self, query: QueryInputTypeDef, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` items of a query, newest first, following pages (a filter may thin them)."""
        items: list[dict[str, Any]] = []
        page: QueryInputTypeDef = {**query, "ScanIndexForward": False}
        with self._aws(f"query {query['TableName']}"):
            while len(items) < limit:
                page["Limit"] = limit - len(items)
                found = self._client.query(**page)
                items.extend(_from_dynamo(item) for item in found["Items"])
                if "LastEvaluatedKey" not in found:
                    break
                page["ExclusiveStartKey"] = found["LastEvaluatedKey"]
        return items[:limit]

    # -- primitives -----------------------------------------------------------------------------

    def _insert(self, kind: Kind[T], item: T, audit: AuditEvent) -> None:
        #   TransactWriteItems
        #   ├─ Put item        if attribute_not_exists(pk)   else: the id is taken
        #   ├─ Put name lock   if attribute_not_exists(pk)   else: DuplicateName (the lock names the holder)
        #   └─ Put audit event
        #   ├─ Put each part   (executions: every servers part and event chunk, parts.py)
        table, key = self._table(kind)
        item_id = kind.id_of(item)
        write = parts.to_write(item, self._origin) if isinstance(item, Execution) else None
        writes = [
            _Write(
                _put(
                    table, self._attributes(kind, item, None if write is None else write.head), _absent(key)
                ),
                lambda _: kind.already_exists(item_id),
            )
        ]
        name = kind.name_of(item)
        if name is not None:
            writes.append(self._lock(kind, name_key(name), item_id, name, _absent(key)))
        if isinstance(item, Execution) and write is not None:
            writes.extend(self._part_writes(item, write))
        writes.append(self._audit_write(audit))
        self._transact(kind, writes)
        if isinstance(item, Execution):
            parts.remember(item, self._origin)

    def _replace(self, kind: Kind[T], item: T, expected_version: int, audit: AuditEvent) -> None:
        #   TransactWriteItems
        #   ├─ Put item          if entity = kind AND version = :expected   else: StaleVersion or NotFound
        #   ├─ Delete old lock   if ownerId = :id                ┐ only when the name changes; a change
        #   ├─ Put new lock      if attribute_not_exists(pk)     ┘ of case only rewrites the lock in place
        #   ├─ Put each part     (executions: the parts that changed, parts.py)
        #   └─ Put audit event
        table, key = self._table(kind)
        item_id = kind.id_of(item)
        write = parts.to_write(item, self._origin) if isinstance(item, Execution) else None
        writes = [
            _Write(
                _put(
                    table,
                    self._attributes(kind, item, None if write is None else write.head),
                    _is(kind, expected_version),
                ),
                self._item_refusal(kind, item_id, expected_version),
            )
        ]
        name = kind.name_of(item)
        if name is not None:
            # The lock to move is the one the stored item holds; if the item changes after this read
            # its version changes too, and the Put above cancels the whole transaction.
            stored = self._stored(kind, item_id)
            if stored is None:
                raise kind.not_found(item_id)
            old_key, new_key = str(stored[NAME_KEY]), name_key(name)
            if old_key != new_key:
                writes.append(self._unlock(kind, old_key, item_id))
                writes.append(self._lock(kind, new_key, item_id, name, _absent(key)))
            elif kind.name_of(self._load(kind, stored)) != name:
                writes.append(self._lock(kind, new_key, item_id, name, _owned_by(item_id)))
        if isinstance(item, Execution) and write is not None:
            writes.extend(self._part_writes(item, write))
        writes.append(self._audit_write(audit))
        self._transact(kind, writes)
        if isinstance(item, Execution):
            parts.remember(item, self._origin)

    def _remove(self, kind: Kind[T], item_id: str, expected_version: int | None, audit: AuditEvent) -> None:
        #   TransactWriteItems
        #   ├─ Delete item        if entity = kind [AND version = :expected]   else: NotFound / StaleVersion
        #   ├─ Delete name lock   if ownerId = :id   (named kinds)
        #   └─ Put audit event
        table, key = self._table(kind)
        if kind.name_field is None:
            condition = _is(kind, expected_version)
            self._transact(
                kind,
                [
                    _Write(
                        _delete(table, {key: item_id}, condition),
                        self._item_refusal(kind, item_id, expected_version),
                    ),
                    self._audit_write(audit),
                ],
            )
            return
        # A named item: its lock's key comes from a read, so the delete is pinned to the version read.
        # When the caller accepts any version, a change racing in between is simply read again.
        for _ in range(_ATTEMPTS):
            stored = self._stored(kind, item_id)
            if stored is None:
                raise kind.not_found(item_id)
            version = int(stored["version"]) if expected_version is None else expected_version
            refusal = self._item_refusal(kind, item_id, version)
            try:
                self._transact(
                    kind,
                    [
                        _Write(_delete(table, {key: item_id}, _is(kind, version)), refusal),
                        self._unlock(kind, str(stored[NAME_KEY]), item_id),
                        self._audit_write(audit),
                    ],
                )
                return
            except StaleVersion:
                if expected_version is not None:
                    raise
        raise Conflict(
            f"The {kind.label} is being changed by someone else right now; try again", resourceType=kind.name
        )

    def _fetch(self, kind: Kind[T], item_id: str) -> T | None:
        if kind is EXECUTIONS:
            return cast(T | None, self._fetch_execution(item_id))
        stored = self._stored(kind, item_id)
        return None if stored is None else self._load(kind, stored)

    def _fetch_all(self, kind: Kind[T]) -> list[T]:
        # The plain-kind listings (groups, plans, schedules, accounts) are small whole-table reads.
        table, _ = self._table(kind)
        scan: ScanInputTypeDef = {
            "TableName": table,
            "FilterExpression": "#e = :e",
            "ExpressionAttributeNames": {"#e": ENTITY},
            "ExpressionAttributeValues": {":e": {"S": kind.name}},
            "ConsistentRead": True,
        }
        stored: list[dict[str, Any]] = []
        with self._aws(f"list {table}"):
            while True:
                found = self._client.scan(**scan)
                stored.extend(_from_dynamo(item) for item in found["Items"])
                if "LastEvaluatedKey" not in found:
                    break
                scan["ExclusiveStartKey"] = found["LastEvaluatedKey"]
        if kind is EXECUTIONS:
            return cast(list[T], self._executions_of(stored))
        return [self._load(kind, item) for item in stored]

    def _find_by_name(self, kind: Kind[T], name: str) -> T | None:
        if kind.name_field is None:
            return None
        table, key = self._table(kind)
        lock = self._get_raw(table, key, LOCK_PREFIX + name_key(name))
        if lock is None or lock.get(ENTITY) != LOCK_ENTITY:
            return None
        item = self._fetch(kind, str(lock[OWNER]))
        # renamed between the two reads: the name is no longer this item's
        return item if item is not None and name_key(str(kind.name_of(item))) == name_key(name) else None

    def _executions(
        self,
        plan_id: str | None,
        active_only: bool,
        limit: int,
        newest: int | None = None,
        oldest: int | None = None,
    ) -> list[Execution]:
        if limit <= 0:
            return []
        table, _ = self._table(EXECUTIONS)
        names: dict[str, str] = {"#k": PLAN_ID if plan_id is not None else ACTIVE if active_only else ENTITY}
        values: dict[str, Any] = {
            ":k": {"S": plan_id if plan_id is not None else ACTIVE_VALUE if active_only else EXECUTIONS.name}
        }
        index = PLAN_INDEX if plan_id is not None else ACTIVE_INDEX if active_only else RECENT_INDEX
        condition = "#k = :k"
        if newest is not None or oldest is not None:
            names["#r"] = REQUESTED_AT
            if newest is not None and oldest is not None:
                condition += " AND #r BETWEEN :oldest AND :newest"
            else:
                condition += " AND #r <= :newest" if newest is not None else " AND #r >= :oldest"
            if newest is not None:
                values[":newest"] = {"N": str(newest)}
            if oldest is not None:
                values[":oldest"] = {"N": str(oldest)}
        query: QueryInputTypeDef = {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if plan_id is not None and active_only:
            query["FilterExpression"] = "attribute_exists(#a)"
            names["#a"] = ACTIVE
        return self._executions_of(self._query(query, limit))

    def _executions_of(self, heads: list[dict[str, Any]]) -> list[Execution]:
        """The executions of listed heads, each with its parts; a head that is older than its parts
        (a save committed since the listing read it) is read again."""
        executions: list[Execution] = []
        for head in heads:
            execution = self._assemble(head) or self._fetch_execution(str(head["executionId"]))
            if execution is not None:
                executions.append(execution)
        return executions

    def _fetch_record(self, kind: RecordKind[R], execution_id: str) -> R | None:
        _, key = self._table(EXECUTIONS)
        with self._aws(f"read {self.tables.execution_parts}"):
            found = self._client.get_item(
                TableName=self.tables.execution_parts,
                Key={key: {"S": execution_id}, PART: {"S": RECORD_PREFIX + kind.name}},
                ConsistentRead=True,
            )
        item = found.get("Item")
        return None if item is None else kind.model.from_wire(_from_dynamo(item)[RECORD])

    def _put_record(self, kind: RecordKind[R], execution_id: str, record: R, expected: int | None) -> None:
        _, key = self._table(EXECUTIONS)
        version = int(getattr(record, "version"))  # noqa: B009 - a record kind's model has it
        item = _to_dynamo(
            {key: execution_id, PART: RECORD_PREFIX + kind.name, "version": version, RECORD: record.to_wire()}
        )
        condition = _absent(key) if expected is None else _If("#v = :v", {"#v": "version"}, {":v": expected})
        put: PutItemInputTypeDef = {
            "TableName": self.tables.execution_parts,
            "Item": item,
            "ConditionExpression": condition.expression,
            "ExpressionAttributeNames": condition.names,
        }
        if condition.values:  # DynamoDB refuses an empty map here
            put["ExpressionAttributeValues"] = _to_dynamo(condition.values)
        with self._aws(f"save the {kind.label}"):
            try:
                self._client.put_item(**put)
            except self._client.exceptions.ConditionalCheckFailedException:
                raise kind.stale(execution_id, expected) from None
        self.stats.record([item_bytes(item)])

    def _append_audit(self, event: AuditEvent) -> None:
        item = _to_dynamo(self._audit_attributes(event))
        with self._aws("record an audit event"):
            self._client.put_item(TableName=self.tables.audit, Item=item)
        self.stats.record([item_bytes(item)])

    def _audit_events(self, subject: str | None, limit: int) -> list[AuditEvent]:
        if limit <= 0:
            return []
        query: QueryInputTypeDef
        if subject is not None:
            query = {
                "TableName": self.tables.audit,
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": AUDIT_SUBJECT},
                "ExpressionAttributeValues": {":s": {"S": subject}},
            }
        else:
            query = {
                "TableName": self.tables.audit,
                "IndexName": RECENT_INDEX,
                "KeyConditionExpression": "#e = :e",
                "ExpressionAttributeNames": {"#e": ENTITY},
                "ExpressionAttributeValues": {":e": {"S": AUDIT_ENTITY}},
            }
        return [self._load_audit(item) for item in self._query(query, limit)]

    @staticmethod
    def _load_audit(data: Mapping[str, Any]) -> AuditEvent:
        return AuditEvent.from_wire({k: v for k, v in data.items() if k not in _BOOKKEEPING})
