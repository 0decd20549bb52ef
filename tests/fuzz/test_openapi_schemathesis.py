"""Schemathesis against each handler's own OpenAPI document, in-process: every generated request
(valid and not) goes to the Lambda handler as an API Gateway event. No answer is a 5xx, every
status is one the route documents, every error has the documented `Error` shape, and a rejected
request changed nothing in the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from orchestration.handlers import runtime
from tests.fuzz.support import HANDLERS, OPERATIONS, check_error_body, fuzz_settings, seed, snapshot

MAX_EXAMPLES = 12  # per operation and generation mode; with a fixed seed (derandomize)


@pytest.fixture
def live(sqlite_services: Any) -> Iterator[Any]:
    runtime.use(sqlite_services)
    seed()
    yield sqlite_services
    runtime.use(None)


def _schema(title: str) -> Any:
    return schemathesis.openapi.from_dict(HANDLERS[title].handler.openapi())


def _query_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def to_event(case: Any) -> dict[str, Any]:
    """A schemathesis case as the API Gateway REST event API Gateway would send the Lambda."""
    path = case.path
    for name, value in (case.path_parameters or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    query = {k: v for k, v in (case.query or {}).items() if v is not None}
    multi = {k: [_query_value(x) for x in (v if isinstance(v, list) else [v])] for k, v in query.items()}
    multi = {k: v for k, v in multi.items() if v}
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    body = None
    if not isinstance(case.body, NotSet):
        media_type = case.media_type or "application/json"
        headers["Content-Type"] = media_type
        if isinstance(case.body, bytes):
            body = case.body.decode("utf-8", "replace")
        elif "json" in media_type:
            body = json.dumps(case.body)
        else:
            body = str(case.body)
    return {
        "resource": case.path,
        "path": path,
        "httpMethod": case.method.upper(),
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": case.path,
            "httpMethod": case.method.upper(),
            "stage": "prod",
            "requestId": "fuzz",
            "identity": {"userArn": "arn:aws:iam::111122223333:user/alice", "sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("title", "operation_id"),
    [(module.handler.title, op.name) for module, op in OPERATIONS],
    ids=[op.name for _, op in OPERATIONS],
)
def test_every_generated_request_gets_a_documented_answer(live: Any, title: str, operation_id: str) -> None:
    handler = HANDLERS[title].handler
    schema = _schema(title)
    operation = schema.find_operation_by_id(operation_id)
    documented = {int(code) for code in operation.definition.raw["responses"]}
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @fuzz_settings(MAX_EXAMPLES)
    @given(case=strategy)
    def check(case: Any) -> None:
        event = to_event(case)
        before = snapshot(live)
        response = handler(event, None)
        status = response["statusCode"]
        context = (
            f"{event['httpMethod']} {event['path']} {event['queryStringParameters']} {event['body']!r:.300}"
        )
        assert status < 500, f"{status} {response['body'][:500]}: {context}"
        assert status in documented, f"{status} not documented: {response['body'][:500]}: {context}"
        if status >= 400:
            check_error_body(json.loads(response["body"]), documented, context)
            assert snapshot(live) == before, f"a rejected request changed the store: {context}"

    check()


def test_the_document_declares_every_status_with_the_error_schema() -> None:
    for title, module in HANDLERS.items():
        document = module.handler.openapi()
        assert document["components"]["schemas"]["Error"]["required"] == ["error", "message"]
        assert "HTTPValidationError" not in document["components"]["schemas"]
        for op in module.handler.operations.values():
            responses = document["paths"][op.path][op.method.lower()]["responses"]
            assert sorted(int(s) for s in responses) == op.statuses, (title, op.name)
            assert "422" not in responses
            for status, response in responses.items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}
