"""How an execution is stored (orchestration/store/parts.py), on every adapter: SQLite and DynamoDB on
moto (the `make_store` / `store` fixtures in tests/conftest.py).

A drill at DRS's account limit (40 waves of 100 servers) is stored in items well under DynamoDB's
400 KB (the largest under 64 KB), a save writes the head and the parts that changed, reads assemble
one consistent version, records of the single-item layout still read and move to the new layout on
their next save, and a write that would not fit one atomic write is refused whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from orchestration.errors import InternalError, NotFound, StaleVersion
from orchestration.models import (
    Approval,
    CleanupRun,
    CleanupStatus,
    EventType,
    Execution,
    ExecutionEvent,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    ServerRun,
    WaveRun,
    WaveStatus,
)
from orchestration.store import Store
from orchestration.store.base import StoreStats
from orchestration.store.parts import EVENTS_PER_CHUNK, MAX_WRITE_ACTIONS

T0 = 1_767_225_600
KB = 1024
ITEM_BUDGET = 64 * KB
DYNAMODB_ITEM_LIMIT = 400 * KB


# -- a drill at the DRS account limit, built from the models (no engine) ----------------------------


def server(wave: int, n: int) -> ServerRun:
    hostname = f"app-{wave:02d}-{n:03d}.payments-prod.eu-central-1.corp.example-bank.internal"
    return ServerRun(
        source_server_id=f"s-{wave:03d}{n:03d}6789abcdef0",
        hostname=hostname[:60].ljust(60, "x"),
        launch_status=LaunchStatus.LAUNCHED,
        recovery_instance_id=f"i-{wave:02d}{n:03d}456789abcdef",
        instance_id=f"i-{wave:02d}{n:03d}fedcba987654",
        launched_at=T0 + 600 + wave * 60 + n,
        snapshot_time=T0 - 30,
    )


def wave_run(number: int, servers: int, status: WaveStatus = WaveStatus.COMPLETED) -> WaveRun:
    return WaveRun(
        wave_number=number,
        wave_name=f"Payments tier {number}",
        protection_group_id=f"0f6c1e2a-7d3b-4c55-9a1e-{number:012d}",
        region="eu-central-1",
        account_id="123456789012",
        depends_on_waves=[number - 1] if number > 1 else [],
        status=status,
        job_id=f"drsjob-{number:02d}23456789abcdef",
        terminate_job_ids=[f"drsjob-{number:02d}fedcba9876543"],
        start_time=T0 + number * 60,
        end_time=T0 + number * 60 + 900,
        servers=[server(number, n) for n in range(servers)],
    )


def events(count: int, start: int = 1) -> list[ExecutionEvent]:
    """An event log as the engine writes it: per wave a launch, progress and completion."""
    return [
        ExecutionEvent(
            seq=seq,
            at=T0 + seq,
            type=EventType.WAVE_PROGRESS,
            message=f"Wave {seq % 40 + 1} (Payments tier {seq % 40 + 1}): {seq % 100} of 100 servers "
            "launched, DRS job drsjob-0123456789abcdef0 in progress",
            wave_number=seq % 40 + 1,
            actor="engine",
            details={"launched": seq % 100, "total": 100, "jobId": "drsjob-0123456789abcdef0"},
        )
        for seq in range(start, start + count)
    ]


def big_drill(waves: int = 40, servers: int = 100, event_count: int = 300) -> Execution:
    return Execution(
        plan_id="2c7d0c8e-2f6a-4a6c-8d37-5f1e0a9b7c11",
        plan_name="Payments platform: full region failover",
        execution_type=ExecutionType.DRILL,
        status=ExecutionStatus.RUNNING,
        initiated_by="U0123ALICE",
        reason="Quarterly DR drill of the payments platform (change CHG-20260101-0042)",
        approvals=[Approval(user_id="U0456BOB00", at=T0 + 5)],
        required_approvals=1,
        requested_at=T0,
        start_time=T0 + 10,
        waves=[wave_run(n, servers) for n in range(1, waves + 1)],
        state_machine_arn="arn:aws:states:eu-central-1:123456789012:execution:drbot-orchestration-prod:x",
        cleanup_after_minutes=120,
        cleanup=CleanupRun(status=CleanupStatus.SCHEDULED, due_at=T0 + 9000),
        events=events(event_count),
        notified_through=event_count,
    )


def launched_one_more(execution: Execution, wave: int) -> Execution:
    """What a tick records: one server of one wave changed, and an event about it."""
    changed = execution.wave(wave)
    servers = [*changed.servers[:-1], changed.servers[-1].model_copy(update={"error": "late"})]
    updated = execution.replace_wave(changed.model_copy(update={"servers": servers}))
    return updated.with_event(EventType.WAVE_PROGRESS, T0 + 5000, f"Wave {wave}: one more", wave_number=wave)


def small_drill(event_count: int = 300) -> Execution:
    """40 waves, as the drill at the limit, with a few servers each: what a save writes is the same."""
    return big_drill(servers=3, event_count=event_count)


def written(store: Store, save: Callable[[], Any]) -> StoreStats:
    store.stats.reset()
    save()
    return store.stats.snapshot()


# -- the raw stored layout, per adapter -----------------------------------------------------------


def stored_layout(store: Store, execution_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The stored head and parts (by part key) of an execution, read around the store."""
    from orchestration.store.dynamodb import DynamoDbStore, _from_dynamo
    from orchestration.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as conn:
            (head,) = conn.execute("SELECT data FROM executions WHERE id = ?", (execution_id,)).fetchone()
            rows = conn.execute(
                "SELECT part, version, data FROM execution_parts WHERE execution_id = ?", (execution_id,)
            ).fetchall()
        conn.close()
        return json.loads(head), {part: json.loads(data) | {"version": v} for part, v, data in rows}
    assert isinstance(store, DynamoDbStore)
    client, tables = store._client, store.tables
    item = client.get_item(TableName=tables.executions, Key={"executionId": {"S": execution_id}})["Item"]
    found = client.query(
        TableName=tables.execution_parts,
        KeyConditionExpression="executionId = :e",
        ExpressionAttributeValues={":e": {"S": execution_id}},
    )["Items"]
    return _from_dynamo(item), {str(p["part"]["S"]): _from_dynamo(p) for p in found}


