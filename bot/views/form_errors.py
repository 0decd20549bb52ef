"""A refused modal submission as `response_action: errors`: each problem on the block of the
field it names, so the person sees it next to what they typed.

A DrbotError names fields in two ways: `errors` (pydantic's problems, `{"field": "waves[2].waveName",
"message": …}`) or one `field`. A builder says which block shows which request field; whatever
names no known field goes on the builder's fallback block with the error's whole sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.views.common import truncate
from bot.views.errors import explain
from orchestration.errors import DrbotError

MAX_ERROR_TEXT = 300  # Slack shows a short line under the input

BlockOf = Callable[[str], str | None]  # a request field path -> the block id showing it, if any


def inline_errors(error: DrbotError, block_of: BlockOf, fallback: str) -> dict[str, str]:
    """Block id -> message for each problem of `error` (first problem per block wins)."""
    errors: dict[str, str] = {}
    for problem in error.details.get("errors") or []:
        if not isinstance(problem, Mapping) or not problem.get("field"):
            continue
        block = block_of(str(problem["field"]))
        if block is not None and block not in errors:
            errors[block] = truncate(_sentence(str(problem.get("message") or error.message)), MAX_ERROR_TEXT)
    field = error.details.get("field")
    if not errors and isinstance(field, str) and (block := block_of(field)) is not None:
        errors[block] = truncate(explain(error), MAX_ERROR_TEXT)
    if not errors:
        errors[fallback] = truncate(explain(error), MAX_ERROR_TEXT)
    return errors


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
