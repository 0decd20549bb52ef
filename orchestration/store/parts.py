"""How an execution is stored: a head, its servers parts and its event chunks. Both adapters keep this

One piece, a little over 400 lines: splitting an execution into parts and assembling it again are
inverse functions kept side by side.
one logical layout; docs/architecture.md ("Store") has the short version.

Why: as one document, a 40-wave drill of 100 servers a wave (4,000 servers, DRS's account limit) is
over 800 KB, twice DynamoDB's 400 KB item limit, and every engine tick rewrote all of it to record
what changed in a wave or two. So an execution is an item collection under its id:

- the **head**: the execution without `waves[].servers` and without `events` (the wave summaries,
  status, approvals, Slack thread, cleanup … stay in it), plus `storedParts` = {"eventCount": n,
  "wavesPerPart": w}, which says how the rest is laid out. The head carries the version and the
  listings' keys, and every save writes it with the version check;
- **servers parts** `servers#000`, `servers#001`, …: part k holds the servers of the waves at
  positions k*w … k*w+w-1 of `waves`, as [{"waveNumber", "servers"}]. For up to MAX_SERVERS_PARTS
  waves w is 1: one part per wave, at most 100 servers (one DRS job). Plans of 51 to 100 waves have
  two waves a part, so that writing every part still fits one transaction (below);
- **event chunks** `events#00000`, `events#00001`, …: the event log in order, EVENTS_PER_CHUNK
  events a chunk (chunk k holds the events k*25+1 … k*25+25, which are their seq numbers as
  `Execution.with_event` numbers them).

Each part is stamped with the version of the head that wrote it.

**A save writes what changed.** The store notes on every execution it loads or saves (the private
attributes of `Execution`) which store it came from and the WaveRun and ExecutionEvent objects
that store holds.
Callers change executions by copying (`model_copy`, `with_status`, `replace_wave`, `with_event`),
which keeps those notes and keeps every untouched wave and event the very same object. So a save
writes the head, then

- the servers part of a wave only if its servers may differ from the stored ones: not when the wave
  is the stored object, nor when it is a copy (a new status, say) holding the stored servers list,
  nor when its servers equal the stored ones;
- only the event chunks holding events past the stored ones, provided the stored events are still
  the start of the log (the same objects, in order); a partly filled last chunk is written again
  whole;
- every part when there is nothing to compare with: an execution created or built by hand, read
  from another store, read in the old single-item layout (below), or whose waves were added or
  removed or whose log was rewritten.

**Why skipping parts is safe.** The notes describe the parts as stored at the version the execution
carries: a load reads the head and its parts at one version (SQLite: in one read transaction;
DynamoDB: a consistent read of the head, then a consistent Query of the parts, read again when a part
is stamped with a newer version than the head, i.e. a save committed between the two reads), and a
save notes exactly what it wrote. The head, its version check and the changed parts are one atomic
write. If anyone has saved since the execution was read, the stored version has moved on, the check
fails with StaleVersion and nothing is written. So whenever a save commits, the parts it skipped are
still those the notes describe, and the parts it wrote replace the others. (Parts are written
nowhere else.) The one thing this cannot see is a change made *in place* to a loaded execution's
nested objects (appending to a wave's servers list, assigning to a ServerRun): drbot never does that.

**One atomic write, at most MAX_WRITE_ACTIONS items**: DynamoDB's limit for a TransactWriteItems,
counting the head, the parts and the audit event. A tick writes the head, the servers parts of the
waves DRS changed and one or two event chunks; a status change of many waves at once (a cancel) keeps
their servers lists and writes none. Creating an execution writes every part: at most
MAX_SERVERS_PARTS servers parts and the first event chunk. A write that would need more raises
InternalError before anything is written, on both stores, so the embedded default refuses what AWS
would refuse.

**Records of the single-item layout** (waves with their servers, and the events, inline in the
execution's item or row) are read as they are: a head without `storedParts` is the whole execution.
Loading one notes nothing, so its next save writes the new layout whole: the head without servers
and events, and every part, in one version-checked write. Nothing else migrates them; a record that
is never saved again (an execution that ended) stays as it is and reads the same.

**A load parses only the parts it has not parsed before.** A part stamped with a version never
changes: a save writes its parts stamped with the version it saves, the version check lets only one
save of each version commit, and executions are never deleted, so (execution id, part key, version)
names one content for good. Each store keeps a `PartCache` of the parts it read, validated (a wave's
list of ServerRun, a chunk's ExecutionEvents), under that triple. A load reads which version of each
part is stored, takes those it has from the cache and reads, decodes and validates only the others;
then it validates the head and puts the parts' models into it as they are. An unchanged wave thus
keeps its very servers list from one load to the next. The models are shared between the executions
of successive loads: like every loaded execution, they are changed by copying, never in place. Only
what was read is cached, never what a save wrote (the saved models were not validated from the wire).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, TypeAdapter

from orchestration.errors import InternalError
from orchestration.models import Execution, ExecutionEvent, ServerRun, WaveRun

EVENTS_PER_CHUNK = 25
MAX_SERVERS_PARTS = 50  # servers parts of one execution; beyond this many waves, two waves a part
MAX_WRITE_ACTIONS = 100  # items in one atomic write (DynamoDB TransactWriteItems)
LAYOUT = "storedParts"  # on a head: how its parts are laid out; absent: the single-item layout
EVENT_COUNT = "eventCount"
WAVES_PER_PART = "wavesPerPart"
SERVERS_PREFIX = "servers#"
EVENTS_PREFIX = "events#"
# What a store's PartCache holds at most: parts, and servers and events in them (about 1.5 KB each as
# models, so some 30 MB: five drills at DRS's 4,000 servers)
CACHED_PARTS = 4096
CACHED_ENTRIES = 20_000

_DEFERRED = ConfigDict(defer_build=True)  # built on first use, as the models (orchestration/models.py)
_SERVERS = TypeAdapter(list[ServerRun], config=_DEFERRED)
_EVENTS = TypeAdapter(list[ExecutionEvent], config=_DEFERRED)
_WIRE: dict[str, Any] = {"mode": "json", "by_alias": True, "exclude_none": True}  # as `to_wire`
_HEAD_EXCLUDE: Any = {"events": True, "waves": {"__all__": {"servers"}}}


@dataclass(frozen=True)
class Part:
    """One servers part or event chunk: its sort key and its content (JSON-ready)."""

    key: str
    body: dict[str, Any]  # {"waves": [{"waveNumber", "servers"}, ...]} or {"events": [...]}


@dataclass(frozen=True)
class ExecutionWrite:
    """What one save of an execution writes: the head, and the parts that changed."""

    head: dict[str, Any]  # the execution's wire form without servers and events, plus LAYOUT
    parts: list[Part]

    @property
    def items(self) -> int:
        """Items of the atomic write: the head, the parts and the audit event."""
        return len(self.parts) + 2


def servers_key(index: int) -> str:
    return f"{SERVERS_PREFIX}{index:03d}"


def events_key(index: int) -> str:
    return f"{EVENTS_PREFIX}{index:05d}"


def waves_per_part(wave_count: int) -> int:
    """1 up to MAX_SERVERS_PARTS waves, then as many as keep the parts to MAX_SERVERS_PARTS."""
    return max(1, -(-wave_count // MAX_SERVERS_PARTS))


def _ceil_div(items: int, per: int) -> int:
    return -(-items // per)


def to_write(execution: Execution, origin: str) -> ExecutionWrite:
    """The head and the parts a save of `execution` into the store at `origin` must write (see the
    module docstring); InternalError when that is more than one atomic write holds."""
    waves, events = execution.waves, execution.events
    per = waves_per_part(len(waves))
    head = execution.model_dump(**_WIRE, exclude=_HEAD_EXCLUDE)
    head[LAYOUT] = {EVENT_COUNT: len(events), WAVES_PER_PART: per}

    known = origin == execution._stored_in
    stored_waves = execution._stored_waves
    if known and len(stored_waves) == len(waves):
        moved = (i for i, (new, old) in enumerate(zip(waves, stored_waves, strict=True)) if _moved(new, old))
        groups = sorted({i // per for i in moved})
    else:
        groups = list(range(_ceil_div(len(waves), per)))
    stored_events = execution._stored_events
    if known and _starts_with(events, stored_events):
        first = len(stored_events) // EVENTS_PER_CHUNK if len(events) > len(stored_events) else None
    else:
        first = 0
    chunks = [] if first is None else list(range(first, _ceil_div(len(events), EVENTS_PER_CHUNK)))

    parts = [_servers_part(waves, k, per) for k in groups]
    parts.extend(_events_chunk(events, k) for k in chunks)
    write = ExecutionWrite(head, parts)
    if write.items > MAX_WRITE_ACTIONS:
        raise InternalError(
            f"Saving execution {execution.execution_id} would write {write.items} items at once "
            f"({len(groups)} servers part(s), {len(chunks)} event chunk(s), its head and the audit event), "
            f"more than the {MAX_WRITE_ACTIONS} one atomic write holds; nothing was written",
            executionId=execution.execution_id,
        )
    return write


def _servers_part(waves: list[WaveRun], index: int, per: int) -> Part:
    group = waves[index * per : (index + 1) * per]
    entries = [{"waveNumber": wave.wave_number, "servers": _dump_servers(wave.servers)} for wave in group]
    return Part(servers_key(index), {"waves": entries})


def _events_chunk(events: list[ExecutionEvent], index: int) -> Part:
    chunk = events[index * EVENTS_PER_CHUNK : (index + 1) * EVENTS_PER_CHUNK]
    return Part(events_key(index), {"events": _dump_events(chunk)})


def _dump_servers(servers: list[ServerRun]) -> list[dict[str, Any]]:
    dumped: list[dict[str, Any]] = _SERVERS.dump_python(servers, **_WIRE)
    return dumped


def _dump_events(events: list[ExecutionEvent]) -> list[dict[str, Any]]:
    dumped: list[dict[str, Any]] = _EVENTS.dump_python(events, **_WIRE)
    return dumped


def _moved(new: WaveRun, old: WaveRun) -> bool:
    """Whether the servers part of the wave now at the position of `old` may differ from the stored one."""
    if new is old:
        return False
    if new.wave_number != old.wave_number:
        return True
    return new.servers is not old.servers and new.servers != old.servers


def _starts_with(events: Sequence[ExecutionEvent], stored: Sequence[ExecutionEvent]) -> bool:
    return len(events) >= len(stored) and all(new is old for new, old in zip(events, stored, strict=False))


def remember(execution: Execution, origin: str) -> Execution:
    """Note on `execution` that the store at `origin` holds it as it is now (after a load or a save)."""
    execution._stored_in = origin
    execution._stored_waves = tuple(execution.waves)
    execution._stored_events = tuple(execution.events)
    return execution


def is_split(head: Mapping[str, Any]) -> bool:
    """Whether a stored head has parts (False: the single-item layout, the whole execution)."""
    return LAYOUT in head


def part_keys(head: Mapping[str, Any]) -> list[str]:
    """The parts a head of the split layout is assembled from (others are leftovers: ignored)."""
    layout = head[LAYOUT]
    waves = len(head.get("waves", []))
    groups = _ceil_div(waves, int(layout[WAVES_PER_PART]))
    chunks = _ceil_div(int(layout[EVENT_COUNT]), EVENTS_PER_CHUNK)
    return [*(servers_key(k) for k in range(groups)), *(events_key(k) for k in range(chunks))]


@dataclass(frozen=True)
class ParsedPart:
    """A servers part or an event chunk as validated models: what a PartCache keeps."""

    waves: tuple[tuple[Any, list[ServerRun]], ...] = ()  # (waveNumber as stored, the wave's servers)
    events: tuple[ExecutionEvent, ...] = ()

    @property
    def size(self) -> int:
        """Its servers and events: what the cache's bound counts."""
        return sum(len(servers) for _, servers in self.waves) + len(self.events)


