"""What one fire of the digest's schedule does (docs/schedules.md, "The monthly digest").

`run_scheduled_digest` first claims the fire's period: with one version-checked write of the digest
settings (audited `digest.claim`) it records the month the fire covers, the calendar month before
the fire in the digest's time zone, as `lastPostedPeriod` (`2026-11`, with `lastPostedTimezone`).
Disabled, without an expression or without a channel, nothing is claimed and nothing posted (logged
INACTIVE), so a backend lagging behind the settings never posts what they forbid. A fire whose month
is not later than the one claimed already is a DUPLICATE and posts nothing: of two deliveries of one
fire (EventBridge Scheduler's retry, a Lambda retry, the local backend after a restart), exactly one
claims it, and a second fire in the same month (a schedule saved before the monthly rule, or a time
zone changed) finds the month posted. At most one post per month, whatever the schedule.

A claimed fire is never tried again: it builds the digest and hands it to the `DigestPoster` it is
given (Slack's, bot/digest_poster.py, wherever Slack is configured, else `LoggingDigestPoster`). A
refused post is answered FAILED and audited `digest.failed`; that month is not posted by a later
fire (`/dr digest now` still shows the current month). Nothing after the claim raises: the audit of
the post (`digest.posted`) or of the failure is written inside the fire's error handling, and a
failing audit write is logged, never raised into a retry that would post again. Only a claim that
could not be written (the settings kept changing) raises Conflict, and a retry then is safe.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.errors import Conflict, NotFound, StaleVersion
from orchestration.models import DIGEST_CONFIG_ID, DigestSettings
from orchestration.recurring import DIGEST_PRINCIPAL, DIGEST_TASK
from orchestration.services.digest import Digest, Period, month_period
from orchestration.services.digest_query import digest_of
from orchestration.store.base import DIGEST, Audited

logger = Logger(service="drbot")

_RETRIES = 8


class DigestPoster(Protocol):
    """Posts a digest to a channel (Slack: bot/digest_poster.py); raises when it cannot."""

    def post(self, channel: str, digest: Digest) -> None: ...


class LoggingDigestPoster:
    """The poster of a process without Slack: the digest's counts go to the log."""

    def post(self, channel: str, digest: Digest) -> None:
        logger.info(
            f"Digest of {digest.label} for {channel} (Slack is not configured)",
            extra={"task": DIGEST_TASK, "channel": channel, **digest.counts.to_wire()},
        )


class RecordingDigestPoster:
    """Keeps what it is given, for tests."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Digest]] = []

    def post(self, channel: str, digest: Digest) -> None:
        self.posts.append((channel, digest))


def period_key(period: Period) -> str:
    """The month a period covers as `lastPostedPeriod` holds it: `2026-11`."""
    return period.start.strftime("%Y-%m")


def run_scheduled_digest(services: Services, scheduled_at: int, poster: DigestPoster) -> dict[str, Any]:
    """One fire of the digest due at `scheduled_at` (epoch seconds): a summary with `outcome` POSTED,
    INACTIVE or DUPLICATE (nothing posted), or FAILED (the post was refused; also audited). Once
    claimed it never raises; an unclaimed fire raises Conflict when the claim could not be written."""
    result: dict[str, Any] = {"task": DIGEST_TASK, "scheduledTime": scheduled_at}
    claimed = _claim(services, scheduled_at)
    if isinstance(claimed, dict):
        logger.info(claimed["message"], extra={"task": DIGEST_TASK, "scheduled_time": scheduled_at})
        return {**result, **claimed}
    settings, period = claimed
    channel = settings.channel or ""  # the claim checked there is one
    subject = f"digest:{settings.config_id}"
    result["period"] = period_key(period)
    try:
        digest = digest_of(services, period, settings.expected_interval_days)
        poster.post(channel, digest)
    except Exception as error:  # Slack refused (not_in_channel, ...), or the store failed
        message = (
            f"Scheduled digest of {period.label} failed: {type(error).__name__}: {error}. The month "
            "was claimed, so it is not posted again by a later fire."
        )
        logger.exception(message, extra={"task": DIGEST_TASK, "scheduled_time": scheduled_at})
        _audit(services, "digest.failed", subject, scheduledTime=scheduled_at, error=str(error)[:256])
        return {**result, "outcome": "FAILED", "message": message}
    counts = digest.counts.to_wire()
    audited = _audit(
        services, "digest.posted", subject, scheduledTime=scheduled_at, channel=channel, **counts
    )
    message = (
        f"Digest of {digest.label} posted to {channel}: {counts['requested']} requested, "
        f"{counts['passed']} passed, {counts['overduePlans']} plans overdue."
    )
    if not audited:
        message += " Its audit event could not be written (see the log)."
    logger.info(message, extra={"task": DIGEST_TASK, "scheduled_time": scheduled_at, **counts})
    return {**result, "outcome": "POSTED", "message": message, "summary": counts}


def _claim(services: Services, scheduled_at: int) -> tuple[DigestSettings, Period] | dict[str, Any]:
    """The settings as claimed and the period to post, or the fire's answer when it posts nothing.
    A version-checked write: someone else writing first (perhaps the same fire, delivered twice)
    makes the store read again, and the later delivery finds the month claimed."""
    at = datetime.fromtimestamp(scheduled_at, UTC)
    refused: list[dict[str, Any]] = []

    def claim(settings: DigestSettings) -> DigestSettings | Audited[DigestSettings]:
        refused.clear()
        why = _inactive(settings)
        if why is not None:
            message = f"Scheduled digest skipped: the digest settings are {why} now."
            refused.append({"outcome": "INACTIVE", "message": message})
            return settings
        period = month_period(at, settings.schedule_timezone)
        key = period_key(period)
        if settings.last_posted_period is not None and settings.last_posted_period >= key:
            message = (
                f"Scheduled digest of {period.label} not posted: {settings.last_posted_period} "
                f"({settings.last_posted_timezone or settings.schedule_timezone}) was claimed already, "
                "and a month is posted once."
            )
            refused.append({"outcome": "DUPLICATE", "message": message, "period": key})
            return settings
        zone = settings.schedule_timezone
        claimed = settings.model_copy(update={"last_posted_period": key, "last_posted_timezone": zone})
        return Audited(claimed, "claim", {"period": key, "timezone": zone, "scheduledTime": scheduled_at})

    try:
        saved = services.store.modify(DIGEST, DIGEST_CONFIG_ID, claim, DIGEST_PRINCIPAL, attempts=_RETRIES)
    except NotFound:
        message = "Scheduled digest skipped: no digest settings are saved."
        return {"outcome": "INACTIVE", "message": message}
    except StaleVersion as stale:
        raise Conflict(
            "The digest settings kept changing while the digest's fire was claimed; the fire is retried."
        ) from stale
    if refused:
        return refused[0]
    return saved, month_period(at, saved.schedule_timezone)


def _inactive(settings: DigestSettings) -> str | None:
    if not settings.enabled:
        return "disabled"
    if not settings.schedule_expression:
        return "without a schedule"
    if not settings.channel:
        return "without a channel"
    return None


def _audit(services: Services, action: str, subject: str, **details: Any) -> bool:
    """Append the fire's audit event; a failing write is logged, never raised (the fire is claimed)."""
    try:
        services.store.append_audit(DIGEST_PRINCIPAL, action, subject, **details)
    except Exception:
        logger.exception(
            "the digest's audit event could not be written", extra={"task": DIGEST_TASK, "action": action}
        )
        return False
    return True
