"""`python -m bench.wake`: what wakes an execution, and what it costs while nothing happens.

Figures, each measured, none asserted here (tests/integration/test_statemachine.py asserts the
goal; bench/README.md says what each figure means):

- **State transitions per drill-hour**: a drill of sequential waves on the DRS simulator, with
  launches of DRS-like length (`--launch-seconds`, 600 by default: 8 to 20 minutes a wave on the
  demo estate), driven by the real state machine definition under moto's interpreter on a fake
  clock (bench/statemachine_moto.py) WITHOUT any event: only the safety polls wake it. Every state
  entered is one transition (moto's execution history); per hour of the drill's fake-clock time.
  Also from that run: how long after DRS ended a launch the engine saw it, and how long after the
  previous wave's last launch result the next wave's StartRecovery came (the safety poll's cost).
- **Invocations per idle day**: the rate()/cron() schedules template.yaml declares, per target
  function, counted over a UTC day by drbot's own schedule-expression parser.
- The same drill with the simulator's events delivered to the execution function (as the
  EventBridge rules do): its transitions per drill-hour and how soon the engine acted.
- **Event wake-up figures** on the embedded default with the simulator's events
  (`event_wake_figures`): DRS launch result -> the wave's thread reply (p95), previous wave's last
  launch result -> next StartRecovery.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

from bench.statemachine_moto import Machine, fake_aws_environ, running_machine
from orchestration.bootstrap import build_running_services
from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.drs.sim.events import LAUNCH_RESULT, EventFaults
from orchestration.drs.sim.format import parse_iso_datetime
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.local_runner import LocalRunner
from orchestration.models import EventType, ExecutionStatus, ExecutionType
from orchestration.ports import RecordingNotifier
from orchestration.requests import CreateProtectionGroup, CreateRecoveryPlan
from orchestration.schedule_expressions import parse
from orchestration.services.execution_builder import build_execution
from orchestration.services.groups import create_protection_group
from orchestration.services.plans import create_recovery_plan

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
DEFAULT_LAUNCH_SECONDS = 600.0  # x the demo estate's launch factors (0.8-1.8): 8 to 20 min a wave
TIERS = ("database", "app", "web")  # the demo estate's tiers, one wave each, one after another
RUN_DEADLINE_SECONDS = 120.0  # real time the moto run may take
TRANSITION_GOAL = 120  # per drill-hour, issue "progress at the speed of DRS events"
EXECUTION_FUNCTION = "ExecutionFunction"


@dataclass
class DrillRun:
    """One drill driven by the state machine under moto, without events."""

    launch_seconds: float
    status: str  # the drbot execution's status at the end
    machine_status: str  # the Step Functions execution's
    states: list[str]  # states entered, in order (one transition each)
    drill_seconds: float  # fake-clock time from the machine's start to its end
    launch_jobs: dict[int, int] = field(default_factory=dict)  # wave -> LAUNCH jobs DRS holds
    wave_seconds: list[float] = field(default_factory=list)  # each wave's DRS job, creation to end
    seen_after: list[float] = field(default_factory=list)  # DRS job end -> the engine's wave end
    next_start_after: list[float] = field(default_factory=list)  # wave's job end -> next StartRecovery

    @property
    def transitions(self) -> int:
        return len(self.states)

    @property
    def advances(self) -> int:
        return self.states.count("Advance")

    @property
    def per_drill_hour(self) -> float:
        return self.transitions * 3600 / max(self.drill_seconds, 1.0)


def sequential_drill(machine: Machine, waves: Sequence[str] = TIERS) -> str:
    """A drill of the demo estate, one wave per tier, each after the one before; its execution id."""
    return _sequential_drill(machine.services, waves)


def _sequential_drill(services: Any, waves: Sequence[str] = TIERS) -> str:
    previous: list[int] = []
    plan_waves: list[dict[str, Any]] = []
    for number, tier in enumerate(waves, start=1):
        group = create_protection_group(
            services,
            CreateProtectionGroup.model_validate(
                {"groupName": tier.title(), "region": REGION, "serverSelectionTags": {"Tier": tier}}
            ),
            "alice",
        ).group
        plan_waves.append(
            {
                "waveNumber": number,
                "waveName": tier.title(),
                "protectionGroupId": group.group_id,
                "dependsOnWaves": previous,
            }
        )
        previous = [number]
    plan = create_recovery_plan(
        services, CreateRecoveryPlan.model_validate({"planName": "Tiers", "waves": plan_waves}), "alice"
    ).plan
    execution = build_execution(services, plan, ExecutionType.DRILL, "alice", ExecutionStatus.PENDING)
    return str(services.store.create_execution(execution, "alice").execution_id)


def _launch_jobs(simulator: DrsSimulator) -> list[dict[str, Any]]:
    """DRS's own LAUNCH jobs, every page, as the simulator lists them."""
    jobs: list[dict[str, Any]] = []
    pages = simulator.client(REGION).get_paginator("describe_jobs").paginate()
    for page in pages:
        jobs.extend(j for j in page["items"] if j["type"] == "LAUNCH")
    return jobs


