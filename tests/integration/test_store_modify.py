"""`Store.modify` (orchestration/store/base.py) on every adapter: SQLite and DynamoDB on moto.

Read, change, save with the version check, read again and change again when someone else saved in
between; the audit event of the change is written in the same atomic write, exactly once; a change
that changes nothing writes nothing.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable

import pytest

from orchestration.errors import InternalError, InvalidTransition, NotFound, StaleVersion
from orchestration.models import Execution, ExecutionStatus, Schedule
from orchestration.store import Store
from orchestration.store.base import EXECUTIONS, SCHEDULES, Audited
from tests.integration.test_store_contract import make_execution, make_schedule


def actions(store: Store, execution: Execution) -> list[str]:
    return [e.action for e in store.list_audit(f"execution:{execution.execution_id}")]


def pause(current: Execution) -> Execution:
    return current.with_status(ExecutionStatus.PAUSED, 100, reason="Paused by bob")


def test_a_change_is_saved_with_its_audit_event_in_one_write(store: Store) -> None:
    created = store.create_execution(make_execution(1), "engine")
    store.stats.reset()

    saved = store.modify_execution(created.execution_id, pause, "bob", action="pause", gateWave=2)

    assert saved.status == ExecutionStatus.PAUSED and saved.version == 2
    assert store.get_execution(created.execution_id) == saved
    assert store.stats.writes == 1  # the execution and its audit event: one atomic write
    (event, _) = store.list_audit(f"execution:{created.execution_id}")
    assert (event.action, event.actor) == ("execution.pause", "bob")
    assert event.details == {"version": 2, "status": "PAUSED", "gateWave": 2}


def test_a_change_that_changes_nothing_writes_nothing(store: Store) -> None:
    created = store.create_execution(make_execution(1), "engine")
    store.stats.reset()
    seen: list[Execution] = []

    def nothing(current: Execution) -> Execution:
        seen.append(current)
        return current

    returned = store.modify_execution(created.execution_id, nothing, "bob", action="pause")

    assert returned is seen[0]
    assert returned == created
    assert store.stats.writes == 0
    assert store.get_execution(created.execution_id).version == 1
    assert actions(store, created) == ["execution.create"]


def test_a_writer_between_the_read_and_the_save_is_read_again_and_the_change_applied_again(
    make_store: Callable[[], Store],
) -> None:
    store, other = make_store(), make_store()
    created = store.create_execution(make_execution(1), "engine")
    seen: list[int] = []

    def pause_after_a_race(current: Execution) -> Execution:
        seen.append(current.version)
        if len(seen) == 1:  # someone else saves after this read
            other.update_execution(current.model_copy(update={"reason": "edited meanwhile"}), "carol")
        return pause(current)

    saved = store.modify_execution(created.execution_id, pause_after_a_race, "bob", action="pause")

    assert seen == [1, 2]
    assert saved.version == 3
    assert (saved.status, saved.reason) == (ExecutionStatus.PAUSED, "edited meanwhile")
    assert actions(store, created) == ["execution.pause", "execution.update", "execution.create"]


def test_after_as_many_stale_reads_as_attempts_stale_version_propagates(
    make_store: Callable[[], Store],
) -> None:
    store, other = make_store(), make_store()
    created = store.create_execution(make_execution(1), "engine")
    reads = 0

    def always_raced(current: Execution) -> Execution:
        nonlocal reads
        reads += 1
        other.update_execution(current.model_copy(update={"reason": f"edit {reads}"}), "carol")
        return pause(current)

    with pytest.raises(StaleVersion):
        store.modify_execution(created.execution_id, always_raced, "bob", action="pause", attempts=3)

    assert reads == 3
    stored = store.get_execution(created.execution_id)
    assert (stored.version, stored.status, stored.reason) == (4, ExecutionStatus.RUNNING, "edit 3")
    assert "execution.pause" not in actions(store, created)


def test_a_change_may_name_its_own_audit_action_and_details(store: Store) -> None:
    created = store.create_execution(make_execution(1), "engine")

    saved = store.modify_execution(
        created.execution_id,
        lambda current: Audited(pause(current), "expire", {"approvals": 0}),
        "bob",
        action="approve",
        reason="x",
    )

    (event, _) = store.list_audit(f"execution:{created.execution_id}")
    assert event.action == "execution.expire"
    assert event.details == {"version": saved.version, "status": "PAUSED", "reason": "x", "approvals": 0}


def test_errors_of_the_change_propagate_and_nothing_is_written(store: Store) -> None:
    created = store.create_execution(make_execution(1, status=ExecutionStatus.COMPLETED), "engine")

    with pytest.raises(InvalidTransition):
        store.modify_execution(created.execution_id, pause, "bob", action="pause")

    assert store.get_execution(created.execution_id) == created
    assert actions(store, created) == ["execution.create"]


def test_a_missing_item_is_not_found_and_another_items_id_is_refused(store: Store) -> None:
    with pytest.raises(NotFound):
        store.modify_execution("no-such-execution", pause, "bob")
    created = store.create_execution(make_execution(1), "engine")
    with pytest.raises(InternalError):
        store.modify(EXECUTIONS, created.execution_id, lambda e: make_execution(2), "bob")
    assert store.get_execution(created.execution_id) == created


def test_any_kind_can_be_modified(store: Store) -> None:
    schedule = store.create_schedule(make_schedule(1), "alice")

    def disable(current: Schedule) -> Schedule:
        return current.model_copy(update={"enabled": False})

    saved = store.modify(SCHEDULES, schedule.schedule_id, disable, "bob", action="pause")

    assert store.get_schedule(schedule.schedule_id) == saved
    assert not saved.enabled
    events = store.list_audit(f"schedule:{schedule.schedule_id}")
    assert [(e.action, e.details) for e in events] == [
        ("schedule.pause", {"version": 2, "enabled": False}),
        ("schedule.create", {}),
    ]


def test_an_audit_event_that_cannot_be_written_leaves_the_change_unwritten(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change and its audit event are one atomic write: sabotage the audit event's half."""
    from orchestration.store.dynamodb import DynamoDbStore
    from orchestration.store.sqlite import SqliteStore

    created = store.create_execution(make_execution(1), "engine")
    refused: type[Exception]
    if isinstance(store, SqliteStore):
        store._conn.execute(
            "CREATE TEMP TRIGGER refuse_audit BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
        refused = sqlite3.IntegrityError
    else:
        assert isinstance(store, DynamoDbStore)
        monkeypatch.setattr(store, "tables", dataclasses.replace(store.tables, audit="no-such-table"))
        refused = InternalError

    with pytest.raises(refused):
        store.modify_execution(created.execution_id, pause, "bob", action="pause")

    assert store.get_execution(created.execution_id) == created
