"""Typed requests of the service layer: what a caller may send to create or change something.

The same models validate direct invocations, REST bodies (powertools builds the OpenAPI schema
from them) and console/Slack input, so every entry point refuses the same bad input the same way.
Fields that drbot sets itself (ids, dates, createdBy, version of a new item) are not here, so
sending them is an "unknown field" error. The request to run a plan, `StartExecution`, is in
orchestration/start_request.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from orchestration.models import (
    MAX_MINUTES,
    AccountId,
    ChannelId,
    Description,
    Name,
    Region,
    SourceServerId,
    TagKey,
    TagValue,
    Wave,
    WireModel,
)
from orchestration.validation import clip, drs_regions


def _offered_region(value: str) -> str:
    if value not in drs_regions():
        raise ValueError(f"'{clip(value)}' is not a region Elastic Disaster Recovery is offered in")
    return value


# a region name (models.Region's pattern) that DRS is offered in, per botocore's endpoint data
DrsRegion = Annotated[Region, AfterValidator(_offered_region)]


class CreateProtectionGroup(WireModel):
    group_name: Name
    region: DrsRegion
    description: Description = ""
    account_id: AccountId | None = None
    source_server_ids: list[SourceServerId] | None = None
    server_selection_tags: dict[TagKey, TagValue] | None = None


class UpdateProtectionGroup(WireModel):
    """Only the fields given change; `null` clears an optional field (e.g. to switch ids → tags)."""

    group_name: Name | None = None
    region: DrsRegion | None = None
    description: Description | None = None
    account_id: AccountId | None = None
    source_server_ids: list[SourceServerId] | None = None
    server_selection_tags: dict[TagKey, TagValue] | None = None
    version: int | None = Field(default=None, ge=1, description="The version you read; refused if stale.")

    def changes(self) -> dict[str, Any]:
        """The given fields (camelCase), `version` excluded."""
        data = self.model_dump(mode="json", by_alias=True, include=self.model_fields_set - {"version"})
        return data


class ResolveTags(WireModel):
    region: DrsRegion
    server_selection_tags: dict[TagKey, TagValue] = Field(min_length=1)
    account_id: AccountId | None = None


class CreateRecoveryPlan(WireModel):
    plan_name: Name
    description: Description = ""
    waves: list[Wave] = Field(min_length=1, max_length=100)
    rto_target_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    rpo_target_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    notification_channel: ChannelId | None = None


class UpdateRecoveryPlan(WireModel):
    plan_name: Name | None = None
    description: Description | None = None
    waves: list[Wave] | None = Field(default=None, min_length=1, max_length=100)
    rto_target_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    rpo_target_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    notification_channel: ChannelId | None = None
    version: int | None = Field(default=None, ge=1, description="The version you read; refused if stale.")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, include=self.model_fields_set - {"version"})


class ServerQuery(WireModel):
    region: DrsRegion | None = None
    account_id: AccountId | None = None
    replication_state: str | None = None
    tags: dict[TagKey, TagValue] | None = None


__all__ = [
    "CreateProtectionGroup",
    "CreateRecoveryPlan",
    "DrsRegion",
    "ResolveTags",
    "ServerQuery",
    "UpdateProtectionGroup",
    "UpdateRecoveryPlan",
]
