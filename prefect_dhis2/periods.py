"""DHIS2 periods: parse ISO period identifiers and resolve relative periods.

DHIS2 names every reporting period with an ISO-like identifier (`202401`,
`2024Q1`, `2024W5`, `2024April`...). This module parses them into `Period`
objects with their DHIS2 period type, inclusive start and end dates and the
display name DHIS2 analytics puts in `metaData.items`, lists the periods of a
type between two dates, and expands relative keywords (`LAST_12_MONTHS`,
`THIS_YEAR`...) into fixed periods at a given date, the way DHIS2 does for the
analytics `relativePeriodDate` parameter.

Only the ISO 8601 (Gregorian) calendar is supported.

Supported identifiers (the year is four digits, 1000-9998):

==================  ===============================  ======================
Period type         Identifier                        Example
==================  ===============================  ======================
Daily               yyyyMMdd, yyyy-MM-dd              20240131, 2024-01-31
Weekly              yyyyWn                            2024W5
WeeklyWednesday     yyyyWedWn                         2024WedW5
WeeklyThursday      yyyyThuWn                         2024ThuW5
WeeklyFriday        yyyyFriWn                         2024FriW5
WeeklySaturday      yyyySatWn                         2024SatW5
WeeklySunday        yyyySunWn                         2024SunW5
BiWeekly            yyyyBiWn                          2024BiW3
Monthly             yyyyMM, yyyy-MM                   202401, 2024-01
BiMonthly           yyyyMMB (MM = 01..06)             202401B
Quarterly           yyyyQn                            2024Q1
QuarterlyNov        yyyyNovQn                         2024NovQ1
SixMonthly          yyyySn                            2024S1
SixMonthlyApril     yyyyAprilSn                       2024AprilS1
SixMonthlyNov       yyyyNovSn                         2024NovS1
Yearly              yyyy                              2024
FinancialFeb        yyyyFeb                           2024Feb
FinancialApril      yyyyApril                         2024April
FinancialJuly       yyyyJuly                          2024July
FinancialAug        yyyyAug                           2024Aug
FinancialSep        yyyySep                           2024Sep
FinancialOct        yyyyOct                           2024Oct
FinancialNov        yyyyNov                           2024Nov
==================  ===============================  ======================

Conventions, as in dhis2-core (`DateUnitPeriodTypeParser`, the `*PeriodType`
classes):

- Weeks of every start day follow the ISO 8601 rule adapted to the start day:
  week 1 is the week that contains 4 January, so it may start in the previous
  year (`2019W1` is 2018-12-31..2019-01-06) and a year has 52 or 53 weeks.
  (DHIS2 checks the week number of every weekly type against the ISO Monday
  week count; here each type is checked against its own count, so every id
  this module produces parses back.)
- Bi-week `n` starts on the Monday of ISO week `2n-1` and lasts 14 days. In a
  53-week year the last bi-week (`BiW27`) starts in ISO week 53 and overlaps
  bi-week 1 of the next year by one week, exactly as in DHIS2.
- Financial years are named after the year they start in, except
  `FinancialNov`, named after the year it ends in (`2024Nov` is
  2023-11-01..2024-10-31). `QuarterlyNov` and `SixMonthlyNov` likewise belong
  to the year in which their financial year ends (`2024NovQ1` is
  2023-11-01..2024-01-31, `2024NovS1` is 2023-11-01..2024-04-30).

Examples:
    >>> from datetime import date
    >>> from prefect_dhis2.periods import parse_period, resolve_relative_period
    >>> p = parse_period("2024-01")
    >>> p.id, p.period_type, p.start_date, p.end_date, p.name
    ('202401', 'Monthly', datetime.date(2024, 1, 1), datetime.date(2024, 1, 31), 'January 2024')
    >>> [q.id for q in resolve_relative_period("LAST_4_QUARTERS", date(2022, 1, 1))]
    ['2021Q1', '2021Q2', '2021Q3', '2021Q4']
"""

from __future__ import annotations

import calendar
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache, total_ordering
from typing import Literal

__all__ = [
    "FINANCIAL_YEAR_STARTS",
    "MAX_YEAR",
    "MIN_YEAR",
    "PERIOD_TYPES",
    "RELATIVE_PERIODS",
    "Period",
    "is_relative_period",
    "is_valid_period",
    "next_period",
    "parse_period",
    "period_containing",
    "periods_between",
    "previous_period",
    "resolve_periods",
    "resolve_relative_period",
]

MIN_YEAR = 1000
"""Smallest year accepted in a period identifier."""

MAX_YEAR = 9998
"""Largest year accepted in a period identifier (weeks need the year after)."""

