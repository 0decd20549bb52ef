"""Crash safety, proven: a crash before and after every external call of `advance`.

Every call `advance` makes to the outside — each DRS gateway method and each store method — goes
through a proxy that counts the calls of the whole run and raises `Crash` at call number k, either
before delegating (the call never happened) or after it (it happened, its answer was lost). The
test then keeps calling `advance` — after a crash it moves the fake clock past the lease, as a
restarted driver would find it — until the execution is done, and checks that the drill ended
exactly as the uncrashed baseline did: same statuses, one DRS LAUNCH job per wave, no event lost.

The plan is a 3-wave DAG drill (waves 1 and 2 in parallel, wave 3 after both) with immediate cleanup.
SQLite runs every crash point before a call, and after every other call in `make test` (after
call N leaves the world a crash before call N+1 leaves) and every call in `make test-large`.
DynamoDB on moto, where a drill costs several times as much, runs every third crash point in
`make test-large` (`--all-stores`) only: what it adds is the store's, which the contract suites take.

One piece, longer than most: the proxies, the crash worlds and their checks only make sense together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import pytest

from orchestration.bootstrap import build_services
from orchestration.clock import FakeClock
from orchestration.config import Settings, TableNames
from orchestration.context import Services
from orchestration.drs.clients import DrsClients, SimulatedDrsClients
from orchestration.drs.gateway import DrsGateway
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.advance import TAG_EXECUTION, TAG_WAVE, advance
from orchestration.engine.decide import LEASE_SECONDS
from orchestration.models import (
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    ProtectionGroup,
    RecoveryPlan,
    WaveStatus,
)
from orchestration.ports import RecordingNotifier
from orchestration.services.execution_builder import build_execution
from orchestration.store.base import Store
from tests.drills import dag_plan

R = TypeVar("R")
Position = Literal["before", "after"]
POSITIONS: tuple[Position, ...] = ("before", "after")
MAX_ADVANCES = 300  # a drill of this plan needs ~20; a crash adds one retry and a lease wait
DYNAMODB_STRIDE = 3  # DynamoDB on moto is slower: every third crash point, in `make test-large`
WAVES = (1, 2, 3)


class Crash(BaseException):
    """The process died here (raised by the proxies; `advance` must let it out). A BaseException, as
    a process's death is nothing an `except Exception` handles (the archiver's, which never raises)."""


# -- the injection ---------------------------------------------------------------------------------


@dataclass
class Injector:
    """Counts external calls across a run; raises Crash once, at call `crash_at`."""

    crash_at: int | None = None
    position: Position = "before"
    calls: int = 0
    labels: list[str] = field(default_factory=list)
    crashed_at: str | None = None  # the call that crashed, once it has

    def call(self, label: str, fn: Callable[[], R]) -> R:
        self.calls += 1
        self.labels.append(label)
        armed = self.crashed_at is None and self.calls == self.crash_at
        if armed and self.position == "before":
            self.crashed_at = label
            raise Crash(f"crash before call {self.calls} ({label})")
        result = fn()
        if armed:
            self.crashed_at = label
            raise Crash(f"crash after call {self.calls} ({label})")
        return result


class _CountingProxy:
    """Every public method of `target` goes through the injector; everything else passes through."""

    def __init__(self, target: object, injector: Injector, prefix: str) -> None:
        self._target = target
        self._injector = injector
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name.startswith("_") or not callable(attribute) or name == "close":
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            return self._injector.call(f"{self._prefix}.{name}", lambda: attribute(*args, **kwargs))

        return counted


class CrashingDrs:
    """DrsClients whose gateways count (and crash) every DRS call."""

    def __init__(self, inner: DrsClients, injector: Injector) -> None:
        self._inner = inner
        self._injector = injector

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        proxy = _CountingProxy(self._inner.gateway(region, account_id), self._injector, "drs")
        return cast(DrsGateway, proxy)

    def close(self) -> None:
        self._inner.close()


# -- one isolated world per run ----------------------------------------------------------------------


@dataclass
class World:
    services: Services
    clock: FakeClock
    simulator: DrsSimulator
    notifier: RecordingNotifier
    store: Store  # the real store, for checks after the run
    execution_id: str
    injector: Injector

    def close(self) -> None:
        self.store.close()
        self.simulator.close()


StoreFactory = Callable[[str, FakeClock], Store]


def sqlite_stores(root: Path) -> StoreFactory:
    from orchestration.store.sqlite import SqliteStore

    def make(name: str, clock: FakeClock) -> Store:
        return SqliteStore(root / f"{name}.db", clock=clock)

    return make


def dynamodb_stores(new_client: Callable[[], Any]) -> StoreFactory:
    from orchestration.store.dynamodb import DynamoDbStore, create_tables

    def make(name: str, clock: FakeClock) -> Store:
        tables = TableNames(
            protection_groups=f"{name}-groups",
            recovery_plans=f"{name}-plans",
            executions=f"{name}-executions",
            target_accounts=f"{name}-accounts",
            tag_sync_config=f"{name}-tag-sync",
            schedules=f"{name}-schedules",
            audit=f"{name}-audit",
        )
        create_tables(new_client(), tables)
        return DynamoDbStore(tables, client=new_client(), clock=clock)

    return make


@dataclass(frozen=True)
class Setup:
    """The DAG plan and its groups as the baseline created them through the services. Each crash
    world stores these same records directly: its simulator has the same server ids, and checking
    the groups against DRS again (pages of describe_source_servers per group) was most of a
    world's cost, for nothing the crash points exercise."""

    groups: tuple[ProtectionGroup, ...]
    plan: RecoveryPlan