def largest_stored(store: Store) -> int:
    """The largest item or row stored, measured around the store: SQLite's bytes of each row's JSON,
    and the item size moto (DynamoDB's stand-in) counts, from its backend (a Scan through the API
    would cost moto seconds of serialising)."""
    from orchestration.store.dynamodb import DynamoDbStore
    from orchestration.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as conn:
            sizes = [
                row[0]
                for table in ("executions", "execution_parts", "audit_events")
                for row in conn.execute(f"SELECT length(CAST(data AS BLOB)) FROM {table}")
            ]
        conn.close()
        return max(sizes)
    assert isinstance(store, DynamoDbStore)
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][store._client.meta.region_name]
    tables = store.tables
    return max(
        int(item.size())
        for table in (tables.executions, tables.execution_parts, tables.audit)
        for item in backend.get_table(table).all_items()
    )


def write_single_item(store: Store, execution: Execution) -> None:
    """Store `execution` as drbot stored executions before they were split: one item or row."""
    from orchestration.store.dynamodb import DynamoDbStore, _to_dynamo
    from orchestration.store.sqlite import SqliteStore

    wire = execution.to_wire()
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as conn:
            conn.execute(
                "INSERT INTO executions (id, plan_id, status, active, requested_at, version, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    execution.execution_id,
                    execution.plan_id,
                    str(execution.status),
                    1 if execution.needs_driving else 0,
                    execution.requested_at,
                    execution.version,
                    json.dumps(wire),
                ),
            )
        conn.close()
        return
    assert isinstance(store, DynamoDbStore)
    item = wire | {"entity": "execution"}
    if execution.needs_driving:
        item["activePartition"] = "ACTIVE"
    store._client.put_item(TableName=store.tables.executions, Item=_to_dynamo(item))


# -- size -----------------------------------------------------------------------------------------


