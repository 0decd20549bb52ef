"""The Store contract (orchestration/store/base.py), run against every adapter: SQLite and DynamoDB
on moto (the `make_store` / `store` fixtures in tests/conftest.py).

The same assertions hold for both: round-trips, NotFound, optimistic locking, case-insensitive unique
names, an audit event with every change, the execution listings, and two writers racing, once as a
fixed interleaving and once on two real threads released together by a barrier. The racing writers
use two Store instances on the same state, as two processes would (for SQLite: two connections to
one file).

One piece, longer than most: it is the one contract every Store adapter must pass.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from orchestration.clock import FakeClock
from orchestration.config import TableNames
from orchestration.errors import DuplicateName, InternalError, NotFound, StaleVersion
from orchestration.models import (
    Approval,
    DigestSettings,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    ProtectionGroup,
    RecoveryPlan,
    Schedule,
    ServerRun,
    TagSyncSettings,
    TargetAccount,
    Wave,
    WaveRun,
    WaveStatus,
)
from orchestration.store import Store
from orchestration.store.base import (
    DIGEST,
    EXECUTIONS,
    GROUPS,
    PLANS,
    SCHEDULES,
    TAG_SYNC,
    TARGET_ACCOUNTS,
    Audited,
    Kind,
)

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, FakeClock's default start
RACE_ROUNDS = 5  # threaded races per test run; each round is a fresh item and a fresh pair of threads


# -- the aggregates, one way to make and to edit each ---------------------------------------------


def make_group(n: int, name: str | None = None) -> ProtectionGroup:
    if n % 2:  # both ways of selecting servers
        return ProtectionGroup(
            group_name=name or f"Group {n}",
            region="eu-west-1",
            server_selection_tags={"Tier": "web", "Env": "prod"},
        )
    return ProtectionGroup(
        group_name=name or f"Group {n}",
        description="databases",
        region="us-east-1",
        account_id="123456789012",
        source_server_ids=["s-0123456789abcdef0", "s-0123456789abcdef1"],
        created_by="U1",
        created_date=T0,
        last_modified_date=T0,
    )


def make_plan(n: int, name: str | None = None) -> RecoveryPlan:
    return RecoveryPlan(
        plan_name=name or f"Plan {n}",
        description="three tiers",
        waves=[
            Wave(wave_number=1, wave_name="db", protection_group_id="g-db"),
            Wave(wave_number=2, wave_name="app", protection_group_id="g-app", depends_on_waves=[]),
            Wave(
                wave_number=3,
                wave_name="web",
                protection_group_id="g-web",
                depends_on_waves=[1, 2],
                pause_before=True,
            ),
        ],
        rto_target_minutes=90,
        notification_channel="C0123ABCD",
        created_date=T0,
    )


def make_execution(
    n: int,
    plan_id: str = "plan-1",
    status: ExecutionStatus = ExecutionStatus.RUNNING,
    requested_at: int | None = None,
) -> Execution:
    at = T0 + n if requested_at is None else requested_at
    return Execution(
        plan_id=plan_id,
        plan_name="Quarterly drill",
        execution_type=ExecutionType.DRILL,
        status=status,
        initiated_by="U1",
        reason=f"drill {n}",
        approvals=[Approval(user_id="U2", at=at + 5)],
        requested_at=at,
        start_time=at + 10,
        waves=[
            WaveRun(
                wave_number=1,
                wave_name="db",
                protection_group_id="g-db",
                status=WaveStatus.STARTED,
                job_id="drsjob-0123456789abcdef0",
                start_time=at + 10,
                servers=[
                    ServerRun(
                        source_server_id="s-0123456789abcdef0",
                        hostname="db-1",
                        launch_status=LaunchStatus.LAUNCHED,
                        recovery_instance_id="i-0123456789abcdef0",
                        instance_id="i-0fedcba9876543210",
                        launched_at=at + 60,
                        snapshot_time=at - 30,
                    )
                ],
            ),
            WaveRun(wave_number=2, wave_name="web", depends_on_waves=[1], pause_before=True),
        ],
        state_machine_arn="arn:aws:states:us-east-1:123456789012:execution:drbot:x",
    )


def make_schedule(n: int, name: str | None = None) -> Schedule:
    return Schedule(
        plan_id=f"plan-{n}",
        expression="cron(0 3 ? * SUN#1 *)",
        timezone="Europe/Berlin",
        channel="C0123ABCD",
        approved_by="U2",
        cleanup_after_minutes=30,
        created_date=T0 + n,
    )


def make_account(n: int, name: str | None = None) -> TargetAccount:
    account_id = f"{100_000_000_000 + n}"
    return TargetAccount(
        account_id=account_id,
        account_name=name or f"Spoke {n}",
        role_arn=f"arn:aws:iam::{account_id}:role/drbot-spoke",
        external_id="external-1",
        regions=["us-east-1", "eu-west-1"],
    )


@dataclass(frozen=True)
class Case:
    """One aggregate kind, driven through the Store's typed methods (create_<noun>, get_<noun>, ...)."""

    noun: str
    plural: str
    kind: Kind[Any]
    make: Callable[..., Any]  # (n, name=None) -> a valid unsaved item; n makes it distinct
    edit: Callable[[Any, int], Any]  # (stored item, marker) -> the item with a visible change

    @property
    def deletable(self) -> bool:
        return self.kind is not EXECUTIONS  # executions are history: the Store has no delete for them

    def id(self, item: Any) -> str:
        return self.kind.id_of(item)

    def subject(self, item: Any) -> str:
        return f"{self.kind.name}:{self.id(item)}"

    def create(self, store: Store, item: Any, actor: str = "alice") -> Any:
        return getattr(store, f"create_{self.noun}")(item, actor)

    def get(self, store: Store, item_id: str) -> Any:
        return getattr(store, f"get_{self.noun}")(item_id)

    def all(self, store: Store) -> list[Any]:
        return list(getattr(store, f"list_{self.plural}")())

    def update(self, store: Store, item: Any, actor: str = "alice") -> Any:
        return getattr(store, f"update_{self.noun}")(item, actor)

    def delete(
        self, store: Store, item_id: str, expected_version: int | None = None, actor: str = "alice"
    ) -> None:
        getattr(store, f"delete_{self.noun}")(item_id, actor, expected_version=expected_version)

    def find(self, store: Store, name: str) -> Any:
        return getattr(store, f"find_{self.noun}_by_name")(name)

    def rename(self, item: Any, name: str) -> Any:
        return item.model_copy(update={str(self.kind.name_field): name})


