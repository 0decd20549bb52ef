"""Building plans and driving drills in tests: the shapes most engine tests share."""

from __future__ import annotations

from typing import Any

from orchestration.engine.advance import AdvanceResult, advance
from orchestration.models import ExecutionStatus, ExecutionType
from orchestration.requests import CreateProtectionGroup, CreateRecoveryPlan
from orchestration.services.execution_builder import build_execution
from orchestration.services.groups import create_protection_group
from orchestration.services.plans import create_recovery_plan


def make_plan(
    services: Any, waves: list[dict[str, Any]], groups: dict[str, dict[str, Any]], name: str = "DR"
) -> Any:
    ids = {}
    for group_name, selection in groups.items():
        request = CreateProtectionGroup.model_validate(
            {"groupName": group_name, "region": "us-east-1", **selection}
        )
        ids[group_name] = create_protection_group(services, request, "alice").group.group_id
    body = {
        "planName": name,
        "waves": [
            {"waveNumber": i, "waveName": w["name"], "protectionGroupId": ids[w["group"]]}
            | ({"dependsOnWaves": w["after"]} if "after" in w else {})
            | ({"pauseBefore": True} if w.get("pause") else {})
            for i, w in enumerate(waves, 1)
        ],
    }
    return create_recovery_plan(services, CreateRecoveryPlan.model_validate(body), "alice").plan


THREE_TIERS = {
    "DB": {"sourceServerIds": []},
    "App": {"serverSelectionTags": {"Tier": "app", "Application": "orders"}},
    "Web": {"serverSelectionTags": {"Tier": "web"}},
}


def three_tier_plan(services: Any, simulator: Any, **wave_options: Any) -> Any:
    groups = dict(THREE_TIERS)
    groups["DB"] = {
        "sourceServerIds": [simulator.server_id("db-primary-01"), simulator.server_id("db-replica-01")]
    }
    waves = [
        {"name": "Database", "group": "DB"},
        {"name": "App", "group": "App"},
        {"name": "Web", "group": "Web"},
    ]
    for index, options in wave_options.items():
        waves[int(index[1:]) - 1].update(options)
    return make_plan(services, waves, groups)


def start(services: Any, plan: Any, execution_type: ExecutionType = ExecutionType.DRILL, **extra: Any) -> str:
    execution = build_execution(services, plan, execution_type, "alice", ExecutionStatus.PENDING, **extra)
    return str(services.store.create_execution(execution, "alice").execution_id)


def run_until_done(services: Any, clock: Any, execution_id: str, limit: int = 400) -> AdvanceResult:
    for _ in range(limit):
        result = advance(services, execution_id)
        if result.done or result.paused:
            return result
        clock.advance(result.wait_seconds)
    raise AssertionError("the execution did not finish")


def dag_plan(services: Any, simulator: Any) -> Any:
    """Waves 1 (2 DB servers by id) and 2 (2 app servers by tags) in parallel, 3 (3 web) after both."""
    groups = dict(THREE_TIERS)
    groups["DB"] = {
        "sourceServerIds": [simulator.server_id("db-primary-01"), simulator.server_id("db-replica-01")]
    }
    waves = [
        {"name": "Database", "group": "DB"},
        {"name": "App", "group": "App", "after": []},
        {"name": "Web", "group": "Web", "after": [1, 2]},
    ]
    return make_plan(services, waves, groups, name="DAG")


def engine_store(backend: str, path: Any, clock: Any, request: Any) -> Any:
    """A store of `backend` ("sqlite" in `path`, or "dynamodb" on the test's moto) on `clock`."""
    if backend == "sqlite":
        from orchestration.store.sqlite import SqliteStore

        return SqliteStore(path, clock=clock)
    from orchestration.store.dynamodb import DynamoDbStore
    from tests.conftest import STORE_TABLES

    return DynamoDbStore(STORE_TABLES, client=request.getfixturevalue("moto_dynamodb")(), clock=clock)
