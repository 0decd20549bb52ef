"""One Lambda handler, two invocation styles (the seed contract, docs/api.md).

Each handler module declares its operations once (orchestration/handlers/operations.py: name, REST
method and path, request model, query parameters and the service call). From that table this
module serves

- the direct-invocation path: `{"operation", "body", "queryParams"}` → the body dict itself;
- the API Gateway path: a powertools `APIGatewayRestResolver` with request validation, whose
  OpenAPI schema is generated from the same request models → `{statusCode, headers, body}`
  (orchestration/handlers/rest_routes.py, imported with powertools' event handler when the first
  REST event arrives: a direct invocation needs neither).

Errors are mapped in one place (`operations.error_body`): a DrbotError keeps its code and status;
powertools' request validation errors become VALIDATION_ERROR/MISSING_FIELD naming the field;
anything else is a 500 INTERNAL_ERROR whose details stay in the logs. What an error echoes of the
caller's input is bounded (`capped_echo`). Both entries check the event itself first (`edge.py`),
so bad input is a 4xx before any operation runs; a known path asked with another method is a 405
with `Allow`.

Who calls is authenticated, never claimed (docs/api.md, "Who is calling"): over API Gateway the
SigV4 caller or a Cognito user with its groups; a direct invocation, which IAM authorised, acts as
the one configured principal (DRBOT_DIRECT_ACTOR), and a payload's `actor`/`initiatedBy` is kept as
"on behalf of" text only. Every operation first needs its permission (`Operation.permission`, view
at least), so a caller with no role reads nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from orchestration.errors import InvalidOperation, MethodNotAllowed
from orchestration.handlers import edge
from orchestration.handlers.operations import (
    Call,
    Operation,
    authorize,
    direct_caller,
    error_body,
    jsonable,
    rest_caller,
    rest_error,
)
from orchestration.handlers.runtime import current_services
from orchestration.services.access import with_groups
from orchestration.validation import parse_model

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

logger = Logger(service="drbot")


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
            authorize(op, services, caller)  # before the body is even read: no role, nothing learnt
            # direct callers pass path ids (groupId, executionId...) in the body or the query
            for name in op.path_params:
                if name not in params and isinstance(body.get(name), str):
                    params[name] = body[name]
            edge.check_params(params, "path")
            typed_body = body if op.raw_body else {k: v for k, v in body.items() if k not in op.path_params}
            model = parse_model(op.body, typed_body) if op.body is not None else None
            call = Call(services, caller, model, params, body)
            result: dict[str, Any] = jsonable(op.run(call))
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
                authorize(op, with_groups(current_services(), caller.principal, caller.groups), caller)
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
        """powertools' REST resolver over the operations, built (and its modules imported) on
        the first REST event or OpenAPI request."""
        if self._resolver is None:
            from orchestration.handlers.rest_routes import build_resolver

            self._resolver = build_resolver(self.title, list(self.operations.values()))
        return self._resolver

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document of the REST path (orchestration/handlers/rest_routes.py)."""
        from orchestration.handlers.rest_routes import openapi_document

        return openapi_document(self.resolver, self.title, list(self.operations.values()))

    def openapi_json(self) -> str:
        return json.dumps(self.openapi(), indent=2)


__all__ = ["OperationHandler"]