GROUP = Case(
    "group", "groups", GROUPS, make_group, lambda g, m: g.model_copy(update={"description": f"edit {m}"})
)
PLAN = Case(
    "plan", "plans", PLANS, make_plan, lambda p, m: p.model_copy(update={"rto_target_minutes": 10 + m})
)
EXECUTION = Case(
    "execution",
    "executions",
    EXECUTIONS,
    make_execution,
    lambda e, m: e.model_copy(update={"reason": f"edit {m}"}),
)
SCHEDULE = Case(
    "schedule",
    "schedules",
    SCHEDULES,
    make_schedule,
    lambda s, m: s.model_copy(update={"cleanup_after_minutes": m}),
)
ACCOUNT = Case(
    "target_account",
    "target_accounts",
    TARGET_ACCOUNTS,
    make_account,
    lambda a, m: a.model_copy(update={"external_id": f"external-{m}"}),
)
CASES = [pytest.param(case, id=case.noun) for case in (GROUP, PLAN, EXECUTION, SCHEDULE, ACCOUNT)]
DELETABLE = [pytest.param(case, id=case.noun) for case in (GROUP, PLAN, SCHEDULE, ACCOUNT)]
NAMED = [pytest.param(case, id=case.noun) for case in (GROUP, PLAN)]


def actions(store: Store, subject: str) -> list[str]:
    return [event.action for event in store.list_audit(subject)]


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call on its own thread, all released at the same instant; their results or errors."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=10)
        try:
            return call()
        except Exception as exc:  # the outcome under test
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_create_stores_the_item_at_version_1_and_get_returns_it(store: Store, case: Case) -> None:
    item = case.make(2)
    created = case.create(store, item)
    assert created.version == 1
    assert created == item
    assert case.get(store, case.id(item)) == created


