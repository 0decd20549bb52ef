"""The event after which an execution's record is final (`closing_event`): a drill's cleanup
outcome when it has instances to terminate, else the end of the run.

It is its own module because the Slack notifier asks it on every notification, while the evidence
report it decides the timing of (orchestration/services/report.py) builds its models only for the
requests that post or show a report (docs/architecture.md, "Layers").
"""

from __future__ import annotations

from orchestration.models import (
    CleanupStatus,
    EventType,
    Execution,
    ExecutionEvent,
    ExecutionStatus,
    ExecutionType,
)

RUN_ENDINGS = frozenset({EventType.COMPLETED, EventType.FAILED, EventType.CANCELLED})
CLEANUP_ENDINGS = frozenset({EventType.CLEANUP_COMPLETED, EventType.CLEANUP_FAILED})
_RAN = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})


def closing_event(execution: Execution) -> ExecutionEvent | None:
    """The event that closes the record: a drill's cleanup outcome when it has instances to
    terminate, else the end of the run (COMPLETED, FAILED, CANCELLED). None until then, and for a
    request that never ran."""
    if execution.status not in _RAN:
        return None
    cleanup = execution.cleanup
    waits_for_cleanup = (
        execution.execution_type == ExecutionType.DRILL
        and cleanup is not None
        and cleanup.status != CleanupStatus.NOT_NEEDED
    )
    wanted = CLEANUP_ENDINGS if waits_for_cleanup else RUN_ENDINGS
    return next((e for e in execution.events if e.type in wanted), None)
