"""The issue's reproductions: each bad input is a 4xx in the seed's error shape."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from orchestration.handlers import data_management, query, runtime
from tests.support import apigw_event, response_json


@pytest.fixture
def live(sqlite_services: Any) -> Iterator[Any]:
    runtime.use(sqlite_services)
    yield sqlite_services
    runtime.use(None)


def _rest(handler: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = handler.lambda_handler(event, None)
    return response["statusCode"], response_json(response), response.get("headers") or {}


def test_rest_bad_input_is_a_4xx(live):
    status, body, _ = _rest(query, apigw_event("GET", "/drs/source-servers", None, {"region": "x y"}))
    assert (status, body["error"]) == (400, "VALIDATION_ERROR")
    event = apigw_event("POST", "/protection-groups", {"groupName": "a"})
    event["headers"] = {"Content-Type": "text/plain"}
    assert _rest(data_management, event)[0] == 415
    event["headers"] = {"content-type": "APPLICATION/JSON; charset=utf-8"}
    assert _rest(data_management, event)[1]["error"] == "MISSING_FIELD"
    assert _rest(data_management, apigw_event("POST", "/config/import", "x"))[0] == 400
    for text in ("a", base64.b64encode(b"\xff").decode()):
        event = apigw_event("POST", "/protection-groups", text)
        event["isBase64Encoded"] = True
        assert _rest(data_management, event)[0] == 400
    event = apigw_event("GET", "/protection-groups")
    del event["requestContext"]["identity"]
    assert _rest(data_management, event)[0] == 200
    status, body, headers = _rest(data_management, apigw_event("PATCH", "/protection-groups"))
    assert (status, body["error"], headers["Allow"]) == (405, "METHOD_NOT_ALLOWED", "GET, POST")
    assert live.store.list_groups() == []


def test_direct_bad_input_is_a_4xx_and_long_ids_are_cut(live):
    answer = data_management.lambda_handler(
        {"operation": "get_protection_group", "pathParameters": "x"}, None
    )
    assert answer["error"] == "VALIDATION_ERROR"
    deep: dict[str, Any] = {}
    for _ in range(5000):
        deep = {"a": deep}
    answer = data_management.lambda_handler(
        {"operation": "list_protection_groups", "queryParams": deep}, None
    )
    assert answer["error"] == "VALIDATION_ERROR"
    long_id = "g" * 10_000
    answer = data_management.lambda_handler(
        {"operation": "get_protection_group", "body": {"groupId": long_id}}, None
    )
    assert answer["error"] == "NOT_FOUND" and len(answer["message"]) < 400
    assert answer["message"].endswith("…") and "g" * 257 not in answer["message"]