@pytest.mark.parametrize("case", CASES)
def test_list_returns_every_item_and_nothing_else(store: Store, case: Case) -> None:
    created = [case.create(store, case.make(n)) for n in range(3)]
    listed = case.all(store)
    assert sorted(listed, key=case.id) == sorted(created, key=case.id)


@pytest.mark.parametrize("case", CASES)
def test_update_stores_the_change_and_bumps_the_version(store: Store, case: Case) -> None:
    created = case.create(store, case.make(1))
    updated = case.update(store, case.edit(created, 7))
    assert updated.version == 2
    assert updated == case.edit(created, 7).model_copy(update={"version": 2})
    assert case.get(store, case.id(created)) == updated
    again = case.update(store, case.edit(updated, 8))
    assert again.version == 3
    assert case.get(store, case.id(created)) == again


@pytest.mark.parametrize("case", CASES)
def test_get_and_update_of_a_missing_item_are_not_found(store: Store, case: Case) -> None:
    missing = case.make(5)
    with pytest.raises(NotFound) as error:
        case.get(store, case.id(missing))
    assert error.value.details["resourceId"] == case.id(missing)
    with pytest.raises(NotFound):
        case.update(store, missing)
    assert store.list_audit() == []


@pytest.mark.parametrize("case", DELETABLE)
def test_delete_removes_the_item(store: Store, case: Case) -> None:
    keep, gone = case.create(store, case.make(1)), case.create(store, case.make(2))
    case.delete(store, case.id(gone))
    with pytest.raises(NotFound):
        case.get(store, case.id(gone))
    assert case.all(store) == [keep]
    with pytest.raises(NotFound):
        case.delete(store, case.id(gone))
    with pytest.raises(NotFound):
        case.update(store, gone)


@pytest.mark.parametrize("case", DELETABLE)
def test_delete_of_a_missing_item_is_not_found(store: Store, case: Case) -> None:
    with pytest.raises(NotFound):
        case.delete(store, case.id(case.make(3)), expected_version=1)


# -- optimistic locking ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_update_from_a_stale_read_is_refused_and_changes_nothing(store: Store, case: Case) -> None:
    read = case.create(store, case.make(1))
    winner = case.update(store, case.edit(read, 1))
    with pytest.raises(StaleVersion) as error:
        case.update(store, case.edit(read, 2))
    assert error.value.details["expectedVersion"] == 1
    assert error.value.details["currentVersion"] == 2
    assert case.get(store, case.id(read)) == winner
    assert actions(store, case.subject(read)) == [f"{case.kind.name}.update", f"{case.kind.name}.create"]


@pytest.mark.parametrize("case", DELETABLE)
def test_delete_at_a_stale_version_is_refused(store: Store, case: Case) -> None:
    read = case.create(store, case.make(1))
    current = case.update(store, case.edit(read, 1))
    with pytest.raises(StaleVersion):
        case.delete(store, case.id(read), expected_version=1)
    assert case.get(store, case.id(read)) == current
    case.delete(store, case.id(read), expected_version=2)
    with pytest.raises(NotFound):
        case.get(store, case.id(read))


@pytest.mark.parametrize("case", CASES)
def test_two_writers_interleaved_from_the_same_read_exactly_one_wins(
    make_store: Callable[[], Store], case: Case
) -> None:
    one, other = make_store(), make_store()
    item_id = case.id(case.create(one, case.make(1)))
    read_by_one, read_by_other = case.get(one, item_id), case.get(other, item_id)
    assert read_by_one == read_by_other

    won = case.update(one, case.edit(read_by_one, 1))
    with pytest.raises(StaleVersion):
        case.update(other, case.edit(read_by_other, 2))
    if case.deletable:
        with pytest.raises(StaleVersion):
            case.delete(other, item_id, expected_version=read_by_other.version)
    assert case.get(other, item_id) == won
    assert actions(other, f"{case.kind.name}:{item_id}").count(f"{case.kind.name}.update") == 1


@pytest.mark.parametrize("case", DELETABLE)
def test_update_after_a_concurrent_delete_is_not_found(make_store: Callable[[], Store], case: Case) -> None:
    one, other = make_store(), make_store()
    read = case.create(one, case.make(1))
    case.delete(other, case.id(read), expected_version=1)
    with pytest.raises(NotFound):
        case.update(one, case.edit(read, 1))


