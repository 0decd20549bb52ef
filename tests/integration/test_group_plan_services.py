"""Rules of protection groups and recovery plans, through the service layer, on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.errors import (
    Action,
    DuplicateName,
    InUse,
    NotFound,
    Remedy,
    ServerConflict,
    ServersNotFound,
    StaleVersion,
    ValidationFailed,
)
from orchestration.models import Execution, ExecutionStatus, ExecutionType
from orchestration.requests import (
    CreateProtectionGroup,
    CreateRecoveryPlan,
    UpdateProtectionGroup,
    UpdateRecoveryPlan,
)
from orchestration.services import groups, plans


def create_group(services: Any, name: str, **selection: Any) -> Any:
    request = CreateProtectionGroup.model_validate({"groupName": name, "region": "us-east-1", **selection})
    return groups.create_protection_group(services, request, "alice")


def create_plan(services: Any, name: str, *group_ids: str) -> Any:
    waves = [
        {"waveNumber": i, "waveName": f"w{i}", "protectionGroupId": g} for i, g in enumerate(group_ids, 1)
    ]
    return plans.create_recovery_plan(
        services, CreateRecoveryPlan.model_validate({"planName": name, "waves": waves}), "alice"
    )


def start_execution(services: Any, plan: Any, status: ExecutionStatus = ExecutionStatus.RUNNING) -> Execution:
    execution = Execution(
        plan_id=plan.plan_id,
        plan_name=plan.plan_name,
        execution_type=ExecutionType.DRILL,
        status=status,
        initiated_by="alice",
        requested_at=int(services.clock.now()),
    )
    return services.store.create_execution(execution, "alice")


def test_group_by_ids_reports_replication_health(services, simulator):
    db = simulator.server_id("db-primary-01")
    reporting = simulator.server_id("db-reporting-01")  # BACKLOG in the demo estate
    view = create_group(services, "Databases", sourceServerIds=[db, reporting])
    assert [s.source_server_id for s in view.servers] == sorted([db, reporting], key=[db, reporting].index)
    assert [s.hostname for s in view.unhealthy] == ["db-reporting-01"]
    assert any("db-reporting-01" in w and "BACKLOG" in w for w in view.warnings)
    wire = view.to_wire()
    assert wire["serverCount"] == 2
    assert {s["sourceServerID"]: s["healthy"] for s in wire["servers"]} == {db: True, reporting: False}
    events = services.store.list_audit()
    assert [(e.action, e.actor) for e in events] == [("group.create", "alice")]


def test_tag_group_resolves_now_and_warns_when_empty(services):
    view = create_group(services, "Web", serverSelectionTags={"Tier": "web"})
    assert sorted(s.hostname for s in view.servers) == ["web-admin-01", "web-frontend-01", "web-frontend-02"]
    empty = create_group(services, "Nothing", serverSelectionTags={"Tier": "mainframe"})
    assert empty.servers == []
    assert "matches no source server" in empty.warnings[0]


def test_explicit_servers_must_exist_in_the_groups_region(services, simulator):
    west = simulator.server_id("etl-worker-01", region="us-west-2")
    with pytest.raises(ServersNotFound, match=west):
        create_group(services, "Wrong region", sourceServerIds=[west])
    assert services.store.list_groups() == []


def test_a_server_belongs_to_at_most_one_group(services, simulator):
    create_group(services, "Web", serverSelectionTags={"Tier": "web"})
    with pytest.raises(ServerConflict) as caught:
        create_group(services, "Frontend", sourceServerIds=[simulator.server_id("web-frontend-01")])
    assert caught.value.details["conflicts"][0]["groupName"] == "Web"
    # a tag selector that would take an explicitly assigned server conflicts too
    create_group(services, "DB", sourceServerIds=[simulator.server_id("db-primary-01")])
    with pytest.raises(ServerConflict):
        create_group(services, "Databases", serverSelectionTags={"Tier": "database"})


def test_names_are_unique_ignoring_case(services, simulator):
    create_group(services, "Web", serverSelectionTags={"Tier": "web"})
    with pytest.raises(DuplicateName, match="already exists"):
        create_group(services, "  wEB ", sourceServerIds=[simulator.server_id("db-primary-01")])


def test_update_switches_selection_and_checks_the_version(services, simulator):
    view = create_group(services, "G", sourceServerIds=[simulator.server_id("db-primary-01")])
    gid = view.group.group_id
    changed = groups.update_protection_group(
        services,
        gid,
        UpdateProtectionGroup.model_validate(
            {"sourceServerIds": None, "serverSelectionTags": {"Tier": "app"}, "version": 1}
        ),
        "dave",
    )
    assert changed.group.version == 2
    assert changed.group.source_server_ids is None
    assert len(changed.servers) == 7
    with pytest.raises(StaleVersion):
        groups.update_protection_group(
            services, gid, UpdateProtectionGroup.model_validate({"description": "x", "version": 1}), "dave"
        )
    with pytest.raises(ValidationFailed, match="Nothing to update"):
        groups.update_protection_group(
            services, gid, UpdateProtectionGroup.model_validate({"version": 2}), "dave"
        )


def test_group_of_a_running_plan_cannot_change_and_a_used_group_cannot_go(services, simulator):
    g = create_group(services, "DB", sourceServerIds=[simulator.server_id("db-primary-01")]).group
    plan = create_plan(services, "DR", g.group_id).plan
    with pytest.raises(InUse, match="'DR'"):
        groups.delete_protection_group(services, g.group_id, "alice")
    start_execution(services, plan)
    with pytest.raises(InUse, match="RUNNING execution"):
        groups.update_protection_group(
            services, g.group_id, UpdateProtectionGroup.model_validate({"description": "x"}), "alice"
        )


def test_plan_rules(services, simulator):
    db = create_group(services, "DB", sourceServerIds=[simulator.server_id("db-primary-01")]).group
    app = create_group(services, "App", serverSelectionTags={"Tier": "app"}).group
    view = create_plan(services, "DR", db.group_id, app.group_id)
    assert [w.depends_on for w in view.waves] == [[], [1]]
    assert view.server_count == 8
    assert any("app-inventory-02" in w for w in view.warnings)  # stalled, named
    with pytest.raises(DuplicateName):
        create_plan(services, "dr", db.group_id)
    with pytest.raises(NotFound, match="wave 1"):
        create_plan(services, "Other", "missing-group")
    assert plans.find_plan(services, "dr").plan_id == view.plan.plan_id
    with pytest.raises(NotFound, match=r"^No recovery plan with id or name 'nope'\.$") as unknown:
        plans.find_plan(services, "nope")
    assert unknown.value.remedy == Remedy(Action.LIST_PLANS)  # bot/ says: `/dr plan list` shows them


def test_plan_with_a_non_terminal_execution_cannot_change_or_go(services, simulator):
    db = create_group(services, "DB", sourceServerIds=[simulator.server_id("db-primary-01")]).group
    plan = create_plan(services, "DR", db.group_id).plan
    execution = start_execution(services, plan, ExecutionStatus.PAUSED)
    with pytest.raises(InUse, match="PAUSED"):
        plans.update_recovery_plan(
            services, plan.plan_id, UpdateRecoveryPlan.model_validate({"planName": "X"}), "a"
        )
    with pytest.raises(InUse):
        plans.delete_recovery_plan(services, plan.plan_id, "alice")
    finished = execution.with_status(ExecutionStatus.CANCELLING, 1).with_status(ExecutionStatus.CANCELLED, 2)
    services.store.update_execution(finished, "alice")
    renamed = plans.update_recovery_plan(
        services, plan.plan_id, UpdateRecoveryPlan.model_validate({"planName": "X", "version": 1}), "a"
    )
    assert renamed.plan.plan_name == "X"
    plans.delete_recovery_plan(services, plan.plan_id, "alice", expected=2)
    assert services.store.list_plans() == []
