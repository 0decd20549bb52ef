"""`Services`: the ports one process holds, handed to every service function and engine step.

Only the composition root (orchestration/bootstrap.py) builds one, picking the adapters; nothing
below it imports the composition root (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestration.aws import AwsApi
from orchestration.clock import Clock
from orchestration.config import Settings
from orchestration.directory import Directory, NoDirectory
from orchestration.ports import (
    Archiver,
    Driver,
    EvidenceArchive,
    ManualDriver,
    NoArchiver,
    Notifier,
    NoWakeUps,
    NullNotifier,
    WakeUps,
)
from orchestration.recurring import NoRecurringTasks, RecurringTasks
from orchestration.store.base import Store

if TYPE_CHECKING:  # the DRS clients are imported by what builds them: a request that calls no DRS
    from orchestration.drs.clients import DrsClients


@dataclass
class Services:
    """Everything a service function needs, built once per process by the composition root."""

    settings: Settings
    clock: Clock
    store: Store
    drs: DrsClients
    aws: AwsApi  # EC2, IAM, STS; the embedded default has none and says so
    notifier: Notifier = field(default_factory=NullNotifier)  # where execution events go
    driver: Driver = field(default_factory=ManualDriver)  # what calls advance() until done
    directory: Directory = field(default_factory=NoDirectory)  # group memberships for the role checks
    # where the tag-sync schedule is registered (orchestration/recurring.py); set by what fires it
    recurring: RecurringTasks = field(default_factory=NoRecurringTasks)
    # one-time wake-ups of an execution at a future moment (an approval deadline, a start grace)
    wakeups: WakeUps = field(default_factory=NoWakeUps)
    # where final evidence reports are archived (None: nowhere), and what archives them when the
    # engine delivers an execution's events (orchestration/services/archiving.py)
    evidence: EvidenceArchive | None = None
    archiver: Archiver = field(default_factory=NoArchiver)

    def close(self) -> None:
        self.driver.close()  # first: a local runner must stop ticking before the store closes
        self.drs.close()
        self.store.close()
