"""EventBridge Scheduler expressions: AWS's documented examples, daylight saving, the L/W/# forms,
every parse error with its field, English descriptions, and property tests against a brute-force
minute-by-minute matcher written independently of the implementation."""

from __future__ import annotations

import calendar
import dataclasses
import itertools
import pickle
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from orchestration.errors import InvalidScheduleExpression
from orchestration.schedule_expressions import (
    AtExpression,
    CronExpression,
    RateExpression,
    ScheduleExpression,
    parse,
    validate_timezone,
)

BERLIN, NEW_YORK, LOS_ANGELES = "Europe/Berlin", "America/New_York", "America/Los_Angeles"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:  # noqa: PLR0917
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def walls(times: list[datetime], tz: str) -> list[str]:
    """Fire times as local wall clock text with the zone's abbreviation, for readable assertions."""
    return [t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z") for t in times]


def fires(text: str, after: datetime, count: int = 5, tz: str = "UTC", **kw: Any) -> list[datetime]:
    return parse(text).next_fire_times(after, count, tz, **kw)


def local_fires(text: str, after: datetime, count: int = 5, tz: str = "UTC") -> list[str]:
    return [w[:16] for w in walls(fires(text, after, count, tz), tz)]


# -- AWS's documented examples -------------------------------------------------------------------------------
# EventBridge "Cron expressions reference" example table (times in UTC+0) and the EventBridge Scheduler
# User Guide "Schedule types on EventBridge Scheduler".


def test_aws_run_at_10_00_every_day() -> None:
    assert local_fires("cron(0 10 * * ? *)", utc(2026, 1, 1), 3) == [
        "2026-01-01 10:00",
        "2026-01-02 10:00",
        "2026-01-03 10:00",
    ]


def test_aws_run_at_12_15_every_day() -> None:
    assert local_fires("cron(15 12 * * ? *)", utc(2026, 1, 1, 12, 15), 2) == [
        "2026-01-02 12:15",
        "2026-01-03 12:15",
    ]


def test_aws_run_at_18_00_every_monday_through_friday() -> None:
    # 2026-01-01 is a Thursday
    assert local_fires("cron(0 18 ? * MON-FRI *)", utc(2026, 1, 1), 4) == [
        "2026-01-01 18:00",
        "2026-01-02 18:00",
        "2026-01-05 18:00",
        "2026-01-06 18:00",
    ]


def test_aws_run_at_08_00_every_first_day_of_the_month() -> None:
    assert local_fires("cron(0 8 1 * ? *)", utc(2026, 1, 1, 9), 3) == [
        "2026-02-01 08:00",
        "2026-03-01 08:00",
        "2026-04-01 08:00",
    ]


def test_aws_run_every_15_minutes() -> None:
    assert local_fires("cron(0/15 * * * ? *)", utc(2026, 1, 1, 23, 40), 4) == [
        "2026-01-01 23:45",
        "2026-01-02 00:00",
        "2026-01-02 00:15",
        "2026-01-02 00:30",
    ]


def test_aws_run_every_10_minutes_monday_through_friday() -> None:
    # Friday 2026-01-02 23:50 is the last of the week; Monday 00:00 is next
    assert local_fires("cron(0/10 * ? * MON-FRI *)", utc(2026, 1, 2, 23, 45), 3) == [
        "2026-01-02 23:50",
        "2026-01-05 00:00",
        "2026-01-05 00:10",
    ]


def test_aws_run_every_5_minutes_between_8_00_and_17_55_on_weekdays() -> None:
    times = fires("cron(0/5 8-17 ? * MON-FRI *)", utc(2026, 1, 2), 121)
    assert walls(times[:2], "UTC") == ["2026-01-02 08:00 UTC", "2026-01-02 08:05 UTC"]
    assert walls(times[119:], "UTC") == ["2026-01-02 17:55 UTC", "2026-01-05 08:00 UTC"]


def test_aws_run_every_30_minutes_from_22_00_to_02_00_on_weekdays() -> None:
    # "between 10:00 pm on the starting day to 2:00 am on the following day"; the hour range 20-2 wraps
    # past midnight and the weekday is that of each local calendar day.
    after = utc(2026, 1, 5, 2, 45)  # Monday
    assert local_fires("cron(0/30 20-2 ? * MON-FRI *)", after, 10)[:9] == [
        "2026-01-05 20:00",
        "2026-01-05 20:30",
        "2026-01-05 21:00",
        "2026-01-05 21:30",
        "2026-01-05 22:00",
        "2026-01-05 22:30",
        "2026-01-05 23:00",
        "2026-01-05 23:30",
        "2026-01-06 00:00",
    ]


def test_aws_run_from_00_00_to_02_00_on_monday_morning() -> None:
    assert local_fires("cron(0 0-2 ? * MON *)", utc(2026, 1, 1), 4) == [
        "2026-01-05 00:00",
        "2026-01-05 01:00",
        "2026-01-05 02:00",
        "2026-01-12 00:00",
    ]


def test_aws_scheduler_guide_last_friday_of_each_month_in_2022_and_2023() -> None:
    """User Guide: `cron(15 10 ? * 6L 2022-2023)` runs at 10:15am UTC+0 on the last Friday of each month
    during the years 2022 to 2023."""
    times = fires("cron(15 10 ? * 6L 2022-2023)", utc(2021, 6, 1), 30)
    assert len(times) == 24
    assert walls(times[:3], "UTC") == [
        "2022-01-28 10:15 UTC",
        "2022-02-25 10:15 UTC",
        "2022-03-25 10:15 UTC",
    ]
    assert times[-1] == utc(2023, 12, 29, 10, 15)
    for t in times:
        assert t.weekday() == calendar.FRIDAY and t.day + 7 > calendar.monthrange(t.year, t.month)[1]


def test_aws_scheduler_guide_first_monday_of_every_month_at_8_pst() -> None:
    """User Guide: "a cron-based schedule that runs at 8:00 a.m. PST on the first Monday of every month"."""
    times = fires("cron(0 8 ? * 2#1 *)", utc(2026, 1, 1), 4, LOS_ANGELES)
    assert walls(times, LOS_ANGELES) == [
        "2026-01-05 08:00 PST",
        "2026-02-02 08:00 PST",
        "2026-03-02 08:00 PST",
        "2026-04-06 08:00 PDT",
    ]


def test_aws_scheduler_guide_every_day_at_8_30_in_new_york() -> None:
    times = fires("cron(30 8 * * ? *)", utc(2026, 3, 7), 2, NEW_YORK)
    assert times == [utc(2026, 3, 7, 13, 30), utc(2026, 3, 8, 12, 30)]  # EST, then EDT


def test_aws_scheduler_guide_one_time_schedule_in_los_angeles() -> None:
    """User Guide: `at(2022-11-20T13:00:00)` in America/Los_Angeles runs once at 1pm UTC-8."""
    expression = parse("at(2022-11-20T13:00:00)")
    assert expression.next_fire_times(utc(2022, 11, 1), 5, LOS_ANGELES) == [utc(2022, 11, 20, 21)]
    assert expression.next_fire_times(utc(2022, 11, 20, 21), 5, LOS_ANGELES) == []


def test_aws_wildcard_examples() -> None:
    # "1/10 ... every tenth minute, starting from the first minute of the hour (the 11th, 21st, 31st ...)"
    assert [t.minute for t in fires("cron(1/10 * * * ? *)", utc(2026, 1, 1), 7)] == [1, 11, 21, 31, 41, 51, 1]
    # "JAN,FEB,MAR includes January, February, and March"
    assert [t.month for t in fires("cron(0 0 1 JAN,FEB,MAR ? *)", utc(2026, 1, 1), 4)] == [2, 3, 1, 2]
    # "1-15 includes days 1 through 15 of the specified month"
    assert [t.day for t in fires("cron(0 0 1-15 * ? *)", utc(2026, 1, 14), 3)] == [15, 1, 2]
    # "3#2 would be the second Tuesday of the month"
    assert [t.date() for t in fires("cron(0 0 ? * 3#2 *)", utc(2026, 1, 1), 3)] == [
        date(2026, 1, 13),
        date(2026, 2, 10),
        date(2026, 3, 10),
    ]
    # "3W specifies the weekday closest to the third day of the month"
    assert [t.date() for t in fires("cron(0 0 3W * ? *)", utc(2026, 1, 1), 5)] == [
        date(2026, 1, 2),  # the 3rd is a Saturday: Friday
        date(2026, 2, 3),
        date(2026, 3, 3),
        date(2026, 4, 3),
        date(2026, 5, 4),  # the 3rd is a Sunday: Monday
    ]


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(1 day)", timedelta(days=1)),
    ],
)
def test_aws_rate_examples(text: str, interval: timedelta) -> None:
    expression = parse(text)
    assert isinstance(expression, RateExpression)
    assert expression.interval == interval
    start = utc(2026, 1, 1, 0, 0, 7)
    assert expression.next_fire_times(start, 3, "UTC", start=start) == [
        start + interval * k for k in (1, 2, 3)
    ]


