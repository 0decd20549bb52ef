"""The digest's pure parts (orchestration/services/digest.py) and its Slack rendering
(bot/views/digest.py): the month in the digest's time zone, the expected interval from a drill
schedule's upcoming fires, who is overdue, and a digest of hundreds of runs and plans that still fits
Block Kit's limits."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot.views.common import MAX_BLOCKS_PER_MESSAGE, MAX_SECTION_TEXT
from bot.views.digest import build_digest_message
from orchestration.errors import InvalidScheduleExpression
from orchestration.models import ExecutionStatus, ExecutionType, Schedule
from orchestration.services.digest import (
    Digest,
    DigestCounts,
    DigestRun,
    PlanExpectation,
    month_period,
    overdue_plans,
    schedule_interval_days,
)
from orchestration.services.digest_schedule import checked_digest_schedule
from orchestration.services.report import RtoResult
from orchestration.services.rpo import RpoResult

FEB_1 = datetime(2026, 2, 1, 9, tzinfo=UTC)
DAY = 86_400


def test_a_fire_covers_the_calendar_month_before_it_in_the_digests_time_zone() -> None:
    period = month_period(FEB_1, "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    assert (period.start, period.end) == (
        datetime(2026, 1, 1, tzinfo=berlin),
        datetime(2026, 2, 1, tzinfo=berlin),
    )
    assert period.label == "January 2026" and not period.partial
    # 23:30 UTC on January 31 is already February 1 in Tokyo: the month before is January there too
    tokyo = month_period(datetime(2026, 1, 31, 23, 30, tzinfo=UTC), "Asia/Tokyo")
    assert tokyo.label == "January 2026"
    assert month_period(datetime(2026, 1, 1, 9, tzinfo=UTC), "UTC").label == "December 2025"  # year wraps


def test_now_covers_the_current_month_up_to_now() -> None:
    at = datetime(2026, 3, 15, 12, tzinfo=UTC)
    period = month_period(at, "UTC", current=True)
    assert period.partial and period.label == "March 2026"
    assert (period.start, period.end) == (datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC")), at)


def schedule(expression: str, **fields: object) -> Schedule:
    return Schedule.model_validate({"planId": "p-1", "expression": expression, "approvedBy": "bob", **fields})


@pytest.mark.parametrize(
    ("expression", "days"),
    [
        ("cron(0 3 ? * MON *)", 8),  # weekly: 7 days and a day's grace
        ("cron(0 3 1 * ? *)", 32),  # monthly: the longest month's 31 days and a day
        ("rate(14 days)", 15),
        ("cron(0 3 1 1,7 ? *)", 185),  # twice a year: the longer half
    ],
)
def test_a_drill_schedules_interval_is_its_longest_upcoming_gap_plus_a_day(
    expression: str, days: int
) -> None:
    assert schedule_interval_days(schedule(expression), FEB_1) == days


def test_a_schedule_that_fires_once_more_sets_no_interval() -> None:
    assert schedule_interval_days(schedule("at(2026-03-01T03:00:00)"), FEB_1) is None


def test_overdue_plans_never_drilled_first_then_the_oldest_drill() -> None:
    at = FEB_1
    now = int(at.timestamp())
    expectations = [
        PlanExpectation("p1", "Fresh", 90, None, now - 10 * DAY),
        PlanExpectation("p2", "Stale", 90, None, now - 91 * DAY),
        PlanExpectation("p3", "Never", 90, None, None),
        PlanExpectation("p4", "Weekly", 8, "s-1", now - 9 * DAY),
        PlanExpectation("p5", "Weekly on time", 8, "s-2", now - 7 * DAY),
    ]
    overdue = overdue_plans(expectations, at)
    assert [p.plan_name for p in overdue] == ["Never", "Stale", "Weekly"]
    assert overdue[0].last_drill_at is None and overdue[2].schedule_id == "s-1"


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("rate(23 hours)", "a month is not a fixed number of days"),
        ("rate(30 days)", "a month is not a fixed number of days"),
        ("rate(1 day)", "a month is not a fixed number of days"),
        ("cron(0 * 1 * ? *)", "fires 24 times a day"),
        ("cron(0 9,17 1 * ? *)", "fires 2 times a day"),
        ("cron(0 9 * * ? *)", "day-of-month '*' names several days"),
        ("cron(0 9 1,15 * ? *)", "day-of-month '1,15' names several days"),
        ("cron(0 9 1-3 * ? *)", "day-of-month '1-3' names several days"),
        ("cron(0 9 ? * MON *)", "day-of-week 'MON' fires on several days a month"),
        ("cron(0 9 ? * 2#1 *)", "day-of-week '2#1'"),
        ("at(2026-02-01T09:00:00)", "at() fires once"),
    ],
)
def test_more_often_than_monthly_is_refused_naming_what_to_type(expression: str, words: str) -> None:
    with pytest.raises(InvalidScheduleExpression) as refused:
        checked_digest_schedule(expression, "UTC")
    assert words in refused.value.message
    assert "at most once a month" in refused.value.message
    assert "e.g. cron(0 9 1 * ? *)" in refused.value.message  # what to type instead


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 9 1 * ? *)",
        "cron(30 6 L * ? *)",
        "cron(0 7 L-2 * ? *)",
        "cron(0 8 LW * ? *)",
        "cron(0 9 15W 1,4,7,10 ? *)",
        "cron(0 9 1 * ? 2026-2030)",
    ],
)
def test_one_minute_hour_and_day_of_the_month_is_accepted(expression: str) -> None:
    assert checked_digest_schedule(f" {expression} ", "Europe/Berlin") == (expression, "Europe/Berlin")
    assert checked_digest_schedule(expression, None) == (expression, "UTC")


def big_digest(runs: int, plans: int) -> Digest:
    from orchestration.services.digest import OverduePlan

    def run(i: int) -> DigestRun:
        return DigestRun(
            execution_id=f"{i:08d}-0000-0000-0000-000000000000",
            plan_id=f"p-{i}",
            plan_name=f"Plan with a rather long name number {i} *bold* <not a link>",
            execution_type=ExecutionType.DRILL,
            status=ExecutionStatus.COMPLETED,
            requested_by="U0ALICE01",
            requested_at=FEB_1,
            duration_seconds=600 + i,
            ran=True,
            passed=i % 4 == 0,
            finished=True,
            rto=RtoResult.MISSED if i % 4 == 1 else RtoResult.MET,
            rpo=RpoResult.MET,
            missed_target=i % 4 == 1,
            cleanup=None,
            cleanup_failed=i % 4 == 2,
            left_running=[f"i-{i:017x} (web-{i:02d})" for _ in range(3)] if i % 4 == 2 else [],
        )

    overdue = [
        OverduePlan(plan_id=f"o-{i}", plan_name=f"Overdue plan {i}", expected_days=90) for i in range(plans)
    ]
    return Digest(
        period_start=datetime(2026, 1, 1, tzinfo=UTC),
        period_end=FEB_1,
        timezone="UTC",
        partial=False,
        label="January 2026",
        generated_at=FEB_1,
        counts=DigestCounts(
            requested=runs,
            ran=runs,
            passed=runs // 4,
            missed_target=runs // 4,
            cleanup_failed=runs // 4,
            overdue_plans=plans,
        ),
        runs=[run(i) for i in range(runs)],
        overdue=overdue,
    )


def test_a_digest_of_hundreds_of_runs_and_plans_fits_block_kit_and_counts_what_it_leaves_out() -> None:
    message = build_digest_message(big_digest(runs=800, plans=500))
    blocks = message.block_dicts()
    assert len(blocks) <= MAX_BLOCKS_PER_MESSAGE
    for block in blocks:
        assert Block.parse(block).to_dict() == block  # slack_sdk's Block Kit validation
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "*Missed a target (RTO or RPO)* (200)" in text and "more (`/dr executions`)" in text
    assert (
        "*Plans not drilled within their expected interval* (500)" in text
        and "more (`/dr plan list`)" in text
    )
    assert "<not a link>" not in text  # a plan name is escaped


def test_a_quiet_month_says_so() -> None:
    message = build_digest_message(big_digest(runs=0, plans=0))
    assert "No drills were requested" in message.block_dicts()[-1]["text"]["text"]
