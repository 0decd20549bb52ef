"""The DRS simulator's state in SQLite: tables prefixed `sim_`, so they can share drbot's own file.

One piece, longer than most modules: every table of the simulator's state, read and written inside
the one transaction each simulated call is.

One connection per simulator, guarded by a lock; every simulated API call is one `BEGIN IMMEDIATE`
transaction, so two processes on the same file (a restarted drbot, a console) see each other's jobs
and never both take the last slot of a limit.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from orchestration.drs.inventory import InventoryServer
from orchestration.drs.sim.timeline import Job, JobServer

BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sim_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sim_regions (
    account_id TEXT NOT NULL, region TEXT NOT NULL, PRIMARY KEY (account_id, region));
CREATE TABLE IF NOT EXISTS sim_source_servers (
    source_server_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    hostname TEXT NOT NULL,
    added_at REAL NOT NULL,
    stalled_since REAL,
    spec TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sim_source_servers_listing
    ON sim_source_servers (account_id, region, hostname, source_server_id);
CREATE TABLE IF NOT EXISTS sim_jobs (
    job_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    initiated_by TEXT NOT NULL,
    is_drill INTEGER NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sim_jobs_scope ON sim_jobs (account_id, region, ended_at);
CREATE INDEX IF NOT EXISTS sim_jobs_listing ON sim_jobs (account_id, region, seq);
CREATE TABLE IF NOT EXISTS sim_job_servers (
    job_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    source_server_id TEXT NOT NULL,
    instance_id TEXT,
    conversion_server_id TEXT,
    outcome TEXT NOT NULL,
    finish_at REAL NOT NULL,
    snapshot_id TEXT,
    point_in_time REAL,
    previous_snapshot INTEGER NOT NULL,
    raw_error TEXT,
    settled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, source_server_id));
CREATE INDEX IF NOT EXISTS sim_job_servers_unsettled ON sim_job_servers (settled, finish_at);
CREATE INDEX IF NOT EXISTS sim_job_servers_server ON sim_job_servers (source_server_id);
CREATE TABLE IF NOT EXISTS sim_recovery_instances (
    recovery_instance_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    source_server_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    is_drill INTEGER NOT NULL,
    launched_at REAL NOT NULL,
    point_in_time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sim_recovery_instances_listing
    ON sim_recovery_instances (account_id, region, launched_at, recovery_instance_id);
CREATE INDEX IF NOT EXISTS sim_recovery_instances_server ON sim_recovery_instances (source_server_id);
CREATE TABLE IF NOT EXISTS sim_tags (
    arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (arn, key));
CREATE TABLE IF NOT EXISTS sim_ec2 (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    parent_id TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (account_id, region, kind, resource_id));
CREATE TABLE IF NOT EXISTS sim_faults (
    kind TEXT NOT NULL, target TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, target));
"""

_TABLES = (
    "sim_meta",
    "sim_regions",
    "sim_source_servers",
    "sim_jobs",
    "sim_job_servers",
    "sim_recovery_instances",
    "sim_tags",
    "sim_ec2",
    "sim_faults",
)


@dataclass(frozen=True)
class SourceServerRow:
    source_server_id: str
    account_id: str
    region: str
    hostname: str
    added_at: float
    stalled_since: float | None
    """When replication stalled, for servers the inventory lists as STALLED (their lag keeps growing)."""
    spec: InventoryServer


@dataclass(frozen=True)
class InstanceRow:
    recovery_instance_id: str
    account_id: str
    region: str
    source_server_id: str
    job_id: str
    is_drill: bool
    launched_at: float
    point_in_time: float


@dataclass(frozen=True)
class Ec2Row:
    """A simulated EC2 or IAM resource: `body` is its item as AWS describes it (botocore's shape).

    `kind` is vpc, subnet, security-group, instance or instance-profile; IAM's region is ""."""

    account_id: str
    region: str
    kind: str
    resource_id: str
    parent_id: str | None
    """The VPC of a subnet or security group, the subnet of an instance."""
    body: dict[str, Any]


@dataclass(frozen=True)
class FaultRow:
    kind: str
    target: str
    value: str