@pytest.mark.parametrize("case", CASES)
def test_two_writers_on_two_threads_from_the_same_read_exactly_one_wins(
    make_store: Callable[[], Store], case: Case
) -> None:
    one, other = make_store(), make_store()
    for round_ in range(RACE_ROUNDS):
        item_id = case.id(case.create(one, case.make(round_)))
        reads = case.get(one, item_id), case.get(other, item_id)

        outcomes = run_together(
            partial(case.update, one, case.edit(reads[0], 1)),
            partial(case.update, other, case.edit(reads[1], 2)),
        )

        won = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
        lost = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        assert len(won) == 1, outcomes
        assert len(lost) == 1 and isinstance(lost[0], StaleVersion), outcomes
        assert case.get(one, item_id) == won[0]
        assert won[0].version == 2
        assert actions(one, f"{case.kind.name}:{item_id}").count(f"{case.kind.name}.update") == 1


@pytest.mark.parametrize("case", DELETABLE)
def test_update_and_delete_on_two_threads_from_the_same_read_exactly_one_wins(
    make_store: Callable[[], Store], case: Case
) -> None:
    one, other = make_store(), make_store()
    for round_ in range(RACE_ROUNDS):
        item_id = case.id(case.create(one, case.make(round_)))
        read = case.get(one, item_id)

        updated, deleted = run_together(
            partial(case.update, one, case.edit(read, 1)),
            partial(case.delete, other, item_id, expected_version=read.version),
        )

        if isinstance(updated, Exception):  # the delete went first
            assert isinstance(updated, NotFound), updated
            assert deleted is None
            with pytest.raises(NotFound):
                case.get(one, item_id)
        else:
            assert isinstance(deleted, StaleVersion), deleted
            assert case.get(other, item_id) == updated


# -- unique names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", NAMED)
def test_names_are_unique_case_insensitively(store: Store, case: Case) -> None:
    web = case.create(store, case.make(1, name="Web"))
    with pytest.raises(DuplicateName) as error:
        case.create(store, case.make(2, name=" web "))
    assert "'Web'" in error.value.message
    assert error.value.details["existingId"] == case.id(web)
    assert case.all(store) == [web]
    assert case.find(store, " WEB ") == web
    assert case.find(store, "Portal") is None
    assert actions(store, case.subject(web)) == [f"{case.kind.name}.create"]
    assert len(store.list_audit()) == 1


@pytest.mark.parametrize("case", NAMED)
def test_a_rename_onto_a_taken_name_is_refused(store: Store, case: Case) -> None:
    web = case.create(store, case.make(1, name="Web"))
    db = case.create(store, case.make(2, name="Db"))
    with pytest.raises(DuplicateName) as error:
        case.update(store, case.rename(db, "WEB"))
    assert error.value.details["existingId"] == case.id(web)
    assert case.get(store, case.id(db)) == db
    assert case.find(store, "db") == db
    assert case.find(store, "web") == web


@pytest.mark.parametrize("case", NAMED)
def test_a_rename_frees_the_old_name(store: Store, case: Case) -> None:
    web = case.create(store, case.make(1, name="Web"))
    portal = case.update(store, case.rename(web, "Portal"))
    assert case.find(store, "portal") == portal
    assert case.find(store, "web") is None
    new_web = case.create(store, case.make(2, name="web"))
    assert case.find(store, "WEB") == new_web
    with pytest.raises(DuplicateName):
        case.create(store, case.make(3, name="PORTAL"))


@pytest.mark.parametrize("case", NAMED)
def test_a_rename_that_changes_only_the_case_is_allowed(store: Store, case: Case) -> None:
    web = case.create(store, case.make(1, name="Web"))
    renamed = case.update(store, case.rename(web, "WEB"))
    assert case.find(store, "web") == renamed
    with pytest.raises(DuplicateName) as error:
        case.create(store, case.make(2, name="wEb"))
    assert "'WEB'" in error.value.message  # the name as it is spelled now


@pytest.mark.parametrize("case", NAMED)
def test_delete_frees_the_name(store: Store, case: Case) -> None:
    web = case.create(store, case.make(1, name="Web"))
    case.delete(store, case.id(web), expected_version=1)
    assert case.find(store, "web") is None
    assert case.create(store, case.make(2, name="WEB")).version == 1


