"""Domain models build their pydantic schema on first use (`defer_build`, orchestration/models.py).

The first use may come from several threads at once (the console's listener threads, the local
runner, Socket Mode): each must validate with the model's own schema, never a half-built one or its
parent's. pydantic builds a deferred model under a lock from 2.14 on (pyproject.toml asks for it);
this test could not make 2.13 fail here, so it pins the behaviour, not that version's race."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pydantic import ValidationError

from orchestration.models import Approval, WireModel


def test_a_domain_model_is_not_built_at_import() -> None:
    class Fresh(WireModel):
        wave_number: int

    assert not Fresh.__pydantic_complete__
    assert Fresh.from_wire({"waveNumber": 3}).wave_number == 3
    assert Fresh.__pydantic_complete__


@pytest.mark.parametrize("round_", range(5))
def test_threads_using_a_model_first_at_once_each_validate_with_its_own_schema(round_: int) -> None:
    # a new class per round, its first use the race; many fields make its build slow enough that
    # the threads meet inside it
    namespace: dict[str, Any] = {"__annotations__": {f"field_{n}": "int | None" for n in range(200)}}
    namespace.update({f"field_{n}": None for n in range(200)})
    namespace["__annotations__"].update({"wave_number": "int", "server_ids": "list[str]"})
    fresh: Any = type(WireModel)("Fresh", (WireModel,), namespace | {"__module__": __name__})

    threads = 12
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def first_use(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            model = fresh.from_wire({"waveNumber": index, "serverIds": [f"s-{index}"]})
            refused = False
            try:
                fresh.from_wire({"waveNumber": index, "serverIds": [], "unknown": 1})
            except ValidationError:
                refused = True
            results[index] = (model.wave_number, model.server_ids, model.to_wire(), refused)
        except Exception as error:  # reported below, per thread
            results[index] = error

    workers = [threading.Thread(target=first_use, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert results == [
        (i, [f"s-{i}"], {"waveNumber": i, "serverIds": [f"s-{i}"]}, True) for i in range(threads)
    ]


def test_an_existing_model_validates_and_dumps_as_before() -> None:
    approval = Approval.from_wire({"userId": "U0456BOB00", "at": 5})
    assert approval.to_wire()["userId"] == "U0456BOB00"
