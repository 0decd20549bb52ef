"""Configuration export and import (orchestration/services/configuration.py) on both stores.

The round trip goes from one database into an empty second one of the same backend (another SQLite
file, or other DynamoDB tables on the same moto), both served by the same DRS simulator.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestration.bootstrap import build_services
from orchestration.clock import FakeClock
from orchestration.config import Settings, TableNames
from orchestration.context import Services
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.limits import DrsLimits
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import Conflict, DuplicateName, ServerConflict, ValidationFailed
from orchestration.models import ProtectionGroup, Wave
from orchestration.requests import CreateProtectionGroup, CreateRecoveryPlan, UpdateProtectionGroup
from orchestration.services.configuration import export_configuration, import_configuration
from orchestration.services.groups import create_protection_group, update_protection_group
from orchestration.services.plans import create_recovery_plan
from orchestration.store.base import Store

T0 = 1_767_225_600
OTHER_TABLES = TableNames(
    protection_groups="other-groups",
    recovery_plans="other-plans",
    executions="other-executions",
    target_accounts="other-accounts",
    tag_sync_config="other-tag-sync",
    schedules="other-schedules",
    audit="other-audit",
)


@pytest.fixture
def empty_services(
    request: pytest.FixtureRequest,
    services: Services,
    tmp_path: Path,
    clock: FakeClock,
    simulator: DrsSimulator,
) -> Iterator[Services]:
    """A second, empty database on the same backend as `services`, with the same DRS."""
    store: Store
    if request.node.callspec.params["services"] == "sqlite":
        from orchestration.store.sqlite import SqliteStore

        store = SqliteStore(tmp_path / "other" / "drbot.db", clock=clock)
    else:
        from orchestration.store.dynamodb import DynamoDbStore, create_tables

        new_client = request.getfixturevalue("moto_dynamodb")
        create_tables(new_client(), OTHER_TABLES)
        store = DynamoDbStore(OTHER_TABLES, client=new_client(), clock=clock)
    settings = Settings.from_env({}, db_path=tmp_path / "other" / "drbot.db")
    yield build_services(settings, clock=clock, store=store, drs=SimulatedDrsClients(simulator))
    store.close()


def group(services: Services, name: str, region: str = "us-east-1", **selection: Any) -> ProtectionGroup:
    request = CreateProtectionGroup.model_validate({"groupName": name, "region": region, **selection})
    return create_protection_group(services, request, "alice").group


def build_estate(services: Services, sim: DrsSimulator, clock: FakeClock) -> None:
    """Groups of both kinds in two regions, and plans with sequential, parallel and gated waves."""
    ids = [sim.server_id(h) for h in ("db-primary-01", "db-replica-01")]
    db = group(services, "Databases", sourceServerIds=ids, description="orders databases")
    web = group(services, "Web", serverSelectionTags={"Tier": "web"})
    dwh = group(services, "Warehouse", region="us-west-2", serverSelectionTags={"Application": "analytics"})
    clock.advance(3600)
    update_protection_group(
        services, db.group_id, UpdateProtectionGroup(description="the order books"), "dave"
    )
    waves = [
        Wave(wave_number=1, wave_name="db", protection_group_id=db.group_id),
        Wave(wave_number=2, wave_name="warehouse", protection_group_id=dwh.group_id, depends_on_waves=[]),
        Wave(
            wave_number=3,
            wave_name="web",
            protection_group_id=web.group_id,
            depends_on_waves=[1, 2],
            pause_before=True,
        ),
    ]
    request = CreateRecoveryPlan(
        plan_name="Everything", waves=waves, rto_target_minutes=120, notification_channel="C0123ABCD"
    )
    create_recovery_plan(services, request, "erin")
    create_recovery_plan(
        services,
        CreateRecoveryPlan(
            plan_name="Web only",
            waves=[Wave(wave_number=1, wave_name="web", protection_group_id=web.group_id)],
        ),
        "erin",
    )


def without_time(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "exportedAt"}


# -- export ---------------------------------------------------------------------------------------


def test_export_is_a_versioned_document_without_store_versions(
    services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    build_estate(services, simulator, clock)
    clock.advance(60)

    document = export_configuration(services)

    assert document["formatVersion"] == 1 and document["exportedAt"] == T0 + 3660
    assert [g["groupName"] for g in document["protectionGroups"]] == ["Databases", "Warehouse", "Web"]
    assert [p["planName"] for p in document["recoveryPlans"]] == ["Everything", "Web only"]
    assert all("version" not in item for item in document["protectionGroups"] + document["recoveryPlans"])
    databases = document["protectionGroups"][0]
    assert databases["description"] == "the order books" and databases["lastModifiedDate"] == T0 + 3600
    assert document["recoveryPlans"][0]["waves"][2]["dependsOnWaves"] == [1, 2]


# -- import ---------------------------------------------------------------------------------------


def test_export_then_import_into_an_empty_database_reproduces_it(
    services: Services, empty_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    build_estate(services, simulator, clock)
    document = export_configuration(services)
    clock.advance(600)

    report = import_configuration(empty_services, copy.deepcopy(document), "dave")

    assert report["created"] == {"protectionGroups": 3, "recoveryPlans": 2}
    assert report["skipped"] == {"protectionGroups": 0, "recoveryPlans": 0}
    assert {item["action"] for item in report["protectionGroups"] + report["recoveryPlans"]} == {"created"}
    assert without_time(export_configuration(empty_services)) == without_time(document)
    assert all(g.version == 1 for g in empty_services.store.list_groups())
    events = empty_services.store.list_audit()
    assert events[0].action == "configuration.import" and events[0].actor == "dave"
    assert sorted(e.action for e in events[1:]) == ["group.create"] * 3 + ["plan.create"] * 2


def test_importing_the_same_document_again_skips_everything(
    services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    build_estate(services, simulator, clock)
    document = export_configuration(services)
    audit_before = services.store.list_audit(limit=1000)

    report = import_configuration(services, document, "dave")

    assert report["created"] == {"protectionGroups": 0, "recoveryPlans": 0}
    assert report["skipped"] == {"protectionGroups": 3, "recoveryPlans": 2}
    assert services.store.list_audit(limit=1000) == audit_before


def test_a_dry_run_checks_and_writes_nothing(
    services: Services, empty_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    build_estate(services, simulator, clock)

    report = import_configuration(empty_services, export_configuration(services), "dave", dry_run=True)

    assert report["dryRun"] is True and report["valid"] is True
    assert report["created"] == {"protectionGroups": 3, "recoveryPlans": 2}
    assert {item["action"] for item in report["recoveryPlans"]} == {"wouldCreate"}
    assert empty_services.store.list_groups() == [] and empty_services.store.list_plans() == []
    assert empty_services.store.list_audit() == []


def test_a_hand_written_document_gets_its_bookkeeping_from_the_import(
    sqlite_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    document = {
        "formatVersion": 1,
        "protectionGroups": [
            {
                "groupId": "g-web",
                "groupName": "Web",
                "region": "us-east-1",
                "serverSelectionTags": {"Tier": "web"},
            }
        ],
        "recoveryPlans": [
            {"planName": "Web", "waves": [{"waveNumber": 1, "waveName": "web", "protectionGroupId": "g-web"}]}
        ],
    }

    import_configuration(sqlite_services, document, "erin")

    web = sqlite_services.store.get_group("g-web")
    assert (web.created_by, web.created_date, web.version) == ("erin", T0, 1)
    plan = sqlite_services.store.list_plans()[0]
    assert plan.waves[0].protection_group_id == "g-web" and plan.created_by == "erin"


def test_a_broken_import_lists_every_problem_and_changes_nothing(
    services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    existing_group = group(services, "Existing", serverSelectionTags={"Tier": "infrastructure"})
    existing_plan = create_recovery_plan(
        services,
        CreateRecoveryPlan(
            plan_name="Existing plan",
            waves=[Wave(wave_number=1, wave_name="infra", protection_group_id=existing_group.group_id)],
        ),
        "alice",
    ).plan
    before = export_configuration(services)
    audit_before = services.store.list_audit(limit=1000)
    primary, replica = simulator.server_id("db-primary-01"), simulator.server_id("db-replica-01")
    big = [simulator.server_id(h) for h in ("app-orders-01", "app-orders-02", "app-auth-01")]
    document = {
        "formatVersion": 2,
        "extras": True,
        "protectionGroups": [
            {
                "groupId": "g-db",
                "groupName": "Databases",
                "region": "us-east-1",
                "sourceServerIds": [primary],
            },
            {"groupId": "g-bad", "region": "moon-1", "sourceServerIds": [replica]},
            {
                "groupId": "g-db2",
                "groupName": "DATABASES",
                "region": "us-east-1",
                "sourceServerIds": [replica],
            },
            {
                "groupId": "g-ghost",
                "groupName": "Ghosts",
                "region": "us-east-1",
                "sourceServerIds": ["s-00000000000000000"],
            },
            {"groupId": "g-twice", "groupName": "Twice", "region": "us-east-1", "sourceServerIds": [primary]},
            {**existing_group.to_wire(), "description": "changed"},
            {
                "groupId": "g-infra",
                "groupName": "existing",
                "region": "us-east-1",
                "serverSelectionTags": {"Tier": "x"},
            },
            {"groupId": "g-apps", "groupName": "Apps", "region": "us-east-1", "sourceServerIds": big},
            "not an object",
        ],
        "recoveryPlans": [
            {
                "planName": "Dangling",
                "waves": [{"waveNumber": 1, "waveName": "w", "protectionGroupId": "g-nowhere"}],
            },
            {
                "planName": "Cycle",
                "waves": [
                    {"waveNumber": 1, "waveName": "a", "protectionGroupId": "g-db", "dependsOnWaves": [2]},
                    {"waveNumber": 2, "waveName": "b", "protectionGroupId": "g-db", "dependsOnWaves": [1]},
                ],
            },
            {
                "planName": "Too big",
                "waves": [{"waveNumber": 1, "waveName": "apps", "protectionGroupId": "g-apps"}],
            },
            {
                "planName": "existing PLAN",
                "waves": [{"waveNumber": 1, "waveName": "x", "protectionGroupId": "g-bad"}],
            },
        ],
    }
    services.settings = replace(services.settings, drs_limits=DrsLimits(max_servers_per_job=2))

    with pytest.raises(ValidationFailed) as error:
        import_configuration(services, document, "mallory")

    paths = [p["path"] for p in error.value.details["errors"]]
    assert error.value.code == "VALIDATION_ERROR" and error.value.status == 400
    assert error.value.message.startswith("The configuration cannot be imported; nothing was changed.")
    assert paths == [  # every problem, in document order
        "extras",
        "formatVersion",
        "protectionGroups[1].groupName",
        "protectionGroups[1].region",
        "protectionGroups[2].groupName",
        "protectionGroups[3].sourceServerIds[0]",
        "protectionGroups[4].sourceServerIds",
        "protectionGroups[5].groupId",
        "protectionGroups[6].groupName",  # repeats protectionGroups[5]'s name ...
        "protectionGroups[6].groupName",  # ... which is also an existing group's
        "protectionGroups[8]",
        "recoveryPlans[0].waves[0].protectionGroupId",
        "recoveryPlans[1]",
        "recoveryPlans[2].waves[0]",
        "recoveryPlans[3].planName",  # its wave names g-bad, invalid and reported once, above
    ]
    message_of = {p["path"]: p["message"] for p in error.value.details["errors"]}
    assert "also used by protectionGroups[0]" in message_of["protectionGroups[2].groupName"]
    assert "does not exist in DRS in us-east-1" in message_of["protectionGroups[3].sourceServerIds[0]"]
    assert "already in protectionGroups[0]" in message_of["protectionGroups[4].sourceServerIds"]
    assert "delete it first or import into an empty database" in message_of["protectionGroups[5].groupId"]
    assert "named 'Existing' already exists" in message_of["protectionGroups[6].groupName"]
    assert "cycle" in message_of["recoveryPlans[1]"]
    assert "would have 3 servers, max is 2" in message_of["recoveryPlans[2].waves[0]"]
    assert "'Existing plan' already exists" in message_of["recoveryPlans[3].planName"]

    with pytest.raises(ValidationFailed):
        import_configuration(services, document, "mallory", dry_run=True)
    assert without_time(export_configuration(services)) == without_time(before)
    assert services.store.get_plan(existing_plan.plan_id) == existing_plan
    assert services.store.list_audit(limit=1000) == audit_before


def test_a_valid_document_whose_ids_or_names_are_taken_is_a_conflict(
    services: Services, simulator: DrsSimulator
) -> None:
    existing = group(services, "Web", serverSelectionTags={"Tier": "web"})
    same_name = {
        "formatVersion": 1,
        "protectionGroups": [
            {
                "groupId": "g-web2",
                "groupName": "WEB",
                "region": "us-east-1",
                "serverSelectionTags": {"Tier": "x"},
            }
        ],
    }
    with pytest.raises(DuplicateName) as name_taken:
        import_configuration(services, same_name, "mallory", dry_run=True)
    assert (name_taken.value.code, name_taken.value.status) == ("DUPLICATE_NAME", 409)
    assert [p["path"] for p in name_taken.value.details["errors"]] == ["protectionGroups[0].groupName"]

    same_id = {"formatVersion": 1, "protectionGroups": [{**existing.to_wire(), "description": "changed"}]}
    with pytest.raises(Conflict) as id_taken:
        import_configuration(services, same_id, "mallory")
    assert (id_taken.value.code, id_taken.value.status) == ("CONFLICT", 409)
    assert "nothing was changed" in id_taken.value.message
    assert services.store.get_group(existing.group_id) == existing


def test_a_group_overlapping_an_existing_one_is_refused(services: Services, simulator: DrsSimulator) -> None:
    group(services, "Web", serverSelectionTags={"Tier": "web"})
    document = {
        "formatVersion": 1,
        "protectionGroups": [
            {
                "groupId": "g-front",
                "groupName": "Front",
                "region": "us-east-1",
                "sourceServerIds": [simulator.server_id("web-frontend-01")],
            }
        ],
    }
    with pytest.raises(ServerConflict) as error:  # the document is valid; drbot's state holds the server
        import_configuration(services, document, "mallory")
    assert (error.value.code, error.value.status) == ("SERVER_CONFLICT", 409)
    assert error.value.details["errors"] == [
        {
            "path": "protectionGroups[0].sourceServerIds",
            "message": f"server web-frontend-01 ({simulator.server_id('web-frontend-01')}) is already in "
            "protection group 'Web'; a server belongs to at most one protection group",
        }
    ]


def test_a_region_drs_cannot_read_is_a_problem_of_that_group(sqlite_services: Services) -> None:
    document = {
        "formatVersion": 1,
        "protectionGroups": [
            {
                "groupId": "g-eu",
                "groupName": "EU",
                "region": "eu-west-1",
                "serverSelectionTags": {"Tier": "web"},
            }
        ],
    }
    with pytest.raises(ValidationFailed) as error:
        import_configuration(sqlite_services, document, "mallory")
    (problem,) = error.value.details["errors"]
    assert problem["path"] == "protectionGroups[0].region"
    assert problem["message"].startswith("DRS in eu-west-1 could not be read")


def test_a_document_must_be_an_object_with_lists(sqlite_services: Services) -> None:
    with pytest.raises(ValidationFailed, match="expected a JSON object"):
        import_configuration(sqlite_services, ["not", "a", "document"], "mallory")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as error:
        import_configuration(sqlite_services, {"formatVersion": 1, "protectionGroups": {"a": 1}}, "mallory")
    assert error.value.details["errors"] == [
        {"path": "protectionGroups", "message": "expected a list, got dict"}
    ]
    with pytest.raises(ValidationFailed, match="formatVersion: field required"):
        import_configuration(sqlite_services, {}, "mallory")
