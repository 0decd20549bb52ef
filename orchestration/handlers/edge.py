"""The edge of both entries: what an event must look like before any operation sees it.

A direct invocation and an API Gateway REST event are checked for their shape (each field of the
type the contract says), their sizes and nesting, and a REST body for its encoding and media type.
Whatever is wrong is a 4xx in the seed's error shape (orchestration/validation.py has the edge's
error classes); nothing here reaches the store.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from orchestration.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from orchestration.validation import (
    MAX_DEPTH,
    check_region,
    clip,
    depth_exceeds,
)

MAX_BODY_BYTES = 5 * 1024 * 1024  # under Lambda's 6 MB request payload, with room for the envelope
MAX_PARAM_CHARS = 16 * 1024  # one path or query parameter (a `tags` JSON of DRS's 50 tags fits)
JSON_MEDIA_TYPE = "application/json"
SCALARS = (str, int, float, bool)


# -- shared ---------------------------------------------------------------------------------------


def check_depth(value: Any, name: str) -> None:
    if depth_exceeds(value):
        raise ValidationFailed(f"{name}: nested deeper than {MAX_DEPTH} levels", field=name)


def check_params(params: Mapping[str, str], where: str) -> None:
    """Parameter sizes, and `region` against the regions DRS is offered in."""
    for name, value in params.items():
        if len(name) > MAX_PARAM_CHARS or len(value) > MAX_PARAM_CHARS:
            raise PayloadTooLarge(
                f"{where} parameter {clip(name)}: longer than {MAX_PARAM_CHARS} characters", field=clip(name)
            )
    region = params.get("region")
    if region not in (None, ""):
        check_region(str(region))


def _string_map(value: Any, name: str, *, lists: bool = False) -> dict[str, Any]:
    """`value` as a dict of strings (or of lists of strings with `lists`); None is empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationFailed(f"{name}: must be an object, not {_kind(value)}", field=name)
    for key, item in value.items():
        ok = (
            isinstance(item, list) and all(isinstance(v, str) for v in item)
            if lists
            else isinstance(item, str)
        )
        if not isinstance(key, str) or not (ok or item is None):
            what = "lists of strings" if lists else "strings"
            raise ValidationFailed(f"{name}: values must be {what} ({clip(str(key))})", field=name)
    return {k: v for k, v in value.items() if v is not None}


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a " + type(value).__name__
    )


def parse_json_object(text: str, name: str) -> dict[str, Any]:
    """`text` as a JSON object: strict JSON (no NaN), bounded nesting, a 400 for anything else."""

    def no_constant(token: str) -> Any:
        raise ValueError(f"{token} is not JSON")

    try:
        value = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"{name}: not valid JSON ({exc.msg} at position {exc.pos})", field=name
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed(f"{name}: not valid JSON ({clip(str(exc))})", field=name) from exc
    check_depth(value, name)
    if not isinstance(value, dict):
        raise ValidationFailed(f"{name}: must be a JSON object, not {_kind(value)}", field=name)
    return value


# -- direct invocation ----------------------------------------------------------------------------


def direct_parts(event: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, str], str | None]:
    """(operation, body, parameters, actor) of a direct invocation, every field checked."""
    check_depth(event, "event")
    operation = event.get("operation")
    if not isinstance(operation, str):
        raise ValidationFailed(f"operation: must be a string, not {_kind(operation)}", field="operation")
    body = event.get("body")
    if body is None or body == "":
        body = {}
    elif isinstance(body, str):
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"body: larger than {MAX_BODY_BYTES} bytes", field="body")
        body = parse_json_object(body, "body")
    elif not isinstance(body, dict):
        raise ValidationFailed(f"body: must be a JSON object, not {_kind(body)}", field="body")
    query = event.get("queryParams")
    if query is None:
        query = event.get("queryStringParameters")
    params = {**_scalars(query, "queryParams"), **_scalars(event.get("pathParameters"), "pathParameters")}
    actor = event.get("actor")
    if actor is not None and not isinstance(actor, str):
        raise ValidationFailed(f"actor: must be a string, not {_kind(actor)}", field="actor")
    if isinstance(actor, str) and len(actor) > 256:
        raise ValidationFailed("actor: longer than 256 characters", field="actor")
    return operation, body, params, actor or None


