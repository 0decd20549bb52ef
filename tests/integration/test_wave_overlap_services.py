"""A server is in at most one wave of a plan: plan create and edit refuse a plan that would launch a
server twice, and pre-flight (`plan check`, a run request) reports it, on both stores.

Two groups come to share a server the way it happens: a tag group is made while its tag selects
nothing, then the tag is put on a server an explicit group already holds.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.text import render_message
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import DuplicateServerInPlan
from orchestration.models import ExecutionType, ProtectionGroup, RecoveryPlan, Wave
from orchestration.requests import (
    CreateProtectionGroup,
    CreateRecoveryPlan,
    UpdateRecoveryPlan,
)
from orchestration.services.execution_start import execute_recovery_plan
from orchestration.services.groups import create_protection_group
from orchestration.services.plans import create_recovery_plan, get_recovery_plan, update_recovery_plan
from orchestration.services.preflight import DUPLICATE_SERVER_IN_PLAN, check_recovery_plan
from orchestration.start_request import StartExecution

REGION = "us-east-1"
BLUE = {"DrillSet": "blue"}  # no server of the demo estate has it until a test tags one


def explicit(services: Any, sim: DrsSimulator, name: str, *hosts: str) -> ProtectionGroup:
    request = CreateProtectionGroup(
        group_name=name, region=REGION, source_server_ids=[sim.server_id(h) for h in hosts]
    )
    return create_protection_group(services, request, "alice").group


def tagged(services: Any, name: str, tags: dict[str, str]) -> ProtectionGroup:
    request = CreateProtectionGroup(group_name=name, region=REGION, server_selection_tags=tags)
    return create_protection_group(services, request, "alice").group


def waves(*groups: ProtectionGroup) -> list[Wave]:
    return [
        Wave(wave_number=n, wave_name=f"Wave {n}", protection_group_id=g.group_id)
        for n, g in enumerate(groups, start=1)
    ]


def create(services: Any, name: str, *groups: ProtectionGroup) -> RecoveryPlan:
    request = CreateRecoveryPlan(plan_name=name, waves=waves(*groups))
    return create_recovery_plan(services, request, "alice").plan


def edit(services: Any, plan: RecoveryPlan, *groups: ProtectionGroup) -> RecoveryPlan:
    request = UpdateRecoveryPlan(waves=waves(*groups), version=plan.version)
    return update_recovery_plan(services, plan.plan_id, request, "alice").plan


def tag(services: Any, sim: DrsSimulator, host: str, tags: dict[str, str]) -> str:
    server_id = sim.server_id(host)
    services.drs.gateway(REGION).tag_source_server(server_id, tags)
    return server_id


def plan_actions(services: Any) -> list[str]:
    return [e.action for e in services.store.list_audit() if e.action.startswith("plan.")]


@pytest.fixture
def estate(services: Any, simulator: DrsSimulator) -> dict[str, ProtectionGroup]:
    """DB (two servers by id), Web (tag Tier=web: three servers) and Blue (a tag nothing has yet)."""
    return {
        "db": explicit(services, simulator, "DB", "db-primary-01", "db-replica-01"),
        "web": tagged(services, "Web", {"Tier": "web"}),
        "blue": tagged(services, "Blue", BLUE),
    }


# -- plan create and edit -----------------------------------------------------------------------------


def test_a_group_in_two_waves_is_refused_on_create_and_nothing_is_stored(
    services: Any, estate: dict[str, ProtectionGroup]
) -> None:
    db, web = estate["db"], estate["web"]

    with pytest.raises(DuplicateServerInPlan) as refused:
        create(services, "Twice", db, web, db)

    error = refused.value
    assert error.code == DUPLICATE_SERVER_IN_PLAN and error.status == 400
    assert error.message == (
        "2 servers would launch in more than one wave: db-primary-01 (waves 1 and 3), db-replica-01 "
        "(waves 1 and 3); a server may be in only one wave of a plan: remove each from all but one "
        "wave's protection group."
    )
    assert set(error.details["serverIds"]) == set(db.source_server_ids or [])
    assert error.details["waveNumbers"] == [1, 3]
    assert services.store.list_plans() == [] and plan_actions(services) == []

    with pytest.raises(
        DuplicateServerInPlan, match=r"3 servers would launch .*web-admin-01 \(waves 1 and 2\)"
    ):
        create(services, "Web twice", web, web)
    assert services.store.list_plans() == [] and plan_actions(services) == []


def test_a_refused_edit_changes_nothing(services: Any, estate: dict[str, ProtectionGroup]) -> None:
    db, web = estate["db"], estate["web"]
    plan = create(services, "Storefront", db, web)

    with pytest.raises(DuplicateServerInPlan, match="waves 2 and 3"):
        edit(services, plan, db, web, web)

    stored = services.store.get_plan(plan.plan_id)
    assert stored == plan and stored.version == 1
    assert [w.protection_group_id for w in stored.waves] == [db.group_id, web.group_id]
    assert plan_actions(services) == ["plan.create"]


def test_an_explicit_group_and_a_tag_group_selecting_the_same_server_are_refused(
    services: Any, simulator: DrsSimulator, estate: dict[str, ProtectionGroup]
) -> None:
    db, web, blue = estate["db"], estate["web"], estate["blue"]
    plan = create(services, "Storefront", db, web)  # allowed: Blue selects nothing yet, and is not in it
    primary = tag(services, simulator, "db-primary-01", BLUE)

    with pytest.raises(DuplicateServerInPlan) as refused:
        create(services, "Blue drill", db, blue)
    assert refused.value.message.startswith("db-primary-01 would launch in waves 1 and 2;")
    assert refused.value.details["servers"] == [
        {"sourceServerId": primary, "waveNumbers": [1, 2], "hostname": "db-primary-01"}
    ]
    with pytest.raises(DuplicateServerInPlan, match="db-primary-01 would launch in waves 1 and 3"):
        edit(services, plan, db, web, blue)

    assert [p.plan_name for p in services.store.list_plans()] == ["Storefront"]
    assert services.store.get_plan(plan.plan_id) == plan
    assert plan_actions(services) == ["plan.create"]
    # the tag group alone, or with groups it shares nothing with, is still a plan
    assert create(services, "Blue only", web, blue).plan_name == "Blue only"


def test_when_drs_does_not_list_servers_only_the_overlaps_known_without_it_are_refused(
    services: Any, simulator: DrsSimulator, estate: dict[str, ProtectionGroup]
) -> None:
    db, web, blue = estate["db"], estate["web"], estate["blue"]
    tag(services, simulator, "db-primary-01", BLUE)
    simulator.set_throttle(1.0)  # every DRS call is throttled, however often it is retried

    # explicit ids are compared as given, and one group in two waves is one group in two waves
    with pytest.raises(DuplicateServerInPlan, match="waves 1 and 2"):
        create(services, "DB twice", db, db)
    with pytest.raises(DuplicateServerInPlan) as refused:
        create(services, "Web twice", web, blue, web)
    assert refused.value.message.startswith("Protection group 'Web' is in waves 1 and 3")
    assert refused.value.details["groups"][0]["protectionGroupId"] == web.group_id

    # which servers Blue selects is not known now: the save is not refused for it ...
    view = create_recovery_plan(
        services, CreateRecoveryPlan(plan_name="Blue drill", waves=waves(db, blue)), "alice"
    )
    assert any("could not be listed: DRS did not answer" in w for w in view.warnings)
    assert not any("has no servers right now" in w for w in view.warnings)

    # ... and once DRS answers, the run's pre-flight finds it
    simulator.set_throttle(0)
    check = check_recovery_plan(services, "Blue drill")
    assert [f.code for f in check.errors] == [DUPLICATE_SERVER_IN_PLAN]
    assert get_recovery_plan(services, "Blue drill").plan.version == 1


# -- plan check and run requests ----------------------------------------------------------------------


def test_plan_check_reports_a_server_in_two_waves_and_a_run_request_is_refused(
    services: Any, simulator: DrsSimulator, estate: dict[str, ProtectionGroup]
) -> None:
    db, web, blue = estate["db"], estate["web"], estate["blue"]
    plan = create(services, "Blue drill", db, web, blue)  # fine when it was made
    primary = tag(services, simulator, "db-primary-01", BLUE)  # then the tags changed

    check = check_recovery_plan(services, "Blue drill")

    assert not check.ok
    [finding] = check.errors
    assert finding.code == DUPLICATE_SERVER_IN_PLAN
    assert finding.message.startswith("db-primary-01 would launch in waves 1 and 3;")
    assert finding.server_ids == (primary,) and finding.wave_numbers == (1, 3)
    assert check.to_wire()["errors"][0]["waveNumbers"] == [1, 3]

    answer = build_registry().dispatch(
        services, Invocation(text='/dr plan check "Blue drill"', user_id="alice")
    )
    text = render_message(answer)
    assert answer.is_error and "Not ready to run as a drill" in text
    assert "every pre-flight rule passes" not in text
    assert "DUPLICATE_SERVER_IN_PLAN db-primary-01 would launch in waves 1 and 3" in text
    verdicts = [
        line.split("  ")[-1].strip() for line in text.splitlines() if line[:3] in ("1  ", "2  ", "3  ")
    ]
    assert verdicts == ["1 error", "ok", "1 error"], text

    request = StartExecution(plan_id=plan.plan_id, execution_type=ExecutionType.DRILL)
    with pytest.raises(DuplicateServerInPlan) as refused:
        execute_recovery_plan(services, request, "alice", require_approval=True)
    assert refused.value.code == "DUPLICATE_SERVER_IN_PLAN" and refused.value.status == 400
    assert refused.value.details["waveNumbers"] == [1, 3]
    assert "db-primary-01 would launch in waves 1 and 3" in refused.value.message
    assert [f["code"] for f in refused.value.details["findings"]] == [DUPLICATE_SERVER_IN_PLAN]
    assert services.store.list_executions() == []


def test_plan_check_reports_a_stored_plan_with_a_group_in_two_waves(
    services: Any, estate: dict[str, ProtectionGroup]
) -> None:
    db, web = estate["db"], estate["web"]
    # a plan saved before the rule existed
    services.store.create_plan(RecoveryPlan(plan_name="Legacy", waves=waves(web, db, web)), "alice")

    check = check_recovery_plan(services, "Legacy")

    assert [f.code for f in check.errors] == [DUPLICATE_SERVER_IN_PLAN]
    assert check.errors[0].wave_numbers == (1, 3)
    assert "web-frontend-01 (waves 1 and 3)" in check.errors[0].message