_MONTH_NAMES = tuple(calendar.month_name[m] for m in range(1, 13))


@total_ordering
@dataclass(frozen=True)
class Period:
    """One fixed DHIS2 period.

    Periods order by start date, then end date, then id.

    Attributes:
        id: The canonical DHIS2 identifier (`202401`, never `2024-01`).
        period_type: The DHIS2 period type name (`Monthly`, `WeeklyWednesday`...).
        start_date: First day of the period.
        end_date: Last day of the period (inclusive).

    Examples:
        >>> p = parse_period("2024Q1")
        >>> p.name, p.days, p.next().id, p.shift(-4).id
        ('January - March 2024', 91, '2024Q2', '2023Q1')
    """

    id: str
    period_type: str
    start_date: date
    end_date: date

    def __str__(self) -> str:
        return self.id

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return (self.start_date, self.end_date, self.id) < (
            other.start_date,
            other.end_date,
            other.id,
        )

    @property
    def name(self) -> str:
        """The display name DHIS2 analytics gives the period in `metaData.items`.

        Examples: `2024-01-31`, `Week 5 2024-01-29 - 2024-02-04`,
        `Bi-Week 1 2024-01-01 - 2024-01-14`, `January 2024`,
        `January - March 2024`, `2024`, `April 2024 - March 2025`.
        """
        return _KINDS[self.period_type].name_of(self)

    @property
    def days(self) -> int:
        """Number of days in the period, both ends included."""
        return (self.end_date - self.start_date).days + 1

    def contains(self, day: date) -> bool:
        """Tell whether `day` falls within the period (inclusive)."""
        return self.start_date <= day <= self.end_date

    def shift(self, n: int) -> Period:
        """Return the period `n` steps later (earlier when `n` is negative), same type.

        Raises:
            ValueError: If the result falls outside the supported years.
        """
        if n == 0:
            return self
        return _KINDS[self.period_type].shift(self, n)

    def next(self) -> Period:
        """The following period of the same type."""
        return self.shift(1)

    def previous(self) -> Period:
        """The preceding period of the same type."""
        return self.shift(-1)


# ---------------------------------------------------------------------------
# Period kinds: how each DHIS2 period type computes its dates, id and name
# ---------------------------------------------------------------------------