def _seconds(text: str | None) -> float:
    parsed = parse_iso_datetime(text or "")
    if parsed is None:
        raise ValueError(f"not a DRS timestamp: {text!r}")
    return parsed


def measure(machine: Machine, execution_id: str) -> DrillRun:
    """Run the drill through the machine to its end and read the figures: transitions from moto's
    execution history, jobs and their times from the simulator, when the engine acted from the
    stored execution."""
    started_at = machine.clock.now()
    arn = machine.start(execution_id)
    described = machine.finished(arn, RUN_DEADLINE_SECONDS)
    drill_seconds = machine.clock.now() - started_at
    execution = machine.services.store.get_execution(execution_id)
    jobs = _launch_jobs(machine.simulator)
    run = DrillRun(
        launch_seconds=machine.simulator.timing.launch_seconds,
        status=str(execution.status),
        machine_status=described["status"],
        states=machine.entered(arn),
        drill_seconds=drill_seconds,
    )
    ended: dict[int, float] = {}
    for job in jobs:
        wave = int(job["tags"].get("drbot:wave", 0))
        run.launch_jobs[wave] = run.launch_jobs.get(wave, 0) + 1
        if "endDateTime" in job:
            ended[wave] = _seconds(job["endDateTime"])
            run.wave_seconds.append(ended[wave] - _seconds(job["creationDateTime"]))
    for wave in execution.waves:
        if wave.wave_number in ended and wave.end_time is not None:
            run.seen_after.append(wave.end_time - ended[wave.wave_number])
        for before in wave.depends_on_waves:
            if before in ended and wave.start_time is not None:
                run.next_start_after.append(wave.start_time - ended[before])
    return run


def drill_under_moto(
    launch_seconds: float = DEFAULT_LAUNCH_SECONDS, waves: Sequence[str] = TIERS, *, events: bool = False
) -> DrillRun:
    """A sequential drill on a fresh simulator and a fresh moto account: with the simulator's DRS
    events sent to the execution function (`events`), or with every event lost (the safety polls
    alone)."""
    with tempfile.TemporaryDirectory(prefix="drbot-wake-") as tmp, fake_aws_environ(Path(tmp)):
        clock = FakeClock()
        simulator = DrsSimulator(db_path=None, clock=clock, launch_seconds=launch_seconds)
        try:
            with running_machine(clock, simulator, Path(tmp) / "drbot.db") as machine:
                if not events:
                    simulator.set_event_faults(EventFaults(lose_rate=1.0))
                return measure(machine, sequential_drill(machine, waves))
        finally:
            simulator.close()


# -- invocations while idle ---------------------------------------------------------------------------


