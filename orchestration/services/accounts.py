"""Target accounts: the spoke accounts whose DRS drbot reaches by assuming a role (seed: Target
Accounts, TARGET_ACCOUNTS_TABLE keyed by accountId).

Rules: the account id is 12 digits and is the key (it cannot change; delete and register again);
the role ARN must be a role of that very account, since assuming another account's role would
silently run every DRS call in the wrong place; regions are AWS region names, each listed once; an
account used by a protection group cannot be deleted; updates are checked against the version read.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from orchestration.context import Services
from orchestration.errors import Conflict, InUse, NotFound, ValidationFailed
from orchestration.models import AccountId, Name, RoleArn, TargetAccount, WireModel
from orchestration.rbac import Permission
from orchestration.requests import DrsRegion
from orchestration.services.access import require
from orchestration.services.common import apply_changes
from orchestration.validation import parse_model

ExternalId = Annotated[str, StringConstraints(min_length=2, max_length=1224)]
_ROLE_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/")


class CreateTargetAccount(WireModel):
    account_id: AccountId
    account_name: Name
    role_arn: RoleArn
    external_id: ExternalId | None = None
    regions: list[DrsRegion] = Field(default_factory=list)


class UpdateTargetAccount(WireModel):
    """Only the fields given change; `null` clears the external id."""

    account_name: Name | None = None
    role_arn: RoleArn | None = None
    external_id: ExternalId | None = None
    regions: list[DrsRegion] | None = None
    version: int | None = Field(default=None, ge=1, description="The version you read; refused if stale.")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, include=self.model_fields_set - {"version"})


def _check_rules(account: TargetAccount) -> None:
    match = _ROLE_ACCOUNT.match(account.role_arn)
    role_account = match.group(1) if match else None
    if role_account != account.account_id:
        raise ValidationFailed(
            f"roleArn {account.role_arn} is a role of account {role_account}, not of {account.account_id}: "
            "give the role drbot assumes in the target account itself",
            field="roleArn",
        )
    repeated = sorted({r for r in account.regions if account.regions.count(r) > 1})
    if repeated:
        raise ValidationFailed(f"regions listed twice: {', '.join(repeated)}", field="regions")


def _groups_using(services: Services, account_id: str) -> list[str]:
    return [g.group_name for g in services.store.list_groups() if g.account_id == account_id]


def create_target_account(services: Services, request: CreateTargetAccount, actor: str) -> TargetAccount:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    now = int(services.clock.now())
    account = parse_model(TargetAccount, {**request.to_wire(), "createdDate": now, "lastModifiedDate": now})
    _check_rules(account)
    try:
        existing = services.store.get_target_account(account.account_id)
    except NotFound:
        return services.store.create_target_account(account, actor)
    raise Conflict(
        f"Account {existing.account_id} is already registered as '{existing.account_name}'; "
        "update it instead.",
        resourceType="account",
        resourceId=existing.account_id,
    )


def list_target_accounts(services: Services) -> list[TargetAccount]:
    return services.store.list_target_accounts()


def get_target_account(services: Services, account_id: str) -> TargetAccount:
    return services.store.get_target_account(account_id)


def update_target_account(
    services: Services, account_id: str, request: UpdateTargetAccount, actor: str
) -> TargetAccount:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    current = services.store.get_target_account(account_id)
    account = apply_changes(
        TargetAccount, current, request.changes(), request.version, int(services.clock.now())
    )
    _check_rules(account)
    return services.store.update_target_account(account, actor)


def delete_target_account(
    services: Services, account_id: str, actor: str, expected: int | None = None
) -> TargetAccount:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    account = services.store.get_target_account(account_id)
    users = _groups_using(services, account_id)
    if users:
        names = ", ".join(f"'{name}'" for name in users)
        raise InUse(
            f"Account {account_id} ('{account.account_name}') is used by protection group(s) {names}; "
            "delete them or move them to another account first.",
            groupNames=users,
        )
    services.store.delete_target_account(account_id, actor, expected_version=expected)
    return account
