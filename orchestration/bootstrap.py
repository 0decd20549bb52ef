"""The composition root: the one place that picks adapters for a runtime.

`build_services()` reads Settings (environment, overridden by explicit arguments) and wires either
the embedded default — SQLite file + DRS simulator on the same file — or AWS — DynamoDB tables +
real DRS with cross-account roles. `build_running_services()` adds what drives executions in a
long-lived local process: a LocalRunner given the engine step, the wake handler and the start-up
sweep it runs (it is the process's WakeUps too). Nothing is built, and nothing optional is
imported, at import time: each branch imports its adapters (the simulator, DynamoDB, APScheduler,
Step Functions, EventBridge Scheduler) when it picks them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.aws import AwsApi, AwsSessions, NoAws
from orchestration.clock import Clock, SystemClock
from orchestration.config import Settings
from orchestration.context import Services
from orchestration.directory import Directory, NoDirectory
from orchestration.drs.clients import AwsDrsClients, DrsClients, SimulatedDrsClients
from orchestration.ports import (
    Driver,
    EventSource,
    EvidenceArchive,
    ManualDriver,
    Notifier,
    NoWakeUps,
    NullNotifier,
    WakeUps,
)
from orchestration.recurring import NoRecurringTasks, RecurringTasks
from orchestration.store.base import Store

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from orchestration.engine.local_runner import LocalRunner


def build_services(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    drs: DrsClients | None = None,
    aws: AwsApi | None = None,
    notifier: Notifier | None = None,
    driver: Driver | None = None,
    directory: Directory | None = None,
    recurring: RecurringTasks | None = None,
    wakeups: WakeUps | None = None,
    evidence: EvidenceArchive | None = None,
) -> Services:
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    if settings.backend == "aws":
        from orchestration.store.dynamodb import DynamoDbStore

        store = store or DynamoDbStore(settings.tables, region=settings.region, clock=clock)
        sessions = AwsSessions(store)
        drs = drs or AwsDrsClients(sessions)
        aws = aws or sessions
        if driver is None and settings.state_machine_arn:
            from orchestration.engine.stepfunctions import StepFunctionsDriver

            sfn = sessions.client("stepfunctions", settings.region)
            driver = StepFunctionsDriver(settings.state_machine_arn, sfn)
        if evidence is None and settings.evidence_bucket:
            from orchestration.evidence.s3 import S3Archive

            evidence = S3Archive(sessions.client("s3", settings.region), settings.evidence_bucket)
        if wakeups is None and settings.wake_up_function_arn:
            from orchestration.engine.eventbridge_wake_ups import EventBridgeWakeUps, WakeUpTarget

            client = sessions.client("scheduler", settings.region)
            wakeups = EventBridgeWakeUps(client, WakeUpTarget.from_settings(settings), clock)
    else:
        from orchestration.drs.simulator import simulator_from_settings
        from orchestration.store.sqlite import SqliteStore

        store = store or SqliteStore(settings.db_path, clock=clock)
        drs = drs or SimulatedDrsClients(simulator_from_settings(settings, clock=clock))
        aws = aws or (drs.aws() if isinstance(drs, SimulatedDrsClients) else NoAws())
        from orchestration.engine.local_runner import LocalRunner

        if wakeups is None and isinstance(driver, LocalRunner):  # it fires the wake-ups too
            wakeups = driver
        evidence = evidence or _evidence_folder(settings)
    services = Services(
        settings=settings,
        clock=clock,
        store=store,
        drs=drs,
        aws=aws,
        notifier=notifier or NullNotifier(),
        driver=driver or ManualDriver(),
        directory=directory or NoDirectory(),
        recurring=recurring or NoRecurringTasks(),
        wakeups=wakeups or NoWakeUps(),
        evidence=evidence,
    )
    if evidence is not None:  # final reports are archived where the engine delivers events
        from orchestration.services.archiving import ReportArchiver

        services.archiver = ReportArchiver(evidence).bind(services)
    return services


def _evidence_folder(settings: Settings) -> EvidenceArchive | None:
    """The embedded default's archive: DRBOT_EVIDENCE_DIR, else `evidence` beside the database (an
    S3 bucket, when DRBOT_EVIDENCE_BUCKET names one; none for an in-memory database)."""
    if settings.evidence_bucket:
        import boto3

        from orchestration.evidence.s3 import S3Archive

        return S3Archive(boto3.client("s3", region_name=settings.region), settings.evidence_bucket)
    from orchestration.evidence.folder import FolderArchive

    root = settings.evidence_dir or (settings.data_dir / "evidence" if settings.data_dir else None)
    return FolderArchive(root) if root is not None else None


def local_runner(scheduler: BackgroundScheduler | None = None) -> LocalRunner:
    """The embedded default's driver and wake-ups, given what it runs: one engine step (`advance`)
    per due execution, the wake handler per due wake-up (orchestration/services/wake_ups.py) and, at
    start-up, the sweep (orchestration/services/sweep.py)."""
    from orchestration.engine.advance import advance
    from orchestration.engine.local_runner import LocalRunner
    from orchestration.services.sweep import sweep
    from orchestration.services.wake_ups import wake

    return LocalRunner(advance=advance, wake=wake, sweep=sweep, scheduler=scheduler)


def event_source(services: Services) -> EventSource | None:
    """Where a local runner reads the events DRS sends to EventBridge: the simulator's, when DRS is
    simulated (orchestration/drs/sim/events.py); None otherwise (the runner then only polls)."""
    if isinstance(services.drs, SimulatedDrsClients):
        return services.drs.simulator
    return None


def build_running_services(
    settings: Settings | None = None,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
    *,
    start: bool = True,
) -> Services:
    """Services for a long-lived local process: on the embedded default, with a LocalRunner as the
    driver, started (it picks up what a previous process left running) — or, with `start=False`,
    left for `start_running` once the process has set up where events go. On AWS, Step Functions
    drives executions and nothing is started here."""
    settings = settings or Settings.from_env()
    if settings.backend != "embedded":
        return build_services(settings, notifier=notifier, clock=clock)
    runner = local_runner()
    services = build_services(settings, notifier=notifier, driver=runner, clock=clock)
    runner.bind(services, events=event_source(services))
    if start:
        runner.run()
    return services


def start_running(services: Services) -> None:
    """Start the local runner of services built with `build_running_services(start=False)`."""
    from orchestration.engine.local_runner import LocalRunner

    if isinstance(services.driver, LocalRunner):
        services.driver.run()
