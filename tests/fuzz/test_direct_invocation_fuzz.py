"""Hypothesis over direct invocation payloads of every operation: field names the operation knows
with values of any JSON type, wrong shapes for each part of the event, nesting and long strings.
An error is never a 5xx code, its status is one the route documents, it has the seed's error shape,
and it changed nothing in the store."""

from __future__ import annotations

import reprlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.handlers import runtime
from orchestration.handlers.operations import Operation
from tests.fuzz.support import OPERATIONS, check_error_body, fuzz_settings, seed, snapshot

MAX_EXAMPLES = 25
SHORT = reprlib.Repr()
SHORT.maxlevel, SHORT.maxstring, SHORT.maxother = 4, 80, 80

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["us-east-1", "x y", "us-east-9", "", "a" * 300, "true", "0", "-1"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def nested(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.fixture
def live(sqlite_services: Any) -> Iterator[Any]:
    runtime.use(sqlite_services)
    ids = seed()
    yield sqlite_services, ids
    runtime.use(None)


def payloads(op: Operation, ids: dict[str, str]) -> st.SearchStrategy[Any]:
    fields = list(op.body.model_fields) if op.body is not None else []
    aliases = [f.alias or name for name, f in (op.body.model_fields.items() if op.body else [])]
    keys = st.sampled_from([*aliases, *fields, *op.path_params, *ids, "unknown"])
    values = json_values | st.sampled_from(list(ids.values()))
    body = st.one_of(
        st.dictionaries(keys, values, max_size=6),
        json_values,
        st.just("x"),
        st.just('{"a": '),
        st.just(nested(40)),
    )
    param_keys = st.sampled_from([*op.query, *op.path_params, "region", "other"])
    params = st.one_of(st.dictionaries(param_keys, values, max_size=4), json_values, st.just(nested(40)))
    return st.fixed_dictionaries(
        {"operation": st.one_of(st.just(op.name), st.just(op.name), json_values)},
        optional={"body": body, "queryParams": params, "pathParameters": params, "actor": json_values},
    )


@pytest.mark.parametrize(("module", "op"), OPERATIONS, ids=[op.name for _, op in OPERATIONS])
def test_every_direct_payload_gets_a_documented_answer(live: Any, module: ModuleType, op: Operation) -> None:
    services, ids = live
    documented = set(op.statuses) | {400}  # 400: an unknown operation is INVALID_OPERATION

    @fuzz_settings(MAX_EXAMPLES)
    @given(event=payloads(op, ids))
    def check(event: dict[str, Any]) -> None:
        before = snapshot(services)
        result = module.lambda_handler(event, None)
        assert isinstance(result, dict)
        if "error" in result:
            context = SHORT.repr(event)
            check_error_body(result, documented, context)
            assert snapshot(services) == before, f"a rejected payload changed the store: {context}"

    check()