def new_world(
    make_store: StoreFactory, name: str, root: Path, injector: Injector, setup: Setup | None = None
) -> World:
    """A fresh store, simulator and clock, a DAG plan and a PENDING drill; the proxies installed."""
    clock = FakeClock()
    simulator = DrsSimulator(db_path=None, clock=clock, launch_seconds=20.0)
    store = make_store(name, clock)
    notifier = RecordingNotifier()
    services = build_services(
        Settings.from_env({}, db_path=root / f"{name}-unused.db"),
        clock=clock,
        store=store,
        drs=SimulatedDrsClients(simulator),
        notifier=notifier,
    )
    execution_id = start_dag_drill(services, simulator, setup)
    services.store = cast(Store, _CountingProxy(store, injector, "store"))
    services.drs = CrashingDrs(services.drs, injector)
    return World(services, clock, simulator, notifier, store, execution_id, injector)


def start_dag_drill(services: Services, simulator: DrsSimulator, setup: Setup | None = None) -> str:
    """The DAG drill of tests/drills.py, requested and ready to run."""
    if setup is None:
        plan = dag_plan(services, simulator)
    else:
        assert any(simulator.server_id("db-primary-01") in (g.source_server_ids or ()) for g in setup.groups)
        for group in setup.groups:
            services.store.create_group(group, "alice")
        plan = services.store.create_plan(setup.plan, "alice")
    execution = build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING)
    return str(services.store.create_execution(execution, "alice").execution_id)


# -- driving and judging -----------------------------------------------------------------------------


@dataclass
class Run:
    advances: int = 0
    crashes: int = 0
    swallowed: bool = False  # the injector crashed but advance returned normally


def drive(world: World, restart_after: int = LEASE_SECONDS + 1) -> Run:
    """Advance until done; after a crash, wait `restart_after` seconds (default: past the lease)."""
    run = Run()
    for _ in range(MAX_ADVANCES):
        run.advances += 1
        crashed_before = world.injector.crashed_at
        try:
            result = advance(world.services, world.execution_id)
        except Crash:
            run.crashes += 1
            world.clock.advance(restart_after)
            continue
        if crashed_before is None and world.injector.crashed_at is not None:
            run.swallowed = True
        if result.done:
            return run
        assert not result.paused, "the drill paused although nothing asked it to"
        world.clock.advance(max(1, result.wait_seconds))
    raise AssertionError(f"not done after {MAX_ADVANCES} advances")


