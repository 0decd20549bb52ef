"""Shared fixtures. Each section belongs to one port or area; heavy imports stay inside fixtures."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from orchestration.clock import FakeClock
from orchestration.config import TableNames

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from orchestration.context import Services
    from orchestration.store import Store


# -- order and selection --------------------------------------------------------------------------

ALL_STORES_OPTION = "--all-stores"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        ALL_STORES_OPTION,
        action="store_true",
        help="run the service-level tests (the `services` fixture) on DynamoDB (moto) too, not only on "
        "SQLite, and the slow drills in full (make test-large)",
    )


def all_stores_run(config: pytest.Config) -> bool:
    """True under `--all-stores` (make test-large)."""
    return bool(config.getoption(ALL_STORES_OPTION))


@pytest.fixture
def all_stores(request: pytest.FixtureRequest) -> bool:
    """True under `--all-stores` (make test-large), where the slow drills run in full."""
    return all_stores_run(request.config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `services` fixture's DynamoDB half is deselected unless `--all-stores` (or the test is
    marked `every_store`): those tests are about the services, not the store, and on moto they
    cost half of `make test`'s CPU. So are the tests marked `all_stores_only` (crash safety and
    chaos on DynamoDB: the engine's faults, which SQLite takes at every point). What each store
    does is proven store by store by the contract suites (the `make_store` fixture), the execution
    parts, whole drills (test_engine.py) and the races of two store instances, which keep both;
    `make test-large` runs the rest on DynamoDB too, so the coverage moves there.

    The `slow` and `large` tests (a whole drill per crash point, chaos runs, the drill at DRS's
    account limit: seconds to minutes each) run first, in their own order; the rest keep theirs.
    Under pytest-xdist they then start while the other workers still have a queue, instead of
    leaving one worker running them at the end."""
    if not all_stores_run(config):
        kept: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        for item in items:
            params = getattr(item, "callspec", None)
            on_dynamodb = params is not None and params.params.get("services") == "dynamodb"
            if item.get_closest_marker("all_stores_only") is not None or (
                on_dynamodb and item.get_closest_marker("every_store") is None
            ):
                deselected.append(item)
            else:
                kept.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept
    items.sort(key=lambda item: not any(item.get_closest_marker(name) for name in ("slow", "large")))


# -- store: one fixture over every adapter (tests/integration/test_store_contract.py) -------------

STORE_BACKENDS = ["sqlite", "dynamodb"]
STORE_TABLES = TableNames(
    protection_groups="test-groups",
    recovery_plans="test-plans",
    executions="test-executions",
    target_accounts="test-accounts",
    tag_sync_config="test-tag-sync",
    schedules="test-schedules",
    audit="test-audit",
)
AWS_REGION = "us-east-1"  # the fake environment's region (fake_aws_env)


def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials in us-east-1 and no ~/.aws, so boto3 under moto can reach nothing real."""
    fake_env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": AWS_REGION,
        "AWS_REGION": AWS_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        # no ~/.aws files: a profile there could name a real endpoint or real credentials
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    for name, value in fake_env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly instead of reaching the network: only loopback addresses and unix sockets."""
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):
            host = str(address[0])
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:  # a host name: resolving it would already be network traffic
                loopback = host == "localhost"
            if not loopback:
                raise AssertionError(f"a store test tried to reach the network: {address}")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def store_tables() -> TableNames:
    return STORE_TABLES


@pytest.fixture
def store_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session", autouse=True)
def moto_remembers_aliases() -> None:
    """moto's serializer with its alias lookups cached (tests/moto_speed.py says why)."""
    from tests.moto_speed import remember_aliases

    remember_aliases()


@pytest.fixture(scope="session")
def botocore_loader() -> Any:
    """botocore's service-model loader, which caches what it parsed: shared by every test's clients."""
    from botocore.loaders import create_loader

    return create_loader()


