"""`/dr group …` and `/dr plan …` through the real dispatcher, on both stores and the DRS simulator.

Each error path answers with a sentence that names the problem and says nothing changed, and the
store shows that indeed nothing did.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.message import Message
from bot.views.text import render_message
from orchestration.models import Execution, ExecutionStatus, ExecutionType
from tests.support import failed, ok


@pytest.fixture
def dr(services: Any):
    registry = build_registry()

    def run(text: str, user: str = "alice") -> Message:
        return registry.dispatch(services, Invocation(text=text, user_id=user))

    return run


def state(services: Any) -> tuple[list[Any], list[Any]]:
    return services.store.list_groups(), services.store.list_plans()


@pytest.fixture
def estate(dr):
    """Three groups (by hostname, by id, by tag) and a three-wave plan over them."""
    ok(dr('/dr group create "DB tier" --server db-primary-01,db-replica-01 --description "orders DB"'))
    ok(dr('/dr group create "App tier" --server app-orders-01 --server app-inventory-02'))
    ok(dr('/dr group create "Web tier" --tag Tier=web'))
    ok(
        dr(
            '/dr plan create "Prod DR" --wave "Database:db tier" --wave "App:app tier:after=1" '
            '--wave "Web:web tier:after=2:pause" --rto 60 --channel "<#C0123ABCD|dr-drills>"'
        )
    )


# -- groups ----------------------------------------------------------------------------------------


def test_create_by_hostname_and_id_resolves_ids_and_names_unhealthy_servers(dr, services, simulator):
    db = simulator.server_id("db-primary-01")
    reporting = simulator.server_id("db-reporting-01")  # BACKLOG
    message = dr(f'/dr group create "DB tier" --region us-east-1 --server {db} --server DB-REPORTING-01')
    text = ok(message)
    assert message.response_type == "in_channel"
    assert "Created protection group DB tier with 2 servers (by alice)" in text
    assert "db-reporting-01" in text and "BACKLOG" in text and "not replicating continuously" in text
    [group] = services.store.list_groups()
    assert group.source_server_ids == [db, reporting]
    assert group.created_by == "alice"


def test_create_by_tags(dr, services):
    text = ok(dr('/dr group create Web --tag Tier=web --description "public web"'))
    assert "source servers tagged Tier=web" in text
    assert "web-frontend-01" in text and "web-admin-01" in text
    [group] = services.store.list_groups()
    assert group.server_selection_tags == {"Tier": "web"}
    assert group.source_server_ids is None


def test_list_and_show(dr, estate):
    listing = ok(dr("/dr group list"))
    assert "3 protection groups" in listing
    assert "DB tier   us-east-1  this account  2 servers      orders DB" in listing
    assert "tags Tier=web" in listing
    shown = ok(dr('/dr group show "app TIER"'))
    assert "app-inventory-02" in shown and "STALLED" in shown
    assert "Used by plans: Prod DR" in shown


def test_show_by_id(dr, services, estate):
    group = services.store.find_group_by_name("Web tier")
    assert "Protection group: Web tier" in ok(dr(f"/dr group show {group.group_id}"))


def test_duplicate_name_changes_nothing(dr, services, estate):
    before = state(services)
    text = failed(dr('/dr group create "db TIER" --server mq-broker-01'), "DUPLICATE_NAME")
    assert "A protection group named 'DB tier' already exists" in text
    assert state(services) == before


def test_unknown_hostname_is_named(dr, services):
    text = failed(dr("/dr group create G --server web-frontend-01 --server nope-01"), "SERVERS_NOT_FOUND")
    assert "No DRS source server with hostname 'nope-01' in us-east-1" in text
    assert state(services) == ([], [])


def test_unknown_server_id_is_named(dr, services):
    text = failed(dr("/dr group create G --server s-0000000000000dead"), "SERVERS_NOT_FOUND")
    assert "s-0000000000000dead" in text
    assert state(services) == ([], [])


def test_hostname_of_another_region_is_unknown_there(dr, services):
    failed(dr("/dr group create G --region us-west-2 --server db-primary-01"), "SERVERS_NOT_FOUND")


def test_server_already_in_another_group(dr, services, estate, simulator):
    before = state(services)
    text = failed(dr("/dr group create Other --server app-orders-01"), "SERVER_CONFLICT")
    assert simulator.server_id("app-orders-01") in text and "'App tier'" in text
    assert state(services) == before


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/dr group create G", "Say which servers the group holds"),
        ("/dr group create G --server db-primary-01 --tag Tier=db", "not both"),
        ("/dr group create G --tag Tier", "must look like Key=Value"),
        ("/dr group create G --region us-east --server db-primary-01", "us-east is not an AWS region"),
        ("/dr group create G --account 12 --server db-primary-01", "12 is not an AWS account id"),
        ("/dr group delete G --version zero", "--version takes a whole number"),
    ],
)
def test_usage_errors(dr, services, command, says):
    text = failed(dr(command), "USAGE_ERROR")
    assert says in text
    assert "Usage:" in text
    assert state(services) == ([], [])


def test_edit_replaces_servers_and_renames(dr, services, estate, simulator):
    text = ok(dr('/dr group edit "App tier" --server app-orders-01,app-orders-02 --name "Apps"'))
    assert "Updated protection group Apps with 2 servers" in text
    group = services.store.find_group_by_name("Apps")
    assert group.source_server_ids == [
        simulator.server_id("app-orders-01"),
        simulator.server_id("app-orders-02"),
    ]
    assert group.version == 2
    ok(dr("/dr group edit Apps --tag Tier=app --version 2"))
    group = services.store.find_group_by_name("Apps")
    assert group.server_selection_tags == {"Tier": "app"} and group.source_server_ids is None


def test_edit_with_a_stale_version_is_refused(dr, services, estate):
    before = state(services)
    failed(dr('/dr group edit "DB tier" --description new --version 7'), "VERSION_CONFLICT")
    assert state(services) == before
    failed(dr('/dr group edit "DB tier"'), "USAGE_ERROR")


def test_delete_a_group_used_by_a_plan_names_the_plan(dr, services, estate):
    before = state(services)
    text = failed(dr('/dr group delete "DB tier"'), "RESOURCE_IN_USE")
    assert "used by plan(s) 'Prod DR'" in text
    assert state(services) == before


def test_delete_unknown_group(dr):
    text = failed(dr("/dr group delete Nope"), "NOT_FOUND")
    assert "No protection group with id or name 'Nope'" in text


def test_delete_an_unused_group(dr, services, estate):
    ok(dr('/dr plan delete "Prod DR"'))
    text = ok(dr('/dr group delete "DB tier" --version 1'))
    assert "Deleted protection group DB tier" in text
    assert [g.group_name for g in services.store.list_groups()] == ["App tier", "Web tier"]


# -- plans -----------------------------------------------------------------------------------------


def test_plan_create_resolves_groups_numbers_waves_and_keeps_the_dag(dr, services, estate):
    plan = services.store.find_plan_by_name("prod dr")
    groups = {g.group_name: g.group_id for g in services.store.list_groups()}
    assert [
        (w.wave_number, w.wave_name, w.protection_group_id, w.depends_on_waves, w.pause_before)
        for w in plan.waves
    ] == [
        (1, "Database", groups["DB tier"], [], False),
        (2, "App", groups["App tier"], [1], False),
        (3, "Web", groups["Web tier"], [2], True),
    ]
    assert plan.rto_target_minutes == 60
    assert plan.notification_channel == "C0123ABCD"
    assert plan.created_by == "alice"


def test_plan_create_answer_lists_the_waves(dr, services, estate):
    text = ok(dr('/dr plan create "Parallel" --wave "DB:DB tier" --wave "Web:Web tier:after=none"'))
    assert "Created recovery plan Parallel with 2 waves" in text
    assert "2  Web   Web tier          - (starts at once)" in text


def test_plan_list_and_show(dr, estate):
    listing = ok(dr("/dr plan list"))
    assert "Prod DR  3      DB tier, App tier, Web tier  60 min      -           C0123ABCD" in listing
    shown = ok(dr('/dr plan show "prod dr"'))
    assert "3 waves · 7 servers now · RTO target: 60 min · RPO target: - · Notifications: #C0123ABCD" in shown
    assert "2  App       App tier          1                   2 (1 not replicating)  -" in shown
    assert "3  Web       Web tier          2                   3                      yes" in shown
    assert "Wave 2: app-inventory-02" in shown


@pytest.mark.parametrize(
    ("waves", "says"),
    [
        ('--wave "Database"', "Wave 1 (Database): a wave needs a name and a protection group"),
        ('--wave "A:DB tier" --wave "B:App tier:after=3"', "Wave 2 (B:App tier:after=3): there is no wave 3"),
        ('--wave "A:DB tier:sometimes"', "sometimes is not an option"),
        ("", "A plan needs at least one wave"),
    ],
)
def test_bad_wave_specs_show_the_grammar(dr, services, estate, waves, says):
    before = state(services)
    text = failed(dr(f'/dr plan create "New" {waves}'), "USAGE_ERROR")
    assert says in text
    assert "NAME:GROUP[:after=N" in text
    assert state(services) == before


def test_a_cycle_via_after_is_named_with_the_waves(dr, services, estate):
    before = state(services)
    text = failed(
        dr('/dr plan create "Loop" --wave "A:DB tier:after=3" --wave "B:App tier" --wave "C:Web tier"'),
        "CIRCULAR_DEPENDENCY",
    )
    assert "The waves wait for each other in a cycle: 1 (A) → 3 (C) → 2 (B) → 1 (A)" in text
    assert state(services) == before


def test_plan_with_unknown_groups_names_each_wave(dr, services, estate):
    before = state(services)
    text = failed(dr('/dr plan create "New" --wave "A:DB tier" --wave "B:nope" --wave "C:gone"'), "NOT_FOUND")
    assert "wave 2 (B:nope) names 'nope'; wave 3 (C:gone) names 'gone'" in text
    assert state(services) == before


def test_duplicate_plan_name(dr, services, estate):
    before = state(services)
    failed(dr('/dr plan create "PROD dr" --wave "A:DB tier"'), "DUPLICATE_NAME")
    assert state(services) == before


def test_plan_edit_replaces_waves_and_clears_fields(dr, services, estate):
    edit = (
        '/dr plan edit "Prod DR" --wave "Web:Web tier" --wave "DB:DB tier:pause" --rto none --name "Prod 2"'
    )
    text = ok(dr(edit))
    assert "Updated recovery plan Prod 2 with 2 waves" in text
    plan = services.store.find_plan_by_name("Prod 2")
    assert [(w.wave_name, w.depends_on_waves, w.pause_before) for w in plan.waves] == [
        ("Web", [], False),
        ("DB", [1], True),
    ]
    assert plan.rto_target_minutes is None
    assert plan.notification_channel == "C0123ABCD"
    assert plan.version == 2
    failed(dr('/dr plan edit "Prod 2"'), "USAGE_ERROR")


def test_plan_check_ready_with_warnings(dr, estate):
    message = dr('/dr plan check "Prod DR"')
    text = ok(message)
    assert "Ready to run as a drill (3 waves, 7 servers), with 1 warning." in text
    assert (
        "REPLICATION_UNHEALTHY Wave 2: 1 server(s) are not replicating continuously: app-inventory-02" in text
    )
    assert (
        "2  App       App tier          1                   2 (1 not replicating)  -             1 warning"
        in text
    )
    assert "DRS in us-east-1 now: 0/20 active jobs" in text
    assert "Nothing was launched" in text


def test_plan_check_with_a_conflict_is_not_ready(dr, services, estate):
    ok(dr('/dr plan create "Other" --wave "DB:DB tier"'))
    other = services.store.find_plan_by_name("Other")
    running = Execution(
        plan_id=other.plan_id,
        plan_name=other.plan_name,
        execution_type=ExecutionType.DRILL,
        status=ExecutionStatus.RUNNING,
        initiated_by="bob",
        requested_at=int(services.clock.now()),
    )
    services.store.create_execution(running, "bob")
    message = dr('/dr plan check "Prod DR" --recovery')
    text = render_message(message)
    assert message.is_error  # a script can gate a run on it
    assert "Not ready to run as a recovery (3 waves, 7 servers): 1 error, 1 warning" in text
    assert "SERVER_CONFLICT" in text and "plan 'Other'" in text and "db-primary-01" in text
    assert (
        "1  Database  DB tier           - (starts at once)  2                      -             1 error"
        in text
    )
    failed(dr('/dr plan delete "Other"'), "RESOURCE_IN_USE")


def test_plan_delete(dr, services, estate):
    plan = services.store.find_plan_by_name("Prod DR")
    failed(dr(f"/dr plan delete {plan.plan_id} --version 5"), "VERSION_CONFLICT")
    assert services.store.list_plans() == [plan]
    text = ok(dr(f"/dr plan delete {plan.plan_id}"))
    assert "Deleted recovery plan Prod DR" in text
    assert services.store.list_plans() == []
    failed(dr('/dr plan show "Prod DR"'), "NOT_FOUND")


def test_help_documents_the_wave_grammar(dr):
    text = ok(dr("/dr help plan"))
    assert "NAME:GROUP[:after=N[,N…]|:after=none][:pause]" in text
    assert "/dr plan check <plan> [--recovery]" in text
    assert "/dr group create <name>" in ok(dr("/dr help group"))
