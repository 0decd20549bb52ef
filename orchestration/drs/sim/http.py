"""The wire between botocore and the DRS simulator (rest-json, as DRS speaks it).

botocore serializes each call into an `AWSPreparedRequest` and emits `before-send.drs.<Operation>`;
returning an `AWSResponse` from that event skips the network. So requests are read back exactly
as AWS would receive them (method, URL path and query, JSON body) and answers are parsed by
botocore exactly as AWS's are, errors and paginators included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.model import OperationModel, ServiceModel, Shape

from orchestration.drs.sim.api import SimApiError, validation_error

_URI_LABEL = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


class _Body:
    """The raw-response interface AWSResponse reads its content from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def parse_request(operation: OperationModel, request: AWSPreparedRequest) -> dict[str, Any]:
    """The operation's input parameters, recovered from the serialized request."""
    url = urlsplit(request.url)
    match = _path_pattern(str(operation.http["requestUri"])).search(url.path)
    if match is None:
        raise validation_error(
            f"{request.method} {url.path} does not match {operation.name}", reason="cannotParse"
        )
    path = {name: unquote(value) for name, value in match.groupdict().items()}
    query = parse_qs(url.query, keep_blank_values=True)
    body = _json_body(request.body if isinstance(request.body, bytes | str) else None)
    params: dict[str, Any] = {}
    shape = operation.input_shape
    if shape is None:
        return params
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in path:
                params[name] = path[wire_name]
        elif location == "querystring":
            values = query.get(wire_name)
            if values:
                params[name] = values if member.type_name == "list" else _scalar(member, values[0])
        elif location == "header":
            value = request.headers.get(wire_name)
            if value is not None:
                params[name] = _scalar(member, value.decode() if isinstance(value, bytes) else str(value))
        elif wire_name in body:
            params[name] = body[wire_name]
    return params


def success_response(
    operation: OperationModel, request: AWSPreparedRequest, output: dict[str, Any], request_id: str
) -> AWSResponse:
    status = int(operation.http.get("responseCode", 200))
    headers, body = _split_headers(operation.output_shape, output)
    return _response(request, status, {**headers, "x-amzn-RequestId": request_id}, body)


def error_response(
    service: ServiceModel, request: AWSPreparedRequest, error: SimApiError, request_id: str
) -> AWSResponse:
    shape = service.shape_for(error.code)
    status = int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
    headers, body = _split_headers(shape, {"message": error.message, **error.fields})
    headers.update({"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code})
    return _response(request, status, headers, body)


def _response(
    request: AWSPreparedRequest, status: int, headers: dict[str, str], body: dict[str, Any]
) -> AWSResponse:
    data = json.dumps(body).encode()
    http_headers = HTTPHeaders()
    for name, value in {
        "Content-Type": "application/json",
        "Content-Length": str(len(data)),
        **headers,
    }.items():
        http_headers[name] = value
    return AWSResponse(request.url, status, http_headers, _Body(data))


def _split_headers(shape: Shape | None, values: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Members the model puts in HTTP headers (e.g. Retry-After) go there; the rest is the JSON body."""
    members = getattr(shape, "members", {}) if shape is not None else {}
    headers: dict[str, str] = {}
    body: dict[str, Any] = {}
    for name, value in values.items():
        member = members.get(name)
        if member is not None and member.serialization.get("location") == "header":
            headers[member.serialization.get("name", name)] = str(value)
        else:
            body[name] = value
    return headers, body


def _json_body(raw: bytes | str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError as exc:
        raise validation_error("The request body is not valid JSON", reason="cannotParse") from exc
    if not isinstance(decoded, dict):
        raise validation_error("The request body must be a JSON object", reason="cannotParse")
    return decoded


def _scalar(shape: Shape, text: str) -> Any:
    if shape.type_name in ("integer", "long"):
        return int(text)
    if shape.type_name == "boolean":
        return text.lower() == "true"
    return text


@lru_cache(maxsize=256)
def _path_pattern(request_uri: str) -> re.Pattern[str]:
    """`/tags/{resourceArn}` -> `/tags/(?P<resourceArn>[^/]+)$` (a `{name+}` label may span slashes)."""
    path = request_uri.split("?", 1)[0]
    pattern = ""
    position = 0
    for label in _URI_LABEL.finditer(path):
        pattern += re.escape(path[position : label.start()])
        pattern += f"(?P<{label.group(1)}>{'.+' if label.group(2) else '[^/]+'})"
        position = label.end()
    pattern += re.escape(path[position:])
    return re.compile(pattern + "$")
