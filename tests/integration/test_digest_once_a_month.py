"""At most one digest post per month (docs/schedules.md, "The monthly digest"), through the scheduled
function's `{"task": "digest"}` event posting to the loopback Slack: a fire claims its month on the
digest settings before it posts, so a redelivery, a second fire in the same month or a delivery
arriving while the first one posts answers DUPLICATE; a failing audit write after the post never
makes the fire raise into a retry; `/dr digest now` claims nothing.

What was posted is counted in the stub Slack's own record of chat.postMessage calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from orchestration.clock import FakeClock
from orchestration.context import Services
from orchestration.errors import Conflict, StaleVersion
from orchestration.handlers import runtime
from orchestration.models import DigestSettings
from orchestration.recurring import DIGEST_PRINCIPAL, RecordingRecurringTasks
from orchestration.services.digest import Digest
from orchestration.services.digest_fire import RecordingDigestPoster, run_scheduled_digest
from orchestration.services.digest_settings import get_digest_settings
from orchestration.store.base import DIGEST
from scheduler import handler
from tests.integration.conftest import with_roles
from tests.integration.test_digest import (
    ALICE,
    DIGEST_CHANNEL,
    FEB_FIRE,
    ROLES,
    VICTOR,
    blocks_text,
    configure,
    slash,
)
from tests.slack_stub import SlackStub

FEB_1_0900 = int(datetime(2026, 2, 1, 9, tzinfo=UTC).timestamp())
DAY = 86_400


@pytest.fixture
def services(slack_services: Any) -> Iterator[Services]:
    services: Services = with_roles(slack_services, ROLES)
    services.recurring = RecordingRecurringTasks()
    runtime.use(services)
    yield services
    runtime.use(None)


def fire(when: str) -> dict[str, Any]:
    """The scheduled function's event for the digest fire EventBridge Scheduler names `when`."""
    return handler.lambda_handler({"task": "digest", "scheduledTime": when}, None)


def digest_audits(services: Services) -> list[str]:
    """The fires' audit actions, in alphabetical order (the claim and the post share a second)."""
    return sorted(a.action for a in services.store.list_audit() if a.actor == DIGEST_PRINCIPAL)


def test_the_same_fire_delivered_twice_posts_once(
    services: Services, clock: FakeClock, slack_stub: SlackStub
) -> None:
    configure(services)
    clock.set(FEB_1_0900 + 5)
    first, second = fire(FEB_FIRE), fire(FEB_FIRE)

    assert first["outcome"] == "POSTED" and first["period"] == "2026-01"
    assert second["outcome"] == "DUPLICATE" and second["period"] == "2026-01"
    assert "2026-01 (UTC) was claimed already" in second["message"]
    (post,) = slack_stub.calls("chat.postMessage")
    assert post.args["channel"] == DIGEST_CHANNEL
    assert post.args["text"].startswith("Drill digest: January 2026:")
    assert digest_audits(services) == ["digest.claim", "digest.posted"]
    saved = get_digest_settings(services)
    assert (saved.last_posted_period, saved.last_posted_timezone) == ("2026-01", "UTC")

    shown = slash(services, slack_stub, "digest show", user=VICTOR)
    assert "*Last month posted:* 2026-01 (UTC)" in blocks_text(shown)


def test_a_daily_schedule_firing_on_three_days_of_a_month_posts_once(
    services: Services, clock: FakeClock, slack_stub: SlackStub
) -> None:
    # settings saved before the monthly rule: the store holds a daily expression the check now refuses
    services.store.put_digest_settings(
        DigestSettings(schedule_expression="cron(0 9 * * ? *)", channel=DIGEST_CHANNEL), ALICE
    )
    answers = []
    for day in (1, 2, 3):
        clock.set(FEB_1_0900 + (day - 1) * DAY + 5)
        answers.append(fire(f"2026-02-0{day}T09:00:00Z"))
    assert [a["outcome"] for a in answers] == ["POSTED", "DUPLICATE", "DUPLICATE"]
    assert len(slack_stub.calls("chat.postMessage")) == 1

    clock.set(datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC).timestamp())
    march = fire("2026-03-01T09:00:00Z")  # the next month's first fire posts the next month
    assert march["outcome"] == "POSTED" and march["period"] == "2026-02"
    late = fire("2026-02-03T09:00:00Z")  # a retry of an older fire, delivered late: nothing
    assert late["outcome"] == "DUPLICATE"
    labels = [call.args["text"].split(":")[1].strip() for call in slack_stub.calls("chat.postMessage")]
    assert labels == ["January 2026", "February 2026"]


