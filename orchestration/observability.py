"""drbot's logs, traces and metrics on AWS Lambda: the powertools Logger, Tracer and Metrics
(service "drbot", namespace "drbot"), and the one decorator every Lambda entry point wears.

`lambda_entry` stacks powertools' `inject_lambda_context` (JSON logs with the request id, state
cleared per invocation), `capture_lambda_handler` (an X-Ray subsegment) and `log_metrics` (one EMF
blob flushed at the end, with a cold-start metric), and adds the correlation ids the event carries
(executionId, planId, scheduleId) to every log line of the invocation.

The Tracer is built only where tracing is on: inside the Lambda runtime (`LAMBDA_TASK_ROOT` set,
the template's `Tracing: Active`) unless POWERTOOLS_TRACE_DISABLED says otherwise or SAM CLI /
Chalice emulates Lambda, the conditions powertools itself disables tracing under. There it is built
at import, as before: it loads the X-Ray SDK and patches botocore and `http.client` (TRACED_MODULES,
nothing else drbot does not call), so every AWS and Slack Web API call of an invocation is a
subsegment. Anywhere else `tracer` is None and the X-Ray SDK (about 100 ms of
imports) is never loaded; a disabled Tracer would have recorded nothing anyway. A plain Python call with no
Lambda context (scripts, the seed's local examples, tests) runs the handler as it is: there is no
CloudWatch to report to, and metrics would otherwise pile up in memory.

Metrics (CloudWatch EMF, dimension `service`):

| metric | unit | from |
| --- | --- | --- |
| ExecutionsStarted, ExecutionsCompleted, ExecutionsFailed, ExecutionsCancelled | Count | `MetricsNotifier` |
| WaveDuration | Seconds | `MetricsNotifier`, when a wave completes or fails |
| DrsApiErrors | Count | `record_drs_api_error`, from the DRS gateway's error path |

Metrics are only recorded inside an instrumented invocation, whose `log_metrics` flushes them; the
embedded default's long-lived process never records any (powertools would print a blob to stdout
every 100 metrics).
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from orchestration.models import EventType, Execution, ExecutionEvent
from orchestration.ports import CompositeNotifier, Notifier, flush_deferred

SERVICE = "drbot"
NAMESPACE = "drbot"


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a Tracer would record: in the Lambda runtime, not emulated, not switched off by
    POWERTOOLS_TRACE_DISABLED (powertools' own conditions, see the module docstring)."""
    if resolve_truthy_env_var_choice(env=environ.get(constants.TRACER_DISABLED_ENV, "false")):
        return False
    emulated = environ.get(constants.SAM_LOCAL_ENV) or environ.get(constants.CHALICE_LOCAL_ENV)
    return bool(environ.get(constants.LAMBDA_TASK_ROOT_ENV)) and not emulated


logger = Logger(service=SERVICE)
# what drbot calls: AWS through botocore, Slack's Web API through urllib (http.client). Tracer's
# default patches every library X-Ray supports that is installed, importing each (requests, sqlite3...)
TRACED_MODULES = ("botocore", "httplib")
# built where it records (Lambda with tracing on): Tracer() loads the X-Ray SDK and patches them
tracer: Tracer | None = Tracer(service=SERVICE, patch_modules=TRACED_MODULES) if tracing_enabled() else None
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# most invocations (a Slack ack, a query) record no metric: powertools would warn on each of them
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

EXECUTIONS_STARTED = "ExecutionsStarted"
EXECUTIONS_COMPLETED = "ExecutionsCompleted"
EXECUTIONS_FAILED = "ExecutionsFailed"
EXECUTIONS_CANCELLED = "ExecutionsCancelled"
WAVE_DURATION = "WaveDuration"
DRS_API_ERRORS = "DrsApiErrors"

_EXECUTION_COUNTS: Mapping[EventType, str] = {
    EventType.STARTED: EXECUTIONS_STARTED,
    EventType.COMPLETED: EXECUTIONS_COMPLETED,
    EventType.FAILED: EXECUTIONS_FAILED,
    EventType.CANCELLED: EXECUTIONS_CANCELLED,
}
_WAVE_ENDS = frozenset({EventType.WAVE_COMPLETED, EventType.WAVE_FAILED})
# the ids that tie log lines to a drbot object, wherever an event carries them
CORRELATION_KEYS = ("executionId", "planId", "scheduleId")
FLUSH_SECONDS = 5.0  # at most this long at an invocation's end for queued notifications

Handler = TypeVar("Handler", bound=Callable[..., Any])

