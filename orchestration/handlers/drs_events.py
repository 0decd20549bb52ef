"""The execution function's entry for the events DRS (and EC2) send to EventBridge: a rule on the
hub's event bus targets the execution function with "DRS Source Server Launch Result" and a
terminated instance's "EC2 Instance State-change Notification" (template.yaml, docs/statemachine.md).
orchestration/handlers/execution.py hands such events here, beside the state machine's tasks; the
one place that acts on them is orchestration/engine/wake.py. A malformed event raises
ValidationFailed and changes nothing; the services are the Lambda runtime's (handlers/runtime.py).
"""

from __future__ import annotations

from typing import Any

from orchestration.engine.wake import parse_event, wake_on_event
from orchestration.handlers.runtime import current_services


def handle_drs_event(event: dict[str, Any]) -> dict[str, Any]:
    """Wake the execution the event concerns; returns {eventId, outcome, executionId?}."""
    parse_event(event)  # a malformed event fails before any service is built
    return wake_on_event(current_services(), event).to_wire()
