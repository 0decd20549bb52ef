"""Pre-flight when DRS does not answer for now: a retryable DRS error (throttling, an outage) never
refuses a run request; what the failed read would have shown becomes a NOT_CHECKED warning and the
other rules still run. A DRS error that is an answer (not initialized, access denied) still refuses.

Through `/dr plan run` and `/dr plan check` on the real dispatcher, on both stores, with the
simulator throttling DRS (`set_throttle`, `throttle_next`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.message import Message
from orchestration.drs.gateway import DrsGateway
from orchestration.drs.limits import DrsLimits
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import ServerConflict, ValidationFailed
from orchestration.handlers.execution_shapes import execution_details
from orchestration.models import Execution, ExecutionStatus, ProtectionGroup, RecoveryPlan, Wave
from orchestration.ports import ManualDriver
from orchestration.services.execution_control import cancel_execution
from orchestration.services.execution_queries import preflight_warnings
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.services.preflight import (
    NOT_CHECKED,
    REPLICATION_UNHEALTHY,
    WAVE_SIZE_LIMIT_EXCEEDED,
    check_recovery_plan,
)
from orchestration.start_request import StartExecution
from tests.support import ok

Dr = Callable[..., Message]
NOT_ANSWERED = "could not be checked: DRS did not answer ("
AGAIN_AT_LAUNCH = "; the engine checks again at launch."


@pytest.fixture
def dr(services: Any) -> Dr:
    services.driver = ManualDriver()
    registry = build_registry()

    def run(text: str, user: str = "alice") -> Message:
        return registry.dispatch(services, Invocation(text=text, user_id=user))

    return run


@pytest.fixture
def storefront(dr: Dr, services: Any) -> RecoveryPlan:
    """DB tier (two servers by id), then Web tier (three servers by the tag Tier=web)."""
    ok(dr('/dr group create "DB tier" --server db-primary-01,db-replica-01'))
    ok(dr('/dr group create "Web tier" --tag Tier=web'))
    ok(dr('/dr plan create Storefront --wave "Database:DB tier" --wave "Web:Web tier"'))
    plan = services.store.find_plan_by_name("Storefront")
    assert plan is not None
    return plan


def only_pending(services: Any) -> Execution:
    [pending] = [e for e in services.store.list_executions() if e.status == ExecutionStatus.PENDING_APPROVAL]
    return pending


class OneAttempt:
    """DRS gateways on the simulator that make each call once: every throttle reaches pre-flight,
    whatever retries the composition root's gateways make."""

    def __init__(self, simulator: DrsSimulator) -> None:
        self.simulator = simulator

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        return DrsGateway(self.simulator.client(region, account_id), region)

    def close(self) -> None:
        """The simulator fixture closes the simulator."""


@pytest.mark.parametrize("one_attempt", [False, True], ids=["gateway-retries", "one-attempt"])
def test_twenty_run_requests_while_drs_throttles_are_all_accepted(
    dr: Dr, services: Any, simulator: DrsSimulator, storefront: RecoveryPlan, one_attempt: bool
) -> None:
    if one_attempt:
        services.drs = OneAttempt(simulator)
    simulator.set_throttle(0.3, seed=2026)
    accepted = 0
    for _ in range(20):
        text = ok(dr("/dr plan run Storefront --drill --reason throttled"))
        pending = only_pending(services)
        assert f"/dr approve {pending.execution_id[:8]}" in text
        accepted += 1
        cancel_execution(services, pending.execution_id, "alice")  # withdrawn, so the next may ask
    simulator.set_throttle(0)

    assert accepted == 20
    executions = services.store.list_executions()
    assert len(executions) == 20 and {e.status for e in executions} == {ExecutionStatus.REJECTED}
    for execution in executions:  # whatever DRS did not answer was said, never refused
        assert all(w["code"] == NOT_CHECKED for w in preflight_warnings(execution))
    if one_attempt:  # every throttle reached pre-flight: some were said, none refused
        assert any(preflight_warnings(e) for e in executions)