def _check_year(year: int, text: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(
            f"Invalid period {text!r}: year {year} is outside the supported range "
            f"{MIN_YEAR}-{MAX_YEAR}."
        )


def _format_date(day: date) -> str:
    return day.isoformat()


class _Kind(ABC):
    """Behaviour shared by one family of period types."""

    name: str

    @abstractmethod
    def containing(self, day: date) -> Period:
        """The period of this type that contains `day`."""

    @abstractmethod
    def shift(self, period: Period, n: int) -> Period:
        """The period `n` steps after `period` (before it when negative)."""

    @abstractmethod
    def name_of(self, period: Period) -> str:
        """DHIS2's display name of `period`."""


class _DailyKind(_Kind):
    def __init__(self) -> None:
        self.name = "Daily"

    def make(self, day: date) -> Period:
        return Period(day.strftime("%Y%m%d"), self.name, day, day)

    def containing(self, day: date) -> Period:
        _check_year(day.year, day.isoformat())
        return self.make(day)

    def shift(self, period: Period, n: int) -> Period:
        try:
            day = period.start_date + timedelta(days=n)
        except OverflowError:
            raise ValueError(f"Shifting {period.id!r} by {n} leaves the calendar.") from None
        return self.containing(day)

    def name_of(self, period: Period) -> str:
        return _format_date(period.start_date)


class _WeeklyKind(_Kind):
    """Weeks starting on a given weekday; week 1 contains 4 January."""

    def __init__(self, name: str, prefix: str, weekday: int) -> None:
        self.name = name
        self.prefix = prefix
        self.weekday = weekday  # Monday = 0

    def week_one_start(self, year: int) -> date:
        jan4 = date(year, 1, 4)
        return jan4 - timedelta(days=(jan4.weekday() - self.weekday) % 7)

    def weeks_in_year(self, year: int) -> int:
        return (self.week_one_start(year + 1) - self.week_one_start(year)).days // 7

    def make(self, year: int, week: int, text: str) -> Period:
        _check_year(year, text)
        count = self.weeks_in_year(year)
        if not 1 <= week <= count:
            raise ValueError(
                f"Invalid period {text!r}: {self.name} year {year} has weeks 1-{count}, "
                f"not week {week}."
            )
        start = self.week_one_start(year) + timedelta(weeks=week - 1)
        return Period(f"{year}{self.prefix}{week}", self.name, start, start + timedelta(days=6))

    def containing(self, day: date) -> Period:
        year = day.year
        _check_year(year, day.isoformat())
        if day >= self.week_one_start(year + 1):
            year += 1
        elif day < self.week_one_start(year):
            year -= 1
        week = (day - self.week_one_start(year)).days // 7 + 1
        return self.make(year, week, day.isoformat())

    def shift(self, period: Period, n: int) -> Period:
        try:
            day = period.start_date + timedelta(weeks=n)
        except OverflowError:
            raise ValueError(f"Shifting {period.id!r} by {n} leaves the calendar.") from None
        return self.containing(day)

    def name_of(self, period: Period) -> str:
        week = period.id[period.id.index(self.prefix) + len(self.prefix) :]
        return f"Week {week} {_format_date(period.start_date)} - {_format_date(period.end_date)}"


class _BiWeeklyKind(_Kind):
    """Bi-week n starts on the Monday of ISO week 2n-1 and lasts 14 days."""

    def __init__(self, iso_weeks: _WeeklyKind) -> None:
        self.name = "BiWeekly"
        self.iso = iso_weeks

    def count(self, year: int) -> int:
        return (self.iso.weeks_in_year(year) + 1) // 2

    def make(self, year: int, biweek: int, text: str) -> Period:
        _check_year(year, text)
        count = self.count(year)
        if not 1 <= biweek <= count:
            raise ValueError(
                f"Invalid period {text!r}: BiWeekly year {year} has bi-weeks 1-{count}, "
                f"not bi-week {biweek}."
            )
        start = self.iso.week_one_start(year) + timedelta(weeks=2 * (biweek - 1))
        return Period(f"{year}BiW{biweek}", self.name, start, start + timedelta(days=13))

    def parts(self, period: Period) -> tuple[int, int]:
        year, _, biweek = period.id.partition("BiW")
        return int(year), int(biweek)

    def containing(self, day: date) -> Period:
        week = self.iso.containing(day)
        year, _, number = week.id.partition("W")
        return self.make(int(year), (int(number) + 1) // 2, day.isoformat())

    def shift(self, period: Period, n: int) -> Period:
        year, biweek = self.parts(period)
        index = biweek - 1 + n
        # Walk year by year: years hold 26 or 27 bi-weeks.
        while index < 0:
            year -= 1
            _check_year(year, period.id)
            index += self.count(year)
        while index >= self.count(year):
            index -= self.count(year)
            year += 1
            _check_year(year, period.id)
        return self.make(year, index + 1, period.id)

    def name_of(self, period: Period) -> str:
        _, biweek = self.parts(period)
        start, end = _format_date(period.start_date), _format_date(period.end_date)
        return f"Bi-Week {biweek} {start} - {end}"


class _MonthSpanKind(_Kind):
    """Periods made of whole months: monthly up to financial years.

    Period `i` (1-based) of period-year `Y` starts in month
    `anchor + (i - 1) * length` of year `Y + year_offset`.
    """

    def __init__(
        self,
        name: str,
        length: int,
        anchor: int,
        formatter: Callable[[int, int], str],
        year_offset: int = 0,
    ) -> None:
        self.name = name
        self.length = length
        self.anchor = anchor
        self.year_offset = year_offset
        self.per_year = 12 // length
        self.formatter = formatter

    def _from_global(self, index: int, text: str) -> Period:
        year, position = divmod(index, self.per_year)
        _check_year(year, text)
        first = index * self.length + self.year_offset * 12 + self.anchor - 1
        last = first + self.length - 1
        start = date(first // 12, first % 12 + 1, 1)
        end_year, end_month = last // 12, last % 12 + 1
        end = date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])
        return Period(self.formatter(year, position + 1), self.name, start, end)

    def _global(self, day: date) -> int:
        month_index = day.year * 12 + day.month - 1
        return (month_index - self.year_offset * 12 - self.anchor + 1) // self.length

    def make(self, year: int, position: int, text: str) -> Period:
        _check_year(year, text)
        if not 1 <= position <= self.per_year:
            raise ValueError(
                f"Invalid period {text!r}: {self.name} periods are numbered "
                f"1-{self.per_year}, not {position}."
            )
        return self._from_global(year * self.per_year + position - 1, text)

    def containing(self, day: date) -> Period:
        return self._from_global(self._global(day), day.isoformat())

    def shift(self, period: Period, n: int) -> Period:
        return self._from_global(self._global(period.start_date) + n, period.id)

    def name_of(self, period: Period) -> str:
        start, end = period.start_date, period.end_date
        first, last = _MONTH_NAMES[start.month - 1], _MONTH_NAMES[end.month - 1]
        if self.length == 1:
            return f"{first} {start.year}"
        if self.length == 12 and self.anchor == 1:
            return str(start.year)
        if start.year == end.year:
            return f"{first} - {last} {end.year}"
        return f"{first} {start.year} - {last} {end.year}"


_ISO_WEEKS = _WeeklyKind("Weekly", "W", 0)

_KIND_LIST: tuple[_Kind, ...] = (
    _DailyKind(),
    _ISO_WEEKS,
    _WeeklyKind("WeeklyWednesday", "WedW", 2),
    _WeeklyKind("WeeklyThursday", "ThuW", 3),
    _WeeklyKind("WeeklyFriday", "FriW", 4),
    _WeeklyKind("WeeklySaturday", "SatW", 5),
    _WeeklyKind("WeeklySunday", "SunW", 6),
    _BiWeeklyKind(_ISO_WEEKS),
    _MonthSpanKind("Monthly", 1, 1, lambda y, i: f"{y}{i:02d}"),
    _MonthSpanKind("BiMonthly", 2, 1, lambda y, i: f"{y}{i:02d}B"),
    _MonthSpanKind("Quarterly", 3, 1, lambda y, i: f"{y}Q{i}"),
    _MonthSpanKind("QuarterlyNov", 3, 11, lambda y, i: f"{y}NovQ{i}", year_offset=-1),
    _MonthSpanKind("SixMonthly", 6, 1, lambda y, i: f"{y}S{i}"),
    _MonthSpanKind("SixMonthlyApril", 6, 4, lambda y, i: f"{y}AprilS{i}"),
    _MonthSpanKind("SixMonthlyNov", 6, 11, lambda y, i: f"{y}NovS{i}", year_offset=-1),
    _MonthSpanKind("Yearly", 12, 1, lambda y, i: f"{y}"),
    _MonthSpanKind("FinancialFeb", 12, 2, lambda y, i: f"{y}Feb"),
    _MonthSpanKind("FinancialApril", 12, 4, lambda y, i: f"{y}April"),
    _MonthSpanKind("FinancialJuly", 12, 7, lambda y, i: f"{y}July"),
    _MonthSpanKind("FinancialAug", 12, 8, lambda y, i: f"{y}Aug"),
    _MonthSpanKind("FinancialSep", 12, 9, lambda y, i: f"{y}Sep"),
    _MonthSpanKind("FinancialOct", 12, 10, lambda y, i: f"{y}Oct"),
    _MonthSpanKind("FinancialNov", 12, 11, lambda y, i: f"{y}Nov", year_offset=-1),
)

_KINDS: dict[str, _Kind] = {kind.name: kind for kind in _KIND_LIST}

PERIOD_TYPES: tuple[str, ...] = tuple(_KINDS)
"""Every supported DHIS2 period type name, shortest periods first."""


def _kind(period_type: str) -> _Kind:
    try:
        return _KINDS[period_type]
    except KeyError:
        raise ValueError(
            f"Unknown period type {period_type!r}; expected one of: {', '.join(PERIOD_TYPES)}."
        ) from None


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

_WEEK_PREFIXES = {kind.prefix: kind for kind in _KIND_LIST if isinstance(kind, _WeeklyKind)}
_FINANCIAL_SUFFIXES = {
    "Feb": "FinancialFeb",
    "April": "FinancialApril",
    "July": "FinancialJuly",
    "Aug": "FinancialAug",
    "Sep": "FinancialSep",
    "Oct": "FinancialOct",
    "Nov": "FinancialNov",
}
_NUMBERED = {
    "B": "BiMonthly",
    "Q": "Quarterly",
    "NovQ": "QuarterlyNov",
    "S": "SixMonthly",
    "AprilS": "SixMonthlyApril",
    "NovS": "SixMonthlyNov",
}

_DAILY_RE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})", re.ASCII)
_MONTHLY_RE = re.compile(r"(\d{4})-?(\d{2})", re.ASCII)
_YEARLY_RE = re.compile(r"\d{4}", re.ASCII)
_WEEKLY_RE = re.compile(r"(\d{4})(W|WedW|ThuW|FriW|SatW|SunW)(\d{1,2})", re.ASCII)
_BIWEEKLY_RE = re.compile(r"(\d{4})BiW(\d{1,2})", re.ASCII)
_BIMONTHLY_RE = re.compile(r"(\d{4})(\d{2})B", re.ASCII)
_NUMBERED_RE = re.compile(r"(\d{4})(NovQ|Q|AprilS|NovS|S)(\d)", re.ASCII)
_FINANCIAL_RE = re.compile(r"(\d{4})(Feb|April|July|Aug|Sep|Oct|Nov)", re.ASCII)


