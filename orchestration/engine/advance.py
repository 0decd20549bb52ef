"""`advance(executionId)`: the whole orchestration, one idempotent step (docs/engine.md).

Each call reads the execution, observes DRS (one describe_jobs per region/account for every job
in flight), decides (`decide.py`, pure), saves the decision with a version check — claims included —
and only then acts: launches claimed waves (`launch.py`: reconciled with DRS first, exactly once),
takes a look of a drill's cleanup (`cleanup.py`: verified against DRS). Events are saved with the
state that caused them and delivered to the notifier afterwards (an outbox), so a crash at any
point loses nothing: the next call picks up from what was saved.

Timeline of one wave, and where a crash leaves it:

    PENDING ──claim saved──▶ INITIATED(claimed_at) ──start_recovery──▶ job ──saved──▶ LAUNCHING
                 crash here: lease runs out,          crash or lost answer here: the job is found
                 the wave is claimed again            by its tags before any new StartRecovery

Throttling and DRS outages (DrsUnavailable) never fail an execution: the tick records a DRS_RETRY
event once per streak and asks to be called again after an exponential backoff.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from orchestration.approval_expiry import expire, is_expired
from orchestration.drs.gateway import DrsJob, RecoveryInstance
from orchestration.engine.cleanup import look
from orchestration.engine.decide import IN_FLIGHT, Decision, Observation, decide
from orchestration.engine.launch import launch_wave
from orchestration.engine.tick import ENGINE, TAG_EXECUTION, TAG_WAVE, Place, Tick
from orchestration.engine.timing import wait_seconds
from orchestration.errors import DrsUnavailable, StaleVersion
from orchestration.models import (
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    LaunchStatus,
)
from orchestration.ports import WAKE_GATE

if TYPE_CHECKING:
    from orchestration.context import Services

__all__ = ["ENGINE", "TAG_EXECUTION", "TAG_WAVE", "AdvanceResult", "advance", "deliver"]

logger = Logger(service="drbot")

DELIVERY_GIVE_UP_SECONDS = 24 * 3600  # an ended execution stops retrying a notifier after a day
CURSOR_ATTEMPTS = 3  # a cursor write races at most the notifier's own write and a control click
_RACE_RETRIES = 3


@dataclass(frozen=True)
class AdvanceResult:
    execution_id: str
    status: ExecutionStatus
    done: bool  # nothing left to drive: stop calling
    wait_seconds: int  # call again after this long
    paused: bool  # PAUSED with nothing in flight: wait for resume instead of polling

    def to_wire(self) -> dict[str, Any]:
        return {
            "executionId": self.execution_id,
            "status": str(self.status),
            "done": self.done,
            "waitSeconds": self.wait_seconds,
            "paused": self.paused,
        }


def advance(services: Services, execution_id: str) -> AdvanceResult:
    """One step of an execution. Safe to call twice at once and after a crash anywhere."""
    for _ in range(_RACE_RETRIES):
        try:
            return _run(Tick(services, execution_id))
        except StaleVersion:
            continue  # another writer (a second tick, a pause click) got there first: read again
    execution = services.store.get_execution(execution_id)
    return _result(execution, int(services.clock.now()), launched=True)


def _result(execution: Execution, now: int, launched: bool = False) -> AdvanceResult:
    quiet = not any(w.status in IN_FLIGHT for w in execution.waves) and not (
        execution.cleanup is not None and execution.cleanup.status == CleanupStatus.TERMINATING
    )
    return AdvanceResult(
        execution_id=execution.execution_id,
        status=execution.status,
        done=not execution.needs_driving,
        wait_seconds=wait_seconds(execution, now, launched),
        # waiting for a person; a gate with a deadline too: its wake-up wakes the driver then
        paused=execution.status == ExecutionStatus.PAUSED and quiet and not execution.undelivered,
    )


def _run(tick: Tick) -> AdvanceResult:
    services = tick.services
    execution = deliver(services, tick.store.get_execution(tick.execution_id))
    if not execution.needs_driving:
        return _result(execution, tick.now)
    if execution.status == ExecutionStatus.PENDING_APPROVAL:
        return _result(_expire_if_due(tick, execution), tick.now)
    if execution.status == ExecutionStatus.PENDING:
        execution = tick.save(
            execution.with_status(ExecutionStatus.RUNNING, tick.now).with_event(
                EventType.STARTED,
                tick.now,
                f"{execution.execution_type.word.capitalize()} of {execution.plan_name} started: "
                f"{len(execution.waves)} wave(s)",
            )
        )
    tick.streak = execution.transient_errors
    try:
        observation = _observe(tick, execution)
    except DrsUnavailable as error:
        execution = deliver(services, tick.back_off(execution, error))
        return _result(execution, tick.now)

    decision: Decision = decide(execution, observation, tick.now, tick.settings.drs_limits)
    decided = decision.execution
    if decided.transient_errors and not _cleanup_backing_off(decided):
        decided = decided.model_copy(update={"transient_errors": 0})
    if decided is not execution:
        _arm_gate(services, execution, decided)
        execution = tick.save(decided)  # claims are durable before anything is launched

    for number in (*decision.launch, *decision.recover):
        execution = launch_wave(tick, execution, number)
    if decision.terminate:
        execution = look(tick, execution)
    execution = deliver(services, execution)
    return _result(execution, tick.now, launched=bool(decision.launch or decision.recover))


def _arm_gate(services: Services, before: Execution, decided: Execution) -> None:
    """An unattended drill pausing at a gate with a deadline: its wake-up, before the save (the
    driver parks until a resume or the wake-up; docs/engine.md, "Wake-ups")."""
    deadline = decided.gate_deadline
    if decided.status == ExecutionStatus.PAUSED and deadline is not None and deadline != before.gate_deadline:
        services.wakeups.at(decided.execution_id, deadline, WAKE_GATE)


def _cleanup_backing_off(execution: Execution) -> bool:
    """A cleanup whose last look DRS did not fully answer keeps its streak until a full answer."""
    cleanup = execution.cleanup
    return cleanup is not None and cleanup.status == CleanupStatus.TERMINATING


def _expire_if_due(tick: Tick, execution: Execution) -> Execution:
    if not is_expired(execution, tick.now):
        return execution
    return deliver(tick.services, tick.save(expire(execution, tick.now)))


def _observe(tick: Tick, execution: Execution) -> Observation:
    """One describe_jobs per region/account for the launch jobs in flight, and one
    describe_recovery_instances for servers that launched since the last look."""
    job_ids: dict[Place, list[str]] = defaultdict(list)
    for wave in execution.waves:
        if wave.status in IN_FLIGHT and wave.job_id:
            job_ids[tick.place(wave)].append(wave.job_id)
    jobs: dict[str, DrsJob] = {}
    instances: dict[str, RecoveryInstance] = {}
    for place, ids in job_ids.items():
        gateway = tick.gateway(place)
        listed = {job.job_id: job for job in tick.run_jobs(execution, place)}
        found = [listed[i] for i in ids if i in listed]
        missing = [i for i in ids if i not in listed]  # only if DRS's clock ran far behind drbot's
        found += gateway.jobs(missing) if missing else []
        jobs.update({job.job_id: job for job in found})
        newly_launched = _newly_launched(execution, found)
        if newly_launched:
            for instance in gateway.recovery_instances(newly_launched):
                instances[instance.recovery_instance_id] = instance
    return Observation(jobs=jobs, instances=instances)


def _newly_launched(execution: Execution, jobs: list[DrsJob]) -> list[str]:
    known = {
        s.source_server_id for w in execution.waves for s in w.servers if s.instance_id and s.snapshot_time
    }
    return [
        s.source_server_id
        for job in jobs
        if job.type == "LAUNCH"
        for s in job.servers
        if s.launch_status == LaunchStatus.LAUNCHED and s.source_server_id not in known
    ]


def deliver(services: Services, execution: Execution) -> Execution:
    """Hand undelivered events to the notifier; on success move the delivery cursor.

    At least once: if the cursor cannot be saved, the events are offered again (notifiers dedupe
    by seq). A failing notifier is retried on later ticks; a day after the end it is given up.
    First, a record that became final has its evidence report archived (the Archiver port; it
    never raises), so what the notifier posts can say where the copy is."""
    execution = services.archiver.archive(execution)
    pending = execution.undelivered
    if not pending:
        return execution
    try:
        services.notifier.deliver(execution, pending)
    except Exception:  # a notifier outage must never fail the execution
        logger.warning(
            "notifier failed; events kept for the next tick",
            extra={"execution_id": execution.execution_id, "pending": len(pending)},
            exc_info=True,
        )
        now = int(services.clock.now())
        if not (
            execution.is_terminal
            and execution.end_time
            and now - execution.end_time > DELIVERY_GIVE_UP_SECONDS
        ):
            return execution
        logger.error("giving up delivering events", extra={"execution_id": execution.execution_id})
    return _move_cursor(services, execution, pending[-1].seq)


def _move_cursor(services: Services, execution: Execution, seq: int) -> Execution:
    """Save `notified_through = seq`. A notifier may itself write the execution (the Slack thread it
    posted): on a stale version the fresh copy gets the cursor, so the next tick offers nothing twice.
    If the races go on, the cursor stays and the events are offered again (notifiers dedupe by seq)."""

    def move(current: Execution) -> Execution:
        if current.notified_through >= seq:
            return current
        return current.model_copy(update={"notified_through": seq})

    moved = move(execution)
    if moved is execution:
        return execution
    try:
        return services.store.update_execution(moved, ENGINE)
    except StaleVersion:
        try:
            return services.store.modify_execution(
                execution.execution_id, move, ENGINE, attempts=CURSOR_ATTEMPTS
            )
        except StaleVersion:
            return execution