def test_aws_rate_days_are_24_hours_across_daylight_saving() -> None:
    """User Guide: for `rate(1 days)` "days represents a 24-hour duration on the clock"; when a day has
    23 or 25 hours EventBridge Scheduler still fires 24 hours after the last invocation."""
    start = datetime(2026, 3, 28, 12, tzinfo=ZoneInfo(BERLIN))
    times = parse("rate(1 day)").next_fire_times(start, 2, BERLIN, start=start)
    assert walls(times, BERLIN) == ["2026-03-29 13:00 CEST", "2026-03-30 13:00 CEST"]


def test_aws_invalid_examples_are_refused() -> None:
    for text in ("rate(1 hours)", "rate(5 hour)", "cron(0 9 * * * *)", "cron(0 9 ? * 3#1,6#3 *)"):
        with pytest.raises(InvalidScheduleExpression):
            parse(text)


# -- daylight saving -----------------------------------------------------------------------------------------


def test_berlin_spring_forward_skips_the_missing_time() -> None:
    """2026-03-29 02:00 CET becomes 03:00 CEST: 02:30 does not exist, that day's run is skipped."""
    times = fires("cron(30 2 * * ? *)", utc(2026, 3, 27, 12), 3, BERLIN)
    assert walls(times, BERLIN) == ["2026-03-28 02:30 CET", "2026-03-30 02:30 CEST", "2026-03-31 02:30 CEST"]


def test_berlin_fall_back_fires_the_repeated_time_once_at_its_first_occurrence() -> None:
    """2026-10-25 03:00 CEST becomes 02:00 CET: 02:30 happens twice and fires once, before the shift."""
    times = fires("cron(30 2 * * ? *)", utc(2026, 10, 24, 12), 2, BERLIN)
    assert times == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert walls(times, BERLIN) == ["2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"]
    # asking from inside the repeated hour (the second 02:10) does not bring back the second 02:30
    assert fires("cron(30 2 * * ? *)", utc(2026, 10, 25, 1, 10), 1, BERLIN) == [utc(2026, 10, 26, 1, 30)]


def test_berlin_every_15_minutes_through_both_transitions() -> None:
    spring = fires("cron(0/15 * * * ? *)", utc(2026, 3, 29, 0, 30), 4, BERLIN)
    assert walls(spring, BERLIN) == [
        "2026-03-29 01:45 CET",
        "2026-03-29 03:00 CEST",
        "2026-03-29 03:15 CEST",
        "2026-03-29 03:30 CEST",
    ]
    autumn = fires("cron(0/15 * * * ? *)", utc(2026, 10, 24, 23, 50), 7, BERLIN)
    assert walls(autumn, BERLIN) == [
        "2026-10-25 02:00 CEST",
        "2026-10-25 02:15 CEST",
        "2026-10-25 02:30 CEST",
        "2026-10-25 02:45 CEST",
        "2026-10-25 03:00 CET",  # 75 minutes later: the repeated 02:00-02:45 CET do not fire
        "2026-10-25 03:15 CET",
        "2026-10-25 03:30 CET",
    ]
    assert autumn[4] - autumn[3] == timedelta(minutes=75)


def test_new_york_spring_forward_2026_03_08() -> None:
    times = fires("cron(30 2 * * ? *)", utc(2026, 3, 7, 12), 2, NEW_YORK)
    assert walls(times, NEW_YORK) == ["2026-03-09 02:30 EDT", "2026-03-10 02:30 EDT"]
    hourly = fires("cron(0 * * * ? *)", utc(2026, 3, 8, 5, 30), 3, NEW_YORK)
    assert walls(hourly, NEW_YORK) == ["2026-03-08 01:00 EST", "2026-03-08 03:00 EDT", "2026-03-08 04:00 EDT"]


def test_new_york_fall_back_2026_11_01() -> None:
    times = fires("cron(30 1 * * ? *)", utc(2026, 10, 31, 12), 2, NEW_YORK)
    assert times == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    assert walls(times, NEW_YORK) == ["2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"]


