"""Input validation at the edge: pydantic errors become the domain's errors, in one place.

A caller gets one error code and one sentence naming the field, plus `errors` listing every
problem found, e.g. `{"error": "MISSING_FIELD", "message": "groupName: field required", ...}`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import botocore.session
from pydantic import BaseModel, ValidationError

from orchestration.errors import (
    CircularDependency,
    InvalidScheduleExpression,
    MissingField,
    ValidationFailed,
)

M = TypeVar("M", bound=BaseModel)

# pydantic error type -> the domain error that means the same thing
_SPECIFIC: dict[str, type[ValidationFailed]] = {
    "missing": MissingField,
    "circular_dependency": CircularDependency,
    "invalid_schedule_expression": InvalidScheduleExpression,
    "invalid_timezone": InvalidScheduleExpression,
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """`('waves', 2, 'waveName')` -> `waves[2].waveName`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_errors(
    errors: Sequence[Mapping[str, Any]], strip_prefix: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """pydantic error dicts as `{"field", "message"}`; `strip_prefix` drops a leading location part
    such as powertools' "body"/"query"."""
    problems = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if loc and loc[0] in strip_prefix:
            loc = loc[1:]
        # model-level validators report a "function-..." location; their message names the fields
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
        problems.append(
            {"field": field_path(loc), "message": _sentence(str(err.get("type")), str(err.get("msg", "")))}
        )
    return problems


def _sentence(kind: str, msg: str) -> str:
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown field"
    return msg[0].lower() + msg[1:] if msg else msg


def to_domain_error_from_list(
    errors: Sequence[Mapping[str, Any]], strip_prefix: tuple[str, ...] = ()
) -> ValidationFailed:
    """The domain error for a list of pydantic error dicts: the first one's code and sentence,
    every problem in `errors`."""
    if not errors:
        return ValidationFailed("the request is not valid")
    problems = describe_errors(errors, strip_prefix)
    first_type = str(errors[0].get("type"))
    cls = _SPECIFIC.get(first_type, ValidationFailed)
    first = problems[0]
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    details: dict[str, Any] = {"errors": problems}
    ctx = errors[0].get("ctx") or {}
    if cls is CircularDependency and "waves" in ctx:
        details["cycle"] = ctx["waves"]
    return cls(message, **details)


def to_domain_error(exc: ValidationError) -> ValidationFailed:
    return to_domain_error_from_list(exc.errors(include_url=False))


def parse_model(model: type[M], data: Any) -> M:
    """Validate `data` as `model`, raising a domain ValidationFailed (never a pydantic error)."""
    if not isinstance(data, dict):
        raise ValidationFailed(f"expected a JSON object for {model.__name__}, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise to_domain_error(exc) from exc


# -- the edge of every entry: errors and checks no model expresses ----------------------------------


MAX_DEPTH = 32  # nesting of any JSON value a caller sends (the models need at most 5)
ECHO_CHARS = 256  # a caller's value longer than this is cut with an ellipsis when echoed back
ECHO_ITEMS = 100  # an error lists at most this many items of any list (e.g. `errors`)
ECHO_MESSAGE_CHARS = 2048

_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests lists/dicts deeper than `limit` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


@functools.cache
def drs_regions() -> frozenset[str]:
    """The regions DRS is offered in, in every partition botocore knows (its endpoint data), that
    match the region names drbot stores (models.Region)."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("drs", partition)
        if _REGION_PATTERN.match(region)
    )


def check_region(value: str, name: str = "region") -> str:
    """`value` if it names a region DRS is offered in, else a VALIDATION_ERROR naming the field."""
    if value not in drs_regions():
        raise ValidationFailed(
            f"{name}: '{clip(value)}' is not a region Elastic Disaster Recovery is offered in "
            "(e.g. us-east-1)",
            field=name,
        )
    return value


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """`text`, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


_LONG_WORD = re.compile(rf"\S{{{ECHO_CHARS + 1},}}")


def capped_echo(body: Mapping[str, Any]) -> dict[str, Any]:
    """An error body whose echoes of the caller's input are bounded: every word of the message and
    every string of the details cut at ECHO_CHARS, the message at ECHO_MESSAGE_CHARS, lists at
    ECHO_ITEMS items, nesting at MAX_DEPTH (so a 10 MB id never comes back twice)."""

    def cap(value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return clip(value)
        if depth >= MAX_DEPTH and isinstance(value, Mapping | list | tuple):
            return "…"
        if isinstance(value, Mapping):
            return {clip(str(k)): cap(v, depth + 1) for k, v in list(value.items())[:ECHO_ITEMS]}
        if isinstance(value, list | tuple):
            return [cap(v, depth + 1) for v in value[:ECHO_ITEMS]]
        return value

    capped: dict[str, Any] = {k: cap(v, 1) for k, v in body.items() if k not in ("error", "message")}
    message = _LONG_WORD.sub(lambda m: clip(m.group(0)), str(body.get("message", "")))
    return {"error": str(body.get("error")), "message": clip(message, ECHO_MESSAGE_CHARS), **capped}