_state = threading.local()  # .recording: inside an instrumented invocation (its log_metrics flushes)


def recording() -> bool:
    """True while an instrumented Lambda invocation runs on this thread."""
    return bool(getattr(_state, "recording", False))


def lambda_entry(handler: Handler) -> Handler:
    """The decorator of every Lambda entry point (see the module docstring)."""

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        logger.append_keys(**correlation_ids(event))
        _state.recording = True
        try:
            return handler(event, context)
        finally:
            _state.recording = False
            # queued notifications (the Slack notifier's) go before the invocation ends; what
            # cannot go in time is given back to the record (orchestration/ports.py)
            flush_deferred(FLUSH_SECONDS)

    traced = metrics.log_metrics(invoke, capture_cold_start_metric=True)
    if tracer is not None:
        # the response stays out of the trace: listings and exports outgrow an X-Ray segment
        traced = tracer.capture_lambda_handler(traced, capture_response=False)
    instrumented = logger.inject_lambda_context(clear_state=True)(traced)

    @functools.wraps(handler)
    def entry(event: Any, context: Any) -> Any:
        if context is None:  # a plain Python call: no Lambda, nothing to report to
            try:
                return handler(event, context)
            finally:
                flush_deferred(FLUSH_SECONDS)
        return instrumented(event, context)

    return entry  # type: ignore[return-value]


def correlation_ids(event: Any) -> dict[str, str]:
    """executionId, planId and scheduleId from wherever the event has them: at its top (state
    machine tasks, scheduled fires), in a direct invocation's body or query, or in a REST path."""
    if not isinstance(event, Mapping):
        return {}
    found: dict[str, str] = {}
    for part in (event.get("pathParameters"), event.get("queryParams"), event.get("body"), event):
        if not isinstance(part, Mapping):
            continue  # a REST body is a JSON string: the path names the object already
        for key in CORRELATION_KEYS:
            value = part.get(key)
            if isinstance(value, str) and value and key not in found:
                found[key] = value
    return found


def record_drs_api_error(code: str) -> None:
    """Count one failed DRS call (the gateway's error path); `code` is DRS's error code."""
    if not recording():
        return
    metrics.add_metric(name=DRS_API_ERRORS, unit=MetricUnit.Count, value=1)
    logger.debug("DRS API error counted", extra={"drs_error": code or "Unknown"})


class MetricsNotifier:
    """The Notifier port as CloudWatch metrics: execution outcomes and wave durations.

    Events arrive at least once (a Slack outage makes the composite offer them again), so each
    execution's highest counted `seq` is remembered and nothing is counted twice by this container."""

    MAX_REMEMBERED = 1000  # executions whose last counted seq is kept (oldest forgotten first)

    def __init__(self) -> None:
        self._counted: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def deliver(self, execution: Execution, events: Sequence[ExecutionEvent]) -> None:
        if not recording():
            return
        fresh = self._fresh(execution.execution_id, events)
        for event in fresh:
            name = _EXECUTION_COUNTS.get(event.type)
            if name is not None:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
            elif event.type in _WAVE_ENDS and event.wave_number is not None:
                seconds = _wave_seconds(execution, event.wave_number)
                if seconds is not None:
                    metrics.add_metric(name=WAVE_DURATION, unit=MetricUnit.Seconds, value=seconds)

    def _fresh(self, execution_id: str, events: Sequence[ExecutionEvent]) -> list[ExecutionEvent]:
        with self._lock:
            last = self._counted.get(execution_id, 0)
            fresh = [e for e in events if e.seq > last]
            if fresh:
                self._counted[execution_id] = max(e.seq for e in fresh)
                self._counted.move_to_end(execution_id)
                while len(self._counted) > self.MAX_REMEMBERED:
                    self._counted.popitem(last=False)
        return fresh


def _wave_seconds(execution: Execution, wave_number: int) -> int | None:
    for wave in execution.waves:
        if wave.wave_number == wave_number and wave.start_time is not None and wave.end_time is not None:
            return max(0, wave.end_time - wave.start_time)
    return None


def with_metrics(notifier: Notifier | None) -> Notifier:
    """`notifier` plus the MetricsNotifier (a CompositeNotifier), or the MetricsNotifier alone."""
    return MetricsNotifier() if notifier is None else CompositeNotifier(MetricsNotifier(), notifier)


__all__ = [
    "CORRELATION_KEYS",
    "MetricsNotifier",
    "correlation_ids",
    "lambda_entry",
    "logger",
    "metrics",
    "record_drs_api_error",
    "tracer",
    "tracing_enabled",
    "with_metrics",
]