def test_los_angeles_example_from_the_user_guide() -> None:
    """User Guide: `cron(30 2 * * ? *)` in America/Los_Angeles is skipped on the spring-forward day and
    runs only once, before the shift, on the fall-back day."""
    spring = fires("cron(30 2 * * ? *)", utc(2026, 3, 7, 12), 1, LOS_ANGELES)
    assert walls(spring, LOS_ANGELES) == ["2026-03-09 02:30 PDT"]
    autumn = fires("cron(30 1 * * ? *)", utc(2026, 10, 31, 12), 2, LOS_ANGELES)
    assert walls(autumn, LOS_ANGELES) == ["2026-11-01 01:30 PDT", "2026-11-02 01:30 PST"]


def test_half_hour_shift_in_lord_howe_and_midnight_shift_in_santiago() -> None:
    # Lord Howe moves its clock by 30 minutes: 02:00 -> 02:30 on 2026-10-04, 02:00 -> 01:30 on 2026-04-05
    zone = "Australia/Lord_Howe"
    spring = fires("cron(0/15 2 * * ? *)", utc(2026, 10, 3, 12), 2, zone)
    assert walls(spring, zone)[0][:16] == "2026-10-04 02:30"
    autumn = fires("cron(45 1 * * ? *)", utc(2026, 4, 4, 12), 2, zone)
    assert autumn == [utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)]  # +11:00, then +10:30
    # Santiago springs forward at midnight: 00:30 on 2026-09-06 does not exist
    santiago = fires("cron(30 0 * * ? *)", utc(2026, 9, 5, 12), 1, "America/Santiago")
    assert walls(santiago, "America/Santiago")[0][:16] == "2026-09-07 00:30"


def test_at_on_a_skipped_wall_time_never_fires_and_on_a_repeated_one_fires_first() -> None:
    assert fires("at(2026-03-29T02:30:00)", utc(2026, 1, 1), 1, BERLIN) == []
    assert fires("at(2026-10-25T02:30:00)", utc(2026, 1, 1), 1, BERLIN) == [utc(2026, 10, 25, 0, 30)]


def test_utc_and_fixed_zones_are_not_adjusted() -> None:
    assert fires("cron(30 2 * * ? *)", utc(2026, 3, 28, 12), 1, "UTC") == [utc(2026, 3, 29, 2, 30)]
    assert fires("cron(30 2 * * ? *)", utc(2026, 3, 28, 12), 1, "Asia/Kolkata") == [utc(2026, 3, 28, 21)]


# -- leap years, L, W, # -------------------------------------------------------------------------------------


def test_february_29_fires_only_in_leap_years() -> None:
    times = fires("cron(0 12 29 2 ? *)", utc(2026, 1, 1), 3)
    assert [t.date() for t in times] == [date(2028, 2, 29), date(2032, 2, 29), date(2036, 2, 29)]
    assert fires("cron(0 0 ? 2 1#5 *)", utc(2026, 1, 1), 1) == [
        utc(2032, 2, 29)
    ]  # a fifth Sunday in February


def test_last_day_and_days_before_it() -> None:
    assert [t.date() for t in fires("cron(0 0 L * ? *)", utc(2026, 1, 1), 3)] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    assert [t.date() for t in fires("cron(0 0 L * ? *)", utc(2028, 2, 1), 1)] == [date(2028, 2, 29)]
    assert [t.date() for t in fires("cron(0 0 L-3 * ? *)", utc(2026, 1, 1), 3)] == [
        date(2026, 1, 28),
        date(2026, 2, 25),
        date(2026, 3, 28),
    ]
    assert [t.date() for t in fires("cron(0 0 L-3 2 ? *)", utc(2027, 6, 1), 1)] == [date(2028, 2, 26)]
    # L-30 is the 1st of a 31-day month and nothing in shorter months
    assert [t.month for t in fires("cron(0 0 L-30 * ? *)", utc(2026, 1, 2), 3)] == [3, 5, 7]


def test_last_weekday_of_the_month() -> None:
    # Jan 31 2026 is a Saturday, May 31 a Sunday, Mar 31 a Tuesday
    times = fires("cron(0 0 LW * ? *)", utc(2026, 1, 1), 5)
    assert [t.date() for t in times] == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 29),
    ]


def test_nearest_weekday_does_not_cross_the_month() -> None:
    def on(text: str, year: int, month: int) -> date:
        return fires(text, utc(year, month, 1) - timedelta(minutes=1), 1)[0].date()

    assert on("cron(0 0 15W * ? *)", 2026, 2) == date(2026, 2, 16)  # Sunday 15th -> Monday
    assert on("cron(0 0 15W * ? *)", 2026, 8) == date(2026, 8, 14)  # Saturday 15th -> Friday
    assert on("cron(0 0 15W * ? *)", 2026, 4) == date(2026, 4, 15)  # Wednesday
    assert on("cron(0 0 1W * ? *)", 2026, 8) == date(2026, 8, 3)  # Saturday 1st -> Monday 3rd, not July 31
    assert on("cron(0 0 31W * ? *)", 2026, 5) == date(2026, 5, 29)  # Sunday 31st -> Friday 29th
    # a 31W in a 30-day month selects nothing that month
    assert [t.month for t in fires("cron(0 0 31W * ? *)", utc(2026, 4, 1), 2)] == [5, 7]


def test_fifth_friday_is_skipped_in_months_without_one() -> None:
    expected = [
        date(2026, 1, 30),
        date(2026, 5, 29),
        date(2026, 7, 31),
        date(2026, 10, 30),
        date(2027, 1, 29),
    ]
    assert [t.date() for t in fires("cron(0 9 ? * 6#5 *)", utc(2026, 1, 1), 5)] == expected
    assert [t.date() for t in fires("cron(0 9 ? * FRI#5 *)", utc(2026, 1, 1), 5)] == expected


def test_last_weekday_of_month_forms() -> None:
    assert [t.date() for t in fires("cron(0 0 ? * 2L *)", utc(2026, 1, 1), 2)] == [
        date(2026, 1, 26),
        date(2026, 2, 23),
    ]
    assert fires("cron(0 0 ? * MONL *)", utc(2026, 1, 1), 2) == fires(
        "cron(0 0 ? * 2L *)", utc(2026, 1, 1), 2
    )
    # L alone in day-of-week is the last day of the week: every Saturday
    assert [t.date() for t in fires("cron(0 0 ? * L *)", utc(2026, 1, 1), 2)] == [
        date(2026, 1, 3),
        date(2026, 1, 10),
    ]


