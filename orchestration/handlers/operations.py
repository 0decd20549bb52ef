"""What both invocation styles share (docs/api.md): the operation table's types, who is calling,
and the one mapping from an exception to the seed's error shape.

A handler module (data_management.py, execution.py, query.py) declares its `Operation`s; `api.py`
serves them as a direct invocation, and over API Gateway through `rest_routes.py`, which is imported
only when a REST event arrives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from orchestration.context import Services
from orchestration.errors import DrbotError, InternalError, MissingField, ValidationFailed
from orchestration.rbac import Permission
from orchestration.services.access import require
from orchestration.validation import capped_echo

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


def authorize(op: Operation, services: Services, caller: Caller) -> None:
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


def jsonable(result: Any) -> Any:
    if hasattr(result, "to_wire"):
        return result.to_wire()
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result