class PartCache:
    """Parts a store has read, validated, by (execution id, part key, the version that wrote them).

    One version a part: a newer one replaces an older one (which no load of the current head needs);
    an older one read late (a reader behind a save) does not replace a newer one. Least recently used
    parts go first beyond `max_parts` parts or `max_entries` servers and events. Safe for threads."""

    def __init__(self, max_parts: int = CACHED_PARTS, max_entries: int = CACHED_ENTRIES) -> None:
        self.max_parts = max_parts
        self.max_entries = max_entries
        self.hits = 0  # parts taken from the cache
        self.misses = 0  # parts read and validated
        self._lock = threading.Lock()
        self._parts: OrderedDict[tuple[str, str], tuple[int, ParsedPart]] = OrderedDict()
        self._entries = 0

    def __len__(self) -> int:
        return len(self._parts)

    def get(self, execution_id: str, key: str, version: int) -> ParsedPart | None:
        with self._lock:
            found = self._parts.get((execution_id, key))
            if found is None or found[0] != version:
                self.misses += 1
                return None
            self._parts.move_to_end((execution_id, key))
            self.hits += 1
            return found[1]

    def put(self, execution_id: str, key: str, version: int, part: ParsedPart) -> None:
        size = part.size
        if size > self.max_entries:
            return
        with self._lock:
            found = self._parts.pop((execution_id, key), None)
            if found is not None:
                if found[0] > version:  # keep the newer one
                    self._parts[(execution_id, key)] = found
                    return
                self._entries -= found[1].size
            self._parts[(execution_id, key)] = (version, part)
            self._entries += size
            while len(self._parts) > self.max_parts or self._entries > self.max_entries:
                _, (_, dropped) = self._parts.popitem(last=False)
                self._entries -= dropped.size

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()
            self._entries = 0


