"""The query handler (seed contract): read-only DRS, EC2 and configuration queries."""

from __future__ import annotations

import json
from typing import Any

from orchestration.errors import ValidationFailed
from orchestration.handlers.api import Call, Operation, OperationHandler
from orchestration.services.servers import list_source_servers


def _tags_param(call: Call) -> dict[str, str] | None:
    """`?tags={"Tier":"web"}` (the seed's query parameter is JSON)."""
    raw = call.optional("tags")
    if raw is None:
        return None
    try:
        tags = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f'tags: must be a JSON object such as {{"Tier": "web"}} ({exc.msg})', field="tags"
        ) from exc
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise ValidationFailed('tags: must be a JSON object of strings such as {"Tier": "web"}', field="tags")
    return tags


def _source_servers(call: Call) -> dict[str, Any]:
    listing = list_source_servers(
        call.services,
        region=call.optional("region"),
        account_id=call.optional("accountId"),
        replication_state=call.optional("replicationState"),
        tags=_tags_param(call),
    )
    return listing.to_wire()


def _user_permissions(call: Call) -> dict[str, Any]:
    """The caller's roles and permissions (API Gateway: the IAM caller; direct: `actor`)."""
    roles = call.services.settings.roles
    return {
        "user": call.actor,
        "roles": sorted(r.value for r in roles.roles_of(call.actor)),
        "permissions": sorted(p.value for p in roles.permissions_of(call.actor)),
    }


OPERATIONS = [
    Operation(
        "get_drs_source_servers",
        "GET",
        "/drs/source-servers",
        _source_servers,
        query=("region", "accountId", "tags", "replicationState"),
        summary="DRS source servers with replication health and protection-group assignment",
    ),
    Operation(
        "get_user_permissions",
        "GET",
        "/user/permissions",
        _user_permissions,
        summary="The caller's drbot roles and permissions",
    ),
]

handler = OperationHandler("query", OPERATIONS)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handler(event, context)
