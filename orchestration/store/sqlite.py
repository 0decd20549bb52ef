"""The embedded default Store: one SQLite file, safe for the threads of a process and for several
processes (or several instances) opening the same file. One piece, longer than most modules:
every statement below shares one connection, its lock and its transactions.

Every change is one `BEGIN IMMEDIATE` transaction holding the item and its audit row. IMMEDIATE takes
the database's write lock up front, so two writers never both read-then-write: the second waits
(busy_timeout) and then sees the first one's commit. On top of that:

- optimistic locking is `UPDATE ... WHERE id = ? AND version = ?`; no row changed means the item is
  gone (NotFound) or was changed by someone else (StaleVersion), told apart inside the same
  transaction;
- unique names are a UNIQUE index on `name_key` (`models.name_key`: case-folded, stripped), so two
  racing creates cannot both pass a check: the loser's INSERT fails and becomes DuplicateName;
- an execution is a head row in `executions` and its parts in `execution_parts` (servers of its
  waves, chunks of its events: `parts.py`), written in the transaction of the head's version check
  and read together in one read transaction (a consistent snapshot even while another process
  writes); only the parts this instance has not parsed at their stored version yet are read whole;
- an execution's side records (base.py) are rows of `execution_records`, keyed by the execution id
  and the record's kind, version-checked like the items.

The file is shared with other components (the DRS simulator keeps `sim_*` tables in it): this module
only ever creates its own tables and never drops anything.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from orchestration.clock import Clock
from orchestration.errors import InternalError
from orchestration.models import AuditEvent, Execution, name_key
from orchestration.store import parts
from orchestration.store.base import EXECUTIONS, Kind, R, RecordKind, Store, T

BUSY_TIMEOUT_MS = 30_000
_PARTS_PER_SELECT = 500  # part keys bound in one SELECT (older SQLite builds allow 999 parameters)

# One table per kind; `Kind.name` → table.
_TABLES: dict[str, str] = {
    "group": "protection_groups",
    "plan": "recovery_plans",
    "execution": "executions",
    "schedule": "schedules",
    "account": "target_accounts",
    "tag_sync": "tag_sync_config",
    "digest": "tag_sync_config",  # the digest settings: one more row of the settings table
}


def _aggregate_table(table: str, *columns: str) -> str:
    """Every aggregate row: id, version, the `to_wire()` JSON, plus the columns named here."""
    body = ", ".join(["id TEXT PRIMARY KEY", *columns, "version INTEGER NOT NULL", "data TEXT NOT NULL"])
    return f"CREATE TABLE IF NOT EXISTS {table} ({body})"


_NAME_KEY = "name_key TEXT NOT NULL UNIQUE"  # the unique index that makes racing creates safe

# Migrations in order; the schema version is how many have run. A later change appends a list of
# statements (ALTER TABLE ..., CREATE INDEX ...) and every existing file catches up when opened.
# Written out rather than derived from KINDS, so that what version 1 means never changes.
_MIGRATIONS: list[list[str]] = [
    [
        _aggregate_table("protection_groups", _NAME_KEY),
        _aggregate_table("recovery_plans", _NAME_KEY),
        _aggregate_table("schedules"),
        _aggregate_table("target_accounts"),
        _aggregate_table(
            "executions",
            "plan_id TEXT NOT NULL",
            "status TEXT NOT NULL",
            "active INTEGER NOT NULL CHECK (active IN (0, 1))",
            "requested_at INTEGER NOT NULL",
        ),
        # listing by plan and the non-terminal listing, both newest first, without a table scan
        "CREATE INDEX IF NOT EXISTS executions_by_plan ON executions (plan_id, requested_at)",
        "CREATE INDEX IF NOT EXISTS executions_active ON executions (requested_at) WHERE active = 1",
        "CREATE INDEX IF NOT EXISTS executions_by_time ON executions (requested_at)",
        "CREATE TABLE IF NOT EXISTS audit_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "event_id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, subject TEXT NOT NULL, data TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS audit_by_subject ON audit_events (subject, at, seq)",
        "CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (at, seq)",
    ],
    # 2: the tag sync settings (TAG_SYNC_CONFIG_TABLE in the seed)
    [_aggregate_table("tag_sync_config")],
    # 3: an execution's servers parts and event chunks beside its head row (parts.py); rows written
    # before keep the whole execution in `data` and are read as they are
    [
        "CREATE TABLE IF NOT EXISTS execution_parts (execution_id TEXT NOT NULL, part TEXT NOT NULL, "
        "version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (execution_id, part)) WITHOUT ROWID",
    ],
    # 4: the side records of an execution (`RecordKind`, base.py), one per kind
    [
        "CREATE TABLE IF NOT EXISTS execution_records (execution_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (execution_id, kind)) WITHOUT ROWID",
    ],
]
SCHEMA_VERSION = len(_MIGRATIONS)
# `drbot_schema` has one row per component keeping tables in the file (the simulator may add its own).
_SCHEMA_TABLE = "drbot_schema"
_COMPONENT = "store"


class SqliteStore(Store):
    """Store on one SQLite file (WAL mode). One instance may be shared between threads."""

    def __init__(self, path: Path | str, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.path = path if str(path) == ":memory:" else Path(path).expanduser()
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection serialised by a lock: SQLite allows one writer at a time anyway, and a
        # single connection also works for ":memory:". isolation_level=None: we issue BEGIN ourselves.
        self._lock = threading.RLock()
        # where an execution was read from (parts.py): the file, whichever instance opened it
        self._origin = (
            f"sqlite:{self.path.resolve()}"
            if isinstance(self.path, Path)
            else f"sqlite:memory:{uuid.uuid4()}"
        )
        self._sizes: list[int] = []  # rows put by the write transaction in progress (stats)
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode, much faster
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- transactions and schema ----------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the database's write lock from its first statement."""
        with self._lock:
            self._sizes = []
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            if self._sizes:
                self.stats.record(self._sizes)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: its SELECTs see one snapshot of the file, whoever writes meanwhile."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def _wrote(self, values: Iterable[Any]) -> None:
        """Count one row put by the current write transaction: its text in UTF-8, 8 bytes a number."""
        size = 0
        for value in values:
            if isinstance(value, str):
                size += len(value.encode())
            elif value is not None:
                size += 8
        self._sizes.append(size)

    def _migrate(self) -> None:
        with self._write() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {_SCHEMA_TABLE} "
                "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = conn.execute(
                f"SELECT version FROM {_SCHEMA_TABLE} WHERE component = ?", (_COMPONENT,)
            ).fetchone()
            current = 0 if row is None else int(row[0])
            if current > SCHEMA_VERSION:
                raise InternalError(
                    f"{self.path} was written by a newer drbot (store schema {current}, this one knows "
                    f"{SCHEMA_VERSION}); upgrade drbot or use another database file"
                )
            for statements in _MIGRATIONS[current:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(
                f"INSERT INTO {_SCHEMA_TABLE} (component, version) VALUES (?, ?) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (_COMPONENT, SCHEMA_VERSION),
            )

    # -- rows -----------------------------------------------------------------------------------

    @staticmethod
    def _columns(kind: Kind[T], item: T, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The row of an item: its JSON (`data`, else its wire form) plus the columns that are
        indexed or constrained."""
        columns: dict[str, Any] = {
            "id": kind.id_of(item),
            "version": int(getattr(item, "version")),  # noqa: B009 - every aggregate has it
            "data": _json(item.to_wire() if data is None else data),
        }
        name = kind.name_of(item)
        if name is not None:
            columns["name_key"] = name_key(name)
        if isinstance(item, Execution):
            columns |= {
                "plan_id": item.plan_id,
                "status": str(item.status),
                "active": 1 if item.needs_driving else 0,
                "requested_at": item.requested_at,
            }
        return columns

    @staticmethod
    def _load(kind: Kind[T], data: str) -> T:
        return kind.model.from_wire(json.loads(data))

    def _load_execution(self, conn: sqlite3.Connection, data: str) -> Execution:
        """An execution from its head row and its parts (in the caller's read transaction, so both
        queries below see the snapshot the head was read from): the versions of its parts, then the
        data of those the store has not parsed at that version yet (parts.py)."""
        head = json.loads(data)
        if not parts.is_split(head):
            return parts.assemble(head, {}, _no_parts, self._origin)
        execution_id = str(head["executionId"])
        versions = {
            str(part): int(version)
            for part, version in conn.execute(
                "SELECT part, version FROM execution_parts WHERE execution_id = ?", (execution_id,)
            )
        }

        def read(keys: Sequence[str]) -> dict[str, Any]:
            found: dict[str, Any] = {}
            for start in range(0, len(keys), _PARTS_PER_SELECT):
                batch = keys[start : start + _PARTS_PER_SELECT]
                marks = ", ".join("?" for _ in batch)
                query = f"SELECT part, data FROM execution_parts WHERE execution_id = ? AND part IN ({marks})"
                found.update(
                    (part, json.loads(body)) for part, body in conn.execute(query, (execution_id, *batch))
                )
            return found

        return parts.assemble(head, versions, read, self._origin, self.parsed_parts)

    def _put_parts(self, conn: sqlite3.Connection, execution: Execution, write: parts.ExecutionWrite) -> None:
        for part in write.parts:
            row = (execution.execution_id, part.key, execution.version, _json(part.body))
            conn.execute(
                "INSERT OR REPLACE INTO execution_parts (execution_id, part, version, data) "
                "VALUES (?, ?, ?, ?)",
                row,
            )
            self._wrote(row)

    def _duplicate(self, conn: sqlite3.Connection, kind: Kind[T], item: T) -> Exception | None:
        """Why a unique constraint refused `item`: its name or its id is taken (None: neither)."""
        table = _TABLES[kind.name]
        name = kind.name_of(item)
        if name is not None:
            row = conn.execute(
                f"SELECT id, data FROM {table} WHERE name_key = ? AND id <> ?",
                (name_key(name), kind.id_of(item)),
            ).fetchone()
            if row is not None:
                return kind.duplicate_name(str(kind.name_of(self._load(kind, row[1]))), row[0])
        if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (kind.id_of(item),)).fetchone():
            return kind.already_exists(kind.id_of(item))
        return None

    def _stored_version(self, conn: sqlite3.Connection, kind: Kind[Any], item_id: str) -> int | None:
        row = conn.execute(f"SELECT version FROM {_TABLES[kind.name]} WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else int(row[0])

    def _insert_audit(self, conn: sqlite3.Connection, event: AuditEvent) -> None:
        row = (event.event_id, event.at, event.subject, _json(event.to_wire()))
        conn.execute("INSERT INTO audit_events (event_id, at, subject, data) VALUES (?, ?, ?, ?)", row)
        self._wrote(row)

    # -- primitives -----------------------------------------------------------------------------

    def _insert(self, kind: Kind[T], item: T, audit: AuditEvent) -> None:
        write = parts.to_write(item, self._origin) if isinstance(item, Execution) else None
        columns = self._columns(kind, item, None if write is None else write.head)
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        with self._write() as conn:
            try:
                conn.execute(
                    f"INSERT INTO {_TABLES[kind.name]} ({names}) VALUES ({marks})", tuple(columns.values())
                )
            except sqlite3.IntegrityError as exc:
                reason = self._duplicate(conn, kind, item)
                if reason is None:
                    raise
                raise reason from exc
            self._wrote(columns.values())
            if isinstance(item, Execution) and write is not None:
                self._put_parts(conn, item, write)
            self._insert_audit(conn, audit)
        if isinstance(item, Execution):
            parts.remember(item, self._origin)

    def _replace(self, kind: Kind[T], item: T, expected_version: int, audit: AuditEvent) -> None:
        write = parts.to_write(item, self._origin) if isinstance(item, Execution) else None
        columns = self._columns(kind, item, None if write is None else write.head)
        item_id = columns.pop("id")
        assignments = ", ".join(f"{column} = ?" for column in columns)
        with self._write() as conn:
            try:
                changed = conn.execute(
                    f"UPDATE {_TABLES[kind.name]} SET {assignments} WHERE id = ? AND version = ?",
                    (*columns.values(), item_id, expected_version),
                ).rowcount
            except sqlite3.IntegrityError as exc:  # the new name belongs to another item
                reason = self._duplicate(conn, kind, item)
                if reason is None:
                    raise
                raise reason from exc
            if changed == 0:
                stored = self._stored_version(conn, kind, item_id)
                if stored is None:
                    raise kind.not_found(item_id)
                raise kind.stale(item_id, expected_version, stored)
            self._wrote([item_id, *columns.values()])
            if isinstance(item, Execution) and write is not None:
                self._put_parts(conn, item, write)
            self._insert_audit(conn, audit)
        if isinstance(item, Execution):
            parts.remember(item, self._origin)

    def _remove(self, kind: Kind[T], item_id: str, expected_version: int | None, audit: AuditEvent) -> None:
        table = _TABLES[kind.name]
        with self._write() as conn:
            if expected_version is None:
                changed = conn.execute(f"DELETE FROM {table} WHERE id = ?", (item_id,)).rowcount
            else:
                changed = conn.execute(
                    f"DELETE FROM {table} WHERE id = ? AND version = ?", (item_id, expected_version)
                ).rowcount
            if changed == 0:
                stored = self._stored_version(conn, kind, item_id)
                if stored is None or expected_version is None:
                    raise kind.not_found(item_id)
                raise kind.stale(item_id, expected_version, stored)
            if kind is EXECUTIONS:
                conn.execute("DELETE FROM execution_parts WHERE execution_id = ?", (item_id,))
            self._insert_audit(conn, audit)

    def _fetch(self, kind: Kind[T], item_id: str) -> T | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT data FROM {_TABLES[kind.name]} WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                return None
            if kind is EXECUTIONS:
                return cast(T, self._load_execution(conn, row[0]))
        return self._load(kind, row[0])

    def _fetch_all(self, kind: Kind[T]) -> list[T]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT data FROM {_TABLES[kind.name]}").fetchall()
            if kind is EXECUTIONS:
                return [cast(T, self._load_execution(conn, row[0])) for row in rows]
        return [self._load(kind, row[0]) for row in rows]

    def _find_by_name(self, kind: Kind[T], name: str) -> T | None:
        if kind.name_field is None:
            return None
        with self._lock:
            row = self._conn.execute(
                f"SELECT data FROM {_TABLES[kind.name]} WHERE name_key = ?", (name_key(name),)
            ).fetchone()
        return None if row is None else self._load(kind, row[0])

    def _executions(
        self,
        plan_id: str | None,
        active_only: bool,
        limit: int,
        newest: int | None = None,
        oldest: int | None = None,
    ) -> list[Execution]:
        conditions: list[str] = []
        parameters: list[Any] = []
        if newest is not None:
            conditions.append("requested_at <= ?")
            parameters.append(newest)
        if oldest is not None:
            conditions.append("requested_at >= ?")
            parameters.append(oldest)
        if plan_id is not None:
            conditions.append("plan_id = ?")
            parameters.append(plan_id)
        if active_only:
            conditions.append("active = 1")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT data FROM executions {where} ORDER BY requested_at DESC, rowid DESC LIMIT ?",
                (*parameters, max(limit, 0)),
            ).fetchall()
            return [self._load_execution(conn, row[0]) for row in rows]

    def _append_audit(self, event: AuditEvent) -> None:
        with self._write() as conn:
            self._insert_audit(conn, event)

    def _audit_events(self, subject: str | None, limit: int) -> list[AuditEvent]:
        where, parameters = ("WHERE subject = ?", [subject]) if subject is not None else ("", [])
        with self._lock:
            rows = self._conn.execute(
                f"SELECT data FROM audit_events {where} ORDER BY at DESC, seq DESC LIMIT ?",
                (*parameters, max(limit, 0)),
            ).fetchall()
        return [AuditEvent.from_wire(json.loads(row[0])) for row in rows]

    # -- side records ---------------------------------------------------------------------------

    def _fetch_record(self, kind: RecordKind[R], execution_id: str) -> R | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT data FROM execution_records WHERE execution_id = ? AND kind = ?",
                (execution_id, kind.name),
            ).fetchone()
        return None if row is None else kind.model.from_wire(json.loads(row[0]))

    def _put_record(self, kind: RecordKind[R], execution_id: str, record: R, expected: int | None) -> None:
        version = int(getattr(record, "version"))  # noqa: B009 - a record kind's model has it
        row = (execution_id, kind.name, version, _json(record.to_wire()))
        with self._write() as conn:
            if expected is None:
                changed = conn.execute(
                    "INSERT OR IGNORE INTO execution_records (execution_id, kind, version, data) "
                    "VALUES (?, ?, ?, ?)",
                    row,
                ).rowcount
            else:
                changed = conn.execute(
                    "UPDATE execution_records SET version = ?, data = ? "
                    "WHERE execution_id = ? AND kind = ? AND version = ?",
                    (version, row[3], execution_id, kind.name, expected),
                ).rowcount
            if changed == 0:
                raise kind.stale(execution_id, expected)
            self._wrote(row)


def _no_parts(keys: Sequence[str]) -> dict[str, Any]:
    return {}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