# -- names, numbers, ranges, lists, steps --------------------------------------------------------------------


def test_names_and_numbers_are_the_same_and_1_is_sunday() -> None:
    after = utc(2026, 1, 1)
    assert fires("cron(0 9 ? JAN-MAR MON-FRI *)", after, 20) == fires("cron(0 9 ? 1-3 2-6 *)", after, 20)
    assert [t.strftime("%a") for t in fires("cron(0 9 ? * 1 *)", after, 1)] == ["Sun"]
    assert [t.strftime("%a") for t in fires("cron(0 9 ? * 7 *)", after, 1)] == ["Sat"]
    assert parse("cron(0 9 ? jan-mar mon-fri *)").to_aws() == "cron(0 9 ? JAN-MAR MON-FRI *)"


def test_ranges_lists_and_steps() -> None:
    assert [t.minute for t in fires("cron(0/15 9 * * ? *)", utc(2026, 1, 1), 4)] == [0, 15, 30, 45]
    assert [t.day for t in fires("cron(0 0 1,15 * ? *)", utc(2026, 1, 1), 4)] == [15, 1, 15, 1]
    assert [t.hour for t in fires("cron(0 9-17/4 * * ? *)", utc(2026, 1, 1), 4)] == [9, 13, 17, 9]
    assert [t.weekday() for t in fires("cron(0 0 ? * FRI-MON *)", utc(2026, 1, 1), 4)] == [4, 5, 6, 0]
    assert [t.month for t in fires("cron(0 0 1 NOV-FEB ? *)", utc(2026, 1, 15), 4)] == [2, 11, 12, 1]
    assert [t.year for t in fires("cron(0 0 1 1 ? 2026/3)", utc(2025, 1, 1), 3)] == [2026, 2029, 2032]
    assert [t.minute for t in fires("cron(*/20 0 * * ? *)", utc(2026, 1, 1), 3)] == [20, 40, 0]


# -- errors name their field ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("cron(0 9 ? * 8 *)", "day-of-week", "day-of-week field '8': values are 1-7 or SUN-SAT"),
        ("cron(0 9 ? * 0 *)", "day-of-week", "day-of-week field '0': values are 1-7 or SUN-SAT"),
        ("cron(0 9 ? * MON,8 *)", "day-of-week", "day-of-week field 'MON,8': '8': values are 1-7 or SUN-SAT"),
        ("cron(0 9 ? * SUNDAY *)", "day-of-week", "values are 1-7 or SUN-SAT"),
        (
            "cron(0 9 * * MON *)",
            "day-of-month/day-of-week",
            "cron: day-of-month and day-of-week cannot both be set; use ? in one of them",
        ),
        ("cron(0 9 * * * *)", "day-of-month/day-of-week", "cannot both be set; use ? in one of them"),
        ("cron(0 9 ? * ? *)", "day-of-month/day-of-week", "cannot both be ?"),
        ("cron(60 9 * * ? *)", "minutes", "minutes field '60': values are 0-59"),
        ("cron(0 24 * * ? *)", "hours", "hours field '24': values are 0-23"),
        ("cron(0 9 32 * ? *)", "day-of-month", "day-of-month field '32': values are 1-31"),
        ("cron(0 9 0 * ? *)", "day-of-month", "day-of-month field '0': values are 1-31"),
        ("cron(0 9 * 13 ? *)", "month", "month field '13': values are 1-12 or JAN-DEC"),
        ("cron(0 9 * JANUARY ? *)", "month", "values are 1-12 or JAN-DEC"),
        ("cron(0 9 * * ? 1969)", "year", "year field '1969': values are 1970-2199"),
        ("cron(0 9 * * ? 2200)", "year", "values are 1970-2199"),
        ("cron(0 9 * * ? 2030-2020)", "year", "the range goes backwards"),
        (
            "cron(0 9 * * ?)",
            "cron",
            "expected 6 fields (minutes hours day-of-month month day-of-week year), got 5",
        ),
        ("cron(0 9 * * ? * *)", "cron", "got 7"),
        ("cron()", "cron", "got 0"),
        ("cron(0/0 9 * * ? *)", "minutes", "the step after / must be a number 1-60"),
        ("cron(0/x 9 * * ? *)", "minutes", "the step after / must be a number"),
        ("cron(0 9 1,,2 * ? *)", "day-of-month", "an empty value in the list"),
        ("cron(0 9 1-2-3 * ? *)", "day-of-month", "not a value, range or step"),
        ("cron(L 9 * * ? *)", "minutes", "L and W are only allowed in day-of-month or day-of-week"),
        ("cron(0 ? * * ? *)", "hours", "? is only allowed in day-of-month or day-of-week"),
        ("cron(0 9 * 1#2 ? *)", "month", "# is only allowed in day-of-week"),
        ("cron(0 9 L,15 * ? *)", "day-of-month", "L and W must be used alone"),
        ("cron(0 9 1-15W * ? *)", "day-of-month", "L and W must be used alone"),
        ("cron(0 9 L-31 * ? *)", "day-of-month", "the offset after L- must be 1-30"),
        ("cron(0 9 32W * ? *)", "day-of-month", "the day before W must be 1-31"),
        ("cron(0 9 3#2 * ? *)", "day-of-month", "# is only allowed in day-of-week"),
        ("cron(0 9 ? * 3#1,6#3 *)", "day-of-week", "# can be used only once and alone"),
        ("cron(0 9 ? * 3#6 *)", "day-of-week", "the number after # must be 1-5"),
        ("cron(0 9 ? * 9#1 *)", "day-of-week", "values are 1-7 or SUN-SAT"),
        ("cron(0 9 ? * 1/2 *)", "day-of-week", "/ is not allowed in day-of-week"),
        ("cron(0 9 ? * 2L,3 *)", "day-of-week", "L must be used alone"),
        ("cron(0 9 ? * 9L *)", "day-of-week", "values are 1-7 or SUN-SAT"),
        ("cron(0 9 ?,1 * ? *)", "day-of-month", "? must be used alone"),
        ("rate(0 minutes)", "value", "rate: the value must be a positive whole number, got '0'"),
        ("rate(-1 minutes)", "value", "positive whole number"),
        ("rate(1.5 hours)", "value", "positive whole number"),
        ("rate(1 minutes)", "unit", "rate: use 'minute' for 1, 'minutes' otherwise"),
        ("rate(5 minute)", "unit", "rate: use 'minute' for 1, 'minutes' otherwise"),
        ("rate(1 hours)", "unit", "rate: use 'hour' for 1, 'hours' otherwise"),
        ("rate(5 day)", "unit", "rate: use 'day' for 1, 'days' otherwise"),
        ("rate(2 weeks)", "unit", "the unit must be minute(s), hour(s) or day(s), got 'weeks'"),
        ("rate(5)", "rate", "expected rate(value unit)"),
        ("rate(5 minutes please)", "rate", "expected rate(value unit)"),
        ("at(2026-02-30T03:00:00)", "at", "at: '2026-02-30T03:00:00' is not a valid date and time"),
        ("at(2026-12-01T24:00:00)", "at", "is not a valid date and time"),
        ("at(2026-12-01 03:00:00)", "at", "expected at(yyyy-mm-ddThh:mm:ss)"),
        ("at(2026-12-01T03:00)", "at", "expected at(yyyy-mm-ddThh:mm:ss)"),
        ("at(2200-01-01T00:00:00)", "at", "the year must be 1970-2199"),
        ("every day at 3", "expression", "use cron(minutes hours day-of-month month day-of-week year)"),
        ("", "expression", "rate(value unit) or at(yyyy-mm-ddThh:mm:ss)"),
        ("crontab(0 9 * * ? *)", "expression", "use cron("),
        ("cron 0 9 * * ? *", "expression", "use cron("),
    ],
)
def test_every_error_names_its_field(text: str, field: str, message: str) -> None:
    with pytest.raises(InvalidScheduleExpression) as raised:
        parse(text)
    error = raised.value
    assert message in error.message
    assert error.details["field"] == field
    assert error.code == "INVALID_SCHEDULE_EXPRESSION" and error.status == 400
    assert error.to_body()["field"] == field
    if field != "expression" or text:
        assert error.details["expression"] == text.strip()


