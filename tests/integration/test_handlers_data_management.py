"""The data-management and query handlers through both invocation styles, on both stores.

The seed document's Examples 1-3 are replayed with their own payloads against a DRS estate that
holds the servers they name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.inventory import parse_inventory
from orchestration.drs.limits import DrsLimits
from orchestration.drs.simulator import DrsSimulator
from orchestration.handlers import data_management, query, runtime
from tests.support import apigw_event, response_json

SEED_SERVER_1 = "s-1234567890abcdef0"
SEED_SERVER_2 = "s-abcdef1234567890"  # the seed's example id has 16 characters


def seed_inventory() -> Any:
    def server(hostname: str, server_id: str, tier: str, state: str = "CONTINUOUS") -> dict[str, Any]:
        return {
            "hostname": hostname,
            "region": "us-east-1",
            "sourceServerId": server_id,
            "os": "Amazon Linux 2023",
            "cpuCores": 4,
            "ramGiB": 16,
            "disks": [{"deviceName": "/dev/xvda", "sizeGiB": 100}],
            "recommendedInstanceType": "m6i.xlarge",
            "tags": {"Environment": "production", "Tier": tier},
            "replication": {"state": state},
        }

    return parse_inventory(
        {
            "servers": [
                server("web-server-01", SEED_SERVER_1, "web"),
                server("web-server-02", SEED_SERVER_2, "web"),
                server("db-server-01", "s-0000000000000db01", "database"),
                server("app-server-01", "s-0000000000000a001", "app"),
                server("app-server-02", "s-0000000000000a002", "app", state="STALLED"),
            ]
        }
    )


@pytest.fixture
def handler_services(services: Any, clock: Any) -> Iterator[Any]:
    simulator = DrsSimulator(db_path=None, clock=clock, inventory=seed_inventory())
    services.drs = SimulatedDrsClients(simulator)
    runtime.use(services)
    yield services
    runtime.use(None)
    simulator.close()


def invoke(handler: Any, operation: str, body: dict[str, Any] | None = None, **query: str) -> Any:
    event: dict[str, Any] = {"operation": operation}
    if body is not None:
        event["body"] = body
    if query:
        event["queryParams"] = query
    return handler.lambda_handler(event, None)


def rest(handler: Any, method: str, path: str, body: Any = None, **query: str) -> tuple[int, Any]:
    response = handler.lambda_handler(apigw_event(method, path, body, query or None), None)
    return response["statusCode"], response_json(response)


def make_group(name: str, servers: list[str]) -> str:
    body = {"groupName": name, "region": "us-east-1", "sourceServerIds": servers}
    return str(invoke(data_management, "create_protection_group", body)["groupId"])


# -- the seed's examples ----------------------------------------------------------------------------


def test_seed_example_1_create_protection_group(handler_services):
    response = invoke(
        data_management,
        "create_protection_group",
        {
            "groupName": "Production Web Servers",
            "region": "us-east-1",
            "sourceServerIds": [SEED_SERVER_1, SEED_SERVER_2],
            "description": "Production web tier servers",
        },
    )
    assert len(response["groupId"]) == 36
    assert response["groupName"] == "Production Web Servers"
    assert response["region"] == "us-east-1"
    assert response["sourceServerIds"] == [SEED_SERVER_1, SEED_SERVER_2]
    assert response["createdDate"] == int(handler_services.clock.now())
    assert response["version"] == 1
    assert response["createdBy"] == "direct-invocation"


def test_seed_example_2_create_recovery_plan_with_three_waves(handler_services):
    db = make_group("Database Tier", ["s-0000000000000db01"])
    app = make_group("Application Tier", ["s-0000000000000a001"])
    web = make_group("Web Tier", [SEED_SERVER_1])
    response = invoke(
        data_management,
        "create_recovery_plan",
        {
            "planName": "Production DR Plan",
            "description": "Multi-wave production recovery",
            "waves": [
                {"waveNumber": 1, "waveName": "Database Tier", "protectionGroupId": db},
                {
                    "waveNumber": 2,
                    "waveName": "Application Tier",
                    "protectionGroupId": app,
                    "dependsOnWaves": [1],
                },
                {"waveNumber": 3, "waveName": "Web Tier", "protectionGroupId": web, "dependsOnWaves": [2]},
            ],
        },
    )
    assert len(response["planId"]) == 36
    assert response["planName"] == "Production DR Plan"
    assert [w["waveNumber"] for w in response["waves"]] == [1, 2, 3]
    assert [w["dependsOnWaves"] for w in response["waves"]] == [[], [1], [2]]
    assert response["createdDate"] == int(handler_services.clock.now())
    assert response["version"] == 1


def test_seed_example_3_get_drs_source_servers(handler_services):
    response = query.lambda_handler(
        {"operation": "get_drs_source_servers", "queryParams": {"region": "us-east-1"}}, None
    )
    assert response["serverCount"] == 5
    assert response["region"] == "us-east-1"
    web = next(s for s in response["servers"] if s["sourceServerID"] == SEED_SERVER_1)
    assert web["hostname"] == "web-server-01"
    assert web["replicationState"] == "CONTINUOUS"
    assert web["lifecycleState"] == "READY_FOR_LAUNCH"
    assert web["hardware"] == {"totalCores": 4, "ramGiB": 16.0, "totalDiskGiB": 100.0}
    assert web["tags"] == {"Environment": "production", "Tier": "web"}


def test_source_servers_show_group_assignment_and_filter(handler_services):
    group_id = make_group("Web", [SEED_SERVER_1])
    status, body = rest(query, "GET", "/drs/source-servers", region="us-east-1", tags='{"Tier": "web"}')
    assert status == 200
    assert {s["sourceServerID"] for s in body["servers"]} == {SEED_SERVER_1, SEED_SERVER_2}
    assigned = {s["sourceServerID"]: s.get("protectionGroupId") for s in body["servers"]}
    assert assigned == {SEED_SERVER_1: group_id, SEED_SERVER_2: None}
    status, body = rest(query, "GET", "/drs/source-servers", region="us-east-1", replicationState="STALLED")
    assert [s["hostname"] for s in body["servers"]] == ["app-server-02"]
    status, body = rest(query, "GET", "/drs/source-servers", region="us-east-1", tags="[1]")
    assert (status, body["error"]) == (400, "VALIDATION_ERROR")
    assert "tags" in body["message"]


# -- REST round trip ----------------------------------------------------------------------------------


def test_rest_crud_round_trip(handler_services):
    status, created = rest(
        data_management,
        "POST",
        "/protection-groups",
        {"groupName": "Web", "region": "us-east-1", "serverSelectionTags": {"Tier": "web"}},
    )
    assert status == 200
    assert created["createdBy"] == "arn:aws:iam::111122223333:user/alice"
    assert created["serverCount"] == 2
    group_id = created["groupId"]

    status, listed = rest(data_management, "GET", "/protection-groups")
    assert (status, listed["count"], listed["protectionGroups"][0]["groupId"]) == (200, 1, group_id)

    status, updated = rest(
        data_management, "PUT", f"/protection-groups/{group_id}", {"description": "web tier", "version": 1}
    )
    assert (status, updated["version"], updated["description"]) == (200, 2, "web tier")

    status, stale = rest(
        data_management, "PUT", f"/protection-groups/{group_id}", {"description": "x", "version": 1}
    )
    assert (status, stale["error"]) == (409, "VERSION_CONFLICT")

    status, fetched = rest(data_management, "GET", f"/protection-groups/{group_id}")
    assert (status, fetched["description"], fetched["version"]) == (200, "web tier", 2)

    status, resolved = rest(
        data_management,
        "POST",
        "/protection-groups/resolve",
        {"region": "us-east-1", "serverSelectionTags": {"Tier": "app"}},
    )
    assert status == 200
    assert resolved["serverCount"] == 2
    assert any("app-server-02" in w for w in resolved["warnings"])  # unhealthy, named

    status, deleted = rest(data_management, "DELETE", f"/protection-groups/{group_id}", version="2")
    assert (status, deleted["deleted"]) == (200, True)
    status, gone = rest(data_management, "GET", f"/protection-groups/{group_id}")
    assert (status, gone["error"]) == (404, "NOT_FOUND")


def test_plan_rest_round_trip(handler_services):
    db = make_group("DB", ["s-0000000000000db01"])
    status, plan = rest(
        data_management,
        "POST",
        "/recovery-plans",
        {"planName": "DR", "waves": [{"waveNumber": 1, "waveName": "db", "protectionGroupId": db}]},
    )
    assert status == 200
    assert plan["waves"][0]["protectionGroupName"] == "DB"
    plan_id = plan["planId"]
    status, listed = rest(data_management, "GET", "/recovery-plans")
    assert [p["planId"] for p in listed["recoveryPlans"]] == [plan_id]
    status, updated = rest(data_management, "PUT", f"/recovery-plans/{plan_id}", {"planName": "DR v2"})
    assert (status, updated["planName"], updated["version"]) == (200, "DR v2", 2)
    status, fetched = rest(data_management, "GET", f"/recovery-plans/{plan_id}")
    assert fetched["serverCount"] == 1
    status, deleted = rest(data_management, "DELETE", f"/recovery-plans/{plan_id}")
    assert (status, deleted["planId"]) == (200, plan_id)


def test_openapi_schema_is_generated_from_the_request_models():
    schema = data_management.handler.openapi_json()
    assert '"/protection-groups/{groupId}"' in schema
    assert "CreateProtectionGroup" in schema
    assert "sourceServerIds" in schema


# -- one test per error code, both invocation styles ----------------------------------------------------


def both_styles(
    handler: Any, operation: str, method: str, path: str, body: Any = None
) -> list[tuple[int, Any]]:
    """The same request sent directly and through API Gateway: (status, body) for each (direct has
    no status: the body carries the error code)."""
    direct = handler.lambda_handler({"operation": operation, "body": body or {}}, None)
    return [(0, direct), rest(handler, method, path, body)]


@pytest.mark.parametrize(
    ("body", "code", "status", "field"),
    [
        ({"region": "us-east-1", "sourceServerIds": [SEED_SERVER_1]}, "MISSING_FIELD", 400, "groupName"),
        (
            {"groupName": 5, "region": "us-east-1", "sourceServerIds": [SEED_SERVER_1]},
            "VALIDATION_ERROR",
            400,
            "groupName",
        ),
        (
            {"groupName": "g", "region": "mars", "sourceServerIds": [SEED_SERVER_1]},
            "VALIDATION_ERROR",
            400,
            "region",
        ),
        (
            {"groupName": "g", "region": "us-east-1", "sourceServerIds": [SEED_SERVER_1], "colour": "red"},
            "VALIDATION_ERROR",
            400,
            "colour",
        ),
        ({"groupName": "g", "region": "us-east-1"}, "VALIDATION_ERROR", 400, None),
        (
            {"groupName": "g", "region": "us-east-1", "sourceServerIds": ["s-99999999999999999"]},
            "SERVERS_NOT_FOUND",
            404,
            None,
        ),
    ],
)
def test_bad_group_input_is_a_clear_error_in_both_styles(handler_services, body, code, status, field):
    for got_status, payload in both_styles(
        data_management, "create_protection_group", "POST", "/protection-groups", body
    ):
        assert payload["error"] == code, payload
        assert got_status in (0, status)
        if field:
            assert field in payload["message"]
    assert handler_services.store.list_groups() == []
    assert handler_services.store.list_audit() == []


def test_duplicate_name_and_server_conflict(handler_services):
    make_group("Web", [SEED_SERVER_1])
    for _, payload in both_styles(
        data_management,
        "create_protection_group",
        "POST",
        "/protection-groups",
        {"groupName": " WEB ", "region": "us-east-1", "sourceServerIds": [SEED_SERVER_2]},
    ):
        assert payload["error"] == "DUPLICATE_NAME"
    status, payload = rest(
        data_management,
        "POST",
        "/protection-groups",
        {"groupName": "Web 2", "region": "us-east-1", "serverSelectionTags": {"Tier": "web"}},
    )
    assert (status, payload["error"]) == (409, "SERVER_CONFLICT")
    assert SEED_SERVER_1 in payload["message"] and "'Web'" in payload["message"]


def test_group_used_by_a_plan_cannot_be_deleted(handler_services):
    group_id = make_group("DB", ["s-0000000000000db01"])
    invoke(
        data_management,
        "create_recovery_plan",
        {"planName": "DR", "waves": [{"waveNumber": 1, "waveName": "db", "protectionGroupId": group_id}]},
    )
    status, payload = rest(data_management, "DELETE", f"/protection-groups/{group_id}")
    assert (status, payload["error"]) == (409, "RESOURCE_IN_USE")
    assert "'DR'" in payload["message"]
    assert payload["plans"][0]["planName"] == "DR"


def test_plan_errors(handler_services):
    db = make_group("DB", ["s-0000000000000db01"])

    def waves(*items: tuple[int, list[int] | None]) -> list[dict[str, Any]]:
        return [
            {"waveNumber": n, "waveName": f"w{n}", "protectionGroupId": db}
            | ({} if deps is None else {"dependsOnWaves": deps})
            for n, deps in items
        ]

    cycle = {"planName": "P", "waves": waves((1, [2]), (2, None))}
    for got_status, payload in both_styles(
        data_management, "create_recovery_plan", "POST", "/recovery-plans", cycle
    ):
        assert payload["error"] == "CIRCULAR_DEPENDENCY"
        assert got_status in (0, 400)
        assert payload["cycle"] == [1, 2, 1]

    unknown_group = {
        "planName": "P",
        "waves": [{"waveNumber": 1, "waveName": "x", "protectionGroupId": "nope"}],
    }
    status, payload = rest(data_management, "POST", "/recovery-plans", unknown_group)
    assert (status, payload["error"]) == (404, "NOT_FOUND")
    assert "wave 1" in payload["message"]

    status, payload = rest(
        data_management, "POST", "/recovery-plans", {"planName": "P", "waves": waves((1, None), (1, None))}
    )
    assert (status, payload["error"]) == (400, "VALIDATION_ERROR")
    assert "unique" in payload["message"]
    assert handler_services.store.list_plans() == []


def test_wave_size_limit_uses_the_seed_error_shape(handler_services):
    handler_services.settings = dataclasses.replace(
        handler_services.settings, drs_limits=DrsLimits(max_servers_per_job=1)
    )
    web = make_group("Web", [SEED_SERVER_1, SEED_SERVER_2])
    status, payload = rest(
        data_management,
        "POST",
        "/recovery-plans",
        {"planName": "P", "waves": [{"waveNumber": 1, "waveName": "web", "protectionGroupId": web}]},
    )
    assert status == 400
    assert payload == {
        "error": "WAVE_SIZE_LIMIT_EXCEEDED",
        "message": "Wave 1 has 2 servers, max is 1",
        "limit": 1,
        "errors": [{"waveNumber": 1, "serverCount": 2}],
    }


def test_unknown_operation_and_unknown_route_and_garbage(handler_services):
    payload = invoke(data_management, "drop_all_tables")
    assert payload["error"] == "INVALID_OPERATION"
    assert "create_protection_group" in payload["message"]
    status, payload = rest(data_management, "GET", "/nowhere")
    assert (status, payload["error"]) == (404, "NOT_FOUND")
    status, payload = rest(data_management, "POST", "/protection-groups", "{not json")
    assert status == 400
    assert data_management.lambda_handler({"hello": "world"}, None)["error"] == "INVALID_OPERATION"
    payload = data_management.lambda_handler({"operation": "create_protection_group", "body": "[1, 2]"}, None)
    assert payload["error"] == "VALIDATION_ERROR"


def test_unexpected_failure_is_a_500_without_internals(handler_services, monkeypatch):
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(handler_services.store, "list_groups", broken)
    status, payload = rest(data_management, "GET", "/protection-groups")
    assert (status, payload["error"]) == (500, "INTERNAL_ERROR")
    assert "secret" not in payload["message"]
    assert invoke(data_management, "list_protection_groups")["error"] == "INTERNAL_ERROR"


def test_user_permissions_of_the_iam_caller(handler_services):
    from orchestration.rbac import RoleConfig

    handler_services.settings = dataclasses.replace(
        handler_services.settings,
        roles=RoleConfig.from_mapping({"operator": ["arn:aws:iam::111122223333:user/alice"]}),
    )
    status, body = rest(query, "GET", "/user/permissions")
    assert status == 200
    assert body["user"] == "arn:aws:iam::111122223333:user/alice"
    assert body["roles"] == ["operator"]
    assert "request_execution" in body["permissions"]
    # a direct invocation is its configured principal; the payload's actor is only "on behalf of"
    direct = query.lambda_handler({"operation": "get_user_permissions", "actor": "bob"}, None)
    assert (direct["user"], direct["roles"], direct["onBehalfOf"]) == ("direct-invocation", ["viewer"], "bob")
