"""API-level building blocks of the DRS simulator: its error type, pagination and request checks.

Errors carry the DRS error code and the members of that error's shape in botocore's model (e.g.
ConflictException: resourceId, resourceType; ThrottlingException: retryAfterSeconds); the HTTP layer
turns them into the status, `x-amzn-ErrorType` header and body botocore expects.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from orchestration.drs.sim.format import parse_iso_datetime

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


class SimApiError(Exception):
    """A DRS error response: `code` is the error shape's name, `fields` its other members."""

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = {k: v for k, v in fields.items() if v is not None}


def validation_error(
    message: str, fields: Sequence[tuple[str, str]] = (), reason: str = "fieldValidationFailed"
) -> SimApiError:
    field_list = [{"name": name, "message": text} for name, text in fields] or None
    return SimApiError("ValidationException", message, reason=reason, fieldList=field_list)


def not_found(message: str, resource_id: str, resource_type: str) -> SimApiError:
    return SimApiError(
        "ResourceNotFoundException", message, resourceId=resource_id, resourceType=resource_type
    )


def conflict(message: str, resource_id: str, resource_type: str) -> SimApiError:
    return SimApiError("ConflictException", message, resourceId=resource_id, resourceType=resource_type)


def quota_exceeded(message: str, quota_code: str, resource_type: str) -> SimApiError:
    # quota codes are the simulator's descriptive names, not Service Quotas "L-…" codes
    return SimApiError(
        "ServiceQuotaExceededException",
        message,
        serviceCode="drs",
        quotaCode=quota_code,
        resourceType=resource_type,
    )


def throttled(retry_after_seconds: int) -> SimApiError:
    return SimApiError(
        "ThrottlingException", "Rate exceeded", serviceCode="drs", retryAfterSeconds=str(retry_after_seconds)
    )


@dataclass(frozen=True)
class PageRequest:
    """What a paginated request asks for: at most `limit` items after the key `after` (a token's)."""

    operation: str
    limit: int
    after: list[Any] | None

    def token(self, page: Sequence[T], key: Callable[[T], Sequence[Any]], more: bool) -> str | None:
        """The nextToken of a page: the key of its last item, when more items follow."""
        return _encode_token(self.operation, list(key(page[-1]))) if more and page else None


def page_request(params: dict[str, Any], operation: str, key_types: Sequence[type] = ()) -> PageRequest:
    """`maxResults` (at most 1000) and the key `nextToken` recorded; `key_types` checks that key's shape."""
    size = params.get("maxResults")
    limit = MAX_PAGE_SIZE if size is None else min(int(size), MAX_PAGE_SIZE)
    if limit < 1:
        raise validation_error("maxResults must be at least 1", [("maxResults", "must be at least 1")])
    after = _decode_token(params.get("nextToken"), operation)
    if after is not None and key_types and not _key_matches(after, key_types):
        raise validation_error("Invalid nextToken", [("nextToken", f"not a token {operation} returned")])
    return PageRequest(operation, limit, after)


def paginate(
    items: Sequence[T],
    key: Callable[[T], Sequence[Any]],
    params: dict[str, Any],
    operation: str,
) -> tuple[list[T], str | None]:
    """One page of `items` (already sorted by `key`) after `params["nextToken"]`.

    The token remembers the last key handed out rather than an offset, so items created between
    two pages neither repeat nor get skipped.
    """
    request = page_request(params, operation)
    after = request.after
    remaining = [item for item in items if after is None or list(key(item)) > after]
    page = remaining[: request.limit]
    return page, request.token(page, key, len(remaining) > request.limit)


def _key_matches(after: list[Any], key_types: Sequence[type]) -> bool:
    if len(after) != len(key_types):
        return False
    for value, wanted in zip(after, key_types, strict=True):
        if isinstance(value, bool):
            return False
        if wanted is float and not isinstance(value, int | float):
            return False
        if wanted is not float and not isinstance(value, wanted):
            return False
    return True


def _encode_token(operation: str, after: list[Any]) -> str:
    raw = json.dumps({"op": operation, "after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str | None, operation: str) -> list[Any] | None:
    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError) as exc:
        raise validation_error("Invalid nextToken", [("nextToken", "not a token this API returned")]) from exc
    if (
        not isinstance(decoded, dict)
        or decoded.get("op") != operation
        or not isinstance(decoded.get("after"), list)
    ):
        raise validation_error("Invalid nextToken", [("nextToken", f"not a token {operation} returned")])
    return list(decoded["after"])


# request checks shared by the operations ---------------------------------------------------------
MAX_TAGS = 50


def id_filter(filters: dict[str, Any], name: str, maximum: int | None) -> set[str] | None:
    """The ids of a filter list, or None when it does not filter (absent or empty, as in DRS)."""
    values = filters.get(name)
    if not values:
        return None
    if maximum is not None and len(values) > maximum:
        raise validation_error(
            f"filters.{name} holds {len(values)} ids; at most {maximum} are allowed",
            [(f"filters.{name}", f"at most {maximum} items")],
        )
    return {str(v) for v in values}


def date_filter(filters: dict[str, Any], name: str) -> float | None:
    value = filters.get(name)
    if not value:
        return None
    parsed = parse_iso_datetime(str(value))
    if parsed is None:
        raise validation_error(
            f"filters.{name} '{value}' is not an ISO-8601 date-time",
            [(f"filters.{name}", "expected e.g. 2026-01-01T00:00:00Z")],
        )
    return parsed


def refuse_duplicates(ids: list[str], field: str) -> None:
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise validation_error(
            f"{field} names {', '.join(repeated)} more than once", [(field, f"duplicate {repeated[0]}")]
        )


def unknown_ids(field: str, ids: list[str], what: str, where: str = "") -> SimApiError:
    """For operations that do not model ResourceNotFoundException: a ValidationException naming the ids."""
    listed = ", ".join(ids)
    return validation_error(
        f"Unknown {what}{'s' if len(ids) > 1 else ''}{where}: {listed}",
        [(field, f"{what} {i} not found") for i in ids],
    )


def valid_tags(tags: dict[str, Any]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise validation_error(f"At most {MAX_TAGS} tags are allowed", [("tags", f"{len(tags)} tags given")])
    problems = []
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            problems.append((f"tags.{key}", "keys are 1-128 characters"))
        elif key.lower().startswith("aws:"):
            problems.append((f"tags.{key}", "the aws: prefix is reserved"))
        if len(str(value)) > 256:
            problems.append((f"tags.{key}", "values are at most 256 characters"))
    if problems:
        raise validation_error("Invalid tags: " + "; ".join(f"{n}: {m}" for n, m in problems), problems)
    return {str(k): str(v) for k, v in tags.items()}


def page_body(items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"items": items}
    if token:
        body["nextToken"] = token
    return body