def test_a_drill_at_the_drs_account_limit_is_stored_in_items_under_64_kb(store: Store) -> None:
    drill = big_drill()
    assert len(json.dumps(drill.to_wire())) > 2 * DYNAMODB_ITEM_LIMIT  # as one item it could not be stored

    stats = written(store, lambda: store.create_execution(drill, "engine"))

    assert stats.writes == 1  # one atomic write
    assert stats.items_written == 1 + 40 + 300 // EVENTS_PER_CHUNK + 1  # head, waves, event chunks, audit
    assert 0 < stats.largest_item_bytes < ITEM_BUDGET, stats
    assert largest_stored(store) < ITEM_BUDGET
    assert stats.bytes_written > 40 * 100 * 200  # every server was written
    assert store.get_execution(drill.execution_id) == drill.model_copy(update={"version": 1})


def test_the_head_keeps_the_wave_summaries_and_the_parts_hold_servers_and_events(store: Store) -> None:
    drill = store.create_execution(big_drill(waves=3, servers=2, event_count=30), "engine")

    head, parts = stored_layout(store, drill.execution_id)

    assert [w["waveNumber"] for w in head["waves"]] == [1, 2, 3]
    assert all("servers" not in w for w in head["waves"])
    assert "events" not in head
    assert head["storedParts"] == {"eventCount": 30, "wavesPerPart": 1}
    assert sorted(parts) == ["events#00000", "events#00001", "servers#000", "servers#001", "servers#002"]
    assert [e["seq"] for e in parts["events#00001"]["events"]] == list(range(26, 31))
    assert parts["servers#001"]["waves"] == [
        {"waveNumber": 2, "servers": [s.to_wire() for s in drill.wave(2).servers]}
    ]
    assert {int(p["version"]) for p in parts.values()} == {1}


# -- what a save writes ---------------------------------------------------------------------------


def test_a_tick_writes_the_head_the_changed_wave_and_the_new_events_chunk(store: Store) -> None:
    created = store.create_execution(small_drill(), "engine")
    read = store.get_execution(created.execution_id)

    ticked = launched_one_more(read, wave=7)
    stats = written(store, lambda: store.update_execution(ticked, "engine"))

    assert stats.writes == 1
    assert stats.items_written == 4  # head, servers of wave 7, the chunk of event 301, audit
    assert stats.bytes_written < ITEM_BUDGET
    saved = store.get_execution(created.execution_id)
    assert saved == ticked.model_copy(update={"version": 2})
    _, parts = stored_layout(store, created.execution_id)
    assert {key for key, part in parts.items() if int(part["version"]) == 2} == {
        "servers#006",
        "events#00012",
    }


def test_saving_what_was_saved_goes_on_from_the_saved_state(store: Store) -> None:
    """The execution a save returns knows what is stored: the next save from it writes only its change."""
    saved = store.update_execution(launched_one_more(store.create_execution(small_drill(), "e"), 3), "e")

    stats = written(store, lambda: store.update_execution(launched_one_more(saved, 4), "e"))

    assert stats.items_written == 4
    assert store.get_execution(saved.execution_id).wave(3).servers[-1].error == "late"


def test_status_changes_of_every_wave_write_no_servers_part(store: Store) -> None:
    read = store.get_execution(store.create_execution(small_drill(), "engine").execution_id)
    cancelled = read.model_copy(
        update={"waves": [w.model_copy(update={"status": WaveStatus.CANCELLED}) for w in read.waves]}
    )

    stats = written(store, lambda: store.update_execution(cancelled, "engine"))

    assert stats.items_written == 2  # head and audit: every wave kept its servers list
    assert all(w.status == WaveStatus.CANCELLED for w in store.get_execution(read.execution_id).waves)


def test_a_wave_rebuilt_with_equal_servers_writes_no_servers_part(store: Store) -> None:
    read = store.get_execution(store.create_execution(small_drill(), "engine").execution_id)
    observed = read.wave(5).model_copy(update={"servers": [s.model_copy() for s in read.wave(5).servers]})

    stats = written(store, lambda: store.update_execution(read.replace_wave(observed), "engine"))

    assert stats.items_written == 2