# reads the bodies (JSON-ready) of the parts named, by part key; a part not stored is left out
ReadParts = Callable[[Sequence[str]], Mapping[str, Mapping[str, Any]]]


def assemble(
    head: Mapping[str, Any],
    versions: Mapping[str, int],
    read: ReadParts,
    origin: str,
    cache: PartCache | None = None,
) -> Execution:
    """The execution of a stored head and its parts, noted as stored at `origin`. `versions` has the
    version of every part stored under the execution (by part key); the parts found in `cache` at that
    version are taken from it, the others are `read` (once, together), validated and cached. A head
    of the single-item layout is the whole execution and is noted as nothing (its next save writes
    every part)."""
    if not is_split(head):
        return Execution.from_wire(dict(head))
    data = {key: value for key, value in head.items() if key != LAYOUT}
    execution_id = str(data.get("executionId"))
    layout = head[LAYOUT]
    per = int(layout[WAVES_PER_PART])
    count = int(layout[EVENT_COUNT])
    stored_waves = [dict(wave) for wave in data.get("waves", [])]
    groups = _ceil_div(len(stored_waves), per)
    chunks = _ceil_div(count, EVENTS_PER_CHUNK)
    found = _parsed_parts(execution_id, part_keys(head), versions, read, cache)

    # the head alone, validated (waves without servers, no events), then the parts' models put in
    for wave in stored_waves:
        wave.pop("servers", None)
    data["waves"] = stored_waves
    data.pop("events", None)
    shell = Execution.from_wire(data)
    waves: list[WaveRun] = []
    for k in range(groups):
        group = stored_waves[k * per : (k + 1) * per]
        entries = found[servers_key(k)].waves
        numbers = [number for number, _ in entries]
        if numbers != [wave.get("waveNumber") for wave in group]:
            raise _corrupt(execution_id, f"{servers_key(k)} holds waves {numbers}")
        for shell_wave, (_, servers) in zip(shell.waves[k * per : (k + 1) * per], entries, strict=True):
            waves.append(shell_wave.model_copy(update={"servers": servers}))
    events: list[ExecutionEvent] = []
    for k in range(chunks):
        events.extend(found[events_key(k)].events)
    if len(events) < count:
        raise _corrupt(execution_id, f"its event chunks hold {len(events)} of its {count} events")
    del events[count:]
    return remember(shell.model_copy(update={"waves": waves, "events": events}), origin)


