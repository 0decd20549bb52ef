"""The execution handler (seed contract): start, list, inspect and control executions — direct
invocation and API Gateway alike — the Step Functions task entry of the state machine, and the
entry of the DRS events EventBridge delivers (orchestration/handlers/drs_events.py).

A direct invocation (the orchestration role, the seed's Example 4) starts the execution at once with
a 202, unless DRBOT_REQUIRE_API_APPROVAL asks for approvers then too; approve/reject_execution are
drbot's additions for that case. A direct invocation acts as DRBOT_DIRECT_ACTOR whatever its payload's
`actor` or `initiatedBy` says (kept as `onBehalfOf`), so approving needs an authenticated approver:
a Slack user, a REST caller, or that principal when it holds the approver role and did not request
the run (docs/api.md, "Who is calling").

On the embedded default a status or details call also advances a run that needs driving, once,
before answering: a script whose every step is its own short process (the seed's Example 7) then
sees its run progress and finish with no long-running runner. On AWS, Step Functions drives runs.
"""

from __future__ import annotations

from typing import Any, cast

from aws_lambda_powertools import Logger

from orchestration.cold_start import long_lived_imports

with long_lived_imports():  # drbot's own modules, collector paused (orchestration/cold_start.py)
    from pydantic import Field

    from orchestration.handlers.api import OperationHandler
    from orchestration.handlers.execution_shapes import (
        execution_details,
        execution_jobs,
        execution_status,
        execution_summary,
        execution_waves,
    )
    from orchestration.handlers.operations import Call, Operation
    from orchestration.models import Execution, ExecutionStatus, WireModel
    from orchestration.observability import lambda_entry
    from orchestration.services.archived_copies import archived_copy
    from orchestration.services.execution_control import (
        ApprovalOutcome,
        Outcome,
        approve_execution,
        cancel_execution,
        pause_execution,
        reject_execution,
        resume_execution,
    )
    from orchestration.services.execution_queries import (
        DEFAULT_LIST_LIMIT,
        get_execution,
        list_execution_page,
        parse_date,
        preflight_warnings,
    )
    from orchestration.services.execution_start import execute_recovery_plan
    from orchestration.start_request import StartExecution

logger = Logger(service="drbot")

STARTED_MESSAGE = "Execution started - check status with operation: get_execution_details"
AWAITING_MESSAGE = (
    "Execution awaiting approval ({needed} approval(s) needed) - check status with operation: "
    "get_execution_details"
)


class RejectExecution(WireModel):
    reason: str = Field(min_length=1, max_length=1024, description="Why the request is rejected.")


def _status_url(execution_id: str) -> str:
    return f"/executions/{execution_id}"


def _start(call: Call) -> dict[str, Any]:
    request = cast(StartExecution, call.body)
    execution = execute_recovery_plan(
        call.services,
        request,
        call.actor,
        require_approval=call.services.settings.require_api_approval,
        on_behalf_of=call.caller.on_behalf_of,
    )
    awaiting = execution.status == ExecutionStatus.PENDING_APPROVAL
    response: dict[str, Any] = {
        "executionId": execution.execution_id,
        "status": str(execution.status),
        "message": AWAITING_MESSAGE.format(needed=execution.required_approvals)
        if awaiting
        else STARTED_MESSAGE,
        "statusUrl": _status_url(execution.execution_id),
    }
    warnings = preflight_warnings(execution)
    if warnings:
        response["warnings"] = warnings
    return response


def _list(call: Call) -> dict[str, Any]:
    limit = call.integer("limit")
    page = list_execution_page(
        call.services,
        plan_id=call.optional("planId"),
        status=call.optional("status"),
        limit=DEFAULT_LIST_LIMIT if limit is None else limit,
        next_token=call.optional("nextToken"),
        from_date=parse_date(call.optional("fromDate"), "fromDate"),
        to_date=parse_date(call.optional("toDate"), "toDate"),
    )
    items = [execution_summary(e) for e in page.executions]
    response: dict[str, Any] = {"executions": items, "count": len(items)}
    if page.next_token is not None:
        response["nextToken"] = page.next_token
    return response


def _evidence(call: Call) -> dict[str, Any]:
    """The archived evidence report (docs/report.md, "The archive"): Markdown unless format=json,
    with the SHA-256 of the bytes read now, the one kept on the execution, and whether they match."""
    return archived_copy(
        call.services, call.param("executionId"), call.optional("format") or "markdown"
    ).to_wire()


def _outcome(outcome: Outcome) -> dict[str, Any]:
    execution = outcome.execution
    wire: dict[str, Any] = {
        "executionId": execution.execution_id,
        "status": str(execution.status),
        "changed": outcome.changed,
        "message": outcome.message,
        "statusUrl": _status_url(execution.execution_id),
    }
    if isinstance(outcome, ApprovalOutcome):
        wire["started"] = outcome.started
        wire["approvals"] = len(execution.approvals)
        wire["requiredApprovals"] = execution.required_approvals
    return wire


