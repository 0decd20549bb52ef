"""EventBridgeTrigger: APScheduler fires exactly at `next_fire_times`, DST rules included."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from freezegun import freeze_time

from orchestration.errors import InvalidScheduleExpression
from orchestration.schedule_expressions import parse
from scheduler.apscheduler_trigger import EventBridgeTrigger

BERLIN = "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def chain(trigger: EventBridgeTrigger, now: datetime, count: int) -> list[datetime]:
    """What APScheduler asks: the first fire from `now`, then each next one from the previous fire."""
    times: list[datetime] = []
    previous = None
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        times.append(fire)
        previous = now = fire
    return times


@pytest.mark.parametrize(
    ("text", "tz"),
    [
        ("cron(0 3 ? * SUN#1 *)", BERLIN),
        ("cron(0/15 1-3 * * ? *)", BERLIN),
        ("cron(30 1 * * ? *)", "America/New_York"),
        ("cron(0 9 L-3 * ? *)", "UTC"),
        ("cron(0 9 15W * ? *)", "Asia/Tokyo"),
        ("cron(0 12 ? * 6#5 2026-2027)", "UTC"),
    ],
)
def test_the_trigger_yields_the_same_times_as_next_fire_times(text: str, tz: str) -> None:
    expression = parse(text)
    now = utc(2026, 3, 1, 12)
    trigger = EventBridgeTrigger(expression, tz)
    assert chain(trigger, now, 40) == expression.next_fire_times(now - timedelta(microseconds=1), 40, tz)


def test_a_fire_due_exactly_now_is_not_lost_when_the_job_is_added() -> None:
    trigger = EventBridgeTrigger(parse("cron(0 9 * * ? *)"), "UTC")
    assert trigger.get_next_fire_time(None, utc(2026, 1, 1, 9)) == utc(2026, 1, 1, 9)
    assert trigger.get_next_fire_time(utc(2026, 1, 1, 9), utc(2026, 1, 1, 9)) == utc(2026, 1, 2, 9)


def test_a_repeated_local_time_is_not_run_again_when_clocks_go_back() -> None:
    """Berlin 2026-10-25: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET); it runs once."""
    trigger = EventBridgeTrigger(parse("cron(30 2 * * ? *)"), BERLIN)
    first = trigger.get_next_fire_time(None, utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)
    second = trigger.get_next_fire_time(first, first)
    assert second == utc(2026, 10, 26, 1, 30)  # the next day, not 01:30 UTC on the 25th
    quarter = EventBridgeTrigger(parse("cron(0/15 2 * * ? *)"), BERLIN)
    assert chain(quarter, utc(2026, 10, 24, 23, 50), 5) == [
        utc(2026, 10, 25, 0, 0),
        utc(2026, 10, 25, 0, 15),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 0, 45),
        utc(2026, 10, 26, 1, 0),
    ]


def test_a_missing_local_time_is_skipped_when_clocks_go_forward() -> None:
    trigger = EventBridgeTrigger(parse("cron(30 2 * * ? *)"), BERLIN)
    assert chain(trigger, utc(2026, 3, 28, 12), 2) == [utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]


def test_one_time_and_rate_schedules() -> None:
    once = EventBridgeTrigger(parse("at(2026-12-01T03:00:00)"), BERLIN)
    assert chain(once, utc(2026, 11, 1), 5) == [utc(2026, 12, 1, 2)]
    assert once.get_next_fire_time(None, utc(2026, 12, 2)) is None

    start = utc(2026, 1, 1, 8, 30)
    rate = EventBridgeTrigger(parse("rate(6 hours)"), BERLIN, start=start)
    assert chain(rate, utc(2026, 1, 1, 12), 3) == [
        utc(2026, 1, 1, 14, 30),
        utc(2026, 1, 1, 20, 30),
        utc(2026, 1, 2, 2, 30),
    ]
    assert rate.get_next_fire_time(None, utc(2025, 12, 31)) == start


def test_a_rate_without_a_start_counts_from_when_the_trigger_is_made() -> None:
    with freeze_time("2026-05-01 10:00:00"):
        trigger = EventBridgeTrigger(parse("rate(30 minutes)"), "UTC")
        assert trigger.start == utc(2026, 5, 1, 10)
        assert trigger.get_next_fire_time(None, utc(2026, 5, 1, 10)) == utc(2026, 5, 1, 10)  # immediately
        assert trigger.get_next_fire_time(utc(2026, 5, 1, 10), utc(2026, 5, 1, 10)) == utc(2026, 5, 1, 10, 30)


def test_construction_is_validated_and_the_trigger_is_a_base_trigger() -> None:
    trigger = EventBridgeTrigger(parse("cron(0 9 * * ? *)"), " Europe/Berlin ")
    assert isinstance(trigger, BaseTrigger)
    assert trigger.timezone == BERLIN
    assert str(trigger) == "eventbridge[cron(0 9 * * ? *), Europe/Berlin]"
    assert "EventBridgeTrigger" in repr(trigger)
    with pytest.raises(InvalidScheduleExpression):
        EventBridgeTrigger(parse("cron(0 9 * * ? *)"), "Mars/Olympus")
    with pytest.raises(ValueError, match="timezone-aware"):
        EventBridgeTrigger(parse("rate(1 hour)"), "UTC", start=datetime(2026, 1, 1))


def test_the_trigger_pickles_for_persistent_job_stores() -> None:
    trigger = EventBridgeTrigger(parse("cron(0 3 ? * SUN#1 *)"), BERLIN, start=utc(2026, 1, 1))
    restored = pickle.loads(pickle.dumps(trigger))
    assert (restored.expression, restored.timezone, restored.start) == (
        trigger.expression,
        BERLIN,
        utc(2026, 1, 1),
    )
    assert restored.get_next_fire_time(None, utc(2026, 1, 1)) == trigger.get_next_fire_time(
        None, utc(2026, 1, 1)
    )


@pytest.fixture
def paused_scheduler() -> Iterator[BackgroundScheduler]:
    scheduler = BackgroundScheduler(timezone=ZoneInfo(BERLIN))
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)


def _drill() -> None:  # pragma: no cover - the scheduler is paused; nothing runs
    raise AssertionError("a paused scheduler ran a job")


def test_inside_a_real_background_scheduler(paused_scheduler: BackgroundScheduler) -> None:
    with freeze_time("2026-10-20 12:00:00"):
        first_sunday = paused_scheduler.add_job(
            _drill, trigger=EventBridgeTrigger(parse("cron(0 3 ? * SUN#1 *)"), BERLIN), id="monthly"
        )
        nightly = paused_scheduler.add_job(
            _drill, trigger=EventBridgeTrigger(parse("cron(30 2 * * ? *)"), BERLIN), id="nightly"
        )
    assert first_sunday.next_run_time == utc(2026, 11, 1, 2)  # 03:00 CET on Sunday 1 November
    assert nightly.next_run_time == utc(2026, 10, 21, 0, 30)  # 02:30 CEST
    # what the scheduler computes after the run of 25 October (the clocks go back that night)
    assert nightly.trigger.get_next_fire_time(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 31)) == utc(
        2026, 10, 26, 1, 30
    )
    assert {job.id for job in paused_scheduler.get_jobs()} == {"monthly", "nightly"}
