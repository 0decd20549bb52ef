"""One Lambda handler, two invocation styles (the seed contract, docs/api.md).

One piece, longer than most modules: the direct-invocation and REST paths read the same operation
table and must map errors the same way.

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

Who calls is authenticated, never claimed (docs/api.md, "Who is calling"): over API Gateway the
SigV4 caller or a Cognito user with its groups; a direct invocation, which IAM authorised, acts as
the one configured principal (DRBOT_DIRECT_ACTOR), and a payload's `actor`/`initiatedBy` is kept as
"on behalf of" text only. Every operation first needs its permission (`Operation.permission`, view
at least), so a caller with no role reads nothing.

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

from orchestration.context import Services
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
from orchestration.rbac import Permission
from orchestration.services.access import require, with_groups
from orchestration.validation import (
    capped_echo,
    drs_regions,
    parse_model,
    to_domain_error_from_list,
)

logger = Logger(service="drbot")

JSON_HEADERS = {"Content-Type": "application/json"}
REST_FALLBACK_ACTOR = "api-gateway"  # an API Gateway event that names no caller at all
COGNITO_PREFIX = "cognito:"  # how the role configuration names a Cognito group
MAX_NAME_CHARS = 256
MAX_COGNITO_GROUPS = 100


@dataclass(frozen=True)
class Caller:
    """Who is calling, as authenticated (docs/api.md, "Who is calling").

    `principal` is who the role checks, the audit and the approvals see; `groups` are the groups
    the authentication vouches for, named as the role configuration names them (`cognito:<group>`);
    `on_behalf_of` is what a direct payload says it acts for: recorded, never trusted."""

    principal: str
    groups: frozenset[str] = frozenset()
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class Call:
    """One validated request, whichever way it arrived."""

    services: Services  # for this caller: its authenticated groups reach the role checks
    caller: Caller
    body: Any = None  # the operation's request model instance, or None
    params: Mapping[str, str] = field(default_factory=dict)  # path and query parameters
    raw: Mapping[str, Any] = field(default_factory=dict)  # the body as sent (for pass-through operations)

    @property
    def actor(self) -> str:
        """The principal the services see (they take who acts as one string)."""
        return self.caller.principal

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
    # what the caller needs before the operation runs at all (None: anyone, e.g. "who am I");
    # a change checks its own permission too, in its service
    permission: Permission | None = Permission.VIEW

    @property
    def statuses(self) -> list[int]:
        """Every status this operation can answer: its success, a bad request (400), a body too
        large (413) or not JSON (415), and drbot or DRS failing (500); a caller whose role does not
        allow it is refused (403: every operation but one that answers anyone); naming an item, an
        account or a region, or changing something, can find nothing (404), a conflict (409) or a
        DRS limit (429)."""
        codes = {self.status, 400, 413, 415, 500}
        if self.permission is not None or self.method != "GET":
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
            services = current_services()
            caller = direct_caller(services.settings.direct_actor, actor_given, body.get("initiatedBy"))
            if caller.on_behalf_of is not None:
                logger.info(
                    "direct invocation on behalf of another",
                    extra={
                        "operation": op.name,
                        "principal": caller.principal,
                        "on_behalf_of": caller.on_behalf_of,
                    },
                )
            _authorize(op, services, caller)  # before the body is even read: no role, nothing learnt
            # direct callers pass path ids (groupId, executionId...) in the body or the query
            for name in op.path_params:
                if name not in params and isinstance(body.get(name), str):
                    params[name] = body[name]
            edge.check_params(params, "path")
            typed_body = body if op.raw_body else {k: v for k, v in body.items() if k not in op.path_params}
            model = parse_model(op.body, typed_body) if op.body is not None else None
            call = Call(services, caller, model, params, body)
            result: dict[str, Any] = _jsonable(op.run(call))
            if caller.on_behalf_of is not None and op.method != "GET":
                # the change's own audit entry names the principal; this one says for whom it acted
                services.store.append_audit(
                    caller.principal,
                    "direct.on_behalf_of",
                    f"operation:{op.name}",
                    onBehalfOf=caller.on_behalf_of,
                    params=dict(params),
                )
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
            op = self._operation_at(checked["path"], checked["httpMethod"])
            if op is not None:  # the role first: a caller with none learns nothing, not even a 400
                caller = rest_caller(checked)
                _authorize(op, with_groups(current_services(), caller.principal, caller.groups), caller)
            return self.resolver.resolve(checked, context)
        except MethodNotAllowed as error:
            return rest_error(error, {"Allow": ", ".join(error.details["allowed"])})
        except Exception as error:  # the seed's error shape, whatever failed
            return rest_error(error)

    def _matching(self, path: str) -> list[Operation]:
        """The operations whose path template `path` matches (empty: no route)."""
        parts = path.rstrip("/").split("/") if path != "/" else [""]
        found = []
        for op in self.operations.values():
            template = op.path.split("/")
            if len(template) == len(parts) and all(
                t == p or (t.startswith("{") and p) for t, p in zip(template, parts, strict=True)
            ):
                found.append(op)
        return found

    def _allowed_methods(self, path: str) -> list[str]:
        """The methods of the operations whose path template `path` matches (empty: no route)."""
        return sorted({op.method for op in self._matching(path)})

    def _operation_at(self, path: str, method: str) -> Operation | None:
        """The operation powertools will route `method path` to: a literal segment beats a
        parameter (`/protection-groups/resolve` is not a group id)."""
        candidates = [op for op in self._matching(path) if op.method == method]
        return max(candidates, key=lambda op: -op.path.count("{"), default=None)

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
            caller = rest_caller(app.current_event.raw_event)
            services = with_groups(current_services(), caller.principal, caller.groups)
            call = Call(services, caller, body, params, raw or {})
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


def _authorize(op: Operation, services: Services, caller: Caller) -> None:
    """Refuse (PERMISSION_DENIED) a caller whose roles lack what `op` needs before it runs."""
    if op.permission is not None:
        require(services, caller.principal, op.permission)


def direct_caller(principal: str, actor: Any, initiated_by: Any) -> Caller:
    """A direct invocation's caller: IAM authorised the call, so it is the configured principal;
    the payload's `actor` (else the body's `initiatedBy`) is only who it says it acts for."""
    said = next(
        (v for v in (actor, initiated_by) if isinstance(v, str) and v.strip() and len(v) <= MAX_NAME_CHARS),
        None,
    )
    return Caller(principal, on_behalf_of=None if said in (None, principal) else said)


def rest_caller(event: Mapping[str, Any]) -> Caller:
    """An API Gateway caller: a Cognito user pool's (its email, else its user name, else `sub`,
    with its `cognito:groups`) when a Cognito authorizer ran, else the SigV4 (IAM) identity; any
    part may be absent, and a caller naming nobody is `api-gateway`."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    authorizer = context.get("authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    if isinstance(claims, Mapping):
        for key in ("email", "cognito:username", "sub"):
            value = claims.get(key)
            if isinstance(value, str) and value.strip():
                return Caller(value[:MAX_NAME_CHARS], groups=cognito_groups(claims.get("cognito:groups")))
    found = (
        (identity.get(key) for key in ("userArn", "caller", "user")) if isinstance(identity, Mapping) else ()
    )
    principal = next((c for c in found if isinstance(c, str) and c), REST_FALLBACK_ACTOR)
    return Caller(principal[:MAX_NAME_CHARS])


def cognito_groups(claim: Any) -> frozenset[str]:
    """The role-configuration names (`cognito:<group>`) of a `cognito:groups` claim, which API
    Gateway REST hands over as a list, a comma-separated string or `[a b]` (space-separated in
    brackets; a JSON list is read as one too)."""
    names: list[Any]
    if isinstance(claim, list):
        names = claim
    elif isinstance(claim, str):
        text = claim.strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            names = parsed if isinstance(parsed, list) else text[1:-1].replace(",", " ").split()
        else:
            names = text.split(",")
    else:
        names = []
    cleaned = {n.strip() for n in names if isinstance(n, str)}
    kept = sorted(n for n in cleaned if n and len(n) <= MAX_NAME_CHARS)
    return frozenset(COGNITO_PREFIX + n for n in kept[:MAX_COGNITO_GROUPS])


def _jsonable(result: Any) -> Any:
    if hasattr(result, "to_wire"):
        return result.to_wire()
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result


__all__ = ["Call", "Caller", "Operation", "OperationHandler", "error_body"]
