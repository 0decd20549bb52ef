"""Who may do what: the role checks every service function makes before it changes anything.

Roles name people and groups (orchestration/rbac.py); the Directory (orchestration/directory.py)
says which groups a person is in. Groups are only looked up when the person's own roles do not
suffice, since a directory may be slow or rate-limited (Slack's usergroups.users.list).

A caller can also arrive with groups its authentication vouches for (a Cognito authorizer's
`cognito:groups`, docs/api.md "Who is calling"): `with_groups` gives one request's services a
directory that adds them for that caller alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from orchestration.context import Services
from orchestration.directory import Directory
from orchestration.rbac import Permission, Role


class _WithGroups:
    """A directory that adds `groups` to `principal`'s (and to nobody else's)."""

    def __init__(self, inner: Directory, principal: str, groups: frozenset[str]) -> None:
        self.inner = inner
        self.principal = principal
        self.groups = groups

    def groups_of(self, user_id: str) -> frozenset[str]:
        found = self.inner.groups_of(user_id)
        return found | self.groups if user_id == self.principal else found


def with_groups(services: Services, principal: str, groups: Iterable[str]) -> Services:
    """`services` for one request whose caller `principal` is, authenticated, in `groups` (names as
    the role configuration spells them); the same services when there are none."""
    named = frozenset(groups)
    if not named:
        return services
    return replace(services, directory=_WithGroups(services.directory, principal, named))


def require(services: Services, principal: str, permission: Permission) -> None:
    """Refuse (PermissionDenied, nothing changed) unless `principal` or one of their groups may."""
    roles = services.settings.roles
    if permission in roles.permissions_of(principal):
        return
    roles.require(principal, permission, services.directory.groups_of(principal))


def roles_of(services: Services, principal: str) -> set[Role]:
    """Every role `principal` holds, in person or through a group."""
    return services.settings.roles.roles_of(principal, services.directory.groups_of(principal))


def permissions_of(services: Services, principal: str) -> set[Permission]:
    """Every permission `principal` holds, in person or through a group."""
    return services.settings.roles.permissions_of(principal, services.directory.groups_of(principal))