def final_state(execution: Execution) -> dict[str, Any]:
    return {
        "status": execution.status,
        "waves": {
            w.wave_number: (
                w.status,
                sorted((s.source_server_id, str(s.launch_status)) for s in w.servers),
            )
            for w in execution.waves
        },
        "cleanup": execution.cleanup.status if execution.cleanup else None,
    }


def launch_jobs_per_wave(simulator: DrsSimulator, execution_id: str) -> Counter[str]:
    """DRS LAUNCH jobs of this execution, counted by their drbot:wave tag."""
    paginator = simulator.client("us-east-1").get_paginator("describe_jobs")
    counts: Counter[str] = Counter()
    for page in paginator.paginate(filters={}):
        for job in page["items"]:
            tags = job.get("tags", {})
            if job.get("type") == "LAUNCH" and tags.get(TAG_EXECUTION) == execution_id:
                counts[tags.get(TAG_WAVE, "?")] += 1
    return counts


def problems_of(world: World, run: Run, baseline: dict[str, Any]) -> list[str]:
    """Everything wrong with a finished run (empty: it ended exactly as it should)."""
    found: list[str] = []
    if run.swallowed:
        found.append(f"advance swallowed the crash at {world.injector.crashed_at}")
    execution = world.store.get_execution(world.execution_id)
    state = final_state(execution)
    if state != baseline:
        found.append(f"final state {state} != baseline {baseline}")
    jobs = launch_jobs_per_wave(world.simulator, world.execution_id)
    if jobs != Counter({str(w): 1 for w in WAVES}):
        found.append(f"LAUNCH jobs per wave {dict(jobs)}, want one each")
    delivered = world.notifier.events(world.execution_id)
    if delivered != execution.events:
        found.append(
            f"delivered seqs {[e.seq for e in delivered]} != logged seqs {[e.seq for e in execution.events]}"
        )
    seqs = [e.seq for e in execution.events]
    if seqs != list(range(1, len(seqs) + 1)):
        found.append(f"event seqs have gaps: {seqs}")
    if execution.notified_through != len(seqs):
        found.append(f"notified_through {execution.notified_through} of {len(seqs)} events")
    for wave in WAVES:
        for kind in (EventType.WAVE_LAUNCHED, EventType.WAVE_COMPLETED):
            count = sum(1 for e in delivered if e.type == kind and e.wave_number == wave)
            if count != 1:
                found.append(f"wave {wave}: {count} {kind} events, want 1")
    types = Counter(e.type for e in delivered)
    for kind in (EventType.STARTED, EventType.COMPLETED, EventType.CLEANUP_COMPLETED):
        if types[kind] != 1:
            found.append(f"{types[kind]} {kind} events, want 1")
    unexpected = {t for t in types if t in (EventType.FAILED, EventType.WAVE_FAILED, EventType.DRS_RETRY)}
    if unexpected:
        found.append(f"unexpected events {sorted(unexpected)}")
    return found


@dataclass
class Baseline:
    calls: int
    labels: list[str]
    state: dict[str, Any]
    setup: Setup


def baseline_of(make_store: StoreFactory, root: Path) -> Baseline:
    world = new_world(make_store, "baseline", root, Injector())
    try:
        plan_id = world.store.get_execution(world.execution_id).plan_id
        setup = Setup(tuple(world.store.list_groups()), world.store.get_plan(plan_id))
        run = drive(world)
        assert run.crashes == 0
        assert problems_of(world, run, final_state(world.store.get_execution(world.execution_id))) == []
        state = final_state(world.store.get_execution(world.execution_id))
        assert state["status"] == ExecutionStatus.COMPLETED
        assert all(status == WaveStatus.COMPLETED for status, _ in state["waves"].values())
        return Baseline(world.injector.calls, list(world.injector.labels), state, setup)
    finally:
        world.close()


