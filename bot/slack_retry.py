"""How long Slack asks to be left alone: the Retry-After header of a rate-limited (HTTP 429) answer."""

from __future__ import annotations

from typing import Any


def retry_after(headers: Any, default: float) -> float:
    """Retry-After in seconds from a response's headers (any case, a value or a list of them);
    `default` when it is missing or not a number."""
    value = None
    if headers:
        for name, header in dict(headers).items():
            if str(name).lower() == "retry-after":
                value = header[0] if isinstance(header, list) and header else header
    try:
        return max(0.0, float(value)) if value is not None else default
    except (TypeError, ValueError):
        return default
