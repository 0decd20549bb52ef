"""The execution handler through both invocation styles, on both stores and the DRS simulator.

The seed document's Examples 4 and 5 are replayed with their own payloads and checked for their
exact shapes; its Example 6 script runs as written, except that the engine is advanced between polls
instead of sleeping 30 seconds.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest

from orchestration.drs.clients import SimulatedDrsClients
from orchestration.drs.limits import DrsLimits
from orchestration.drs.simulator import DrsSimulator
from orchestration.engine.advance import advance
from orchestration.handlers import data_management, execution, runtime
from orchestration.models import Execution
from orchestration.ports import ManualDriver, RecordingNotifier
from orchestration.rbac import RoleConfig
from tests.integration.test_handlers_data_management import (
    SEED_SERVER_1,
    invoke,
    make_group,
    rest,
    seed_inventory,
)
from tests.support import apigw_event, response_json

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SEED_MESSAGE = "Execution started - check status with operation: get_execution_details"
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


@pytest.fixture
def api(services: Any, clock: Any) -> Iterator[Any]:
    simulator = DrsSimulator(db_path=None, clock=clock, inventory=seed_inventory())
    services.drs = SimulatedDrsClients(simulator)
    services.notifier = RecordingNotifier()
    services.driver = ManualDriver()
    runtime.use(services)
    yield services
    runtime.use(None)
    simulator.close()


def make_plan(waves: list[tuple[str, list[str]]], name: str = "Production DR Plan") -> str:
    """A plan of sequential waves, one new group each (the seed's Example 2 layout)."""
    body = {
        "planName": name,
        "waves": [
            {"waveNumber": i, "waveName": wave, "protectionGroupId": make_group(f"{name} {wave}", servers)}
            for i, (wave, servers) in enumerate(waves, 1)
        ],
    }
    return str(invoke(data_management, "create_recovery_plan", body)["planId"])


# The seed's second example id has 16 characters, which botocore's DRS model refuses (19 at least):
# the launches here use servers with ids DRS itself would issue.
APP_SERVER_1 = "s-0000000000000a001"


def two_wave_plan() -> str:
    return make_plan(
        [("Database Tier", ["s-0000000000000db01"]), ("Web Tier", [SEED_SERVER_1, APP_SERVER_1])]
    )


def seed_example_4(plan_id: str) -> dict[str, Any]:
    return {
        "operation": "execute_recovery_plan",
        "body": {"planId": plan_id, "executionType": "DRILL", "initiatedBy": "automation-script"},
    }


def drive(services: Any, execution_id: str, limit: int = 200) -> None:
    for _ in range(limit):
        result = advance(services, execution_id)
        if result.done or result.paused:
            return
        services.clock.advance(result.wait_seconds)
    raise AssertionError("the execution did not finish")


# -- the seed's examples --------------------------------------------------------------------------


def test_seed_example_4_execute_recovery_plan_direct(api):
    plan_id = two_wave_plan()
    response = execution.lambda_handler(seed_example_4(plan_id), None)
    assert set(response) == {"executionId", "status", "message", "statusUrl"}
    assert UUID4.match(response["executionId"])
    assert response["status"] == "PENDING"
    assert response["message"] == SEED_MESSAGE
    assert response["statusUrl"] == f"/executions/{response['executionId']}"
    stored = api.store.get_execution(response["executionId"])
    # IAM authorised the call: it acts as the configured principal; the payload's name is text only
    assert (stored.initiated_by, stored.on_behalf_of, stored.plan_id) == (
        "direct-invocation",
        "automation-script",
        plan_id,
    )
    assert api.driver.started == [response["executionId"]]


def test_seed_example_4_over_rest_is_a_202(api):
    plan_id = two_wave_plan()
    status, body = rest(execution, "POST", "/executions", {"planId": plan_id, "executionType": "DRILL"})
    assert status == 202
    assert set(body) == {"executionId", "status", "message", "statusUrl"}
    assert (body["status"], body["message"]) == ("PENDING", SEED_MESSAGE)
    stored = api.store.get_execution(body["executionId"])
    assert stored.initiated_by == "arn:aws:iam::111122223333:user/alice"


def test_seed_example_5_get_execution_details_shape(api):
    plan_id = two_wave_plan()
    execution_id = execution.lambda_handler(seed_example_4(plan_id), None)["executionId"]
    for _ in range(20):  # until wave 1 has completed and wave 2 is in flight, as in the example
        result = advance(api, execution_id)
        stored = api.store.get_execution(execution_id)
        if stored.waves[1].job_id:
            break
        api.clock.advance(result.wait_seconds)

    response = execution.lambda_handler(
        {"operation": "get_execution_details", "body": {"executionId": execution_id}}, None
    )
    assert response["executionId"] == execution_id
    assert response["planId"] == plan_id
    assert response["planName"] == "Production DR Plan"
    assert response["status"] == "RUNNING"
    assert response["executionType"] == "DRILL"
    assert isinstance(response["startTime"], int)
    first, second = response["waves"]
    assert (first["waveNumber"], first["waveName"], first["status"]) == (1, "Database Tier", "COMPLETED")
    assert first["jobId"].startswith("drsjob-")
    [server] = first["servers"]
    assert server["sourceServerId"] == "s-0000000000000db01"
    assert server["status"] == "LAUNCHED"
    assert server["instanceId"].startswith("i-")
    assert (second["waveNumber"], second["waveName"]) == (2, "Web Tier")
    assert second["status"] in ("LAUNCHING", "STARTED") and second["jobId"].startswith("drsjob-")
    # REST answers the same document
    status, body = rest(execution, "GET", f"/executions/{execution_id}")
    assert status == 200
    assert {k: v for k, v in body.items() if k != "events"} == {
        k: v for k, v in response.items() if k != "events"
    }


def test_seed_example_6_script_polls_until_completed(api):
    """The seed's Example 6, steps 4-5, with `advance` where the script sleeps."""
    plan_id = make_plan([("Primary Wave", [SEED_SERVER_1, APP_SERVER_1])], name="Automated Recovery Plan")
    exec_response = execution.lambda_handler(seed_example_4(plan_id), None)
    execution_id = exec_response["executionId"]
    assert exec_response["status"] == "PENDING"

    seen: list[str] = []
    status = exec_response["status"]
    for _ in range(60):  # max_polls
        drive_once = advance(api, execution_id)  # instead of sleeping 30 s
        api.clock.advance(drive_once.wait_seconds)
        status_response = execution.lambda_handler(
            {"operation": "get_execution_details", "body": {"executionId": execution_id}}, None
        )
        status = status_response["status"]
        seen.append(status)
        if status in TERMINAL:
            break
        for wave in status_response.get("waves", []):
            assert wave["waveNumber"] == 1 and wave.get("status", "UNKNOWN")
    assert status == "COMPLETED"
    assert seen[0] == "RUNNING" and seen.count("COMPLETED") == 1


# -- approval through the API ---------------------------------------------------------------------


BOB_ARN = "arn:aws:iam::111122223333:user/bob"


def rest_as(user_arn: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = execution.lambda_handler(apigw_event(method, path, body, user_arn=user_arn), None)
    return response["statusCode"], response_json(response)


def test_configuration_can_require_approval_for_api_runs(api):
    api.settings = dataclasses.replace(
        api.settings,
        require_api_approval=True,
        roles=RoleConfig.from_mapping({"approver": [BOB_ARN], "default": "operator"}),
    )
    response = execution.lambda_handler(seed_example_4(two_wave_plan()), None)
    assert response["status"] == "PENDING_APPROVAL"
    assert "awaiting approval (1 approval(s) needed)" in response["message"]
    assert api.driver.started == []
    execution_id = response["executionId"]
    # a direct payload naming an approver is not that approver: the call is the direct principal's
    refused = execution.lambda_handler(
        {"operation": "approve_execution", "actor": "bob", "body": {"executionId": execution_id}}, None
    )
    assert refused["error"] == "PERMISSION_DENIED"
    assert api.store.get_execution(execution_id).approvals == []
    status, approved = rest_as(BOB_ARN, "POST", f"/executions/{execution_id}/approve")
    assert status == 200
    assert (approved["status"], approved["started"], approved["approvals"]) == ("PENDING", True, 1)
    assert [a.user_id for a in api.store.get_execution(execution_id).approvals] == [BOB_ARN]
    assert api.driver.started == [execution_id]


def test_reject_over_rest_needs_a_reason(api):
    api.settings = dataclasses.replace(
        api.settings,
        require_api_approval=True,
        roles=RoleConfig.from_mapping({"approver": [BOB_ARN], "default": "operator"}),
    )
    execution_id = execution.lambda_handler(seed_example_4(two_wave_plan()), None)["executionId"]
    status, body = rest_as(BOB_ARN, "POST", f"/executions/{execution_id}/reject", {})
    assert (status, body["error"]) == (400, "MISSING_FIELD")
    status, body = rest_as(BOB_ARN, "POST", f"/executions/{execution_id}/cancel")
    assert (status, body["error"]) == (403, "PERMISSION_DENIED")
    assert body["message"].endswith("can withdraw it; an approver rejects it.")
    assert "/dr" not in str(body)
    status, rejected = rest_as(BOB_ARN, "POST", f"/executions/{execution_id}/reject", {"reason": "freeze"})
    assert (status, rejected["status"], rejected["changed"]) == (200, "REJECTED", True)


# -- listing, status, waves, jobs -----------------------------------------------------------------


def test_list_status_waves_and_jobs(api):
    plan_id = two_wave_plan()
    execution_id = execution.lambda_handler(seed_example_4(plan_id), None)["executionId"]
    drive(api, execution_id)

    listed = execution.lambda_handler(
        {"operation": "list_executions", "queryParams": {"planId": plan_id}}, None
    )
    assert listed["count"] == 1
    [summary] = listed["executions"]
    assert (summary["executionId"], summary["status"], summary["serversLaunched"]) == (
        execution_id,
        "COMPLETED",
        3,
    )
    status, body = rest(execution, "GET", "/executions", status="RUNNING", limit="5")
    assert (status, body["count"]) == (200, 0)
    status, body = rest(execution, "GET", "/executions", status="COMPLETED")
    assert [e["executionId"] for e in body["executions"]] == [execution_id]

    status, current = rest(execution, "GET", f"/executions/{execution_id}/status")
    assert status == 200
    assert (current["status"], current["done"], current["cleanup"]) == ("COMPLETED", True, "COMPLETED")
    assert current["progress"] == {
        "wavesCompleted": 2,
        "wavesTotal": 2,
        "serversLaunched": 3,
        "serversTotal": 3,
    }

    waves = execution.lambda_handler(
        {"operation": "get_execution_waves", "body": {"executionId": execution_id}}, None
    )
    assert [w["status"] for w in waves["waves"]] == ["COMPLETED", "COMPLETED"]

    status, jobs = rest(execution, "GET", f"/executions/{execution_id}/jobs")
    assert status == 200
    launches = [j for j in jobs["jobs"] if j["purpose"] == "launch"]
    assert [j["waveNumber"] for j in launches] == [1, 2]
    assert all(j["status"] == "COMPLETED" for j in launches)
    assert {s["sourceServerID"] for s in launches[1]["drs"]["participatingServers"]} == {
        SEED_SERVER_1,
        APP_SERVER_1,
    }


# -- pause, resume, cancel ------------------------------------------------------------------------


def test_pause_resume_cancel_over_rest_and_direct(api):
    execution_id = execution.lambda_handler(seed_example_4(two_wave_plan()), None)["executionId"]
    advance(api, execution_id)
    status, paused = rest(execution, "POST", f"/executions/{execution_id}/pause")
    assert (status, paused["status"], paused["changed"]) == (200, "PAUSED", True)
    resumed = execution.lambda_handler(
        {"operation": "resume_execution", "body": {"executionId": execution_id}}, None
    )
    assert (resumed["status"], resumed["changed"]) == ("RUNNING", True)
    status, cancelled = rest(execution, "POST", f"/executions/{execution_id}/cancel")
    assert (status, cancelled["status"]) == (200, "CANCELLING")
    assert api.driver.woken == [execution_id, execution_id]
    drive(api, execution_id)
    assert api.store.get_execution(execution_id).status == "CANCELLED"


# -- every error code -----------------------------------------------------------------------------


def test_not_found_and_invalid_transition(api):
    status, body = rest(execution, "GET", "/executions/00000000-0000-4000-8000-000000000000")
    assert (status, body["error"]) == (404, "NOT_FOUND")
    missing = execution.lambda_handler(
        {"operation": "cancel_execution", "body": {"executionId": "nope-nope"}}, None
    )
    assert missing["error"] == "NOT_FOUND"
    execution_id = execution.lambda_handler(seed_example_4(two_wave_plan()), None)["executionId"]
    status, body = rest(execution, "POST", f"/executions/{execution_id}/resume")
    assert (status, body["error"]) == (400, "INVALID_STATE_TRANSITION")
    assert "only a PAUSED execution can be resumed" in body["message"]
    assert body["currentStatus"] == "PENDING"


def test_validation_errors(api):
    status, body = rest(execution, "POST", "/executions", {"executionType": "DRILL"})
    assert (
        status == 400
        and body["error"] in ("MISSING_FIELD", "VALIDATION_ERROR")
        and "planId" in body["message"]
    )
    bad_type = execution.lambda_handler(
        {"operation": "execute_recovery_plan", "body": {"planId": "x", "executionType": "FAILOVER"}}, None
    )
    assert bad_type["error"] == "VALIDATION_ERROR" and "executionType" in bad_type["message"]
    status, body = rest(execution, "GET", "/executions", status="SLEEPING")
    assert (status, body["error"]) == (400, "VALIDATION_ERROR")
    unknown = execution.lambda_handler({"operation": "poll_execution_status"}, None)
    assert unknown["error"] == "INVALID_OPERATION"
    no_plan = execution.lambda_handler(seed_example_4("no-such-plan"), None)
    assert no_plan["error"] == "NOT_FOUND"


def test_server_conflict_and_plan_in_use_are_409(api):
    plan_id = two_wave_plan()
    first = execution.lambda_handler(seed_example_4(plan_id), None)["executionId"]
    status, body = rest(execution, "POST", "/executions", {"planId": plan_id})
    assert (status, body["error"]) == (409, "SERVER_CONFLICT")
    assert first in body["message"] and "web-server-01" in body["message"]
    assert SEED_SERVER_1 in body["serverIds"]
    empty_group = str(
        invoke(
            data_management,
            "create_protection_group",
            {"groupName": "Nothing", "region": "us-east-1", "serverSelectionTags": {"Tier": "none"}},
        )["groupId"]
    )
    empty_plan = invoke(
        data_management,
        "create_recovery_plan",
        {
            "planName": "Empty",
            "waves": [{"waveNumber": 1, "waveName": "W", "protectionGroupId": empty_group}],
        },
    )["planId"]
    api.settings = dataclasses.replace(api.settings, require_api_approval=True)
    execution.lambda_handler(seed_example_4(empty_plan), None)
    status, body = rest(execution, "POST", "/executions", {"planId": empty_plan})
    assert (status, body["error"]) == (409, "RESOURCE_IN_USE")
    # a REST caller reads what is wrong; how to type `/dr cancel` is Slack's and the console's to say
    assert body["message"].endswith("): wait for it to end or cancel it.")
    assert "/dr" not in str(body) and "remedy" not in body


def test_drs_limit_is_429_and_wave_size_400(api):
    plan_id = two_wave_plan()
    api.settings = dataclasses.replace(api.settings, drs_limits=DrsLimits(max_servers_in_all_jobs=1))
    status, body = rest(execution, "POST", "/executions", {"planId": plan_id})
    assert (status, body["error"]) == (429, "DRS_LIMIT_EXCEEDED")
    assert "DRS allows 1 servers across active jobs" in body["message"]
    assert body["limits"]["maxServersInAllJobs"] == 1
    api.settings = dataclasses.replace(api.settings, drs_limits=DrsLimits(max_servers_per_job=1))
    response = execution.lambda_handler(seed_example_4(plan_id), None)
    assert response == {
        "error": "WAVE_SIZE_LIMIT_EXCEEDED",
        "message": response["message"],
        "limit": 1,
        "errors": [{"waveNumber": 2, "serverCount": 2}],
        "findings": response["findings"],
    }
    assert "Wave 2 ('Web Tier') has 2 servers, max is 1" in response["message"]
    assert api.store.list_executions() == []


def test_permission_denied_is_403(api):
    plan_id = two_wave_plan()
    api.settings = dataclasses.replace(api.settings, roles=RoleConfig.from_mapping({"default": "viewer"}))
    status, body = rest(execution, "POST", "/executions", {"planId": plan_id})
    assert (status, body["error"]) == (403, "PERMISSION_DENIED")
    assert "may not request execution" in body["message"]


def test_a_driver_failure_is_a_500_and_the_run_is_failed(api):
    class Broken(ManualDriver):
        def start(self, execution: Execution) -> Execution:
            raise RuntimeError("secret internals")

    api.driver = Broken()
    status, body = rest(execution, "POST", "/executions", {"planId": two_wave_plan()})
    assert (status, body["error"]) == (500, "INTERNAL_ERROR")
    assert "secret" not in body["message"]
    [failed] = api.store.list_executions()
    assert failed.status == "FAILED"


def test_warnings_are_returned_with_the_202(api):
    plan_id = make_plan([("App", ["s-0000000000000a002"])], name="Stalled")  # app-server-02 is STALLED
    response = execution.lambda_handler(seed_example_4(plan_id), None)
    assert response["status"] == "PENDING"
    [warning] = response["warnings"]
    assert warning["code"] == "REPLICATION_UNHEALTHY" and "app-server-02" in warning["message"]


# -- the Step Functions task entry ----------------------------------------------------------------


def test_state_machine_tasks_go_to_the_task_dispatch(monkeypatch):
    from orchestration.handlers import tasks

    received: list[dict[str, Any]] = []

    def handle_task(event: dict[str, Any]) -> dict[str, Any]:
        received.append(event)
        return {"executionId": "x", "done": True}

    monkeypatch.setattr(tasks, "handle_task", handle_task)
    event = {"task": "advance", "executionId": "x"}
    assert execution.lambda_handler(event, None) == {"executionId": "x", "done": True}
    assert received == [event]


def test_openapi_lists_every_execution_operation():
    document = execution.handler.openapi_json()
    for path in ("/executions", "/executions/{executionId}", "/executions/{executionId}/jobs"):
        assert f'"{path}"' in document


def test_list_executions_pages_with_an_opaque_token_and_filters_by_date(api):
    from tests.integration.test_store_contract import T0, make_execution

    created = [
        api.store.create_execution(make_execution(n, requested_at=T0 + n // 2), "engine") for n in range(5)
    ]
    expected = [
        e.execution_id for e in sorted(created, key=lambda e: (e.requested_at, e.execution_id), reverse=True)
    ]

    seen: list[str] = []
    token = None
    while True:
        query = {"limit": "2"} | ({"nextToken": token} if token else {})
        status, body = rest(execution, "GET", "/executions", **query)
        assert status == 200 and body["count"] == len(body["executions"]) <= 2
        seen += [e["executionId"] for e in body["executions"]]
        token = body.get("nextToken")
        if token is None:
            break
        assert str(T0) not in token  # opaque
    assert seen == expected

    iso = "2026-01-01T00:00:01Z"  # T0 + 1
    status, body = rest(execution, "GET", "/executions", fromDate=iso, toDate=str(T0 + 1))
    assert [e["executionId"] for e in body["executions"]] == expected[1:3]
    direct = execution.lambda_handler(
        {"operation": "list_executions", "queryParams": {"fromDate": str(T0 + 2), "limit": 1}}, None
    )
    assert [e["executionId"] for e in direct["executions"]] == expected[:1] and "nextToken" not in direct


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "1001"},
        {"limit": "many"},
        {"nextToken": "not-a-token"},
        {"nextToken": "WzEsIDJd"},  # base64 of [1, 2]: not one of ours
        {"fromDate": "yesterday"},
        {"toDate": "2026-13-01"},
        {"fromDate": "2026-01-02", "toDate": "2026-01-01"},
    ],
)
def test_bad_list_executions_input_is_a_400(api, query):
    status, body = rest(execution, "GET", "/executions", **query)
    assert (status, body["error"]) == (400, "VALIDATION_ERROR"), body
    direct = execution.lambda_handler({"operation": "list_executions", "queryParams": query}, None)
    assert direct["error"] == "VALIDATION_ERROR"
