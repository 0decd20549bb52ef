"""The Step Functions definition itself, validated by statelint and executed by moto's ASL
interpreter. Its Lambda tasks reach the deployed entry point
(`orchestration.handlers.execution.lambda_handler`, which hands "task" events to `handle_task`);
DRS is the simulator.

The harness is bench/statemachine_moto.py (`python -m bench.wake` runs it too): moto runs each
state machine execution in a thread of its own. Its Wait state and its Retry back-off are made to
move the test's FakeClock instead of sleeping, so a whole drill takes milliseconds; the test thread
waits for the machine with short, bounded polls (never a sleep of seconds), and every wait has a
deadline so nothing here can hang.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.statemachine_moto import ACCOUNT, Machine, eventually, running_machine
from orchestration.clock import FakeClock
from orchestration.drs.sim.events import LAUNCH_RESULT, EventFaults
from orchestration.engine import stepfunctions
from orchestration.engine.advance import advance as real_advance
from orchestration.engine.stepfunctions import StepFunctionsDriver
from orchestration.errors import InvalidOperation, MissingField, ValidationFailed
from orchestration.handlers import tasks
from orchestration.handlers.tasks import handle_task
from orchestration.models import (
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    WaveStatus,
)
from orchestration.ports import RecordingNotifier
from orchestration.requests import CreateProtectionGroup, CreateRecoveryPlan
from orchestration.services.execution_builder import build_execution
from orchestration.services.groups import create_protection_group
from orchestration.services.plans import create_recovery_plan
from orchestration.statemachine import DEFINITION_FILE, FUNCTION_ARN_PLACEHOLDER, definition
from tests.conftest import AWS_REGION, fake_aws_env

ASL_PATH = Path(stepfunctions.__file__).parents[1] / "statemachine" / DEFINITION_FILE

# -- statelint ------------------------------------------------------------------------------------


def test_statelint_accepts_the_definition() -> None:
    from statelint.config import Config
    from statelint.linter import Linter

    assert Linter.validate(str(ASL_PATH), Config()) == []


def test_statelint_is_really_checking() -> None:
    from statelint.config import Config
    from statelint.linter import Linter

    broken = definition()
    del broken["States"]["WaitForEvent"]["Next"]
    broken["States"]["Done?"]["Default"] = "Nowhere"
    problems = Linter.validate(broken, Config())
    assert any("Wait" in p for p in problems)
    assert any("Nowhere" in p for p in problems)


def test_the_packaged_definition_matches_the_file_and_substitutes_the_function() -> None:
    assert definition() == json.loads(ASL_PATH.read_text(encoding="utf-8"))
    arn = f"arn:aws:lambda:{AWS_REGION}:{ACCOUNT}:function:drbot-execution"
    text = json.dumps(definition({FUNCTION_ARN_PLACEHOLDER: arn}))
    assert "${" not in text
    states = definition({FUNCTION_ARN_PLACEHOLDER: arn})["States"]
    tasks = [s for s in states.values() if s["Type"] == "Task"]
    assert {t["Parameters"]["FunctionName"] for t in tasks} == {arn}
    assert {t["Parameters"]["Payload"]["task"] for t in tasks} == {"advance", "wait", "pause", "mark_failed"}


def test_the_aws_backend_is_driven_by_step_functions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock, simulator: Any, no_network: None
) -> None:
    from orchestration.bootstrap import build_services
    from orchestration.config import Settings
    from orchestration.drs.clients import SimulatedDrsClients
    from orchestration.store.sqlite import SqliteStore

    fake_aws_env(monkeypatch, tmp_path)
    arn = f"arn:aws:states:{AWS_REGION}:{ACCOUNT}:stateMachine:drbot-orchestration"
    store = SqliteStore(tmp_path / "drbot.db", clock=clock)
    drs = SimulatedDrsClients(simulator)
    with_arn = build_services(
        Settings.from_env({}, backend="aws", state_machine_arn=arn), clock=clock, store=store, drs=drs
    )
    assert isinstance(with_arn.driver, StepFunctionsDriver)
    assert with_arn.driver.state_machine_arn == arn
    assert with_arn.driver.client.meta.region_name == AWS_REGION
    without = build_services(Settings.from_env({}, backend="aws"), clock=clock, store=store, drs=drs)
    assert not isinstance(without.driver, StepFunctionsDriver)
    store.close()


def test_a_task_names_what_it_needs() -> None:
    with pytest.raises(InvalidOperation, match="advance, wait, pause, mark_failed"):
        handle_task({"task": "launch", "executionId": "x"})
    with pytest.raises(MissingField, match="executionId"):
        handle_task({"task": "advance"})
    with pytest.raises(MissingField, match="wait task needs the state machine's taskToken"):
        handle_task({"task": "wait", "executionId": "x"})


# -- the machine under moto -------------------------------------------------------------------------


@pytest.fixture
def machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock, simulator: Any, no_network: None
) -> Iterator[Machine]:
    fake_aws_env(monkeypatch, tmp_path)
    with running_machine(clock, simulator, tmp_path / "drbot.db") as machine:
        yield machine


def _plan(services: Any, sim: Any, *, pause_wave_3: bool = False) -> Any:
    """Three waves as a DAG: Database and App start together, Web waits for both."""
    groups: dict[str, dict[str, Any]] = {
        "DB": {"sourceServerIds": [sim.server_id("db-primary-01"), sim.server_id("db-replica-01")]},
        "App": {"serverSelectionTags": {"Tier": "app", "Application": "orders"}},
        "Web": {"serverSelectionTags": {"Tier": "web"}},
    }
    ids = {
        name: create_protection_group(
            services,
            CreateProtectionGroup.model_validate({"groupName": name, "region": AWS_REGION, **selection}),
            "alice",
        ).group.group_id
        for name, selection in groups.items()
    }
    web: dict[str, Any] = {
        "waveNumber": 3,
        "waveName": "Web",
        "protectionGroupId": ids["Web"],
        "dependsOnWaves": [1, 2],
    }
    if pause_wave_3:
        web["pauseBefore"] = True
    body = {
        "planName": "Orders DR",
        "waves": [
            {"waveNumber": 1, "waveName": "Database", "protectionGroupId": ids["DB"], "dependsOnWaves": []},
            {"waveNumber": 2, "waveName": "App", "protectionGroupId": ids["App"], "dependsOnWaves": []},
            web,
        ],
    }
    return create_recovery_plan(services, CreateRecoveryPlan.model_validate(body), "alice").plan


def _new_drill(machine: Machine, **plan_options: Any) -> str:
    plan = _plan(machine.services, machine.simulator, **plan_options)
    execution = build_execution(machine.services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING)
    return str(machine.services.store.create_execution(execution, "alice").execution_id)


def _execution(machine: Machine | Any, execution_id: str) -> Execution:
    """The execution as stored, through a Machine or plain Services."""
    services = machine.services if isinstance(machine, Machine) else machine
    found: Execution = services.store.get_execution(execution_id)
    return found


def _assert_completed_drill(machine: Machine, execution_id: str) -> Execution:
    execution = _execution(machine, execution_id)
    assert execution.status == ExecutionStatus.COMPLETED
    assert [w.status for w in execution.waves] == [WaveStatus.COMPLETED] * 3
    assert [len(w.servers) for w in execution.waves] == [2, 2, 3]
    db, app, web = execution.waves
    assert web.start_time is not None and db.end_time is not None and app.end_time is not None
    assert web.start_time >= max(db.end_time, app.end_time)  # the DAG: Web after Database and App
    assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED
    assert machine.simulator.client(AWS_REGION).describe_recovery_instances()["items"] == []
    launches = [
        j for j in machine.simulator.client(AWS_REGION).describe_jobs()["items"] if j["type"] == "LAUNCH"
    ]
    assert len(launches) == 3  # one DRS job per wave
    notifier: RecordingNotifier = machine.services.notifier
    delivered = notifier.events(execution_id)
    assert [e.seq for e in delivered] == [e.seq for e in execution.events]  # every event delivered
    return execution


def test_a_three_wave_drill_runs_to_completed_through_the_state_machine(machine: Machine) -> None:
    execution_id = _new_drill(machine)
    started_at = machine.clock.now()
    execution_arn = machine.start(execution_id)
    assert (
        execution_arn == f"arn:aws:states:{AWS_REGION}:{ACCOUNT}:execution:drbot-orchestration:{execution_id}"
    )

    described = machine.finished(execution_arn)

    assert described["status"] == "SUCCEEDED", described
    assert described["name"] == execution_id
    output = json.loads(described["output"])
    assert output == {
        "executionId": execution_id,
        "status": "COMPLETED",
        "done": True,
        "waitSeconds": output["waitSeconds"],
        "paused": False,
    }
    execution = _assert_completed_drill(machine, execution_id)
    assert execution.state_machine_arn == execution_arn
    states = machine.entered(execution_arn)
    assert states[0] == "Advance" and states[-1] == "Succeeded"
    assert "WaitForEvent" in states and "WaitForResume" not in states and "MarkFailed" not in states
    assert states.count("Advance") == len(machine.tasks("advance"))
    # the machine's waits moved the fake clock, not real time: DRS took its simulated minutes
    assert machine.clock.now() - started_at >= 60


def test_starting_twice_is_idempotent(machine: Machine) -> None:
    execution_id = _new_drill(machine)
    execution_arn = machine.start(execution_id)
    again = machine.driver.start(_execution(machine, execution_id))
    assert again.state_machine_arn == execution_arn
    assert machine.finished(execution_arn)["status"] == "SUCCEEDED"
    after_the_end = machine.driver.start(_execution(machine, execution_id))  # ExecutionAlreadyExists
    assert after_the_end.state_machine_arn == execution_arn
    runs = machine.sfn.list_executions(stateMachineArn=machine.arn)["executions"]
    assert [r["name"] for r in runs] == [execution_id]


def test_a_pause_gate_waits_on_the_task_token_until_resumed(machine: Machine) -> None:
    execution_id = _new_drill(machine, pause_wave_3=True)
    execution_arn = machine.start(execution_id)

    def holding_a_token() -> Execution | None:
        current = _execution(machine, execution_id)
        return current if current.status == ExecutionStatus.PAUSED and current.task_token else None

    paused = eventually(holding_a_token, "the machine to wait on its task token")
    assert paused.gate_wave == 3
    assert [w.status for w in paused.waves] == [
        WaveStatus.COMPLETED,
        WaveStatus.COMPLETED,
        WaveStatus.PENDING,
    ]
    assert machine.sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    assert machine.entered(execution_arn)[-1] == "WaitForResume"
    ticks_while_paused = len(machine.tasks("advance"))
    # the machine is parked on the token: time passing does not make it poll
    machine.clock.advance(600)
    threading.Event().wait(0.1)  # a moment of real time in which a polling machine would tick
    assert len(machine.tasks("advance")) == ticks_while_paused
    assert machine.entered(execution_arn)[-1] == "WaitForResume"

    # resume, as the execution service does: save RUNNING with the gate passed, then wake
    resumed = paused.with_status(ExecutionStatus.RUNNING, int(machine.clock.now())).model_copy(
        update={"gates_passed": [3], "gate_wave": None}
    )
    saved = machine.services.store.update_execution(resumed, "bob")
    machine.driver.wake(saved)

    described = machine.finished(execution_arn)
    assert described["status"] == "SUCCEEDED", described
    _assert_completed_drill(machine, execution_id)
    assert [t["taskToken"] for t in machine.tasks("pause")] == [paused.task_token]
    machine.driver.wake(saved)  # the token is spent: waking again is harmless


def test_a_resume_racing_the_pause_task_releases_the_wait_at_once(machine: Machine) -> None:
    execution_id = _new_drill(machine, pause_wave_3=True)

    def resume_first(event: dict[str, Any]) -> None:
        """The resume lands between advance() reporting PAUSED and the pause task saving the token."""
        if event.get("task") != "pause":
            return
        current = _execution(machine, execution_id)
        resumed = current.with_status(ExecutionStatus.RUNNING, int(machine.clock.now())).model_copy(
            update={"gates_passed": [3], "gate_wave": None}
        )
        machine.driver.wake(machine.services.store.update_execution(resumed, "bob"))  # no token yet

    machine.before_task.append(resume_first)
    execution_arn = machine.start(execution_id)

    described = machine.finished(execution_arn)
    assert described["status"] == "SUCCEEDED", described
    _assert_completed_drill(machine, execution_id)
    assert len(machine.tasks("pause")) == 1
    assert machine.entered(execution_arn).count("WaitForResume") == 1
    # released at once, never stored (a later WaitForEvent's token may be left, spent)
    assert _execution(machine, execution_id).task_token not in {
        t["taskToken"] for t in machine.tasks("pause")
    }


def test_transient_lambda_errors_are_retried(machine: Machine) -> None:
    from moto.awslambda.exceptions import LambdaClientError

    execution_id = _new_drill(machine)
    throttled: list[int] = []

    def throttle_twice(event: dict[str, Any]) -> None:
        if event.get("task") == "advance" and len(throttled) < 2:
            throttled.append(1)
            raise LambdaClientError("TooManyRequestsException", "Rate exceeded")

    machine.before_task.append(throttle_twice)
    execution_arn = machine.start(execution_id)

    described = machine.finished(execution_arn)
    assert described["status"] == "SUCCEEDED", described
    _assert_completed_drill(machine, execution_id)
    failures = [e for e in machine.history(execution_arn) if e["type"] == "TaskFailed"]
    assert [f["taskFailedEventDetails"]["error"] for f in failures] == ["Lambda.TooManyRequestsException"] * 2


def test_an_advance_that_fails_marks_the_execution_failed(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    execution_id = _new_drill(machine)
    calls: list[str] = []

    def advance_failing_once(services: Any, wanted: str) -> Any:
        calls.append(wanted)
        if len(calls) == 2:  # after the first tick launched waves 1 and 2
            raise RuntimeError("DynamoDB table drbot-execution-history is gone")
        return real_advance(services, wanted)

    monkeypatch.setattr(tasks, "advance", advance_failing_once)
    execution_arn = machine.start(execution_id)

    described = machine.finished(execution_arn)
    assert described["status"] == "FAILED", described
    assert described["error"] == "RuntimeError"
    assert "drbot-execution-history is gone" in described["cause"]
    assert machine.entered(execution_arn)[-2:] == ["MarkFailed", "Failed"]
    assert len(calls) == 2  # a non-transient error is not retried

    execution = _execution(machine, execution_id)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.end_time is not None and execution.task_token is None
    assert "drbot-execution-history is gone" in (execution.status_reason or "")
    assert [w.status for w in execution.waves] == [
        WaveStatus.LAUNCHING,
        WaveStatus.LAUNCHING,
        WaveStatus.SKIPPED,
    ]
    failed = [e for e in execution.events if e.type == EventType.FAILED]
    assert len(failed) == 1
    assert failed[0].details == {
        "error": "RuntimeError",
        "cause": "DynamoDB table drbot-execution-history is gone",
    }
    assert "no longer watched" in failed[0].message
    notifier: RecordingNotifier = machine.services.notifier
    assert notifier.events(execution_id)[-1].type == EventType.FAILED  # delivered

    # the Catch is idempotent: marking an ended execution again changes nothing
    again = handle_task({"task": "mark_failed", "executionId": execution_id, "error": {"Error": "X"}})
    assert again["status"] == "FAILED"
    assert _execution(machine, execution_id).version == execution.version


def test_a_failure_during_a_drills_delayed_cleanup_records_the_instances_left(
    sqlite_services: Any, clock: FakeClock, simulator: Any
) -> None:
    from orchestration.engine.advance import advance
    from orchestration.handlers import runtime

    services = sqlite_services
    services.notifier = RecordingNotifier()
    plan = _plan(services, simulator)
    execution = build_execution(
        services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING, cleanup_after_minutes=60
    )
    execution_id = services.store.create_execution(execution, "alice").execution_id
    for _ in range(200):
        result = advance(services, execution_id)
        if result.status == ExecutionStatus.COMPLETED:
            break
        clock.advance(result.wait_seconds)
    completed = _execution(services, execution_id)
    assert completed.status == ExecutionStatus.COMPLETED
    assert completed.cleanup is not None and completed.cleanup.status == CleanupStatus.SCHEDULED
    instances = completed.launched_instance_ids
    assert len(instances) == completed.cleanup.instances == 7

    runtime.use(services)
    try:
        handle_task(
            {
                "task": "mark_failed",
                "executionId": execution_id,
                "error": {"Error": "States.TaskFailed", "Cause": "the Lambda was deleted"},
            }
        )
        again = handle_task({"task": "mark_failed", "executionId": execution_id, "error": {}})
    finally:
        runtime.use(None)

    ended = _execution(services, execution_id)
    assert ended.status == ExecutionStatus.COMPLETED  # the drill itself succeeded
    assert ended.cleanup is not None and ended.cleanup.status == CleanupStatus.FAILED
    assert ended.cleanup.instances == len(instances)
    # every launched instance is marked as possibly left running, for the report to name
    assert sorted(
        s.recovery_instance_id or "" for w in ended.waves for s in w.servers if s.left_running
    ) == sorted(instances)
    assert "the Lambda was deleted" in (ended.cleanup.error or "")
    assert ended.events[-1].type == EventType.CLEANUP_FAILED
    assert ended.events[-1].details["instances"] == len(instances)
    assert not ended.needs_driving  # nothing left pending, every event delivered
    assert services.notifier.events(execution_id)[-1].type == EventType.CLEANUP_FAILED
    assert again["status"] == "COMPLETED"  # nothing more to record the second time
    assert _execution(services, execution_id).version == ended.version


# -- the safety polls: what a drill costs in state transitions when no event wakes it --------------

DRS_LAUNCH_SECONDS = 600.0  # x the demo estate's launch factors (0.8-1.8): 8 to 20 minutes a wave


class TestSafetyPollsWithDrsLikeLaunchTimes:
    """The machine, without any event, on a simulator whose launches take DRS-like minutes."""

    @pytest.fixture
    def simulator(self, clock: FakeClock) -> Iterator[Any]:
        from orchestration.drs.simulator import DrsSimulator

        sim = DrsSimulator(db_path=None, clock=clock, launch_seconds=DRS_LAUNCH_SECONDS)
        yield sim
        sim.close()

    @pytest.mark.parametrize("events", ["delivered", "all lost"])
    def test_a_three_wave_drill_costs_at_most_120_transitions_per_drill_hour(
        self, machine: Machine, events: str
    ) -> None:
        from bench.wake import sequential_drill

        if events == "all lost":  # only the safety polls move it
            machine.simulator.set_event_faults(EventFaults(lose_rate=1.0))
        execution_id = sequential_drill(machine)
        started_at = machine.clock.now()
        execution_arn = machine.start(execution_id)

        described = machine.finished(execution_arn, deadline=120.0)
        drill_hours = (machine.clock.now() - started_at) / 3600

        assert described["status"] == "SUCCEEDED", described
        execution = _execution(machine, execution_id)
        assert execution.status == ExecutionStatus.COMPLETED
        assert [w.status for w in execution.waves] == [WaveStatus.COMPLETED] * 3
        assert execution.cleanup is not None and execution.cleanup.status == CleanupStatus.COMPLETED
        # truth from DRS (the simulator's own job list): one LAUNCH job per wave, each 8-20 minutes
        launches = [
            j for j in machine.simulator.client(AWS_REGION).describe_jobs()["items"] if j["type"] == "LAUNCH"
        ]
        assert sorted(j["tags"]["drbot:wave"] for j in launches) == ["1", "2", "3"]
        durations = [
            datetime.fromisoformat(j["endDateTime"]) - datetime.fromisoformat(j["creationDateTime"])
            for j in launches
        ]
        assert all(timedelta(minutes=8) <= d <= timedelta(minutes=20) for d in durations), durations
        assert drill_hours >= 0.75  # three such waves one after another, and the cleanup
        assert machine.simulator.client(AWS_REGION).describe_recovery_instances()["items"] == []

        # every state entered is one transition: Advance, Done? and WaitForEvent per loop, then Succeeded
        states = machine.entered(execution_arn)
        assert states.count("Advance") == len(machine.tasks("advance"))
        assert states.count("Advance") == states.count("Done?") == states.count("WaitForEvent") + 1
        assert len(states) / drill_hours <= 120, (len(states), drill_hours)
        # the polls follow the work: far fewer looks than one every 10-20 s (about 240 an hour)
        assert states.count("Advance") < 40 * drill_hours


# -- waking on DRS events -----------------------------------------------------------------------------


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _web_start_after_launch_results(machine: Machine, execution: Execution) -> float:
    """Seconds from the last launch result DRS reported for waves 1 and 2 to wave 3's StartRecovery,
    both from the simulator's own records (its events without faults, its job list)."""
    simulator = machine.simulator
    simulator.set_event_faults(EventFaults())
    db, app, web = execution.waves
    reported = max(
        _epoch(e["time"])
        for e in simulator.events_due(0, machine.clock.now() + 3600)
        if e["detail-type"] == LAUNCH_RESULT and e["detail"]["job-id"] in {db.job_id, app.job_id}
    )
    created = {
        j["jobID"]: _epoch(j["creationDateTime"])
        for j in simulator.client(AWS_REGION).describe_jobs()["items"]
    }
    return created[web.job_id] - reported


