"""What both fuzz suites share: the handlers, a seeded store, a snapshot of everything the store
holds, and the three checks every answer must pass."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, settings

from orchestration.errors import DrbotError, MethodNotAllowed
from orchestration.handlers import data_management, execution, query
from orchestration.handlers.operations import Operation

HANDLERS: dict[str, ModuleType] = {"data-management": data_management, "query": query, "execution": execution}
OPERATIONS: list[tuple[ModuleType, Operation]] = [
    (module, op) for module in HANDLERS.values() for op in module.handler.operations.values()
]


def _all_errors(cls: type[DrbotError]) -> list[type[DrbotError]]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _all_errors(child))]


# every error code with its status (the edge's own errors included)
STATUS_OF_CODE = {cls.code: cls.status for cls in _all_errors(DrbotError)} | {
    MethodNotAllowed.code: MethodNotAllowed.status
}


def seed() -> dict[str, str]:
    """A group and a plan on the simulator's demo servers, so ids in the cases can be real ones."""
    group = data_management.handler(
        {
            "operation": "create_protection_group",
            "actor": "alice",
            "body": {"groupName": "Web", "region": "us-east-1", "serverSelectionTags": {"Tier": "web"}},
        },
        None,
    )
    assert "groupId" in group, group
    plan = data_management.handler(
        {
            "operation": "create_recovery_plan",
            "actor": "alice",
            "body": {
                "planName": "DR",
                "waves": [{"waveNumber": 1, "waveName": "Web", "protectionGroupId": group["groupId"]}],
            },
        },
        None,
    )
    assert "planId" in plan, plan
    return {"groupId": group["groupId"], "planId": plan["planId"]}


def snapshot(services: Any) -> str:
    """Everything the store holds that a request could change, as one comparable text."""
    store = services.store
    tag_sync = store.get_tag_sync_settings()
    digest = store.get_digest_settings()
    dump = {
        "groups": [g.model_dump(mode="json") for g in store.list_groups()],
        "plans": [p.model_dump(mode="json") for p in store.list_plans()],
        "executions": [e.model_dump(mode="json") for e in store.list_executions(limit=1000)],
        "accounts": [a.model_dump(mode="json") for a in store.list_target_accounts()],
        "tagSync": tag_sync.model_dump(mode="json") if tag_sync else None,
        "digest": digest.model_dump(mode="json") if digest else None,
        "audit": [a.model_dump(mode="json") for a in store.list_audit(limit=1000)],
    }
    return json.dumps(dump, sort_keys=True, default=str)


def check_error_body(payload: Any, documented: set[int], context: str) -> int:
    """The seed's error shape with a known code whose status the route documents; its status."""
    assert isinstance(payload, dict), context
    assert isinstance(payload.get("error"), str) and isinstance(payload.get("message"), str), context
    status = STATUS_OF_CODE.get(payload["error"])
    assert status is not None, f"unknown error code {payload['error']}: {context}"
    assert status < 500, f"{status} {payload}: {context}"
    assert status in documented, f"{status} not documented: {payload}: {context}"
    return status


def fuzz_settings(max_examples: int) -> settings:
    """Bounded and repeatable: a fixed seed (derandomize), no example database, no deadline."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
