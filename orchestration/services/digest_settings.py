"""The digest's settings (seed-style operations get_digest_settings and update_digest_settings;
docs/schedules.md, "The monthly digest").

Stored like the tag-sync settings: one version-checked item of the settings table, saved first and
then registered with the scheduler (orchestration/services/digest_schedule.py). Changing them needs
the MANAGE_CONFIGURATION permission, as every other setting does; reading them needs nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestration.context import Services
from orchestration.errors import ValidationFailed
from orchestration.models import MAX_EXPECTED_INTERVAL_DAYS, ChannelId, DigestSettings, WireModel
from orchestration.rbac import Permission
from orchestration.services.access import require
from orchestration.services.digest_schedule import checked_digest_schedule, register_digest
from orchestration.services.scheduled_settings import merged_settings
from orchestration.validation import parse_model


class UpdateDigestSettings(WireModel):
    """Only the fields given change; `null` puts a field back to its default."""

    enabled: bool | None = None
    schedule_expression: str | None = Field(
        default=None,
        max_length=256,
        description="cron(...) firing at most once a month, e.g. cron(0 9 1 * ? *) (docs/schedules.md); "
        "null: no digest.",
    )
    schedule_timezone: str | None = Field(
        default=None, max_length=50, description="IANA time zone of the expression and the month; null: UTC."
    )
    channel: ChannelId | None = Field(default=None, description="The Slack channel id (C…) to post to.")
    expected_interval_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_EXPECTED_INTERVAL_DAYS,
        description="Every plan should be drilled within this many days; null: 90.",
    )
    version: int | None = Field(default=None, ge=1, description="The version you read; refused if stale.")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, include=self.model_fields_set - {"version"})


def get_digest_settings(services: Services) -> DigestSettings:
    """The saved settings, or the defaults (no schedule, no channel, 90 days) before any save."""
    return services.store.get_digest_settings() or DigestSettings()


def update_digest_settings(services: Services, request: UpdateDigestSettings, actor: str) -> DigestSettings:
    require(services, actor, Permission.MANAGE_CONFIGURATION)
    current = get_digest_settings(services).to_wire()
    changes = request.changes()
    merged = merged_settings(
        services, current, changes, version=request.version, actor=actor, check=checked_digest_schedule
    )
    settings = parse_model(DigestSettings, merged)
    if settings.enabled and settings.schedule_expression and not settings.channel:
        raise ValidationFailed(
            "The digest has a schedule but no channel to post to: give `channel` (a channel id, C…).",
            field="channel",
        )
    saved = services.store.put_digest_settings(settings, actor)
    # saved first (version-checked), then the scheduler is told; a fire re-reads the saved settings
    register_digest(services, saved)
    return saved
