"""Target account CRUD (orchestration/services/accounts.py) on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.errors import Conflict, InUse, NotFound, StaleVersion, ValidationFailed
from orchestration.models import ProtectionGroup, TargetAccount
from orchestration.services.accounts import (
    CreateTargetAccount,
    UpdateTargetAccount,
    create_target_account,
    delete_target_account,
    get_target_account,
    list_target_accounts,
    update_target_account,
)
from orchestration.validation import parse_model

SPOKE = "444455556666"
ROLE = f"arn:aws:iam::{SPOKE}:role/drbot-spoke"
T0 = 1_767_225_600


def body(**changes: Any) -> dict[str, Any]:
    return {
        "accountId": SPOKE,
        "accountName": "Payments",
        "roleArn": ROLE,
        "externalId": "drbot-external",
        "regions": ["us-east-1", "eu-west-1"],
        **changes,
    }


def register(services: Services, **changes: Any) -> TargetAccount:
    return create_target_account(services, parse_model(CreateTargetAccount, body(**changes)), "alice")


def test_create_get_and_list(services: Services, clock: FakeClock) -> None:
    created = register(services)
    other = register(services, accountId="111100002222", roleArn="arn:aws:iam::111100002222:role/x")

    assert created.version == 1 and created.created_date == T0 == created.last_modified_date
    assert created.to_wire()["roleArn"] == ROLE
    assert get_target_account(services, SPOKE) == created
    assert list_target_accounts(services) == [other, created]  # by account id
    assert [e.action for e in services.store.list_audit(f"account:{SPOKE}")] == ["account.create"]


def test_the_role_must_belong_to_the_account(services: Services) -> None:
    with pytest.raises(
        ValidationFailed, match="is a role of account 999988887777, not of 444455556666"
    ) as error:
        register(services, roleArn="arn:aws:iam::999988887777:role/drbot")
    assert error.value.details["field"] == "roleArn"
    assert list_target_accounts(services) == []
    assert services.store.list_audit() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"accountId": "12345"}, "accountId"),
        ({"roleArn": "arn:aws:iam::444455556666:user/drbot"}, "roleArn"),
        ({"regions": ["us-east-1", "mars-north-1a"]}, "regions[1]"),
        # shaped like a region, but not one Elastic Disaster Recovery is offered in
        ({"regions": ["us-east-1", "us-east-9"]}, "regions[1]"),
        ({"accountName": ""}, "accountName"),
    ],
)
def test_malformed_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_model(CreateTargetAccount, body(**changes))
    assert error.value.details["errors"][0]["field"] == field


def test_regions_are_listed_once(services: Services) -> None:
    with pytest.raises(ValidationFailed, match="regions listed twice: us-east-1"):
        register(services, regions=["us-east-1", "us-east-1"])


def test_an_account_is_registered_once(services: Services) -> None:
    register(services)
    with pytest.raises(Conflict, match="already registered as 'Payments'") as error:
        register(services, accountName="Payments again")
    assert error.value.status == 409
    assert get_target_account(services, SPOKE).account_name == "Payments"


def test_an_unknown_account_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        get_target_account(services, SPOKE)
    with pytest.raises(NotFound):
        update_target_account(services, SPOKE, UpdateTargetAccount(account_name="x"), "alice")
    with pytest.raises(NotFound):
        delete_target_account(services, SPOKE, "alice")


def test_update_changes_the_given_fields_from_the_version_read(services: Services, clock: FakeClock) -> None:
    created = register(services)
    clock.advance(60)

    renamed = update_target_account(
        services,
        SPOKE,
        parse_model(UpdateTargetAccount, {"accountName": "Payments EU", "externalId": None, "version": 1}),
        "dave",
    )

    assert renamed.version == 2 and renamed.account_name == "Payments EU"
    assert renamed.external_id is None  # null clears it
    assert renamed.regions == created.regions and renamed.last_modified_date == T0 + 60
    with pytest.raises(StaleVersion):
        update_target_account(services, SPOKE, UpdateTargetAccount(account_name="Late", version=1), "erin")
    with pytest.raises(ValidationFailed, match="not of 444455556666"):
        update_target_account(
            services, SPOKE, UpdateTargetAccount(role_arn="arn:aws:iam::999988887777:role/drbot"), "dave"
        )
    with pytest.raises(ValidationFailed, match="Nothing to update"):
        update_target_account(services, SPOKE, UpdateTargetAccount(), "dave")
    with pytest.raises(ValidationFailed, match="unknown field"):  # the id is the key: it never changes
        parse_model(UpdateTargetAccount, {"accountId": "111100002222"})
    assert get_target_account(services, SPOKE) == renamed


def test_an_account_used_by_a_group_cannot_be_deleted(services: Services) -> None:
    register(services)
    group = services.store.create_group(
        ProtectionGroup(
            group_name="Payments databases",
            region="us-east-1",
            account_id=SPOKE,
            server_selection_tags={"Tier": "database"},
        ),
        "alice",
    )

    with pytest.raises(InUse, match="used by protection group\\(s\\) 'Payments databases'") as error:
        delete_target_account(services, SPOKE, "alice")
    assert error.value.status == 409 and error.value.code == "RESOURCE_IN_USE"

    services.store.delete_group(group.group_id, "alice")
    deleted = delete_target_account(services, SPOKE, "alice", expected=1)
    assert deleted.account_id == SPOKE
    with pytest.raises(NotFound):
        get_target_account(services, SPOKE)
