"""What one `advance` tick costs: engine CPU, DRS API calls and store writes, by plan size.

One piece, longer than most modules: building the estate, running the ticks and printing what they
cost are one measured scenario.

Each run builds a synthetic estate of N source servers in one region of the DRS simulator, one
protection group per wave (explicit server ids, at most 100: one DRS job per wave), a recovery plan
whose waves run one after another (each wave depends on the previous one, the default), and drives
one drill (immediate cleanup) from PENDING to done, tick by tick, exactly as the local runner or
Step Functions would: `advance`, then move the fake clock by the `waitSeconds` it returned.

Measured per run (times are CPU time, `time.process_time`):
- engine ms/tick: CPU time of each `advance` call minus the CPU time spent inside DRS calls (mean
  and p95): the engine and the store, without botocore and the simulator;
- DRS ms/tick: the CPU time inside DRS calls, from botocore's `provide-client-params.drs` event (the
  first of a call) to `after-call.drs` / `after-call-error.drs`: botocore building, signing and
  parsing the request, and the simulator answering it (on AWS, the network instead);
- DRS calls: real API requests (every page of a paginated call, every retry), counted by a botocore
  `before-call.drs` hook on each client; per wave, and split by who asked: the cleanup's looks
  (`orchestration.engine.cleanup.look`) or the rest (observing and launching the waves);
- store: writes (atomic commits), bytes written and the largest item written, from `store.stats`
  (reset once the estate and the plan are set up), and reads (`get_*` calls);
- the cleanup: its status, the looks it made, and the recovery instances the simulator itself still
  holds at the end (`running_instances()`, its own tables: not what an API call shows);
- ticks, the simulated duration of the drill, and the size of the execution document at the end.

The store is SQLite in a temporary directory, DRS the simulator (in memory), time a FakeClock.
"""

from __future__ import annotations

import cProfile
import gc
import inspect
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from orchestration.bootstrap import build_services
from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.context import Services
from orchestration.drs.clients import SIMULATED_ATTEMPTS
from orchestration.drs.gateway import DrsGateway
from orchestration.drs.inventory import Inventory, parse_inventory
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.advance import advance
from orchestration.engine.cleanup import look
from orchestration.engine.decide import LEASE_SECONDS
from orchestration.errors import DrbotError
from orchestration.models import (
    ExecutionStatus,
    ExecutionType,
    ProtectionGroup,
    RecoveryPlan,
    WaveStatus,
)
from orchestration.services.execution_builder import build_execution
from orchestration.store.base import Store
from orchestration.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from mypy_boto3_drs import DrsClient

REGION = "us-east-1"
SERVERS_PER_JOB = 100  # DRS: one job launches at most 100 servers, and one wave is one job
MAX_TICKS = 5000

# (waves, servers): plans of 1, 5, 20, 40 waves and 10, 100, 1000, 4000 servers
# where a wave fits one DRS job (servers <= 100 x waves) and every wave has a server (waves <= servers)
DEFAULT_MATRIX: tuple[tuple[int, int], ...] = (
    (1, 10),
    (1, 100),
    (5, 10),
    (5, 100),
    (20, 100),
    (20, 1000),
    (40, 100),
    (40, 1000),
)
# 4000 servers (DRS's source server quota per region) takes a few minutes more: opt-in
LARGE_MATRIX: tuple[tuple[int, int], ...] = ((40, 4000),)
QUICK_MATRIX: tuple[tuple[int, int], ...] = ((1, 10), (5, 100))

LAUNCH, CLEANUP = "launch", "cleanup"  # who asked DRS: the waves (observe, launch) or the cleanup


# -- counting ----------------------------------------------------------------------------------------


@dataclass
class Counts:
    drs: Counter[str] = field(default_factory=Counter)  # API operation → requests
    phases: Counter[str] = field(default_factory=Counter)  # LAUNCH / CLEANUP → requests
    drs_seconds: float = 0.0  # CPU time inside DRS calls: botocore and the simulator
    open_calls: list[float] = field(default_factory=list)  # when each DRS call in progress began
    in_advance: bool = False  # an advance call is running
    gc_started: float = 0.0
    gc_engine_seconds: float = 0.0  # CPU time of garbage collections in advance, outside DRS calls
    clients: int = 0  # boto3 drs clients made (one per region and account, then reused)
    profiler: cProfile.Profile | None = None  # profiling the engine's share: paused in DRS calls
    reads: Counter[str] = field(default_factory=Counter)  # store get_*/list_* calls

    def reset(self) -> None:
        self.drs_seconds = self.gc_engine_seconds = 0.0
        self.open_calls.clear()
        self.drs.clear()
        self.phases.clear()
        self.reads.clear()

    def collecting(self, phase: str, _: dict[str, int]) -> None:
        """A `gc.callbacks` hook: the cyclic GC runs when allocations trip its thresholds, in whatever
        code is running; its time in the engine's share of a tick is counted here."""
        if phase == "start":
            self.gc_started = time.process_time()
        elif self.in_advance and not self.open_calls:
            self.gc_engine_seconds += time.process_time() - self.gc_started