def _polled(call: Call) -> Execution:
    """The execution a status or details call answers with; on the embedded default a run that
    needs driving is first advanced once, so polling alone carries it to the end. A failed advance
    is logged and the stored execution answered."""
    services = call.services
    execution = get_execution(services, call.param("executionId"))
    if services.settings.backend != "embedded" or not execution.needs_driving:
        return execution
    from orchestration.engine.advance import advance  # the engine, only when a run is to be driven

    try:
        advance(services, execution.execution_id)
    except Exception:  # a status call answers what is stored, whatever the engine did
        logger.warning(
            "advancing on a status call failed", extra={"execution_id": execution.execution_id}, exc_info=True
        )
    return get_execution(services, execution.execution_id)


def _details(call: Call) -> dict[str, Any]:
    return execution_details(_polled(call))


def _status(call: Call) -> dict[str, Any]:
    return execution_status(_polled(call))


def _waves(call: Call) -> dict[str, Any]:
    return execution_waves(get_execution(call.services, call.param("executionId")))


def _jobs(call: Call) -> dict[str, Any]:
    execution = get_execution(call.services, call.param("executionId"))
    return execution_jobs(call.services, execution)


def _plan_history(call: Call) -> dict[str, Any]:
    # the evidence report's models, built for a history request only (docs/architecture.md)
    from orchestration.services.plan_history import history_of

    return history_of(call.services, call.param("planId"), call.optional("last")).to_wire()


def _reject(call: Call) -> dict[str, Any]:
    body = cast(RejectExecution, call.body)
    return _outcome(reject_execution(call.services, call.param("executionId"), call.actor, body.reason))


OPERATIONS = [
    Operation(
        "execute_recovery_plan",
        "POST",
        "/executions",
        _start,
        body=StartExecution,
        status=202,
        summary="Start a drill or recovery of a plan (after every pre-flight check)",
    ),
    Operation(
        "list_executions",
        "GET",
        "/executions",
        _list,
        query=("planId", "status", "limit", "nextToken", "fromDate", "toDate"),
        summary="Executions, newest first; a page ends with a nextToken when more follow",
    ),
    Operation(
        "get_execution_details",
        "GET",
        "/executions/{executionId}",
        _details,
        summary="An execution with its waves, servers, approvals and events",
    ),
    Operation(
        "cancel_execution",
        "POST",
        "/executions/{executionId}/cancel",
        lambda c: _outcome(cancel_execution(c.services, c.param("executionId"), c.actor)),
        summary="Stop launching waves; a drill's instances are terminated",
    ),
    Operation(
        "pause_execution",
        "POST",
        "/executions/{executionId}/pause",
        lambda c: _outcome(pause_execution(c.services, c.param("executionId"), c.actor)),
        summary="Launch no new wave until resumed (waves in flight finish)",
    ),
    Operation(
        "resume_execution",
        "POST",
        "/executions/{executionId}/resume",
        lambda c: _outcome(resume_execution(c.services, c.param("executionId"), c.actor)),
        summary="Continue a paused execution (passing a pause-before gate)",
    ),
    Operation(
        "get_execution_status",
        "GET",
        "/executions/{executionId}/status",
        _status,
        summary="Where an execution is: status, waves in flight, progress",
    ),
    Operation(
        "get_execution_waves",
        "GET",
        "/executions/{executionId}/waves",
        _waves,
        summary="Each wave of an execution with its servers",
    ),
    Operation(
        "get_execution_evidence",
        "GET",
        "/executions/{executionId}/evidence",
        _evidence,
        query=("format",),
        summary="The archived evidence report (format markdown or json), its SHA-256 and whether it matches",
    ),
    Operation(
        "get_execution_jobs",
        "GET",
        "/executions/{executionId}/jobs",
        _jobs,
        summary="Each wave's DRS job as DRS describes it now",
    ),
    Operation(
        "approve_execution",
        "POST",
        "/executions/{executionId}/approve",
        lambda c: _outcome(approve_execution(c.services, c.param("executionId"), c.actor)),
        summary="Approve a request (a drill needs 1 approver, a recovery 2; never the requester)",
    ),
    Operation(
        "reject_execution",
        "POST",
        "/executions/{executionId}/reject",
        _reject,
        body=RejectExecution,
        summary="Reject a request awaiting approval, saying why",
    ),
    Operation(
        "get_recovery_plan_history",
        "GET",
        "/recovery-plans/{planId}/history",
        _plan_history,
        query=("last",),
        summary="A plan's last runs (default 10, at most 50) with their verdicts, repeat failures, last pass",
    ),
]

handler = OperationHandler("execution", OPERATIONS)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # the state machine's tasks, and a wake-up's {"task": "wake"}
    if isinstance(event, dict) and "task" in event:
        from orchestration.handlers.tasks import handle_task

        return handle_task(event)
    # the DRS (and EC2) events EventBridge's rule sends: wake the execution they concern
    if isinstance(event, dict) and "detail-type" in event:
        from orchestration.handlers.drs_events import handle_drs_event

        return handle_drs_event(event)
    return handler(event, context)