def test_events_across_a_chunk_boundary_write_both_chunks(store: Store) -> None:
    read = store.get_execution(store.create_execution(small_drill(event_count=20), "engine").execution_id)
    more = read
    for n in range(10):  # events 21 to 30: the rest of chunk 0, the start of chunk 1
        more = more.with_event(EventType.WAVE_PROGRESS, T0 + 9000 + n, f"progress {n}")

    stats = written(store, lambda: store.update_execution(more, "engine"))

    assert stats.items_written == 4  # head, chunks 0 and 1, audit
    assert [e.seq for e in store.get_execution(read.execution_id).events] == list(range(1, 31))


def test_an_execution_built_by_hand_writes_every_part(store: Store) -> None:
    created = store.create_execution(small_drill(event_count=60), "engine")
    by_hand = Execution.from_wire(created.to_wire())  # the same execution, but nothing known of the store
    assert by_hand == created

    stats = written(store, lambda: store.update_execution(by_hand, "engine"))

    assert stats.items_written == 1 + 40 + 3 + 1
    assert store.get_execution(created.execution_id) == created.model_copy(update={"version": 2})


def test_a_rewritten_event_log_writes_every_chunk_and_drops_the_rest(store: Store) -> None:
    read = store.get_execution(store.create_execution(small_drill(event_count=60), "engine").execution_id)
    shorter = read.model_copy(update={"events": events(10, start=1)})

    stats = written(store, lambda: store.update_execution(shorter, "engine"))

    assert stats.items_written == 3  # head, the one chunk left, audit
    assert store.get_execution(read.execution_id).events == events(10, start=1)


def test_a_stale_save_writes_no_part(make_store: Callable[[], Store]) -> None:
    one, other = make_store(), make_store()
    execution_id = one.create_execution(big_drill(waves=6, servers=3, event_count=5), "engine").execution_id
    read_by_one, read_by_other = one.get_execution(execution_id), other.get_execution(execution_id)

    won = one.update_execution(launched_one_more(read_by_one, 3), "engine")
    with pytest.raises(StaleVersion):
        other.update_execution(launched_one_more(read_by_other, 5), "engine")

    assert other.get_execution(execution_id) == won
    assert other.get_execution(execution_id).wave(5) == read_by_other.wave(5)
    again = other.update_execution(launched_one_more(other.get_execution(execution_id), 5), "engine")
    stored = one.get_execution(execution_id)
    assert stored == again
    assert stored.wave(3).servers[-1].error == stored.wave(5).servers[-1].error == "late"
    assert [e.seq for e in stored.events] == list(range(1, 8))


# -- reads ----------------------------------------------------------------------------------------


