"""The emulator's own table of DHIS2 periods, independent of `prefect_dhis2.periods`.

The emulated server parses the ISO period identifiers a client sends, names them in
analytics `metaData.items`, shifts them for `.periodOffset()` and expands relative
keywords at `relativePeriodDate`. It does so with this module, written from DHIS2's
documented formats ("Date and period format" in the Web API docs, `DateUnitType` and
`RelativePeriods` in dhis2-core), so that a period bug in the library is caught by the
server rather than agreed on by it.

Rules (ISO 8601 calendar only; years 1000-9998):

- Weeks starting on day `s` (Monday, Wednesday, Thursday, Friday, Saturday, Sunday)
  belong to the year of their fourth day, so week 1 holds 4 January. Monday weeks are
  Python's `date.isocalendar()`.
- Bi-week `n` is ISO weeks `2n-1` and `2n`; in a 53-week year bi-week 27 runs into
  week 1 of the next year.
- Month-based periods are counted from the first month of their year: January for
  calendar types, April/July/... for financial years and `SixMonthlyApril`, and
  November for `QuarterlyNov`, `SixMonthlyNov` and `FinancialNov`, which carry the
  year they end in.

Example:
    >>> p = parse_period("2024-01")
    >>> p.id, p.start_date, p.end_date, p.name
    ('202401', datetime.date(2024, 1, 1), datetime.date(2024, 1, 31), 'January 2024')
    >>> [q.id for q in resolve_relative_period("LAST_4_QUARTERS", date(2022, 1, 1))]
    ['2021Q1', '2021Q2', '2021Q3', '2021Q4']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

__all__ = [
    "PERIOD_TYPES",
    "RELATIVE_PERIODS",
    "Period",
    "is_relative_period",
    "parse_period",
    "period_containing",
    "resolve_relative_period",
]

_FIRST_YEAR, _LAST_YEAR = 1000, 9998
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


class _MonthSpan(NamedTuple):
    """A period type made of `length` whole months, counted from `first_month`."""

    length: int
    first_month: int
    label: str  # the id is year + label with `{n}` the position in the year
    ends_year: bool = False  # the id carries the year the period-year ends in


_SPANS: dict[str, _MonthSpan] = {
    "Monthly": _MonthSpan(1, 1, "{n:02d}"),
    "BiMonthly": _MonthSpan(2, 1, "{n:02d}B"),
    "Quarterly": _MonthSpan(3, 1, "Q{n}"),
    "QuarterlyNov": _MonthSpan(3, 11, "NovQ{n}", ends_year=True),
    "SixMonthly": _MonthSpan(6, 1, "S{n}"),
    "SixMonthlyApril": _MonthSpan(6, 4, "AprilS{n}"),
    "SixMonthlyNov": _MonthSpan(6, 11, "NovS{n}", ends_year=True),
    "Yearly": _MonthSpan(12, 1, ""),
    "FinancialFeb": _MonthSpan(12, 2, "Feb"),
    "FinancialApril": _MonthSpan(12, 4, "April"),
    "FinancialJuly": _MonthSpan(12, 7, "July"),
    "FinancialAug": _MonthSpan(12, 8, "Aug"),
    "FinancialSep": _MonthSpan(12, 9, "Sep"),
    "FinancialOct": _MonthSpan(12, 10, "Oct"),
    "FinancialNov": _MonthSpan(12, 11, "Nov", ends_year=True),
}

# Weekly types: id infix and the weekday a week starts on (Monday = 0).
_WEEKS: dict[str, tuple[str, int]] = {
    "Weekly": ("W", 0),
    "WeeklyWednesday": ("WedW", 2),
    "WeeklyThursday": ("ThuW", 3),
    "WeeklyFriday": ("FriW", 4),
    "WeeklySaturday": ("SatW", 5),
    "WeeklySunday": ("SunW", 6),
}

PERIOD_TYPES: tuple[str, ...] = ("Daily", *_WEEKS, "BiWeekly", *_SPANS)
"""The period types the emulator accepts."""


@dataclass(frozen=True, slots=True)
class Period:
    """A fixed period: canonical id, DHIS2 type and inclusive start and end dates.

    Example:
        >>> q = parse_period("2024Q1")
        >>> q.name, q.days, q.shift(-1).id
        ('January - March 2024', 91, '2023Q4')
    """

    id: str
    period_type: str
    start_date: date
    end_date: date

    @property
    def days(self) -> int:
        """Number of days, both ends included."""
        return (self.end_date - self.start_date).days + 1

    @property
    def name(self) -> str:
        """DHIS2's display name (`Week 5 2024-01-29 - 2024-02-04`, `April 2024 - March 2025`)."""
        start, end, kind = self.start_date, self.end_date, self.period_type
        if kind == "Daily":
            return start.isoformat()
        if kind in _WEEKS or kind == "BiWeekly":
            number = re.sub(r"^[0-9]{4}[A-Za-z]+", "", self.id)
            word = "Bi-Week" if kind == "BiWeekly" else "Week"
            return f"{word} {number} {start.isoformat()} - {end.isoformat()}"
        first, last = _MONTHS[start.month - 1], _MONTHS[end.month - 1]
        if kind == "Monthly":
            return f"{first} {start.year}"
        if kind == "Yearly":
            return str(start.year)
        if start.year == end.year:
            return f"{first} - {last} {end.year}"
        return f"{first} {start.year} - {last} {end.year}"

    def shift(self, steps: int) -> Period:
        """The period `steps` later (earlier when negative) of the same type."""
        kind = self.period_type
        if steps == 0:
            return self
        if kind == "Daily":
            return period_containing(kind, self.start_date + timedelta(days=steps))
        if kind in _WEEKS:
            return period_containing(kind, self.start_date + timedelta(weeks=steps))
        if kind == "BiWeekly":
            return _shift_biweek(self, steps)
        span = _SPANS[kind]
        months = self.start_date.year * 12 + self.start_date.month - 1 + steps * span.length
        return period_containing(kind, date(months // 12, months % 12 + 1, 1))


def _year_ok(year: int, text: str) -> int:
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise ValueError(f"Period not valid: {text!r} (year {year} out of range)")
    return year


def _add_months(year: int, month: int, count: int) -> date:
    """First day of the month `count` months after `year`-`month`."""
    index = year * 12 + month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


# -- weeks -----------------------------------------------------------------------------


def _week_year(start: date) -> int:
    """The year a week belongs to: that of its fourth day."""
    return (start + timedelta(days=3)).year


def _first_week(year: int, weekday: int) -> date:
    """Start of week 1: the first week whose fourth day falls in `year`."""
    fourth = (weekday + 3) % 7  # weekday of the fourth day of such a week
    day = date(year, 1, 1)
    return day + timedelta(days=(fourth - day.weekday()) % 7 - 3)


def _weeks_in(year: int, weekday: int) -> int:
    if weekday == 0:
        return date(year, 12, 28).isocalendar()[1]
    return (_first_week(year + 1, weekday) - _first_week(year, weekday)).days // 7


def _week(kind: str, year: int, number: int, text: str) -> Period:
    infix, weekday = _WEEKS[kind]
    _year_ok(year, text)
    if not 1 <= number <= _weeks_in(year, weekday):
        raise ValueError(f"Period not valid: {text!r} (no week {number} in {year})")
    if weekday == 0:
        start = date.fromisocalendar(year, number, 1)
    else:
        start = _first_week(year, weekday) + timedelta(weeks=number - 1)
    return Period(f"{year}{infix}{number}", kind, start, start + timedelta(days=6))


def _week_of(kind: str, day: date) -> Period:
    _year_ok(day.year, day.isoformat())
    weekday = _WEEKS[kind][1]
    if weekday == 0:
        year, number, _ = day.isocalendar()
        return _week(kind, year, number, day.isoformat())
    start = day - timedelta(days=(day.weekday() - weekday) % 7)
    year = _week_year(start)
    return _week(kind, year, (start - _first_week(year, weekday)).days // 7 + 1, day.isoformat())


# -- bi-weeks --------------------------------------------------------------------------


def _biweeks_in(year: int) -> int:
    return (_weeks_in(year, 0) + 1) // 2


def _biweek(year: int, number: int, text: str) -> Period:
    _year_ok(year, text)
    if not 1 <= number <= _biweeks_in(year):
        raise ValueError(f"Period not valid: {text!r} (no bi-week {number} in {year})")
    start = date.fromisocalendar(year, 2 * number - 1, 1)
    return Period(f"{year}BiW{number}", "BiWeekly", start, start + timedelta(days=13))


def _shift_biweek(period: Period, steps: int) -> Period:
    year, number = (int(part) for part in period.id.split("BiW"))
    while steps > 0:
        year, number = (year, number + 1) if number < _biweeks_in(year) else (year + 1, 1)
        steps -= 1
    while steps < 0:
        year, number = (year, number - 1) if number > 1 else (year - 1, _biweeks_in(year - 1))
        steps += 1
    return _biweek(year, number, period.id)


# -- month spans -----------------------------------------------------------------------


def _span(kind: str, year: int, position: int, text: str) -> Period:
    """Period `position` (1-based) of the period-year `year` as written in the id."""
    span = _SPANS[kind]
    _year_ok(year, text)
    if not 1 <= position <= 12 // span.length:
        raise ValueError(f"Period not valid: {text!r} (no {kind} period {position})")
    begins = year - 1 if span.ends_year else year
    start = _add_months(begins, span.first_month, (position - 1) * span.length)
    end = _add_months(start.year, start.month, span.length) - timedelta(days=1)
    return Period(f"{year}{span.label.format(n=position)}", kind, start, end)


def _span_of(kind: str, day: date) -> Period:
    span = _SPANS[kind]
    into_year = (day.month - span.first_month) % 12
    begins = day.year if day.month >= span.first_month else day.year - 1
    year = begins + 1 if span.ends_year else begins
    return _span(kind, year, into_year // span.length + 1, day.isoformat())


def period_containing(period_type: str, day: date) -> Period:
    """The period of `period_type` that contains `day`.

    Raises:
        ValueError: On an unknown type or a year outside 1000-9998.

    Example:
        >>> period_containing("WeeklySunday", date(2023, 1, 1)).id
        '2023SunW1'
    """
    if period_type == "Daily":
        _year_ok(day.year, day.isoformat())
        return Period(day.strftime("%Y%m%d"), "Daily", day, day)
    if period_type in _WEEKS:
        return _week_of(period_type, day)
    if period_type == "BiWeekly":
        _year_ok(day.year, day.isoformat())
        year, week, _ = day.isocalendar()
        return _biweek(year, (week + 1) // 2, day.isoformat())
    if period_type in _SPANS:
        return _span_of(period_type, day)
    raise ValueError(f"Unknown period type {period_type!r}")


# -- parsing ---------------------------------------------------------------------------

_INFIXES = {infix: kind for kind, (infix, _) in _WEEKS.items()}
_NUMBERED = {"B": "BiMonthly", "Q": "Quarterly", "NovQ": "QuarterlyNov"}
_NUMBERED |= {"S": "SixMonthly", "AprilS": "SixMonthlyApril", "NovS": "SixMonthlyNov"}
_FINANCIAL = {span.label: kind for kind, span in _SPANS.items() if kind.startswith("Financial")}
_ID = re.compile(
    r"(?P<y>[0-9]{4})(?:"
    r"(?P<d>-[0-9]{2}-[0-9]{2}|[0-9]{4})"
    r"|(?P<m>-[0-9]{2}|[0-9]{2})"
    r"|(?P<bm>[0-9]{2})B"
    r"|(?P<wk>W|WedW|ThuW|FriW|SatW|SunW|BiW)(?P<wn>[0-9]{1,2})"
    r"|(?P<nk>NovQ|Q|AprilS|NovS|S)(?P<nn>[0-9])"
    r"|(?P<fy>" + "|".join(_FINANCIAL) + r")"
    r")?"
)


def parse_period(text: str) -> Period:
    """Parse a DHIS2 ISO period identifier (`20240131`, `2024-01`, `2024SunW5`, `2024Nov`).

    Raises:
        ValueError: If `text` is not a valid identifier of a supported type.
        TypeError: If `text` is not a string.

    Example:
        >>> parse_period("2020W53").end_date
        datetime.date(2021, 1, 3)
        >>> parse_period("2024NovQ1").name
        'November 2023 - January 2024'
    """
    if not isinstance(text, str):
        raise TypeError(f"Period not valid: {text!r} is not a string")
    match = _ID.fullmatch(text)
    if match is None:
        raise ValueError(f"Period not valid: {text!r}")
    year = int(match["y"])
    if match["d"]:
        digits = match["d"].replace("-", "")
        _year_ok(year, text)
        try:
            day = date(year, int(digits[:2]), int(digits[2:]))
        except ValueError:
            raise ValueError(f"Period not valid: {text!r} (no such day)") from None
        return period_containing("Daily", day)
    if match["m"]:
        return _span("Monthly", year, int(match["m"].lstrip("-")), text)
    if match["bm"]:
        return _span("BiMonthly", year, int(match["bm"]), text)
    if match["wk"] == "BiW":
        return _biweek(year, int(match["wn"]), text)
    if match["wk"]:
        return _week(_INFIXES[match["wk"]], year, int(match["wn"]), text)
    if match["nk"]:
        return _span(_NUMBERED[match["nk"]], year, int(match["nn"]), text)
    return _span(_FINANCIAL.get(match["fy"] or "", "Yearly"), year, 1, text)


# -- relative periods ------------------------------------------------------------------


class _Rule(NamedTuple):
    """How a relative keyword expands: `periods` periods of `period_type`.

    `back` is how far before `relativePeriodDate` the last period lies: a number of
    periods for month-based types, of days for daily, weekly and bi-weekly ones
    (DHIS2 steps back 7 and 14 days). `whole_year` lists every period of the year
    (`year_back` years back) instead.
    """

    period_type: str
    periods: int = 1
    back: int = 0
    whole_year: bool = False
    year_back: int = 0


_RULES: dict[str, _Rule] = {
    "TODAY": _Rule("Daily"),
    "YESTERDAY": _Rule("Daily", back=1),
    **{f"LAST_{n}_DAYS": _Rule("Daily", n, 1) for n in (3, 7, 14, 30, 60, 90, 180)},
    "THIS_MONTH": _Rule("Monthly"),
    "LAST_MONTH": _Rule("Monthly", back=1),
    "THIS_BIMONTH": _Rule("BiMonthly"),
    "LAST_BIMONTH": _Rule("BiMonthly", back=1),
    "THIS_QUARTER": _Rule("Quarterly"),
    "LAST_QUARTER": _Rule("Quarterly", back=1),
    "THIS_SIX_MONTH": _Rule("SixMonthly"),
    "LAST_SIX_MONTH": _Rule("SixMonthly", back=1),
    "WEEKS_THIS_YEAR": _Rule("Weekly", whole_year=True),
    "MONTHS_THIS_YEAR": _Rule("Monthly", whole_year=True),
    "BIMONTHS_THIS_YEAR": _Rule("BiMonthly", whole_year=True),
    "QUARTERS_THIS_YEAR": _Rule("Quarterly", whole_year=True),
    "THIS_YEAR": _Rule("Yearly"),
    "MONTHS_LAST_YEAR": _Rule("Monthly", whole_year=True, year_back=1),
    "QUARTERS_LAST_YEAR": _Rule("Quarterly", whole_year=True, year_back=1),
    "LAST_YEAR": _Rule("Yearly", back=1),
    "LAST_5_YEARS": _Rule("Yearly", 5, 1),
    "LAST_10_YEARS": _Rule("Yearly", 10, 1),
    "LAST_12_MONTHS": _Rule("Monthly", 12, 1),
    "LAST_6_MONTHS": _Rule("Monthly", 6, 1),
    "LAST_3_MONTHS": _Rule("Monthly", 3, 1),
    "LAST_6_BIMONTHS": _Rule("BiMonthly", 6, 1),
    "LAST_4_QUARTERS": _Rule("Quarterly", 4, 1),
    "LAST_2_SIXMONTHS": _Rule("SixMonthly", 2, 1),
    "THIS_FINANCIAL_YEAR": _Rule("FinancialOct"),
    "LAST_FINANCIAL_YEAR": _Rule("FinancialOct", back=1),
    "LAST_5_FINANCIAL_YEARS": _Rule("FinancialOct", 5, 1),
    "LAST_10_FINANCIAL_YEARS": _Rule("FinancialOct", 10, 1),
    "THIS_WEEK": _Rule("Weekly"),
    "LAST_WEEK": _Rule("Weekly", back=7),
    "THIS_BIWEEK": _Rule("BiWeekly"),
    "LAST_BIWEEK": _Rule("BiWeekly", back=14),
    "LAST_4_WEEKS": _Rule("Weekly", 4, 7),
    "LAST_4_BIWEEKS": _Rule("BiWeekly", 4, 14),
    "LAST_12_WEEKS": _Rule("Weekly", 12, 7),
    "LAST_52_WEEKS": _Rule("Weekly", 52, 7),
}

RELATIVE_PERIODS: tuple[str, ...] = tuple(_RULES)
"""The relative period keywords the emulator expands."""


def is_relative_period(keyword: object) -> bool:
    """Tell whether `keyword` is a relative period keyword such as `LAST_12_MONTHS`.

    Example:
        >>> is_relative_period("LAST_52_WEEKS"), is_relative_period("2024W52")
        (True, False)
    """
    return isinstance(keyword, str) and keyword in _RULES


def resolve_relative_period(
    keyword: str, at: date, financial_type: str = "FinancialOct"
) -> list[Period]:
    """Expand a relative keyword at `at` (the `relativePeriodDate`), oldest period first.

    `THIS_x` contains `at`, `LAST_x` is the one before and `LAST_n_xs` are the `n`
    periods ending with `LAST_x`. Financial keywords use `financial_type`, by default
    `FinancialOct` (DHIS2's default financial year start).

    Raises:
        ValueError: On an unknown keyword.

    Example:
        >>> [p.id for p in resolve_relative_period("LAST_BIWEEK", date(2021, 1, 6))]
        ['2020BiW26']
        >>> resolve_relative_period("THIS_FINANCIAL_YEAR", date(2024, 9, 30))[0].name
        'October 2023 - September 2024'
    """
    if not is_relative_period(keyword):
        raise ValueError(f"Unknown relative period {keyword!r}")
    rule = _RULES[keyword]
    kind = financial_type if rule.period_type == "FinancialOct" else rule.period_type
    if rule.whole_year:
        year = at.year - rule.year_back
        period = period_containing(kind, date(year, 1, 4) if kind == "Weekly" else date(year, 1, 1))
        out = [period]
        while (nxt := out[-1].shift(1)).id[:4] == str(year):
            out.append(nxt)
        return out
    if kind in _SPANS:
        last = period_containing(kind, at).shift(-rule.back)
    else:
        last = period_containing(kind, at - timedelta(days=rule.back))
    return [last.shift(step) for step in range(1 - rule.periods, 1)]
