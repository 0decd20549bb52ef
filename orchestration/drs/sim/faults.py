"""Fault switches of the DRS simulator, stored with its state so every process on the file obeys them.

Kinds (rows of `sim_faults`: kind, target, value):
- throttle_next  target: an operation name or "*"   value: calls left to refuse with ThrottlingException
- throttle_rate  target: "*"                        value: {"rate": 0..1, "seed": int}
- fail           target: a source server id         launches started from now on end FAILED
- stall          target: a source server id         value: when replication stalled (epoch seconds)
- slow           target: a source server id or "*"  value: factor on the launch time of new jobs
- lose_responses target: "*"                        value: {"rate": 0..1, "seed": int,
                                                           "operations": [operation names] | null}
- events         target: "*"                        value: EventFaults as JSON (sim/events.py)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestration.drs.sim.events import EventFaults
from orchestration.drs.sim.format import unit_interval
from orchestration.drs.sim.store import FaultRow, SimTx

THROTTLE_NEXT = "throttle_next"
THROTTLE_RATE = "throttle_rate"
FAIL = "fail"
STALL = "stall"
SLOW = "slow"
LOSE_RESPONSES = "lose_responses"
EVENTS = "events"
ANY = "*"
_THROTTLE_CALLS = "throttle_calls"
_LOSE_CALLS = "lose_response_calls"


@dataclass(frozen=True)
class SimFaults:
    """A snapshot of every fault switch."""

    throttle_next: Mapping[str, int] = field(default_factory=dict)
    """Operation name (or "*" for any) -> how many more calls are refused."""
    throttle_rate: float = 0.0
    throttle_seed: int = 0
    failing_servers: frozenset[str] = frozenset()
    stalled_servers: Mapping[str, float] = field(default_factory=dict)
    """Source server id -> when its replication stalled."""
    slow_launches: Mapping[str, float] = field(default_factory=dict)
    """Source server id (or "*" for all) -> launch time factor."""
    lost_response_rate: float = 0.0
    """Share of successful calls whose answer is lost (ReadTimeoutError) after they took effect."""
    lost_response_seed: int = 0
    lost_response_operations: frozenset[str] = frozenset()
    """Operation names whose answers can be lost; empty: any operation."""
    events: EventFaults = field(default_factory=EventFaults)
    """How the events DRS sends to EventBridge are delayed, copied, reordered or lost."""

    @classmethod
    def from_rows(cls, rows: list[FaultRow]) -> SimFaults:
        throttle_next: dict[str, int] = {}
        rate, seed = 0.0, 0
        failing: set[str] = set()
        stalled: dict[str, float] = {}
        slow: dict[str, float] = {}
        lose: dict[str, Any] = {"rate": 0.0, "seed": 0, "operations": None}
        events = EventFaults()
        for row in rows:
            if row.kind == THROTTLE_NEXT:
                throttle_next[row.target] = int(row.value)
            elif row.kind == THROTTLE_RATE:
                settings = json.loads(row.value)
                rate, seed = float(settings["rate"]), int(settings["seed"])
            elif row.kind == FAIL:
                failing.add(row.target)
            elif row.kind == STALL:
                stalled[row.target] = float(row.value)
            elif row.kind == SLOW:
                slow[row.target] = float(row.value)
            elif row.kind == LOSE_RESPONSES:
                lose = json.loads(row.value)
            elif row.kind == EVENTS:
                events = EventFaults.from_json(row.value)
        return cls(
            throttle_next,
            rate,
            seed,
            frozenset(failing),
            stalled,
            slow,
            lost_response_rate=float(lose["rate"]),
            lost_response_seed=int(lose["seed"]),
            lost_response_operations=frozenset(lose["operations"] or ()),
            events=events,
        )

    def slow_factor(self, source_server_id: str) -> float:
        """A per-server factor and an all-servers factor multiply."""
        return self.slow_launches.get(source_server_id, 1.0) * self.slow_launches.get(ANY, 1.0)

    @property
    def any(self) -> bool:
        return bool(
            self.throttle_next
            or self.throttle_rate
            or self.failing_servers
            or self.stalled_servers
            or self.slow_launches
            or self.lost_response_rate
            or self.events.any
        )


def consume_throttle(tx: SimTx, operation: str) -> bool:
    """Whether this call is throttled; uses up one `throttle_next` call or draws from the seeded rate."""
    faults = SimFaults.from_rows(tx.faults())
    for target in (operation, ANY):
        left = faults.throttle_next.get(target, 0)
        if left > 0:
            if left == 1:
                tx.delete_fault(THROTTLE_NEXT, target)
            else:
                tx.put_fault(THROTTLE_NEXT, target, str(left - 1))
            return True
    if faults.throttle_rate <= 0:
        return False
    # the n-th call since the rate was set draws hash(seed, n): the same sequence on every run
    call = tx.next_sequence(_THROTTLE_CALLS)
    return unit_interval("throttle", faults.throttle_seed, call) < faults.throttle_rate


def set_throttle_rate(tx: SimTx, rate: float, seed: int) -> None:
    if rate <= 0:
        tx.delete_fault(THROTTLE_RATE)
    else:
        tx.put_fault(THROTTLE_RATE, ANY, json.dumps({"rate": rate, "seed": seed}))
    tx.set_meta(_THROTTLE_CALLS, "0")


def set_lost_response_rate(tx: SimTx, rate: float, operations: list[str] | None, seed: int) -> None:
    if rate <= 0:
        tx.delete_fault(LOSE_RESPONSES)
    else:
        value = {"rate": rate, "seed": seed, "operations": sorted(operations) if operations else None}
        tx.put_fault(LOSE_RESPONSES, ANY, json.dumps(value))
    tx.set_meta(_LOSE_CALLS, "0")


def consume_lost_response(tx: SimTx, operation: str) -> bool:
    """Whether the answer of this successful call is lost; draws hash(seed, n) for the n-th such call."""
    faults = SimFaults.from_rows(tx.faults())
    if faults.lost_response_rate <= 0:
        return False
    if faults.lost_response_operations and operation not in faults.lost_response_operations:
        return False
    call = tx.next_sequence(_LOSE_CALLS)
    return unit_interval("lose", faults.lost_response_seed, call) < faults.lost_response_rate
