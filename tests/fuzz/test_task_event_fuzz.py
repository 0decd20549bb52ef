"""Hypothesis over the execution function's state machine task events (`{"task": ...}`): whatever
the fields hold, a task either runs or raises one of drbot's errors naming what is wrong (the state
machine's Retry and Catch see a Lambda error), never a TypeError or a RecursionError, never an
echo of a huge value, and a refused task changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.errors import DrbotError
from orchestration.handlers import runtime
from orchestration.handlers.tasks import TASKS, handle_task
from orchestration.validation import ECHO_MESSAGE_CHARS
from tests.fuzz.support import fuzz_settings, snapshot

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.sampled_from(["", "x" * 100_000, "a\nb", "00000000-0000-0000-0000-000000000000"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
task_events = st.fixed_dictionaries(
    {"task": st.sampled_from(TASKS) | values},
    optional={"executionId": values, "taskToken": values, "error": values, "reason": values},
)


@pytest.fixture
def live(sqlite_services: Any) -> Iterator[Any]:
    runtime.use(sqlite_services)
    yield sqlite_services
    runtime.use(None)


def test_a_malformed_task_raises_drbots_error_and_changes_nothing(live: Any) -> None:
    before = snapshot(live)

    @fuzz_settings(60)
    @given(event=task_events)
    def check(event: dict[str, Any]) -> None:
        try:
            answer = handle_task(event)
        except DrbotError as error:
            assert len(error.message) <= ECHO_MESSAGE_CHARS, error.message[:200]
            assert error.status < 500, (error.code, error.message[:200])
        else:
            assert isinstance(answer, dict)
        assert snapshot(live) == before

    check()
