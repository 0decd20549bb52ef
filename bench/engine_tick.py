"""What one `advance` tick costs: wall time, DRS API calls and store writes, by plan size.

Each run builds a synthetic estate of N source servers in one region of the DRS simulator, one
protection group per wave (explicit server ids, at most 100: one DRS job per wave), a recovery plan
whose waves run one after another (each wave depends on the previous one, the default), and drives
one drill (immediate cleanup) from PENDING to done, tick by tick, exactly as the local runner or
Step Functions would: `advance`, then move the fake clock by the `waitSeconds` it returned.

Measured per run:
- ms/tick: wall time of each `advance` call (mean and p95), the store and simulator included;
- DRS calls: real API requests (every page of a paginated call), counted by a botocore
  `before-call.drs` hook on each client the engine gets; per tick, per wave, and the busiest op;
- store writes/tick: `update_execution` and any other write the engine makes;
- ticks, the simulated duration of the drill, and the size of the execution document at the end
  (one item in the store: DynamoDB refuses items over 400 KB).

The store is SQLite in a temporary directory, DRS the simulator (in memory), time a FakeClock.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from orchestration.bootstrap import Services, build_services
from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.drs.gateway import DrsGateway
from orchestration.drs.inventory import Inventory, parse_inventory
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.advance import advance
from orchestration.engine.decide import LEASE_SECONDS
from orchestration.errors import DrbotError
from orchestration.models import (
    CleanupStatus,
    ExecutionStatus,
    ExecutionType,
    ProtectionGroup,
    RecoveryPlan,
    WaveStatus,
)
from orchestration.services.execution_builder import build_execution
from orchestration.store.base import Store
from orchestration.store.sqlite import SqliteStore

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
# 4000 servers takes minutes more (the simulator's describe_source_servers is the cost): opt-in
LARGE_MATRIX: tuple[tuple[int, int], ...] = ((40, 4000),)
QUICK_MATRIX: tuple[tuple[int, int], ...] = ((1, 10), (5, 100))


# -- counting ----------------------------------------------------------------------------------------


@dataclass
class Counts:
    drs: Counter[str] = field(default_factory=Counter)  # API operation → requests
    drs_ms: float = 0.0  # wall time inside DRS calls: botocore (de)serialization and the simulator
    clients: int = 0  # boto3 drs clients made (SimulatedDrsClients makes one per gateway)
    client_ms: float = 0.0  # wall time making them
    writes: Counter[str] = field(default_factory=Counter)  # store method → calls
    reads: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.drs_ms = self.client_ms = 0.0
        self.clients = 0
        self.drs.clear()
        self.writes.clear()
        self.reads.clear()


class CountingDrsClients:
    """The simulator's DrsClients (a fresh client per gateway, as SimulatedDrsClients does), each client
    counting its API requests through botocore's `before-call.drs` event."""

    def __init__(self, simulator: DrsSimulator, counts: Counts) -> None:
        self.simulator = simulator
        self.counts = counts

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        made = time.perf_counter()
        client = self.simulator.client(region, account_id)
        self.counts.clients += 1
        self.counts.client_ms += (time.perf_counter() - made) * 1000
        started: list[float] = []

        def before(event_name: str, **_: Any) -> None:
            self.counts.drs[event_name.rsplit(".", 1)[-1]] += 1
            started.append(time.perf_counter())

        def after(**_: Any) -> None:
            if started:
                self.counts.drs_ms += (time.perf_counter() - started.pop()) * 1000

        client.meta.events.register("before-call.drs", before)
        client.meta.events.register("after-call.drs", after)
        client.meta.events.register("after-call-error.drs", after)
        return DrsGateway(client, region)

    def close(self) -> None:
        self.simulator.close()


_WRITES = ("create_", "update_", "delete_", "put_", "append_")


class CountingStore:
    """Delegates to a Store, counting its public calls as reads or writes."""

    def __init__(self, inner: Store, counts: Counts) -> None:
        self._inner = inner
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name.startswith("_") or not callable(attribute) or name == "close":
            return attribute
        tally = self._counts.writes if name.startswith(_WRITES) else self._counts.reads

        def counted(*args: Any, **kwargs: Any) -> Any:
            tally[name] += 1
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
    ms_mean: float  # wall time of one advance call
    ms_p95: float
    drs_ms_per_tick: float  # of which inside DRS calls (botocore and the simulator)
    client_ms_per_tick: float  # of which making boto3 drs clients
    drs_calls: dict[str, int]  # API requests by operation, pages included
    writes: int  # store writes (update_execution, ...)
    reads: int  # store reads (get_execution, get_group, ...)
    sim_seconds: int  # how long the drill took on the fake clock
    doc_kb: float  # the execution document at the end
    errors: str  # exceptions advance raised (the tick was retried past the lease), by type

    @property
    def drs_total(self) -> int:
        return sum(self.drs_calls.values())

    HEADER = (
        "waves",
        "servers",
        "ticks",
        "ms/tick",
        "p95 ms",
        "DRS ms/tick",
        "client ms/tick",
        "other ms/tick",
        "DRS calls",
        "DRS/tick",
        "DRS/wave",
        "writes/tick",
        "reads/tick",
        "drill sim s",
        "doc KB",
        "advance raised",
    )

    def cells(self) -> tuple[str, ...]:
        return (
            str(self.waves),
            str(self.servers),
            str(self.ticks),
            f"{self.ms_mean:.1f}",
            f"{self.ms_p95:.1f}",
            f"{self.drs_ms_per_tick:.1f}",
            f"{self.client_ms_per_tick:.1f}",
            f"{self.ms_mean - self.drs_ms_per_tick - self.client_ms_per_tick:.1f}",
            str(self.drs_total),
            f"{self.drs_total / self.ticks:.2f}",
            f"{self.drs_total / self.waves:.1f}",
            f"{self.writes / self.ticks:.2f}",
            f"{self.reads / self.ticks:.2f}",
            str(self.sim_seconds),
            f"{self.doc_kb:.0f}",
            self.errors,
        )


