"""The execution rules (orchestration/services/execution_start.py, execution_control.py and
execution_queries.py) on both stores and the DRS simulator: pre-flight refusals, the approval policy,
expiry, pause/resume/cancel, and whole drills driven tick by tick with `advance` on the fake clock
(never sleeping)."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from orchestration.config import Settings
from orchestration.drs.limits import DrsLimits
from orchestration.engine.advance import advance
from orchestration.errors import (
    Action,
    DrsLimitExceeded,
    InternalError,
    InUse,
    InvalidTransition,
    MissingField,
    NotFound,
    PermissionDenied,
    Remedy,
    ServerConflict,
    StaleVersion,
    ValidationFailed,
    WaveSizeLimitExceeded,
)
from orchestration.handlers.execution_shapes import execution_jobs
from orchestration.models import (
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    WaveStatus,
)
from orchestration.ports import ManualDriver
from orchestration.rbac import DEMO_ROLES, Role, RoleConfig
from orchestration.requests import CreateRecoveryPlan
from orchestration.services.execution_builder import build_execution
from orchestration.services.execution_control import (
    approve_execution,
    cancel_execution,
    pause_execution,
    reject_execution,
    resume_execution,
)
from orchestration.services.execution_queries import (
    find_execution,
    get_execution,
    list_executions,
    preflight_warnings,
)
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.services.plans import create_recovery_plan
from orchestration.start_request import StartExecution
from tests.drills import make_plan, run_until_done, three_tier_plan

HOUR = 3600


def request(plan: Any, kind: ExecutionType = ExecutionType.DRILL, **fields: Any) -> StartExecution:
    return StartExecution.model_validate(
        {"planId": plan.plan_id, "executionType": kind.value, "initiatedBy": "alice", **fields}
    )


def ask(
    services: Any,
    plan: Any,
    kind: ExecutionType = ExecutionType.DRILL,
    actor: str = "alice",
    reason: str = "",
    **kw: Any,
) -> Any:
    """`actor` requests a run of `plan` that needs approval."""
    return execute_recovery_plan(
        services, request(plan, kind, reason=reason), actor, require_approval=True, **kw
    )


def with_roles(services: Any, mapping: dict[str, Any]) -> None:
    services.settings = dataclasses.replace(services.settings, roles=RoleConfig.from_mapping(mapping))


def with_limits(services: Any, **limits: int) -> None:
    services.settings = dataclasses.replace(services.settings, drs_limits=DrsLimits(**limits))


def types(execution: Execution) -> list[EventType]:
    return [e.type for e in execution.events]


def drive(services: Any, clock: Any, execution_id: str) -> Any:
    result = run_until_done(services, clock, execution_id)
    return result, services.store.get_execution(execution_id)


# -- configuration --------------------------------------------------------------------------------


def test_embedded_default_ships_demo_roles_and_approval_settings():
    settings = Settings.from_env({})
    assert settings.roles == DEMO_ROLES
    assert settings.roles.roles_of("alice") == {Role.OPERATOR}
    assert settings.roles.roles_of("bob") == settings.roles.roles_of("carol") == {Role.APPROVER}
    assert settings.roles.roles_of("whoever-runs-make-run") == {Role.OPERATOR}
    assert (settings.approval_expiry_minutes, settings.require_api_approval) == (60, False)
    assert Settings.from_env({"DRBOT_BACKEND": "aws"}).roles == RoleConfig()
    assert Settings.from_env({}, backend="aws").roles == RoleConfig()
    configured = Settings.from_env({"DRBOT_ROLES": '{"approver": ["dave"]}'})
    assert configured.roles.roles_of("alice") == {Role.VIEWER}
    tuned = Settings.from_env({"DRBOT_APPROVAL_EXPIRY_MINUTES": "15", "DRBOT_REQUIRE_API_APPROVAL": "true"})
    assert (tuned.approval_expiry_minutes, tuned.require_api_approval) == (15, True)
    with pytest.raises(ValidationFailed, match="DRBOT_APPROVAL_EXPIRY_MINUTES must be a whole number"):
        Settings.from_env({"DRBOT_APPROVAL_EXPIRY_MINUTES": "soon"})
    with pytest.raises(ValidationFailed, match="DRBOT_REQUIRE_API_APPROVAL must be true or false"):
        Settings.from_env({"DRBOT_REQUIRE_API_APPROVAL": "maybe"})


# -- starting: pre-flight -------------------------------------------------------------------------


def test_a_drill_request_waits_for_one_approver_then_runs_to_completion(svc, clock, simulator):
    plan = three_tier_plan(svc, simulator)
    execution = ask(svc, plan, reason="monthly drill")
    assert execution.status == ExecutionStatus.PENDING_APPROVAL
    assert (execution.initiated_by, execution.reason, execution.required_approvals) == (
        "alice",
        "monthly drill",
        1,
    )
    assert execution.expires_at == int(clock.now()) + HOUR
    [requested] = execution.events
    assert (requested.type, requested.actor) == (EventType.REQUESTED, "alice")
    assert "needs 1 approval(s)" in requested.message and "monthly drill" in requested.message
    assert svc.driver.started == []
    # notifiers hear at once, not on the next tick
    assert [e.type for e in svc.notifier.events(execution.execution_id)] == [EventType.REQUESTED]

    outcome = approve_execution(svc, execution.execution_id, "bob")
    assert (outcome.changed, outcome.started, outcome.approvals_missing) == (True, True, 0)
    assert outcome.execution.status == ExecutionStatus.PENDING
    assert [a.user_id for a in outcome.execution.approvals] == ["bob"]
    assert svc.driver.started == [execution.execution_id]
    approved = outcome.execution.events[-1]
    assert (approved.type, approved.actor) == (EventType.APPROVED, "bob")
    assert "it starts now" in outcome.message
    actions = {a.action for a in svc.store.list_audit(subject=f"execution:{execution.execution_id}")}
    assert {"execution.create", "execution.request", "execution.approve"} <= actions

    _, done = drive(svc, clock, execution.execution_id)
    assert done.status == ExecutionStatus.COMPLETED
    assert done.cleanup is not None and done.cleanup.status == CleanupStatus.COMPLETED


def test_direct_start_needs_no_approval_and_is_handed_to_the_driver(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    execution = execute_recovery_plan(svc, request(plan), "automation-script", require_approval=False)
    assert execution.status == ExecutionStatus.PENDING
    assert (execution.required_approvals, execution.expires_at) == (0, None)
    assert svc.driver.started == [execution.execution_id]
    assert "automation-script started a drill" in execution.events[0].message


def test_a_run_approved_beforehand_starts_at_once(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    execution = execute_recovery_plan(
        svc, request(plan), "alice", require_approval=False, approved_by="bob", schedule_id="sched-1"
    )
    assert (execution.status, execution.required_approvals, execution.schedule_id) == (
        ExecutionStatus.PENDING,
        1,
        "sched-1",
    )
    assert [a.user_id for a in execution.approvals] == ["bob"]
    assert "approved beforehand by bob" in execution.events[0].message
    assert svc.driver.started == [execution.execution_id]


def test_what_the_driver_records_is_saved_even_when_the_engine_wrote_first(svc, simulator):
    class StepFunctionsLike(ManualDriver):
        def start(self, execution: Execution) -> Execution:
            # the first tick of a fast driver may save before start() returns
            svc.store.update_execution(
                svc.store.get_execution(execution.execution_id).with_status(ExecutionStatus.RUNNING, 1),
                "drbot-engine",
            )
            return execution.model_copy(
                update={"state_machine_arn": "arn:aws:states:us-east-1:1:execution:x"}
            )

    svc.driver = StepFunctionsLike()
    plan = three_tier_plan(svc, simulator)
    execution = execute_recovery_plan(svc, request(plan), "alice", require_approval=False)
    stored = svc.store.get_execution(execution.execution_id)
    assert stored.state_machine_arn == "arn:aws:states:us-east-1:1:execution:x"
    assert stored.status == ExecutionStatus.RUNNING  # the engine's write was kept


def test_a_driver_that_cannot_start_fails_the_execution_without_launching(svc, simulator):
    class Broken(ManualDriver):
        def start(self, execution: Execution) -> Execution:
            raise ConnectionError("states endpoint unreachable")

    svc.driver = Broken()
    plan = three_tier_plan(svc, simulator)
    with pytest.raises(InternalError, match="could not be started"):
        execute_recovery_plan(svc, request(plan), "alice", require_approval=False)
    [failed] = svc.store.list_executions()
    assert failed.status == ExecutionStatus.FAILED
    assert "nothing was launched" in (failed.status_reason or "")
    assert all(w.job_id is None for w in failed.waves)


def test_server_conflict_names_the_servers_and_creates_nothing(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    db = plan.waves[0].protection_group_id
    first = ask(svc, plan)
    with pytest.raises(ServerConflict) as caught:
        ask(svc, plan)
    error = caught.value
    assert error.status == 409 and error.code == "SERVER_CONFLICT"
    assert "db-primary-01" in error.message and first.execution_id in error.message
    assert simulator.server_id("db-primary-01") in error.details["serverIds"]
    # another plan over the same group is refused the same way
    body = {"planName": "DB only", "waves": [{"waveNumber": 1, "waveName": "DB", "protectionGroupId": db}]}
    other = create_recovery_plan(svc, CreateRecoveryPlan.model_validate(body), "alice").plan
    with pytest.raises(ServerConflict, match=r"in the PENDING_APPROVAL execution .* of plan 'DR'"):
        execute_recovery_plan(svc, request(other), "alice", require_approval=True)
    assert [e.execution_id for e in svc.store.list_executions()] == [first.execution_id]


def test_drs_limits_are_a_429_naming_the_limit(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    with_limits(svc, max_servers_in_all_jobs=2)
    with pytest.raises(DrsLimitExceeded) as caught:
        ask(svc, plan)
    error = caught.value
    assert (error.status, error.code) == (429, "DRS_LIMIT_EXCEEDED")
    assert "DRS allows 2 servers across active jobs" in error.message
    assert error.details["limits"]["maxServersInAllJobs"] == 2
    assert error.details["currentUsage"][0]["region"] == "us-east-1"
    assert svc.store.list_executions() == []


def test_an_oversized_wave_is_refused_in_the_seed_shape(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    with_limits(svc, max_servers_per_job=2)
    with pytest.raises(WaveSizeLimitExceeded) as caught:
        ask(svc, plan)
    body = caught.value.to_body()
    assert body["error"] == "WAVE_SIZE_LIMIT_EXCEEDED" and caught.value.status == 400
    assert body["limit"] == 2 and body["errors"] == [{"waveNumber": 3, "serverCount": 3}]
    assert "Wave 3 ('Web') has 3 servers, max is 2" in body["message"]
    assert svc.store.list_executions() == []


def test_unhealthy_replication_is_a_warning_recorded_with_the_request(svc, simulator):
    groups = {"App": {"serverSelectionTags": {"Application": "inventory"}}}  # app-inventory-02 STALLED
    plan = make_plan(svc, [{"name": "App", "group": "App"}], groups)
    execution = ask(svc, plan)
    [warning] = preflight_warnings(execution)
    assert warning["code"] == "REPLICATION_UNHEALTHY" and "app-inventory-02" in warning["message"]
    assert execution.events[0].details["warnings"] == [warning]
    assert "1 warning(s)" in execution.events[0].message


def test_a_plan_runs_once_at_a_time_even_with_no_servers(svc, simulator):
    plan = make_plan(
        svc, [{"name": "Nothing", "group": "Empty"}], {"Empty": {"serverSelectionTags": {"Tier": "x"}}}
    )
    first = ask(svc, plan)
    with pytest.raises(InUse, match=f"already has a PENDING_APPROVAL drill \\({first.execution_id}\\)"):
        ask(svc, plan)


def test_requesting_needs_the_request_permission(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    with_roles(svc, {"operator": ["alice"], "default": "viewer"})
    with pytest.raises(PermissionDenied, match="dave may not request execution"):
        ask(svc, plan, actor="dave")
    assert svc.store.list_executions() == []


def test_cleanup_after_minutes_is_for_drills(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    with pytest.raises(ValidationFailed, match="drills only"):
        ask(svc, plan, ExecutionType.RECOVERY, cleanup_after_minutes=30)
    drill = ask(svc, plan, cleanup_after_minutes=30)
    assert drill.cleanup_after_minutes == 30


# -- approvals ------------------------------------------------------------------------------------


def test_the_requester_never_approves_their_own_request(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    with_roles(svc, {"admin": ["root"], "approver": ["bob"]})
    execution = ask(svc, plan, actor="root")
    with pytest.raises(PermissionDenied, match="root requested this drill and cannot approve it"):
        approve_execution(svc, execution.execution_id, "root")
    stored = svc.store.get_execution(execution.execution_id)
    assert (stored.status, stored.approvals, stored.version) == (
        ExecutionStatus.PENDING_APPROVAL,
        [],
        execution.version,
    )


def test_approving_needs_the_approve_permission(svc, simulator):
    execution = ask(svc, three_tier_plan(svc, simulator))
    with pytest.raises(PermissionDenied, match="dave may not approve: that needs the role admin, approver"):
        approve_execution(svc, execution.execution_id, "dave")


def test_a_recovery_needs_two_distinct_approvers(svc, simulator):
    execution = ask(svc, three_tier_plan(svc, simulator), ExecutionType.RECOVERY)
    assert execution.required_approvals == 2
    first = approve_execution(svc, execution.execution_id, "bob")
    assert (first.changed, first.started, first.approvals_missing) == (True, False, 1)
    assert first.execution.status == ExecutionStatus.PENDING_APPROVAL
    assert "1 more approval(s) from a different approver" in first.message
    again = approve_execution(svc, execution.execution_id, "bob")
    assert (again.changed, again.started) == (False, False)
    assert "already approved" in again.message
    assert [a.user_id for a in again.execution.approvals] == ["bob"]
    assert svc.driver.started == []
    second = approve_execution(svc, execution.execution_id, "carol")
    assert (second.changed, second.started, second.execution.status) == (True, True, ExecutionStatus.PENDING)
    assert svc.driver.started == [execution.execution_id]
    assert types(second.execution).count(EventType.APPROVED) == 2


def test_a_double_click_after_the_start_is_a_harmless_no_op(svc, simulator):
    execution = ask(svc, three_tier_plan(svc, simulator))
    approve_execution(svc, execution.execution_id, "bob")
    late = approve_execution(svc, execution.execution_id, "bob")
    other = approve_execution(svc, execution.execution_id, "carol")
    assert (late.changed, other.changed) == (False, False)
    assert "already approved by bob" in other.message
    assert svc.driver.started == [execution.execution_id]


@pytest.mark.parametrize(
    ("kind", "approvers", "approvals"),
    [
        (ExecutionType.DRILL, ("bob", "bob"), 1),  # a double click delivered twice at once
        (ExecutionType.DRILL, ("bob", "carol"), 1),  # two approvers racing for one approval
        (ExecutionType.RECOVERY, ("bob", "carol"), 2),  # the two approvals a recovery needs, at once
    ],
)
def test_racing_approvals_start_one_execution(svc, simulator, kind, approvers, approvals):
    execution = ask(svc, three_tier_plan(svc, simulator), kind)
    barrier = threading.Barrier(len(approvers))
    outcomes: list[Any] = []
    errors: list[BaseException] = []

    def approve(user: str) -> None:
        try:
            barrier.wait()
            outcomes.append(approve_execution(svc, execution.execution_id, user))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert svc.driver.started == [execution.execution_id]
    assert sum(o.started for o in outcomes) == 1
    stored = svc.store.get_execution(execution.execution_id)
    assert stored.status == ExecutionStatus.PENDING
    assert len(stored.approvals) == approvals
    assert types(stored).count(EventType.APPROVED) == approvals


def test_an_expired_request_becomes_expired_on_touch_and_cannot_be_approved(svc, clock, simulator):
    svc.settings = dataclasses.replace(svc.settings, approval_expiry_minutes=5)
    execution = ask(svc, three_tier_plan(svc, simulator))
    assert execution.expires_at == int(clock.now()) + 300
    clock.advance(299)
    assert get_execution(svc, execution.execution_id).status == ExecutionStatus.PENDING_APPROVAL
    clock.advance(1)
    with pytest.raises(InvalidTransition, match=r"expired at .* so it can no longer be approved"):
        approve_execution(svc, execution.execution_id, "bob")
    stored = svc.store.get_execution(execution.execution_id)
    assert stored.status == ExecutionStatus.EXPIRED and stored.approvals == []
    assert types(stored) == [EventType.REQUESTED, EventType.EXPIRED]
    assert svc.notifier.events(execution.execution_id)[-1].type == EventType.EXPIRED
    with pytest.raises(InvalidTransition, match="is EXPIRED: only a request awaiting approval"):
        approve_execution(svc, execution.execution_id, "bob")
    assert svc.driver.started == []


def test_an_untouched_expired_request_does_not_block_a_new_run(svc, clock, simulator):
    plan = three_tier_plan(svc, simulator)
    stale = ask(svc, plan)
    clock.advance(HOUR)
    fresh = ask(svc, plan)
    assert fresh.status == ExecutionStatus.PENDING_APPROVAL
    assert svc.store.get_execution(stale.execution_id).status == ExecutionStatus.EXPIRED


def test_reading_an_expired_request_marks_it_expired(svc, clock, simulator):
    execution = ask(svc, three_tier_plan(svc, simulator))
    clock.advance(HOUR)
    assert get_execution(svc, execution.execution_id).status == ExecutionStatus.EXPIRED
    assert types(svc.store.get_execution(execution.execution_id)).count(EventType.EXPIRED) == 1


def test_the_engine_and_a_reader_record_the_same_expiry(svc, clock, simulator):
    plan = three_tier_plan(svc, simulator)
    read = ask(svc, plan)
    clock.advance(HOUR)
    get_execution(svc, read.execution_id)
    driven = ask(svc, plan)
    clock.advance(HOUR)
    advance(svc, driven.execution_id)

    def expiry(execution_id: str) -> str:
        stored = svc.store.get_execution(execution_id)
        assert stored.status == ExecutionStatus.EXPIRED and stored.status_reason == "Approval request expired"
        return next(e.message for e in stored.events if e.type == EventType.EXPIRED)

    assert expiry(read.execution_id).endswith(": 0 of 1 approval(s) were given")
    assert expiry(driven.execution_id).endswith(": 0 of 1 approval(s) were given")
    assert expiry(read.execution_id).startswith("The approval request expired at ")
    assert expiry(driven.execution_id).startswith("The approval request expired at ")


def test_reject_needs_a_reason_and_ends_the_request(svc, simulator):
    execution = ask(svc, three_tier_plan(svc, simulator))
    with pytest.raises(MissingField, match="say why"):
        reject_execution(svc, execution.execution_id, "bob", "  ")
    with pytest.raises(PermissionDenied):
        reject_execution(svc, execution.execution_id, "dave", "no")
    outcome = reject_execution(svc, execution.execution_id, "bob", "change freeze")
    assert outcome.changed and outcome.execution.status == ExecutionStatus.REJECTED
    assert outcome.execution.status_reason == "Rejected by bob: change freeze"
    rejected = outcome.execution.events[-1]
    assert (rejected.type, rejected.actor, rejected.details["reason"]) == (
        EventType.REJECTED,
        "bob",
        "change freeze",
    )
    assert not reject_execution(svc, execution.execution_id, "carol", "also no").changed
    with pytest.raises(InvalidTransition, match="is REJECTED"):
        approve_execution(svc, execution.execution_id, "carol")
    assert svc.driver.started == []


def test_reject_refuses_a_running_execution(svc, simulator):
    execution = ask(svc, three_tier_plan(svc, simulator))
    approve_execution(svc, execution.execution_id, "bob")
    with pytest.raises(
        InvalidTransition, match=r"is PENDING: only a request awaiting approval can be rejected\.$"
    ) as refused:
        reject_execution(svc, execution.execution_id, "carol", "too late")
    assert refused.value.remedy == Remedy(Action.STOP_RUN)  # bot/ says how: `/dr cancel` stops a run


def test_the_requester_withdraws_a_request_by_cancelling_it(svc, simulator):
    execution = ask(svc, three_tier_plan(svc, simulator))
    with pytest.raises(PermissionDenied, match="Only alice, who requested this drill, can withdraw it"):
        cancel_execution(svc, execution.execution_id, "dave")
    outcome = cancel_execution(svc, execution.execution_id, "alice")
    assert outcome.changed and outcome.execution.status == ExecutionStatus.REJECTED
    assert outcome.execution.status_reason == "Withdrawn by alice"
    assert outcome.execution.events[-1].details["withdrawn"] is True
    assert svc.driver.woken == []


# -- pause, resume, cancel ------------------------------------------------------------------------


def started(services: Any, plan: Any, kind: ExecutionType = ExecutionType.DRILL) -> str:
    execution = execute_recovery_plan(services, request(plan, kind), "alice", require_approval=False)
    return str(execution.execution_id)


def test_pause_and_resume_a_running_drill(svc, clock, simulator):
    execution_id = started(svc, three_tier_plan(svc, simulator))
    with pytest.raises(InvalidTransition, match="is PENDING: only a RUNNING execution can be paused"):
        pause_execution(svc, execution_id, "alice")
    advance(svc, execution_id)  # RUNNING, wave 1 launching
    with pytest.raises(PermissionDenied):
        pause_execution(svc, execution_id, "bob")  # approvers do not steer runs
    paused = pause_execution(svc, execution_id, "alice")
    assert paused.changed and paused.execution.status == ExecutionStatus.PAUSED
    assert (paused.execution.events[-1].type, paused.execution.events[-1].actor) == (
        EventType.PAUSED,
        "alice",
    )
    assert not pause_execution(svc, execution_id, "alice").changed

    result, execution = drive(svc, clock, execution_id)
    assert result.paused  # wave 1 finished; nothing else launches while paused
    assert [w.status for w in execution.waves] == [
        WaveStatus.COMPLETED,
        WaveStatus.PENDING,
        WaveStatus.PENDING,
    ]

    resumed = resume_execution(svc, execution_id, "alice")
    assert resumed.changed and resumed.execution.status == ExecutionStatus.RUNNING
    assert resumed.execution.events[-1].type == EventType.RESUMED
    assert svc.driver.woken == [execution_id]
    assert not resume_execution(svc, execution_id, "alice").changed
    _, done = drive(svc, clock, execution_id)
    assert done.status == ExecutionStatus.COMPLETED
    with pytest.raises(InvalidTransition, match="is COMPLETED: only a PAUSED execution can be resumed"):
        resume_execution(svc, execution_id, "alice")
    assert svc.store.get_execution(execution_id).status == ExecutionStatus.COMPLETED


def test_resume_passes_a_pause_before_gate(svc, clock, simulator):
    execution_id = started(svc, three_tier_plan(svc, simulator, w3={"pause": True}))
    result, execution = drive(svc, clock, execution_id)
    assert result.paused and execution.gate_wave == 3
    outcome = resume_execution(svc, execution_id, "alice")
    assert (outcome.execution.gate_wave, outcome.execution.gates_passed) == (None, [3])
    event = outcome.execution.events[-1]
    assert (event.type, event.wave_number) == (EventType.RESUMED, 3)
    assert "wave 3 (Web) launches" in outcome.message
    _, done = drive(svc, clock, execution_id)
    assert done.status == ExecutionStatus.COMPLETED


def test_a_cancelled_drill_terminates_its_instances(svc, clock, simulator):
    execution_id = started(svc, three_tier_plan(svc, simulator))
    for _ in range(50):  # until wave 2 is in flight
        result = advance(svc, execution_id)
        if svc.store.get_execution(execution_id).waves[1].job_id:
            break
        clock.advance(result.wait_seconds)
    outcome = cancel_execution(svc, execution_id, "alice")
    assert outcome.execution.status == ExecutionStatus.CANCELLING
    assert outcome.execution.events[-1].type == EventType.CANCEL_REQUESTED
    assert svc.driver.woken == [execution_id]
    assert not cancel_execution(svc, execution_id, "alice").changed

    _, execution = drive(svc, clock, execution_id)
    assert execution.status == ExecutionStatus.CANCELLED
    assert execution.waves[2].status == WaveStatus.CANCELLED
    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED
    assert execution.cleanup.instances == len(execution.launched_instance_ids) > 0
    assert simulator.client("us-east-1").describe_recovery_instances()["items"] == []
    assert not cancel_execution(svc, execution_id, "alice").changed


def test_cancel_refuses_an_ended_execution_and_keeps_it(svc, clock, simulator):
    execution_id = started(svc, three_tier_plan(svc, simulator))
    drive(svc, clock, execution_id)
    before = svc.store.get_execution(execution_id)
    with pytest.raises(InvalidTransition, match="is COMPLETED: only a PENDING, RUNNING or PAUSED execution"):
        cancel_execution(svc, execution_id, "alice")
    assert svc.store.get_execution(execution_id).version == before.version


def test_a_pending_execution_can_be_cancelled_before_it_runs(svc, clock, simulator):
    execution_id = started(svc, three_tier_plan(svc, simulator))
    cancel_execution(svc, execution_id, "alice")
    _, execution = drive(svc, clock, execution_id)
    assert execution.status == ExecutionStatus.CANCELLED
    assert all(w.job_id is None for w in execution.waves)


def test_a_control_retries_when_the_engine_wrote_first(svc, simulator, monkeypatch):
    execution_id = started(svc, three_tier_plan(svc, simulator))
    advance(svc, execution_id)
    store = svc.store
    original = store._get
    calls = {"n": 0}

    def engine_first(kind: Any, item_id: str) -> Any:
        current = original(kind, item_id)
        calls["n"] += 1
        if calls["n"] == 1:  # the engine saves between our read and our write
            store.update_execution(current.model_copy(update={"transient_errors": 1}), "drbot-engine")
        return current

    monkeypatch.setattr(store, "_get", engine_first)
    outcome = pause_execution(svc, execution_id, "alice")
    monkeypatch.undo()
    stored = svc.store.get_execution(execution_id)
    assert outcome.execution.status == stored.status == ExecutionStatus.PAUSED
    assert stored.transient_errors == 1  # the engine's write survived
    assert calls["n"] >= 2


def test_update_conflicts_are_not_swallowed_for_ever(svc, simulator, monkeypatch):
    execution_id = started(svc, three_tier_plan(svc, simulator))
    advance(svc, execution_id)

    def always_stale(kind: Any, item: Any, expected: int, audit: Any) -> None:
        raise StaleVersion("changed")

    monkeypatch.setattr(svc.store, "_replace", always_stale)
    with pytest.raises(Exception, match="kept changing"):
        pause_execution(svc, execution_id, "alice")


# -- queries --------------------------------------------------------------------------------------


def test_find_by_id_or_unique_prefix(svc, simulator):
    plan = three_tier_plan(svc, simulator)
    ids = []
    for suffix in ("1", "2"):
        execution = build_execution(svc, plan, ExecutionType.DRILL, "alice", ExecutionStatus.COMPLETED)
        execution = execution.model_copy(
            update={"execution_id": f"abcdef0{suffix}-0000-4000-8000-000000000000"}
        )
        ids.append(svc.store.create_execution(execution, "alice").execution_id)
    assert find_execution(svc, ids[0]).execution_id == ids[0]
    assert find_execution(svc, "ABCDEF02").execution_id == ids[1]
    with pytest.raises(ValidationFailed, match="'abcdef0' is the start of 2 execution ids"):
        find_execution(svc, "abcdef0")
    with pytest.raises(ValidationFailed, match="too short"):
        find_execution(svc, "abc")
    with pytest.raises(NotFound, match="No execution with id or id prefix '999999'"):
        find_execution(svc, "999999")


def test_list_filters_by_plan_and_status(svc, clock, simulator):
    plan = three_tier_plan(svc, simulator)
    done = started(svc, plan)
    drive(svc, clock, done)
    pending = ask(svc, plan).execution_id
    assert [e.execution_id for e in list_executions(svc)] == [pending, done]
    assert [e.execution_id for e in list_executions(svc, status="completed")] == [done]
    assert [e.execution_id for e in list_executions(svc, active_only=True)] == [pending]
    assert list_executions(svc, plan_id="other") == []
    assert len(list_executions(svc, limit=1)) == 1
    with pytest.raises(ValidationFailed, match="status must be one of"):
        list_executions(svc, status="SLEEPING")
    with pytest.raises(ValidationFailed, match="limit must be between"):
        list_executions(svc, limit=0)


def test_jobs_view_describes_each_wave_job_and_the_cleanup(svc, clock, simulator):
    execution_id = started(svc, three_tier_plan(svc, simulator))
    _, execution = drive(svc, clock, execution_id)
    jobs = execution_jobs(svc, execution)["jobs"]
    launches = [j for j in jobs if j["purpose"] == "launch"]
    assert [j["waveNumber"] for j in launches] == [1, 2, 3]
    assert all(j["status"] == "COMPLETED" and j["drs"]["type"] == "LAUNCH" for j in launches)
    assert launches[0]["drs"]["participatingServers"][0]["launchStatus"] == "LAUNCHED"
    assert [j["drs"]["type"] for j in jobs if j["purpose"] == "cleanup"] == ["TERMINATE"] * 3