def crash_every(
    make_store: StoreFactory,
    root: Path,
    position: Position,
    points: range,
    baseline: Baseline,
    *,
    restart_after: int = LEASE_SECONDS + 1,
) -> tuple[int, list[str]]:
    """Run the drill once per crash point; returns how many points ran and every failure."""
    failures: list[str] = []
    ran = 0
    for k in points:
        injector = Injector(crash_at=k, position=position)
        world = new_world(make_store, f"{position}-{k}", root, injector, baseline.setup)
        try:
            try:
                run = drive(world, restart_after)
            except Exception as exc:  # report every crash point, not just the first that breaks
                failures.append(f"k={k} {position} {baseline.labels[k - 1]}: {type(exc).__name__}: {exc}")
                continue
            ran += 1
            if injector.crashed_at is None:
                failures.append(f"k={k} {position} {baseline.labels[k - 1]}: the crash never fired")
            if run.crashes != (1 if injector.crashed_at else 0) and not run.swallowed:
                failures.append(f"k={k} {position}: {run.crashes} crashes seen, want 1")
            failures.extend(
                f"k={k} {position} {injector.crashed_at}: {p}"
                for p in problems_of(world, run, baseline.state)
            )
        finally:
            world.close()
    return ran, failures


# -- the tests ---------------------------------------------------------------------------------------


def test_baseline_counts_every_external_call(tmp_path: Path) -> None:
    baseline = baseline_of(sqlite_stores(tmp_path), tmp_path)
    kinds = set(baseline.labels)
    # the run touches DRS for each kind of work and writes the store: all of it is a crash point
    for expected in (
        "store.get_execution",
        "store.update_execution",
        "store.get_group",
        "drs.recovery_instances",
        "drs.source_servers",
        "drs.jobs_since",
        "drs.start_recovery",
        "drs.recovery_instances_of",
        "drs.terminate_recovery_instances",
    ):
        assert expected in kinds, f"{expected} never called: {sorted(kinds)}"
    assert baseline.labels.count("drs.start_recovery") == len(WAVES)


@pytest.mark.slow
@pytest.mark.parametrize("position", POSITIONS)
def test_crash_at_every_call_sqlite(tmp_path: Path, position: Position, all_stores: bool) -> None:
    """Before every call; after every call under `--all-stores`, else after every other call: the
    world a crash after call N leaves (store and DRS) is the one a crash before call N+1 leaves, so
    `make test` covers each such world at least once and `make test-large` twice."""
    make_store = sqlite_stores(tmp_path)
    baseline = baseline_of(make_store, tmp_path)
    stride = 1 if position == "before" or all_stores else 2
    points = range(1, baseline.calls + 1, stride)
    ran, failures = crash_every(make_store, tmp_path, position, points, baseline)
    assert not failures, f"{len(failures)} failure(s) over {len(points)} crash points:\n" + "\n".join(
        failures
    )
    assert ran == len(points)


@pytest.mark.slow
@pytest.mark.parametrize("position", POSITIONS)
def test_crash_then_restart_at_once_sqlite(tmp_path: Path, position: Position, all_stores: bool) -> None:
    """A driver that retries at once (a Lambda retry) meets unexpired leases: it must wait them out,
    never launch a second job, and still finish the same way. Every other crash point under
    `--all-stores`, every fourth in `make test` (before and after take different ones)."""
    make_store = sqlite_stores(tmp_path)
    baseline = baseline_of(make_store, tmp_path)
    points = range(1 if position == "before" else 2, baseline.calls + 1, 2 if all_stores else 4)
    ran, failures = crash_every(make_store, tmp_path, position, points, baseline, restart_after=0)
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)
    assert ran == len(points)


@pytest.mark.slow
@pytest.mark.all_stores_only  # the crash points are the engine's; SQLite takes all of them above
@pytest.mark.parametrize("position", POSITIONS)
def test_crash_at_every_nth_call_dynamodb(
    tmp_path: Path, position: Position, moto_dynamodb: Callable[[], Any]
) -> None:
    make_store = dynamodb_stores(moto_dynamodb)
    baseline = baseline_of(make_store, tmp_path)
    points = range(1 if position == "before" else 2, baseline.calls + 1, DYNAMODB_STRIDE)
    ran, failures = crash_every(make_store, tmp_path, position, points, baseline)
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)
    assert ran == len(points)
