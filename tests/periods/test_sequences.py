"""periods_between, period_containing, shifting, and property-based checks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from prefect_dhis2.periods import (
    PERIOD_TYPES,
    next_period,
    parse_period,
    period_containing,
    periods_between,
    previous_period,
)

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
types = st.sampled_from(PERIOD_TYPES)
FAST = settings(max_examples=300, deadline=None)


def between_ids(ptype: str, start: date, end: date, mode: str = "contained") -> list[str]:
    return [p.id for p in periods_between(ptype, start, end, mode=mode)]  # type: ignore[arg-type]


def test_periods_between_contained_and_overlapping() -> None:
    assert between_ids("Quarterly", date(2024, 1, 15), date(2024, 12, 31)) == [
        "2024Q2",
        "2024Q3",
        "2024Q4",
    ]
    assert between_ids("Quarterly", date(2024, 1, 15), date(2024, 12, 31), "overlapping") == [
        "2024Q1", "2024Q2", "2024Q3", "2024Q4"
    ]  # fmt: skip
    assert between_ids("Monthly", date(2023, 11, 1), date(2024, 2, 29)) == [
        "202311",
        "202312",
        "202401",
        "202402",
    ]
    assert between_ids("Monthly", date(2024, 1, 2), date(2024, 1, 30)) == []
    assert between_ids("Monthly", date(2024, 1, 2), date(2024, 1, 30), "overlapping") == ["202401"]
    assert between_ids("Yearly", date(2020, 1, 1), date(2022, 12, 31)) == ["2020", "2021", "2022"]
    assert between_ids("Weekly", date(2020, 12, 28), date(2021, 1, 10)) == ["2020W53", "2021W1"]
    assert between_ids("Weekly", date(2020, 12, 29), date(2021, 1, 10)) == ["2021W1"]
    assert between_ids("Daily", date(2024, 2, 27), date(2024, 3, 1)) == [
        "20240227",
        "20240228",
        "20240229",
        "20240301",
    ]
    assert between_ids("FinancialApril", date(2020, 1, 1), date(2023, 3, 31)) == [
        "2020April",
        "2021April",
        "2022April",
    ]
    assert between_ids("FinancialNov", date(2022, 11, 1), date(2024, 10, 31)) == [
        "2023Nov",
        "2024Nov",
    ]
    assert between_ids("SixMonthlyApril", date(2024, 1, 1), date(2025, 3, 31), "overlapping") == [
        "2023AprilS2", "2024AprilS1", "2024AprilS2"
    ]  # fmt: skip
    # The last bi-week of 2020 overlaps bi-week 1 of 2021 (as in DHIS2): both are listed.
    assert between_ids("BiWeekly", date(2020, 12, 14), date(2021, 1, 17)) == [
        "2020BiW26",
        "2020BiW27",
        "2021BiW1",
    ]


def test_periods_between_single_day_and_errors() -> None:
    assert between_ids("Daily", date(2024, 1, 1), date(2024, 1, 1)) == ["20240101"]
    with pytest.raises(ValueError, match="after end date"):
        periods_between("Monthly", date(2024, 2, 1), date(2024, 1, 1))
    with pytest.raises(ValueError, match="'Fortnightly'"):
        periods_between("Fortnightly", date(2024, 1, 1), date(2024, 2, 1))
    with pytest.raises(ValueError, match="mode"):
        periods_between("Monthly", date(2024, 1, 1), date(2024, 2, 1), mode="inside")  # type: ignore[arg-type]


def test_period_containing_hand_checked() -> None:
    assert period_containing("Weekly", date(2021, 1, 1)).id == "2020W53"
    assert period_containing("Weekly", date(2019, 12, 30)).id == "2020W1"
    assert period_containing("WeeklySunday", date(2023, 12, 31)).id == "2024SunW1"
    assert period_containing("WeeklySaturday", date(2023, 12, 29)).id == "2023SatW52"
    assert period_containing("BiWeekly", date(2021, 1, 3)).id == "2020BiW27"
    assert period_containing("BiWeekly", date(2021, 1, 4)).id == "2021BiW1"
    assert period_containing("QuarterlyNov", date(2023, 12, 15)).id == "2024NovQ1"
    assert period_containing("SixMonthlyNov", date(2024, 10, 31)).id == "2024NovS2"
    assert period_containing("SixMonthlyNov", date(2024, 11, 1)).id == "2025NovS1"
    assert period_containing("FinancialNov", date(2023, 11, 1)).id == "2024Nov"
    assert period_containing("FinancialJuly", date(2024, 6, 30)).id == "2023July"
    assert period_containing("BiMonthly", date(2024, 12, 31)).id == "202406B"
    with pytest.raises(ValueError, match="'Hourly'"):
        period_containing("Hourly", date(2024, 1, 1))


def test_next_and_previous_across_year_boundaries() -> None:
    assert next_period("2020W53").id == "2021W1"
    assert next_period("2021W52").id == "2022W1"
    assert previous_period("2021W1").id == "2020W53"
    assert next_period("202412").id == "202501"
    assert next_period("2024Q4").id == "2025Q1"
    assert next_period("202406B").id == "202501B"
    assert next_period("2024NovQ4").id == "2025NovQ1"
    assert next_period("2024NovS2").id == "2025NovS1"
    assert next_period("20241231").id == "20250101"
    assert next_period("20240228").id == "20240229"
    assert next_period("2020BiW27").id == "2021BiW1"
    assert previous_period("2021BiW1").id == "2020BiW27"
    assert previous_period("2022BiW1").id == "2021BiW26"
    # 2021 has 26 bi-weeks and 2020 has 27: stepping back 26 + 27 lands on 2020BiW1.
    assert parse_period("2022BiW1").shift(-(26 + 27)).id == "2020BiW1"
    assert parse_period("2020BiW1").shift(26 + 27).id == "2022BiW1"
    assert parse_period("2024April").shift(-3).id == "2021April"
    assert parse_period("2024SatW1").previous().id == "2023SatW52"
    assert parse_period("2024Q1").shift(0).id == "2024Q1"


def test_shift_out_of_range_raises() -> None:
    with pytest.raises(ValueError, match="outside the supported range"):
        parse_period("9998").next()
    with pytest.raises(ValueError, match="outside the supported range"):
        parse_period("1000W1").previous()


@FAST
@given(ptype=types, day=dates)
def test_containing_contains_and_round_trips(ptype: str, day: date) -> None:
    period = period_containing(ptype, day)
    assert period.period_type == ptype
    assert period.contains(day)
    assert parse_period(period.id) == period
    assert period.days == (period.end_date - period.start_date).days + 1
    assert period.name  # every period has a display name


@FAST
@given(ptype=types, day=dates)
def test_consecutive_periods_are_contiguous(ptype: str, day: date) -> None:
    period = period_containing(ptype, day)
    after = period.next()
    if ptype == "BiWeekly" and period.id.endswith("BiW27"):
        assert after.start_date == period.end_date - timedelta(days=6)
    else:
        assert after.start_date == period.end_date + timedelta(days=1)
    assert after.previous() == period
    assert after > period


@FAST
@given(ptype=types, day=dates, n=st.integers(min_value=-60, max_value=60))
def test_shift_is_invertible_and_additive(ptype: str, day: date, n: int) -> None:
    period = period_containing(ptype, day)
    assert period.shift(n).shift(-n) == period
    assert period.shift(n).shift(1) == period.shift(n + 1)


@settings(max_examples=150, deadline=None)
@given(
    ptype=types.filter(lambda t: t not in ("Yearly",) and not t.startswith("Financial")),
    start=dates,
    length=st.integers(min_value=0, max_value=120),
)
@example(ptype="BiWeekly", start=date(1908, 11, 1), length=64)  # 1909BiW1 starts on the last day
def test_periods_between_matches_brute_force(ptype: str, start: date, length: int) -> None:
    end = start + timedelta(days=length)
    overlapping = periods_between(ptype, start, end, mode="overlapping")
    contained = periods_between(ptype, start, end)
    # Brute force: every day's containing period overlaps the range.
    days = [start + timedelta(days=i) for i in range(length + 1)]
    brute = {period_containing(ptype, d) for d in days}
    assert brute <= set(overlapping)
    if ptype != "BiWeekly":  # bi-week 27 overlaps bi-week 1, which wins the shared days
        assert brute == set(overlapping)
    assert all(p.start_date <= end and p.end_date >= start for p in overlapping)
    assert contained == [p for p in overlapping if p.start_date >= start and p.end_date <= end]
    assert overlapping == sorted(overlapping)
