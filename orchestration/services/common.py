"""Small rules shared by the service modules."""

from __future__ import annotations

from typing import Any

from orchestration.bootstrap import Services
from orchestration.drs.gateway import SourceServer
from orchestration.models import Execution


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
