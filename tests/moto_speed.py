"""moto's response serializer, with the key aliases it looks up remembered.

moto (5.2) turns a result into a response by walking the operation's output shape; for every
member of every structure it asks six alias providers which attribute names the member could have
on the result object. A DynamoDB item is a tree of `AttributeValue` structures of ten members each,
so a query returning one execution's parts (thousands of values) asks them about a million times,
and the answers never change: for an object without a `Meta` class (moto's dicts and lists of
attribute values), the names depend only on the service, the structure, the member and the
object's class. A profile of the store suites on moto showed 60 to 80 per cent of their time in
these lookups.

`remember_aliases()` wraps the alias lookup with a cache keyed by exactly those inputs; objects
with a `Meta` class (whose aliases are their own) are asked as before. What is serialized does not
change: tests/integration/test_moto_speed.py compares responses with and without the cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_UNCACHED: list[Any] = []  # moto's own lookup, once it is wrapped


def remember_aliases() -> None:
    """Cache moto's alias lookups for objects without a `Meta` class (idempotent, process-wide)."""
    from moto.core import serialize

    picker = serialize.XFormedAttributePicker
    if _UNCACHED:
        return
    ask = picker.get_possible_keys
    known: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def get_possible_keys(self: Any, context: Any) -> Iterator[str]:
        obj, shape = context.obj, context.shape
        if hasattr(obj, "Meta") or shape is None:
            yield from ask(self, context)
            return
        parent = getattr(shape, "parent", None)
        service = context.service_model.service_name if context.service_model is not None else None
        key = (
            service,
            type(obj),
            context.key,
            shape.name,
            shape.type_name,
            parent.name if parent is not None else None,
        )
        names = known.get(key)
        if names is None:
            names = known[key] = tuple(ask(self, context))
        yield from names

    picker.get_possible_keys = get_possible_keys  # type: ignore[method-assign]
    _UNCACHED.append(ask)


def forget_aliases() -> None:
    """Undo `remember_aliases()` (for the test that compares both)."""
    from moto.core import serialize

    if _UNCACHED:
        serialize.XFormedAttributePicker.get_possible_keys = _UNCACHED.pop()  # type: ignore[method-assign]