def test_the_exact_messages_the_brief_names() -> None:
    for text, message in [
        ("cron(0 9 ? * 8 *)", "day-of-week field '8': values are 1-7 or SUN-SAT"),
        (
            "cron(0 9 1 * MON *)",
            "cron: day-of-month and day-of-week cannot both be set; use ? in one of them",
        ),
        ("rate(1 minutes)", "rate: use 'minute' for 1, 'minutes' otherwise"),
    ]:
        with pytest.raises(InvalidScheduleExpression) as raised:
            parse(text)
        assert raised.value.message == message


def test_time_zones_are_iana_names() -> None:
    assert validate_timezone(" Europe/Berlin ") == "Europe/Berlin"
    assert validate_timezone("UTC") == "UTC"
    assert validate_timezone("America/Argentina/Buenos_Aires") == "America/Argentina/Buenos_Aires"
    for bad in ("Mars/Olympus", "europe/berlin", "posix/Europe/Berlin", "../../etc/passwd", "", "CEST+2"):
        with pytest.raises(InvalidScheduleExpression) as raised:
            validate_timezone(bad)
        assert raised.value.details["field"] == "timezone"
        assert "not an IANA time zone name" in raised.value.message
    with pytest.raises(InvalidScheduleExpression):
        parse("cron(0 9 * * ? *)").next_fire_times(utc(2026, 1, 1), 1, "Mars/Olympus")
    with pytest.raises(InvalidScheduleExpression):
        parse("rate(1 hour)").describe("Nowhere/Town")


def test_constructors_validate_too() -> None:
    with pytest.raises(InvalidScheduleExpression):
        CronExpression("0", "9", "*", "*", "MON", "*")
    with pytest.raises(InvalidScheduleExpression):
        RateExpression(0, "minutes")
    with pytest.raises(InvalidScheduleExpression):
        RateExpression(5, "weeks")  # type: ignore[arg-type]
    with pytest.raises(InvalidScheduleExpression):
        AtExpression(datetime(2026, 1, 1, tzinfo=UTC))


# -- arguments, never-firing expressions, speed --------------------------------------------------------------


def test_after_must_be_aware_and_count_not_negative() -> None:
    for text in ("cron(0 9 * * ? *)", "rate(1 hour)", "at(2026-12-01T03:00:00)"):
        expression = parse(text)
        with pytest.raises(ValueError, match="timezone-aware"):
            expression.next_fire_times(datetime(2026, 1, 1), 1, "UTC")
        with pytest.raises(ValueError, match="timezone-aware"):
            expression.next_fire_times(utc(2026, 1, 1), 1, "UTC", start=datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="count"):
            expression.next_fire_times(utc(2026, 1, 1), -1, "UTC")
        assert expression.next_fire_times(utc(2026, 1, 1), 0, "UTC") == []


def test_times_are_utc_and_strictly_after() -> None:
    after = datetime(2026, 1, 1, 10, tzinfo=ZoneInfo(BERLIN))  # 09:00 UTC
    times = fires("cron(0 * * * ? *)", after, 2, BERLIN)
    assert times == [utc(2026, 1, 1, 10), utc(2026, 1, 1, 11)]
    assert all(t.tzinfo is UTC for t in times)


def test_at_in_the_past_yields_nothing() -> None:
    expression = parse("at(2026-12-01T03:00:00)")
    assert expression.next_fire_times(utc(2027, 1, 1), 5, BERLIN) == []
    assert expression.next_fire_times(utc(2026, 12, 1, 2), 5, BERLIN) == []  # exactly at the fire time
    assert expression.next_fire_times(utc(2026, 11, 1), 5, BERLIN) == [utc(2026, 12, 1, 2)]


def test_never_firing_expressions_give_up_after_2199() -> None:
    assert fires("cron(0 0 30 2 ? *)", utc(2026, 1, 1)) == []
    assert fires("cron(0 0 31 4,6,9,11 ? *)", utc(2026, 1, 1)) == []
    assert fires("cron(0 0 * * ? 2020-2022)", utc(2026, 1, 1)) == []
    assert fires("cron(0 0 1 1 ? 2199)", utc(2026, 1, 1)) == [utc(2199, 1, 1)]
    assert fires("cron(0 0 * * ? *)", utc(2199, 12, 30), 5) == [utc(2199, 12, 31)]
    assert fires("cron(0 0 * * ? *)", utc(2300, 1, 1), 5) == []
    assert fires("rate(100 days)", utc(2199, 6, 1), 5) == [utc(2199, 9, 9), utc(2199, 12, 18)]


# -- start, rate anchoring -----------------------------------------------------------------------------------


