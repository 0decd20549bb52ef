"""Two writers on one execution at once: `advance` racing `advance`, and a pause
racing `advance`.

Each racer has its OWN store instance on the same state (two SqliteStore on one file; two
DynamoDbStore with their own clients on the same moto tables), as two Lambda invocations or two
processes would, and both talk to the same DRS simulator. A `threading.Barrier` releases the racers
together on every tick; time only moves on the fake clock, between ticks.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import pytest

from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.advance import TAG_EXECUTION, TAG_WAVE, advance, deliver
from orchestration.errors import StaleVersion
from orchestration.models import (
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    RecoveryPlan,
    WaveStatus,
)
from orchestration.ports import RecordingNotifier
from orchestration.services.execution_builder import build_execution
from orchestration.store.base import Store
from tests.drills import dag_plan

pytestmark = pytest.mark.every_store  # races between two store instances: each store has its own

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
MAX_TICKS = 200
WAVES = (1, 2, 3)
# drills per test: each race is decided by the thread scheduler, so give it several chances; on
# DynamoDB (moto, slower per call) one drill in `make test` and three under `--all-stores`
REPEATS = 3


@pytest.fixture
def repeats(services: Services, all_stores: bool) -> int:
    from orchestration.store.sqlite import SqliteStore

    return REPEATS if all_stores or isinstance(services.store, SqliteStore) else 1


@pytest.fixture
def twins(
    services: Services, request: pytest.FixtureRequest, clock: FakeClock, simulator: DrsSimulator
) -> Iterator[tuple[Services, Services]]:
    """Two Services on the same state with separate store instances, one notifier, one simulator."""
    from orchestration.store.dynamodb import DynamoDbStore
    from orchestration.store.sqlite import SqliteStore

    services.notifier = RecordingNotifier()
    store = services.store
    other: Store
    if isinstance(store, SqliteStore):
        other = SqliteStore(store.path, clock=clock)
    else:
        assert isinstance(store, DynamoDbStore)
        new_client: Callable[[], Any] = request.getfixturevalue("moto_dynamodb")
        other = DynamoDbStore(store.tables, client=new_client(), clock=clock)
    twin = dataclasses.replace(services, store=other, drs=SimulatedDrsClients(simulator))
    yield services, twin
    other.close()


def race(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """Run both calls on their own threads, released at the same instant by a barrier."""
    barrier = threading.Barrier(2)

    def released(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=2) as pool:
        one = pool.submit(released, first)
        two = pool.submit(released, second)
        return one.result(timeout=120), two.result(timeout=120)


def start_drill(services: Services, plan: RecoveryPlan) -> str:
    execution = build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING)
    return str(services.store.create_execution(execution, "alice").execution_id)


def drs_jobs(simulator: DrsSimulator, execution_id: str | None = None) -> list[dict[str, Any]]:
    """Every DRS job (of one execution's launches, when given)."""
    paginator = simulator.client("us-east-1").get_paginator("describe_jobs")
    jobs: list[dict[str, Any]] = [
        dict(job) for page in paginator.paginate(filters={}) for job in page["items"]
    ]
    if execution_id is None:
        return jobs
    return [j for j in jobs if j.get("tags", {}).get(TAG_EXECUTION) == execution_id]


def launches_per_wave(simulator: DrsSimulator, execution_id: str) -> Counter[str]:
    jobs = drs_jobs(simulator, execution_id)
    return Counter(j["tags"].get(TAG_WAVE, "?") for j in jobs if j.get("type") == "LAUNCH")


def assert_completed_once(services: Services, simulator: DrsSimulator, execution_id: str) -> Execution:
    """The drill ended as an uncontended one does, with one job per wave and every event once."""
    execution = services.store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.COMPLETED
    assert [w.status for w in execution.waves] == [WaveStatus.COMPLETED] * len(WAVES)
    assert [len(w.servers) for w in execution.waves] == [2, 2, 3]
    assert all(s.launch_status == LaunchStatus.LAUNCHED for w in execution.waves for s in w.servers)
    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED
    assert launches_per_wave(simulator, execution_id) == Counter({str(w): 1 for w in WAVES})
    recorded = {w.job_id for w in execution.waves}
    launched = {j["jobID"] for j in drs_jobs(simulator, execution_id) if j.get("type") == "LAUNCH"}
    assert recorded == launched
    notifier = services.notifier
    assert isinstance(notifier, RecordingNotifier)
    delivered = notifier.events(execution_id)
    assert delivered == execution.events
    assert [e.seq for e in execution.events] == list(range(1, len(execution.events) + 1))
    assert execution.notified_through == len(execution.events)
    for wave in WAVES:
        for kind in (EventType.WAVE_LAUNCHED, EventType.WAVE_COMPLETED):
            assert sum(1 for e in delivered if e.type == kind and e.wave_number == wave) == 1, (kind, wave)
    types = Counter(e.type for e in delivered)
    assert (types[EventType.STARTED], types[EventType.COMPLETED], types[EventType.CLEANUP_COMPLETED]) == (
        1,
        1,
        1,
    )
    return execution


# -- advance racing advance --------------------------------------------------------------------------


def test_two_advances_at_once_launch_each_wave_once(
    twins: tuple[Services, Services], clock: FakeClock, simulator: DrsSimulator, repeats: int
) -> None:
    first, second = twins
    plan = dag_plan(first, simulator)
    for _ in range(repeats):
        execution_id = start_drill(first, plan)
        for _tick in range(MAX_TICKS):
            results = race(partial(advance, first, execution_id), partial(advance, second, execution_id))
            if all(r.done for r in results):
                break
            clock.advance(max(1, min(r.wait_seconds for r in results if not r.done)))
        else:
            raise AssertionError("the drill did not finish")
        execution = assert_completed_once(first, simulator, execution_id)
        # the cleanup handed each instance to one TERMINATE job (two racing looks never both did)
        ours = {i for w in execution.waves for i in w.terminate_job_ids}
        assert all(w.terminate_job_ids for w in execution.waves)  # each wave names its termination
        terminations = [j for j in drs_jobs(simulator) if j.get("jobID") in ours]
        assert len(terminations) == len(ours) >= 1
        handed = Counter(s["recoveryInstanceID"] for j in terminations for s in j["participatingServers"])
        assert sorted(handed) == sorted(execution.launched_instance_ids)
        assert set(handed.values()) == {1}


# -- a pause racing advance ---------------------------------------------------------------------------


def request_pause(services: Services, execution_id: str, actor: str) -> bool:
    """What a pause click does (as orchestration/services/execution_control.py, without its RBAC):
    RUNNING → PAUSED with its event, saved with a version check and retried on a race, then its event
    delivered. False if the execution was not RUNNING (not started yet, or already ended) when the
    pause got there."""
    while True:
        execution = services.store.get_execution(execution_id)
        if execution.status != ExecutionStatus.RUNNING:
            return False
        now = int(services.clock.now())
        paused = execution.with_status(ExecutionStatus.PAUSED, now, reason=f"Paused by {actor}")
        paused = paused.with_event(EventType.PAUSED, now, f"Paused by {actor}", actor=actor)
        try:
            saved = services.store.update_execution(paused, actor)
        except StaleVersion:
            continue
        deliver(services, saved)
        return True


def resume(services: Services, execution_id: str, actor: str) -> None:
    while True:
        execution = services.store.get_execution(execution_id)
        if execution.status != ExecutionStatus.PAUSED:
            return
        now = int(services.clock.now())
        resumed = execution.with_status(ExecutionStatus.RUNNING, now).with_event(
            EventType.RESUMED, now, f"Resumed by {actor}", actor=actor
        )
        try:
            services.store.update_execution(resumed, actor)
            return
        except StaleVersion:
            continue


def test_pause_racing_advance_loses_neither_change(
    twins: tuple[Services, Services], clock: FakeClock, simulator: DrsSimulator, repeats: int
) -> None:
    """On every tick a pause click races the tick. Afterwards the pause is there (PAUSED with its
    event) and so is everything the tick did: every DRS job it started is recorded on its wave.
    Then a (non-racing) resume, and on to the next tick; the drill still ends exactly once."""
    engine, clicker = twins
    plan = dag_plan(engine, simulator)
    for _ in range(repeats):
        execution_id = start_drill(engine, plan)
        pauses = 0
        for tick in range(MAX_TICKS):
            if tick % 2:  # a tick without a race: if the pause won every race, nothing would progress
                result, paused = advance(engine, execution_id), False
            else:
                result, paused = race(
                    partial(advance, engine, execution_id),
                    partial(request_pause, clicker, execution_id, "bob"),
                )
            execution = engine.store.get_execution(execution_id)
            # the tick's change is kept: whatever it launched is recorded
            launched = {j["jobID"] for j in drs_jobs(simulator, execution_id) if j.get("type") == "LAUNCH"}
            assert launched == {w.job_id for w in execution.waves if w.job_id}
            # the pause's change is kept: PAUSED (or ended after it, if it paused nothing left to do)
            if paused:
                pauses += 1
                assert execution.status == ExecutionStatus.PAUSED or execution.is_terminal, execution.status
            assert sum(1 for e in execution.events if e.type == EventType.PAUSED) == pauses
            resume(engine, execution_id, "bob")
            if not engine.store.get_execution(execution_id).needs_driving:
                break
            clock.advance(max(1, result.wait_seconds))
        else:
            raise AssertionError("the drill did not finish")
        execution = assert_completed_once(engine, simulator, execution_id)
        assert pauses > 0
        assert sum(1 for e in execution.events if e.type == EventType.RESUMED) == pauses
