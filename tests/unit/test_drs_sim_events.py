"""The events the DRS simulator sends to EventBridge: the documented shape, at the moment each launch
ends, and under event faults delivered late, twice, out of order or never, the same way every run.

The truth is the simulator's own job state through a real boto3 `drs` client (DescribeJobs), not
the events module's arithmetic."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.clock import FakeClock
from orchestration.drs.sim.events import DUPLICATE_GAP_SECONDS, EventFaults
from orchestration.drs.simulator import DrsSimulator

if TYPE_CHECKING:
    from mypy_boto3_drs import DrsClient

LAUNCH_SECONDS = 20.0
LONG_ENOUGH = 600.0
# what AWS documents for "DRS Source Server Launch Result" (docs/simulator.md "Events")
ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(tmp_path: Path, clock: FakeClock, no_network: None) -> Iterator[DrsSimulator]:
    with DrsSimulator(db_path=tmp_path / "sim.db", clock=clock, launch_seconds=LAUNCH_SECONDS) as simulator:
        yield simulator


def launch(sim: DrsSimulator, count: int, *, drill: bool = True) -> tuple[DrsClient, dict[str, Any]]:
    drs = sim.client()
    items = drs.describe_source_servers(filters={})["items"]
    sources: list[Any] = [{"sourceServerID": s["sourceServerID"]} for s in items[:count]]
    return drs, dict(drs.start_recovery(sourceServers=sources, isDrill=drill)["job"])


def ended_at(drs: DrsClient, job_id: str) -> dict[str, str]:
    """Each server's launch status as DescribeJobs shows it now."""
    (job,) = drs.describe_jobs(filters={"jobIDs": [job_id]})["items"]
    return {s["sourceServerID"]: s["launchStatus"] for s in job["participatingServers"]}


def test_each_launch_result_is_sent_when_that_server_launch_ends(sim: DrsSimulator, clock: FakeClock) -> None:
    start = clock.now()
    drs, job = launch(sim, 3)
    assert sim.events_due(start - 1, start) == []
    seen: dict[str, dict[str, Any]] = {}
    moment = start
    while len(seen) < 3 and moment < start + LONG_ENOUGH:
        nxt = sim.next_event_at(moment)
        assert nxt is not None
        clock.set(nxt)
        # at the moment an event is due, DRS already shows that server's launch as ended
        statuses = ended_at(drs, job["jobID"])
        for event in sim.events_due(moment, nxt):
            server = event["resources"][0].rsplit("/", 1)[1]
            assert statuses[server] == "LAUNCHED"
            seen[server] = event
        moment = nxt
    assert set(seen) == {s["sourceServerID"] for s in job["participatingServers"]}
    for event in seen.values():
        assert set(event) == ENVELOPE
        assert event["source"] == "aws.drs"
        assert event["detail-type"] == "DRS Source Server Launch Result"
        expected = {"state": "DRILL_LAUNCH_SUCCEEDED", "job-id": job["jobID"], "is-drill": "TRUE"}
        assert event["detail"] == expected
        assert event["resources"][0].startswith("arn:aws:drs:us-east-1:")
        assert event["time"].endswith("Z")
    assert sim.next_event_at(moment) is None


def test_a_failed_recovery_launch_says_so(sim: DrsSimulator, clock: FakeClock) -> None:
    start = clock.now()
    drs = sim.client()
    failing = drs.describe_source_servers(filters={})["items"][0]["sourceServerID"]
    sim.fail_servers([failing])
    _, job = launch(sim, 1, drill=False)
    (event,) = sim.events_due(start, start + LONG_ENOUGH)
    assert event["detail"] == {"state": "RECOVERY_LAUNCH_FAILED", "job-id": job["jobID"], "is-drill": "FALSE"}


def test_terminating_a_recovery_instance_sends_ec2_terminated(sim: DrsSimulator, clock: FakeClock) -> None:
    drs, _ = launch(sim, 2)
    clock.advance(LONG_ENOUGH)
    instances = [i["recoveryInstanceID"] for i in drs.describe_recovery_instances(filters={})["items"]]
    before = clock.now()
    drs.terminate_recovery_instances(recoveryInstanceIDs=instances)
    events = sim.events_due(before, before + LONG_ENOUGH)
    assert sorted(e["detail"]["instance-id"] for e in events) == sorted(instances)
    assert {(e["source"], e["detail-type"], e["detail"]["state"]) for e in events} == {
        ("aws.ec2", "EC2 Instance State-change Notification", "terminated")
    }


faults_strategy = st.builds(
    EventFaults,
    delay_seconds=st.floats(0, 60),
    reorder_seconds=st.floats(0, 60),
    duplicate_rate=st.floats(0, 1),
    lose_rate=st.floats(0, 1),
    seed=st.integers(0, 1000),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(faults=faults_strategy, cuts=st.lists(st.floats(0, 400), max_size=6))
def test_faulty_delivery_loses_copies_and_delays_but_never_invents(
    sim: DrsSimulator, clock: FakeClock, faults: EventFaults, cuts: list[float]
) -> None:
    """However the span is cut into windows, each event is delivered 0, 1 or 2 times (never more,
    never before what it reports plus the delay), and the same faults give the same deliveries."""
    sim.set_event_faults(EventFaults())
    start = clock.now()
    if not sim.next_event_at(start - LONG_ENOUGH):
        launch(sim, 4)
    on_time = sim.events_due(start - LONG_ENOUGH, start + LONG_ENOUGH)
    reported = {e["id"]: e for e in on_time}
    sim.set_event_faults(faults)
    edges = sorted({start - LONG_ENOUGH, *(start + c for c in cuts), start + 2 * LONG_ENOUGH})
    delivered = [e for low, high in itertools.pairwise(edges) for e in sim.events_due(low, high)]
    counts = Counter(e["id"] for e in delivered)
    assert set(counts) <= set(reported)
    assert all(n <= 2 for n in counts.values())
    assert delivered == sim.events_due(edges[0], edges[-1])  # windows cut nothing twice, lose nothing
    if faults.lose_rate == 0:
        assert set(counts) == set(reported)
    if faults.duplicate_rate == 0:
        assert all(n == 1 for n in counts.values())
    assert faults.latest_shift >= faults.delay_seconds + DUPLICATE_GAP_SECONDS


def test_the_same_faults_give_the_same_deliveries_and_a_lost_event_is_never_due(
    sim: DrsSimulator, clock: FakeClock
) -> None:
    start = clock.now()
    launch(sim, 5)
    everything = sim.events_due(start, start + LONG_ENOUGH)
    sim.set_event_faults(EventFaults(reorder_seconds=30, duplicate_rate=0.5, lose_rate=0.3, seed=7))
    first = sim.events_due(start, start + 2 * LONG_ENOUGH)
    assert first == sim.events_due(start, start + 2 * LONG_ENOUGH)
    lost = {e["id"] for e in everything} - {e["id"] for e in first}
    assert lost, "seed 7 loses at least one of five events"
    assert sim.faults().events.lose_rate == 0.3
    sim.clear_faults()
    assert sim.events_due(start, start + LONG_ENOUGH) == everything