def test_rate_counts_from_start_and_start_is_the_first_fire() -> None:
    start = utc(2026, 1, 1, 9, 0, 30)
    rate = parse("rate(2 hours)")
    assert rate.next_fire_times(utc(2026, 1, 1), 2, "UTC", start=start) == [start, start + timedelta(hours=2)]
    assert rate.next_fire_times(utc(2026, 1, 1, 12), 2, "UTC", start=start) == [
        utc(2026, 1, 1, 13, 0, 30),
        utc(2026, 1, 1, 15, 0, 30),
    ]
    # without a start the schedule counts from `after` (its creation time)
    assert rate.next_fire_times(utc(2026, 1, 1), 1, "UTC") == [utc(2026, 1, 1, 2)]


def test_cron_start_holds_back_the_first_fire_and_at_ignores_it() -> None:
    start = utc(2026, 1, 10, 10)
    assert fires("cron(0 10 * * ? *)", utc(2026, 1, 1), 2, start=start) == [start, utc(2026, 1, 11, 10)]
    assert fires("at(2026-01-05T00:00:00)", utc(2026, 1, 1), 1, start=start) == [utc(2026, 1, 5)]


# -- canonical text and descriptions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("  cron( 0  3 ? * sun#1 * ) ", "cron(0 3 ? * SUN#1 *)"),
        ("CRON(0 3 ? * 2#1 *)", "cron(0 3 ? * 2#1 *)"),
        ("RATE(5 Minutes)", "rate(5 minutes)"),
        ("rate(1 DAY)", "rate(1 day)"),
        ("at(2026-12-01T03:00:00)", "at(2026-12-01T03:00:00)"),
    ],
)
def test_to_aws_is_canonical_and_round_trips(text: str, canonical: str) -> None:
    expression = parse(text)
    assert expression.to_aws() == canonical == str(expression)
    assert parse(canonical) == expression
    assert pickle.loads(pickle.dumps(expression)) == expression


def test_kinds() -> None:
    assert [parse(t).kind for t in ("cron(0 0 * * ? *)", "rate(1 day)", "at(2026-01-01T00:00:00)")] == [
        "cron",
        "rate",
        "at",
    ]
    assert isinstance(parse("rate(1 day)"), ScheduleExpression)


@pytest.mark.parametrize(
    ("text", "tz", "sentence"),
    [
        ("cron(0 3 ? * SUN#1 *)", BERLIN, "At 03:00 on the first Sunday of every month, Europe/Berlin"),
        ("rate(2 hours)", BERLIN, "Every 2 hours"),
        ("rate(1 hour)", "UTC", "Every hour"),
        ("rate(1 minute)", "UTC", "Every minute"),
        ("rate(7 days)", "UTC", "Every 7 days"),
        ("at(2026-12-01T03:00:00)", BERLIN, "Once, at 2026-12-01 03:00 Europe/Berlin"),
        ("at(2026-12-01T03:00:30)", "UTC", "Once, at 2026-12-01 03:00:30 UTC"),
        ("cron(0 10 * * ? *)", "UTC", "At 10:00 every day, UTC"),
        ("cron(0 18 ? * MON-FRI *)", "UTC", "At 18:00 every Monday through Friday, UTC"),
        ("cron(0 8 1 * ? *)", "UTC", "At 08:00 on the 1st of every month, UTC"),
        ("cron(0/15 * * * ? *)", "UTC", "Every 15 minutes, UTC"),
        ("cron(1/10 * * * ? *)", "UTC", "Every 10 minutes from minute 1, UTC"),
        ("cron(0/10 * ? * MON-FRI *)", "UTC", "Every 10 minutes on Monday through Friday, UTC"),
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            "UTC",
            "Every 5 minutes between 08:00 and 17:55 on Monday through Friday, UTC",
        ),
        (
            "cron(0/30 20-2 ? * MON-FRI *)",
            "UTC",
            "Every 30 minutes between 20:00 and 02:30 on Monday through Friday, UTC",
        ),
        ("cron(0 0-2 ? * MON *)", "UTC", "At 00:00, 01:00 and 02:00 every Monday, UTC"),
        (
            "cron(15 10 ? * 6L 2022-2023)",
            "UTC",
            "At 10:15 on the last Friday of every month in 2022 through 2023, UTC",
        ),
        ("cron(0 12 29 2 ? *)", "UTC", "At 12:00 on the 29th of February, UTC"),
        ("cron(0 9 L * ? *)", "UTC", "At 09:00 on the last day of every month, UTC"),
        ("cron(0 9 L-3 * ? *)", "UTC", "At 09:00 3 days before the last day of every month, UTC"),
        ("cron(0 9 L-1 * ? *)", "UTC", "At 09:00 1 day before the last day of every month, UTC"),
        ("cron(0 9 LW * ? *)", "UTC", "At 09:00 on the last weekday of every month, UTC"),
        ("cron(0 9 15W * ? *)", "UTC", "At 09:00 on the weekday nearest the 15th of every month, UTC"),
        ("cron(0 9 ? * FRI#5 *)", "UTC", "At 09:00 on the fifth Friday of every month, UTC"),
        ("cron(0 9 1,15 * ? *)", "UTC", "At 09:00 on the 1st and 15th of every month, UTC"),
        ("cron(0 9 1-7 * ? *)", "UTC", "At 09:00 on the 1st through 7th of every month, UTC"),
        ("cron(0 9 1/5 * ? *)", "UTC", "At 09:00 on every 5th day from the 1st of every month, UTC"),
        ("cron(0 9 * JAN,JUL ? *)", "UTC", "At 09:00 every day in January and July, UTC"),
        ("cron(0 9 1 1/3 ? *)", "UTC", "At 09:00 on the 1st of every 3rd month from January, UTC"),
        (
            "cron(0 9 ? NOV-FEB MON,WED,FRI *)",
            "UTC",
            "At 09:00 every Monday, Wednesday and Friday in November through February, UTC",
        ),
        ("cron(5 * * * ? *)", "UTC", "At minute 5 of every hour, UTC"),
        ("cron(0,30 * * * ? *)", "UTC", "At minutes 0 and 30 of every hour, UTC"),
        ("cron(* 3 * * ? *)", "UTC", "Every minute between 03:00 and 03:59, UTC"),
        ("cron(10-20 3 * * ? *)", "UTC", "Every minute between 03:10 and 03:20, UTC"),
        ("cron(* 9,17 * * ? *)", "UTC", "Every minute during the hours 09:00 and 17:00, UTC"),
        (
            "cron(0 9-17 ? * MON-FRI *)",
            "UTC",
            "At minute 0 of every hour from 09:00 through 17:00 on Monday through Friday, UTC",
        ),
        ("cron(0 0/4 * * ? *)", "UTC", "At 00:00, 04:00, 08:00, 12:00, 16:00 and 20:00 every day, UTC"),
        ("cron(0 0/2 * * ? *)", "UTC", "At minute 0 of every 2nd hour from 00:00, UTC"),
        ("cron(0 9 ? * L *)", "UTC", "At 09:00 every Saturday (the last day of the week), UTC"),
        ("cron(0 9 1 1 ? 2026,2028)", "UTC", "At 09:00 on the 1st of January in 2026 and 2028, UTC"),
    ],
)
def test_describe(text: str, tz: str, sentence: str) -> None:
    assert parse(text).describe(tz) == sentence


