"""The directory port: which groups a person belongs to, for the role checks (orchestration/rbac.py).

Roles may name groups (Slack user groups, `S…`) as well as people. The services ask the Directory
for a caller's groups before every permission check; the Slack side implements it over
usergroups.users.list (bot/slack_directory.py). Without one, nobody is in any group.
"""

from __future__ import annotations

from typing import Protocol


class Directory(Protocol):
    """The groups `user_id` belongs to, of those the role configuration names."""

    def groups_of(self, user_id: str) -> frozenset[str]: ...


class NoDirectory:
    """No group membership is known: roles apply to the people they name."""

    def groups_of(self, user_id: str) -> frozenset[str]:
        return frozenset()
