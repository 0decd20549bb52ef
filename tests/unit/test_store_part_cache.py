"""The store's cache of validated execution parts (orchestration/store/parts.py `PartCache`): one
version a part, the newest kept, bounded in parts and in servers and events, least recently used first.
What a load does with it, on both adapters, is in tests/integration/test_store_execution_parts.py."""

from __future__ import annotations

import threading

from orchestration.models import EventType, ExecutionEvent, ServerRun
from orchestration.store.parts import ParsedPart, PartCache


def servers_part(wave: int, servers: int) -> ParsedPart:
    runs = [ServerRun(source_server_id=f"s-{wave:03d}{n:03d}6789abcdef0") for n in range(servers)]
    return ParsedPart(waves=((wave, runs),))


def events_chunk(count: int) -> ParsedPart:
    return ParsedPart(
        events=tuple(
            ExecutionEvent(seq=n, at=n, type=EventType.STARTED, message="m") for n in range(1, count + 1)
        )
    )


def test_a_part_is_found_at_the_version_it_was_put_with_only() -> None:
    cache = PartCache()
    part = servers_part(1, 3)
    cache.put("e1", "servers#000", 4, part)

    assert cache.get("e1", "servers#000", 4) is part
    assert cache.get("e1", "servers#000", 5) is None
    assert cache.get("e1", "servers#000", 3) is None
    assert cache.get("e2", "servers#000", 4) is None
    assert cache.get("e1", "servers#001", 4) is None
    assert (cache.hits, cache.misses) == (1, 4)


def test_a_newer_version_replaces_an_older_one_and_not_the_other_way_round() -> None:
    cache = PartCache()
    older, newer = servers_part(1, 2), servers_part(1, 3)
    cache.put("e1", "servers#000", 4, older)
    cache.put("e1", "servers#000", 6, newer)
    cache.put("e1", "servers#000", 5, older)  # a reader behind a save: kept out

    assert len(cache) == 1
    assert cache.get("e1", "servers#000", 6) is newer
    assert cache.get("e1", "servers#000", 4) is None


def test_beyond_its_parts_the_least_recently_used_go_first() -> None:
    cache = PartCache(max_parts=3)
    for k in range(3):
        cache.put("e1", f"servers#{k:03d}", 1, servers_part(k + 1, 1))
    assert cache.get("e1", "servers#000", 1) is not None  # used: now the most recent

    cache.put("e1", "servers#003", 1, servers_part(4, 1))

    assert len(cache) == 3
    assert cache.get("e1", "servers#001", 1) is None
    assert all(cache.get("e1", key, 1) is not None for key in ("servers#000", "servers#002", "servers#003"))


def test_beyond_its_servers_and_events_the_least_recently_used_go_first() -> None:
    cache = PartCache(max_entries=10)
    cache.put("e1", "servers#000", 1, servers_part(1, 4))
    cache.put("e1", "events#00000", 1, events_chunk(4))
    cache.put("e1", "servers#001", 1, servers_part(2, 4))  # 12 entries: the first part goes

    assert cache.get("e1", "servers#000", 1) is None
    assert cache.get("e1", "events#00000", 1) is not None
    assert cache.get("e1", "servers#001", 1) is not None
    cache.put("e1", "servers#002", 1, servers_part(3, 11))  # larger than the whole cache: not kept
    assert cache.get("e1", "servers#002", 1) is None
    assert len(cache) == 2


def test_clearing_forgets_every_part() -> None:
    cache = PartCache()
    cache.put("e1", "servers#000", 1, servers_part(1, 2))
    cache.clear()
    assert len(cache) == 0
    assert cache.get("e1", "servers#000", 1) is None


def test_threads_putting_and_getting_at_once_keep_it_within_bounds() -> None:
    cache = PartCache(max_parts=50, max_entries=200)
    parts = [servers_part(n + 1, 3) for n in range(20)]

    def work(thread: int) -> None:
        for round_ in range(200):
            key = f"servers#{(thread * 7 + round_) % 80:03d}"
            cache.put("e1", key, round_ % 3 + 1, parts[round_ % 20])
            cache.get("e1", key, round_ % 3 + 1)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(cache) <= 50
    assert sum(part.size for _, part in cache._parts.values()) == cache._entries <= 200
