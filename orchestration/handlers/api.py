"""One Lambda handler, two invocation styles (the seed contract, DESIGN.md §5).

Each handler module declares its operations once: name, REST method and path, request model,
query parameters and the service call. From that table this module builds

- the direct-invocation path: `{"operation", "body", "queryParams"}` → the body dict itself;
- the API Gateway path: a powertools `APIGatewayRestResolver` with request validation, whose
  OpenAPI schema is generated from the same request models → `{statusCode, headers, body}`.

Errors are mapped in one place (`error_body`): a DrbotError keeps its code and status; powertools'
request validation errors become VALIDATION_ERROR/MISSING_FIELD naming the field; anything else is
a 500 INTERNAL_ERROR whose details stay in the logs.
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
from orchestration.errors import DrbotError, InternalError, InvalidOperation, MissingField, ValidationFailed
from orchestration.handlers.runtime import current_services
from orchestration.validation import parse_model, to_domain_error_from_list

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
    return error.status, error.to_body()


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
            return self.resolver.resolve(event, context)
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
            op = self.operations.get(str(event.get("operation")))
            if op is None:
                raise InvalidOperation(
                    f"Unknown operation '{event.get('operation')}'. This handler has: "
                    + ", ".join(sorted(self.operations)),
                    operations=sorted(self.operations),
                )
            body = event.get("body") or {}
            if isinstance(body, str):
                body = _json_object(body, "body")
            query = event.get("queryParams") or event.get("queryStringParameters") or {}
            if not isinstance(body, dict) or not isinstance(query, dict):
                raise ValidationFailed("body and queryParams must be JSON objects")
            params = {**_stringify(query), **_stringify(event.get("pathParameters") or {})}
            # direct callers pass path ids (groupId, executionId...) in the body or the query
            for name in op.path_params:
                if name not in params and isinstance(body.get(name), str):
                    params[name] = body[name]
            typed_body = body if op.raw_body else {k: v for k, v in body.items() if k not in op.path_params}
            model = parse_model(op.body, typed_body) if op.body is not None else None
            actor = str(event.get("actor") or body.get("initiatedBy") or DIRECT_ACTOR)
            call = Call(current_services(), actor, model, params, body)
            result: dict[str, Any] = _jsonable(op.run(call))
            return result
        except Exception as error:  # every failure becomes the seed's error shape
            _, payload = error_body(error)
            return payload

    # -- API Gateway -----------------------------------------------------------------------------

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
            raw = app.current_event.json_body if op.raw_body else {}
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

    def openapi_json(self) -> str:
        return self.resolver.get_openapi_json_schema(title=f"drbot {self.title} API", version="1.0.0")


def _rest_actor(app: APIGatewayRestResolver) -> str:
    context = app.current_event.request_context
    identity = context.identity
    claims = (context.authorizer.claims or {}) if context.authorizer else {}
    return str(claims.get("email") or identity.user_arn or identity.caller or identity.user or "api-gateway")


def _json_object(text: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"{name}: not valid JSON ({exc.msg} at position {exc.pos})", field=name
        ) from exc
    if not isinstance(value, dict):
        raise ValidationFailed(f"{name}: must be a JSON object", field=name)
    return value


def _stringify(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items() if v is not None}


def _jsonable(result: Any) -> Any:
    if hasattr(result, "to_wire"):
        return result.to_wire()
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result


__all__ = ["Call", "Operation", "OperationHandler", "error_body"]
