"""Roles and what they may do (docs/architecture.md): admin, operator, approver, viewer.

Members are named by whatever identifies a caller: Slack user ids (`U…`), Slack user-group ids
(`S…`, expanded by the Slack side), IAM ARNs or console user names. The configuration is JSON —
`{"admin": [...], "operator": [...], "approver": [...], "viewer": [...], "default": "viewer"}` —
from DRBOT_ROLES (inline) or DRBOT_ROLES_FILE (a path).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestration.errors import PermissionDenied, ValidationFailed


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    APPROVER = "approver"
    VIEWER = "viewer"


class Permission(StrEnum):
    VIEW = "view"
    MANAGE_CONFIGURATION = "manage_configuration"  # groups, plans, accounts, tag sync, import
    REQUEST_EXECUTION = "request_execution"
    CONTROL_EXECUTION = "control_execution"  # pause, resume, cancel
    APPROVE = "approve"
    MANAGE_SCHEDULES = "manage_schedules"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.APPROVER: frozenset({Permission.VIEW, Permission.APPROVE}),
    Role.OPERATOR: frozenset(
        {
            Permission.VIEW,
            Permission.MANAGE_CONFIGURATION,
            Permission.REQUEST_EXECUTION,
            Permission.CONTROL_EXECUTION,
            Permission.MANAGE_SCHEDULES,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class RoleConfig:
    members: Mapping[Role, frozenset[str]] = field(default_factory=dict)
    default_role: Role | None = Role.VIEWER  # the role of anyone not listed (None: no access)

    def roles_of(self, principal: str, groups: Iterable[str] = ()) -> set[Role]:
        names = {principal, *groups}
        roles = {role for role, members in self.members.items() if names & members}
        if not roles and self.default_role is not None:
            roles.add(self.default_role)
        return roles

    def permissions_of(self, principal: str, groups: Iterable[str] = ()) -> set[Permission]:
        return {p for role in self.roles_of(principal, groups) for p in ROLE_PERMISSIONS[role]}

    def require(self, principal: str, permission: Permission, groups: Iterable[str] = ()) -> None:
        if permission not in self.permissions_of(principal, groups):
            holders = ", ".join(
                sorted(r.value for r, perms in ROLE_PERMISSIONS.items() if permission in perms)
            )
            raise PermissionDenied(
                f"{principal} may not {permission.value.replace('_', ' ')}: that needs the role {holders}.",
                permission=permission.value,
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "role configuration") -> RoleConfig:
        members: dict[Role, frozenset[str]] = {}
        default: Role | None = Role.VIEWER
        for key, value in data.items():
            if key == "default":
                if value is None or value == "none":
                    default = None
                elif value in Role.__members__.values():
                    default = Role(value)
                else:
                    raise ValidationFailed(
                        f"{source}: default must be one of {_role_names()} or none, not {value!r}"
                    )
                continue
            if key not in Role.__members__.values():
                raise ValidationFailed(f"{source}: unknown role {key!r}; roles are {_role_names()}")
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ValidationFailed(f"{source}: {key} must be a list of user ids, group ids or names")
            members[Role(key)] = frozenset(value)
        return cls(members=members, default_role=default)

    @classmethod
    def from_json(cls, text: str, source: str = "DRBOT_ROLES") -> RoleConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"{source} is not valid JSON: {exc.msg} at position {exc.pos}") from exc
        if not isinstance(data, dict):
            raise ValidationFailed(f"{source} must be a JSON object of role → members")
        return cls.from_mapping(data, source)

    @classmethod
    def from_file(cls, path: Path) -> RoleConfig:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationFailed(f"DRBOT_ROLES_FILE {path} cannot be read: {exc.strerror}") from exc
        return cls.from_json(text, source=str(path))


# The embedded default's roles when none are configured, so the approval story works out of the box:
# alice (and anyone not listed) may request and control runs, bob and carol approve them.
DEMO_ROLES = RoleConfig(
    members={Role.OPERATOR: frozenset({"alice"}), Role.APPROVER: frozenset({"bob", "carol"})},
    default_role=Role.OPERATOR,
)


def _role_names() -> str:
    return ", ".join(r.value for r in Role)
