"""What one fire of the digest's schedule does (docs/schedules.md, "The monthly digest").

`run_scheduled_digest` re-reads the settings: disabled, without an expression or without a channel,
it does nothing (logged), so a backend lagging behind the settings never posts what they forbid.
Otherwise it builds the digest of the calendar month before the fire (in the digest's time zone) and
hands it to the `DigestPoster` it is given: Slack's (bot/digest_poster.py) wherever Slack is
configured, else `LoggingDigestPoster`. A refused post is answered and audited, never raised: the
next fire posts the next month. A duplicate delivery of one fire posts the same digest again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from orchestration.context import Services
from orchestration.recurring import DIGEST_PRINCIPAL, DIGEST_TASK
from orchestration.services.digest import Digest
from orchestration.services.digest_query import digest_at
from orchestration.services.digest_settings import get_digest_settings

logger = Logger(service="drbot")


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


def run_scheduled_digest(services: Services, scheduled_at: int, poster: DigestPoster) -> dict[str, Any]:
    """One fire of the digest due at `scheduled_at` (epoch seconds): a summary with `outcome` POSTED,
    INACTIVE (nothing done) or FAILED (the post was refused; also audited). Never raises."""
    settings = get_digest_settings(services)
    result: dict[str, Any] = {"task": DIGEST_TASK, "scheduledTime": scheduled_at}
    if not settings.enabled or not settings.schedule_expression or not settings.channel:
        why = (
            "disabled"
            if not settings.enabled
            else "without a schedule"
            if not settings.schedule_expression
            else "without a channel"
        )
        message = f"Scheduled digest skipped: the digest settings are {why} now."
        logger.info(message, extra={"task": DIGEST_TASK, "scheduled_time": scheduled_at})
        return {**result, "outcome": "INACTIVE", "message": message}
    subject = f"digest:{settings.config_id}"
    try:
        digest = digest_at(services, datetime.fromtimestamp(scheduled_at, UTC))
        poster.post(settings.channel, digest)
    except Exception as error:  # Slack refused (not_in_channel, ...), or the store failed
        message = f"Scheduled digest failed: {type(error).__name__}: {error}"
        logger.exception(message, extra={"task": DIGEST_TASK, "scheduled_time": scheduled_at})
        services.store.append_audit(
            DIGEST_PRINCIPAL, "digest.failed", subject, scheduledTime=scheduled_at, error=str(error)[:256]
        )
        return {**result, "outcome": "FAILED", "message": message}
    counts = digest.counts.to_wire()
    services.store.append_audit(
        DIGEST_PRINCIPAL,
        "digest.posted",
        subject,
        scheduledTime=scheduled_at,
        channel=settings.channel,
        **counts,
    )
    message = (
        f"Digest of {digest.label} posted to {settings.channel}: {counts['requested']} requested, "
        f"{counts['passed']} passed, {counts['overduePlans']} plans overdue."
    )
    logger.info(message, extra={"task": DIGEST_TASK, "scheduled_time": scheduled_at, **counts})
    return {**result, "outcome": "POSTED", "message": message, "summary": counts}
