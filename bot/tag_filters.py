"""Server-selection tags written as `Key=Value`, read the same by `/dr servers --tag`,
`/dr group create --tag` and the group form's tag field.

Parsing is pure: a malformed pair raises UsageError naming it.
"""

from __future__ import annotations

from orchestration.errors import UsageError


def parse_tag_filters(values: list[str]) -> dict[str, str]:
    """`Key=Value` pairs as a tag dict (a later key wins); a pair without `=` or a key is refused."""
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"`--tag {value}` must look like Key=Value, e.g. --tag Tier=database.")
        tags[key.strip()] = tag_value.strip()
    return tags