def _schedules(template: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(target function's logical id, expression) for every schedule the template declares: SAM
    Schedule/ScheduleV2 events of a function, AWS::Events::Rule and AWS::Scheduler::Schedule
    resources naming a function of the template in their target."""
    resources: dict[str, Any] = template.get("Resources", {})
    for name, resource in resources.items():
        properties = resource.get("Properties", {}) or {}
        if resource.get("Type") == "AWS::Serverless::Function":
            for event in (properties.get("Events") or {}).values():
                if event.get("Type") in ("Schedule", "ScheduleV2"):
                    expression = (event.get("Properties") or {}).get("ScheduleExpression") or (
                        event.get("Properties") or {}
                    ).get("Schedule")
                    if isinstance(expression, str):
                        yield name, expression
        elif resource.get("Type") in ("AWS::Events::Rule", "AWS::Scheduler::Schedule"):
            expression = properties.get("ScheduleExpression")
            targets = properties.get("Targets") or [properties.get("Target") or {}]
            for target in targets:
                function = _referenced(target.get("Arn"), resources)
                if isinstance(expression, str) and function:
                    yield function, expression


def _referenced(value: Any, resources: dict[str, Any]) -> str | None:
    """The logical id of the function a target's Arn names (Ref or GetAtt), else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            name = value["Ref"]
        elif "Fn::GetAtt" in value:
            attribute = value["Fn::GetAtt"]
            name = attribute[0] if isinstance(attribute, list) else str(attribute).split(".")[0]
        else:
            return None
        return name if resources.get(name, {}).get("Type", "").endswith("Function") else None
    return None


def fires_per_day(expression: str, day: datetime | None = None) -> int:
    """How often a rate() or cron() expression fires in one UTC day (at() schedules: once at most,
    not an idle cost, so 0)."""
    parsed = parse(expression)
    if parsed.kind == "at":
        return 0
    start = day or datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, so weekday crons count
    end = start + timedelta(days=1)
    times = parsed.next_fire_times(start - timedelta(microseconds=1), 24 * 60 * 60 + 1, "UTC", start=start)
    return sum(1 for t in times if t < end)


def idle_invocations_per_day(template_path: Path = TEMPLATE) -> dict[str, int]:
    """Invocations per UTC day that the template's own schedules cause, by target function."""
    template, problems = decode_str(template_path.read_text(encoding="utf-8"))
    if problems:
        raise ValueError(f"{template_path.name} does not parse: {problems}")
    counts: dict[str, int] = {}
    for function, expression in _schedules(dict(template)):
        counts[function] = counts.get(function, 0) + fires_per_day(expression)
    return counts


# -- what events will change ----------------------------------------------------------------------------


EVENT_DRILLS = 8  # drills of the embedded default measured with events (3 waves each)
EVENT_LAUNCH_SECONDS = 20.0  # the embedded default's simulator (DRBOT_SIM_LAUNCH_SECONDS)
PUMP_SECONDS = 1.0  # the local runner's pump (orchestration/engine/local_runner.py)


@dataclass
class EventFigures:
    """On the embedded default with the simulator's events (seconds on its clock)."""

    reply_after: list[float] = field(default_factory=list)  # last launch result -> wave's reply
    next_start_after: list[float] = field(default_factory=list)  # last launch result -> next start


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def event_wake_figures(
    drills: int = EVENT_DRILLS, launch_seconds: float = EVENT_LAUNCH_SECONDS
) -> EventFigures:
    """Drills on the embedded default as `make run` composes it (a local runner that reads the
    simulator's events on each 1 s pump), on a fake clock that jumps to the next pump at which
    something is due. For each wave: from the DRS launch result of its last server (the event's
    time, as the simulator reported it) to the wave's reply handed to the notifier (its
    WAVE_COMPLETED event: the Slack notifier posts it in the thread; the post itself is timed by
    `python -m bench.slack_ack`), and to the next wave's StartRecovery (the job's creation time in
    the simulator's own job list)."""
    figures = EventFigures()
    for drill in range(drills):
        with tempfile.TemporaryDirectory(prefix="drbot-events-") as tmp:
            clock = FakeClock()
            clock.advance(drill * 86_400)  # another day: other jobs, other event times
            db = Path(tmp) / "drbot.db"
            notifier = RecordingNotifier()
            settings = Settings.from_env({}, db_path=db, sim_launch_seconds=launch_seconds)
            services = build_running_services(settings, notifier=notifier, clock=clock, start=False)
            runner = services.driver
            assert isinstance(runner, LocalRunner)
            simulator = services.drs.simulator
            execution_id = _sequential_drill(services)
            runner.run(pump=False)
            for _ in range(5000):
                if not services.store.get_execution(execution_id).needs_driving:
                    break
                now = clock.now()
                upcoming = list(runner.scheduled().values()) + list(runner.wake_ups().values())
                event_at = simulator.next_event_at(now)
                if event_at is not None:
                    upcoming.append(event_at)
                clock.set(max(now + PUMP_SECONDS, min(upcoming, default=now + PUMP_SECONDS)))
                runner.run_pending()
            execution = services.store.get_execution(execution_id)
            results: dict[str, float] = {}
            for event in simulator.events_due(0, clock.now() + 3600):
                if event["detail-type"] == LAUNCH_RESULT:
                    job = event["detail"]["job-id"]
                    results[job] = max(results.get(job, 0.0), _seconds(event["time"]))
            created = {j["jobID"]: _seconds(j["creationDateTime"]) for j in _launch_jobs(simulator)}
            replies = {
                e.wave_number: e.at
                for e in notifier.events(execution_id)
                if e.type == EventType.WAVE_COMPLETED
            }
            for wave in execution.waves:
                if wave.job_id in results and wave.wave_number in replies:
                    figures.reply_after.append(replies[wave.wave_number] - results[wave.job_id])
                for before in wave.depends_on_waves:
                    job = execution.wave(before).job_id
                    if job in results and wave.job_id in created:
                        figures.next_start_after.append(created[wave.job_id] - results[job])
            services.close()
    return figures


# -- the report -------------------------------------------------------------------------------------------


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values):.0f} s, max {max(values):.0f} s"


