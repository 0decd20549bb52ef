"""One Lambda handler, two invocation styles (the seed contract, docs/api.md).

Each handler module declares its operations once: name, REST method and path, request model,
query parameters and the service call. From that table this module builds

- the direct-invocation path: `{"operation", "body", "queryParams"}` → the body dict itself;
- the API Gateway path: a powertools `APIGatewayRestResolver` with request validation, whose
  OpenAPI schema is generated from the same request models → `{statusCode, headers, body}`.

Errors are mapped in one place (`error_body`): a DrbotError keeps its code and status; powertools'
request validation errors become VALIDATION_ERROR/MISSING_FIELD naming the field; anything else is
a 500 INTERNAL_ERROR whose details stay in the logs. What an error echoes of the caller's input is
bounded (`capped_echo`). Both entries check the event itself first (`edge.py`), so bad input is a
4xx before any operation runs; a known path asked with another method is a 405 with `Allow`.

The OpenAPI document (`openapi_json`) lists, for every route, each status it can answer, errors
with the `Error` schema.
"""

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel

from orchestration.bootstrap import Services
from orchestration.errors import (
    DrbotError,
    InternalError,
    InvalidOperation,
    MethodNotAllowed,
    MissingField,
    ValidationFailed,
)
from orchestration.handlers import edge
from orchestration.handlers.runtime import current_services
from orchestration.validation import (
    capped_echo,
    drs_regions,
    parse_model,
    to_domain_error_from_list,
)

logger = Logger(service="drbot")

JSON_HEADERS = {"Content-Type": "application/json"}
DIRECT_ACTOR = "direct-invocation"


