"""The Slack thread of an execution: where its messages are posted, saved beside it (the channel a
run was requested in, then the thread its messages went to)."""

from __future__ import annotations

from collections.abc import Callable

from orchestration.context import Services
from orchestration.errors import Conflict, StaleVersion
from orchestration.models import Execution, SlackThread
from orchestration.services.execution_saving import RETRIES


def with_slack_thread(execution: Execution, channel: SlackThread | None) -> Execution:
    """A new execution with the Slack thread it was requested in (None: no channel)."""
    return execution.model_copy(update={"slack": channel})


def update_slack_thread(
    services: Services, execution_id: str, change: Callable[[Execution], SlackThread | None]
) -> Execution:
    """Save `change(execution)` as the execution's Slack thread, and nothing else: re-read and
    re-applied when another writer (the engine, a click) saved first. No event, no delivery."""

    def with_thread(current: Execution) -> Execution:
        thread = change(current)
        return current if thread == current.slack else current.model_copy(update={"slack": thread})

    try:
        return services.store.modify_execution(execution_id, with_thread, "drbot", attempts=RETRIES)
    except StaleVersion as stale:
        raise Conflict(
            f"Execution {execution_id} kept changing while its Slack thread was being saved; try again.",
            executionId=execution_id,
        ) from stale
