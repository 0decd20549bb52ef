"""Export and import of the configuration: protection groups and recovery plans as one JSON document.

    {"formatVersion": 1, "exportedAt": 1767225600,
     "protectionGroups": [<group wire dicts>], "recoveryPlans": [<plan wire dicts>]}

Ids are kept, so the plans' waves still name their groups after an import; `version` is left out
(it is this database's concurrency counter, not configuration: an imported item starts at 1).

An import is checked completely before anything is written, and every problem is reported by its
path (`protectionGroups[2].groupName`), not just the first one: the format version, each group and
plan against the model, ids and names repeated in the document or already taken in drbot, servers
that do not exist in DRS, servers that would be in two groups, waves naming no known group, and
waves bigger than one DRS job. Any problem: an error listing them all, nothing written. A document
whose only problems are with what drbot already holds is a 409 (DUPLICATE_NAME when only names are
taken, SERVER_CONFLICT when only servers are in drbot's groups, CONFLICT for a mix or taken ids);
anything else wrong with the document is a 400 (VALIDATION_ERROR).

Items that already exist: an item whose id is in drbot with the same configuration (ignoring
version, dates and author) is skipped, so running the same import twice is harmless; one whose id
is in drbot with a different configuration is a problem ("delete it first or import into an empty
database") — an import never overwrites.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from orchestration.context import Services
from orchestration.drs.gateway import SourceServer
from orchestration.errors import (
    Conflict,
    DrbotError,
    DuplicateName,
    NotFound,
    ServerConflict,
    ValidationFailed,
)
from orchestration.models import ProtectionGroup, RecoveryPlan, WireModel, name_key, servers_of
from orchestration.rbac import Permission
from orchestration.services.access import require
from orchestration.store.base import GROUPS, PLANS, Kind
from orchestration.validation import parse_model

FORMAT_VERSION = 1
GROUPS_KEY = "protectionGroups"
PLANS_KEY = "recoveryPlans"
_DOCUMENT_KEYS = frozenset({"formatVersion", "exportedAt", GROUPS_KEY, PLANS_KEY})
# what differs between two copies of the same configuration
_BOOKKEEPING = frozenset({"version", "createdBy", "createdDate", "lastModifiedDate"})

M = TypeVar("M", bound=WireModel)
Place = tuple[str, str | None]


def export_configuration(services: Services) -> dict[str, Any]:
    """Every protection group and recovery plan, in the document import_configuration reads."""
    return {
        "formatVersion": FORMAT_VERSION,
        "exportedAt": int(services.clock.now()),
        GROUPS_KEY: [_portable(g) for g in services.store.list_groups()],
        PLANS_KEY: [_portable(p) for p in services.store.list_plans()],
    }


def _portable(item: WireModel) -> dict[str, Any]:
    wire = item.to_wire()
    wire.pop("version", None)
    return wire


def _configuration(item: WireModel) -> dict[str, Any]:
    return {k: v for k, v in item.to_wire().items() if k not in _BOOKKEEPING}


# -- checking -------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """One item of the document: where it is, and what it parsed into (None when it did not)."""

    path: str
    raw: Any
    item: Any = None
    skip: bool = False  # already in drbot with the same configuration


@dataclass
class _Check:
    services: Services
    actor: str
    problems: list[dict[str, str]] = field(default_factory=list)
    listings: dict[Place, list[SourceServer] | None] = field(default_factory=dict)
    # of the problems, those that something already in drbot holds: "id", "name" or "server" each
    taken: list[str] = field(default_factory=list)

    def problem(self, path: str, message: str, taken: str | None = None) -> None:
        self.problems.append({"path": path, "message": message})
        if taken is not None:
            self.taken.append(taken)

    def servers(self, group: ProtectionGroup, path: str) -> list[SourceServer] | None:
        """The servers of the group's region/account (None when DRS could not be read there, which
        is reported at `path`)."""
        place = (group.region, group.account_id)
        if place not in self.listings:
            try:
                self.listings[place] = self.services.drs.gateway(*place).source_servers()
            except DrbotError as exc:
                where = group.region + (f" (account {group.account_id})" if group.account_id else "")
                self.problem(path, f"DRS in {where} could not be read: {exc.message}")
                self.listings[place] = None
        return self.listings[place]


def _entries(check: _Check, document: dict[str, Any], key: str) -> list[_Entry]:
    raw = document.get(key, [])
    if not isinstance(raw, list):
        check.problem(key, f"expected a list, got {type(raw).__name__}")
        return []
    return [_Entry(f"{key}[{index}]", item) for index, item in enumerate(raw)]


def _parse(check: _Check, entries: list[_Entry], model: type[M]) -> None:
    """Each entry against the model; every problem of every entry is kept, with its path."""
    now = int(check.services.clock.now())
    for entry in entries:
        if not isinstance(entry.raw, dict):
            check.problem(entry.path, f"expected a JSON object, got {type(entry.raw).__name__}")
            continue
        # a hand-written document may leave out the bookkeeping: it is created now, by the importer
        data = {"createdBy": check.actor, "createdDate": now, "lastModifiedDate": now, **entry.raw}
        data.pop("version", None)
        try:
            entry.item = parse_model(model, data)
        except ValidationFailed as exc:
            for error in exc.details.get("errors") or [{"field": "", "message": exc.message}]:
                where = f"{entry.path}.{error['field']}" if error["field"] else entry.path
                check.problem(where.replace(".[", "["), str(error["message"]))


def _check_identity(
    check: _Check,
    entries: list[_Entry],
    kind: Kind[Any],
    fetch: Callable[[str], WireModel | None],
    find_by_name: Callable[[str], WireModel | None],
) -> None:
    """Ids and names unique within the document and free in drbot (or the very same item: skipped)."""
    seen_ids: dict[str, str] = {}
    seen_names: dict[str, str] = {}
    for entry in (e for e in entries if e.item is not None):
        item_id, name = kind.id_of(entry.item), str(kind.name_of(entry.item))
        id_path = f"{entry.path}.{_camel(kind.id_field)}"
        name_path = f"{entry.path}.{_camel(str(kind.name_field))}"
        if item_id in seen_ids:
            check.problem(id_path, f"id '{item_id}' is also used by {seen_ids[item_id]}")
        seen_ids.setdefault(item_id, entry.path)
        if name_key(name) in seen_names:
            check.problem(name_path, f"name '{name}' is also used by {seen_names[name_key(name)]}")
        seen_names.setdefault(name_key(name), entry.path)

        stored = fetch(item_id)
        if stored is not None:
            if _configuration(stored) == _configuration(entry.item):
                entry.skip = True
                continue
            check.problem(
                id_path,
                f"a {kind.label} with id '{item_id}' already exists ('{kind.name_of(stored)}') with a "
                "different configuration; delete it first or import into an empty database",
                taken="id",
            )
            continue
        holder = find_by_name(name)
        if holder is not None:
            check.problem(
                name_path,
                f"a {kind.label} named '{kind.name_of(holder)}' already exists (id {kind.id_of(holder)}); "
                "names are case-insensitive",
                taken="name",
            )


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def _get_or_none(get: Callable[[str], M]) -> Callable[[str], M | None]:
    def fetch(item_id: str) -> M | None:
        try:
            return get(item_id)
        except NotFound:
            return None

    return fetch


def _check_servers(check: _Check, groups: list[_Entry]) -> None:
    """Explicit servers exist in DRS; no server would be in two groups (existing ones included)."""
    pending = [e for e in groups if e.item is not None and not e.skip]
    for entry in pending:  # one listing per region/account the document touches
        check.servers(entry.item, f"{entry.path}.region")
    # source server id -> (group id, the holder as a person would read it)
    holders: dict[str, tuple[str, str]] = {}
    for existing in check.services.store.list_groups():
        # a server id exists in one region/account only: other places cannot overlap
        nearby = check.listings.get((existing.region, existing.account_id)) or []
        for server in servers_of(existing, nearby):
            holders.setdefault(
                server.source_server_id, (existing.group_id, f"protection group '{existing.group_name}'")
            )
    stored = set(holders)
    for entry in pending:
        group: ProtectionGroup = entry.item
        listing = check.listings[(group.region, group.account_id)]
        if listing is None:
            continue
        known = {s.source_server_id for s in listing}
        for index, server_id in enumerate(group.source_server_ids or []):
            if server_id not in known:
                where = group.region + (f" in account {group.account_id}" if group.account_id else "")
                check.problem(
                    f"{entry.path}.sourceServerIds[{index}]",
                    f"source server {server_id} does not exist in DRS in {where}",
                )
        selector = "serverSelectionTags" if group.selects_by_tags else "sourceServerIds"
        for server in servers_of(group, listing):
            holder_id, holder = holders.setdefault(server.source_server_id, (group.group_id, entry.path))
            # the same id is the stored copy of this group (reported already if it differs)
            if holder_id != group.group_id:
                check.problem(
                    f"{entry.path}.{selector}",
                    f"server {server.hostname} ({server.source_server_id}) is already in {holder}; "
                    "a server belongs to at most one protection group",
                    # held by a group drbot has: a conflict with its state, not a document mistake
                    taken="server" if server.source_server_id in stored else None,
                )


def _check_plans(check: _Check, plans: list[_Entry], groups: list[_Entry]) -> None:
    """Every wave names a group of the document or of drbot, and fits in one DRS job."""
    in_document: dict[str, ProtectionGroup | None] = {}
    for entry in groups:
        if isinstance(entry.raw, dict) and isinstance(entry.raw.get("groupId"), str):
            # an invalid group is already reported; its waves are not reported again as dangling
            in_document.setdefault(entry.raw["groupId"], entry.item)
    stored = {g.group_id: g for g in check.services.store.list_groups()}
    limit = check.services.settings.drs_limits.max_servers_per_job
    for entry in plans:
        plan: RecoveryPlan | None = entry.item
        if plan is None or entry.skip:
            continue
        for index, wave in enumerate(plan.waves):
            path = f"{entry.path}.waves[{index}]"
            if wave.protection_group_id in in_document:
                group = in_document[wave.protection_group_id]
            else:
                group = stored.get(wave.protection_group_id)
                if group is None:
                    check.problem(
                        f"{path}.protectionGroupId",
                        f"no protection group '{wave.protection_group_id}' in the document or in drbot",
                    )
                    continue
            if group is None:
                continue
            servers = servers_of(group, check.servers(group, f"{path}.protectionGroupId") or [])
            if len(servers) > limit:
                check.problem(
                    path,
                    f"wave {wave.wave_number} ('{wave.wave_name}') would have {len(servers)} servers, "
                    f"max is {limit}: one wave is one DRS job",
                )


# -- importing ------------------------------------------------------------------------------------


def import_configuration(
    services: Services, document: dict[str, Any], actor: str, dry_run: bool = False
) -> dict[str, Any]:
    """Create the document's groups and plans, all or nothing; `dry_run` checks without writing."""
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    if not isinstance(document, dict):
        raise ValidationFailed(f"expected a JSON object (an export document), got {type(document).__name__}")
    check = _Check(services, actor)
    version = document.get("formatVersion")
    if version is None:
        check.problem("formatVersion", f"field required: this drbot reads format version {FORMAT_VERSION}")
    elif version != FORMAT_VERSION:
        check.problem(
            "formatVersion", f"format version {version!r} is not supported: this drbot reads {FORMAT_VERSION}"
        )
    for key in sorted(set(document) - _DOCUMENT_KEYS):
        check.problem(key, "unknown field")

    groups, plans = _entries(check, document, GROUPS_KEY), _entries(check, document, PLANS_KEY)
    _parse(check, groups, ProtectionGroup)
    _parse(check, plans, RecoveryPlan)
    store = services.store
    _check_identity(check, groups, GROUPS, _get_or_none(store.get_group), store.find_group_by_name)
    _check_identity(check, plans, PLANS, _get_or_none(store.get_plan), store.find_plan_by_name)
    _check_servers(check, groups)
    _check_plans(check, plans, groups)
    if check.problems:
        check.problems.sort(key=lambda p: _document_order(p["path"]))
        first = check.problems[0]
        more = len(check.problems) - 1
        message = (
            f"The configuration cannot be imported; nothing was changed. {first['path']}: {first['message']}"
            + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        )
        if len(check.taken) == len(check.problems):  # a valid document conflicting with drbot's state
            error = {frozenset({"name"}): DuplicateName, frozenset({"server"}): ServerConflict}.get(
                frozenset(check.taken), Conflict
            )
            raise error(message, errors=check.problems)
        raise ValidationFailed(message, errors=check.problems)

    new_groups = [e.item for e in groups if not e.skip]
    new_plans = [e.item for e in plans if not e.skip]
    if not dry_run and (new_groups or new_plans):
        _write(services, new_groups, new_plans, actor)
    return {
        "dryRun": dry_run,
        "valid": True,
        "created": {GROUPS_KEY: len(new_groups), PLANS_KEY: len(new_plans)},
        "skipped": {GROUPS_KEY: len(groups) - len(new_groups), PLANS_KEY: len(plans) - len(new_plans)},
        GROUPS_KEY: [
            {"groupId": e.item.group_id, "groupName": e.item.group_name, "action": _action(e, dry_run)}
            for e in groups
        ],
        PLANS_KEY: [
            {"planId": e.item.plan_id, "planName": e.item.plan_name, "action": _action(e, dry_run)}
            for e in plans
        ],
    }


def _document_order(path: str) -> list[Any]:
    """`protectionGroups[10].x` after `protectionGroups[2].x`: indices compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def _action(entry: _Entry, dry_run: bool) -> str:
    if entry.skip:
        return "skipped"
    return "wouldCreate" if dry_run else "created"


def _write(services: Services, groups: list[ProtectionGroup], plans: list[RecoveryPlan], actor: str) -> None:
    """Groups, then the plans that use them. The store has no multi-item transaction: if a write is
    refused midway (someone took a name since the check), what this import created is removed again."""
    store = services.store
    created_groups: list[str] = []
    created_plans: list[str] = []
    try:
        for group in groups:
            created_groups.append(store.create_group(group, actor).group_id)
        for plan in plans:
            created_plans.append(store.create_plan(plan, actor).plan_id)
    except DrbotError:
        for plan_id in reversed(created_plans):
            store.delete_plan(plan_id, actor)
        for group_id in reversed(created_groups):
            store.delete_group(group_id, actor)
        raise
    store.append_audit(
        actor,
        "configuration.import",
        "configuration",
        protectionGroups=created_groups,
        recoveryPlans=created_plans,
    )