def _parse(text: str) -> Period:
    if m := _WEEKLY_RE.fullmatch(text):
        return _WEEK_PREFIXES[m[2]].make(int(m[1]), int(m[3]), text)
    if m := _BIWEEKLY_RE.fullmatch(text):
        kind = _KINDS["BiWeekly"]
        assert isinstance(kind, _BiWeeklyKind)
        return kind.make(int(m[1]), int(m[2]), text)
    if m := _BIMONTHLY_RE.fullmatch(text):
        return _month_span("BiMonthly").make(int(m[1]), int(m[2]), text)
    if m := _NUMBERED_RE.fullmatch(text):
        return _month_span(_NUMBERED[m[2]]).make(int(m[1]), int(m[3]), text)
    if m := _FINANCIAL_RE.fullmatch(text):
        return _month_span(_FINANCIAL_SUFFIXES[m[2]]).make(int(m[1]), 1, text)
    if _YEARLY_RE.fullmatch(text):
        return _month_span("Yearly").make(int(text), 1, text)
    if (m := _MONTHLY_RE.fullmatch(text)) and (len(text) == 6 or text[4] == "-"):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"Invalid period {text!r}: month {month} is not 01-12.")
        return _month_span("Monthly").make(year, month, text)
    if (m := _DAILY_RE.fullmatch(text)) and (len(text) == 8 or text[4] == text[7] == "-"):
        year = int(m[1])
        _check_year(year, text)
        try:
            day = date(year, int(m[2]), int(m[3]))
        except ValueError as exc:
            raise ValueError(f"Invalid period {text!r}: {exc}.") from None
        return _DailyKind().make(day)
    raise ValueError(
        f"Invalid period {text!r}: not a DHIS2 ISO period such as 20240131, 2024W5, "
        "2024BiW1, 202401, 202401B, 2024Q1, 2024S1, 2024 or 2024April."
    )