def test_when_drs_answers_nothing_the_request_is_accepted_with_what_was_not_checked(
    dr: Dr, services: Any, simulator: DrsSimulator, storefront: RecoveryPlan
) -> None:
    simulator.set_throttle(1.0)

    check = ok(dr("/dr plan check Storefront"))
    assert "Ready to run as a drill" in check and NOT_CHECKED in check
    assert "every pre-flight rule passes" not in check
    assert check.count("? (DRS did not answer)") == 2  # the servers of both waves are not known
    text = ok(dr("/dr plan run Storefront --drill"))

    execution = only_pending(services)
    assert "Pre-flight: 1 warning(s)." in execution.events[-1].message
    [warning] = preflight_warnings(execution)
    assert warning["severity"] == "warning" and warning["code"] == NOT_CHECKED
    assert warning["waveNumbers"] == [1, 2]
    assert warning["message"].startswith("The servers of waves 1 and 2 in us-east-1 (wave sizes, ")
    assert NOT_ANSWERED in warning["message"] and warning["message"].endswith(AGAIN_AT_LAUNCH)
    assert execution_details(execution)["warnings"] == [warning]
    assert "Pre-flight warnings" in text and "NOT_CHECKED The servers of waves 1 and 2" in text

    simulator.set_throttle(0)
    again = check_recovery_plan(services, "Storefront")  # DRS answers again: everything is checked
    assert again.warnings == [] and again.usage != []


def test_when_drs_does_not_list_jobs_the_other_rules_still_run(
    services: Any, simulator: DrsSimulator, storefront: RecoveryPlan
) -> None:
    services.settings = dataclasses.replace(services.settings, drs_limits=DrsLimits(max_servers_per_job=2))
    simulator.stall_replication(["db-replica-01"])
    simulator.throttle_next(10_000, ["describe_jobs"])

    check = check_recovery_plan(services, "Storefront")

    assert [f.code for f in check.errors] == [WAVE_SIZE_LIMIT_EXCEEDED]  # Web: 3 servers, 2 allowed
    assert [f.code for f in check.warnings] == [REPLICATION_UNHEALTHY, NOT_CHECKED]
    unchecked = check.warnings[-1]
    assert unchecked.message.startswith("Active DRS jobs and DRS quotas in us-east-1 (for waves 1 and 2) ")
    assert NOT_ANSWERED in unchecked.message and unchecked.message.endswith(AGAIN_AT_LAUNCH)
    assert check.usage == []  # nothing observed is shown as if it were
    simulator.throttle_next(0, ["describe_jobs"])


def test_servers_held_by_another_request_are_still_a_conflict_when_drs_does_not_answer(
    dr: Dr, services: Any, simulator: DrsSimulator, storefront: RecoveryPlan
) -> None:
    ok(dr('/dr plan create "DB only" --wave "Database:DB tier"'))
    ok(dr('/dr group create "App tier" --tag Tier=app --tag Application=orders'))
    ok(dr('/dr plan create "App only" --wave "App:App tier"'))
    ok(dr('/dr plan run "App only" --drill'))
    simulator.set_throttle(1.0)

    check = check_recovery_plan(services, "Storefront")
    assert check.errors == []
    [held_by_app, servers] = check.warnings
    assert (
        held_by_app.code == NOT_CHECKED
        and "of plan 'App only' holds servers of this plan" in held_by_app.message
    )
    assert NOT_ANSWERED in held_by_app.message and servers.code == NOT_CHECKED

    simulator.set_throttle(0)
    ok(dr('/dr plan run "DB only" --drill'))
    simulator.set_throttle(1.0)
    # the DB tier's servers are named by id: a request holding them is known without DRS
    request = StartExecution(plan_id=storefront.plan_id)
    with pytest.raises(ServerConflict, match="DB only"):
        execute_recovery_plan(services, request, "dave", require_approval=True)
    assert len(services.store.list_executions()) == 2


def test_a_drs_error_that_is_an_answer_still_refuses_the_request(services: Any) -> None:
    # DRS is not initialized in eu-west-1: no group there can be made through the services
    group = services.store.create_group(
        ProtectionGroup(group_name="Ireland", region="eu-west-1", server_selection_tags={"Tier": "web"}),
        "alice",
    )
    plan = services.store.create_plan(
        RecoveryPlan(
            plan_name="Ireland DR",
            waves=[Wave(wave_number=1, wave_name="Web", protection_group_id=group.group_id)],
        ),
        "alice",
    )

    with pytest.raises(ValidationFailed) as refused:
        execute_recovery_plan(services, StartExecution(plan_id=plan.plan_id), "alice", require_approval=True)

    assert refused.value.code == "VALIDATION_ERROR"
    assert refused.value.details["drsError"] == "UninitializedAccountException"
    assert services.store.list_executions() == []
