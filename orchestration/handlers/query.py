"""The query handler (seed contract): read-only DRS, EC2 and configuration queries."""

from __future__ import annotations

import json
from typing import Any

from orchestration.cold_start import long_lived_imports

with long_lived_imports():  # drbot's own modules, collector paused (orchestration/cold_start.py)
    from orchestration.errors import ValidationFailed
    from orchestration.handlers.api import OperationHandler
    from orchestration.handlers.operations import Call, Operation
    from orchestration.observability import lambda_entry
    from orchestration.services import configuration, queries
    from orchestration.services.access import permissions_of, roles_of
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
    """The caller's roles and permissions, as the role checks see them (docs/api.md, "Who is
    calling"): API Gateway's SigV4 or Cognito caller, a direct invocation's configured principal.
    It answers anyone, a caller with no role too (empty lists), so they can see why they are refused."""
    answer: dict[str, Any] = {
        "user": call.actor,
        "roles": sorted(r.value for r in roles_of(call.services, call.actor)),
        "permissions": sorted(p.value for p in permissions_of(call.services, call.actor)),
    }
    if call.caller.groups:
        answer["groups"] = sorted(call.caller.groups)
    if call.caller.on_behalf_of is not None:
        answer["onBehalfOf"] = call.caller.on_behalf_of
    return answer


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
        summary="The caller's drbot roles and permissions (answers a caller with no role too)",
        permission=None,
    ),
    Operation(
        "get_drs_quotas",
        "GET",
        "/drs/quotas",
        lambda c: queries.get_drs_quotas(c.services, c.optional("region"), c.optional("accountId")),
        query=("region", "accountId"),
        summary="Each DRS quota with its limit, usage and what is left",
    ),
    Operation(
        "get_drs_account_capacity",
        "GET",
        "/drs/account-capacity",
        lambda c: queries.get_drs_account_capacity(c.services, c.optional("region"), c.optional("accountId")),
        query=("region", "accountId"),
        summary="Source servers against DRS's 4,000 limit, replication, recovery instances and active jobs",
    ),
    Operation(
        "get_drs_service_limits",
        "GET",
        "/drs/service-limits",
        lambda c: queries.get_drs_service_limits(c.services, c.optional("region"), c.optional("accountId")),
        query=("region", "accountId"),
        summary="DRS limits drbot checks, with current usage",
    ),
    Operation(
        "get_drs_accounts",
        "GET",
        "/drs/accounts",
        lambda c: queries.get_drs_accounts(c.services),
        summary="The hub account and the registered target accounts",
    ),
    Operation(
        "get_ec2_subnets",
        "GET",
        "/ec2/subnets",
        lambda c: queries.get_ec2_subnets(
            c.services,
            c.optional("region"),
            c.optional("vpcId"),
            c.optional("availabilityZone"),
            c.optional("accountId"),
        ),
        query=("region", "vpcId", "availabilityZone", "accountId"),
        summary="Subnets of a VPC",
    ),
    Operation(
        "get_ec2_security_groups",
        "GET",
        "/ec2/security-groups",
        lambda c: queries.get_ec2_security_groups(
            c.services, c.optional("region"), c.optional("vpcId"), c.optional("accountId")
        ),
        query=("region", "vpcId", "accountId"),
        summary="Security groups of a VPC",
    ),
    Operation(
        "get_ec2_instance_types",
        "GET",
        "/ec2/instance-types",
        lambda c: queries.get_ec2_instance_types(
            c.services, c.optional("region"), c.optional("instanceFamily"), c.optional("accountId")
        ),
        query=("region", "instanceFamily", "accountId"),
        summary="EC2 instance types offered in a region",
    ),
    Operation(
        "get_ec2_instance_profiles",
        "GET",
        "/ec2/instance-profiles",
        lambda c: queries.get_ec2_instance_profiles(c.services, c.optional("accountId")),
        query=("accountId",),
        summary="IAM instance profiles",
    ),
    Operation(
        "get_current_account_info",
        "GET",
        "/accounts/current",
        lambda c: queries.get_current_account_info(c.services),
        summary="The account and region drbot runs in",
    ),
    Operation(
        "export_configuration",
        "GET",
        "/config/export",
        lambda c: configuration.export_configuration(c.services),
        summary="Every protection group and recovery plan as one versioned document",
    ),
]

handler = OperationHandler("query", OPERATIONS)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handler(event, context)
