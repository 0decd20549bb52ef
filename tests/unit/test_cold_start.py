"""`long_lived_imports()`: the collector paused inside, what was built frozen after, the collector's
state as it was before (orchestration/cold_start.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from orchestration.cold_start import long_lived_imports


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    yield
    if not frozen:
        gc.unfreeze()  # this process froze nothing before the test: leave it so
    (gc.enable if enabled else gc.disable)()


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_inside_the_collector_is_paused_and_what_was_built_is_frozen_after() -> None:
    gc.enable()
    before = gc.get_freeze_count()
    with long_lived_imports():
        assert not gc.isenabled()
        built = [Node() for _ in range(1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(built)
    collected = {id(obj) for obj in gc.get_objects()}  # the generations a collection scans
    assert not any(id(node) in collected for node in built)


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    with long_lived_imports():
        pass
    assert not gc.isenabled()


def test_a_failed_import_still_turns_the_collector_back_on() -> None:
    gc.enable()
    with pytest.raises(ImportError), long_lived_imports():
        import orchestration.no_such_module  # noqa: F401
    assert gc.isenabled()
