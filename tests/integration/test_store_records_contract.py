"""The Store contract for an execution's side records (`RecordKind`, orchestration/store/base.py),
run against every adapter like tests/integration/test_store_contract.py: SQLite, and DynamoDB on
moto (the `make_store` / `store` fixtures in tests/conftest.py).

A record is created once, changed from the version read, refused when someone else saved first (also
when two first saves race), kept apart per kind and per execution, never audited, and never taken
for a part of its execution.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from pydantic import Field

from orchestration.errors import StaleVersion
from orchestration.models import WireModel
from orchestration.store import Store
from orchestration.store.base import RecordKind
from tests.integration.test_store_contract import make_execution, run_together

RACE_ROUNDS = 5


class Note(WireModel):
    """A record as a component above the domain would keep it."""

    text: str
    count: int = Field(default=0, ge=0)
    version: int = Field(default=1, ge=1)


class OtherNote(WireModel):
    text: str
    version: int = Field(default=1, ge=1)


NOTES = RecordKind("note", "note", Note)
OTHER_NOTES = RecordKind("other_note", "other note", OtherNote)


def counted(text: str) -> Callable[[Note | None], Note]:
    """A change: the note with `text`, its count one more than the one read."""

    def change(current: Note | None) -> Note:
        return Note(text=text, count=(current.count + 1 if current else 1))

    return change


def test_a_record_is_none_until_saved_then_created_at_version_1(store: Store) -> None:
    assert store.get_record(NOTES, "e-1") is None
    saved = store.modify_record(NOTES, "e-1", counted("first"))
    assert saved == Note(text="first", count=1, version=1)
    assert store.get_record(NOTES, "e-1") == saved


def test_a_change_is_saved_over_the_version_read(store: Store) -> None:
    store.modify_record(NOTES, "e-1", counted("first"))
    saved = store.modify_record(NOTES, "e-1", counted("second"))
    assert saved == Note(text="second", count=2, version=2)
    assert store.get_record(NOTES, "e-1") == saved


def test_no_change_writes_nothing(store: Store) -> None:
    first = store.modify_record(NOTES, "e-1", counted("first"))
    writes = store.stats.snapshot().writes
    assert store.modify_record(NOTES, "e-1", lambda current: current) == first
    assert store.modify_record(NOTES, "e-1", lambda _: None) == first
    assert store.modify_record(NOTES, "e-2", lambda _: None) is None
    assert store.stats.snapshot().writes == writes
    assert store.get_record(NOTES, "e-2") is None


def test_records_are_kept_apart_per_kind_and_per_execution(store: Store) -> None:
    store.modify_record(NOTES, "e-1", counted("one"))
    store.modify_record(NOTES, "e-2", counted("two"))
    store.modify_record(OTHER_NOTES, "e-1", lambda _: OtherNote(text="other"))
    assert store.get_record(NOTES, "e-1") == Note(text="one", count=1)
    assert store.get_record(NOTES, "e-2") == Note(text="two", count=1)
    assert store.get_record(OTHER_NOTES, "e-1") == OtherNote(text="other")


def test_a_record_is_neither_audited_nor_part_of_its_execution(store: Store) -> None:
    execution = store.create_execution(make_execution(1), "alice")
    audited = store.list_audit()
    store.modify_record(NOTES, execution.execution_id, counted("beside"))
    store.modify_record(NOTES, execution.execution_id, counted("again"))
    assert store.list_audit() == audited
    assert store.get_execution(execution.execution_id) == execution
    saved = store.update_execution(execution, "alice")
    assert store.get_execution(execution.execution_id) == saved
    assert store.get_record(NOTES, execution.execution_id) == Note(text="again", count=2, version=2)


def test_a_save_after_someone_else_saved_is_read_again(make_store: Callable[[], Store]) -> None:
    one, other = make_store(), make_store()
    one.modify_record(NOTES, "e-1", counted("first"))
    interleaved = False

    def change(current: Note | None) -> Note:
        nonlocal interleaved
        if not interleaved:  # someone else saves between this read and this save
            interleaved = True
            other.modify_record(NOTES, "e-1", counted("theirs"))
        return counted("mine")(current)

    saved = one.modify_record(NOTES, "e-1", change)
    assert saved == Note(text="mine", count=3, version=3)  # applied again to their save


def test_with_one_attempt_a_lost_race_is_stale(make_store: Callable[[], Store]) -> None:
    one, other = make_store(), make_store()

    def change(current: Note | None) -> Note:
        other.modify_record(NOTES, "e-1", counted("theirs"))  # their first save wins
        return counted("mine")(current)

    with pytest.raises(StaleVersion):
        one.modify_record(NOTES, "e-1", change, attempts=1)
    assert one.get_record(NOTES, "e-1") == Note(text="theirs", count=1, version=1)


def test_two_first_saves_on_two_threads_never_lose_one(make_store: Callable[[], Store]) -> None:
    """Each save either counts (read again: after the other's create, it changes that record) or is
    refused as stale; never does one create over the other."""
    one, other = make_store(), make_store()
    for round_ in range(RACE_ROUNDS):
        execution_id = f"e-{round_}"
        outcomes = run_together(
            partial(one.modify_record, NOTES, execution_id, counted("one"), attempts=1),
            partial(other.modify_record, NOTES, execution_id, counted("other"), attempts=1),
        )
        won = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
        lost = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        assert all(isinstance(error, StaleVersion) for error in lost), outcomes
        stored = one.get_record(NOTES, execution_id)
        assert stored is not None and (stored.count, stored.version) == (len(won), len(won)), outcomes


def test_two_changes_on_two_threads_both_count(make_store: Callable[[], Store]) -> None:
    one, other = make_store(), make_store()
    for round_ in range(RACE_ROUNDS):
        execution_id = f"e-{round_}"
        one.modify_record(NOTES, execution_id, counted("first"))
        run_together(
            partial(one.modify_record, NOTES, execution_id, counted("one")),
            partial(other.modify_record, NOTES, execution_id, counted("other")),
        )
        stored = one.get_record(NOTES, execution_id)
        assert stored is not None and (stored.count, stored.version) == (3, 3)


def test_a_record_kind_needs_a_plain_name_and_a_version() -> None:
    with pytest.raises(ValueError, match="lowercase"):
        RecordKind("Note#1", "note", Note)

    class Unversioned(WireModel):
        text: str

    with pytest.raises(ValueError, match="version"):
        RecordKind("unversioned", "unversioned", Unversioned)
