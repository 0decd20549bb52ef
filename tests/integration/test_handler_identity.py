"""Identities are authenticated, never claimed (docs/api.md, "Who is calling").

A direct invocation acts as the configured principal whatever its payload names; a Cognito caller's
groups reach the role checks; every operation needs the view permission at least, so a caller with
no role reads nothing (and learns who it is from get_user_permissions).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from orchestration.config import Settings
from orchestration.errors import ValidationFailed
from orchestration.handlers import data_management, execution, query
from orchestration.handlers.operations import cognito_groups, direct_caller, rest_caller
from orchestration.models import EventType
from orchestration.rbac import RoleConfig
from tests.integration.test_handler_execution import api, make_plan, seed_example_4, two_wave_plan
from tests.integration.test_handlers_data_management import SEED_SERVER_2
from tests.support import apigw_event, response_json

__all__ = ["api"]  # the fixture, shared with the execution handler's tests

ALICE_ARN = "arn:aws:iam::111122223333:user/alice"


def set_roles(services: Any, roles: dict[str, Any], **settings: Any) -> None:
    services.settings = dataclasses.replace(
        services.settings, roles=RoleConfig.from_mapping(roles), **settings
    )


def call_rest(
    handler: Any,
    method: str,
    path: str,
    body: Any = None,
    *,
    user_arn: str = ALICE_ARN,
    claims: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    event = apigw_event(method, path, body, user_arn=user_arn)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims}
    response = handler.lambda_handler(event, None)
    return response["statusCode"], response_json(response)


def requested_by_alice(plan_id: str) -> str:
    """A drill requested over REST by alice (an operator), awaiting one approval."""
    status, body = call_rest(execution, "POST", "/executions", {"planId": plan_id, "executionType": "DRILL"})
    assert (status, body["status"]) == (202, "PENDING_APPROVAL"), body
    return str(body["executionId"])


# -- direct invocation: the configured principal, whatever the payload says -----------------------


def test_a_direct_payload_naming_an_approver_does_not_approve_as_them(api):
    plan_id = two_wave_plan()
    set_roles(api, {"operator": [ALICE_ARN], "approver": ["bob"]}, require_api_approval=True)
    execution_id = requested_by_alice(plan_id)
    refused = execution.lambda_handler(
        {"operation": "approve_execution", "actor": "bob", "body": {"executionId": execution_id}}, None
    )
    assert refused["error"] == "PERMISSION_DENIED"
    assert refused["message"].startswith("direct-invocation may not approve")
    stored = api.store.get_execution(execution_id)
    assert (stored.status, stored.approvals) == ("PENDING_APPROVAL", [])
    # nor may it reject as bob
    rejected = execution.lambda_handler(
        {
            "operation": "reject_execution",
            "actor": "bob",
            "body": {"executionId": execution_id, "reason": "freeze"},
        },
        None,
    )
    assert rejected["error"] == "PERMISSION_DENIED"
    assert api.store.get_execution(execution_id).status == "PENDING_APPROVAL"


def test_the_direct_principal_takes_its_role_from_the_configuration(api):
    plan_id = two_wave_plan()
    set_roles(
        api,
        {"operator": [ALICE_ARN], "approver": ["dr-automation"], "default": "none"},
        require_api_approval=True,
        direct_actor="dr-automation",
    )
    execution_id = requested_by_alice(plan_id)
    approved = execution.lambda_handler(
        {"operation": "approve_execution", "actor": "bob", "body": {"executionId": execution_id}}, None
    )
    assert (approved["status"], approved["started"], approved["approvals"]) == ("PENDING", True, 1)
    stored = api.store.get_execution(execution_id)
    assert [a.user_id for a in stored.approvals] == ["dr-automation"]
    [event] = [e for e in stored.events if e.type == EventType.APPROVED]
    assert event.actor == "dr-automation" and "bob" not in event.message


def test_the_direct_principal_cannot_approve_what_it_requested(api):
    set_roles(
        api,
        {"operator": ["direct-invocation"], "approver": ["direct-invocation"], "default": "none"},
        require_api_approval=True,
    )
    response = execution.lambda_handler(
        {
            "operation": "execute_recovery_plan",
            "actor": "alice",
            "body": {"planId": two_wave_plan(), "executionType": "DRILL"},
        },
        None,
    )
    execution_id = response["executionId"]
    assert response["status"] == "PENDING_APPROVAL"
    refused = execution.lambda_handler(
        {"operation": "approve_execution", "actor": "bob", "body": {"executionId": execution_id}}, None
    )
    assert refused["error"] == "PERMISSION_DENIED"
    assert "requested this drill and cannot approve it" in refused["message"]
    assert api.store.get_execution(execution_id).approvals == []


def test_on_behalf_of_is_recorded_beside_the_principal(api):
    set_roles(api, {"operator": ["direct-invocation"], "default": "none"})
    execution_id = execution.lambda_handler(seed_example_4(two_wave_plan()), None)["executionId"]
    details = execution.lambda_handler(
        {"operation": "get_execution_details", "body": {"executionId": execution_id}}, None
    )
    assert (details["initiatedBy"], details["onBehalfOf"]) == ("direct-invocation", "automation-script")
    [requested] = [e for e in details["events"] if e["type"] == "REQUESTED"]
    assert "direct-invocation (on behalf of automation-script) started a drill" in requested["message"]
    listed = execution.lambda_handler({"operation": "list_executions"}, None)
    assert listed["executions"][0]["onBehalfOf"] == "automation-script"
    [audit] = [
        a for a in api.store.list_audit(f"execution:{execution_id}") if a.action == "execution.request"
    ]
    assert (audit.actor, audit.details["onBehalfOf"]) == ("direct-invocation", "automation-script")


def test_every_direct_change_on_behalf_of_someone_is_audited_with_it(api):
    set_roles(api, {"operator": ["direct-invocation"], "default": "none"})
    execution_id = execution.lambda_handler(seed_example_4(two_wave_plan()), None)["executionId"]

    cancelled = execution.lambda_handler(
        {"operation": "cancel_execution", "body": {"executionId": execution_id}, "actor": "nightly-job"}, None
    )

    assert "error" not in cancelled, cancelled
    [audit] = [a for a in api.store.list_audit("operation:cancel_execution")]
    assert audit.actor == "direct-invocation"
    assert audit.details == {"onBehalfOf": "nightly-job", "params": {"executionId": execution_id}}
    reads = [a for a in api.store.list_audit() if a.subject == "operation:get_execution_details"]
    execution.lambda_handler(
        {"operation": "get_execution_details", "body": {"executionId": execution_id}, "actor": "x"}, None
    )
    assert [a for a in api.store.list_audit() if a.subject == "operation:get_execution_details"] == reads


def test_the_payload_actor_wins_over_initiated_by_and_rest_records_none(api):
    set_roles(api, {"operator": ["direct-invocation", ALICE_ARN], "default": "none"})
    event = {**seed_example_4(two_wave_plan()), "actor": "ops-runbook"}
    execution_id = execution.lambda_handler(event, None)["executionId"]
    assert api.store.get_execution(execution_id).on_behalf_of == "ops-runbook"
    # over REST the SigV4 caller is authenticated: a body's initiatedBy is not recorded at all
    other_plan = make_plan([("Web", [SEED_SERVER_2])], name="Other plan")
    status, body = call_rest(
        execution,
        "POST",
        "/executions",
        {"planId": other_plan, "executionType": "DRILL", "initiatedBy": "someone"},
    )
    assert status == 202, body
    stored = api.store.get_execution(body["executionId"])
    assert (stored.initiated_by, stored.on_behalf_of) == (ALICE_ARN, None)


def test_direct_caller_names():
    assert direct_caller("direct-invocation", "bob", "carol").on_behalf_of == "bob"
    assert direct_caller("direct-invocation", None, "carol").on_behalf_of == "carol"
    assert direct_caller("direct-invocation", None, None).on_behalf_of is None
    assert direct_caller("direct-invocation", "direct-invocation", None).on_behalf_of is None
    assert direct_caller("direct-invocation", None, "x" * 300).on_behalf_of is None
    assert direct_caller("ops", "bob", None).principal == "ops"


def test_the_direct_actor_setting():
    assert Settings.from_env({}).direct_actor == "direct-invocation"
    assert Settings.from_env({"DRBOT_DIRECT_ACTOR": "dr-automation"}).direct_actor == "dr-automation"
    with pytest.raises(ValidationFailed, match="DRBOT_DIRECT_ACTOR"):
        Settings.from_env({"DRBOT_DIRECT_ACTOR": " padded"})
    with pytest.raises(ValidationFailed, match="DRBOT_DIRECT_ACTOR"):
        Settings.from_env({"DRBOT_DIRECT_ACTOR": "x" * 257})


# -- REST: the SigV4 caller, or a Cognito user with its groups --------------------------------------


@pytest.mark.parametrize(
    "claim",
    [["dr-ops", "readers"], "dr-ops,readers", "[dr-ops readers]", "readers, dr-ops", '["dr-ops","readers"]'],
)
def test_cognito_groups_become_roles(api, claim):
    set_roles(api, {"operator": ["cognito:dr-ops"], "default": "none"})
    claims = {"email": "dana@example.com", "cognito:username": "dana", "cognito:groups": claim}
    status, who = call_rest(query, "GET", "/user/permissions", claims=claims)
    assert status == 200
    assert (who["user"], who["roles"]) == ("dana@example.com", ["operator"])
    assert who["groups"] == ["cognito:dr-ops", "cognito:readers"]
    # the group reaches the services' own checks too
    body = {"groupName": "Web", "region": "us-east-1", "serverSelectionTags": {"Tier": "web"}}
    status, created = call_rest(data_management, "POST", "/protection-groups", body, claims=claims)
    assert status == 200, created
    status, listed = call_rest(data_management, "GET", "/protection-groups", claims=claims)
    assert (status, listed["count"]) == (200, 1)


def test_a_cognito_group_the_roles_do_not_name_gives_nothing(api):
    set_roles(api, {"operator": ["cognito:dr-ops"], "default": "none"})
    claims = {"email": "eve@example.com", "cognito:groups": "[readers]"}
    status, body = call_rest(data_management, "GET", "/protection-groups", claims=claims)
    assert (status, body["error"]) == (403, "PERMISSION_DENIED")
    # without a Cognito authorizer there are no groups: the SigV4 caller alone
    status, body = call_rest(data_management, "GET", "/protection-groups")
    assert (status, body["error"]) == (403, "PERMISSION_DENIED")


def test_rest_caller_principal():
    def event(claims: Any = None, identity: Any = None) -> dict[str, Any]:
        context: dict[str, Any] = {"identity": identity or {}}
        if claims is not None:
            context["authorizer"] = {"claims": claims}
        return {"requestContext": context}

    arn = {"userArn": ALICE_ARN, "caller": "AIDA"}
    assert rest_caller(event(identity=arn)).principal == ALICE_ARN
    assert rest_caller(event({"email": "d@example.com", "sub": "1"}, arn)).principal == "d@example.com"
    assert rest_caller(event({"cognito:username": "dana", "sub": "1"})).principal == "dana"
    assert rest_caller(event({"sub": "0f1e"})).principal == "0f1e"
    assert rest_caller(event({}, arn)).principal == ALICE_ARN  # claims naming nobody: the IAM caller
    assert rest_caller(event()).principal == "api-gateway"
    assert rest_caller(event(identity=arn)).groups == frozenset()


def test_cognito_group_claim_forms():
    expected = frozenset({"cognito:a", "cognito:b"})
    assert cognito_groups(["a", "b"]) == expected
    assert cognito_groups("a,b") == expected
    assert cognito_groups("[a b]") == expected
    assert cognito_groups('["a", "b"]') == expected
    assert cognito_groups("a") == frozenset({"cognito:a"})
    for nothing in (None, "", "[]", 7, ["", 3], {"a": "b"}):
        assert cognito_groups(nothing) == frozenset()


# -- reads need the view permission ---------------------------------------------------------------


NO_ROLE = {"operator": ["someone-else"], "default": "none"}


def test_a_caller_with_no_role_reads_nothing(api, monkeypatch):
    set_roles(api, NO_ROLE)
    audit_before = len(api.store.list_audit())
    read: list[str] = []
    original = api.store.list_groups

    def watched(*args: Any, **kwargs: Any) -> Any:
        read.append("list_groups")
        return original(*args, **kwargs)

    monkeypatch.setattr(api.store, "list_groups", watched)
    for handler, method, path, body in [
        (data_management, "GET", "/protection-groups", None),
        (data_management, "GET", "/recovery-plans", None),
        (
            data_management,
            "POST",
            "/protection-groups/resolve",
            {"region": "us-east-1", "tags": {"Tier": "web"}},
        ),
        (data_management, "POST", "/protection-groups", {"groupName": 7}),  # a bad body: still 403
        (execution, "GET", "/executions", None),
        (query, "GET", "/drs/source-servers", None),
        (query, "GET", "/config/export", None),
    ]:
        status, answer = call_rest(handler, method, path, body)
        assert (status, answer["error"]) == (403, "PERMISSION_DENIED"), (path, answer)
        assert answer["permission"] == "view"
    for handler, operation in [
        (data_management, "list_protection_groups"),
        (query, "get_drs_source_servers"),
        (execution, "list_executions"),
    ]:
        answer = handler.lambda_handler({"operation": operation, "actor": "alice"}, None)
        assert answer["error"] == "PERMISSION_DENIED", answer
    assert read == []
    assert len(api.store.list_audit()) == audit_before
    assert api.store.list_groups() == []


def test_who_am_i_answers_a_caller_with_no_role(api):
    set_roles(api, NO_ROLE)
    status, who = call_rest(query, "GET", "/user/permissions")
    assert (status, who) == (200, {"user": ALICE_ARN, "roles": [], "permissions": []})
    direct = query.lambda_handler({"operation": "get_user_permissions"}, None)
    assert direct == {"user": "direct-invocation", "roles": [], "permissions": []}


def test_every_operation_but_who_am_i_documents_403():
    for handler in (data_management.handler, query.handler, execution.handler):
        document = handler.openapi()
        for op in handler.operations.values():
            responses = document["paths"][op.path][op.method.lower()]["responses"]
            assert ("403" in responses) == (op.name != "get_user_permissions"), op.name