def _asked_by_cleanup() -> bool:
    """Whether the DRS call being made comes from a cleanup look (its frame is on the stack)."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code is look.__code__:
            return True
        frame = frame.f_back
    return False


class CountingDrsClients:
    """The simulator's DrsClients as `SimulatedDrsClients` makes them (one boto3 client per region and
    account, reused; gateways retrying `attempts` times), each client counting its API requests and
    timing them through botocore's events, registered once when the client is made."""

    def __init__(self, simulator: DrsSimulator, counts: Counts, attempts: int = SIMULATED_ATTEMPTS) -> None:
        self.simulator = simulator
        self.counts = counts
        self.attempts = attempts
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None], DrsClient] = {}

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        key = (region, account_id)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self.simulator.client(region, account_id)
                self._count(client)
        return DrsGateway(client, region, attempts=self.attempts)

    def _count(self, client: DrsClient) -> None:
        counts = self.counts
        counts.clients += 1

        def begin(**_: Any) -> None:  # the first event of a call: before validating and serializing
            if counts.profiler is not None and not counts.open_calls:
                counts.profiler.disable()
            counts.open_calls.append(time.process_time())

        def request(event_name: str, **_: Any) -> None:  # once per request actually sent
            counts.drs[event_name.rsplit(".", 1)[-1]] += 1
            counts.phases[CLEANUP if _asked_by_cleanup() else LAUNCH] += 1

        def end(**_: Any) -> None:  # the answer parsed (or the call failed)
            if counts.open_calls:
                counts.drs_seconds += time.process_time() - counts.open_calls.pop()
                if counts.profiler is not None and not counts.open_calls:
                    counts.profiler.enable()

        events = client.meta.events
        events.register("provide-client-params.drs", begin)
        events.register("before-call.drs", request)
        events.register("after-call.drs", end)
        events.register("after-call-error.drs", end)

    def close(self) -> None:
        self.simulator.close()


_READS = ("get_", "list_", "find_")


class CountingStore:
    """Delegates to a Store, counting its read calls (writes are in the store's own `stats`)."""

    def __init__(self, inner: Store, counts: Counts) -> None:
        self._inner = inner
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not name.startswith(_READS) or not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._counts.reads[name] += 1
            return attribute(*args, **kwargs)

        return counted


# -- the estate and the plan -------------------------------------------------------------------------


def synthetic_inventory(servers: int) -> Inventory:
    """`servers` healthy source servers in one region, validated like a DRBOT_SIM_INVENTORY file."""
    return parse_inventory(
        {
            "version": 1,
            "servers": [
                {
                    "hostname": f"bench-{n:04d}",
                    "sourceServerId": server_id(n),
                    "region": REGION,
                    "os": "Amazon Linux 2023",
                    "cpuCores": 2,
                    "ramGiB": 8,
                    "disks": [{"deviceName": "/dev/xvda", "sizeGiB": 50}],
                    "recommendedInstanceType": "m5.large",
                    "tags": {"Name": f"bench-{n:04d}", "Bench": "yes"},
                }
                for n in range(servers)
            ],
        },
        "bench inventory",
    )


def server_id(n: int) -> str:
    return f"s-{0xBE7C4000000000000 + n:017x}"


