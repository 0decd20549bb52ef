"""The wire between botocore and the simulated EC2, IAM and STS: the query protocols (docs/simulator.md).

EC2 (`ec2` protocol) and IAM and STS (`query` protocol) send a form-encoded body
(`Action=DescribeSubnets&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-…`) and answer in XML. Both
directions are driven by botocore's own shapes, not by templates: `parse_query_request` reads a
request back into the operation's input parameters, `render_query_response` writes an output dict
as the XML botocore's parser turns back into that dict, with element names from the shapes'
`locationName`s (`<subnetSet><item>…` for EC2, `<InstanceProfiles><member>…` inside
`<ListInstanceProfilesResult>` for IAM). Errors are AWS's error documents for each protocol.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

# a list or structure parsed from the request: nested names -> values
_Tree = dict[str, Any]


class AwsQueryError(Exception):
    """An error answer of a simulated query-protocol call: AWS's code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class _Body:
    """The raw-response interface AWSResponse reads its content from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


# -- requests -------------------------------------------------------------------------------------


def parse_query_request(operation: OperationModel, request: AWSPreparedRequest) -> dict[str, Any]:
    """The operation's input parameters, read back from the form-encoded body botocore sent."""
    raw = request.body
    text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
    return parse_query_body(operation, text)


def parse_query_body(operation: OperationModel, body: str) -> dict[str, Any]:
    """`Action=…&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1` -> `{"Filters": [{"Name": …}]}`."""
    tree: _Tree = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        if key in ("Action", "Version"):
            continue
        node = tree
        *path, last = key.split(".")
        for part in path:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise AwsQueryError("MalformedQueryString", f"'{key}' conflicts with another parameter")
            node = child
        node[last] = value
    shape = operation.input_shape
    if shape is None:
        return {}
    ec2 = operation.metadata.get("protocol") == "ec2"
    return dict(_decode_structure(shape, tree, ec2))


def _input_name(shape: Shape, default: str, ec2: bool) -> str:
    """The name botocore's serializer gives a member on input (EC2 capitalizes a locationName)."""
    if ec2:
        if "queryName" in shape.serialization:
            return str(shape.serialization["queryName"])
        name = shape.serialization.get("name")
        return str(name[0].upper() + name[1:]) if name else default
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        member_name = shape.member.serialization.get("name")  # type: ignore[attr-defined]
        if member_name:
            return str(member_name)
    return str(shape.serialization.get("name", default))


def _decode(shape: Shape, node: Any, ec2: bool) -> Any:
    if isinstance(shape, StructureShape):
        if not isinstance(node, dict):
            raise AwsQueryError("MalformedQueryString", f"{shape.name} must be a structure")
        return _decode_structure(shape, node, ec2)
    if isinstance(shape, ListShape):
        return _decode_list(shape, node, ec2)
    if isinstance(shape, MapShape):
        return _decode_map(shape, node, ec2)
    if isinstance(node, dict):
        raise AwsQueryError("MalformedQueryString", f"{shape.name} must be a single value")
    return _scalar(shape, str(node))


