"""Naming an execution or a schedule by its id, or by the first few characters of it.

A person types `3f2a9c` rather than a whole UUID; a prefix names the item when exactly one id starts
with it. One rule for every kind of item, so each refuses a short, unknown or ambiguous prefix alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from orchestration.errors import Action, NotFound, Remedy, ValidationFailed

T = TypeVar("T")

MIN_PREFIX = 6  # an item may be named by this many leading characters of its id, or more


def find_by_id_prefix(
    ref: str, noun: str, get: Callable[[str], T], ids: Callable[[], Iterable[str]], listing: Action
) -> T:
    """The item whose id is `ref`, else the one item whose id starts with `ref` (at least MIN_PREFIX
    characters). `noun` names the kind in sentences ("execution"); `ids` are the ids a prefix may
    match; `listing` is how a person lists them."""
    ref = ref.strip().lower()
    try:
        return get(ref)
    except NotFound:
        pass
    article = "an" if noun[:1] in "aeiou" else "a"
    if len(ref) < MIN_PREFIX:
        raise ValidationFailed(
            f"`{ref}` is too short to name {article} {noun}: give its id or at least {MIN_PREFIX} of its "
            "first characters.",
            remedy=Remedy(listing),
            field=noun,
        )
    matches = [item_id for item_id in ids() if item_id.startswith(ref)]
    if not matches:
        raise NotFound(
            f"No {noun} with id or id prefix '{ref}'.",
            remedy=Remedy(listing),
            resourceType=noun,
            resourceId=ref,
        )
    if len(matches) > 1:
        raise ValidationFailed(
            f"'{ref}' is the start of {len(matches)} {noun} ids ({', '.join(matches[:5])}): give more "
            "characters.",
            field=noun,
            matches=matches,
        )
    return get(matches[0])
