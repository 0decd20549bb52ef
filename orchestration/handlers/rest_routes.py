"""The API Gateway path of the operation handlers (docs/api.md): a powertools
`APIGatewayRestResolver` with request validation over an operation table, and the OpenAPI document
it generates from the same request models, each operation's responses replaced by every status it
can answer (errors with the `Error` schema).

Imported by `OperationHandler` (api.py) when the first REST event or OpenAPI request arrives: a
direct invocation needs neither powertools' event handler nor its OpenAPI models.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from orchestration.handlers.operations import JSON_HEADERS, Call, Operation, error_body, jsonable, rest_caller
from orchestration.handlers.runtime import current_services
from orchestration.services.access import with_groups
from orchestration.validation import drs_regions, to_domain_error_from_list

# the `Error` schema of the OpenAPI document: the seed's error shape
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A stable upper-case code, e.g. VALIDATION_ERROR"},
        "message": {"type": "string", "description": "One sentence naming the field or the item"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Every problem found, when there are several",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad request: a field is missing or not valid (VALIDATION_ERROR, MISSING_FIELD, ...)",
    403: "The caller's role does not allow this (PERMISSION_DENIED)",
    404: "The item, account or DRS resource named does not exist (NOT_FOUND, ...)",
    409: "Conflicts with the current state (VERSION_CONFLICT, DUPLICATE_NAME, RESOURCE_IN_USE, ...)",
    413: "The body or a parameter is too large (PAYLOAD_TOO_LARGE)",
    415: "The body is not application/json (UNSUPPORTED_MEDIA_TYPE)",
    429: "A DRS service limit would be exceeded (DRS_LIMIT_EXCEEDED)",
    500: "drbot or DRS failed (INTERNAL_ERROR, DRS_UNAVAILABLE)",
}


def build_resolver(title: str, operations: list[Operation]) -> APIGatewayRestResolver:
    """A resolver routing each operation's method and path to it, with powertools validating the
    path, query and body against the operation's declaration."""
    app = APIGatewayRestResolver(enable_validation=True)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _any_error(error: Exception) -> Response[Any]:
        if isinstance(error, RequestValidationError):
            error = to_domain_error_from_list(list(error.errors()), strip_prefix=("body", "query", "path"))
        status, payload = error_body(error)
        return Response(status, "application/json", json.dumps(payload), headers=JSON_HEADERS)

    @app.not_found
    def _no_route(_: Exception) -> Response[Any]:
        event = app.current_event
        payload = {
            "error": "NOT_FOUND",
            "message": f"No route {event.http_method} {event.path} in the {title} API.",
        }
        return Response(404, "application/json", json.dumps(payload), headers=JSON_HEADERS)

    for op in operations:
        app.route(
            op.powertools_path,
            method=op.method,
            summary=op.summary or op.name,
            operation_id=op.name,
            tags=[title],
        )(_route_function(app, op))
    return app


def _route_function(app: APIGatewayRestResolver, op: Operation) -> Callable[..., Response[Any]]:
    def route(**kwargs: Any) -> Response[Any]:
        body = kwargs.pop("body", None)
        params = {k: str(v) for k, v in kwargs.items() if v is not None}
        raw = app.current_event.json_body if op.raw_body and app.current_event.body else {}
        caller = rest_caller(app.current_event.raw_event)
        services = with_groups(current_services(), caller.principal, caller.groups)
        call = Call(services, caller, body, params, raw or {})
        result = op.run(call)
        return Response(op.status, "application/json", json.dumps(jsonable(result)), headers=JSON_HEADERS)

    # powertools reads the signature to validate and document parameters and body
    parameters = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, Path()])
        for name in op.path_params
    ]
    parameters += [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str | None, Query()], default=None
        )
        for name in op.query
    ]
    if op.body is not None:
        parameters.append(
            inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[op.body, Body()])
        )
    route.__signature__ = inspect.Signature(parameters, return_annotation=Response[Any])  # type: ignore[attr-defined]
    route.__name__ = op.name
    return route


def openapi_document(
    resolver: APIGatewayRestResolver, title: str, operations: list[Operation]
) -> dict[str, Any]:
    """The OpenAPI document: powertools' (paths, parameters, request bodies from the models),
    each operation's responses replaced by every status it can answer."""
    document: dict[str, Any] = json.loads(
        resolver.get_openapi_json_schema(title=f"drbot {title} API", version="1.0.0")
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for op in operations:
        entry = document["paths"][op.path][op.method.lower()]
        for parameter in entry.get("parameters", []):
            if parameter.get("name") == "region":  # the regions DRS is offered in
                parameter["schema"] = {"type": "string", "enum": sorted(drs_regions())}
        success = {"type": "object", "additionalProperties": True}
        entry["responses"] = {
            str(status): {
                "description": STATUS_TEXT.get(status, "OK"),
                "content": error_ref if status >= 400 else {"application/json": {"schema": success}},
            }
            for status in op.statuses
        }
    return document