def report(
    run: DrillRun, idle: dict[str, int], evented: DrillRun | None = None, events: EventFigures | None = None
) -> str:
    waves, next_start = run.wave_seconds, run.next_start_after
    lines = [
        f"Drill with every event lost, state machine under moto: {len(run.launch_jobs)} sequential waves, "
        f"simulator launch_seconds {run.launch_seconds:.0f}",
        f"  status: drbot {run.status}, Step Functions {run.machine_status}",
        f"  DRS launch jobs per wave: {dict(sorted(run.launch_jobs.items()))}",
        f"  wave launch times (DRS, creation to end): {', '.join(f'{s / 60:.1f} min' for s in waves)}",
        f"  drill time (fake clock): {run.drill_seconds / 60:.1f} min",
        f"  state transitions: {run.transitions} ({run.advances} Advance), "
        f"{run.per_drill_hour:.0f} per drill-hour (goal <= {TRANSITION_GOAL})",
        f"  DRS launch end -> engine saw it (safety poll only): {_spread(run.seen_after)}",
        f"  previous wave's launch end -> next StartRecovery (safety poll only): {_spread(next_start)}",
    ]
    if evented is not None:
        lines += [
            "",
            "The same drill with the simulator's events sent to the execution function:",
            f"  status: drbot {evented.status}, Step Functions {evented.machine_status}",
            f"  DRS launch jobs per wave: {dict(sorted(evented.launch_jobs.items()))}",
            f"  state transitions: {evented.transitions} ({evented.advances} Advance), "
            f"{evented.per_drill_hour:.0f} per drill-hour (goal <= {TRANSITION_GOAL})",
            f"  DRS launch end -> engine saw it: {_spread(evented.seen_after)}",
            f"  previous wave's launch end -> next StartRecovery: {_spread(evented.next_start_after)}",
        ]
    lines += ["", "Invocations per idle day from template.yaml's rate()/cron() schedules:"]
    lines += [f"  {function}: {count:,}" for function, count in sorted(idle.items())] or ["  none"]
    lines.append(f"  total: {sum(idle.values()):,}")
    if events is not None and events.reply_after:
        lines += [
            "",
            f"Embedded default with the simulator's events ({len(events.reply_after)} waves, "
            f"launch_seconds {EVENT_LAUNCH_SECONDS:.0f}, 1 s pump):",
            f"  DRS launch result -> the wave's thread reply handed to the notifier: p95 "
            f"{_p95(events.reply_after):.1f} s, max {max(events.reply_after):.1f} s (goal p95 < 5 s)",
            f"  previous wave's last launch result -> next StartRecovery: p95 "
            f"{_p95(events.next_start_after):.1f} s, max {max(events.next_start_after):.1f} s (goal <= 2 s)",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> tuple[DrillRun, dict[str, int]]:
    parser = argparse.ArgumentParser(prog="python -m bench.wake", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--launch-seconds",
        type=float,
        default=DEFAULT_LAUNCH_SECONDS,
        help=f"the simulator's launch_seconds (default {DEFAULT_LAUNCH_SECONDS:.0f})",
    )
    parser.add_argument("--event-drills", type=int, default=EVENT_DRILLS, help="embedded drills with events")
    args = parser.parse_args(argv)
    run = drill_under_moto(args.launch_seconds)
    evented = drill_under_moto(args.launch_seconds, events=True)
    idle = idle_invocations_per_day()
    events = event_wake_figures(args.event_drills)
    print(f"drbot wake-up benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n", flush=True)
    print(report(run, idle, evented, events), flush=True)
    return run, idle


if __name__ == "__main__":
    finished, _ = main(sys.argv[1:])
    sys.exit(0 if finished.machine_status == "SUCCEEDED" else 1)
