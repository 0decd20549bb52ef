"""The embedded default Store: one SQLite file, safe for the threads of a process and for several
processes (or several instances) opening the same file.

Every change is one `BEGIN IMMEDIATE` transaction holding the item and its audit row. IMMEDIATE takes
the database's write lock up front, so two writers never both read-then-write: the second waits
(busy_timeout) and then sees the first one's commit. On top of that:

- optimistic locking is `UPDATE ... WHERE id = ? AND version = ?`; no row changed means the item is
  gone (NotFound) or was changed by someone else (StaleVersion), told apart inside the same
  transaction;
- unique names are a UNIQUE index on `name_key` (`models.name_key`: case-folded, stripped), so two
  racing creates cannot both pass a check: the loser's INSERT fails and becomes DuplicateName.

The file is shared with other components (the DRS simulator keeps `sim_*` tables in it): this module
only ever creates its own tables and never drops anything.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestration.clock import Clock
from orchestration.errors import InternalError
from orchestration.models import AuditEvent, Execution, name_key
from orchestration.store.base import EXECUTIONS, Kind, Store, T

BUSY_TIMEOUT_MS = 30_000

# One table per kind; `Kind.name` → table.
_TABLES: dict[str, str] = {
    "group": "protection_groups",
    "plan": "recovery_plans",
    "execution": "executions",
    "schedule": "schedules",
    "account": "target_accounts",
    "tag_sync": "tag_sync_config",
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
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

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
    def _columns(kind: Kind[T], item: T) -> dict[str, Any]:
        """The row of an item: its JSON plus the columns that are indexed or constrained."""
        columns: dict[str, Any] = {
            "id": kind.id_of(item),
            "version": int(getattr(item, "version")),  # noqa: B009 - every aggregate has it
            "data": json.dumps(item.to_wire(), separators=(",", ":")),
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

    @staticmethod
    def _insert_audit(conn: sqlite3.Connection, event: AuditEvent) -> None:
        conn.execute(
            "INSERT INTO audit_events (event_id, at, subject, data) VALUES (?, ?, ?, ?)",
            (event.event_id, event.at, event.subject, json.dumps(event.to_wire(), separators=(",", ":"))),
        )

    # -- primitives -----------------------------------------------------------------------------

    def _insert(self, kind: Kind[T], item: T, audit: AuditEvent) -> None:
        columns = self._columns(kind, item)
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
            self._insert_audit(conn, audit)

    def _replace(self, kind: Kind[T], item: T, expected_version: int, audit: AuditEvent) -> None:
        columns = self._columns(kind, item)
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
            self._insert_audit(conn, audit)

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
            self._insert_audit(conn, audit)

    def _fetch(self, kind: Kind[T], item_id: str) -> T | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT data FROM {_TABLES[kind.name]} WHERE id = ?", (item_id,)
            ).fetchone()
        return None if row is None else self._load(kind, row[0])

    def _fetch_all(self, kind: Kind[T]) -> list[T]:
        with self._lock:
            rows = self._conn.execute(f"SELECT data FROM {_TABLES[kind.name]}").fetchall()
        return [self._load(kind, row[0]) for row in rows]

    def _find_by_name(self, kind: Kind[T], name: str) -> T | None:
        if kind.name_field is None:
            return None
        with self._lock:
            row = self._conn.execute(
                f"SELECT data FROM {_TABLES[kind.name]} WHERE name_key = ?", (name_key(name),)
            ).fetchone()
        return None if row is None else self._load(kind, row[0])

    def _executions(self, plan_id: str | None, active_only: bool, limit: int) -> list[Execution]:
        conditions: list[str] = []
        parameters: list[Any] = []
        if plan_id is not None:
            conditions.append("plan_id = ?")
            parameters.append(plan_id)
        if active_only:
            conditions.append("active = 1")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT data FROM executions {where} ORDER BY requested_at DESC, rowid DESC LIMIT ?",
                (*parameters, max(limit, 0)),
            ).fetchall()
        return [self._load(EXECUTIONS, row[0]) for row in rows]

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