def _decode_structure(shape: StructureShape, node: _Tree, ec2: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        wire = _input_name(member, name, ec2)
        if wire in node:
            params[name] = _decode(member, node[wire], ec2)
    return params


def _numbered(node: Any, what: str) -> list[Any]:
    """The values of `.1`, `.2`, … in order."""
    if node == "":
        return []  # the query protocol's empty list
    if not isinstance(node, dict) or not all(key.isdigit() for key in node):
        raise AwsQueryError("MalformedQueryString", f"{what} must be numbered from 1")
    return [node[key] for key in sorted(node, key=int)]


def _decode_list(shape: ListShape, node: Any, ec2: bool) -> list[Any]:
    if not ec2 and not shape.serialization.get("flattened") and node != "":
        member_name = shape.member.serialization.get("name", "member")
        node = node.get(member_name, {}) if isinstance(node, dict) else node
    return [_decode(shape.member, item, ec2) for item in _numbered(node, shape.name)]


def _decode_map(shape: MapShape, node: Any, ec2: bool) -> dict[str, Any]:
    if not shape.serialization.get("flattened") and isinstance(node, dict):
        node = node.get("entry", {})
    key_name = _input_name(shape.key, "key", ec2)
    value_name = _input_name(shape.value, "value", ec2)
    decoded: dict[str, Any] = {}
    for entry in _numbered(node, shape.name):
        if not isinstance(entry, dict) or key_name not in entry:
            raise AwsQueryError("MalformedQueryString", f"{shape.name} entries need a {key_name}")
        decoded[str(entry[key_name])] = _decode(shape.value, entry.get(value_name, ""), ec2)
    return decoded


def _scalar(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError as exc:
        raise AwsQueryError("InvalidParameterValue", f"'{text}' is not a number ({shape.name})") from exc
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "blob":
        return base64.b64decode(text)
    return text


# -- answers --------------------------------------------------------------------------------------


def render_query_response(operation: OperationModel, output: Mapping[str, Any], request_id: str) -> bytes:
    """The XML AWS answers `operation` with, holding `output` (members of its output shape)."""
    service = operation.service_model
    root = ET.Element(f"{operation.name}Response", {"xmlns": _namespace(service)})
    shape = operation.output_shape
    if _is_ec2(service):
        ET.SubElement(root, "requestId").text = request_id
        if shape is not None:
            _fill_structure(root, shape, output)
    else:
        if shape is not None:
            wrapper = ET.SubElement(root, str(shape.serialization.get("resultWrapper", "Result")))
            _fill_structure(wrapper, shape, output)
        metadata = ET.SubElement(root, "ResponseMetadata")
        ET.SubElement(metadata, "RequestId").text = request_id
    return _document(root)


def render_query_error(service: ServiceModel, error: AwsQueryError, request_id: str) -> bytes:
    """AWS's error document: EC2's `<Response><Errors><Error>…`, the query protocol's `<ErrorResponse>`."""
    if _is_ec2(service):
        root = ET.Element("Response")
        detail = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
        ET.SubElement(detail, "Code").text = error.code
        ET.SubElement(detail, "Message").text = error.message
        ET.SubElement(root, "RequestID").text = request_id
        return _document(root)
    root = ET.Element("ErrorResponse", {"xmlns": _namespace(service)})
    detail = ET.SubElement(root, "Error")
    ET.SubElement(detail, "Type").text = "Sender" if error.status < 500 else "Receiver"
    ET.SubElement(detail, "Code").text = error.code
    ET.SubElement(detail, "Message").text = error.message
    ET.SubElement(root, "RequestId").text = request_id
    return _document(root)


def xml_response(request: AWSPreparedRequest, status: int, body: bytes, request_id: str) -> AWSResponse:
    headers = HTTPHeaders()
    headers["Content-Type"] = "text/xml;charset=UTF-8"
    headers["Content-Length"] = str(len(body))
    headers["x-amzn-RequestId"] = request_id
    return AWSResponse(request.url, status, headers, _Body(body))


def _is_ec2(service: ServiceModel) -> bool:
    return service.metadata.get("protocol") == "ec2"


def _namespace(service: ServiceModel) -> str:
    namespace = str(service.metadata.get("xmlNamespace", ""))
    # EC2's model omits the trailing slash its answers carry
    return namespace if namespace.endswith("/") or not namespace else namespace + "/"


def _document(root: ET.Element) -> bytes:
    # no declaration of its own: ElementTree writes none for UTF-8
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(ET.tostring(root, encoding="utf-8"))


def _output_name(shape: Shape, member_name: str) -> str:
    """The element name botocore's parser looks for (`_member_key_name`)."""
    if isinstance(shape, ListShape) and shape.serialization.get("flattened"):
        member_name_on_wire = shape.member.serialization.get("name")
        if member_name_on_wire is not None:
            return str(member_name_on_wire)
    return str(shape.serialization.get("name", member_name))


def _fill_structure(element: ET.Element, shape: Shape, value: Mapping[str, Any]) -> None:
    if not isinstance(shape, StructureShape):
        raise TypeError(f"{shape.name} is not a structure")
    unknown = set(value) - set(shape.members)
    if unknown:
        raise ValueError(f"{shape.name} has no member {sorted(unknown)[0]}")
    for name, member in shape.members.items():
        if name not in value or value[name] is None:
            continue
        tag = _output_name(member, name)
        if isinstance(member, ListShape) and member.serialization.get("flattened"):
            for item in value[name]:
                _fill(ET.SubElement(element, tag), member.member, item)
        elif isinstance(member, MapShape) and member.serialization.get("flattened"):
            for key, item in value[name].items():
                _fill_entry(ET.SubElement(element, tag), member, key, item)
        else:
            _fill(ET.SubElement(element, tag), member, value[name])


def _fill(element: ET.Element, shape: Shape, value: Any) -> None:
    if isinstance(shape, StructureShape):
        _fill_structure(element, shape, value)
    elif isinstance(shape, ListShape):
        tag = str(shape.member.serialization.get("name", "member"))
        for item in value:
            _fill(ET.SubElement(element, tag), shape.member, item)
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            _fill_entry(ET.SubElement(element, "entry"), shape, key, item)
    else:
        element.text = _text(shape, value)


def _fill_entry(entry: ET.Element, shape: MapShape, key: Any, value: Any) -> None:
    _fill(ET.SubElement(entry, str(shape.key.serialization.get("name", "key"))), shape.key, key)
    _fill(ET.SubElement(entry, str(shape.value.serialization.get("name", "value"))), shape.value, value)


def _text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return _timestamp(value)
    if kind == "blob":
        data = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(data).decode()
    return str(value)


def _timestamp(value: Any) -> str:
    """ISO 8601 in UTC with milliseconds, as EC2 and IAM write them (`2026-01-01T00:00:00.000Z`)."""
    if isinstance(value, str):
        return value
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
