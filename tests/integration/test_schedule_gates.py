"""A scheduled drill of a plan with pause gates: nobody is there to resume it, so its schedule says
what it does at a gate (docs/schedules.md): wait for a person at most N minutes, then cancel and
clean up; or pass the gate. What ran and what is left running is read from the simulator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.commands.schedules import parse_at_gate
from bot.views.errors import explain
from bot.views.schedules import build_schedule_message
from orchestration.engine.advance import advance
from orchestration.errors import UsageError, ValidationFailed
from orchestration.models import (
    CleanupStatus,
    ExecutionStatus,
    GateAction,
    UnattendedGates,
    WaveStatus,
)
from orchestration.services.wake_ups import wake
from scheduler.fire import DEFAULT_GATE_WAIT, fire_schedule
from scheduler.fire_result import FireOutcome
from scheduler.reporting import RecordingReporter
from scheduler.runtime import local_backend
from scheduler.service import NewSchedule, approve_schedule, create_schedule
from tests.drills import run_until_done, three_tier_plan

DAILY_3AM = "cron(0 3 * * ? *)"
DUE = int(datetime(2026, 1, 1, 3, 0, 0, tzinfo=UTC).timestamp())


@pytest.fixture
def gated(services: Any, simulator: Any) -> Any:
    return three_tier_plan(services, simulator, w3={"pause": True})


def approved(services: Any, at_gate: UnattendedGates | None) -> Any:
    schedule = create_schedule(
        services, NewSchedule(plan="DR", expression=DAILY_3AM, at_gate=at_gate), "alice"
    )
    return approve_schedule(services, schedule.schedule_id, "bob", backend=local_backend(services)).schedule


def until_paused(services: Any, clock: Any, execution_id: str) -> Any:
    for _ in range(200):
        result = advance(services, execution_id)
        execution = services.store.get_execution(execution_id)
        if execution.status == ExecutionStatus.PAUSED and execution.gate_deadline is not None:
            return execution
        assert not result.done
        clock.advance(result.wait_seconds)
    raise AssertionError("the drill never reached its gate")


def fired(services: Any, clock: Any, schedule: Any) -> Any:
    clock.set(DUE + 2)
    result = fire_schedule(services, schedule.schedule_id, DUE, RecordingReporter())
    assert result.outcome == FireOutcome.STARTED
    return services.store.get_execution(result.execution_id)


def test_a_gated_plan_cannot_be_scheduled_without_saying_what_happens_at_a_gate(
    services: Any, gated: Any
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create_schedule(services, NewSchedule(plan="DR", expression=DAILY_3AM), "alice")
    assert refused.value.details["field"] == "atGate"
    assert "pauses before wave 3 (Web)" in refused.value.message
    assert "/dr" not in refused.value.message  # what to type is bot/'s to say
    said = explain(refused.value)
    assert "--at-gate wait:60" in said and "--at-gate pass" in said
    assert services.store.list_schedules() == []


def test_a_drill_that_waits_is_cancelled_and_cleaned_up_when_nobody_resumes(
    services: Any, gated: Any, clock: Any, simulator: Any
) -> None:
    schedule = approved(services, UnattendedGates(action=GateAction.WAIT, wait_minutes=30))
    execution = fired(services, clock, schedule)
    assert execution.at_gate == UnattendedGates(action=GateAction.WAIT, wait_minutes=30)

    held = until_paused(services, clock, execution.execution_id)
    assert held.gate_wave == 3 and held.gate_deadline is not None
    assert advance(services, execution.execution_id).paused  # parked until a resume or its wake-up
    assert services.wakeups.pending == {(execution.execution_id, "gate"): held.gate_deadline}
    assert wake(services, execution.execution_id, "gate") == "rearmed"  # early: nothing else
    assert services.store.get_execution(execution.execution_id).status == ExecutionStatus.PAUSED

    clock.set(held.gate_deadline)
    assert wake(services, execution.execution_id, "gate") == "woken"
    assert execution.execution_id in services.driver.woken
    run_until_done(services, clock, execution.execution_id)
    ended = services.store.get_execution(execution.execution_id)
    assert ended.status == ExecutionStatus.CANCELLED
    assert [w.status for w in ended.waves] == [
        WaveStatus.COMPLETED,
        WaveStatus.COMPLETED,
        WaveStatus.CANCELLED,
    ]
    assert ended.cleanup is not None and ended.cleanup.status == CleanupStatus.COMPLETED
    assert simulator.running_instances() == []  # the simulator's own state: nothing left running
    web = {simulator.server_id(name) for name in ("web-frontend-01",)}
    assert all(simulator.launch_counts().get(server, 0) == 0 for server in web)


def test_a_drill_that_passes_gates_runs_every_wave(
    services: Any, gated: Any, clock: Any, simulator: Any
) -> None:
    schedule = approved(services, UnattendedGates(action=GateAction.PASS))
    execution = fired(services, clock, schedule)

    run_until_done(services, clock, execution.execution_id)

    ended = services.store.get_execution(execution.execution_id)
    assert ended.status == ExecutionStatus.COMPLETED
    assert ended.gates_passed == [3]
    assert any(e.details.get("unattended") for e in ended.events)
    assert simulator.running_instances() == []


def test_a_schedule_approved_before_its_plan_gained_gates_waits_an_hour(
    services: Any, simulator: Any, clock: Any
) -> None:
    three_tier_plan(services, simulator)
    schedule = approved(services, None)
    plan = services.store.find_plan_by_name("DR")
    gated_waves = [w.model_copy(update={"pause_before": w.wave_number == 2}) for w in plan.waves]
    services.store.update_plan(plan.model_copy(update={"waves": gated_waves}), "alice")

    assert fired(services, clock, schedule).at_gate == DEFAULT_GATE_WAIT
    shown = build_schedule_message(schedule, services.store.find_plan_by_name("DR"), [])
    assert "waits at most 60 min at a pause gate" in str([b.to_dict() for b in shown.blocks])


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("pass", UnattendedGates(action=GateAction.PASS)),
        ("WAIT:45", UnattendedGates(action=GateAction.WAIT, wait_minutes=45)),
    ],
)
def test_at_gate_is_read_from_the_command(text: str, policy: UnattendedGates) -> None:
    assert parse_at_gate(text) == policy


@pytest.mark.parametrize("text", ["wait", "wait:0", "wait:²", "wait:-5", "wait:99999", "stop", "pass:5"])
def test_a_bad_at_gate_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--at-gate"):
        parse_at_gate(text)
