"""Who may do what: the role checks every service function makes before it changes anything.

Roles name people and groups (orchestration/rbac.py); the Directory (orchestration/directory.py)
says which groups a person is in. Groups are only looked up when the person's own roles do not
suffice, since a directory may be slow or rate-limited (Slack's usergroups.users.list).
"""

from __future__ import annotations

from orchestration.bootstrap import Services
from orchestration.rbac import Permission, Role


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
