"""The data-management handler (seed contract): protection groups, recovery plans, tag sync,
configuration import and target accounts — direct invocation and API Gateway alike."""

from __future__ import annotations

from typing import Any

from orchestration.handlers.api import Call, Operation, OperationHandler
from orchestration.requests import (
    CreateProtectionGroup,
    CreateRecoveryPlan,
    ResolveTags,
    UpdateProtectionGroup,
    UpdateRecoveryPlan,
)
from orchestration.services import groups, plans


def _deleted(kind: str, item_id: str, name: str) -> dict[str, Any]:
    return {"deleted": True, kind: item_id, "name": name}


def _group_list(call: Call) -> dict[str, Any]:
    items = [g.to_wire() for g in groups.list_protection_groups(call.services)]
    return {"protectionGroups": items, "count": len(items)}


def _plan_list(call: Call) -> dict[str, Any]:
    items = [p.to_wire() for p in plans.list_recovery_plans(call.services)]
    return {"recoveryPlans": items, "count": len(items)}


def _delete_group(call: Call) -> dict[str, Any]:
    group = groups.delete_protection_group(
        call.services, call.param("groupId"), call.actor, expected=call.integer("version")
    )
    return _deleted("groupId", group.group_id, group.group_name)


def _delete_plan(call: Call) -> dict[str, Any]:
    plan = plans.delete_recovery_plan(
        call.services, call.param("planId"), call.actor, expected=call.integer("version")
    )
    return _deleted("planId", plan.plan_id, plan.plan_name)


OPERATIONS = [
    # -- protection groups ------------------------------------------------------------------------
    Operation(
        "create_protection_group",
        "POST",
        "/protection-groups",
        lambda c: groups.create_protection_group(c.services, c.body, c.actor),
        body=CreateProtectionGroup,
        summary="Create a protection group (servers by id or by tags)",
    ),
    Operation(
        "list_protection_groups",
        "GET",
        "/protection-groups",
        _group_list,
        summary="List protection groups",
    ),
    Operation(
        "get_protection_group",
        "GET",
        "/protection-groups/{groupId}",
        lambda c: groups.resolve_group(c.services, c.services.store.get_group(c.param("groupId"))),
        summary="A protection group with its servers and their replication health",
    ),
    Operation(
        "update_protection_group",
        "PUT",
        "/protection-groups/{groupId}",
        lambda c: groups.update_protection_group(c.services, c.param("groupId"), c.body, c.actor),
        body=UpdateProtectionGroup,
        summary="Change a protection group (send the version you read)",
    ),
    Operation(
        "delete_protection_group",
        "DELETE",
        "/protection-groups/{groupId}",
        _delete_group,
        query=("version",),
        summary="Delete a protection group that no plan uses",
    ),
    Operation(
        "resolve_protection_group_tags",
        "POST",
        "/protection-groups/resolve",
        lambda c: groups.resolve_protection_group_tags(c.services, c.body),
        body=ResolveTags,
        summary="Which source servers a tag selector matches now",
    ),
    # -- recovery plans ---------------------------------------------------------------------------
    Operation(
        "create_recovery_plan",
        "POST",
        "/recovery-plans",
        lambda c: plans.create_recovery_plan(c.services, c.body, c.actor),
        body=CreateRecoveryPlan,
        summary="Create a recovery plan of waves",
    ),
    Operation(
        "list_recovery_plans",
        "GET",
        "/recovery-plans",
        _plan_list,
        summary="List recovery plans",
    ),
    Operation(
        "get_recovery_plan",
        "GET",
        "/recovery-plans/{planId}",
        lambda c: plans.resolve_plan(c.services, c.services.store.get_plan(c.param("planId"))),
        summary="A recovery plan with each wave's group and servers",
    ),
    Operation(
        "update_recovery_plan",
        "PUT",
        "/recovery-plans/{planId}",
        lambda c: plans.update_recovery_plan(c.services, c.param("planId"), c.body, c.actor),
        body=UpdateRecoveryPlan,
        summary="Change a recovery plan (send the version you read)",
    ),
    Operation(
        "delete_recovery_plan",
        "DELETE",
        "/recovery-plans/{planId}",
        _delete_plan,
        query=("version",),
        summary="Delete a recovery plan with no running execution",
    ),
]


handler = OperationHandler("data-management", OPERATIONS)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handler(event, context)