@pytest.mark.parametrize("case", NAMED)
def test_the_name_is_not_an_item(store: Store, case: Case) -> None:
    # DynamoDB keeps a name lock item beside the item; it must never be taken for one.
    web = case.create(store, case.make(1, name="Web"))
    for lock_key in ("#name#web", "web"):
        with pytest.raises(NotFound):
            case.get(store, lock_key)
        with pytest.raises(NotFound):
            case.delete(store, lock_key)
    with pytest.raises(DuplicateName):
        case.create(store, case.make(2, name="Web"))
    assert case.all(store) == [web]


@pytest.mark.parametrize("case", NAMED)
def test_two_creates_of_one_name_on_two_threads_exactly_one_wins(
    make_store: Callable[[], Store], case: Case
) -> None:
    one, other = make_store(), make_store()
    for round_ in range(RACE_ROUNDS):
        outcomes = run_together(
            partial(case.create, one, case.make(1, name=f"Web {round_}")),
            partial(case.create, other, case.make(2, name=f" WEB {round_} ")),
        )

        won = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
        lost = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        assert len(won) == 1, outcomes
        assert len(lost) == 1 and isinstance(lost[0], DuplicateName), outcomes
        assert case.find(other, f"web {round_}") == won[0]
    assert len(case.all(one)) == RACE_ROUNDS


@pytest.mark.parametrize("case", NAMED)
def test_two_renames_onto_one_name_on_two_threads_exactly_one_wins(
    make_store: Callable[[], Store], case: Case
) -> None:
    one, other = make_store(), make_store()
    for round_ in range(RACE_ROUNDS):
        a = case.create(one, case.make(1, name=f"A {round_}"))
        b = case.create(one, case.make(2, name=f"B {round_}"))

        outcomes = run_together(
            partial(case.update, one, case.rename(a, f"Target {round_}")),
            partial(case.update, other, case.rename(b, f"target {round_}")),
        )

        won = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
        lost = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], DuplicateName), outcomes
        assert case.find(one, f"TARGET {round_}") == won[0]
        loser = b if case.id(won[0]) == case.id(a) else a
        assert case.find(one, str(case.kind.name_of(loser))) == loser  # the loser kept its old name


# -- audit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DELETABLE)
def test_every_change_appends_an_audit_event(store: Store, store_clock: FakeClock, case: Case) -> None:
    created = case.create(store, case.make(1), actor="alice")
    updated = case.update(store, case.edit(created, 1), actor="bob")
    case.delete(store, case.id(created), actor="carol")  # all three within the same second

    events = store.list_audit(case.subject(created))
    noun = case.kind.name
    assert [(e.action, e.actor) for e in events] == [
        (f"{noun}.delete", "carol"),
        (f"{noun}.update", "bob"),
        (f"{noun}.create", "alice"),
    ]
    assert {e.at for e in events} == {T0}
    assert events[1].details["version"] == updated.version


def test_execution_updates_are_audited_with_their_status(store: Store) -> None:
    execution = store.create_execution(make_execution(1), "engine")
    store.update_execution(execution.with_status(ExecutionStatus.COMPLETED, T0), "engine")
    events = store.list_audit(f"execution:{execution.execution_id}")
    assert [e.action for e in events] == ["execution.update", "execution.create"]
    assert events[0].details == {"version": 2, "status": "COMPLETED"}


def test_audit_lists_newest_first_across_subjects_with_a_limit(store: Store, store_clock: FakeClock) -> None:
    group = store.create_group(make_group(1), "alice")
    store_clock.advance(60)
    plan = store.create_plan(make_plan(1), "alice")
    store_clock.advance(60)
    store.update_group(group.model_copy(update={"description": "x"}), "bob")

    events = store.list_audit()
    assert [(e.action, e.at) for e in events] == [
        ("group.update", T0 + 120),
        ("plan.create", T0 + 60),
        ("group.create", T0),
    ]
    assert store.list_audit(limit=2) == events[:2]
    assert store.list_audit(f"plan:{plan.plan_id}") == [events[1]]
    assert store.list_audit(f"group:{group.group_id}", limit=1) == [events[0]]
    assert store.list_audit("group:nobody") == []