def _month_span(name: str) -> _MonthSpanKind:
    kind = _KINDS[name]
    assert isinstance(kind, _MonthSpanKind)
    return kind


@lru_cache(maxsize=65536)
def _parse_cached(text: str) -> Period:
    return _parse(text)


def parse_period(text: str) -> Period:
    """Parse a DHIS2 ISO period identifier.

    Args:
        text: An identifier such as `202401`, `2024-01`, `2024W53`, `2024NovQ1`.

    Returns:
        The period, with its canonical id.

    Raises:
        ValueError: If `text` is not a valid identifier; the message names it and
            says what is wrong (unknown format, week 53 in a 52-week year,
            month 13...).
        TypeError: If `text` is not a string.

    Examples:
        >>> parse_period("2020W53").end_date
        datetime.date(2021, 1, 3)
        >>> parse_period("2023April").name
        'April 2023 - March 2024'
    """
    if not isinstance(text, str):
        raise TypeError(f"Invalid period {text!r}: expected a string.")
    return _parse_cached(text)


def is_valid_period(text: object) -> bool:
    """Tell whether `text` is a valid DHIS2 ISO period identifier.

    Examples:
        >>> is_valid_period("2020W53"), is_valid_period("2021W53")
        (True, False)
    """
    if not isinstance(text, str):
        return False
    try:
        _parse_cached(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------
# Sequences of periods
# ---------------------------------------------------------------------------


def period_containing(period_type: str, day: date) -> Period:
    """Return the period of `period_type` that contains `day`.

    Examples:
        >>> period_containing("Weekly", date(2021, 1, 1)).id
        '2020W53'
        >>> period_containing("FinancialNov", date(2023, 11, 1)).id
        '2024Nov'
    """
    return _kind(period_type).containing(day)


def next_period(period: Period | str) -> Period:
    """Return the period after `period` (a `Period` or an identifier)."""
    return _as_period(period).shift(1)


def previous_period(period: Period | str) -> Period:
    """Return the period before `period` (a `Period` or an identifier)."""
    return _as_period(period).shift(-1)


def _as_period(period: Period | str) -> Period:
    return period if isinstance(period, Period) else parse_period(period)


def periods_between(
    period_type: str,
    start: date,
    end: date,
    *,
    mode: Literal["contained", "overlapping"] = "contained",
) -> list[Period]:
    """List the periods of one type between two dates, in order.

    With `mode="contained"` (the default, as DHIS2 analytics does for a date
    range) only periods lying entirely within `start..end` are returned; with
    `mode="overlapping"` every period sharing at least one day with the range.

    Args:
        period_type: A DHIS2 period type name from `PERIOD_TYPES`.
        start: First day of the range.
        end: Last day of the range (inclusive).
        mode: `"contained"` or `"overlapping"`.

    Returns:
        The periods ordered by start date (empty when none qualifies).

    Raises:
        ValueError: On an unknown period type, an unknown mode, or `start > end`.

    Examples:
        >>> [p.id for p in periods_between("Quarterly", date(2024, 1, 15), date(2024, 12, 31))]
        ['2024Q2', '2024Q3', '2024Q4']
        >>> len(periods_between("Monthly", date(2024, 1, 15), date(2024, 3, 1), mode="overlapping"))
        3
    """
    kind = _kind(period_type)
    if mode not in ("contained", "overlapping"):
        raise ValueError(f"Unknown mode {mode!r}; expected 'contained' or 'overlapping'.")
    if start > end:
        raise ValueError(f"Start date {start} is after end date {end}.")
    result: list[Period] = []
    period = kind.containing(start)
    # Walk until a period starts after the range: bi-weeks overlap at a year end
    # (bi-week 27 of a 53-week year shares days with bi-week 1), so a period that
    # reaches past `end` does not mean the next one starts after it.
    while period.start_date <= end:
        if mode == "overlapping" or (period.start_date >= start and period.end_date <= end):
            result.append(period)
        period = period.shift(1)
    return result


# ---------------------------------------------------------------------------
# Relative periods
# ---------------------------------------------------------------------------

RELATIVE_PERIODS: tuple[str, ...] = (
    "TODAY",
    "YESTERDAY",
    "LAST_3_DAYS",
    "LAST_7_DAYS",
    "LAST_14_DAYS",
    "LAST_30_DAYS",
    "LAST_60_DAYS",
    "LAST_90_DAYS",
    "LAST_180_DAYS",
    "THIS_MONTH",
    "LAST_MONTH",
    "THIS_BIMONTH",
    "LAST_BIMONTH",
    "THIS_QUARTER",
    "LAST_QUARTER",
    "THIS_SIX_MONTH",
    "LAST_SIX_MONTH",
    "WEEKS_THIS_YEAR",
    "MONTHS_THIS_YEAR",
    "BIMONTHS_THIS_YEAR",
    "QUARTERS_THIS_YEAR",
    "THIS_YEAR",
    "MONTHS_LAST_YEAR",
    "QUARTERS_LAST_YEAR",
    "LAST_YEAR",
    "LAST_5_YEARS",
    "LAST_10_YEARS",
    "LAST_12_MONTHS",
    "LAST_6_MONTHS",
    "LAST_3_MONTHS",
    "LAST_6_BIMONTHS",
    "LAST_4_QUARTERS",
    "LAST_2_SIXMONTHS",
    "THIS_FINANCIAL_YEAR",
    "LAST_FINANCIAL_YEAR",
    "LAST_5_FINANCIAL_YEARS",
    "LAST_10_FINANCIAL_YEARS",
    "THIS_WEEK",
    "LAST_WEEK",
    "THIS_BIWEEK",
    "LAST_BIWEEK",
    "LAST_4_WEEKS",
    "LAST_4_BIWEEKS",
    "LAST_12_WEEKS",
    "LAST_52_WEEKS",
)
"""Every relative period keyword of DHIS2 (`RelativePeriodEnum`), in DHIS2's order."""

FINANCIAL_YEAR_STARTS: dict[str, str] = {
    "FINANCIAL_YEAR_FEBRUARY": "FinancialFeb",
    "FINANCIAL_YEAR_APRIL": "FinancialApril",
    "FINANCIAL_YEAR_JULY": "FinancialJuly",
    "FINANCIAL_YEAR_AUGUST": "FinancialAug",
    "FINANCIAL_YEAR_SEPTEMBER": "FinancialSep",
    "FINANCIAL_YEAR_OCTOBER": "FinancialOct",
    "FINANCIAL_YEAR_NOVEMBER": "FinancialNov",
}
"""DHIS2's `keyAnalyticsFinancialYearStart` values and the period type each selects."""

_FINANCIAL_ALIASES = {
    "FEB": "FinancialFeb",
    "FEBRUARY": "FinancialFeb",
    "APRIL": "FinancialApril",
    "APR": "FinancialApril",
    "JULY": "FinancialJuly",
    "JUL": "FinancialJuly",
    "AUG": "FinancialAug",
    "AUGUST": "FinancialAug",
    "SEP": "FinancialSep",
    "SEPTEMBER": "FinancialSep",
    "OCT": "FinancialOct",
    "OCTOBER": "FinancialOct",
    "NOV": "FinancialNov",
    "NOVEMBER": "FinancialNov",
}


def _financial_type(financial_year_start: str) -> str:
    key = financial_year_start.strip()
    if key in _KINDS and key.startswith("Financial"):
        return key
    upper = key.upper()
    if upper in FINANCIAL_YEAR_STARTS:
        return FINANCIAL_YEAR_STARTS[upper]
    if upper in _FINANCIAL_ALIASES:
        return _FINANCIAL_ALIASES[upper]
    raise ValueError(
        f"Unknown financial year start {financial_year_start!r}; expected a month such as "
        "'April', 'July', 'October' or 'November', or a DHIS2 key such as "
        "'FINANCIAL_YEAR_OCTOBER'."
    )


def _minus_months(day: date, months: int) -> date:
    """`day` moved back by whole months, clamping the day as Joda-Time does."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _ending_with(last: Period, count: int) -> list[Period]:
    return [last.shift(offset) for offset in range(1 - count, 1)]


def _all_of_year(period_type: str, year: int) -> list[Period]:
    kind = _KINDS[period_type]
    if isinstance(kind, _MonthSpanKind):
        return [kind.make(year, i, str(year)) for i in range(1, kind.per_year + 1)]
    assert isinstance(kind, _WeeklyKind)
    return [kind.make(year, w, str(year)) for w in range(1, kind.weeks_in_year(year) + 1)]


_LAST_DAYS = re.compile(r"LAST_(\d+)_DAYS")


def _resolve(keyword: str, at: date, financial: str) -> list[Period]:
    daily, weekly, biweekly = _KINDS["Daily"], _KINDS["Weekly"], _KINDS["BiWeekly"]
    monthly, bimonthly = _KINDS["Monthly"], _KINDS["BiMonthly"]
    quarterly, six_monthly, yearly = _KINDS["Quarterly"], _KINDS["SixMonthly"], _KINDS["Yearly"]
    fin = _KINDS[financial]
    year_ago = _minus_months(at, 12)
    match keyword:
        case "TODAY":
            return [daily.containing(at)]
        case "YESTERDAY":
            return [daily.containing(at - timedelta(days=1))]
        case "THIS_WEEK":
            return [weekly.containing(at)]
        case "LAST_WEEK":
            return [weekly.containing(at - timedelta(weeks=1))]
        case "LAST_4_WEEKS" | "LAST_12_WEEKS" | "LAST_52_WEEKS":
            count = int(keyword.split("_")[1])
            return _ending_with(weekly.containing(at - timedelta(weeks=1)), count)
        case "WEEKS_THIS_YEAR":
            return _all_of_year("Weekly", at.year)
        case "THIS_BIWEEK":
            return [biweekly.containing(at)]
        case "LAST_BIWEEK":
            return [biweekly.containing(at - timedelta(weeks=2))]
        case "LAST_4_BIWEEKS":
            return _ending_with(biweekly.containing(at - timedelta(weeks=2)), 4)
        case "THIS_MONTH":
            return [monthly.containing(at)]
        case "LAST_MONTH":
            return [monthly.containing(_minus_months(at, 1))]
        case "LAST_3_MONTHS" | "LAST_6_MONTHS" | "LAST_12_MONTHS":
            count = int(keyword.split("_")[1])
            return _ending_with(monthly.containing(_minus_months(at, 1)), count)
        case "MONTHS_THIS_YEAR":
            return _all_of_year("Monthly", at.year)
        case "MONTHS_LAST_YEAR":
            return _all_of_year("Monthly", year_ago.year)
        case "THIS_BIMONTH":
            return [bimonthly.containing(at)]
        case "LAST_BIMONTH":
            return [bimonthly.containing(_minus_months(at, 2))]
        case "LAST_6_BIMONTHS":
            return _ending_with(bimonthly.containing(_minus_months(at, 2)), 6)
        case "BIMONTHS_THIS_YEAR":
            return _all_of_year("BiMonthly", at.year)
        case "THIS_QUARTER":
            return [quarterly.containing(at)]
        case "LAST_QUARTER":
            return [quarterly.containing(_minus_months(at, 3))]
        case "LAST_4_QUARTERS":
            return _ending_with(quarterly.containing(_minus_months(at, 3)), 4)
        case "QUARTERS_THIS_YEAR":
            return _all_of_year("Quarterly", at.year)
        case "QUARTERS_LAST_YEAR":
            return _all_of_year("Quarterly", year_ago.year)
        case "THIS_SIX_MONTH":
            return [six_monthly.containing(at)]
        case "LAST_SIX_MONTH":
            return [six_monthly.containing(_minus_months(at, 6))]
        case "LAST_2_SIXMONTHS":
            return _ending_with(six_monthly.containing(_minus_months(at, 6)), 2)
        case "THIS_YEAR":
            return [yearly.containing(at)]
        case "LAST_YEAR":
            return [yearly.containing(year_ago)]
        case "LAST_5_YEARS" | "LAST_10_YEARS":
            count = int(keyword.split("_")[1])
            return _ending_with(yearly.containing(year_ago), count)
        case "THIS_FINANCIAL_YEAR":
            return [fin.containing(at)]
        case "LAST_FINANCIAL_YEAR":
            return [fin.containing(year_ago)]
        case "LAST_5_FINANCIAL_YEARS" | "LAST_10_FINANCIAL_YEARS":
            count = int(keyword.split("_")[1])
            return _ending_with(fin.containing(year_ago), count)
    if m := _LAST_DAYS.fullmatch(keyword):
        return _ending_with(daily.containing(at - timedelta(days=1)), int(m[1]))
    raise AssertionError(f"unhandled relative period {keyword}")  # pragma: no cover


def is_relative_period(keyword: object) -> bool:
    """Tell whether `keyword` is a DHIS2 relative period keyword such as `LAST_12_MONTHS`.

    Examples:
        >>> is_relative_period("LAST_12_MONTHS"), is_relative_period("202401")
        (True, False)
    """
    return isinstance(keyword, str) and keyword in _RELATIVE_SET


_RELATIVE_SET = frozenset(RELATIVE_PERIODS)


def resolve_relative_period(
    keyword: str,
    at: date,
    financial_year_start: str = "October",
) -> list[Period]:
    """Expand a relative period keyword into fixed periods, as DHIS2 does at date `at`.

    `at` plays the role of the analytics `relativePeriodDate`. The semantics
    follow dhis2-core `RelativePeriods`:

    - `THIS_*` is the period containing `at`; `LAST_<unit>` the one before it.
    - `LAST_n_<units>` are the `n` periods ending with `LAST_<unit>`, so they
      never include the period containing `at` (`LAST_12_MONTHS` at 2022-01-01
      is 202101..202112; `LAST_7_DAYS` ends yesterday).
    - `<UNITS>_THIS_YEAR` is every period of the calendar year of `at` (all 12
      months for `MONTHS_THIS_YEAR`, including future ones), `WEEKS_THIS_YEAR`
      every ISO week of week-year `at.year`; `*_LAST_YEAR` the same a year back.
    - `LAST_5_YEARS`/`LAST_10_YEARS` end with last year.
    - Financial keywords use the financial period type chosen by
      `financial_year_start` (DHIS2's `keyAnalyticsFinancialYearStart` system
      setting, whose default is October), anchored at `at` like every other
      keyword (some older DHIS2 releases anchored them at the server's today).

    Args:
        keyword: One of `RELATIVE_PERIODS`.
        at: The date the keyword is relative to.
        financial_year_start: `"April"`, `"July"`, `"October"`, `"November"`
            (also `"February"`, `"August"`, `"September"`), a financial period
            type name such as `"FinancialApril"`, or a DHIS2 key such as
            `"FINANCIAL_YEAR_APRIL"`.

    Returns:
        The fixed periods in chronological order.

    Raises:
        ValueError: On an unknown keyword or financial year start.

    Examples:
        >>> [p.id for p in resolve_relative_period("LAST_3_MONTHS", date(2024, 2, 29))]
        ['202311', '202312', '202401']
        >>> [p.id for p in resolve_relative_period("THIS_FINANCIAL_YEAR", date(2024, 2, 29), "April")]
        ['2023April']
    """
    if not is_relative_period(keyword):
        raise ValueError(
            f"Unknown relative period {keyword!r}; expected a DHIS2 keyword such as "
            "LAST_12_MONTHS, THIS_YEAR or LAST_4_QUARTERS."
        )
    return _resolve(keyword, at, _financial_type(financial_year_start))


def resolve_periods(
    items: Iterable[str],
    at: date,
    financial_year_start: str = "October",
) -> list[Period]:
    """Resolve a mix of ISO periods and relative keywords to fixed periods.

    Items keep their order; a period produced twice appears once, at its first place.

    Args:
        items: Period identifiers and/or relative keywords (`["LAST_4_QUARTERS", "2024Q1"]`).
        at: The date relative keywords are resolved at.
        financial_year_start: See `resolve_relative_period`.

    Returns:
        The distinct fixed periods.

    Raises:
        ValueError: On the first item that is neither a valid period nor a keyword,
            naming it.

    Examples:
        >>> [p.id for p in resolve_periods(["THIS_YEAR", "2021", "2022"], date(2022, 5, 1))]
        ['2022', '2021']
    """
    result: dict[Period, None] = {}
    for item in items:
        if is_relative_period(item):
            for period in resolve_relative_period(item, at, financial_year_start):
                result.setdefault(period)
        else:
            result.setdefault(parse_period(item))
    return list(result)
