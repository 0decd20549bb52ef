"""Small rules shared by the service modules."""

from __future__ import annotations

from typing import Any, TypeVar

from orchestration.context import Services
from orchestration.drs.gateway import SourceServer
from orchestration.errors import ValidationFailed
from orchestration.models import Execution, WireModel
from orchestration.validation import parse_model

W = TypeVar("W", bound=WireModel)


def apply_changes(model: type[W], current: W, changes: dict[str, Any], version: int | None, now: int) -> W:
    """`current` with the fields a caller changed (camelCase; `None` clears an optional field),
    validated as a whole; `version` is the one the caller read (the store refuses a stale one)."""
    if not changes:
        raise ValidationFailed("Nothing to update: give at least one field to change.")
    merged = {
        **current.to_wire(),
        **changes,
        "version": version or getattr(current, "version"),  # noqa: B009 - every aggregate has it
        "lastModifiedDate": now,
    }
    return parse_model(model, {k: v for k, v in merged.items() if v is not None})


def active_executions(services: Services, plan_id: str) -> list[Execution]:
    """The plan's executions that have not ended (a finished drill awaiting cleanup has ended)."""
    return [e for e in services.store.list_executions(plan_id=plan_id, active_only=True) if not e.is_terminal]


def server_summary(server: SourceServer) -> dict[str, Any]:
    """A server as the seed's query responses show it."""
    summary: dict[str, Any] = {
        "sourceServerID": server.source_server_id,
        "hostname": server.hostname,
        "replicationState": server.replication_state,
        "lifecycleState": server.lifecycle_state,
        "healthy": server.healthy,
    }
    if server.lag_seconds is not None:
        summary["lagSeconds"] = server.lag_seconds
    return summary


def unhealthy_warning(server: SourceServer) -> str:
    return (
        f"{server.hostname} ({server.source_server_id}) is not replicating continuously "
        f"({server.replication_state}); a launch would use its last snapshot."
    )
