"""Only operators and admins change the configuration (groups, plans, target accounts, tag sync,
imports); anyone else is refused with PERMISSION_DENIED and nothing changes. A Slack user group
named in the roles counts for its members, as it does for approvals."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from orchestration.errors import PermissionDenied
from orchestration.rbac import RoleConfig
from orchestration.requests import CreateProtectionGroup, UpdateProtectionGroup, UpdateRecoveryPlan
from orchestration.services import groups, plans
from orchestration.services.access import permissions_of, roles_of
from orchestration.services.configuration import export_configuration, import_configuration
from tests.integration.test_group_plan_services import create_group, create_plan

OPS_GROUP = "S0OPS"


class _Directory:
    def __init__(self, members: dict[str, set[str]]) -> None:
        self.members = members
        self.asked: list[str] = []

    def groups_of(self, user_id: str) -> frozenset[str]:
        self.asked.append(user_id)
        return frozenset(g for g, users in self.members.items() if user_id in users)


@pytest.fixture
def svc(services: Any) -> Any:
    roles = {"operator": ["alice", OPS_GROUP], "approver": ["bob"], "default": "viewer"}
    services.settings = dataclasses.replace(services.settings, roles=RoleConfig.from_mapping(roles))
    services.directory = _Directory({OPS_GROUP: {"olga"}})
    return services


def test_approvers_and_viewers_change_no_configuration(svc: Any, simulator: Any) -> None:
    group = create_group(svc, "DB", sourceServerIds=[simulator.server_id("db-primary-01")]).group
    plan = create_plan(svc, "DR", group.group_id).plan
    before = export_configuration(svc)

    for user in ("bob", "victor"):
        with pytest.raises(PermissionDenied, match=f"{user} may not manage configuration"):
            groups.update_protection_group(
                svc, group.group_id, UpdateProtectionGroup(description="x", version=group.version), user
            )
        with pytest.raises(PermissionDenied):
            groups.delete_protection_group(svc, group.group_id, user)
        with pytest.raises(PermissionDenied):
            plans.update_recovery_plan(svc, plan.plan_id, UpdateRecoveryPlan(description="x"), user)
        with pytest.raises(PermissionDenied):
            plans.delete_recovery_plan(svc, plan.plan_id, user)
        with pytest.raises(PermissionDenied):
            import_configuration(svc, before, user, dry_run=True)

    assert export_configuration(svc) == before


def test_a_member_of_an_operator_user_group_may_change_the_configuration(svc: Any, simulator: Any) -> None:
    view = groups.create_protection_group(
        svc,
        CreateProtectionGroup.model_validate(
            {"groupName": "Web", "region": "us-east-1", "serverSelectionTags": {"Tier": "web"}}
        ),
        "olga",
    )
    assert view.group.created_by == "olga"
    assert "operator" in {r.value for r in roles_of(svc, "olga")}
    assert "manage_configuration" in {p.value for p in permissions_of(svc, "olga")}


def test_the_directory_is_asked_only_when_own_roles_do_not_suffice(svc: Any, simulator: Any) -> None:
    create_group(svc, "DB", sourceServerIds=[simulator.server_id("db-primary-01")])  # by alice
    assert svc.directory.asked == []