def _waits(machine: Machine, execution_arn: str) -> tuple[int, int]:
    """(WaitForEvent waits released by SendTaskSuccess, waits that timed out) in the history."""
    history = machine.history(execution_arn)
    succeeded = sum(1 for e in history if e["type"] == "TaskSucceeded")
    timed_out = sum(1 for e in history if e["type"] == "TaskTimedOut")
    return succeeded, timed_out


def test_a_drs_launch_result_wakes_the_state_machine_at_once(machine: Machine) -> None:
    execution_id = _new_drill(machine)
    execution_arn = machine.start(execution_id)

    assert machine.finished(execution_arn)["status"] == "SUCCEEDED"
    execution = _assert_completed_drill(machine, execution_id)
    outcomes = [r["outcome"] for r in machine.event_results]
    assert "WOKEN" in outcomes  # SendTaskSuccess with the token the wait task recorded
    assert {r["executionId"] for r in machine.event_results if "executionId" in r} == {execution_id}
    released, _ = _waits(machine, execution_arn)
    assert released >= 1
    # the next wave starts at the event's time, not at a poll
    assert 0 <= _web_start_after_launch_results(machine, execution) <= 1
    assert machine.tasks("wait")


def test_with_every_event_lost_the_wait_times_out_and_the_machine_still_advances(machine: Machine) -> None:
    machine.simulator.set_event_faults(EventFaults(lose_rate=1.0))
    execution_id = _new_drill(machine)
    execution_arn = machine.start(execution_id)

    assert machine.finished(execution_arn)["status"] == "SUCCEEDED"
    execution = _assert_completed_drill(machine, execution_id)
    assert machine.event_results == []  # nothing was delivered
    _, timed_out = _waits(machine, execution_arn)
    assert timed_out >= 1  # the safety net moved it
    assert "WaitForEvent" in machine.entered(execution_arn)
    assert _web_start_after_launch_results(machine, execution) > 1  # later than with the event


