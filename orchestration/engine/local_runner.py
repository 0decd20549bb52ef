"""The local driver of `advance`: an APScheduler background scheduler in drbot's own process.

Each execution that needs driving has a due time, moved after every tick by the tick's
`waitSeconds`; one APScheduler interval job (the pump) ticks whatever is due. At start-up the runner
picks up every such execution from the store, so killing drbot mid-drill and starting it again
loses nothing: the store is the source of truth, the runner only remembers when to look next.

The pump also reads the events DRS sends to EventBridge (an EventSource given at `bind`: the
simulator's on the embedded default) and hands each to `wake_on_event` (orchestration/engine/wake.py),
which wakes its execution: a wave's launch result makes the next tick happen at that pump, not at
the tick's `waitSeconds`, which stays the safety net for a late or lost event.

The pump also sweeps every `sweep_seconds` of the services' clock: approval requests whose time is
up are expired (their messages updated), approved runs nobody started are started. The runner is
given what it runs — the engine step and the sweep (orchestration/services/sweep.py) — by the
composition root (`local_runner()` in orchestration/bootstrap.py), so the engine imports no service.

Why one pump job rather than an APScheduler date job per execution: a date job is removed by the
scheduler thread after it fires, which can race with the tick re-adding the same job id; and due
times measured on the services' clock let tests drive the runner with a FakeClock
(`run_pending()`), never waiting for real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.engine.advance import AdvanceResult
from orchestration.engine.timing import IDLE
from orchestration.engine.wake import wake_on_event
from orchestration.models import Execution
from orchestration.ports import EventSource

Step = Callable[[Services, str], AdvanceResult]  # one engine step of one execution: `advance`
Sweep = Callable[[Services], object]  # the periodic look at executions nothing drives

logger = Logger(service="drbot")

PUMP_SECONDS = 1.0
ERROR_RETRY_SECONDS = 30  # a tick that failed unexpectedly is tried again, never dropped
PICK_UP_LIMIT = 1000


class LocalRunner:
    """Driver for the embedded default (see the module docstring)."""

    def __init__(
        self,
        *,
        advance: Step,
        sweep: Sweep,
        sweep_seconds: float,
        scheduler: BackgroundScheduler | None = None,
    ) -> None:
        self._advance = advance
        self._sweep = sweep
        self._sweep_seconds = sweep_seconds
        self._scheduler = scheduler or BackgroundScheduler(timezone=UTC)
        self._services: Services | None = None
        self._due: dict[str, float] = {}  # execution id -> epoch seconds on the services' clock
        self._lock = threading.Lock()
        self._running = False
        self._next_sweep: float | None = None  # None: at the first pump
        self._events: EventSource | None = None
        self._events_since = 0.0  # events delivered up to this time (services' clock) were read

    # -- lifecycle -------------------------------------------------------------------------------

    def bind(self, services: Services, events: EventSource | None = None) -> LocalRunner:
        """The services whose executions this runner drives (they name this runner as driver), and
        where it reads DRS's events on each pump (the simulator on the embedded default; None: it
        polls only). Events delivered before this call are not read: the safety poll covers them."""
        self._services = services
        self._events = events
        self._events_since = services.clock.now()
        return self

    def run(self, pump: bool = True) -> int:
        """Pick up every execution that needs driving and (unless `pump` is False, as in tests)
        start ticking them in the background; returns how many were picked up."""
        services = self._bound()
        pending = services.store.list_executions(active_only=True, limit=PICK_UP_LIMIT)
        for execution in pending:
            self._schedule(execution.execution_id, 0)
        if pending:
            logger.info("picked up executions", extra={"count": len(pending)})
        with self._lock:
            if pump and not self._running:
                self._scheduler.add_job(
                    self.run_pending,
                    trigger="interval",
                    seconds=PUMP_SECONDS,
                    id="drbot-runner-pump",
                    max_instances=1,
                    coalesce=True,
                    replace_existing=True,
                )
                self._scheduler.start()
                self._running = True
        return len(pending)

    def close(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        with self._lock:
            if self._running:
                self._scheduler.shutdown(wait=False)
                self._running = False

    # -- the Driver port -------------------------------------------------------------------------

    def start(self, execution: Execution) -> Execution:
        self._schedule(execution.execution_id, 0)
        return execution

    def wake(self, execution: Execution) -> bool:
        self._schedule(execution.execution_id, 0)
        return True

    # -- ticking ---------------------------------------------------------------------------------

    def scheduled(self) -> dict[str, float]:
        """Execution id -> when (epoch seconds) it is ticked next."""
        with self._lock:
            return dict(self._due)

    def run_pending(self) -> int:
        """Sweep when due, read the DRS events delivered since the last pump (each wakes its
        execution at once, orchestration/engine/wake.py), then tick every execution that is due by
        the services' clock; returns how many were ticked."""
        self.sweep_if_due()
        self.read_events()
        now = self._bound().clock.now()
        with self._lock:
            due = [execution_id for execution_id, at in self._due.items() if at <= now]
            for execution_id in due:
                del self._due[execution_id]
        for execution_id in due:
            self.tick(execution_id)
        return len(due)

    def sweep_if_due(self) -> bool:
        """Run the sweep if `sweep_seconds` have passed since the last one; True if it ran."""
        services = self._bound()
        now = services.clock.now()
        with self._lock:
            if self._next_sweep is not None and now < self._next_sweep:
                return False
            self._next_sweep = now + self._sweep_seconds
        try:
            self._sweep(services)
        except Exception:  # the store was unreachable, say: the next sweep tries again
            logger.exception("sweep failed")
        return True

    def read_events(self) -> int:
        """Feed every event delivered since the last read to `wake_on_event`; returns how many. An
        event that fails is logged and dropped: the safety poll looks anyway."""
        services = self._bound()
        if self._events is None:
            return 0
        now = services.clock.now()
        with self._lock:
            since, self._events_since = self._events_since, max(self._events_since, now)
        if now <= since:
            return 0
        try:
            events = self._events.events_due(since, now)
        except Exception:
            logger.exception("reading DRS events failed; the safety poll looks anyway")
            return 0
        for event in events:
            try:
                wake_on_event(services, event)
            except Exception:
                logger.exception(
                    "a DRS event could not wake its execution", extra={"event_id": event.get("id")}
                )
        return len(events)

    def tick(self, execution_id: str) -> None:
        try:
            result = self._advance(self._bound(), execution_id)
        except Exception:  # an unexpected failure must not drop the execution: try again later
            logger.exception("advance failed; retrying", extra={"execution_id": execution_id})
            self._schedule(execution_id, ERROR_RETRY_SECONDS)
            return
        if result.done:
            return
        # a paused execution is woken by resume; the slow poll notices a resume made elsewhere
        self._schedule(execution_id, IDLE if result.paused else result.wait_seconds)

    # -- internals -------------------------------------------------------------------------------

    def _bound(self) -> Services:
        if self._services is None:
            raise RuntimeError("LocalRunner.bind(services) first")
        return self._services

    def _schedule(self, execution_id: str, delay_seconds: float) -> None:
        at = self._bound().clock.now() + max(0.0, delay_seconds)
        with self._lock:
            current = self._due.get(execution_id)
            self._due[execution_id] = at if current is None else min(current, at)
