"""EventBridge Scheduler schedule expressions: parse, validate, describe and compute fire times.

One piece, longer than most modules: parsing, validating, describing and computing fire times of the
three expression kinds share one grammar.

The one format users write is EventBridge Scheduler's own (User Guide, "Schedule types on EventBridge
Scheduler"), always evaluated in an IANA time zone (the schedule's `ScheduleExpressionTimezone`):

- `cron(minutes hours day-of-month month day-of-week year)`: minutes 0-59, hours 0-23, day-of-month
  1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (1 = Sunday, 7 = Saturday), year 1970-2199.
  Wildcards `, - * /` everywhere; `?` in day-of-month or day-of-week, and exactly one of those two
  must be `?` ("If you specify a value or a * in one of the fields, you must use a ? in the other");
  `L` (last) and `W` (nearest weekday) in day-of-month, including `L-n`, `LW` and `nW`; `L` (`nL`, the
  last such weekday of the month; `L` alone is Saturday, the last day of the week) and `#` (`n#k`, the
  k-th such weekday of the month, allowed once and alone) in day-of-week.
- `rate(value unit)`: a positive whole number and minute/minutes, hour/hours or day/days, singular for
  1 and plural otherwise (the EventBridge reference: "rate(1 hours) and rate(5 hour) aren't valid").
- `at(yyyy-mm-ddThh:mm:ss)`: once, at that local date and time.

Rules drbot applies where AWS's pages are silent (each is the conservative reading):

- Six cron fields are required (the API reference says six; the User Guide calls the year optional).
- A range may wrap around the end of its field (`20-2` in hours is 20,21,22,23,0,1,2, as in AWS's own
  example `cron(0/30 20-2 ? * MON-FRI *)`), except in the year field. The day fields are matched per
  local calendar day, so that example fires 00:00-02:30 and 20:00-23:30 on Monday to Friday.
- `/` is refused in day-of-week (AWS's table lists only `, - * ? L #` there); `L`, `W` and `#` forms
  must stand alone in their field (`L,15` and `3#1,6#3` are refused).
- Names and the `cron`/`rate`/`at` keywords are accepted in any case; `to_aws()` gives the canonical
  text (upper-case names, lower-case keywords and units, single spaces).

Fire times (`next_fire_times`) follow EventBridge Scheduler's daylight-saving rules ("Daylight savings
time on EventBridge Scheduler"): a local time that the zone skips (spring forward) is skipped — that
day's invocation does not happen — and a local time the zone repeats (fall back) fires once, at its
first occurrence. Rate expressions are fixed durations (`1 day` is always 24 hours) counted from the
schedule's start: EventBridge starts a rate schedule at its StartDate, or immediately at creation when
there is none. Cron calculation gives up after 31 December 2199 (the last year a cron expression can
name), so an expression that can never fire again (`cron(0 0 30 2 ? *)`, a year range in the past)
returns fewer times than asked, possibly none, instead of looping.
"""

from __future__ import annotations

import bisect
import calendar
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestration.errors import InvalidScheduleExpression

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "AtExpression",
    "CronExpression",
    "RateExpression",
    "ScheduleExpression",
    "parse",
    "validate_timezone",
]

FIRST_YEAR = 1970
LAST_YEAR = 2199  # the last year a cron expression can name; fire-time searches stop after it
_HORIZON = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
_SEARCH_FLOOR = datetime(FIRST_YEAR - 1, 12, 30, tzinfo=UTC)

MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR = (
    "minutes",
    "hours",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
)
_FIELD_ORDER = (MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR)

_MONTH_NAMES: Mapping[str, int] = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_DAY_NAMES: Mapping[str, int] = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)
}
_MONTH_WORDS = ("", *calendar.month_name[1:])
_DAY_WORDS = ("", "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_NTH_WORDS = ("", "first", "second", "third", "fourth", "fifth")
_SATURDAY, _SUNDAY = 7, 1  # AWS numbering

_RATE_UNITS: Mapping[str, timedelta] = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
}


def _invalid(message: str, field_name: str, expression: str | None = None) -> InvalidScheduleExpression:
    details: dict[str, str] = {"field": field_name}
    if expression is not None:
        details["expression"] = expression
    return InvalidScheduleExpression(message, **details)


# -- time zones ---------------------------------------------------------------------------------------------