def _launched_wave_event(machine: Machine, execution_id: str) -> dict[str, Any]:
    """Advance the execution once by hand (its first waves launch, tagged) and return the first
    launch-result event after which its job has no server still launching (the one that wakes;
    the results before it find others of the wave launching: IN_FLIGHT)."""
    real_advance(machine.services, execution_id)
    client = machine.simulator.client(AWS_REGION)
    while True:
        since = machine.clock.now()
        machine.clock.set(machine.simulator.next_event_at(since))
        for event in machine.simulator.events_due(since, machine.clock.now()):
            assert event["detail-type"] == LAUNCH_RESULT
            (job,) = client.describe_jobs(filters={"jobIDs": [event["detail"]["job-id"]]})["items"]
            statuses = {s.get("launchStatus") for s in job["participatingServers"]}
            if not statuses & {"PENDING", "IN_PROGRESS"}:
                return event


def test_an_event_while_no_wait_is_recorded_makes_the_next_wait_return_at_once(machine: Machine) -> None:
    execution_id = _new_drill(machine)
    event = _launched_wave_event(machine, execution_id)
    assert machine.handler is not None

    assert machine.handler(event) == {
        "eventId": event["id"],
        "outcome": "PENDING",
        "executionId": execution_id,
    }
    pending = _execution(machine, execution_id)
    assert pending.wake_pending and pending.woken_by == [event["id"]]

    duplicate = machine.handler(event)  # EventBridge delivered it twice
    assert duplicate["outcome"] == "DUPLICATE"
    assert _execution(machine, execution_id).version == pending.version  # nothing written

    execution_arn = machine.start(execution_id)
    assert machine.finished(execution_arn)["status"] == "SUCCEEDED"
    first_wait = machine.tasks("wait")[0]
    assert first_wait["executionId"] == execution_id
    # the first wait was released by its own task at once, and the pending wake consumed
    assert machine.history(execution_arn) and not _execution(machine, execution_id).wake_pending
    _assert_completed_drill(machine, execution_id)