# -- property tests ------------------------------------------------------------------------------------------
# A cron expression is drawn as structured field values, rendered to text for `parse`, and checked
# against `_Spec.matches`, a deliberately naive per-minute matcher that shares no code with the
# engine (orchestration.schedule_expressions). For each example: (a) every produced time matches in
# local time and is the first occurrence of its wall time, (b) times strictly increase, (c) brute
# force over every UTC minute of a window finds exactly the produced times (a repeated wall time
# counts once, a skipped one never).

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute daylight-saving shift
    "America/Santiago",  # shifts at midnight
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kolkata",
]
WINDOW = timedelta(days=2)
DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

Item = tuple[Any, ...]  # ("star", step) | ("value", v) | ("from", a, step) | ("range", a, b, step)


def _item_has(item: Item, v: int, lo: int, hi: int) -> bool:
    kind = item[0]
    if kind == "star":
        return bool((v - lo) % item[1] == 0)
    if kind == "value":
        return bool(v == item[1])
    if kind == "from":
        return bool(v >= item[1] and (v - item[1]) % item[2] == 0)
    a, b, step = item[1], item[2], item[3]
    span = hi - lo + 1
    offset = (v - a) % span
    return bool(offset <= (b - a) % span and offset % step == 0)


def _render(items: list[Item], names: list[str] | None, lo: int, use_names: bool) -> str:
    def word(v: int) -> str:
        return names[v - lo] if names and use_names else str(v)

    parts = []
    for item in items:
        kind = item[0]
        if kind == "star":
            parts.append("*" if item[1] == 1 else f"*/{item[1]}")
        elif kind == "value":
            parts.append(word(item[1]))
        elif kind == "from":
            parts.append(f"{word(item[1])}/{item[2]}")
        else:
            parts.append(f"{word(item[1])}-{word(item[2])}" + (f"/{item[3]}" if item[3] != 1 else ""))
    return ",".join(parts)


def _aws_day(d: date) -> int:
    return d.isoweekday() % 7 + 1  # ISO Monday=1..Sunday=7 -> AWS Sunday=1..Saturday=7