def p95(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def run_drill(waves: int, servers: int, workdir: Path) -> Row:
    """Build the estate and plan, then drive one drill to the end, measuring every tick."""
    if servers > waves * SERVERS_PER_JOB or waves > servers:
        raise ValueError(f"{waves} waves cannot hold {servers} servers (1..{SERVERS_PER_JOB} per wave)")
    clock = FakeClock()
    counts = Counts()
    simulator = DrsSimulator(
        db_path=None, clock=clock, inventory=synthetic_inventory(servers), launch_seconds=20.0
    )
    store = SqliteStore(workdir / f"bench-{waves}x{servers}.db", clock=clock)
    services = build_services(
        Settings.from_env({}, db_path=workdir / "unused.db"),
        clock=clock,
        store=store,
        drs=CountingDrsClients(simulator, counts),
    )
    try:
        plan = create_plan(services, waves, servers)
        execution = build_execution(services, plan, ExecutionType.DRILL, "bench", ExecutionStatus.PENDING)
        execution_id = store.create_execution(execution, "bench").execution_id
        services.store = cast(Store, CountingStore(store, counts))
        counts.reset()
        started = clock.now()
        timings: list[float] = []
        errors: Counter[str] = Counter()
        for _ in range(MAX_TICKS):
            before = time.perf_counter()
            try:
                result = advance(services, execution_id)
            except DrbotError as error:
                # a driver retries a failed tick (Step Functions' Retry, the local runner's next run);
                # by then every lease the failed tick held has run out
                timings.append((time.perf_counter() - before) * 1000)
                errors[type(error).__name__] += 1
                clock.advance(LEASE_SECONDS + 1)
                continue
            timings.append((time.perf_counter() - before) * 1000)
            if result.done or result.paused:
                break
            clock.advance(max(1, result.wait_seconds))
        else:
            raise RuntimeError(f"{waves}x{servers}: not done after {MAX_TICKS} ticks")
        final = store.get_execution(execution_id)
        check_finished(
            final.status, [w.status for w in final.waves], final.cleanup.status if final.cleanup else None
        )
        return Row(
            waves=waves,
            servers=servers,
            ticks=len(timings),
            ms_mean=statistics.fmean(timings),
            ms_p95=p95(timings),
            drs_ms_per_tick=counts.drs_ms / len(timings),
            client_ms_per_tick=counts.client_ms / len(timings),
            drs_calls=dict(counts.drs),
            writes=sum(counts.writes.values()),
            reads=sum(counts.reads.values()),
            sim_seconds=int(clock.now() - started),
            doc_kb=len(json.dumps(final.to_wire())) / 1024,
            errors=", ".join(f"{name} x{count}" for name, count in sorted(errors.items())) or "-",
        )
    finally:
        services.close()


def check_finished(status: ExecutionStatus, waves: list[WaveStatus], cleanup: CleanupStatus | None) -> None:
    """A benchmark of a drill that did not complete would measure the wrong thing."""
    if status != ExecutionStatus.COMPLETED or any(w != WaveStatus.COMPLETED for w in waves):
        raise RuntimeError(f"the drill ended {status} with waves {waves}")
    if cleanup != CleanupStatus.COMPLETED:
        raise RuntimeError(f"the drill's cleanup ended {cleanup}")


# -- the whole benchmark -----------------------------------------------------------------------------


def run(matrix: Sequence[tuple[int, int]], progress: Callable[[Row], None] | None = None) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="drbot-bench-") as tmp:
        for waves, servers in matrix:
            row = run_drill(waves, servers, Path(tmp))
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
    """DRS API requests of each run by operation."""
    operations = sorted({op for row in rows for op in row.drs_calls})
    header = ("waves", "servers", *operations)
    lines = [
        (str(r.waves), str(r.servers), *(str(r.drs_calls.get(op, 0)) for op in operations)) for r in rows
    ]
    return render([header, *lines])
