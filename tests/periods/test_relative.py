"""Relative periods resolved at several dates, hand-checked, plus structural checks for all."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from prefect_dhis2.periods import (
    FINANCIAL_YEAR_STARTS,
    RELATIVE_PERIODS,
    is_relative_period,
    parse_period,
    resolve_periods,
    resolve_relative_period,
)

# 2022-01-01: a Saturday in ISO week 2021W52; 2024-02-29: leap day (2024W9);
# 2020-12-31 and 2021-01-01: both in ISO week 2020W53; 2026-12-30: in 2026W53.
ANCHORS = [
    date(2022, 1, 1),
    date(2024, 2, 29),
    date(2020, 12, 31),
    date(2021, 1, 1),
    date(2026, 12, 30),
]


def ids(keyword: str, at: date, fy: str = "October") -> list[str]:
    return [p.id for p in resolve_relative_period(keyword, at, fy)]


def month_ids(first: str, count: int) -> list[str]:
    start = parse_period(first)
    return [start.shift(i).id for i in range(count)]


EXPECTED = [
    # --- at 2022-01-01 (reference example in the DHIS2 notes: LAST_12_MONTHS -> 202101..202112)
    ("LAST_12_MONTHS", date(2022, 1, 1), [f"2021{m:02d}" for m in range(1, 13)]),
    ("THIS_YEAR", date(2022, 1, 1), ["2022"]),
    ("LAST_YEAR", date(2022, 1, 1), ["2021"]),
    ("LAST_4_QUARTERS", date(2022, 1, 1), ["2021Q1", "2021Q2", "2021Q3", "2021Q4"]),
    ("MONTHS_THIS_YEAR", date(2022, 1, 1), [f"2022{m:02d}" for m in range(1, 13)]),
    ("MONTHS_LAST_YEAR", date(2022, 1, 1), [f"2021{m:02d}" for m in range(1, 13)]),
    ("QUARTERS_THIS_YEAR", date(2022, 1, 1), ["2022Q1", "2022Q2", "2022Q3", "2022Q4"]),
    ("BIMONTHS_THIS_YEAR", date(2022, 1, 1), [f"20220{b}B" for b in range(1, 7)]),
    ("THIS_WEEK", date(2022, 1, 1), ["2021W52"]),
    ("LAST_WEEK", date(2022, 1, 1), ["2021W51"]),
    ("LAST_52_WEEKS", date(2022, 1, 1), ["2020W53"] + [f"2021W{w}" for w in range(1, 52)]),
    ("WEEKS_THIS_YEAR", date(2022, 1, 1), [f"2022W{w}" for w in range(1, 53)]),
    ("THIS_BIWEEK", date(2022, 1, 1), ["2021BiW26"]),
    ("LAST_BIWEEK", date(2022, 1, 1), ["2021BiW25"]),
    ("TODAY", date(2022, 1, 1), ["20220101"]),
    ("YESTERDAY", date(2022, 1, 1), ["20211231"]),
    ("LAST_3_DAYS", date(2022, 1, 1), ["20211229", "20211230", "20211231"]),
    ("LAST_5_YEARS", date(2022, 1, 1), ["2017", "2018", "2019", "2020", "2021"]),
    ("LAST_10_YEARS", date(2022, 1, 1), [str(y) for y in range(2012, 2022)]),
    ("THIS_FINANCIAL_YEAR", date(2022, 1, 1), ["2021Oct"]),
    ("LAST_FINANCIAL_YEAR", date(2022, 1, 1), ["2020Oct"]),
    ("LAST_5_FINANCIAL_YEARS", date(2022, 1, 1), [f"{y}Oct" for y in range(2016, 2021)]),
    ("LAST_BIMONTH", date(2022, 1, 1), ["202106B"]),
    ("LAST_SIX_MONTH", date(2022, 1, 1), ["2021S2"]),
    # --- at 2024-02-29 (leap day, Thursday of 2024W9)
    ("TODAY", date(2024, 2, 29), ["20240229"]),
    ("LAST_7_DAYS", date(2024, 2, 29), [f"202402{d}" for d in range(22, 29)]),
    ("THIS_WEEK", date(2024, 2, 29), ["2024W9"]),
    ("LAST_WEEK", date(2024, 2, 29), ["2024W8"]),
    ("LAST_4_WEEKS", date(2024, 2, 29), ["2024W5", "2024W6", "2024W7", "2024W8"]),
    (
        "LAST_12_WEEKS",
        date(2024, 2, 29),
        [f"2023W{w}" for w in range(49, 53)] + [f"2024W{w}" for w in range(1, 9)],
    ),
    ("THIS_BIWEEK", date(2024, 2, 29), ["2024BiW5"]),
    ("LAST_BIWEEK", date(2024, 2, 29), ["2024BiW4"]),
    ("LAST_4_BIWEEKS", date(2024, 2, 29), ["2024BiW1", "2024BiW2", "2024BiW3", "2024BiW4"]),
    ("THIS_MONTH", date(2024, 2, 29), ["202402"]),
    ("LAST_MONTH", date(2024, 2, 29), ["202401"]),
    ("LAST_3_MONTHS", date(2024, 2, 29), ["202311", "202312", "202401"]),
    (
        "LAST_6_MONTHS",
        date(2024, 2, 29),
        ["202308", "202309", "202310", "202311", "202312", "202401"],
    ),
    ("LAST_12_MONTHS", date(2024, 2, 29), month_ids("202302", 12)),
    ("THIS_BIMONTH", date(2024, 2, 29), ["202401B"]),
    ("LAST_BIMONTH", date(2024, 2, 29), ["202306B"]),
    ("LAST_6_BIMONTHS", date(2024, 2, 29), [f"20230{b}B" for b in range(1, 7)]),
    ("THIS_QUARTER", date(2024, 2, 29), ["2024Q1"]),
    ("LAST_QUARTER", date(2024, 2, 29), ["2023Q4"]),
    ("LAST_4_QUARTERS", date(2024, 2, 29), ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]),
    ("QUARTERS_LAST_YEAR", date(2024, 2, 29), ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]),
    ("THIS_SIX_MONTH", date(2024, 2, 29), ["2024S1"]),
    ("LAST_SIX_MONTH", date(2024, 2, 29), ["2023S2"]),
    ("LAST_2_SIXMONTHS", date(2024, 2, 29), ["2023S1", "2023S2"]),
    ("THIS_YEAR", date(2024, 2, 29), ["2024"]),
    ("LAST_YEAR", date(2024, 2, 29), ["2023"]),
    ("LAST_5_YEARS", date(2024, 2, 29), ["2019", "2020", "2021", "2022", "2023"]),
    ("WEEKS_THIS_YEAR", date(2024, 2, 29), [f"2024W{w}" for w in range(1, 53)]),
    ("THIS_FINANCIAL_YEAR", date(2024, 2, 29), ["2023Oct"]),
    ("LAST_FINANCIAL_YEAR", date(2024, 2, 29), ["2022Oct"]),
    ("LAST_10_FINANCIAL_YEARS", date(2024, 2, 29), [f"{y}Oct" for y in range(2013, 2023)]),
    # --- at 2020-12-31 (Thursday of ISO week 2020W53)
    ("THIS_WEEK", date(2020, 12, 31), ["2020W53"]),
    ("LAST_WEEK", date(2020, 12, 31), ["2020W52"]),
    ("LAST_4_WEEKS", date(2020, 12, 31), ["2020W49", "2020W50", "2020W51", "2020W52"]),
    ("LAST_52_WEEKS", date(2020, 12, 31), [f"2020W{w}" for w in range(1, 53)]),
    ("WEEKS_THIS_YEAR", date(2020, 12, 31), [f"2020W{w}" for w in range(1, 54)]),
    ("THIS_BIWEEK", date(2020, 12, 31), ["2020BiW27"]),
    ("LAST_BIWEEK", date(2020, 12, 31), ["2020BiW26"]),
    ("THIS_MONTH", date(2020, 12, 31), ["202012"]),
    ("LAST_12_MONTHS", date(2020, 12, 31), month_ids("201912", 12)),
    ("LAST_QUARTER", date(2020, 12, 31), ["2020Q3"]),
    ("LAST_3_DAYS", date(2020, 12, 31), ["20201228", "20201229", "20201230"]),
    ("THIS_YEAR", date(2020, 12, 31), ["2020"]),
    # --- at 2021-01-01 (Friday, still in ISO week 2020W53, but calendar year 2021)
    ("THIS_WEEK", date(2021, 1, 1), ["2020W53"]),
    ("LAST_WEEK", date(2021, 1, 1), ["2020W52"]),
    ("LAST_52_WEEKS", date(2021, 1, 1), [f"2020W{w}" for w in range(1, 53)]),
    ("WEEKS_THIS_YEAR", date(2021, 1, 1), [f"2021W{w}" for w in range(1, 53)]),
    ("THIS_BIWEEK", date(2021, 1, 1), ["2020BiW27"]),
    ("LAST_4_BIWEEKS", date(2021, 1, 1), ["2020BiW23", "2020BiW24", "2020BiW25", "2020BiW26"]),
    ("THIS_YEAR", date(2021, 1, 1), ["2021"]),
    ("MONTHS_LAST_YEAR", date(2021, 1, 1), [f"2020{m:02d}" for m in range(1, 13)]),
    ("LAST_MONTH", date(2021, 1, 1), ["202012"]),
    ("YESTERDAY", date(2021, 1, 1), ["20201231"]),
    # --- at 2026-12-30 (Wednesday of ISO week 2026W53)
    ("THIS_WEEK", date(2026, 12, 30), ["2026W53"]),
    ("THIS_BIWEEK", date(2026, 12, 30), ["2026BiW27"]),
    ("LAST_WEEK", date(2026, 12, 30), ["2026W52"]),
    # --- from the dhis2-core analytics e2e tests: THIS_WEEK at relativePeriodDate=2022-02-01
    ("THIS_WEEK", date(2022, 2, 1), ["2022W5"]),
]


@pytest.mark.parametrize(
    ("keyword", "at", "expected"), EXPECTED, ids=[f"{k}@{a}" for k, a, _ in EXPECTED]
)
def test_hand_checked(keyword: str, at: date, expected: list[str]) -> None:
    assert ids(keyword, at) == expected


@pytest.mark.parametrize(
    ("start", "at", "this", "last"),
    [
        ("April", date(2024, 2, 29), "2023April", "2022April"),
        ("April", date(2024, 4, 1), "2024April", "2023April"),
        ("FINANCIAL_YEAR_APRIL", date(2020, 12, 31), "2020April", "2019April"),
        ("July", date(2022, 1, 1), "2021July", "2020July"),
        ("July", date(2022, 7, 1), "2022July", "2021July"),
        ("October", date(2024, 9, 30), "2023Oct", "2022Oct"),
        ("Oct", date(2024, 10, 1), "2024Oct", "2023Oct"),
        ("November", date(2024, 2, 29), "2024Nov", "2023Nov"),
        ("November", date(2023, 11, 1), "2024Nov", "2023Nov"),
        ("FinancialNov", date(2023, 10, 31), "2023Nov", "2022Nov"),
        ("February", date(2024, 1, 31), "2023Feb", "2022Feb"),
        ("August", date(2024, 8, 1), "2024Aug", "2023Aug"),
        ("September", date(2024, 8, 31), "2023Sep", "2022Sep"),
    ],
)
def test_financial_year_start(start: str, at: date, this: str, last: str) -> None:
    assert ids("THIS_FINANCIAL_YEAR", at, start) == [this]
    assert ids("LAST_FINANCIAL_YEAR", at, start) == [last]
    five = ids("LAST_5_FINANCIAL_YEARS", at, start)
    assert five[-1] == last
    assert five == [parse_period(last).shift(i).id for i in range(-4, 1)]


def test_every_dhis2_financial_key_is_accepted() -> None:
    for key, ptype in FINANCIAL_YEAR_STARTS.items():
        (period,) = resolve_relative_period("THIS_FINANCIAL_YEAR", date(2024, 6, 15), key)
        assert period.period_type == ptype
        assert period.contains(date(2024, 6, 15))


def test_unknown_financial_year_start() -> None:
    with pytest.raises(ValueError, match="'March'"):
        resolve_relative_period("THIS_FINANCIAL_YEAR", date(2024, 1, 1), "March")


COUNTS = {
    "TODAY": 1, "YESTERDAY": 1, "LAST_3_DAYS": 3, "LAST_7_DAYS": 7, "LAST_14_DAYS": 14,
    "LAST_30_DAYS": 30, "LAST_60_DAYS": 60, "LAST_90_DAYS": 90, "LAST_180_DAYS": 180,
    "THIS_MONTH": 1, "LAST_MONTH": 1, "THIS_BIMONTH": 1, "LAST_BIMONTH": 1, "THIS_QUARTER": 1,
    "LAST_QUARTER": 1, "THIS_SIX_MONTH": 1, "LAST_SIX_MONTH": 1, "MONTHS_THIS_YEAR": 12,
    "BIMONTHS_THIS_YEAR": 6, "QUARTERS_THIS_YEAR": 4, "THIS_YEAR": 1, "MONTHS_LAST_YEAR": 12,
    "QUARTERS_LAST_YEAR": 4, "LAST_YEAR": 1, "LAST_5_YEARS": 5, "LAST_10_YEARS": 10,
    "LAST_12_MONTHS": 12, "LAST_6_MONTHS": 6, "LAST_3_MONTHS": 3, "LAST_6_BIMONTHS": 6,
    "LAST_4_QUARTERS": 4, "LAST_2_SIXMONTHS": 2, "THIS_FINANCIAL_YEAR": 1,
    "LAST_FINANCIAL_YEAR": 1, "LAST_5_FINANCIAL_YEARS": 5, "LAST_10_FINANCIAL_YEARS": 10,
    "THIS_WEEK": 1, "LAST_WEEK": 1, "THIS_BIWEEK": 1, "LAST_BIWEEK": 1, "LAST_4_WEEKS": 4,
    "LAST_4_BIWEEKS": 4, "LAST_12_WEEKS": 12, "LAST_52_WEEKS": 52,
}  # fmt: skip


def test_keyword_list_is_dhis2s_full_list() -> None:
    assert len(RELATIVE_PERIODS) == 45
    assert set(COUNTS) | {"WEEKS_THIS_YEAR"} == set(RELATIVE_PERIODS)
    assert all(is_relative_period(k) for k in RELATIVE_PERIODS)
    assert not is_relative_period("LAST_13_MONTHS")
    assert not is_relative_period("last_12_months")
    assert not is_relative_period("202401")
    assert not is_relative_period(None)


def expected_type(keyword: str) -> str:
    for unit, ptype in [
        ("FINANCIAL", "FinancialOct"), ("BIWEEK", "BiWeekly"), ("WEEK", "Weekly"),
        ("BIMONTH", "BiMonthly"), ("SIX", "SixMonthly"), ("QUARTER", "Quarterly"),
        ("MONTH", "Monthly"), ("YEAR", "Yearly"), ("DAY", "Daily"),
    ]:  # fmt: skip
        if unit in keyword:
            return ptype
    return "Daily"  # TODAY


@pytest.mark.parametrize("at", ANCHORS, ids=str)
@pytest.mark.parametrize("keyword", RELATIVE_PERIODS)
def test_structure_of_every_keyword(keyword: str, at: date) -> None:
    periods = resolve_relative_period(keyword, at)
    if keyword == "WEEKS_THIS_YEAR":
        # Every ISO week of week-year at.year: 52 or 53 of them.
        assert len(periods) == (53 if at.year in (2020, 2026) else 52)
        assert periods[0].id == f"{at.year}W1"
    else:
        assert len(periods) == COUNTS[keyword]
    assert {p.period_type for p in periods} == {expected_type(keyword)}
    assert periods == sorted(periods)
    assert len(set(periods)) == len(periods)
    for before, after in itertools.pairwise(periods):
        if before.period_type == "BiWeekly" and before.id.endswith("BiW27"):
            # The last bi-week of a 53-week year overlaps bi-week 1 of the next year.
            assert after.start_date == before.end_date - timedelta(days=6)
        else:
            assert after.start_date == before.end_date + timedelta(days=1), (before, after)
    if keyword.startswith("LAST_") or keyword == "YESTERDAY":
        assert periods[-1].end_date < at
        # ... and the last one is the period right before the one holding `at`.
        assert periods[-1].next().contains(at)
    if keyword.startswith("THIS_") or keyword == "TODAY":
        assert periods[0].contains(at)
    if keyword.endswith("_THIS_YEAR") and keyword != "WEEKS_THIS_YEAR":
        assert periods[0].start_date == date(at.year, 1, 1)
        assert periods[-1].end_date == date(at.year, 12, 31)
    if keyword.endswith("_LAST_YEAR"):
        assert periods[0].start_date == date(at.year - 1, 1, 1)
        assert periods[-1].end_date == date(at.year - 1, 12, 31)
    for period in periods:
        assert parse_period(period.id) == period


@pytest.mark.parametrize("at", ANCHORS, ids=str)
def test_last_n_is_a_suffix_of_the_longer_list(at: date) -> None:
    assert ids("LAST_3_MONTHS", at) == ids("LAST_12_MONTHS", at)[-3:]
    assert ids("LAST_6_MONTHS", at) == ids("LAST_12_MONTHS", at)[-6:]
    assert ids("LAST_4_WEEKS", at) == ids("LAST_52_WEEKS", at)[-4:]
    assert ids("LAST_12_WEEKS", at) == ids("LAST_52_WEEKS", at)[-12:]
    assert ids("LAST_7_DAYS", at) == ids("LAST_180_DAYS", at)[-7:]
    assert ids("LAST_MONTH", at) == ids("LAST_12_MONTHS", at)[-1:]
    assert ids("LAST_WEEK", at) == ids("LAST_4_WEEKS", at)[-1:]
    assert ids("LAST_BIWEEK", at) == ids("LAST_4_BIWEEKS", at)[-1:]
    assert ids("LAST_QUARTER", at) == ids("LAST_4_QUARTERS", at)[-1:]
    assert ids("LAST_BIMONTH", at) == ids("LAST_6_BIMONTHS", at)[-1:]
    assert ids("LAST_SIX_MONTH", at) == ids("LAST_2_SIXMONTHS", at)[-1:]
    assert ids("LAST_YEAR", at) == ids("LAST_5_YEARS", at)[-1:]
    assert ids("LAST_5_YEARS", at) == ids("LAST_10_YEARS", at)[-5:]
    assert ids("LAST_FINANCIAL_YEAR", at) == ids("LAST_10_FINANCIAL_YEARS", at)[-1:]
    assert ids("YESTERDAY", at) == ids("LAST_3_DAYS", at)[-1:]


def test_unknown_keyword() -> None:
    with pytest.raises(ValueError, match="'LAST_13_MONTHS'"):
        resolve_relative_period("LAST_13_MONTHS", date(2022, 1, 1))


def test_resolve_periods_mixes_keywords_and_iso_and_dedupes() -> None:
    result = resolve_periods(
        ["LAST_4_QUARTERS", "2021Q4", "2022-01", "THIS_YEAR"], date(2022, 1, 1)
    )
    assert [p.id for p in result] == ["2021Q1", "2021Q2", "2021Q3", "2021Q4", "202201", "2022"]


def test_resolve_periods_names_the_bad_item() -> None:
    with pytest.raises(ValueError, match="'2021W53'"):
        resolve_periods(["LAST_YEAR", "2021W53"], date(2022, 1, 1))
    with pytest.raises(ValueError, match="'NEXT_YEAR'"):
        resolve_periods(["NEXT_YEAR"], date(2022, 1, 1))


def test_resolve_periods_financial_start() -> None:
    result = resolve_periods(
        ["THIS_FINANCIAL_YEAR"], date(2022, 1, 1), financial_year_start="April"
    )
    assert [p.id for p in result] == ["2021April"]
