"""What one fire of the tag-sync schedule does (docs/schedules.md, "Tag sync on a schedule").

`run_scheduled_tag_sync` re-reads the settings: disabled or without an expression, it does nothing
(logged), so a backend lagging behind the settings can never sync what they forbid. Otherwise it
runs `handle_drs_tag_sync` as TAG_SYNC_PRINCIPAL and answers a summary. A duplicate delivery of one
fire just syncs again: a sync copies the EC2 tags as they are now, and a server whose tags already
match is not written to, so running twice is harmless. The rules of the schedule itself are in
orchestration/services/tag_sync_schedule.py.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.errors import DrbotError
from orchestration.recurring import TAG_SYNC_PRINCIPAL, TAG_SYNC_TASK
from orchestration.services.tag_sync import get_tag_sync_settings, handle_drs_tag_sync

logger = Logger(service="drbot")


def run_scheduled_tag_sync(services: Services, scheduled_at: int) -> dict[str, Any]:
    """One fire of the tag-sync schedule due at `scheduled_at` (epoch seconds): a summary with
    `outcome` SYNCED, INACTIVE (nothing done) or FAILED (the error, also audited). Never raises a
    DrbotError: the next fire tries again."""
    settings = get_tag_sync_settings(services)
    result: dict[str, Any] = {"task": TAG_SYNC_TASK, "scheduledTime": scheduled_at}
    if not settings.enabled or not settings.schedule_expression:
        why = "disabled" if not settings.enabled else "without a schedule"
        message = f"Scheduled tag sync skipped: the tag sync settings are {why} now."
        logger.info(message, extra={"task": TAG_SYNC_TASK, "scheduled_time": scheduled_at})
        return {**result, "outcome": "INACTIVE", "message": message}
    try:
        report = handle_drs_tag_sync(services, TAG_SYNC_PRINCIPAL)
    except DrbotError as error:
        message = f"Scheduled tag sync failed: {error.message}"
        logger.error(
            message, extra={"task": TAG_SYNC_TASK, "scheduled_time": scheduled_at, "error": error.code}
        )
        services.store.append_audit(
            TAG_SYNC_PRINCIPAL,
            "tag_sync.failed",
            f"tag_sync:{settings.config_id}",
            scheduledTime=scheduled_at,
            error=error.code,
        )
        return {**result, "outcome": "FAILED", "message": message, "error": error.code}
    summary = {
        "regions": report["regions"],
        "serversScanned": report["serversScanned"],
        "serversUpdated": report["serversUpdated"],
        "serversUnchanged": report["serversUnchanged"],
        "serversWithoutEc2Instance": report["serversWithoutEc2Instance"],
        "tagsApplied": report["tagsApplied"],
        "instancesNotFound": len(report["instancesNotFound"]),
        "failed": len(report["failed"]),
    }
    message = (
        f"Scheduled tag sync: {summary['serversUpdated']} of {summary['serversScanned']} source servers "
        f"updated ({summary['tagsApplied']} tags), {summary['failed']} failed."
    )
    logger.info(message, extra={"task": TAG_SYNC_TASK, "scheduled_time": scheduled_at, **summary})
    return {**result, "outcome": "SYNCED", "message": message, "summary": summary}