@dataclass(frozen=True)
class Call:
    """One validated request, whichever way it arrived."""

    services: Services
    actor: str
    body: Any = None  # the operation's request model instance, or None
    params: Mapping[str, str] = field(default_factory=dict)  # path and query parameters
    raw: Mapping[str, Any] = field(default_factory=dict)  # the body as sent (for pass-through operations)

    def param(self, name: str) -> str:
        value = self.params.get(name)
        if value in (None, ""):
            raise MissingField(f"{name}: required", field=name)
        return str(value)

    def optional(self, name: str) -> str | None:
        value = self.params.get(name)
        return None if value in (None, "") else str(value)

    def flag(self, name: str) -> bool:
        value = (self.optional(name) or "false").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise ValidationFailed(f"{name}: must be true or false, not '{value}'", field=name)
        return value in ("true", "1", "yes")

    def integer(self, name: str) -> int | None:
        value = self.optional(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise ValidationFailed(f"{name}: must be a whole number, not '{value}'", field=name) from None


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str  # seed notation: /protection-groups/{groupId}
    run: Callable[[Call], Any]
    body: type[BaseModel] | None = None
    query: tuple[str, ...] = ()
    status: int = 200
    summary: str = ""
    raw_body: bool = False  # pass the JSON body through untyped (e.g. an import document)

    @property
    def statuses(self) -> list[int]:
        """Every status this operation can answer: its success, a bad request (400), a body too
        large (413) or not JSON (415), and drbot or DRS failing (500); a change can be refused by a
        role (403); naming an item, an account or a region, or changing something, can find nothing
        (404), a conflict (409) or a DRS limit (429)."""
        codes = {self.status, 400, 413, 415, 500}
        if self.method != "GET":
            codes.add(403)
        if self.method != "GET" or self.path_params or {"region", "accountId", "planId"} & set(self.query):
            codes |= {404, 409, 429}
        return sorted(codes)

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    @property
    def powertools_path(self) -> str:
        return "/".join(f"<{p[1:-1]}>" if p.startswith("{") else p for p in self.path.split("/"))


def error_body(error: Exception) -> tuple[int, dict[str, Any]]:
    """The one mapping from an exception to the seed's error shape and an HTTP status."""
    if isinstance(error, RequestValidationError):
        error = to_domain_error_from_list(list(error.errors()), strip_prefix=("body", "query", "path"))
    if not isinstance(error, DrbotError):
        logger.exception("unexpected error", extra={"error_type": type(error).__name__})
        error = InternalError("drbot failed unexpectedly; the details are in its logs.")
    return error.status, capped_echo(error.to_body())


def rest_error(error: Exception, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway proxy response for `error`."""
    status, payload = error_body(error)
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **(headers or {})},
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }


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


class OperationHandler:
    """A Lambda handler for a table of operations, in both invocation styles."""

    def __init__(self, title: str, operations: list[Operation]) -> None:
        self.title = title
        self.operations = {op.name: op for op in operations}
        self._resolver: APIGatewayRestResolver | None = None

    # -- entry -----------------------------------------------------------------------------------

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        if isinstance(event, dict) and "operation" in event:
            return self.direct(event)
        if isinstance(event, dict) and ("httpMethod" in event or "requestContext" in event):
            return self.rest(event, context)
        _, body = error_body(
            InvalidOperation(
                'Unrecognised event: send {"operation": NAME, "body": {...}, "queryParams": {...}} '
                "or an API Gateway REST event.",
                operations=sorted(self.operations),
            )
        )
        return body

    # -- direct invocation -----------------------------------------------------------------------

    def direct(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            operation, body, params, actor_given = edge.direct_parts(event)
            op = self.operations.get(operation)
            if op is None:
                raise InvalidOperation(
                    f"Unknown operation '{operation}'. This handler has: "
                    + ", ".join(sorted(self.operations)),
                    operations=sorted(self.operations),
                )
            # direct callers pass path ids (groupId, executionId...) in the body or the query
            for name in op.path_params:
                if name not in params and isinstance(body.get(name), str):
                    params[name] = body[name]
            edge.check_params(params, "path")
            typed_body = body if op.raw_body else {k: v for k, v in body.items() if k not in op.path_params}
            model = parse_model(op.body, typed_body) if op.body is not None else None
            initiated_by = body.get("initiatedBy")
            if not isinstance(initiated_by, str) or len(initiated_by) > 256:
                initiated_by = None
            actor = actor_given or initiated_by or DIRECT_ACTOR
            call = Call(current_services(), actor, model, params, body)
            result: dict[str, Any] = _jsonable(op.run(call))
            return result
        except Exception as error:  # every failure becomes the seed's error shape
            _, payload = error_body(error)
            return payload

    # -- API Gateway -----------------------------------------------------------------------------

    def rest(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            checked = edge.rest_event(event)
            allowed = self._allowed_methods(checked["path"])
            if allowed and checked["httpMethod"] not in allowed:
                raise MethodNotAllowed(
                    f"{checked['httpMethod']} is not allowed on {checked['path']}; "
                    f"it answers {', '.join(allowed)}",
                    allowed=allowed,
                )
            return self.resolver.resolve(checked, context)
        except MethodNotAllowed as error:
            return rest_error(error, {"Allow": ", ".join(error.details["allowed"])})
        except Exception as error:  # the seed's error shape, whatever failed
            return rest_error(error)

    def _allowed_methods(self, path: str) -> list[str]:
        """The methods of the operations whose path template `path` matches (empty: no route)."""
        parts = path.rstrip("/").split("/") if path != "/" else [""]
        methods = set()
        for op in self.operations.values():
            template = op.path.split("/")
            if len(template) == len(parts) and all(
                t == p or (t.startswith("{") and p) for t, p in zip(template, parts, strict=True)
            ):
                methods.add(op.method)
        return sorted(methods)

    @property
    def resolver(self) -> APIGatewayRestResolver:
        if self._resolver is None:
            self._resolver = self._build_resolver()
        return self._resolver

    def _build_resolver(self) -> APIGatewayRestResolver:
        app = APIGatewayRestResolver(enable_validation=True)

        @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
        def _any_error(error: Exception) -> Response[Any]:
            status, payload = error_body(error)
            return Response(status, "application/json", json.dumps(payload), headers=JSON_HEADERS)

        @app.not_found
        def _no_route(_: Exception) -> Response[Any]:
            event = app.current_event
            payload = {
                "error": "NOT_FOUND",
                "message": f"No route {event.http_method} {event.path} in the {self.title} API.",
            }
            return Response(404, "application/json", json.dumps(payload), headers=JSON_HEADERS)

        for op in self.operations.values():
            app.route(
                op.powertools_path,
                method=op.method,
                summary=op.summary or op.name,
                operation_id=op.name,
                tags=[self.title],
            )(self._route_function(app, op))
        return app

    def _route_function(self, app: APIGatewayRestResolver, op: Operation) -> Callable[..., Response[Any]]:
        def route(**kwargs: Any) -> Response[Any]:
            body = kwargs.pop("body", None)
            params = {k: str(v) for k, v in kwargs.items() if v is not None}
            raw = app.current_event.json_body if op.raw_body and app.current_event.body else {}
            call = Call(current_services(), _rest_actor(app), body, params, raw or {})
            result = op.run(call)
            return Response(
                op.status, "application/json", json.dumps(_jsonable(result)), headers=JSON_HEADERS
            )

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
                inspect.Parameter(
                    "body", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[op.body, Body()]
                )
            )
        route.__signature__ = inspect.Signature(parameters, return_annotation=Response[Any])  # type: ignore[attr-defined]
        route.__name__ = op.name
        return route

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document: powertools' (paths, parameters, request bodies from the models),
        each operation's responses replaced by every status it can answer."""
        document: dict[str, Any] = json.loads(
            self.resolver.get_openapi_json_schema(title=f"drbot {self.title} API", version="1.0.0")
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        schemas["Error"] = ERROR_SCHEMA
        error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for op in self.operations.values():
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

    def openapi_json(self) -> str:
        return json.dumps(self.openapi(), indent=2)


def _rest_actor(app: APIGatewayRestResolver) -> str:
    """Who called: the authorizer's email claim, else the IAM identity (any part may be absent)."""
    context = app.current_event.raw_event.get("requestContext") or {}
    identity = context.get("identity") or {}
    authorizer = context.get("authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    candidates = [
        claims.get("email") if isinstance(claims, Mapping) else None,
        *(identity.get(key) for key in ("userArn", "caller", "user")),
    ]
    return next((str(c) for c in candidates if isinstance(c, str) and c), "api-gateway")


def _jsonable(result: Any) -> Any:
    if hasattr(result, "to_wire"):
        return result.to_wire()
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result


__all__ = ["Call", "Operation", "OperationHandler", "error_body"]
