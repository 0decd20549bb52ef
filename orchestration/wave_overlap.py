"""A server is in at most one wave of a plan: which servers a plan's waves would launch more than
once, and the error that says so.

Pure: the callers resolve each wave's servers (plan create and edit, pre-flight, the engine) and
pass source server ids; nothing here reads the store or DRS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from orchestration.errors import DuplicateServerInPlan

NAMES_SHOWN = 10  # servers (or groups) named in a message; the details list every one
_RULE = "a server may be in only one wave of a plan"


def duplicate_servers(waves: Mapping[int, Iterable[str]]) -> dict[str, list[int]]:
    """Source server id -> the wave numbers (sorted) that would launch it, for each id that is in
    two or more waves; ids are in sorted order. `waves` maps a wave number to its server ids."""
    seen: dict[str, set[int]] = {}
    for number, server_ids in waves.items():
        for server_id in server_ids:
            seen.setdefault(server_id, set()).add(number)
    return {sid: sorted(numbers) for sid, numbers in sorted(seen.items()) if len(numbers) > 1}


def waves_text(numbers: Iterable[int]) -> str:
    """`wave 2`, `waves 1 and 3`, `waves 1, 2 and 4`."""
    listed = [str(n) for n in numbers]
    if len(listed) == 1:
        return f"wave {listed[0]}"
    return "waves " + ", ".join(listed[:-1]) + " and " + listed[-1]


def _repeats(duplicates: Mapping[str, list[int]]) -> list[tuple[int, list[str]]]:
    """Each wave that would launch again a server an earlier wave launches, with those servers: a
    builder form shows the error on the first of these waves."""
    again: dict[int, list[str]] = {}
    for key, numbers in duplicates.items():
        for number in sorted(numbers)[1:]:
            again.setdefault(number, []).append(key)
    return [(number, sorted(keys)) for number, keys in sorted(again.items())]


def _more(total: int) -> str:
    return f" and {total - NAMES_SHOWN} more" if total > NAMES_SHOWN else ""


def duplicate_server_error(
    duplicates: Mapping[str, list[int]], hostnames: Mapping[str, str]
) -> DuplicateServerInPlan:
    """The refusal of a plan whose waves would launch these servers more than once.

    `duplicates` is what `duplicate_servers` found; `hostnames` (id -> hostname) names them, an id
    without a hostname is named by its id. The message names the first servers and their waves;
    the details list every server (`servers`, `serverIds`), the waves involved (`waveNumbers`) and
    each wave that would launch a server again (`errors`)."""
    if not duplicates:
        raise ValueError("no server is in more than one wave")

    def name(server_id: str) -> str:
        return hostnames.get(server_id) or server_id

    ordered = sorted(
        ((sid, sorted(numbers)) for sid, numbers in duplicates.items()),
        key=lambda item: (item[1], name(item[0]), item[0]),
    )
    if len(ordered) == 1:
        sid, numbers = ordered[0]
        message = (
            f"{name(sid)} would launch in {waves_text(numbers)}; {_RULE}: "
            "remove it from all but one wave's protection group."
        )
    else:
        shown = ", ".join(f"{name(sid)} ({waves_text(numbers)})" for sid, numbers in ordered[:NAMES_SHOWN])
        message = (
            f"{len(ordered)} servers would launch in more than one wave: {shown}{_more(len(ordered))}; "
            f"{_RULE}: remove each from all but one wave's protection group."
        )
    servers: list[dict[str, object]] = []
    for sid, numbers in ordered:
        server: dict[str, object] = {"sourceServerId": sid, "waveNumbers": numbers}
        if hostnames.get(sid):
            server["hostname"] = hostnames[sid]
        servers.append(server)
    return DuplicateServerInPlan(
        message,
        servers=servers,
        serverIds=[sid for sid, _ in ordered],
        waveNumbers=sorted({n for _, numbers in ordered for n in numbers}),
        errors=[{"waveNumber": n, "serverIds": ids} for n, ids in _repeats(dict(ordered))],
    )


def duplicate_group_error(
    groups: Mapping[str, list[int]], group_names: Mapping[str, str]
) -> DuplicateServerInPlan:
    """The refusal of a plan that uses the same protection group in more than one wave, when the
    servers it selects are not known (its tags could not be resolved against DRS) or it selects
    none right now: every server it selects would launch in each of those waves.

    `groups` maps a group id to its wave numbers (what `duplicate_servers` finds when given each
    wave's group id); `group_names` (id -> name) names them."""
    if not groups:
        raise ValueError("no group is in more than one wave")

    def name(group_id: str) -> str:
        return f"'{group_names.get(group_id) or group_id}'"

    ordered = sorted(
        ((gid, sorted(numbers)) for gid, numbers in groups.items()), key=lambda item: (item[1], item[0])
    )
    if len(ordered) == 1:
        gid, numbers = ordered[0]
        message = (
            f"Protection group {name(gid)} is in {waves_text(numbers)}, so every server it selects would "
            f"launch in each; {_RULE}: keep the group in one wave only."
        )
    else:
        shown = ", ".join(f"{name(gid)} ({waves_text(numbers)})" for gid, numbers in ordered[:NAMES_SHOWN])
        message = (
            f"{len(ordered)} protection groups are each in more than one wave: {shown}{_more(len(ordered))}, "
            f"so every server they select would launch more than once; {_RULE}: keep each group in one "
            "wave only."
        )
    return DuplicateServerInPlan(
        message,
        groups=[
            {"protectionGroupId": gid, "groupName": group_names.get(gid) or gid, "waveNumbers": n}
            for gid, n in ordered
        ],
        serverIds=[],
        waveNumbers=sorted({n for _, numbers in ordered for n in numbers}),
        errors=[{"waveNumber": n, "protectionGroupIds": ids} for n, ids in _repeats(dict(ordered))],
    )
