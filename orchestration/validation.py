"""Input validation at the edge: pydantic errors become the domain's errors, in one place.

A caller gets one error code and one sentence naming the field, plus `errors` listing every
problem found, e.g. `{"error": "MISSING_FIELD", "message": "groupName: field required", ...}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

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