_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
_NOT_ZONES = ("posix/", "right/")  # tzdata's alternative trees, not IANA names
_NOT_ZONE_FILES = frozenset({"posixrules", "localtime", "Factory", "leapseconds", "tzdata.zi", "zone.tab"})


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    """The zone called `name`, or None: an IANA name that the installed tz database holds."""
    if not _ZONE_NAME.fullmatch(name) or name.startswith(_NOT_ZONES) or name in _NOT_ZONE_FILES:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def validate_timezone(tz: str) -> str:
    """Return the IANA time-zone name `tz` (surrounding blanks removed) or raise InvalidScheduleExpression.

    EventBridge Scheduler evaluates cron and one-time schedules in a zone of the IANA Time Zone
    Database (`ScheduleExpressionTimezone`, default UTC); names are case-sensitive (`Europe/Berlin`).
    """
    name = tz.strip() if isinstance(tz, str) else ""
    if _zone(name) is None:
        raise _invalid(
            f"time zone '{tz}': not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)",
            "timezone",
        )
    return name


def _zone_of(tz: str) -> ZoneInfo:
    zone = _zone(validate_timezone(tz))
    assert zone is not None
    return zone


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _check_count(count: int) -> None:
    if count < 0:
        raise ValueError(f"count must be zero or more, got {count}")