class SimStore:
    """Owns the connection; hand out one transaction at a time."""

    def __init__(self, db_path: Path | str | None = None) -> None:
        self.path = None if db_path is None else Path(db_path)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target = ":memory:" if self.path is None else str(self.path)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit
        self._conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.path is not None:
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[SimTx]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield SimTx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class SimTx:
    """Typed reads and writes inside one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(self._conn.execute(sql, tuple(params)))

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo this block's writes if it raises, keeping the rest of the transaction."""
        self._conn.execute("SAVEPOINT sim_call")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO sim_call")
            self._conn.execute("RELEASE sim_call")
            raise
        self._conn.execute("RELEASE sim_call")

    # meta ---------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM sim_meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO sim_meta (key, value) VALUES (?, ?)", (key, value))

    def next_sequence(self, name: str) -> int:
        value = int(self.meta(name) or "0") + 1
        self.set_meta(name, str(value))
        return value

    def wipe(self) -> None:
        for table in _TABLES:
            self._conn.execute(f"DELETE FROM {table}")

    # regions and source servers -----------------------------------------------------------------
    def add_region(self, account_id: str, region: str) -> None:
        self._conn.execute("INSERT OR IGNORE INTO sim_regions VALUES (?, ?)", (account_id, region))

    def is_initialized(self, account_id: str, region: str) -> bool:
        sql = "SELECT 1 FROM sim_regions WHERE account_id = ? AND region = ?"
        return bool(self._rows(sql, (account_id, region)))

    def insert_server(self, row: SourceServerRow) -> None:
        self._conn.execute(
            "INSERT INTO sim_source_servers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                row.source_server_id,
                row.account_id,
                row.region,
                row.hostname,
                row.added_at,
                row.stalled_since,
                row.spec.model_dump_json(by_alias=True),
            ),
        )

    def servers(self, account_id: str, region: str) -> list[SourceServerRow]:
        sql = "SELECT * FROM sim_source_servers WHERE account_id = ? AND region = ?"
        return [_server(r) for r in self._rows(sql, (account_id, region))]

    def all_servers(self) -> list[SourceServerRow]:
        return [_server(r) for r in self._rows("SELECT * FROM sim_source_servers")]

    def servers_in_order(
        self, account_id: str, region: str, after: tuple[str, str] | None, ids: Collection[str] | None
    ) -> Generator[SourceServerRow, None, None]:
        """The scope's servers (or just `ids`) by (hostname, id) after `after`, read as they are consumed.

        A page stops reading once it is full, so it costs its own rows, not the scope's.
        """
        sql = "SELECT * FROM sim_source_servers WHERE account_id = ? AND region = ?"
        params: list[Any] = [account_id, region]
        if after is not None:
            sql += " AND (hostname, source_server_id) > (?, ?)"
            params += after
        if ids is not None:
            sql += f" AND source_server_id IN {_JSON_LIST}"
            params.append(_json_list(ids))
        cursor = self._conn.execute(sql + " ORDER BY hostname, source_server_id", params)
        try:
            for row in cursor:
                yield _server(row)
        finally:
            cursor.close()

    def servers_by_id(self, ids: Collection[str]) -> dict[str, SourceServerRow]:
        sql = f"SELECT * FROM sim_source_servers WHERE source_server_id IN {_JSON_LIST}"
        return {str(r["source_server_id"]): _server(r) for r in self._rows(sql, (_json_list(ids),))}

    def server(self, source_server_id: str) -> SourceServerRow | None:
        rows = self._rows("SELECT * FROM sim_source_servers WHERE source_server_id = ?", (source_server_id,))
        return _server(rows[0]) if rows else None

    # jobs ---------------------------------------------------------------------------------------
    def insert_job(self, job: Job) -> None:
        self._conn.execute(
            "INSERT INTO sim_jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.job_id,
                job.account_id,
                job.region,
                job.seq,
                job.type,
                job.initiated_by,
                int(job.is_drill),
                job.created_at,
                job.started_at,
                job.ended_at,
            ),
        )
        self._conn.executemany(
            "INSERT INTO sim_job_servers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    s.job_id,
                    s.position,
                    s.source_server_id,
                    s.instance_id,
                    s.conversion_server_id,
                    s.outcome,
                    s.finish_at,
                    s.snapshot_id,
                    s.point_in_time,
                    int(s.previous_snapshot),
                    s.raw_error,
                    int(s.settled),
                )
                for s in job.servers
            ],
        )

    def jobs(self, account_id: str, region: str, active_at: float | None = None) -> list[Job]:
        """The scope's jobs by creation order; with `active_at`, only those not COMPLETED then."""
        sql = "SELECT * FROM sim_jobs WHERE account_id = ? AND region = ?"
        params: list[Any] = [account_id, region]
        if active_at is not None:
            sql += " AND ended_at > ?"
            params.append(active_at)
        return self._with_servers(self._rows(sql + " ORDER BY seq", params))

    def jobs_active_at(
        self, at: float, account_id: str | None = None, region: str | None = None
    ) -> list[Job]:
        """Jobs not COMPLETED at `at`, of any (or one) account and region, by creation."""
        where, params = _scope_filter("j", account_id, region)
        sql = "SELECT * FROM sim_jobs j WHERE ended_at > ?" + where + " ORDER BY seq"
        return self._with_servers(self._rows(sql, [at, *params]))

    def jobs_overlapping(self, since: float, until: float) -> list[Job]:
        """Jobs (any account and region) that started by `until` and end after `since`, by creation."""
        sql = "SELECT * FROM sim_jobs WHERE ended_at > ? AND started_at <= ? ORDER BY seq"
        return self._with_servers(self._rows(sql, (since, until)))

    def job(self, job_id: str) -> Job | None:
        jobs = self._with_servers(self._rows("SELECT * FROM sim_jobs WHERE job_id = ?", (job_id,)))
        return jobs[0] if jobs else None

    def jobs_newest_first(
        self,
        account_id: str,
        region: str,
        *,
        before_seq: int | None,
        limit: int,
        ids: Collection[str] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Job]:
        """At most `limit` of the scope's jobs created before job `before_seq`, newest first."""
        sql = "SELECT * FROM sim_jobs WHERE account_id = ? AND region = ?"
        params: list[Any] = [account_id, region]
        if before_seq is not None:
            sql += " AND seq < ?"
            params.append(before_seq)
        if ids is not None:
            sql += f" AND job_id IN {_JSON_LIST}"
            params.append(_json_list(ids))
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(since)
        if until is not None:
            sql += " AND created_at <= ?"
            params.append(until)
        params.append(limit)
        return self._with_servers(self._rows(sql + " ORDER BY seq DESC LIMIT ?", params))

    def last_launches(self, source_server_ids: Collection[str]) -> dict[str, tuple[Job, JobServer]]:
        """Each server's latest LAUNCH job and its part in it, in one query.

        The Job carries no participants (`servers` is empty): only its own fields and the returned
        JobServer are read, and loading every participant of every job would cost the jobs' sizes.
        """
        # SQLite: the bare columns of an aggregate query come from the row that holds MAX(seq)
        sql = (
            "SELECT s.*, j.account_id, j.region, j.type, j.initiated_by, j.is_drill, j.created_at,"
            " j.started_at, j.ended_at, MAX(j.seq) AS seq"
            " FROM sim_job_servers s JOIN sim_jobs j ON j.job_id = s.job_id"
            f" WHERE s.source_server_id IN {_JSON_LIST} AND j.type = 'LAUNCH'"
            " GROUP BY s.source_server_id"
        )
        return {
            str(r["source_server_id"]): (_job(r, []), _job_server(r))
            for r in self._rows(sql, (_json_list(source_server_ids),))
        }

    def launch_counts(self, account_id: str | None, region: str | None) -> dict[str, int]:
        """Source server id -> how many LAUNCH jobs included it (servers never launched are absent)."""
        sql = (
            "SELECT s.source_server_id, COUNT(*) AS launches"
            " FROM sim_job_servers s JOIN sim_jobs j ON j.job_id = s.job_id WHERE j.type = 'LAUNCH'"
        )
        where, params = _scope_filter("j", account_id, region)
        rows = self._rows(sql + where + " GROUP BY s.source_server_id ORDER BY s.source_server_id", params)
        return {str(r["source_server_id"]): int(r["launches"]) for r in rows}

    def jobs_tagged(self, key: str, value: str) -> list[Job]:
        """Every job (any account and region) with this tag, by creation."""
        arns = self._rows(
            "SELECT arn FROM sim_tags WHERE key = ? AND value = ? AND arn LIKE '%:job/%'", (key, value)
        )
        ids = [str(r["arn"]).rsplit("/", 1)[1] for r in arns]
        sql = f"SELECT * FROM sim_jobs WHERE job_id IN {_JSON_LIST} ORDER BY seq"
        return self._with_servers(self._rows(sql, (_json_list(ids),)))

    def unsettled(self, until: float) -> list[tuple[Job, JobServer]]:
        """Participations that finished by `until` but whose consequences are not stored yet."""
        sql = (
            "SELECT s.job_id, s.source_server_id"
            " FROM sim_job_servers s JOIN sim_jobs j ON j.job_id = s.job_id"
            " WHERE s.settled = 0 AND s.finish_at <= ? ORDER BY s.finish_at, j.seq, s.position"
        )
        rows = self._rows(sql, (until,))
        found: list[tuple[Job, JobServer]] = []
        jobs: dict[str, Job | None] = {}
        for row in rows:
            job_id = str(row["job_id"])
            if job_id not in jobs:
                jobs[job_id] = self.job(job_id)
            job = jobs[job_id]
            if job is not None:
                server = next(s for s in job.servers if s.source_server_id == row["source_server_id"])
                found.append((job, server))
        return found

    def mark_settled(self, job_id: str, source_server_id: str) -> None:
        self._conn.execute(
            "UPDATE sim_job_servers SET settled = 1 WHERE job_id = ? AND source_server_id = ?",
            (job_id, source_server_id),
        )

    def _with_servers(self, job_rows: list[sqlite3.Row]) -> list[Job]:
        if not job_rows:
            return []
        ids = [str(r["job_id"]) for r in job_rows]
        members: dict[str, list[JobServer]] = {job_id: [] for job_id in ids}
        # chunked: SQLite limits the number of bound parameters per statement
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self._rows(
                f"SELECT * FROM sim_job_servers WHERE job_id IN ({marks}) ORDER BY position",
                chunk,
            ):
                members[str(r["job_id"])].append(_job_server(r))
        return [_job(r, members[str(r["job_id"])]) for r in job_rows]

    # recovery instances -------------------------------------------------------------------------
    def insert_instance(self, row: InstanceRow) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO sim_recovery_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.recovery_instance_id,
                row.account_id,
                row.region,
                row.source_server_id,
                row.job_id,
                int(row.is_drill),
                row.launched_at,
                row.point_in_time,
            ),
        )

    def delete_instance(self, recovery_instance_id: str) -> None:
        self._conn.execute(
            "DELETE FROM sim_recovery_instances WHERE recovery_instance_id = ?", (recovery_instance_id,)
        )

    def instances(self, account_id: str, region: str) -> list[InstanceRow]:
        sql = "SELECT * FROM sim_recovery_instances WHERE account_id = ? AND region = ?"
        return [_instance(r) for r in self._rows(sql, (account_id, region))]

    def instance(self, recovery_instance_id: str) -> InstanceRow | None:
        sql = "SELECT * FROM sim_recovery_instances WHERE recovery_instance_id = ?"
        rows = self._rows(sql, (recovery_instance_id,))
        return _instance(rows[0]) if rows else None

    def instances_of_server(self, source_server_id: str) -> list[InstanceRow]:
        sql = "SELECT * FROM sim_recovery_instances WHERE source_server_id = ?"
        return [_instance(r) for r in self._rows(sql, (source_server_id,))]

    def instances_of_servers(self, source_server_ids: Collection[str]) -> dict[str, list[InstanceRow]]:
        """Source server id -> its recovery instances, for servers that have one."""
        sql = f"SELECT * FROM sim_recovery_instances WHERE source_server_id IN {_JSON_LIST}"
        found: dict[str, list[InstanceRow]] = {}
        for r in self._rows(sql, (_json_list(source_server_ids),)):
            found.setdefault(str(r["source_server_id"]), []).append(_instance(r))
        return found

    def instances_in_order(
        self,
        account_id: str,
        region: str,
        *,
        after: tuple[float, str] | None,
        limit: int,
        ids: Collection[str] | None = None,
        source_server_ids: Collection[str] | None = None,
    ) -> list[InstanceRow]:
        """At most `limit` of the scope's recovery instances by (launch time, id) after `after`."""
        sql = "SELECT * FROM sim_recovery_instances WHERE account_id = ? AND region = ?"
        params: list[Any] = [account_id, region]
        if after is not None:
            sql += " AND (launched_at, recovery_instance_id) > (?, ?)"
            params += after
        if ids is not None:
            sql += f" AND recovery_instance_id IN {_JSON_LIST}"
            params.append(_json_list(ids))
        if source_server_ids is not None:
            sql += f" AND source_server_id IN {_JSON_LIST}"
            params.append(_json_list(source_server_ids))
        params.append(limit)
        sql += " ORDER BY launched_at, recovery_instance_id LIMIT ?"
        return [_instance(r) for r in self._rows(sql, params)]

    def all_instances(self, account_id: str | None, region: str | None) -> list[InstanceRow]:
        """Recovery instances of any (or one) account and region, by launch time."""
        where, params = _scope_filter("i", account_id, region)
        sql = "SELECT * FROM sim_recovery_instances i WHERE 1 = 1" + where
        return [_instance(r) for r in self._rows(sql + " ORDER BY launched_at, recovery_instance_id", params)]

    # tags ---------------------------------------------------------------------------------------
    def tags(self, arn: str) -> dict[str, str]:
        return {
            str(r["key"]): str(r["value"]) for r in self._rows("SELECT * FROM sim_tags WHERE arn = ?", (arn,))
        }

    def tags_of(self, arns: Collection[str]) -> dict[str, dict[str, str]]:
        """ARN -> its tags (an empty dict for an ARN without tags), in one query."""
        found: dict[str, dict[str, str]] = {arn: {} for arn in arns}
        sql = f"SELECT * FROM sim_tags WHERE arn IN {_JSON_LIST} ORDER BY arn, key"
        for r in self._rows(sql, (_json_list(found),)):
            found[str(r["arn"])][str(r["key"])] = str(r["value"])
        return found

    def put_tags(self, arn: str, tags: dict[str, str]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO sim_tags VALUES (?, ?, ?)", [(arn, k, v) for k, v in tags.items()]
        )

    def delete_tags(self, arn: str, keys: Iterable[str] | None = None) -> None:
        if keys is None:
            self._conn.execute("DELETE FROM sim_tags WHERE arn = ?", (arn,))
        else:
            self._conn.executemany("DELETE FROM sim_tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys])

    # EC2 and IAM --------------------------------------------------------------------------------
    def put_ec2(self, rows: Iterable[Ec2Row]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO sim_ec2 VALUES (?, ?, ?, ?, ?, ?)",
            [(r.account_id, r.region, r.kind, r.resource_id, r.parent_id, json.dumps(r.body)) for r in rows],
        )

    def ec2_resources(
        self,
        account_id: str,
        region: str,
        kind: str,
        *,
        ids: Collection[str] | None = None,
        parent_ids: Collection[str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Ec2Row]:
        """The scope's resources of `kind` by id (only `ids`, or those under `parent_ids`) after `after`."""
        sql = "SELECT * FROM sim_ec2 WHERE account_id = ? AND region = ? AND kind = ?"
        params: list[Any] = [account_id, region, kind]
        if ids is not None:
            sql += f" AND resource_id IN {_JSON_LIST}"
            params.append(_json_list(ids))
        if parent_ids is not None:
            sql += f" AND parent_id IN {_JSON_LIST}"
            params.append(_json_list(parent_ids))
        if after is not None:
            sql += " AND resource_id > ?"
            params.append(after)
        sql += " ORDER BY resource_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_ec2(r) for r in self._rows(sql, params)]

    def ec2_resource(self, kind: str, resource_id: str) -> Ec2Row | None:
        """The resource of `kind` with this id, in whichever account and region holds it."""
        rows = self._rows("SELECT * FROM sim_ec2 WHERE kind = ? AND resource_id = ?", (kind, resource_id))
        return _ec2(rows[0]) if rows else None

    # faults -------------------------------------------------------------------------------------
    def faults(self) -> list[FaultRow]:
        return [
            FaultRow(str(r["kind"]), str(r["target"]), str(r["value"]))
            for r in self._rows("SELECT * FROM sim_faults")
        ]

    def put_fault(self, kind: str, target: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO sim_faults VALUES (?, ?, ?)", (kind, target, value))

    def delete_fault(self, kind: str, target: str | None = None) -> None:
        if target is None:
            self._conn.execute("DELETE FROM sim_faults WHERE kind = ?", (kind,))
        else:
            self._conn.execute("DELETE FROM sim_faults WHERE kind = ? AND target = ?", (kind, target))

    def clear_faults(self) -> None:
        self._conn.execute("DELETE FROM sim_faults")


# one bound parameter for a whole id list, whatever its length (SQLite caps bound parameters)
_JSON_LIST = "(SELECT value FROM json_each(?))"


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))


def _scope_filter(alias: str, account_id: str | None, region: str | None) -> tuple[str, list[Any]]:
    """` AND …` conditions for an optional account and region (None: any)."""
    sql = ""
    params: list[Any] = []
    if account_id is not None:
        sql += f" AND {alias}.account_id = ?"
        params.append(account_id)
    if region is not None:
        sql += f" AND {alias}.region = ?"
        params.append(region)
    return sql, params


@lru_cache(maxsize=16_384)
def _spec(text: str) -> InventoryServer:
    """A stored spec, validated once: specs never change after loading and the model is frozen."""
    return InventoryServer.model_validate(json.loads(text))


def _server(r: sqlite3.Row) -> SourceServerRow:
    return SourceServerRow(
        source_server_id=str(r["source_server_id"]),
        account_id=str(r["account_id"]),
        region=str(r["region"]),
        hostname=str(r["hostname"]),
        added_at=float(r["added_at"]),
        stalled_since=None if r["stalled_since"] is None else float(r["stalled_since"]),
        spec=_spec(str(r["spec"])),
    )


def _job(r: sqlite3.Row, servers: list[JobServer]) -> Job:
    return Job(
        job_id=str(r["job_id"]),
        account_id=str(r["account_id"]),
        region=str(r["region"]),
        seq=int(r["seq"]),
        type=r["type"],
        initiated_by=r["initiated_by"],
        is_drill=bool(r["is_drill"]),
        created_at=float(r["created_at"]),
        started_at=float(r["started_at"]),
        ended_at=float(r["ended_at"]),
        servers=tuple(servers),
    )


def _job_server(r: sqlite3.Row) -> JobServer:
    return JobServer(
        job_id=str(r["job_id"]),
        position=int(r["position"]),
        source_server_id=str(r["source_server_id"]),
        instance_id=r["instance_id"],
        conversion_server_id=r["conversion_server_id"],
        outcome=r["outcome"],
        finish_at=float(r["finish_at"]),
        snapshot_id=r["snapshot_id"],
        point_in_time=None if r["point_in_time"] is None else float(r["point_in_time"]),
        previous_snapshot=bool(r["previous_snapshot"]),
        raw_error=r["raw_error"],
        settled=bool(r["settled"]),
    )


def _ec2(r: sqlite3.Row) -> Ec2Row:
    return Ec2Row(
        account_id=str(r["account_id"]),
        region=str(r["region"]),
        kind=str(r["kind"]),
        resource_id=str(r["resource_id"]),
        parent_id=None if r["parent_id"] is None else str(r["parent_id"]),
        body=json.loads(str(r["body"])),
    )


def _instance(r: sqlite3.Row) -> InstanceRow:
    return InstanceRow(
        recovery_instance_id=str(r["recovery_instance_id"]),
        account_id=str(r["account_id"]),
        region=str(r["region"]),
        source_server_id=str(r["source_server_id"]),
        job_id=str(r["job_id"]),
        is_drill=bool(r["is_drill"]),
        launched_at=float(r["launched_at"]),
        point_in_time=float(r["point_in_time"]),
    )
