"""`wake_on_event` on its own (orchestration/engine/wake.py), with a driver that records its wakes:
launch results and terminated recovery instances wake their execution once, whatever else changes
nothing. Truth: the simulator's events and the stored execution."""

from __future__ import annotations

from typing import Any

from orchestration.drs.sim.events import INSTANCE_STATE_CHANGE, LAUNCH_RESULT
from orchestration.engine.advance import advance
from orchestration.engine.wake import WakeOutcome, wake_on_event
from orchestration.models import CleanupStatus
from orchestration.ports import ManualDriver
from tests.drills import start, three_tier_plan


def _drill(services: Any) -> str:
    return start(services, three_tier_plan(services, services.drs.simulator))


def _next_events(services: Any, clock: Any) -> list[dict[str, Any]]:
    since = clock.now()
    upcoming = services.drs.simulator.next_event_at(since)
    assert upcoming is not None
    clock.set(upcoming)
    events: list[dict[str, Any]] = services.drs.simulator.events_due(since, clock.now())
    return events


def test_a_launch_result_wakes_its_execution_once(sqlite_services: Any, clock: Any) -> None:
    services = sqlite_services
    driver: ManualDriver = services.driver
    execution_id = _drill(services)
    advance(services, execution_id)  # wave 1 launches (two servers), its job tagged with the execution
    results = []
    while True:  # every launch result of wave 1: all but the last find the other server launching
        events = [e for e in _next_events(services, clock) if e["detail-type"] == LAUNCH_RESULT]
        results += [(e, wake_on_event(services, e)) for e in events]
        if any(r.outcome != WakeOutcome.IN_FLIGHT for _, r in results):
            break
    *launching, (event, result) = results
    assert launching and all(r.outcome == WakeOutcome.IN_FLIGHT for _, r in launching)
    assert all(r.execution_id == execution_id for _, r in launching)
    assert (result.outcome, result.execution_id) == (WakeOutcome.WOKEN, execution_id)
    assert driver.woken == [execution_id]
    woken = services.store.get_execution(execution_id)
    assert woken.woken_by == [event["id"]] and not woken.wake_pending

    again = wake_on_event(services, event)
    assert again.outcome == WakeOutcome.DUPLICATE
    assert driver.woken == [execution_id]  # not twice
    assert services.store.get_execution(execution_id).version == woken.version


def test_a_terminated_recovery_instance_wakes_the_drills_cleanup(sqlite_services: Any, clock: Any) -> None:
    services = sqlite_services
    driver: ManualDriver = services.driver
    execution_id = _drill(services)
    for _ in range(200):  # drive until the cleanup has asked DRS to terminate the instances
        result = advance(services, execution_id)
        cleanup = services.store.get_execution(execution_id).cleanup
        if cleanup is not None and cleanup.status == CleanupStatus.TERMINATING:
            break
        assert not result.done
        clock.advance(result.wait_seconds)
    else:
        raise AssertionError("the drill never reached its cleanup")
    driver.woken.clear()
    ran = {s.instance_id for w in services.store.get_execution(execution_id).waves for s in w.servers}
    outcomes: list[WakeOutcome] = []
    terminated: list[dict[str, Any]] = []
    for _ in range(100):  # every termination: a wave's last one wakes, those before find others running
        found = [e for e in _next_events(services, clock) if e["detail-type"] == INSTANCE_STATE_CHANGE]
        terminated += found
        outcomes += [wake_on_event(services, e).outcome for e in found]
        if len(terminated) == len(ran):
            break
    assert {e["detail"]["instance-id"] for e in terminated} == ran
    waves = len(services.store.get_execution(execution_id).waves)
    assert outcomes.count(WakeOutcome.WOKEN) == waves  # one wake per wave, not one per instance
    assert outcomes.count(WakeOutcome.IN_FLIGHT) == len(ran) - waves
    assert driver.woken == [execution_id] * waves
    instance = terminated[0]["detail"]["instance-id"]
    driver.woken = [execution_id]

    running = {
        **terminated[0],
        "id": "still-running",
        "detail": {"instance-id": instance, "state": "running"},
    }
    before = services.store.get_execution(execution_id).version
    assert wake_on_event(services, running).outcome == WakeOutcome.IGNORED
    stranger = {
        **terminated[0],
        "id": "stranger",
        "detail": {"instance-id": "i-0000000000", "state": "terminated"},
    }
    assert wake_on_event(services, stranger).outcome == WakeOutcome.UNKNOWN
    assert driver.woken == [execution_id]
    assert services.store.get_execution(execution_id).version == before