def _local_exists(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of naive local `wall` in `zone`, or None when the zone skips that wall time.

    A repeated wall time (fall back) maps to its first occurrence (fold=0), so it fires only once.
    """
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


# -- the port -----------------------------------------------------------------------------------------------


class ScheduleExpression(ABC):
    """A parsed EventBridge Scheduler expression: `cron(...)`, `rate(...)` or `at(...)`."""

    kind: ClassVar[Literal["cron", "rate", "at"]]

    @abstractmethod
    def next_fire_times(
        self, after: datetime, count: int, tz: str, *, start: datetime | None = None
    ) -> list[datetime]:
        """Up to `count` fire times strictly after `after` (aware), as aware UTC datetimes, ascending.

        `tz` is the schedule's IANA time zone. `start` is the schedule's start (EventBridge's
        StartDate, or its creation time): no fire is earlier than it, and a rate schedule counts from
        it. Fewer than `count` times come back when the schedule ends (at(), or nothing before 2200).
        Raises ValueError for a naive `after`/`start` or a negative count, InvalidScheduleExpression
        for an unknown time zone.
        """

    @abstractmethod
    def describe(self, tz: str = "UTC") -> str:
        """One English sentence saying when the schedule fires."""

    @abstractmethod
    def to_aws(self) -> str:
        """The canonical expression text, as EventBridge Scheduler's ScheduleExpression takes it."""

    def __str__(self) -> str:
        return self.to_aws()


# -- cron fields --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    lo: int
    hi: int
    names: Mapping[str, int]
    values_hint: str
    wraps: bool = True


_SPECS: Mapping[str, _FieldSpec] = {
    MINUTES: _FieldSpec(MINUTES, 0, 59, {}, "values are 0-59"),
    HOURS: _FieldSpec(HOURS, 0, 23, {}, "values are 0-23"),
    DAY_OF_MONTH: _FieldSpec(DAY_OF_MONTH, 1, 31, {}, "values are 1-31"),
    MONTH: _FieldSpec(MONTH, 1, 12, _MONTH_NAMES, "values are 1-12 or JAN-DEC"),
    DAY_OF_WEEK: _FieldSpec(DAY_OF_WEEK, 1, 7, _DAY_NAMES, "values are 1-7 or SUN-SAT"),
    YEAR: _FieldSpec(YEAR, FIRST_YEAR, LAST_YEAR, {}, f"values are {FIRST_YEAR}-{LAST_YEAR}", wraps=False),
}

_ITEM = re.compile(r"(?:(?P<star>\*)|(?P<a>[A-Z0-9]+)(?:-(?P<b>[A-Z0-9]+))?)(?:/(?P<step>[^/]*))?")


@dataclass(frozen=True)
class _Item:
    """One comma-separated part of a field: `*`, `a`, `a-b`, each optionally with `/step`."""

    start: int
    end: int
    step: int = 1
    star: bool = False
    ranged: bool = False
    stepped: bool = False

    def values(self, spec: _FieldSpec) -> list[int]:
        """The values in the order the item names them (a wrapping range runs past the top)."""
        if self.start <= self.end:
            run = list(range(self.start, self.end + 1))
        else:
            run = list(range(self.start, spec.hi + 1)) + list(range(spec.lo, self.end + 1))
        return run[:: self.step]


def _field_error(spec_name: str, text: str, piece: str, why: str) -> InvalidScheduleExpression:
    where = "" if piece == text else f"'{piece}': "
    return _invalid(f"{spec_name} field '{text}': {where}{why}", spec_name)


def _is_number(token: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²' (which int() refuses) and '٣' (which
    EventBridge refuses)."""
    return token.isascii() and token.isdigit()


def _value(spec: _FieldSpec, text: str, token: str) -> int:
    if _is_number(token):
        number = int(token)
    elif token in spec.names:
        number = spec.names[token]
    else:
        raise _field_error(spec.name, text, token, spec.values_hint)
    if not spec.lo <= number <= spec.hi:
        raise _field_error(spec.name, text, token, spec.values_hint)
    return number


def _misplaced(spec: _FieldSpec, text: str, piece: str) -> None:
    """Name a wildcard that belongs to another field (?, L, W, #)."""
    day_fields = spec.name in (DAY_OF_MONTH, DAY_OF_WEEK)
    if piece == "?" and not day_fields:
        raise _field_error(spec.name, text, piece, "? is only allowed in day-of-month or day-of-week")
    if "#" in piece and spec.name != DAY_OF_WEEK:
        raise _field_error(spec.name, text, piece, "# is only allowed in day-of-week (e.g. 2#1)")
    if not day_fields and re.fullmatch(r"L(-[0-9]+)?|LW|[0-9]+[LW]", piece):
        raise _field_error(spec.name, text, piece, "L and W are only allowed in day-of-month or day-of-week")
    if spec.name == DAY_OF_WEEK and "/" in piece:
        raise _field_error(spec.name, text, piece, "/ is not allowed in day-of-week (allowed: , - * ? L #)")


def _items(spec: _FieldSpec, text: str) -> tuple[_Item, ...]:
    """Parse a field made of `,`-separated items (`*`, value, range, with an optional step)."""
    if text == "":
        raise _field_error(spec.name, text, text, "empty")
    items: list[_Item] = []
    for piece in text.split(","):
        if piece == "":
            raise _field_error(spec.name, text, piece, "an empty value in the list")
        _misplaced(spec, text, piece)
        match = _ITEM.fullmatch(piece)
        if match is None:
            raise _field_error(spec.name, text, piece, f"not a value, range or step; {spec.values_hint}")
        step = 1
        if match["step"] is not None:
            raw_step = match["step"]
            span = spec.hi - spec.lo + 1
            if not _is_number(raw_step) or not 1 <= int(raw_step) <= span:
                raise _field_error(spec.name, text, piece, f"the step after / must be a number 1-{span}")
            step = int(raw_step)
        if match["star"]:
            items.append(_Item(spec.lo, spec.hi, step, star=True, stepped="/" in piece))
            continue
        start = _value(spec, text, match["a"])
        if match["b"] is not None:
            end = _value(spec, text, match["b"])
            if end < start and not spec.wraps:
                raise _field_error(spec.name, text, piece, "the range goes backwards")
            items.append(_Item(start, end, step, ranged=True, stepped="/" in piece))
        elif "/" in piece:
            items.append(_Item(start, spec.hi, step, stepped=True))
        else:
            items.append(_Item(start, start))
    return tuple(items)


def _expand(spec: _FieldSpec, items: tuple[_Item, ...]) -> tuple[int, ...]:
    return tuple(sorted({v for item in items for v in item.values(spec)}))


@dataclass(frozen=True)
class _DayRule:
    """What one of the day fields asks for (the other one is `?`)."""

    kind: Literal["any", "values", "last", "last_weekday", "nearest_weekday", "last_dow", "nth_dow"]
    values: frozenset[int] = frozenset()
    n: int = 0  # offset for `last`, day for `nearest_weekday`, weekday for `last_dow`/`nth_dow`
    k: int = 0  # which one for `nth_dow`


def _dom_rule(text: str) -> tuple[_DayRule, tuple[_Item, ...]]:
    spec = _SPECS[DAY_OF_MONTH]
    if text == "?":
        return _DayRule("any"), ()
    if text == "L":
        return _DayRule("last"), ()
    if match := re.fullmatch(r"L-([0-9]+)", text):
        offset = int(match[1])
        if not 1 <= offset <= 30:
            raise _field_error(
                DAY_OF_MONTH, text, text, "the offset after L- must be 1-30 (days before the last)"
            )
        return _DayRule("last", n=offset), ()
    if text == "LW":
        return _DayRule("last_weekday"), ()
    if match := re.fullmatch(r"([0-9]+)W", text):
        day = int(match[1])
        if not 1 <= day <= 31:
            raise _field_error(DAY_OF_MONTH, text, text, "the day before W must be 1-31")
        return _DayRule("nearest_weekday", n=day), ()
    if "?" in text.split(","):
        raise _field_error(DAY_OF_MONTH, text, text, "? must be used alone")
    if "L" in text or "W" in text:
        raise _field_error(
            DAY_OF_MONTH, text, text, "L and W must be used alone (L, L-3, LW or 15W), not in a list or range"
        )
    items = _items(spec, text)
    return _DayRule("values", frozenset(_expand(spec, items))), items


def _dow_rule(text: str) -> tuple[_DayRule, tuple[_Item, ...]]:
    spec = _SPECS[DAY_OF_WEEK]
    if text == "?":
        return _DayRule("any"), ()
    if "#" in text:
        match = re.fullmatch(r"([A-Z0-9]+)#([0-9]+)", text)
        if match is None:
            raise _field_error(
                DAY_OF_WEEK,
                text,
                text,
                "# can be used only once and alone, as weekday#n (e.g. 2#1; 3#1,6#3 is two expressions)",
            )
        weekday = _value(spec, text, match[1])
        nth = int(match[2])
        if not 1 <= nth <= 5:
            raise _field_error(DAY_OF_WEEK, text, text, "the number after # must be 1-5")
        return _DayRule("nth_dow", n=weekday, k=nth), ()
    if text == "L":
        return _DayRule("values", frozenset({_SATURDAY})), ()
    if match := re.fullmatch(r"([0-9]+|[A-Z]{3})L", text):
        return _DayRule("last_dow", n=_value(spec, text, match[1])), ()
    if "?" in text.split(","):
        raise _field_error(DAY_OF_WEEK, text, text, "? must be used alone")
    if "L" in text:  # no day name contains an L
        raise _field_error(
            DAY_OF_WEEK,
            text,
            text,
            "L must be used alone, as L (Saturday) or weekdayL (e.g. 6L), not in a list",
        )
    items = _items(spec, text)
    return _DayRule("values", frozenset(_expand(spec, items))), items


def _aws_weekday(day: date) -> int:
    """AWS numbering: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


# -- describe helpers ---------------------------------------------------------------------------------------


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _every(n: int, unit: str) -> str:
    return f"every {unit}" if n == 1 else f"every {n} {unit}s"


def _nth_unit(n: int, unit: str) -> str:
    return f"every {unit}" if n == 1 else f"every {_ordinal(n)} {unit}"


# -- the three kinds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CronExpression(ScheduleExpression):
    """`cron(minutes hours day-of-month month day-of-week year)`, each field as written (validated)."""

    kind: ClassVar[Literal["cron", "rate", "at"]] = "cron"

    minutes: str
    hours: str
    day_of_month: str
    month: str
    day_of_week: str
    year: str

    _parsed: Mapping[str, tuple[_Item, ...]] = field(init=False, repr=False, compare=False)
    _minute_values: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _hour_values: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _month_values: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _year_values: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _dom: _DayRule = field(init=False, repr=False, compare=False)
    _dow: _DayRule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        texts: dict[str, str] = {}
        for name, attribute in zip(_FIELD_ORDER, self._attributes(), strict=True):
            value = getattr(self, attribute)
            if not isinstance(value, str):
                raise _invalid(f"{name} field: expected text, got {value!r}", name)
            if not value.isascii():  # before upper(): '\u017fUN'.upper() is 'SUN'
                raise _invalid(f"{name} field '{value.strip()}': only ASCII letters and digits", name)
            texts[name] = value.strip().upper()
            object.__setattr__(self, attribute, texts[name])
        items: dict[str, tuple[_Item, ...]] = {}
        for name in (MINUTES, HOURS, MONTH, YEAR):
            items[name] = _items(_SPECS[name], texts[name])
        dom, items[DAY_OF_MONTH] = _dom_rule(texts[DAY_OF_MONTH])
        dow, items[DAY_OF_WEEK] = _dow_rule(texts[DAY_OF_WEEK])
        both = f"{DAY_OF_MONTH}/{DAY_OF_WEEK}"
        if dom.kind == "any" and dow.kind == "any":
            raise _invalid(
                "cron: day-of-month and day-of-week cannot both be ?; set one of them and use ? in the other",
                both,
            )
        if dom.kind != "any" and dow.kind != "any":
            raise _invalid(
                "cron: day-of-month and day-of-week cannot both be set; use ? in one of them", both
            )
        object.__setattr__(self, "_parsed", items)
        object.__setattr__(self, "_minute_values", _expand(_SPECS[MINUTES], items[MINUTES]))
        object.__setattr__(self, "_hour_values", _expand(_SPECS[HOURS], items[HOURS]))
        object.__setattr__(self, "_month_values", _expand(_SPECS[MONTH], items[MONTH]))
        object.__setattr__(self, "_year_values", _expand(_SPECS[YEAR], items[YEAR]))
        object.__setattr__(self, "_dom", dom)
        object.__setattr__(self, "_dow", dow)

    @property
    def minute_values(self) -> tuple[int, ...]:
        """The minutes of the hour the expression names, ascending (one value: at most hourly)."""
        return self._minute_values

    @property
    def hour_values(self) -> tuple[int, ...]:
        """The hours of the day the expression names, ascending (one value and one minute: at most
        daily)."""
        return self._hour_values

    @staticmethod
    def _attributes() -> tuple[str, ...]:
        return ("minutes", "hours", "day_of_month", "month", "day_of_week", "year")

    def to_aws(self) -> str:
        return "cron(" + " ".join(getattr(self, a) for a in self._attributes()) + ")"

    # -- fire times ---------------------------------------------------------------------------------------

    def _days_in_month(self, year: int, month: int) -> list[int]:
        """The days of `year`-`month` the day fields select, ascending (month and year not checked).

        `nW` is the weekday nearest day n without leaving the month (the 1st on a Saturday gives
        Monday the 3rd; a last day on a Sunday gives the Friday before); a day n the month lacks
        selects nothing. `L-n` before the 1st selects nothing; `#5` in a month with four such
        weekdays selects nothing.
        """
        last = calendar.monthrange(year, month)[1]
        first_weekday = _aws_weekday(date(year, month, 1))

        def weekday(day: int) -> int:
            return (first_weekday - 1 + day - 1) % 7 + 1

        dom, dow = self._dom, self._dow
        if dom.kind == "values":
            return sorted(d for d in dom.values if d <= last)
        if dom.kind == "last":
            return [last - dom.n] if last - dom.n >= 1 else []
        if dom.kind == "last_weekday":
            day = last
            while weekday(day) in (_SATURDAY, _SUNDAY):
                day -= 1
            return [day]
        if dom.kind == "nearest_weekday":
            day = dom.n
            if day > last:
                return []
            if weekday(day) == _SATURDAY:
                return [day - 1 if day > 1 else day + 2]
            if weekday(day) == _SUNDAY:
                return [day + 1 if day < last else day - 2]
            return [day]
        if dow.kind == "values":
            return [d for d in range(1, last + 1) if weekday(d) in dow.values]
        if dow.kind == "last_dow":
            return [last - (weekday(last) - dow.n) % 7]
        if dow.kind == "nth_dow":
            day = 1 + (dow.n - first_weekday) % 7 + 7 * (dow.k - 1)
            return [day] if day <= last else []
        raise AssertionError(f"unreachable day rule {dom} / {dow}")  # pragma: no cover

    def next_fire_times(
        self, after: datetime, count: int, tz: str, *, start: datetime | None = None
    ) -> list[datetime]:
        """Up to `count` fire times strictly after `after` (and not before `start`), in UTC.

        Every field is matched against the local wall time in `tz`. A wall time the zone skips is
        skipped; a repeated wall time fires once, at its first occurrence (EventBridge Scheduler's
        documented daylight-saving behaviour). The search walks month by month and day by day and
        stops after 2199, so an expression that cannot fire again returns fewer (or no) times.
        """
        floor = _aware(after, "after")
        if start is not None:
            floor = max(floor, _aware(start, "start") - timedelta(microseconds=1))
        _check_count(count)
        zone = _zone_of(tz)
        found: list[datetime] = []
        if count == 0 or floor >= _HORIZON:
            return found
        # (searching from 1969-12-30 at the earliest keeps the date arithmetic below in range)
        local_floor = max(floor, _SEARCH_FLOOR).astimezone(zone).replace(tzinfo=None)
        # Wall times more than 3 hours before the floor's wall time cannot be after it (no zone moves
        # its clock by that much at once), so they are passed over without a time-zone conversion.
        prune = local_floor - timedelta(hours=3)
        first_day = max((local_floor - timedelta(days=1)).date(), date(FIRST_YEAR, 1, 1))
        years, months = self._year_values, self._month_values
        index = bisect.bisect_left(years, first_day.year)
        while index < len(years):
            year = years[index]
            for month in months:
                if (year, month) < (first_day.year, first_day.month):
                    continue
                for day in self._days_in_month(year, month):
                    if date(year, month, day) < first_day:
                        continue
                    for hour in self._hour_values:
                        for minute in self._minute_values:
                            wall = datetime(year, month, day, hour, minute)
                            if wall < prune:
                                continue
                            instant = _local_exists(wall, zone)
                            if instant is None or instant <= floor:
                                continue
                            found.append(instant)
                            if len(found) == count:
                                return found
            index += 1
        return found

    # -- describe -----------------------------------------------------------------------------------------

    def describe(self, tz: str = "UTC") -> str:
        """An English sentence, e.g. "At 03:00 on the first Sunday of every month, Europe/Berlin"."""
        zone_name = validate_timezone(tz)
        when = self._describe_time()
        day, monthly = self._describe_day("every" in when.lower())
        months = self._describe_months()
        if monthly:
            day += " of " + (months or "every month")
        elif months:
            day = (day + " in " + months) if day else ("in " + months)
        sentence = when + (" " + day if day else "") + self._describe_years()
        return f"{sentence}, {zone_name}"

    def _describe_time(self) -> str:
        minutes, hours = self._minute_values, self._hour_values
        minute_items, hour_items = self._parsed[MINUTES], self._parsed[HOURS]
        listed = self.minutes != "*" and self.hours != "*" and len(minutes) * len(hours) <= 6
        if listed:
            return "At " + _join([f"{h:02}:{m:02}" for h in hours for m in minutes])
        one_minute_item = minute_items[0] if len(minute_items) == 1 else None
        span = ""  # which minutes of the hour, for an "Every ..." phrase
        if self.minutes == "*" or (one_minute_item and one_minute_item.star and one_minute_item.step == 1):
            phrase = "Every minute"
        elif one_minute_item and (one_minute_item.stepped or one_minute_item.ranged):
            item = one_minute_item
            phrase = "E" + _every(item.step, "minute")[1:]
            if item.ranged:
                span = f" from minute {item.start} through {item.end}"
            elif item.start != 0:
                span = f" from minute {item.start}"
        else:
            phrase = ("At minute " if len(minutes) == 1 else "At minutes ") + _join([str(m) for m in minutes])
        one_hour_item = hour_items[0] if len(hour_items) == 1 else None
        single_hour = one_hour_item is not None and not (
            one_hour_item.star or one_hour_item.ranged or one_hour_item.stepped
        )
        plain_minutes = one_minute_item is None or one_minute_item.start <= one_minute_item.end
        if single_hour and not phrase.startswith("At") and plain_minutes:
            hour = hours[0]
            return phrase + f" between {hour:02}:{minutes[0]:02} and {hour:02}:{minutes[-1]:02}"
        phrase += span
        at_minutes = phrase.startswith("At")
        word = "of" if at_minutes else "during"
        if self.hours == "*" or (one_hour_item and one_hour_item.star and one_hour_item.step == 1):
            return phrase + (" of every hour" if at_minutes else "")
        if one_hour_item and one_hour_item.stepped:
            item = one_hour_item
            return phrase + f" {word} {_nth_unit(item.step, 'hour')} from {item.start:02}:00"
        if one_hour_item and not at_minutes and plain_minutes:
            first, last = one_hour_item.start, one_hour_item.end
            return phrase + f" between {first:02}:{minutes[0]:02} and {last:02}:{minutes[-1]:02}"
        if one_hour_item and one_hour_item.ranged:
            first, last = one_hour_item.start, one_hour_item.end
            return phrase + f" {word} every hour from {first:02}:00 through {last:02}:00"
        if len(hours) == 1:
            return phrase + f" {word} the {hours[0]:02}:00 hour"
        return phrase + f" {word} the hours " + _join([f"{h:02}:00" for h in hours])

    def _describe_day(self, every_phrase: bool) -> tuple[str, bool]:
        """The day part, and whether it reads "... of <months>" (True) or "... in <months>" (False)."""
        dom, dow = self._dom, self._dow
        if dom.kind == "values":
            if self.day_of_month == "*":
                return ("" if every_phrase else "every day"), False
            items = self._parsed[DAY_OF_MONTH]
            if len(items) == 1 and items[0].stepped:
                item = items[0]
                text = f"on {_nth_unit(item.step, 'day')} from the {_ordinal(item.start)}"
                if item.ranged:
                    text += f" through the {_ordinal(item.end)}"
                return text, True
            parts = [
                f"{_ordinal(i.start)} through {_ordinal(i.end)}" if i.ranged else _ordinal(i.start)
                for i in items
                if not i.stepped
            ]
            if any(i.stepped for i in items):
                parts = [_ordinal(d) for d in sorted(dom.values)]
            return "on the " + _join(parts), True
        if dom.kind == "last":
            if dom.n == 0:
                return "on the last day", True
            plural = "day" if dom.n == 1 else "days"
            return f"{dom.n} {plural} before the last day", True
        if dom.kind == "last_weekday":
            return "on the last weekday", True
        if dom.kind == "nearest_weekday":
            return f"on the weekday nearest the {_ordinal(dom.n)}", True
        if dow.kind == "last_dow":
            return f"on the last {_DAY_WORDS[dow.n]}", True
        if dow.kind == "nth_dow":
            return f"on the {_NTH_WORDS[dow.k]} {_DAY_WORDS[dow.n]}", True
        if self.day_of_week == "*":
            return ("" if every_phrase else "every day"), False
        if self.day_of_week == "L":
            names = "Saturday (the last day of the week)"
        else:
            names = _join(
                [
                    f"{_DAY_WORDS[i.start]} through {_DAY_WORDS[i.end]}" if i.ranged else _DAY_WORDS[i.start]
                    for i in self._parsed[DAY_OF_WEEK]
                ]
            )
        return ("on " if every_phrase else "every ") + names, False

    def _describe_months(self) -> str:
        if self.month == "*":
            return ""
        items = self._parsed[MONTH]
        if len(items) == 1 and items[0].stepped:
            item = items[0]
            text = f"{_nth_unit(item.step, 'month')} from {_MONTH_WORDS[item.start]}"
            if item.ranged:
                text += f" through {_MONTH_WORDS[item.end]}"
            return text
        if any(i.stepped for i in items):
            return _join([_MONTH_WORDS[m] for m in self._month_values])
        return _join(
            [
                f"{_MONTH_WORDS[i.start]} through {_MONTH_WORDS[i.end]}"
                if i.ranged
                else _MONTH_WORDS[i.start]
                for i in items
            ]
        )

    def _describe_years(self) -> str:
        if self.year == "*":
            return ""
        items = self._parsed[YEAR]
        if len(items) == 1 and items[0].stepped:
            item = items[0]
            text = f" in {_nth_unit(item.step, 'year')} from {item.start}"
            return text + (f" through {item.end}" if item.ranged else "")
        if any(i.stepped for i in items):
            return " in " + _join([str(y) for y in self._year_values])
        return " in " + _join([f"{i.start} through {i.end}" if i.ranged else str(i.start) for i in items])


@dataclass(frozen=True)
class RateExpression(ScheduleExpression):
    """`rate(value unit)`: every `value` minutes, hours or days, a fixed duration counted from the start.

    EventBridge Scheduler starts a rate schedule at its StartDate or, without one, immediately at
    creation, then invokes every `interval`; `days` are 24 hours on the clock whatever daylight saving
    does ("EventBridge Scheduler still evaluates the rate expression 24 hours after the schedule's last
    invocation"). So the time zone does not change a rate schedule's fire times.
    """

    kind: ClassVar[Literal["cron", "rate", "at"]] = "rate"

    value: int
    unit: Literal["minutes", "hours", "days"]

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 1:
            raise _invalid(f"rate: the value must be a positive whole number, got '{self.value}'", "value")
        if self.unit not in _RATE_UNITS:
            raise _invalid(f"rate: the unit must be minute(s), hour(s) or day(s), got '{self.unit}'", "unit")
        try:
            _ = self.interval  # an interval that timedelta cannot hold is refused here
        except OverflowError:
            raise _invalid(f"rate: the value {self.value} is too large", "value") from None

    @property
    def interval(self) -> timedelta:
        return _RATE_UNITS[self.unit] * self.value

    def _unit_word(self) -> str:
        return self.unit[:-1] if self.value == 1 else self.unit

    def to_aws(self) -> str:
        return f"rate({self.value} {self._unit_word()})"

    def next_fire_times(
        self, after: datetime, count: int, tz: str, *, start: datetime | None = None
    ) -> list[datetime]:
        """`start + k * interval` (k = 0, 1, ...) strictly after `after`, in UTC.

        `start` is the schedule's StartDate or creation time; without it the schedule is taken as
        created at `after` (whose own immediate invocation is not "after" it, so the first time returned
        is `after + interval`). `tz` is validated but does not move the times. Stops before 2200.
        """
        floor = _aware(after, "after")
        anchor = floor if start is None else _aware(start, "start")
        _check_count(count)
        validate_timezone(tz)
        interval = self.interval
        k = 0 if floor < anchor else (floor - anchor) // interval + 1
        found: list[datetime] = []
        while len(found) < count:
            try:
                instant = anchor + interval * k
            except OverflowError:
                break
            if instant >= _HORIZON:
                break
            found.append(instant)
            k += 1
        return found

    def describe(self, tz: str = "UTC") -> str:
        """E.g. "Every 2 hours" (a rate does not depend on the time zone)."""
        validate_timezone(tz)
        return "E" + _every(self.value, self.unit[:-1])[1:]


@dataclass(frozen=True)
class AtExpression(ScheduleExpression):
    """`at(yyyy-mm-ddThh:mm:ss)`: one invocation at that local wall time (naive `when`) in the zone.

    EventBridge Scheduler ignores StartDate and EndDate for one-time schedules, so `start` is ignored.
    A wall time the zone skips (spring forward) never fires, by the same rule as cron (AWS documents
    the rule for cron expressions only); a repeated one fires at its first occurrence.
    """

    kind: ClassVar[Literal["cron", "rate", "at"]] = "at"

    when: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.when, datetime) or self.when.tzinfo is not None:
            raise _invalid("at: the time must be a local date and time without a zone", "at")
        if not FIRST_YEAR <= self.when.year <= LAST_YEAR:
            raise _invalid(f"at: the year must be {FIRST_YEAR}-{LAST_YEAR}", "at")
        object.__setattr__(self, "when", self.when.replace(microsecond=0))

    def to_aws(self) -> str:
        return f"at({self.when:%Y-%m-%dT%H:%M:%S})"

    def fire_time(self, tz: str) -> datetime | None:
        """The one UTC instant this fires at in `tz`, or None when the zone skips that wall time."""
        return _local_exists(self.when, _zone_of(tz))

    def next_fire_times(
        self, after: datetime, count: int, tz: str, *, start: datetime | None = None
    ) -> list[datetime]:
        """The single fire time if it is strictly after `after` (and `count` > 0), else nothing."""
        floor = _aware(after, "after")
        if start is not None:
            _aware(start, "start")
        _check_count(count)
        instant = self.fire_time(tz)
        return [instant] if count > 0 and instant is not None and instant > floor else []

    def describe(self, tz: str = "UTC") -> str:
        """E.g. "Once, at 2026-12-01 03:00 Europe/Berlin"."""
        zone_name = validate_timezone(tz)
        clock = f"{self.when:%H:%M:%S}" if self.when.second else f"{self.when:%H:%M}"
        return f"Once, at {self.when:%Y-%m-%d} {clock} {zone_name}"


# -- parse --------------------------------------------------------------------------------------------------

_SHAPE = re.compile(r"(?P<kind>[A-Za-z]+)\s*\((?P<body>.*)\)", re.DOTALL)
_USAGE = (
    "use cron(minutes hours day-of-month month day-of-week year), rate(value unit) or at(yyyy-mm-ddThh:mm:ss)"
)


def parse(text: str) -> ScheduleExpression:
    """Parse an EventBridge Scheduler expression; InvalidScheduleExpression names the bad field and why."""
    if not isinstance(text, str):
        raise _invalid(f"expression: expected text; {_USAGE}", "expression")
    source = text.strip()
    shape = _SHAPE.fullmatch(source)
    kind = shape["kind"].lower() if shape else ""
    if shape is None or kind not in ("cron", "rate", "at"):
        raise _invalid(f"expression '{source}': {_USAGE}", "expression", source)
    body = shape["body"].strip()
    try:
        if kind == "cron":
            return _parse_cron(body)
        if kind == "rate":
            return _parse_rate(body)
        return _parse_at(body)
    except InvalidScheduleExpression as error:
        error.details.setdefault("expression", source)
        raise


def _parse_cron(body: str) -> CronExpression:
    fields = body.split()
    if len(fields) != 6:
        hint = "; add * as the year" if len(fields) == 5 else ""
        raise _invalid(
            "cron: expected 6 fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(fields)}{hint}",
            "cron",
        )
    return CronExpression(*fields)


def _parse_rate(body: str) -> RateExpression:
    parts = body.split()
    if len(parts) != 2:
        raise _invalid("rate: expected rate(value unit), e.g. rate(5 minutes) or rate(1 hour)", "rate")
    raw_value, raw_unit = parts[0], parts[1].lower()
    if not _is_number(raw_value) or int(raw_value) < 1:
        raise _invalid(f"rate: the value must be a positive whole number, got '{raw_value}'", "value")
    value = int(raw_value)
    plural = raw_unit if raw_unit.endswith("s") else raw_unit + "s"
    if plural not in _RATE_UNITS:
        raise _invalid(f"rate: the unit must be minute(s), hour(s) or day(s), got '{parts[1]}'", "unit")
    singular = plural[:-1]
    if (value == 1) != (raw_unit == singular):
        raise _invalid(f"rate: use '{singular}' for 1, '{plural}' otherwise", "unit")
    unit: Literal["minutes", "hours", "days"] = (
        "minutes" if plural == "minutes" else "hours" if plural == "hours" else "days"
    )
    return RateExpression(value, unit)


def _parse_at(body: str) -> AtExpression:
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})", body)
    if match is None:
        raise _invalid(
            f"at: expected at(yyyy-mm-ddThh:mm:ss), e.g. at(2026-12-01T03:00:00), got '{body}'", "at"
        )
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        when = datetime(year, month, day, hour, minute, second)
    except ValueError as error:
        raise _invalid(f"at: '{body}' is not a valid date and time ({error})", "at") from None
    return AtExpression(when)
