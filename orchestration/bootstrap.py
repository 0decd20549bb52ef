"""The composition root: the one place that picks adapters for a runtime.

`build_services()` reads Settings (environment, overridden by explicit arguments) and wires either
the embedded default — SQLite file + DRS simulator on the same file — or AWS — DynamoDB tables +
real DRS with cross-account roles. Nothing is built at import time.
"""

from __future__ import annotations

from orchestration.aws import AwsApi, AwsSessions, NoAws
from orchestration.clock import Clock, SystemClock
from orchestration.config import Settings
from orchestration.context import Services
from orchestration.directory import Directory, NoDirectory
from orchestration.drs.clients import AwsDrsClients, DrsClients, SimulatedDrsClients
from orchestration.ports import Driver, ManualDriver, Notifier, NullNotifier
from orchestration.recurring import NoRecurringTasks, RecurringTasks
from orchestration.store.base import Store


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
    else:
        from orchestration.drs.simulator import simulator_from_settings
        from orchestration.store.sqlite import SqliteStore

        store = store or SqliteStore(settings.db_path, clock=clock)
        drs = drs or SimulatedDrsClients(simulator_from_settings(settings, clock=clock))
        aws = aws or (drs.aws() if isinstance(drs, SimulatedDrsClients) else NoAws())
    return Services(
        settings=settings,
        clock=clock,
        store=store,
        drs=drs,
        aws=aws,
        notifier=notifier or NullNotifier(),
        driver=driver or ManualDriver(),
        directory=directory or NoDirectory(),
        recurring=recurring or NoRecurringTasks(),
    )