@dataclass(frozen=True)
class _Spec:
    minutes: list[Item]
    hours: list[Item]
    months: list[Item]
    years: list[Item]
    # ("dom", items) | ("dow", items) | ("L", n) | ("LW",) | ("W", n) | ("nL", weekday) | ("#", weekday, k)
    day: tuple[Any, ...]
    text: str
    day_cache: dict[date, bool] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def day_ok(self, d: date) -> bool:
        last = calendar.monthrange(d.year, d.month)[1]
        kind = self.day[0]
        weekdays = (
            [x for x in range(1, last + 1) if _aws_day(d.replace(day=x)) not in (1, 7)]
            if kind in ("LW", "W")
            else []
        )
        if kind == "dom":
            return any(_item_has(i, d.day, 1, 31) for i in self.day[1])
        if kind == "dow":
            return any(_item_has(i, _aws_day(d), 1, 7) for i in self.day[1])
        if kind == "L":
            return bool(d.day == last - self.day[1])
        if kind == "LW":
            return d.day == max(weekdays)
        if kind == "W":
            n: int = self.day[1]
            return n <= last and d.day == min(weekdays, key=lambda x: abs(x - n))
        if kind == "nL":
            return bool(_aws_day(d) == self.day[1] and d.day + 7 > last)
        if kind == "#":
            return bool(_aws_day(d) == self.day[1] and (d.day - 1) // 7 + 1 == self.day[2])
        raise AssertionError(kind)

    def matches(self, wall: datetime) -> bool:
        return (
            any(_item_has(i, wall.minute, 0, 59) for i in self.minutes)
            and any(_item_has(i, wall.hour, 0, 23) for i in self.hours)
            and any(_item_has(i, wall.month, 1, 12) for i in self.months)
            and any(_item_has(i, wall.year, 1970, 2199) for i in self.years)
            and self._day_ok_cached(wall.date())
        )

    def _day_ok_cached(self, d: date) -> bool:
        cache = self.day_cache
        if d not in cache:
            cache[d] = self.day_ok(d)
        return cache[d]


def _items(draw: st.DrawFn, lo: int, hi: int, *, steps: bool = True, wrap: bool = True) -> list[Item]:
    """1-3 comma-separated items; a range may wrap past the top of the field when `wrap`."""

    def ranged(a: int, b: int, step: int) -> Item:
        return ("range", a, b, step) if wrap else ("range", min(a, b), max(a, b), step)

    values = st.integers(lo, hi)
    step = st.integers(1, max(1, (hi - lo + 1) // 2))
    options: list[st.SearchStrategy[Item]] = [
        st.tuples(st.just("value"), values),
        st.builds(ranged, values, values, st.just(1)),
    ]
    if steps:
        options += [
            st.tuples(st.just("star"), step),
            st.tuples(st.just("from"), values, step),
            st.builds(ranged, values, values, step),
        ]
    return draw(st.lists(st.one_of(options), min_size=1, max_size=3))


@st.composite
def cron_specs(draw: st.DrawFn) -> _Spec:
    dense = draw(st.sampled_from([True, True, False]))  # dense enough to fire inside the window
    minutes: list[Item] = [("star", draw(st.integers(1, 20)))] if dense else _items(draw, 0, 59)
    if dense:
        hours: list[Item] = [("star", draw(st.integers(1, 6)))]
    else:
        hours = _items(draw, 0, 23)
    months: list[Item] = _items(draw, 1, 12) if draw(st.integers(0, 3)) == 0 else [("star", 1)]
    year_kind = draw(st.sampled_from(["star", "star", "around", "drawn"]))
    if year_kind == "star":
        years: list[Item] = [("star", 1)]
    elif year_kind == "around":
        years = [("range", 2024, 2031, 1)]
    else:
        years = _items(draw, 2020, 2035, wrap=False)
    day_kind = draw(
        st.sampled_from(["every-dom", "every-dow", "dom", "dow", "dow", "L", "LW", "W", "nL", "#"])
    )
    names = draw(st.booleans())

    def weekday(number: int) -> str:
        return DAY_NAMES[number - 1] if names else str(number)

    day: tuple[Any, ...]
    if day_kind in ("every-dom", "dom"):
        dom_items: list[Item] = [("star", 1)] if day_kind == "every-dom" else _items(draw, 1, 31)
        day, dom, dow = ("dom", dom_items), _render(dom_items, None, 1, False), "?"
    elif day_kind in ("every-dow", "dow"):
        dow_items: list[Item] = [("star", 1)] if day_kind == "every-dow" else _items(draw, 1, 7, steps=False)
        day, dom, dow = ("dow", dow_items), "?", _render(dow_items, DAY_NAMES, 1, names)
    elif day_kind == "L":
        offset = draw(st.sampled_from([0, 0, 1, 3, 15, 29, 30]))
        day, dom, dow = ("L", offset), ("L" if offset == 0 else f"L-{offset}"), "?"
    elif day_kind == "LW":
        day, dom, dow = ("LW",), "LW", "?"
    elif day_kind == "W":
        nearest = draw(st.integers(1, 31))
        day, dom, dow = ("W", nearest), f"{nearest}W", "?"
    elif day_kind == "nL":
        last_of = draw(st.integers(1, 7))
        day, dom, dow = ("nL", last_of), "?", f"{weekday(last_of)}L"
    else:
        nth_of, nth = draw(st.integers(1, 7)), draw(st.integers(1, 5))
        day, dom, dow = ("#", nth_of, nth), "?", f"{weekday(nth_of)}#{nth}"
    fields = [
        _render(minutes, None, 0, False),
        _render(hours, None, 0, False),
        dom,
        _render(months, MONTH_NAMES, 1, names),
        dow,
        _render(years, None, 1970, False),
    ]
    return _Spec(minutes, hours, months, years, day, "cron(" + " ".join(fields) + ")")


@cache
def _transitions(tz: str) -> tuple[datetime, ...]:
    """UTC instants in 2025-2028 where the zone's offset changes, found by scanning hour by hour and
    then minute by minute (not from zoneinfo's internals)."""
    zone, found = ZoneInfo(tz), []
    moment = utc(2025, 1, 1)
    previous = moment.astimezone(zone).utcoffset()
    while moment.year < 2029:
        moment += timedelta(hours=1)
        offset = moment.astimezone(zone).utcoffset()
        if offset != previous:
            exact = moment - timedelta(hours=1)
            while exact.astimezone(zone).utcoffset() == previous:
                exact += timedelta(minutes=1)
            found.append(exact)
            previous = offset
    return tuple(found) or (utc(2026, 3, 29),)


@st.composite
def instants(draw: st.DrawFn, tz: str) -> datetime:
    if draw(st.integers(0, 2)) > 0:  # mostly next to a daylight-saving change
        base = draw(st.sampled_from(_transitions(tz)))
        moment = base + timedelta(minutes=draw(st.integers(-2 * 1440, 1440)))
    else:
        moment = utc(2024, 1, 1) + timedelta(minutes=draw(st.integers(0, 8 * 365 * 1440)))
    return moment + timedelta(seconds=draw(st.sampled_from([0, 0, 1, 30, 59])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_fire_times_match_increase_and_miss_nothing(data: st.DataObject) -> None:
    spec = data.draw(cron_specs(), label="spec")
    tz = data.draw(st.sampled_from(ZONES), label="tz")
    after = data.draw(instants(tz), label="after")
    zone = ZoneInfo(tz)
    expression = parse(spec.text)
    times = expression.next_fire_times(after, 4, tz)

    # (a) each time matches in local wall time, is the wall time's first occurrence, and is after `after`
    for t in times:
        local = t.astimezone(zone)
        assert t.tzinfo is UTC and t > after and t.second == 0
        assert spec.matches(local.replace(tzinfo=None)), (spec.text, tz, local)
        assert local.fold == 0, "a repeated wall time fires at its first occurrence only"
    # (b) strictly increasing
    assert all(a < b for a, b in itertools.pairwise(times))
    # (c) brute force: every UTC minute in the window whose local time matches (first occurrence only)
    end = min(times[-1], after + WINDOW) if len(times) == 4 else after + WINDOW
    expected = []
    moment = after.replace(second=0, microsecond=0)
    while moment <= end:
        local = moment.astimezone(zone)
        if moment > after and local.fold == 0 and spec.matches(local.replace(tzinfo=None)):
            expected.append(moment)
        moment += timedelta(minutes=1)
    assert [t for t in times if t <= end] == expected, (spec.text, tz, after)
    event("fires in the brute-force window" if expected else "no fire in the brute-force window")
    if any(abs(moment - after) <= WINDOW for moment in _transitions(tz)):
        event("window next to a daylight-saving change")
    # resuming from a produced time gives the rest (what the APScheduler trigger relies on)
    if times:
        assert expression.next_fire_times(times[0], 3, tz) == times[1:]


@settings(max_examples=100, deadline=None)
@given(
    value=st.integers(1, 500),
    unit=st.sampled_from(["minutes", "hours", "days"]),
    start_minutes=st.integers(0, 5 * 365 * 1440),
    offset_minutes=st.integers(-10_000, 500_000),
    tz=st.sampled_from(ZONES),
)
def test_property_rate_times_are_the_start_plus_whole_intervals(
    value: int, unit: str, start_minutes: int, offset_minutes: int, tz: str
) -> None:
    word = unit[:-1] if value == 1 else unit
    expression = parse(f"rate({value} {word})")
    assert isinstance(expression, RateExpression)
    start = utc(2024, 1, 1) + timedelta(minutes=start_minutes, seconds=17)
    after = start + timedelta(minutes=offset_minutes)
    times = expression.next_fire_times(after, 3, tz, start=start)
    assert len(times) == 3
    assert all(t > after and (t - start) % expression.interval == timedelta(0) for t in times)
    assert times[0] - expression.interval <= max(after, start - expression.interval)
    assert [b - a for a, b in itertools.pairwise(times)] == [expression.interval] * 2
