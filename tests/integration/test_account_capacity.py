"""get_drs_account_capacity (orchestration/services/queries.py): one region and account against
DRS's 4,000 source-server quota, counted from the simulator's own state, directly and through the
query handler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench.engine_tick import synthetic_inventory
from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.drs.simulator import DrsSimulator
from orchestration.errors import ValidationFailed
from orchestration.handlers import query, runtime
from orchestration.services.queries import capacity_status, get_drs_account_capacity
from tests.support import apigw_event, response_json

REGION = "us-east-1"
SIM_ACCOUNT = "111122223333"


def launch(sim: DrsSimulator, hosts: list[str]) -> str:
    servers: Any = [{"sourceServerID": sim.server_id(h)} for h in hosts]
    return sim.client(REGION).start_recovery(sourceServers=servers, isDrill=True)["job"]["jobID"]


def test_the_demo_estate_counts_as_the_simulator_holds_it(
    sqlite_services: Services, simulator: DrsSimulator, clock: FakeClock
) -> None:
    launch(simulator, ["web-frontend-01", "web-frontend-02"])
    clock.advance(300)  # that drill is done: two recovery instances, no active job
    launch(simulator, ["app-orders-01", "app-orders-02"])
    launch(simulator, ["db-primary-01"])

    answer = get_drs_account_capacity(sqlite_services)

    running = simulator.running_instances(REGION)
    # the demo's us-east-1: 15 servers, app-inventory-02 STALLED, the other 14 replicating
    assert answer == {
        "region": REGION,
        "accountId": SIM_ACCOUNT,
        "sourceServers": {"total": 15, "limit": 4000, "available": 3985, "percentUsed": 0.4},
        "replicating": 14,
        "stalled": 1,
        "disconnected": 0,
        "recoveryInstances": len(running),
        "serversInActiveJobs": 3,
        "activeJobs": 2,
        "status": "OK",
    }
    assert len(running) == 2
    west = get_drs_account_capacity(sqlite_services, region="us-west-2", account_id=SIM_ACCOUNT)
    assert (west["sourceServers"]["total"], west["stalled"], west["activeJobs"]) == (4, 1, 0)


def test_a_region_near_the_limit_is_critical(sqlite_services: Services, simulator: DrsSimulator) -> None:
    simulator.reset(synthetic_inventory(3700))

    answer = get_drs_account_capacity(sqlite_services, region=REGION)

    assert answer["sourceServers"] == {"total": 3700, "limit": 4000, "available": 300, "percentUsed": 92.5}
    assert (answer["replicating"], answer["status"]) == (3700, "CRITICAL")


def test_status_thresholds() -> None:
    assert [capacity_status(p) for p in (0, 79.9, 80, 89.9, 90, 100)] == [
        "OK",
        "OK",
        "WARNING",
        "WARNING",
        "CRITICAL",
        "CRITICAL",
    ]


def test_a_bad_region_is_refused_by_name(sqlite_services: Services) -> None:
    with pytest.raises(ValidationFailed, match="'narnia' is not an AWS region"):
        get_drs_account_capacity(sqlite_services, region="narnia")


@pytest.fixture
def live(services: Services) -> Iterator[Services]:
    runtime.use(services)
    yield services
    runtime.use(None)


def test_through_the_handler_directly_and_over_rest(live: Services, simulator: DrsSimulator) -> None:
    launch(simulator, ["db-primary-01", "db-replica-01"])

    direct = query.lambda_handler(
        {"operation": "get_drs_account_capacity", "queryParams": {"region": REGION}}, None
    )
    assert (direct["serversInActiveJobs"], direct["activeJobs"]) == (2, 1)
    response = query.lambda_handler(apigw_event("GET", "/drs/account-capacity", None, None), None)
    assert response["statusCode"] == 200
    assert response_json(response) == direct
    bad = query.lambda_handler(apigw_event("GET", "/drs/account-capacity", None, {"region": "x"}), None)
    assert (bad["statusCode"], response_json(bad)["error"]) == (400, "VALIDATION_ERROR")