def test_an_audit_event_of_its_own_round_trips(store: Store) -> None:
    event = store.append_audit(
        "U2",
        "execution.approve",
        "execution:e-1",
        ratio=0.5,
        count=3,
        users=["U2"],
        nested={"rpo": 1.25, "ok": True},
    )
    assert store.list_audit("execution:e-1") == [event]
    assert store.list_audit("execution:e-1")[0].details == {
        "ratio": 0.5,
        "count": 3,
        "users": ["U2"],
        "nested": {"rpo": 1.25, "ok": True},
    }


# -- tag sync settings: one item, saved with put ----------------------------------------------------


def test_tag_sync_settings_are_created_once_then_updated_from_the_version_read(store: Store) -> None:
    assert store.get_tag_sync_settings() is None
    first = store.put_tag_sync_settings(TagSyncSettings(tag_keys=["Tier"], regions=["us-east-1"]), "alice")
    assert first.version == 1
    assert store.get_tag_sync_settings() == first

    second = store.put_tag_sync_settings(first.model_copy(update={"tag_keys": ["Tier", "Owner"]}), "bob")
    assert second.version == 2
    assert store.get_tag_sync_settings() == second
    with pytest.raises(StaleVersion):
        store.put_tag_sync_settings(first.model_copy(update={"enabled": False}), "carol")
    assert store.get_tag_sync_settings() == second
    assert [(e.action, e.actor) for e in store.list_audit("tag_sync:default")] == [
        ("tag_sync.update", "bob"),
        ("tag_sync.create", "alice"),
    ]


def test_tag_sync_settings_two_writers_from_the_same_read_exactly_one_wins(
    make_store: Callable[[], Store],
) -> None:
    one, other = make_store(), make_store()
    read = one.put_tag_sync_settings(TagSyncSettings(), "alice")
    won = one.put_tag_sync_settings(read.model_copy(update={"tag_keys": ["Tier"]}), "alice")
    with pytest.raises(StaleVersion):
        other.put_tag_sync_settings(read.model_copy(update={"tag_keys": ["Owner"]}), "bob")
    assert other.get_tag_sync_settings() == won


def test_a_first_tag_sync_save_is_version_checked_too(make_store: Callable[[], Store]) -> None:
    one, other = make_store(), make_store()
    with pytest.raises(StaleVersion) as never_read:
        one.put_tag_sync_settings(TagSyncSettings(version=3), "alice")
    assert never_read.value.code == "VERSION_CONFLICT" and never_read.value.status == 409
    assert one.get_tag_sync_settings() is None

    # two first saves from the defaults: both saw nothing stored, the second to write loses
    racing = TagSyncSettings(tag_keys=["Owner"])
    fetch, reads = other._fetch, iter([None])  # bob's first read was before alice's save

    def stale_read(kind: Kind[Any], item_id: str) -> Any:
        return next(reads, fetch(kind, item_id)) if kind is TAG_SYNC else fetch(kind, item_id)

    other._fetch = stale_read  # type: ignore[method-assign]
    won = one.put_tag_sync_settings(TagSyncSettings(tag_keys=["Tier"]), "alice")
    with pytest.raises(StaleVersion) as lost:
        other.put_tag_sync_settings(racing, "bob")
    assert lost.value.details["currentVersion"] == 1
    assert one.get_tag_sync_settings() == won


def test_digest_settings_share_the_settings_table_with_the_tag_syncs_each_versioned_on_its_own(
    store: Store,
) -> None:
    tag_sync = store.put_tag_sync_settings(TagSyncSettings(tag_keys=["Tier"]), "alice")
    assert store.get_digest_settings() is None
    first = store.put_digest_settings(
        DigestSettings(schedule_expression="cron(0 9 1 * ? *)", channel="C0DIGEST01"), "alice"
    )
    assert first.version == 1 and store.get_digest_settings() == first
    second = store.put_digest_settings(first.model_copy(update={"expected_interval_days": 30}), "bob")
    assert second.version == 2 and store.get_digest_settings() == second
    with pytest.raises(StaleVersion):
        store.put_digest_settings(first.model_copy(update={"enabled": False}), "carol")
    with pytest.raises(StaleVersion):
        store.put_digest_settings(DigestSettings(version=4), "carol")  # never read: refused as well
    assert store.get_digest_settings() == second
    assert store.get_tag_sync_settings() == tag_sync  # the other item of the table is untouched
    assert [(e.action, e.actor) for e in store.list_audit("digest:digest")] == [
        ("digest.update", "bob"),
        ("digest.create", "alice"),
    ]