def test_events_for_unknown_jobs_and_ended_executions_change_nothing(machine: Machine) -> None:
    execution_id = _new_drill(machine)
    event = _launched_wave_event(machine, execution_id)
    assert machine.handler is not None
    before = _execution(machine, execution_id)

    stranger = {
        **event,
        "id": "another-event",
        "detail": {**event["detail"], "job-id": "drsjob-00000000000000000"},
    }
    assert machine.handler(stranger) == {"eventId": "another-event", "outcome": "UNKNOWN"}
    drs = machine.simulator.client(AWS_REGION)
    some_server = drs.describe_source_servers()["items"][-1]["sourceServerID"]
    untagged = drs.start_recovery(sourceServers=[{"sourceServerID": some_server}], isDrill=True)["job"][
        "jobID"
    ]
    not_drbots = {**event, "id": "untagged", "detail": {**event["detail"], "job-id": untagged}}
    assert machine.handler(not_drbots)["outcome"] == "UNKNOWN"
    assert _execution(machine, execution_id).version == before.version

    ended = before.with_status(ExecutionStatus.FAILED, int(machine.clock.now()), reason="by hand")
    ended = ended.model_copy(
        update={"cleanup": None, "notified_through": max((e.seq for e in ended.events), default=0)}
    )
    saved = machine.services.store.update_execution(ended, "bob")
    assert not saved.needs_driving
    assert machine.handler(event)["outcome"] == "ENDED"
    assert _execution(machine, execution_id).version == saved.version