def test_a_second_delivery_while_the_first_posts_posts_nothing(services: Services, clock: FakeClock) -> None:
    configure(services)
    clock.set(FEB_1_0900 + 5)
    inner = RecordingDigestPoster()
    answers: list[dict[str, Any]] = []

    class RedeliveredWhilePosting:
        """The first delivery's post, during which the second delivery of the same fire arrives."""

        def __init__(self) -> None:
            self.posts: list[Digest] = []

        def post(self, channel: str, digest: Digest) -> None:
            answers.append(run_scheduled_digest(services, FEB_1_0900, inner))
            self.posts.append(digest)

    outer = RedeliveredWhilePosting()
    first = run_scheduled_digest(services, FEB_1_0900, outer)
    assert first["outcome"] == "POSTED" and len(outer.posts) == 1
    assert [a["outcome"] for a in answers] == ["DUPLICATE"] and inner.posts == []


def test_a_failing_audit_write_after_the_post_neither_raises_nor_posts_again(
    services: Services, clock: FakeClock, slack_stub: SlackStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(services)
    clock.set(FEB_1_0900 + 5)
    store = services.store
    real_append = store.append_audit

    def append_audit(actor: str, action: str, subject: str, **details: Any) -> Any:
        if action == "digest.posted":
            raise OSError("the audit table is unavailable")
        return real_append(actor, action, subject, **details)

    monkeypatch.setattr(store, "append_audit", append_audit)
    first = fire(FEB_FIRE)  # would raise (and be retried by Lambda) if the audit were outside
    assert first["outcome"] == "POSTED"
    assert "audit event could not be written" in first["message"]
    again = fire(FEB_FIRE)  # Lambda's retry, had it been one: the month is claimed
    assert again["outcome"] == "DUPLICATE"
    assert len(slack_stub.calls("chat.postMessage")) == 1
    assert digest_audits(services) == ["digest.claim"]  # the claim's audit is in the claim's write


def test_a_failing_audit_of_a_refused_post_does_not_raise_either(
    services: Services, clock: FakeClock, slack_stub: SlackStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(services)
    clock.set(FEB_1_0900 + 5)
    slack_stub.fail("chat.postMessage", "not_in_channel")
    store = services.store
    real_append = store.append_audit

    def append_audit(actor: str, action: str, subject: str, **details: Any) -> Any:
        if action == "digest.failed":
            raise OSError("the audit table is unavailable")
        return real_append(actor, action, subject, **details)

    monkeypatch.setattr(store, "append_audit", append_audit)
    answer = fire(FEB_FIRE)
    assert answer["outcome"] == "FAILED" and "not_in_channel" in answer["message"]
    assert fire(FEB_FIRE)["outcome"] == "DUPLICATE"
    assert len(slack_stub.calls("chat.postMessage")) == 1  # the refused post, never tried again


def test_digest_now_claims_nothing(services: Services, clock: FakeClock, slack_stub: SlackStub) -> None:
    configure(services)
    clock.set(FEB_1_0900 - 10 * 3600)  # January 31st, 23:00: the month so far is January
    before = get_digest_settings(services)
    now = slash(services, slack_stub, "digest now", user=VICTOR)
    assert now.args["text"].startswith("Drill digest: January 2026 so far:")
    after = get_digest_settings(services)
    assert after.last_posted_period is None and after.version == before.version
    assert slack_stub.calls("chat.postMessage") == []
    clock.set(FEB_1_0900 + 5)
    assert fire(FEB_FIRE)["outcome"] == "POSTED"  # the scheduled fire still posts January
    assert len(slack_stub.calls("chat.postMessage")) == 1


def test_a_claim_that_cannot_be_written_raises_so_the_unclaimed_fire_is_retried(
    services: Services, clock: FakeClock, slack_stub: SlackStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(services)
    clock.set(FEB_1_0900 + 5)
    store = services.store
    real_modify = store.modify
    lost: list[int] = []

    def modify(kind: Any, item_id: str, change: Any, actor: str, **options: Any) -> Any:
        if kind is DIGEST and not lost:  # someone else saved first, every time the claim tried
            lost.append(1)
            raise StaleVersion("the digest settings changed", resourceType="digest", resourceId=item_id)
        return real_modify(kind, item_id, change, actor, **options)

    monkeypatch.setattr(store, "modify", modify)
    with pytest.raises(Conflict, match="the fire is retried"):
        fire(FEB_FIRE)
    assert slack_stub.calls("chat.postMessage") == []  # unclaimed: nothing posted
    assert get_digest_settings(services).last_posted_period is None
    assert fire(FEB_FIRE)["outcome"] == "POSTED"  # Lambda's retry claims and posts, once
    assert fire(FEB_FIRE)["outcome"] == "DUPLICATE"
    assert len(slack_stub.calls("chat.postMessage")) == 1