def test_a_digest_fires_claim_is_a_version_checked_audited_write_of_the_month(store: Store) -> None:
    saved = store.put_digest_settings(
        DigestSettings(schedule_expression="cron(0 9 1 * ? *)", channel="C0DIGEST01"), "alice"
    )

    def claim(current: DigestSettings) -> Audited[DigestSettings]:
        month = {"last_posted_period": "2026-01", "last_posted_timezone": "Europe/Berlin"}
        return Audited(current.model_copy(update=month), "claim", {"period": "2026-01"})

    claimed = store.modify(DIGEST, "digest", claim, "schedule:digest")
    assert claimed.version == saved.version + 1
    fresh = store.get_digest_settings()
    assert fresh is not None and (fresh.last_posted_period, fresh.last_posted_timezone) == (
        "2026-01",
        "Europe/Berlin",
    )
    with pytest.raises(StaleVersion):  # a settings change from before the claim is refused
        store.put_digest_settings(saved.model_copy(update={"enabled": False}), "bob")
    (event, *_) = store.list_audit("digest:digest")
    assert (event.action, event.actor, event.details["period"]) == (
        "digest.claim",
        "schedule:digest",
        "2026-01",
    )


# -- execution listings ---------------------------------------------------------------------------


def test_executions_are_listed_newest_first_with_a_limit(store: Store) -> None:
    offsets = list(range(8))
    random.Random(4).shuffle(offsets)
    for n in offsets:
        store.create_execution(make_execution(n), "engine")

    listed = store.list_executions()
    assert [e.requested_at for e in listed] == [T0 + n for n in reversed(range(8))]
    assert store.list_executions(limit=3) == listed[:3]
    assert store.list_executions(limit=0) == []


def test_executions_are_listed_by_plan(store: Store) -> None:
    mine = [store.create_execution(make_execution(n, plan_id="plan-a"), "engine") for n in (1, 3, 5)]
    store.create_execution(make_execution(2, plan_id="plan-b"), "engine")

    assert store.list_executions(plan_id="plan-a") == list(reversed(mine))
    assert store.list_executions(plan_id="plan-a", limit=2) == [mine[2], mine[1]]
    assert store.list_executions(plan_id="plan-c") == []


def test_only_non_terminal_executions_are_active(store: Store) -> None:
    statuses = {
        1: ExecutionStatus.PENDING_APPROVAL,
        2: ExecutionStatus.COMPLETED,
        3: ExecutionStatus.RUNNING,
        4: ExecutionStatus.REJECTED,
        5: ExecutionStatus.PAUSED,
        6: ExecutionStatus.CANCELLED,
    }
    created = {n: store.create_execution(make_execution(n, status=s), "engine") for n, s in statuses.items()}

    active = store.list_executions(active_only=True)
    assert [e.status for e in active] == [
        ExecutionStatus.PAUSED,
        ExecutionStatus.RUNNING,
        ExecutionStatus.PENDING_APPROVAL,
    ]
    assert store.list_executions(active_only=True, limit=1) == [created[5]]


def test_an_execution_that_ends_leaves_the_active_listing(store: Store) -> None:
    running = store.create_execution(make_execution(1, plan_id="plan-a"), "engine")
    other = store.create_execution(make_execution(2, plan_id="plan-b"), "engine")
    assert store.list_executions(plan_id="plan-a", active_only=True) == [running]

    done = store.update_execution(running.with_status(ExecutionStatus.COMPLETED, T0 + 100), "engine")

    assert store.list_executions(active_only=True) == [other]
    assert store.list_executions(plan_id="plan-a", active_only=True) == []
    assert store.list_executions(plan_id="plan-a") == [done]
    assert store.get_execution(running.execution_id).status == ExecutionStatus.COMPLETED