def test_a_save_between_reading_the_head_and_its_parts_is_never_half_seen(
    make_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reads one snapshot (the older version); DynamoDB sees parts newer than the head it read
    and reads both again (the newer version). Either way head and parts are of one version."""
    from orchestration.store.dynamodb import DynamoDbStore
    from orchestration.store.sqlite import SqliteStore

    reader, writer = make_store(), make_store()
    created = reader.create_execution(big_drill(waves=4, servers=3, event_count=24), "engine")
    newer = launched_one_more(writer.get_execution(created.execution_id), 2)
    saved: list[Execution] = []

    def between(original: Callable[..., Any]) -> Callable[..., Any]:
        def read_parts(*args: Any) -> Any:
            if not saved:
                saved.append(writer.update_execution(newer, "engine"))
            return original(*args)

        return read_parts

    if isinstance(reader, SqliteStore):
        monkeypatch.setattr(reader, "_load_execution", between(reader._load_execution))
    else:
        assert isinstance(reader, DynamoDbStore)
        monkeypatch.setattr(reader, "_parts", between(reader._parts))

    read = reader.get_execution(created.execution_id)

    assert read in (created, saved[0])
    assert len(read.events) == (24 if read.version == 1 else 25)
    assert read.wave(2).servers[-1].error == (None if read.version == 1 else "late")
    listed = reader.list_executions()
    assert listed == [saved[0]]


def test_listings_assemble_every_execution(store: Store) -> None:
    first = store.create_execution(big_drill(waves=2, servers=2, event_count=30), "engine")
    second = store.create_execution(
        big_drill(waves=3, servers=1, event_count=3).model_copy(update={"requested_at": T0 + 1}), "engine"
    )
    assert store.list_executions() == [second, first]
    assert store.list_executions(active_only=True, plan_id=first.plan_id) == [second, first]


# -- records of the single-item layout ------------------------------------------------------------


def test_a_record_of_the_single_item_layout_reads_as_before_and_moves_on_its_next_save(store: Store) -> None:
    old = big_drill(waves=5, servers=4, event_count=40).model_copy(update={"version": 3})
    write_single_item(store, old)

    assert store.get_execution(old.execution_id) == old
    assert store.list_executions() == [old]
    assert store.list_executions(active_only=True) == [old]
    head, parts = stored_layout(store, old.execution_id)
    assert "events" in head and parts == {}

    read = store.get_execution(old.execution_id)
    stats = written(store, lambda: store.update_execution(launched_one_more(read, 2), "engine"))

    assert stats.items_written == 1 + 5 + 2 + 1  # the new layout, whole: head, waves, chunks, audit
    head, parts = stored_layout(store, old.execution_id)
    assert "events" not in head and all("servers" not in w for w in head["waves"])
    assert len(parts) == 5 + 2
    moved = store.get_execution(old.execution_id)
    assert moved == launched_one_more(old, 2).model_copy(update={"version": 4})
    stats = written(store, lambda: store.update_execution(launched_one_more(moved, 4), "engine"))
    assert stats.items_written == 4  # from then on, only what changed


def test_a_stale_save_of_a_single_item_record_moves_nothing(make_store: Callable[[], Store]) -> None:
    one, other = make_store(), make_store()
    old = big_drill(waves=2, servers=2, event_count=3)
    write_single_item(one, old)
    read = other.get_execution(old.execution_id)
    won = one.update_execution(one.get_execution(old.execution_id).model_copy(update={"reason": "x"}), "e")

    with pytest.raises(StaleVersion):
        other.update_execution(launched_one_more(read, 1), "engine")

    assert other.get_execution(old.execution_id) == won


# -- one atomic write ------------------------------------------------------------------------------


def test_a_plan_of_100_waves_is_created_in_one_write_of_two_waves_a_part(store: Store) -> None:
    drill = big_drill(waves=100, servers=2, event_count=1)

    stats = written(store, lambda: store.create_execution(drill, "engine"))

    assert stats.items_written == 1 + 50 + 1 + 1
    read = store.get_execution(drill.execution_id)
    assert read == drill.model_copy(update={"version": 1})
    _, parts = stored_layout(store, drill.execution_id)
    assert [w["waveNumber"] for w in parts["servers#049"]["waves"]] == [99, 100]

    stats = written(store, lambda: store.update_execution(launched_one_more(read, 100), "engine"))
    assert stats.items_written == 4


def test_a_write_beyond_one_atomic_write_is_refused_whole(store: Store) -> None:
    fits = big_drill(waves=100, servers=1, event_count=48 * EVENTS_PER_CHUNK)  # 50 + 48 parts, head, audit
    assert store.create_execution(fits, "engine").version == 1

    too_big = big_drill(waves=100, servers=1, event_count=48 * EVENTS_PER_CHUNK + 1)
    with pytest.raises(InternalError, match=f"more than the {MAX_WRITE_ACTIONS} one atomic write holds"):
        store.create_execution(too_big, "engine")

    with pytest.raises(NotFound):
        store.get_execution(too_big.execution_id)
    assert store.list_audit(f"execution:{too_big.execution_id}") == []


# -- the parts a load validated before -------------------------------------------------------------


def parsed(store: Store) -> tuple[int, int]:
    """The parts the store's loads took from its cache and those they read and validated, so far."""
    return store.parsed_parts.hits, store.parsed_parts.misses


def test_a_second_load_of_an_unchanged_execution_validates_no_part_again(store: Store) -> None:
    created = store.create_execution(big_drill(waves=6, servers=3, event_count=60), "engine")
    first = store.get_execution(created.execution_id)
    hits, misses = parsed(store)

    second = store.get_execution(created.execution_id)

    assert second == first == created
    assert second.to_wire() == first.to_wire() == created.to_wire()
    assert parsed(store) == (hits + 6 + 3, misses)  # 6 servers parts and 3 event chunks, all cached
    assert all(new.servers is old.servers for new, old in zip(second.waves, first.waves, strict=True))
    assert all(new is old for new, old in zip(second.events, first.events, strict=True))
    assert second.waves[0] is not first.waves[0]  # each load has its own waves: only the parts are shared
    # what the store notes of a load is the same either way: a save writes only what changed
    stats = written(store, lambda: store.update_execution(launched_one_more(second, 2), "engine"))
    assert stats.items_written == 4


def test_parts_saved_since_at_a_newer_version_are_read_again(make_store: Callable[[], Store]) -> None:
    reader, writer = make_store(), make_store()
    execution_id = reader.create_execution(big_drill(waves=6, servers=3, event_count=30), "e").execution_id
    before = reader.get_execution(execution_id)
    saved = writer.update_execution(launched_one_more(writer.get_execution(execution_id), 3), "engine")
    hits, misses = parsed(reader)

    after = reader.get_execution(execution_id)

    assert after == saved
    assert after.wave(3).servers[-1].error == "late"
    assert [e.seq for e in after.events] == list(range(1, 32))
    # servers#002 (wave 3) and events#00001 (events 26 to 31) were saved at version 2: read again
    assert parsed(reader) == (hits + 6, misses + 2)
    assert after.wave(3).servers is not before.wave(3).servers
    assert after.wave(4).servers is before.wave(4).servers
    assert reader.get_execution(execution_id) == saved  # and the new version is cached in turn
    assert parsed(reader) == (hits + 6 + 8, misses + 2)


def test_what_a_save_wrote_is_read_back_from_the_store_not_taken_from_the_saved_models(
    make_store: Callable[[], Store],
) -> None:
    store, fresh = make_store(), make_store()
    read = store.get_execution(store.create_execution(small_drill(event_count=10), "e").execution_id)
    ticked = read.with_event(EventType.WAVE_PROGRESS, T0 + 60, "batch", wave_number=1, servers=("a", "b"))

    store.update_execution(ticked, "engine")
    loaded = store.get_execution(read.execution_id)

    assert loaded.events[-1].details == {"servers": ["a", "b"]}  # as stored (JSON), not the tuple saved
    assert loaded == fresh.get_execution(read.execution_id)


def test_loads_through_the_cache_equal_loads_of_a_store_that_has_read_nothing(
    make_store: Callable[[], Store],
) -> None:
    store, fresh = make_store(), make_store()
    current = store.create_execution(big_drill(waves=5, servers=2, event_count=20), "engine")
    for tick in range(8):  # a wave changes and an event is added per tick; every status changes once
        current = launched_one_more(store.get_execution(current.execution_id), tick % 5 + 1)
        if tick == 4:
            current = current.model_copy(
                update={"waves": [w.model_copy(update={"status": WaveStatus.FAILED}) for w in current.waves]}
            )
        saved = store.update_execution(current, "engine")
        fresh.parsed_parts.clear()

        assert store.get_execution(saved.execution_id) == fresh.get_execution(saved.execution_id) == saved
        assert store.list_executions() == fresh.list_executions() == [saved]


def test_a_load_with_a_cache_too_small_for_the_execution_still_reads_all_of_it(store: Store) -> None:
    from orchestration.store.parts import PartCache

    store.parsed_parts = PartCache(max_parts=4, max_entries=10)
    created = store.create_execution(big_drill(waves=8, servers=3, event_count=40), "engine")

    assert store.get_execution(created.execution_id) == created
    assert store.get_execution(created.execution_id) == created
    assert len(store.parsed_parts) <= 4


def test_a_record_of_the_single_item_layout_is_not_cached(store: Store) -> None:
    old = big_drill(waves=2, servers=2, event_count=3)
    write_single_item(store, old)

    assert store.get_execution(old.execution_id) == old
    assert store.get_execution(old.execution_id) == old
    assert len(store.parsed_parts) == 0
