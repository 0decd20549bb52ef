"""What one tick of the engine works with: the services, the moment, and the ways it saves.

`advance` makes one `Tick` per call; launching a wave (`launch.py`) and a drill's cleanup
(`cleanup.py`) act through it, so every write of a tick goes through the same two doors:

- `save(execution)`: the decision of this tick, with the version check (a racing tick loses and
  starts over from what the winner saved);
- `record(execution, change)`: what DRS already did (a job started, instances terminated) must not
  be lost to a race, so on a stale version the same change is applied to what the other writer saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from orchestration.drs.gateway import DrsGateway, DrsJob
from orchestration.errors import DrbotError, StaleVersion
from orchestration.models import EventType, Execution, WaveRun

if TYPE_CHECKING:
    from orchestration.context import Services

logger = Logger(service="drbot")

ENGINE = "drbot-engine"  # the actor of the engine's own writes
TAG_EXECUTION = "drbot:executionId"
TAG_WAVE = "drbot:wave"
RACE_RETRIES = 3
# how far before the run started DRS's clock may be, when asking DRS for the run's jobs by date
CLOCK_MARGIN_SECONDS = 300

Place = tuple[str, str | None]  # (region, account id)


class Tick:
    def __init__(self, services: Services, execution_id: str) -> None:
        self.services = services
        self.store = services.store
        self.settings = services.settings
        self.execution_id = execution_id
        self.now = int(services.clock.now())
        self.streak = 0  # consecutive DRS refusals before this tick (backoff)
        self._run_jobs: dict[Place, list[DrsJob]] = {}

    def save(self, execution: Execution) -> Execution:
        return self.store.update_execution(execution, ENGINE)

    def record(self, execution: Execution, change: Callable[[Execution], Execution]) -> Execution:
        """Save `change(execution)`; if someone else wrote first (a pause click, a second tick),
        apply the same change to what they saved (`Store.modify_execution`)."""
        updated = change(execution)
        if updated is execution:
            return execution
        try:
            return self.save(updated)
        except StaleVersion:
            return self.store.modify_execution(self.execution_id, change, ENGINE, attempts=RACE_RETRIES)

    def place(self, wave: WaveRun) -> Place:
        return (wave.region or self.settings.region, wave.account_id)

    def gateway(self, place: Place) -> DrsGateway:
        return self.services.drs.gateway(place[0], place[1])

    def run_started(self, execution: Execution) -> int:
        """From when DRS is asked for this run's jobs (fromDate)."""
        return (execution.start_time or execution.requested_at) - CLOCK_MARGIN_SECONDS

    def run_jobs(self, execution: Execution, place: Place) -> list[DrsJob]:
        """Every DRS job of `place` created since the run started (every page), asked once per tick:
        observing the waves in flight, reconciling a launch and a cleanup look all read this one
        listing. Taken within this tick, it shows every job an earlier attempt started."""
        if place not in self._run_jobs:
            self._run_jobs[place] = self.gateway(place).jobs_since(self.run_started(execution))
        return self._run_jobs[place]

    def forget_run_jobs(self) -> None:
        self._run_jobs.clear()

    def back_off(self, execution: Execution, error: DrbotError) -> Execution:
        """Count one more DRS refusal in a row (the wait grows with it), with one DRS_RETRY event per
        streak. The streak counts from before this tick: a decision saved earlier reset it."""
        first_of_streak = self.streak == 0
        execution = execution.model_copy(update={"transient_errors": self.streak + 1})
        if first_of_streak:
            execution = execution.with_event(
                EventType.DRS_RETRY,
                self.now,
                f"DRS is not answering ({error.message}); retrying with backoff",
            )
        logger.warning(
            "DRS unavailable; backing off",
            extra={"execution_id": execution.execution_id, "error_code": error.code},
        )
        return self.save(execution)


def named(names: list[str], limit: int = 10) -> str:
    """`a, b, c` — the first `limit` names, then how many more."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
