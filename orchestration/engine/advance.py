"""`advance(executionId)`: the whole orchestration, one idempotent step (DESIGN.md §4).

Each call reads the execution, observes DRS (one describe_jobs per region/account for every job
in flight), decides (`decide.py`, pure), saves the decision with a version check — claims included —
and only then acts: launches claimed waves, terminates a drill's instances. Events are saved with
the state that caused them and delivered to the notifier afterwards (an outbox), so a crash at any
point loses nothing: the next call picks up from what was saved.

Timeline of one wave, and where a crash leaves it:

    PENDING ──claim saved──▶ INITIATED(claimed_at) ──start_recovery──▶ job ──saved──▶ LAUNCHING
                 crash here: lease runs out,          crash here: the job is found by its tags
                 the wave is claimed again            (drbot:executionId, drbot:wave); never a 2nd job

Throttling and DRS outages (DrsUnavailable) never fail an execution: the tick records a DRS_RETRY
event once per streak and asks to be called again after an exponential backoff.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from orchestration.bootstrap import Services
from orchestration.drs.gateway import MAX_SERVER_IDS_PER_CALL, DrsGateway, DrsJob, RecoveryInstance, batches
from orchestration.engine.decide import IN_FLIGHT, Decision, Observation, decide
from orchestration.engine.timing import backoff_seconds, wait_seconds
from orchestration.errors import DrbotError, DrsLimitExceeded, DrsUnavailable, NotFound, StaleVersion
from orchestration.models import (
    CleanupRun,
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    ServerRun,
    WaveRun,
    WaveStatus,
)
from orchestration.services.groups import servers_of

logger = Logger(service="drbot")

ENGINE = "drbot-engine"  # the actor of the engine's own writes
TAG_EXECUTION = "drbot:executionId"
TAG_WAVE = "drbot:wave"
DELIVERY_GIVE_UP_SECONDS = 24 * 3600  # an ended execution stops retrying a notifier after a day
CURSOR_ATTEMPTS = 3  # a cursor write races at most the notifier's own write and a control click
_RACE_RETRIES = 3
MAX_CLEANUP_ROUNDS = 3  # rounds of termination before the survivors are reported for a person

Place = tuple[str, str | None]  # (region, account id)


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
            return _Tick(services, execution_id).run()
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
        paused=execution.status == ExecutionStatus.PAUSED and quiet and not execution.undelivered,
    )


class _Tick:
    def __init__(self, services: Services, execution_id: str) -> None:
        self.services = services
        self.store = services.store
        self.execution_id = execution_id
        self.now = int(services.clock.now())
        self.streak = 0  # consecutive DRS refusals before this tick (backoff)

    def save(self, execution: Execution) -> Execution:
        return self.store.update_execution(execution, ENGINE)

    def apply(self, execution: Execution, change: Callable[[Execution], Execution]) -> Execution:
        """Save `change(execution)`; if someone else wrote first (a pause click, a second tick),
        apply the same change to what they saved. Used to record what DRS already did."""
        for _ in range(_RACE_RETRIES):
            try:
                return self.save(change(execution))
            except StaleVersion:
                execution = self.store.get_execution(self.execution_id)
        return self.save(change(execution))

    def gateway(self, place: Place) -> DrsGateway:
        return self.services.drs.gateway(place[0], place[1])

    # -- the step ----------------------------------------------------------------------------------

    def run(self) -> AdvanceResult:
        execution = deliver(self.services, self.store.get_execution(self.execution_id))
        if not execution.needs_driving:
            return _result(execution, self.now)
        if execution.status == ExecutionStatus.PENDING_APPROVAL:
            return _result(self._expire_if_due(execution), self.now)
        if execution.status == ExecutionStatus.PENDING:
            execution = self.save(
                execution.with_status(ExecutionStatus.RUNNING, self.now).with_event(
                    EventType.STARTED,
                    self.now,
                    f"{_kind(execution)} of {execution.plan_name} started: {len(execution.waves)} wave(s)",
                )
            )
        self.streak = execution.transient_errors
        try:
            observation = self._observe(execution)
        except DrsUnavailable as error:
            execution = deliver(self.services, self._back_off(execution, error))
            return _result(execution, self.now)

        decision: Decision = decide(execution, observation, self.now, self.services.settings.drs_limits)
        execution = decision.execution
        if execution.transient_errors:
            execution = execution.model_copy(update={"transient_errors": 0})
        execution = self.save(execution)  # claims are durable before anything is launched

        for number in decision.launch:
            execution = self._launch(execution, number, recovering=False)
        for number in decision.recover:
            execution = self._launch(execution, number, recovering=True)
        if decision.terminate:
            execution = self._terminate(execution)
        execution = deliver(self.services, execution)
        return _result(execution, self.now, launched=bool(decision.launch or decision.recover))

    def _expire_if_due(self, execution: Execution) -> Execution:
        if execution.expires_at is None or self.now < execution.expires_at:
            return execution
        expired = execution.with_status(ExecutionStatus.EXPIRED, self.now, reason="Approval request expired")
        expired = expired.with_event(
            EventType.EXPIRED, self.now, "The approval request expired before enough approvers approved it"
        )
        return deliver(self.services, self.save(expired))

    # -- observing ---------------------------------------------------------------------------------

    def _observe(self, execution: Execution) -> Observation:
        """One describe_jobs per region/account for every job in flight, and one
        describe_recovery_instances for servers that launched since the last look."""
        job_ids: dict[Place, list[str]] = defaultdict(list)
        for wave in execution.waves:
            place = (wave.region or self.services.settings.region, wave.account_id)
            if wave.status in IN_FLIGHT and wave.job_id:
                job_ids[place].append(wave.job_id)
            if execution.cleanup is not None and execution.cleanup.status == CleanupStatus.TERMINATING:
                this_round = set(execution.cleanup.job_ids)
                job_ids[place].extend(j for j in wave.terminate_job_ids if j in this_round)
        jobs: dict[str, DrsJob] = {}
        instances: dict[str, RecoveryInstance] = {}
        for place, ids in job_ids.items():
            if not ids:
                continue
            found = self.gateway(place).jobs(ids)
            jobs.update({job.job_id: job for job in found})
            newly_launched = self._newly_launched(execution, found)
            if newly_launched:
                for instance in self.gateway(place).recovery_instances(newly_launched):
                    instances[instance.recovery_instance_id] = instance
        return Observation(jobs=jobs, instances=instances)

    @staticmethod
    def _newly_launched(execution: Execution, jobs: list[DrsJob]) -> list[str]:
        known = {
            s.source_server_id
            for w in execution.waves
            for s in w.servers
            if s.instance_id and s.snapshot_time
        }
        return [
            s.source_server_id
            for job in jobs
            if job.type == "LAUNCH"
            for s in job.servers
            if s.launch_status == LaunchStatus.LAUNCHED and s.source_server_id not in known
        ]

    def _back_off(self, execution: Execution, error: DrbotError) -> Execution:
        # the streak counts from before this tick: the decision saved earlier in the tick reset it
        first_of_streak = self.streak == 0
        execution = execution.model_copy(update={"transient_errors": self.streak + 1})
        if first_of_streak:
            execution = execution.with_event(
                EventType.DRS_RETRY,
                self.now,
                f"DRS is not answering ({error.message}); retrying with backoff",
            )
        logger.warning("DRS unavailable; backing off", extra={"execution_id": execution.execution_id})
        return self.save(execution)

    # -- acting ------------------------------------------------------------------------------------

    def _launch(self, execution: Execution, number: int, recovering: bool) -> Execution:
        wave = execution.wave(number)
        place = (wave.region or self.services.settings.region, wave.account_id)
        gateway = self.gateway(place)
        try:
            if recovering:
                job = self._find_job(gateway, execution, number)
                if job is not None:
                    return self._record_launch(execution, number, job, adopted=True)
                if execution.status == ExecutionStatus.CANCELLING:
                    return self._cancel_unlaunched(execution, number)
            server_ids, hostnames = self._wave_servers(execution, number, gateway)
            if not server_ids:
                done = execution.wave(number).with_status(WaveStatus.COMPLETED, self.now)
                return self.save(
                    execution.replace_wave(done).with_event(
                        EventType.WAVE_COMPLETED,
                        self.now,
                        f"Wave {number} ({wave.wave_name}) had no servers to launch",
                        wave_number=number,
                        launched=0,
                        total=0,
                    )
                )
            limit = self.services.settings.drs_limits.max_servers_per_job
            if len(server_ids) > limit:
                return self._fail_wave(
                    execution,
                    number,
                    f"{len(server_ids)} servers, more than the {limit} one DRS job can launch",
                )
            tags = {TAG_EXECUTION: execution.execution_id, TAG_WAVE: str(number)}
            is_drill = execution.execution_type == ExecutionType.DRILL
            job = gateway.start_recovery(server_ids, is_drill, tags)
        except (DrsUnavailable, DrsLimitExceeded) as error:
            # DRS did not start anything: release the claim and try again later
            released = execution.wave(number).with_status(WaveStatus.PENDING, self.now)
            released = released.model_copy(update={"claimed_at": None, "start_time": None})
            return self._back_off(execution.replace_wave(released), error)
        except DrbotError as error:
            return self._fail_wave(execution, number, error.message)
        servers = [ServerRun(source_server_id=sid, hostname=hostnames.get(sid, "")) for sid in server_ids]
        return self._record_launch(execution, number, job, servers=servers)

    def _wave_servers(
        self, execution: Execution, number: int, gateway: DrsGateway
    ) -> tuple[list[str], dict[str, str]]:
        """The wave's servers now: tag selectors are resolved at launch time."""
        wave = execution.wave(number)
        if wave.protection_group_id is None:
            return [s.source_server_id for s in wave.servers], {}
        try:
            group = self.store.get_group(wave.protection_group_id)
        except NotFound:
            raise NotFound(f"its protection group {wave.protection_group_id} no longer exists") from None
        servers = servers_of(group, gateway.source_servers())
        return [s.source_server_id for s in servers], {s.source_server_id: s.hostname for s in servers}

    def _find_job(self, gateway: DrsGateway, execution: Execution, number: int) -> DrsJob | None:
        """The job an earlier, interrupted tick started for this wave, if any (by its tags)."""
        since = (execution.wave(number).start_time or execution.requested_at) - 60
        for job in gateway.jobs_since(since):
            if job.tags.get(TAG_EXECUTION) == execution.execution_id and job.tags.get(TAG_WAVE) == str(
                number
            ):
                return job
        return None

    def _record_launch(
        self,
        execution: Execution,
        number: int,
        job: DrsJob,
        servers: list[ServerRun] | None = None,
        adopted: bool = False,
    ) -> Execution:
        runs = servers or [ServerRun(source_server_id=s.source_server_id) for s in job.servers]
        names = ", ".join(s.hostname or s.source_server_id for s in runs[:10])
        more = f" and {len(runs) - 10} more" if len(runs) > 10 else ""

        def record(current: Execution) -> Execution:
            wave = current.wave(number)
            if wave.job_id is not None:  # someone recorded it already
                return current
            launched = wave.with_status(WaveStatus.LAUNCHING, self.now).model_copy(
                update={"job_id": job.job_id, "servers": runs, "claimed_at": None}
            )
            return current.replace_wave(launched).with_event(
                EventType.WAVE_LAUNCHED,
                self.now,
                f"Wave {number} ({wave.wave_name}) launching {len(runs)} server(s): {names}{more}",
                wave_number=number,
                jobId=job.job_id,
                total=len(runs),
                recovered=adopted,
            )

        return self.apply(execution, record)

    def _cancel_unlaunched(self, execution: Execution, number: int) -> Execution:
        """A claimed wave that never reached DRS, of an execution cancelled since: not launched."""

        def cancel(current: Execution) -> Execution:
            wave = current.wave(number)
            if wave.status != WaveStatus.INITIATED or wave.job_id is not None:
                return current
            cancelled = wave.with_status(WaveStatus.CANCELLED, self.now).model_copy(
                update={"claimed_at": None}
            )
            return current.replace_wave(cancelled).with_event(
                EventType.WAVE_CANCELLED,
                self.now,
                f"Wave {number} ({wave.wave_name}) cancelled before it was launched",
                wave_number=number,
            )

        return self.apply(execution, cancel)

    def _fail_wave(self, execution: Execution, number: int, reason: str) -> Execution:
        wave = execution.wave(number)
        failed = wave.with_status(WaveStatus.FAILED, self.now).model_copy(
            update={"error": reason, "claimed_at": None}
        )
        return self.save(
            execution.replace_wave(failed).with_event(
                EventType.WAVE_FAILED,
                self.now,
                f"Wave {number} ({wave.wave_name}) failed to launch: {reason}",
                wave_number=number,
            )
        )

    def _terminate(self, execution: Execution) -> Execution:
        """One round of a drill's cleanup: terminate its instances that still exist (≤200 per DRS
        call), adopting TERMINATE jobs an interrupted tick of this round already started. A round
        that finds nothing left completes the cleanup; DRS refusing for now (throttled, quota
        full) keeps what was started and retries the rest in the next round."""
        cleanup = execution.cleanup
        if cleanup is None:
            return execution
        wanted = set(cleanup.recovery_instance_ids)
        started: dict[int, list[str]] = {}  # wave number -> TERMINATE jobs of this round
        survivors: list[str] = []
        refused: DrbotError | None = None
        for wave in execution.waves:
            ids = [s.recovery_instance_id for s in wave.servers if s.recovery_instance_id in wanted]
            if not ids or refused is not None:
                continue
            gateway = self.gateway((wave.region or self.services.settings.region, wave.account_id))
            try:
                existing = [
                    i.recovery_instance_id for i in gateway.recovery_instances_by_id([i for i in ids if i])
                ]
                if not existing:
                    continue
                survivors.extend(existing)
                adopted = self._terminations_in_flight(gateway, cleanup, wave)
                started[wave.wave_number] = [job.job_id for job in adopted]
                covered = {s.recovery_instance_id for job in adopted for s in job.servers}
                remaining = [i for i in existing if i not in covered]
                if cleanup.rounds >= MAX_CLEANUP_ROUNDS:
                    continue  # give up below, naming what is left
                for batch in batches(remaining, MAX_SERVER_IDS_PER_CALL):
                    started[wave.wave_number] += [
                        job.job_id for job in gateway.terminate_recovery_instances(batch)
                    ]
            except (DrsUnavailable, DrsLimitExceeded) as error:
                refused = error
            except DrbotError as error:
                refused = error
        return self.apply(
            execution,
            lambda current: self._record_cleanup_round(current, started, survivors, refused, len(wanted)),
        )

    def _terminations_in_flight(
        self, gateway: DrsGateway, cleanup: CleanupRun, wave: WaveRun
    ) -> list[DrsJob]:
        """Active TERMINATE jobs for this wave's servers started since the round began."""
        since = (cleanup.round_started_at or self.now) - 60
        servers = {s.source_server_id for s in wave.servers}
        return [
            job
            for job in gateway.jobs_since(since)
            if job.type == "TERMINATE" and job.is_active and servers & set(job.server_ids)
        ]

    def _record_cleanup_round(
        self,
        current: Execution,
        started: dict[int, list[str]],
        survivors: list[str],
        refused: DrbotError | None,
        total: int,
    ) -> Execution:
        claim = current.cleanup
        if claim is None or claim.status != CleanupStatus.TERMINATING or claim.job_ids:
            return current  # the cleanup moved on, or this round was recorded already
        jobs = [job_id for ids in started.values() for job_id in ids]
        waves = [
            w.model_copy(
                update={"terminate_job_ids": [*w.terminate_job_ids, *started.get(w.wave_number, [])]}
            )
            for w in current.waves
        ]
        current = current.model_copy(update={"waves": waves})
        transient = isinstance(refused, (DrsUnavailable, DrsLimitExceeded))
        if refused is not None and not transient:
            return self._end_cleanup(
                current, CleanupStatus.FAILED, f"DRS refused the cleanup: {refused.message}"
            )
        if not survivors:
            done = claim.model_copy(update={"status": CleanupStatus.COMPLETED, "finished_at": self.now})
            return current.model_copy(update={"cleanup": done}).with_event(
                EventType.CLEANUP_COMPLETED, self.now, f"Cleanup done: {total} drill instance(s) terminated"
            )
        if jobs:
            updated = current.model_copy(update={"cleanup": claim.model_copy(update={"job_ids": jobs})})
            if claim.rounds == 0:
                updated = updated.with_event(
                    EventType.CLEANUP_STARTED,
                    self.now,
                    f"Terminating {len(survivors)} drill instance(s)",
                    instances=len(survivors),
                )
            return updated
        if claim.rounds >= MAX_CLEANUP_ROUNDS:
            left = ", ".join(survivors[:10]) + (
                f" and {len(survivors) - 10} more" if len(survivors) > 10 else ""
            )
            return self._end_cleanup(
                current,
                CleanupStatus.FAILED,
                f"{len(survivors)} drill instance(s) still running after {claim.rounds} attempts: {left}; "
                "terminate them in the DRS console",
            )
        # DRS refused before anything started: try the round again after a backoff
        streak = self.streak + 1
        retry = claim.model_copy(
            update={
                "status": CleanupStatus.SCHEDULED,
                "due_at": self.now + backoff_seconds(streak),
                "claimed_at": None,
            }
        )
        current = current.model_copy(update={"cleanup": retry, "transient_errors": streak})
        if self.streak == 0 and refused is not None:
            current = current.with_event(
                EventType.DRS_RETRY,
                self.now,
                f"DRS refused the cleanup for now ({refused.message}); retrying",
            )
        return current

    def _end_cleanup(self, current: Execution, status: CleanupStatus, message: str) -> Execution:
        claim = current.cleanup
        assert claim is not None  # the caller checked
        ended = claim.model_copy(update={"status": status, "finished_at": self.now, "error": message})
        return current.model_copy(update={"cleanup": ended}).with_event(
            EventType.CLEANUP_FAILED, self.now, message
        )


def deliver(services: Services, execution: Execution) -> Execution:
    """Hand undelivered events to the notifier; on success move the delivery cursor.

    At least once: if the cursor cannot be saved, the events are offered again (notifiers dedupe
    by seq). A failing notifier is retried on later ticks; a day after the end it is given up."""
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
    posted): on a stale version the fresh copy gets the cursor, so the next tick offers nothing twice."""
    for _ in range(CURSOR_ATTEMPTS):
        if execution.notified_through >= seq:
            return execution
        try:
            moved = execution.model_copy(update={"notified_through": seq})
            return services.store.update_execution(moved, ENGINE)
        except StaleVersion:
            execution = services.store.get_execution(execution.execution_id)
    return execution


def _kind(execution: Execution) -> str:
    return "Drill" if execution.execution_type == ExecutionType.DRILL else "Recovery"