def test_active_listing_by_plan_skips_ended_executions_beyond_a_page(store: Store) -> None:
    # The newest executions of the plan have ended: the active one is further down the index.
    oldest = store.create_execution(make_execution(0, plan_id="plan-a"), "engine")
    for n in range(1, 6):
        store.create_execution(make_execution(n, plan_id="plan-a", status=ExecutionStatus.FAILED), "engine")
    assert store.list_executions(plan_id="plan-a", active_only=True, limit=1) == [oldest]


# -- adapter specifics ----------------------------------------------------------------------------


def test_sqlite_creates_its_directory_keeps_other_tables_and_reopens(tmp_path: Path) -> None:
    from orchestration.store.sqlite import SCHEMA_VERSION, SqliteStore

    path = tmp_path / "deep" / "er" / "drbot.db"
    first = SqliteStore(path)
    group = first.create_group(make_group(1), "alice")
    first.close()
    with sqlite3.connect(path) as other_component:  # e.g. the DRS simulator's own tables
        other_component.execute("CREATE TABLE sim_jobs (id TEXT PRIMARY KEY)")
        other_component.execute("INSERT INTO sim_jobs VALUES ('drsjob-1')")
    other_component.close()

    again = SqliteStore(path)
    assert again.get_group(group.group_id) == group
    again.close()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT id FROM sim_jobs").fetchall() == [("drsjob-1",)]
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert check.execute("SELECT version FROM drbot_schema WHERE component = 'store'").fetchone() == (
            SCHEMA_VERSION,
        )
    check.close()


def test_sqlite_refuses_a_file_from_a_newer_schema(tmp_path: Path) -> None:
    from orchestration.store.sqlite import SCHEMA_VERSION, SqliteStore

    path = tmp_path / "drbot.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as newer:
        newer.execute("UPDATE drbot_schema SET version = ? WHERE component = 'store'", (SCHEMA_VERSION + 1,))
    newer.close()
    with pytest.raises(InternalError, match="newer drbot"):
        SqliteStore(path)


def test_dynamodb_tables_are_created_idempotently_and_listings_never_scan(
    moto_dynamodb: Callable[[], Any], store_tables: TableNames, store_clock: FakeClock
) -> None:
    from orchestration.store.dynamodb import DynamoDbStore, create_tables, table_definitions

    client = moto_dynamodb()
    create_tables(client, store_tables)  # the fixture created them already: a no-op
    names = {definition["TableName"] for definition in table_definitions(store_tables)}
    assert names <= set(client.list_tables()["TableNames"])

    operations: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: operations.append(model.name))
    store = DynamoDbStore(store_tables, client=client, clock=store_clock)
    execution = store.create_execution(make_execution(1), "engine")
    operations.clear()
    store.list_executions()
    store.list_executions(plan_id=execution.plan_id)
    store.list_executions(active_only=True)
    store.list_executions(plan_id=execution.plan_id, active_only=True)
    store.list_audit()
    store.list_audit(f"execution:{execution.execution_id}")
    assert set(operations) == {"Query"}


def test_executions_are_paged_by_requested_at_then_id_with_ties_across_pages(store: Store) -> None:
    # three executions requested in one second straddle the page boundaries
    created = [
        store.create_execution(make_execution(n, requested_at=T0 + min(n, 3)), "engine") for n in range(6)
    ]
    expected = sorted(created, key=lambda e: (e.requested_at, e.execution_id), reverse=True)

    pages: list[list[Execution]] = []
    after = None
    while True:
        page = store.list_executions(limit=2, after=after)
        if not page:
            break
        pages.append(page)
        after = (page[-1].requested_at, page[-1].execution_id)
    assert [e for page in pages for e in page] == expected
    assert store.list_executions(limit=10) == expected


def test_executions_are_listed_between_two_dates(store: Store) -> None:
    created = [store.create_execution(make_execution(n, plan_id="plan-a"), "engine") for n in range(5)]

    assert store.list_executions(oldest=T0 + 1, newest=T0 + 3) == [created[3], created[2], created[1]]
    assert store.list_executions(plan_id="plan-a", oldest=T0 + 4) == [created[4]]
    assert store.list_executions(active_only=True, newest=T0) == [created[0]]
    assert store.list_executions(oldest=T0 + 3, newest=T0 + 2) == []