def _scalars(value: Any, name: str) -> dict[str, str]:
    """Direct parameters: an object whose values are strings, numbers or booleans (as strings)."""
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise ValidationFailed(f"{name}: must be an object, not {_kind(value)}", field=name)
    params: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            continue
        if not isinstance(key, str):
            raise ValidationFailed(f"{name}: keys must be strings", field=name)
        if isinstance(item, bool):
            params[key] = "true" if item else "false"
        elif isinstance(item, SCALARS):
            params[key] = str(item)
        else:  # the seed lets `tags` be an object: it travels as JSON, as in a query string
            params[key] = json.dumps(item)
    check_params(params, name)
    return params


# -- API Gateway ----------------------------------------------------------------------------------


def rest_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """A checked copy of an API Gateway REST event that powertools can resolve without surprises:
    the body decoded to text and, when present, a JSON object; one `Content-Type: application/json`
    header; parameters of the right types and sizes."""
    method = event.get("httpMethod")
    path = event.get("path")
    if not isinstance(method, str) or not method.isalpha():
        raise ValidationFailed("httpMethod: must be an HTTP method such as GET", field="httpMethod")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValidationFailed("path: must be a string starting with /", field="path")
    if len(path) > MAX_PARAM_CHARS:
        raise PayloadTooLarge(f"path: longer than {MAX_PARAM_CHARS} characters", field="path")
    headers = _string_map(event.get("headers"), "headers")
    multi_headers = _string_map(event.get("multiValueHeaders"), "multiValueHeaders", lists=True)
    query = _string_map(event.get("queryStringParameters"), "queryStringParameters")
    multi_query = _string_map(
        event.get("multiValueQueryStringParameters"), "multiValueQueryStringParameters", lists=True
    )
    path_params = _string_map(event.get("pathParameters"), "pathParameters")
    check_params(query, "query")
    for name, values in multi_query.items():
        for value in values:
            check_params({name: value}, "query")
    check_params(path_params, "path")
    context = event.get("requestContext")
    if context is not None and not isinstance(context, Mapping):
        raise ValidationFailed("requestContext: must be an object", field="requestContext")
    for part in ("identity", "authorizer"):
        inner = (context or {}).get(part)
        if inner is not None and not isinstance(inner, Mapping):
            raise ValidationFailed(
                f"requestContext.{part}: must be an object", field=f"requestContext.{part}"
            )

    text = _body_text(event.get("body"), event.get("isBase64Encoded"))
    media_type = _media_type(headers, multi_headers)
    kept_headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    kept_multi = {k: v for k, v in multi_headers.items() if k.lower() != "content-type"}
    if text.strip():
        if media_type is not None and media_type != JSON_MEDIA_TYPE:
            raise UnsupportedMediaType(
                f"Content-Type {clip(media_type)!r} is not supported: send the body as application/json",
                supported=[JSON_MEDIA_TYPE],
            )
        parse_json_object(text, "body")
        kept_headers["Content-Type"] = JSON_MEDIA_TYPE
        kept_multi["Content-Type"] = [JSON_MEDIA_TYPE]
    return {
        **event,
        "httpMethod": method.upper(),
        "headers": kept_headers,
        "multiValueHeaders": kept_multi,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params or None,
        "requestContext": dict(context or {}),
        "body": text if text.strip() else None,
        "isBase64Encoded": False,
    }


def _body_text(body: Any, encoded: Any) -> str:
    if body is None:
        return ""
    if not isinstance(body, str):
        raise ValidationFailed(f"body: must be a string, not {_kind(body)}", field="body")
    if encoded is not None and not isinstance(encoded, bool):
        raise ValidationFailed("isBase64Encoded: must be true or false", field="isBase64Encoded")
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise PayloadTooLarge(f"body: larger than {MAX_BODY_BYTES} bytes", field="body")
    if not encoded:
        raw = body.encode("utf-8", "surrogatepass")
    else:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed(
                "body: isBase64Encoded is true but it is not base64", field="body"
            ) from exc
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body: larger than {MAX_BODY_BYTES} bytes", field="body")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("body: not UTF-8 text", field="body") from exc


def _media_type(headers: Mapping[str, str], multi_headers: Mapping[str, list[str]]) -> str | None:
    """The Content-Type's media type, lower-case without parameters (None: no Content-Type)."""
    values = [v for k, v in headers.items() if k.lower() == "content-type"]
    values += [v for k, vs in multi_headers.items() if k.lower() == "content-type" for v in vs]
    if not values:
        return None
    types = {v.split(";", 1)[0].strip().lower() for v in values}
    return types.pop() if len(types) == 1 else ", ".join(sorted(types))