def split(items: Sequence[str], parts: int) -> list[list[str]]:
    """`items` in `parts` contiguous chunks of near-equal size."""
    size, extra = divmod(len(items), parts)
    chunks: list[list[str]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(list(items[start:end]))
        start = end
    return chunks


def create_plan(services: Services, waves: int, servers: int) -> RecoveryPlan:
    """One group per wave (explicit ids) and a sequential plan; written straight to the store (setup
    is not what is measured, and the group services would list the whole estate once per group)."""
    ids = [server_id(n) for n in range(servers)]
    store = services.store
    wave_specs: list[dict[str, Any]] = []
    for number, chunk in enumerate(split(ids, waves), 1):
        group = store.create_group(
            ProtectionGroup(group_name=f"bench-wave-{number}", region=REGION, source_server_ids=chunk),
            "bench",
        )
        wave_specs.append(
            {"waveNumber": number, "waveName": f"Wave {number}", "protectionGroupId": group.group_id}
        )
    plan = RecoveryPlan.model_validate({"planName": f"bench-{waves}x{servers}", "waves": wave_specs})
    return store.create_plan(plan, "bench")


# -- one run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    waves: int
    servers: int
    ticks: int
    engine_ms_mean: float  # CPU time of one advance call, minus the CPU time inside DRS calls
    engine_ms_p95: float
    engine_gc_ms: float  # of the engine's share, garbage collection (mean per tick)
    drs_ms_per_tick: float  # CPU time inside DRS calls (botocore and the simulator) per tick
    drs_calls: dict[str, int]  # API requests by operation, pages and retries included
    drs_phases: dict[str, int]  # API requests by who asked: LAUNCH or CLEANUP
    store_writes: int  # atomic writes the store committed (store.stats)
    items_written: int  # items (rows) those writes put
    bytes_written: int
    largest_item_bytes: int  # the largest single item written
    reads: int  # store reads (get_execution, get_group, ...)
    sim_seconds: int  # how long the drill took on the fake clock
    doc_kb: float  # the execution document at the end, as JSON
    cleanup: str  # the cleanup's status at the end
    looks: int  # looks the cleanup made
    instances_left: int  # recovery instances the simulator still holds at the end: must be 0
    errors: str  # exceptions advance raised (the tick was retried past the lease), by type
    wall_seconds: float  # driving the drill, wall time (the simulator included)
    clients: int  # boto3 drs clients made: one per region and account, reused by every tick

    @property
    def drs_total(self) -> int:
        return sum(self.drs_calls.values())

    def per_wave(self, phase: str | None = None) -> float:
        """DRS requests per wave: all of them, or those of one phase."""
        calls = self.drs_total if phase is None else self.drs_phases.get(phase, 0)
        return calls / self.waves

    HEADER = (
        "waves",
        "servers",
        "ticks",
        "engine ms/tick",
        "p95 ms",
        "of which GC",
        "DRS ms/tick",
        "DRS/wave",
        "launch/wave",
        "cleanup/wave",
        "writes/tick",
        "bytes/tick",
        "largest KB",
        "reads/tick",
        "doc KB",
        "drill sim s",
        "cleanup",
        "looks",
        "left",
        "advance raised",
    )

    def cells(self) -> tuple[str, ...]:
        return (
            str(self.waves),
            str(self.servers),
            str(self.ticks),
            f"{self.engine_ms_mean:.1f}",
            f"{self.engine_ms_p95:.1f}",
            f"{self.engine_gc_ms:.1f}",
            f"{self.drs_ms_per_tick:.1f}",
            f"{self.per_wave():.2f}",
            f"{self.per_wave(LAUNCH):.2f}",
            f"{self.per_wave(CLEANUP):.2f}",
            f"{self.store_writes / self.ticks:.2f}",
            f"{self.bytes_written / self.ticks:.0f}",
            f"{self.largest_item_bytes / 1024:.1f}",
            f"{self.reads / self.ticks:.2f}",
            f"{self.doc_kb:.0f}",
            str(self.sim_seconds),
            self.cleanup,
            str(self.looks),
            str(self.instances_left),
            self.errors,
        )


def p95(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


@dataclass
class Ticks:
    """What driving one drill measured, tick by tick."""

    engine_ms: list[float] = field(default_factory=list)  # CPU time of advance minus DRS calls
    drs_ms: list[float] = field(default_factory=list)  # CPU time inside DRS calls
    errors: Counter[str] = field(default_factory=Counter)  # exceptions advance let out, by type


def drive(
    services: Services, execution_id: str, counts: Counts, profiler: cProfile.Profile | None = None
) -> Ticks:
    """Call `advance` until it says done, moving the fake clock by each `waitSeconds`, as a driver
    does; a tick that raises is retried once every lease it held has run out."""
    clock = services.clock
    assert isinstance(clock, FakeClock)
    ticks = Ticks()
    counts.profiler = profiler
    gc.callbacks.append(counts.collecting)
    try:
        for _ in range(MAX_TICKS):
            counts.open_calls.clear()
            counts.in_advance = True
            cpu, in_drs = time.process_time(), counts.drs_seconds
            if profiler is not None:
                profiler.enable()
            try:
                result = advance(services, execution_id)
            except DrbotError as error:
                # a driver retries a failed tick (Step Functions' Retry, the local runner's next run);
                # by then every lease the failed tick held has run out
                ticks.errors[type(error).__name__] += 1
                result = None
            finally:
                if profiler is not None:
                    profiler.disable()
                drs = counts.drs_seconds - in_drs
                ticks.engine_ms.append((time.process_time() - cpu - drs) * 1000)
                ticks.drs_ms.append(drs * 1000)
                counts.in_advance = False
            if result is None:
                clock.advance(LEASE_SECONDS + 1)
            elif result.done or result.paused:
                return ticks
            else:
                clock.advance(max(1, result.wait_seconds))
    finally:
        gc.callbacks.remove(counts.collecting)
    raise RuntimeError(f"not done after {MAX_TICKS} ticks")


def run_drill(waves: int, servers: int, workdir: Path, profiler: cProfile.Profile | None = None) -> Row:
    """Build the estate and plan, then drive one drill to the end, measuring every tick. With a
    `profiler`, the engine's share of each `advance` call runs under it (paused inside DRS calls);
    it makes the engine several times slower."""
    if servers > waves * SERVERS_PER_JOB or waves > servers:
        raise ValueError(f"{waves} waves cannot hold {servers} servers (1..{SERVERS_PER_JOB} per wave)")
    clock = FakeClock()
    counts = Counts()
    simulator = DrsSimulator(
        db_path=None, clock=clock, inventory=synthetic_inventory(servers), launch_seconds=20.0
    )
    store = SqliteStore(workdir / f"bench-{waves}x{servers}.db", clock=clock)
    drs = CountingDrsClients(simulator, counts)
    services = build_services(
        Settings.from_env({}, db_path=workdir / "unused.db"), clock=clock, store=store, drs=drs
    )
    try:
        drs.gateway(REGION)  # the client is made once per region and account, and reused: not measured
        plan = create_plan(services, waves, servers)
        execution = build_execution(services, plan, ExecutionType.DRILL, "bench", ExecutionStatus.PENDING)
        execution_id = store.create_execution(execution, "bench").execution_id
        services.store = cast(Store, CountingStore(store, counts))
        counts.reset()
        store.stats.reset()
        started, wall = clock.now(), time.perf_counter()
        ticks = drive(services, execution_id, counts, profiler)
        wall = time.perf_counter() - wall
        written = store.stats.snapshot()
        final = store.get_execution(execution_id)
        check_finished(final.status, [w.status for w in final.waves])
        return Row(
            waves=waves,
            servers=servers,
            ticks=len(ticks.engine_ms),
            engine_ms_mean=statistics.fmean(ticks.engine_ms),
            engine_ms_p95=p95(ticks.engine_ms),
            engine_gc_ms=counts.gc_engine_seconds * 1000 / len(ticks.engine_ms),
            drs_ms_per_tick=statistics.fmean(ticks.drs_ms),
            drs_calls=dict(counts.drs),
            drs_phases=dict(counts.phases),
            store_writes=written.writes,
            items_written=written.items_written,
            bytes_written=written.bytes_written,
            largest_item_bytes=written.largest_item_bytes,
            reads=sum(counts.reads.values()),
            sim_seconds=int(clock.now() - started),
            doc_kb=len(json.dumps(final.to_wire())) / 1024,
            cleanup=str(final.cleanup.status) if final.cleanup else "-",
            looks=final.cleanup.rounds if final.cleanup else 0,
            instances_left=len(simulator.running_instances()),
            errors=", ".join(f"{name} x{count}" for name, count in sorted(ticks.errors.items())) or "-",
            wall_seconds=wall,
            clients=counts.clients,
        )
    finally:
        services.close()


def check_finished(status: ExecutionStatus, waves: list[WaveStatus]) -> None:
    """A benchmark of a drill that did not complete would measure the wrong thing. (The cleanup is
    reported in the row, and `python -m bench` fails if it left anything running.)"""
    if status != ExecutionStatus.COMPLETED or any(w != WaveStatus.COMPLETED for w in waves):
        raise RuntimeError(f"the drill ended {status} with waves {waves}")


def cleaned_up(row: Row) -> bool:
    """The cleanup completed and the simulator holds none of the drill's instances."""
    return row.cleanup == "COMPLETED" and row.instances_left == 0


# -- the whole benchmark -----------------------------------------------------------------------------


def run(
    matrix: Sequence[tuple[int, int]],
    progress: Callable[[Row], None] | None = None,
    profiler: cProfile.Profile | None = None,
) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="drbot-bench-") as tmp:
        for index, (waves, servers) in enumerate(matrix):
            workdir = Path(tmp) / str(index)  # a size may be asked twice: a fresh store each time
            workdir.mkdir()
            row = run_drill(waves, servers, workdir, profiler)
            rows.append(row)
            if progress is not None:
                progress(row)
    return rows


def render(lines: Sequence[Sequence[str]]) -> str:
    """A plain, right-aligned text table; the first line is the header."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rendered = [
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)) for line in lines
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def table(rows: Sequence[Row]) -> str:
    return render([Row.HEADER, *(row.cells() for row in rows)])


def operations_table(rows: Sequence[Row]) -> str:
    """DRS API requests of each run by operation, and in all."""
    operations = sorted({op for row in rows for op in row.drs_calls})
    header = ("waves", "servers", *operations, "total")
    lines = [
        (
            str(r.waves),
            str(r.servers),
            *(str(r.drs_calls.get(op, 0)) for op in operations),
            str(r.drs_total),
        )
        for r in rows
    ]
    return render([header, *lines])
