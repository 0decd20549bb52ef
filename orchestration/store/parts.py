"""How an execution is stored: a head, its servers parts and its event chunks. Both adapters keep this
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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

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

_SERVERS = TypeAdapter(list[ServerRun])
_EVENTS = TypeAdapter(list[ExecutionEvent])
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


def assemble(head: Mapping[str, Any], parts: Mapping[str, Mapping[str, Any]], origin: str) -> Execution:
    """The execution of a stored head and its parts (keyed by part key), noted as stored at `origin`.
    A head of the single-item layout is the whole execution and is noted as nothing (its next save
    writes every part)."""
    if not is_split(head):
        return Execution.from_wire(dict(head))
    data = {key: value for key, value in head.items() if key != LAYOUT}
    execution_id = str(data.get("executionId"))
    layout = head[LAYOUT]
    per = int(layout[WAVES_PER_PART])
    waves = [dict(wave) for wave in data.get("waves", [])]
    for k in range(_ceil_div(len(waves), per)):
        group = waves[k * per : (k + 1) * per]
        entries = _part(parts, servers_key(k), execution_id).get("waves", [])
        numbers = [entry.get("waveNumber") for entry in entries]
        if numbers != [wave.get("waveNumber") for wave in group]:
            raise _corrupt(execution_id, f"{servers_key(k)} holds waves {numbers}")
        for wave, entry in zip(group, entries, strict=True):
            wave["servers"] = entry["servers"]
    data["waves"] = waves
    count = int(layout[EVENT_COUNT])
    events: list[Any] = []
    for k in range(_ceil_div(count, EVENTS_PER_CHUNK)):
        events.extend(_part(parts, events_key(k), execution_id).get("events", []))
    if len(events) < count:
        raise _corrupt(execution_id, f"its event chunks hold {len(events)} of its {count} events")
    data["events"] = events[:count]
    return remember(Execution.from_wire(data), origin)


def _part(parts: Mapping[str, Mapping[str, Any]], key: str, execution_id: str) -> Mapping[str, Any]:
    part = parts.get(key)
    if part is None:
        raise _corrupt(execution_id, f"its part {key} is missing")
    return part


def _corrupt(execution_id: str, what: str) -> InternalError:
    return InternalError(f"Execution {execution_id} cannot be read: {what}", executionId=execution_id)
