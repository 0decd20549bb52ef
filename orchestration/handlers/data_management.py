"""The data-management handler (seed contract): protection groups, recovery plans, tag sync, the
monthly digest's settings, configuration import and target accounts — direct invocation and API
Gateway alike."""

from __future__ import annotations

from typing import Any

from orchestration.cold_start import long_lived_imports

with long_lived_imports():  # drbot's own modules, collector paused (orchestration/cold_start.py)
    from orchestration.handlers.api import OperationHandler
    from orchestration.handlers.operations import Call, Operation
    from orchestration.observability import lambda_entry
    from orchestration.requests import (
        CreateProtectionGroup,
        CreateRecoveryPlan,
        ResolveTags,
        UpdateProtectionGroup,
        UpdateRecoveryPlan,
    )
    from orchestration.services import accounts, configuration, digest_settings, groups, plans, tag_sync


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


def _tag_sync(call: Call) -> dict[str, Any]:
    return tag_sync.handle_drs_tag_sync(
        call.services, call.actor, region=call.optional("region"), account_id=call.optional("accountId")
    )


def _import(call: Call) -> dict[str, Any]:
    return configuration.import_configuration(
        call.services, dict(call.raw), call.actor, dry_run=call.flag("dryRun")
    )


def _list_accounts(call: Call) -> dict[str, Any]:
    items = [a.to_wire() for a in accounts.list_target_accounts(call.services)]
    return {"targetAccounts": items, "count": len(items)}


def _delete_account(call: Call) -> dict[str, Any]:
    account = accounts.delete_target_account(
        call.services, call.param("accountId"), call.actor, expected=call.integer("version")
    )
    return _deleted("accountId", account.account_id, account.account_name)


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
    # -- tag sync and configuration ---------------------------------------------------------------
    Operation(
        "handle_drs_tag_sync",
        "POST",
        "/drs/tag-sync",
        _tag_sync,
        query=("region", "accountId"),
        summary="Copy EC2 instance tags onto their DRS source servers",
    ),
    Operation(
        "get_tag_sync_settings",
        "GET",
        "/config/tag-sync",
        lambda c: tag_sync.get_tag_sync_settings(c.services),
        summary="Tag sync settings",
    ),
    Operation(
        "update_tag_sync_settings",
        "PUT",
        "/config/tag-sync",
        lambda c: tag_sync.update_tag_sync_settings(c.services, c.body, c.actor),
        body=tag_sync.UpdateTagSyncSettings,
        summary="Change the tag sync settings",
    ),
    Operation(
        "get_digest_settings",
        "GET",
        "/config/digest",
        lambda c: digest_settings.get_digest_settings(c.services),
        summary="The monthly digest's settings",
    ),
    Operation(
        "update_digest_settings",
        "PUT",
        "/config/digest",
        lambda c: digest_settings.update_digest_settings(c.services, c.body, c.actor),
        body=digest_settings.UpdateDigestSettings,
        summary="Change the monthly digest's settings (schedule, time zone, channel, expected interval)",
    ),
    Operation(
        "import_configuration",
        "POST",
        "/config/import",
        _import,
        query=("dryRun",),
        raw_body=True,
        summary="Import an exported configuration, all or nothing (dryRun=true only checks)",
    ),
    # -- target accounts --------------------------------------------------------------------------
    Operation(
        "list_target_accounts",
        "GET",
        "/accounts/targets",
        _list_accounts,
        summary="Target (spoke) accounts drbot reaches through a role",
    ),
    Operation(
        "create_target_account",
        "POST",
        "/accounts/targets",
        lambda c: accounts.create_target_account(c.services, c.body, c.actor),
        body=accounts.CreateTargetAccount,
        summary="Register a target account and the role drbot assumes in it",
    ),
    Operation(
        "get_target_account",
        "GET",
        "/accounts/targets/{accountId}",
        lambda c: accounts.get_target_account(c.services, c.param("accountId")),
        summary="A target account",
    ),
    Operation(
        "update_target_account",
        "PUT",
        "/accounts/targets/{accountId}",
        lambda c: accounts.update_target_account(c.services, c.param("accountId"), c.body, c.actor),
        body=accounts.UpdateTargetAccount,
        summary="Change a target account (send the version you read)",
    ),
    Operation(
        "delete_target_account",
        "DELETE",
        "/accounts/targets/{accountId}",
        _delete_account,
        query=("version",),
        summary="Remove a target account no protection group uses",
    ),
]


handler = OperationHandler("data-management", OPERATIONS)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handler(event, context)