def _parsed_parts(
    execution_id: str,
    keys: Sequence[str],
    versions: Mapping[str, int],
    read: ReadParts,
    cache: PartCache | None,
) -> dict[str, ParsedPart]:
    """The parts named by `keys`, from the cache where it has their stored version, else read and
    validated (and cached)."""
    found: dict[str, ParsedPart] = {}
    missing: list[str] = []
    for key in keys:
        version = versions.get(key)
        if version is None:
            raise _corrupt(execution_id, f"its part {key} is missing")
        cached = None if cache is None else cache.get(execution_id, key, version)
        if cached is None:
            missing.append(key)
        else:
            found[key] = cached
    if missing:
        bodies = read(missing)
        for key in missing:
            part = _parse(key, _part(bodies, key, execution_id))
            found[key] = part
            if cache is not None:
                cache.put(execution_id, key, versions[key], part)
    return found


def _parse(key: str, body: Mapping[str, Any]) -> ParsedPart:
    """A part's body validated: a servers part's waves or an event chunk's events."""
    if key.startswith(SERVERS_PREFIX):
        return ParsedPart(
            waves=tuple(
                (entry.get("waveNumber"), _SERVERS.validate_python(entry["servers"]))
                for entry in body.get("waves", [])
            )
        )
    return ParsedPart(events=tuple(_EVENTS.validate_python(body.get("events", []))))


def _part(parts: Mapping[str, Mapping[str, Any]], key: str, execution_id: str) -> Mapping[str, Any]:
    part = parts.get(key)
    if part is None:
        raise _corrupt(execution_id, f"its part {key} is missing")
    return part


def _corrupt(execution_id: str, what: str) -> InternalError:
    return InternalError(f"Execution {execution_id} cannot be read: {what}", executionId=execution_id)
