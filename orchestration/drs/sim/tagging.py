"""TagResource, UntagResource and ListTagsForResource on source servers, jobs and recovery instances."""

from __future__ import annotations

from typing import Any

from orchestration.drs.sim.api import MAX_TAGS, not_found, valid_tags, validation_error
from orchestration.drs.sim.context import Call

_RESOURCE_TYPES = {"source-server": "SOURCE_SERVER", "job": "JOB", "recovery-instance": "RECOVERY_INSTANCE"}


def tag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    resource = _existing_resource(call, str(params["resourceArn"]))
    tags = valid_tags(params.get("tags") or {})
    merged = {**call.tx.tags(resource), **tags}
    if len(merged) > MAX_TAGS:
        raise validation_error(
            f"A resource can have at most {MAX_TAGS} tags; this would make {len(merged)}",
            [("tags", f"at most {MAX_TAGS} tags per resource")],
        )
    call.tx.put_tags(resource, tags)
    return {}


def untag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    resource = _existing_resource(call, str(params["resourceArn"]))
    keys = [str(k) for k in params.get("tagKeys") or []]
    if not keys:
        raise validation_error("tagKeys must name at least one tag key", [("tagKeys", "empty")])
    call.tx.delete_tags(resource, keys)
    return {}


def list_tags_for_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return {"tags": call.tx.tags(_existing_resource(call, str(params["resourceArn"])))}


def _existing_resource(call: Call, resource_arn: str) -> str:
    """The ARN, once it is known to name a resource of the caller's account and region."""
    parts = resource_arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "drs"] or "/" not in parts[5]:
        raise validation_error(
            f"Invalid resource ARN: {resource_arn}", [("resourceArn", "not a DRS resource ARN")]
        )
    region, account = parts[3], parts[4]
    kind, _, resource_id = parts[5].partition("/")
    resource_type = _RESOURCE_TYPES.get(kind)
    if resource_type is None:
        raise validation_error(
            f"Invalid resource ARN: {resource_arn}",
            [("resourceArn", f"DRS has no taggable '{kind}' resources")],
        )
    exists = False
    # another region's or account's resources are invisible here, as in DRS
    if call.scope.holds(account, region):
        if kind == "source-server":
            exists = call.server(resource_id) is not None
        elif kind == "job":
            job = call.tx.job(resource_id)
            exists = job is not None and call.scope.holds(job.account_id, job.region)
        else:
            instance = call.tx.instance(resource_id)
            exists = instance is not None and call.scope.holds(instance.account_id, instance.region)
    if not exists:
        raise not_found(f"Resource {resource_arn} not found", resource_arn, resource_type)
    return resource_arn