@pytest.mark.parametrize(
    "payload",
    [
        {"detail-type": LAUNCH_RESULT},
        {
            "detail-type": LAUNCH_RESULT,
            "source": "aws.s3",
            "id": "x",
            "account": ACCOUNT,
            "region": AWS_REGION,
        },
        {
            "detail-type": LAUNCH_RESULT,
            "source": "aws.drs",
            "id": "x",
            "account": ACCOUNT,
            "region": AWS_REGION,
            "detail": {"state": "DRILL_LAUNCH_SUCCEEDED"},
        },
        {
            "detail-type": LAUNCH_RESULT,
            "source": "aws.drs",
            "id": "x",
            "account": "not-an-account",
            "region": AWS_REGION,
            "detail": {"state": "DRILL_LAUNCH_SUCCEEDED", "job-id": "drsjob-1"},
        },
        {
            "detail-type": LAUNCH_RESULT,
            "source": "aws.drs",
            "id": "x",
            "account": ACCOUNT,
            "region": AWS_REGION,
            "detail": "DRILL_LAUNCH_SUCCEEDED",
        },
    ],
    ids=["no-source", "other-source", "no-job", "bad-account", "detail-not-object"],
)
def test_a_malformed_eventbridge_event_is_refused_and_changes_nothing(
    machine: Machine, payload: dict[str, Any]
) -> None:
    execution_id = _new_drill(machine)
    event = _launched_wave_event(machine, execution_id)
    before = _execution(machine, execution_id)
    assert machine.handler is not None
    with pytest.raises(ValidationFailed, match="EventBridge event"):
        machine.handler(payload)
    assert _execution(machine, execution_id) == before
    assert event["id"] not in before.woken_by
