"""`/dr report <execution> [--json]` through the real dispatcher, on both stores and the DRS
simulator: a drill requested, approved and run to its cleanup; its plan deleted since; a recovery
with a failed server; bad references answered with the usage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.message import Message
from orchestration.models import ExecutionStatus, ExecutionType
from orchestration.ports import ManualDriver
from tests.drills import run_until_done, start, three_tier_plan
from tests.support import failed, ok


@pytest.fixture
def dr(services: Any):
    services.driver = ManualDriver()
    registry = build_registry()

    def run(text: str, user: str = "alice") -> Message:
        return registry.dispatch(services, Invocation(text=text, user_id=user, channel_id="C0123ABCD"))

    return run


@pytest.fixture
def drill(dr, services: Any, clock: Any) -> str:
    """A drill of a 3-wave plan with an RTO target, requested by alice, approved by bob, run to the
    end of its cleanup."""
    ok(dr('/dr group create "DB tier" --server db-primary-01,db-replica-01'))
    ok(dr('/dr group create "App tier" --tag Tier=app --tag Application=orders'))
    ok(dr('/dr group create "Web tier" --tag Tier=web'))
    waves = '--wave "Database:DB tier" --wave "App:App tier" --wave "Web:Web tier"'
    ok(dr(f'/dr plan create "Prod DR" {waves} --rto 60'))
    ok(dr('/dr plan run "Prod DR" --reason "quarterly drill"'))
    [execution] = services.store.list_executions()
    ok(dr(f"/dr approve {execution.execution_id[:8]}", user="bob"))
    run_until_done(services, clock, execution.execution_id)
    done = services.store.get_execution(execution.execution_id)
    assert done.status == ExecutionStatus.COMPLETED and done.cleanup is not None
    return str(done.execution_id)


def test_the_report_of_a_drill_run_to_its_cleanup(dr, services: Any, drill: str) -> None:
    message = dr(f"/dr report {drill[:8]}", user="carol")
    text = ok(message)
    assert message.response_type == "in_channel"
    assert "Evidence report: Drill of Prod DR" in text
    assert "Result: ✔ COMPLETED (final)" in text
    assert "version 1)" in text and "Type: Drill" in text
    assert "Requested by alice at " in text and "Reason: quarterly drill" in text
    assert "Approval: Approved by bob at " in text
    assert "RTO: ✔ MET (target 60 min, took " in text
    for host in ("db-primary-01", "db-replica-01", "app-orders-01", "web-frontend-01"):
        assert host in text
    assert "point in time 20" in text
    assert "Drill cleanup: completed at " in text and "all terminated" in text

    answer = dr(f"/dr report {drill} --json")
    ok(answer)
    code = "".join(
        b["text"]["text"].strip("`") + "\n" for b in answer.block_dicts() if b["type"] == "section"
    )
    wire = json.loads(code)
    assert wire["executionId"] == drill and wire["final"] is True
    assert wire["plan"] == {
        "planId": services.store.get_execution(drill).plan_id,
        "planName": "Prod DR",
        "state": "UNCHANGED",
        "version": 1,
        "currentVersion": 1,
        "rtoTargetMinutes": 60,
    }
    assert [w["serversLaunched"] for w in wire["waves"]] == [w["serversTotal"] for w in wire["waves"]]
    assert wire["approval"]["given"][0]["userId"] == "bob"
    assert wire["cleanup"]["status"] == "COMPLETED" and wire["cleanup"]["leftRunning"] == []
    assert wire["requestedAt"].endswith("Z")


def test_a_plan_deleted_since_is_said_so(dr, services: Any, drill: str) -> None:
    ok(dr('/dr plan delete "Prod DR"'))
    text = ok(dr(f"/dr report {drill[:8]}"))
    assert "Prod DR (id " in text and "deleted since the run" in text
    # the run is still held against the target recorded when it was requested
    assert "RTO: ✔ MET (target 60 min" in text

    # a record from before targets were kept on the execution: its target went with the plan
    old = services.store.get_execution(drill)
    services.store.update_execution(
        old.model_copy(update={"targets_recorded": False, "rto_target_minutes": None}), "test"
    )
    text = ok(dr(f"/dr report {drill[:8]}"))
    assert "RTO: ! UNKNOWN" in text and "its RTO target is not known" in text


def test_a_recovery_with_a_failed_server_names_it(services: Any, simulator: Any, clock: Any, dr) -> None:
    simulator.fail_servers(["app-orders-02"])
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.RECOVERY)
    run_until_done(services, clock, execution_id)
    assert services.store.get_execution(execution_id).status == ExecutionStatus.FAILED
    text = ok(dr(f"/dr report {execution_id[:8]}"))
    assert "Evidence report: Recovery of DR" in text and "Result: ✘ FAILED" in text
    assert "Wave 2 (App) FAILED" in text and "app-orders-02" in text and "error:" in text
    assert "NO TARGET (no target, took " in text
    assert "Drill cleanup" not in text


def test_bad_references_answer_with_the_usage(dr) -> None:
    text = failed(dr("/dr report 0123456789ab"), "NOT_FOUND")
    assert "No execution with id or id prefix '0123456789ab'" in text
    assert "/dr report <execution> [--json]" in text
    text = failed(dr("/dr report abc"), "VALIDATION_ERROR")
    assert "/dr report <execution> [--json]" in text
    text = failed(dr("/dr report"), "USAGE_ERROR")
    assert "/dr report <execution> [--json]" in text