@pytest.fixture
def moto_dynamodb(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None, botocore_loader: Any
) -> Iterator[Callable[[], DynamoDBClient]]:
    """DynamoDB on moto with the store's tables created; yields a factory of clients (one per store,
    as two processes would have)."""
    import boto3
    import botocore.session
    import moto.core.models
    from moto import mock_aws

    from orchestration.store.dynamodb import create_tables

    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        # Real DynamoDB applies each request atomically; moto's in-memory backend does not lock at
        # all: transact_write_items checks every condition, then writes, and on a cancel restores a
        # deep copy of the whole table, so two threads can both pass the same version check, or one
        # thread's rollback can erase the other's write. The race tests would then be flaky. Serialising
        # moto's request handling gives it DynamoDB's per-request atomicity; the requests themselves
        # still interleave freely between threads, which is what the races exercise.
        # (moto's ThreadedMotoServer would need Flask, and has the same unlocked backend behind it.)
        stubber = moto.core.models.botocore_stubber
        one_request_at_a_time = threading.Lock()
        process_request = stubber.process_request

        def serialised(request: Any) -> Any:
            with one_request_at_a_time:
                return process_request(request)

        monkeypatch.setattr(stubber, "process_request", serialised)

        # Clients are created on the test's own thread (creating them is not thread-safe, using them
        # is), from a session sharing the run-wide loader so the service model is parsed only once.
        core = botocore.session.get_session()
        core.register_component("data_loader", botocore_loader)
        session = boto3.session.Session(botocore_session=core)

        def new_client() -> DynamoDBClient:
            return session.client("dynamodb", region_name="us-east-1")

        create_tables(new_client(), STORE_TABLES)
        yield new_client


@pytest.fixture(params=STORE_BACKENDS)
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, store_clock: FakeClock, no_network: None
) -> Iterator[Callable[[], Store]]:
    """Opens a Store on the backend under test; every call opens another instance on the same state
    (the same SQLite file, the same DynamoDB tables), as a second process would."""
    opened: list[Store] = []
    if request.param == "sqlite":
        from orchestration.store.sqlite import SqliteStore

        path = tmp_path / "state" / "drbot.db"

        def make() -> Store:
            opened.append(SqliteStore(path, clock=store_clock))
            return opened[-1]
    else:
        from orchestration.store.dynamodb import DynamoDbStore

        new_client: Callable[[], DynamoDBClient] = request.getfixturevalue("moto_dynamodb")

        def make() -> Store:
            opened.append(DynamoDbStore(STORE_TABLES, client=new_client(), clock=store_clock))
            return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    return make_store()


# -- services: the composition root over each store, DRS simulated, time on a fake clock ----------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[Any]:
    """An in-memory DRS simulator with the demo estate, on the test's clock."""
    from orchestration.drs.simulator import DrsSimulator

    sim = DrsSimulator(db_path=None, clock=clock, launch_seconds=20.0)
    yield sim
    sim.close()


@pytest.fixture(params=STORE_BACKENDS)
def services(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock, simulator: Any
) -> Iterator[Any]:
    """Services as the composition root builds them, once per store backend (DynamoDB on moto)."""
    from orchestration.bootstrap import build_services
    from orchestration.config import Settings
    from orchestration.drs.clients import SimulatedDrsClients

    if request.param == "sqlite":
        from orchestration.store.sqlite import SqliteStore

        store: Store = SqliteStore(tmp_path / "drbot.db", clock=clock)
    else:
        from orchestration.store.dynamodb import DynamoDbStore

        new_client = request.getfixturevalue("moto_dynamodb")
        store = DynamoDbStore(STORE_TABLES, client=new_client(), clock=clock)
    settings = Settings.from_env({}, db_path=tmp_path / "drbot.db")
    built = build_services(settings, clock=clock, store=store, drs=SimulatedDrsClients(simulator))
    yield built
    built.close()


@pytest.fixture
def sqlite_services(tmp_path: Path, clock: FakeClock, simulator: Any) -> Iterator[Any]:
    """Services on SQLite only, for tests about something other than the store."""
    from orchestration.bootstrap import build_services
    from orchestration.config import Settings
    from orchestration.drs.clients import SimulatedDrsClients

    settings = Settings.from_env({}, db_path=tmp_path / "drbot.db")
    built = build_services(settings, clock=clock, drs=SimulatedDrsClients(simulator))
    yield built
    built.close()


# -- aws: moto for EC2/IAM/STS ----------------------------------------------------------------------


@pytest.fixture
def aws_services(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    clock: FakeClock,
    simulator: Any,
    no_network: None,
) -> Iterator[Services]:
    """Services on SQLite whose EC2/IAM/STS are moto's (fake credentials, no ~/.aws), DRS the
    simulator."""
    import boto3
    from moto import mock_aws

    from orchestration.aws import AwsSessions
    from orchestration.bootstrap import build_services
    from orchestration.config import Settings
    from orchestration.drs.clients import SimulatedDrsClients
    from orchestration.store.sqlite import SqliteStore

    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        store = SqliteStore(tmp_path / "drbot.db", clock=clock)
        built = build_services(
            Settings.from_env({}, db_path=tmp_path / "drbot.db"),
            clock=clock,
            store=store,
            drs=SimulatedDrsClients(simulator),
            aws=AwsSessions(store, boto3.session.Session(region_name=AWS_REGION)),
        )
        yield built
        built.close()
