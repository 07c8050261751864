"""Parsing every DHIS2 ISO period format, with hand-checked dates and names."""

from __future__ import annotations

from datetime import date

import pytest

from prefect_dhis2.periods import PERIOD_TYPES, Period, is_valid_period, parse_period

D = date

# (input, canonical id, period type, start, end, DHIS2 display name)
CASES = [
    ("20240131", "20240131", "Daily", D(2024, 1, 31), D(2024, 1, 31), "2024-01-31"),
    ("2024-02-29", "20240229", "Daily", D(2024, 2, 29), D(2024, 2, 29), "2024-02-29"),
    ("19991231", "19991231", "Daily", D(1999, 12, 31), D(1999, 12, 31), "1999-12-31"),
    # ISO weeks: week 1 holds 4 January, so it can start in the previous year.
    (
        "2019W1",
        "2019W1",
        "Weekly",
        D(2018, 12, 31),
        D(2019, 1, 6),
        "Week 1 2018-12-31 - 2019-01-06",
    ),
    ("2024W1", "2024W1", "Weekly", D(2024, 1, 1), D(2024, 1, 7), "Week 1 2024-01-01 - 2024-01-07"),
    ("2024W5", "2024W5", "Weekly", D(2024, 1, 29), D(2024, 2, 4), "Week 5 2024-01-29 - 2024-02-04"),
    # Name as in the dhis2-core analytics e2e test (THIS_WEEK at 2022-02-01).
    ("2022W5", "2022W5", "Weekly", D(2022, 1, 31), D(2022, 2, 6), "Week 5 2022-01-31 - 2022-02-06"),
    (
        "2024W05",
        "2024W5",
        "Weekly",
        D(2024, 1, 29),
        D(2024, 2, 4),
        "Week 5 2024-01-29 - 2024-02-04",
    ),
    (
        "2020W53",
        "2020W53",
        "Weekly",
        D(2020, 12, 28),
        D(2021, 1, 3),
        "Week 53 2020-12-28 - 2021-01-03",
    ),
    (
        "2015W53",
        "2015W53",
        "Weekly",
        D(2015, 12, 28),
        D(2016, 1, 3),
        "Week 53 2015-12-28 - 2016-01-03",
    ),
    (
        "2026W53",
        "2026W53",
        "Weekly",
        D(2026, 12, 28),
        D(2027, 1, 3),
        "Week 53 2026-12-28 - 2027-01-03",
    ),
    ("2021W1", "2021W1", "Weekly", D(2021, 1, 4), D(2021, 1, 10), "Week 1 2021-01-04 - 2021-01-10"),
    (
        "2021W52",
        "2021W52",
        "Weekly",
        D(2021, 12, 27),
        D(2022, 1, 2),
        "Week 52 2021-12-27 - 2022-01-02",
    ),
    # Other week starts: the week of that start day holding 4 January is week 1.
    (
        "2024WedW1",
        "2024WedW1",
        "WeeklyWednesday",
        D(2024, 1, 3),
        D(2024, 1, 9),
        "Week 1 2024-01-03 - 2024-01-09",
    ),
    (
        "2022WedW1",
        "2022WedW1",
        "WeeklyWednesday",
        D(2021, 12, 29),
        D(2022, 1, 4),
        "Week 1 2021-12-29 - 2022-01-04",
    ),
    (
        "2022WedW53",
        "2022WedW53",
        "WeeklyWednesday",
        D(2022, 12, 28),
        D(2023, 1, 3),
        "Week 53 2022-12-28 - 2023-01-03",
    ),
    (
        "2024ThuW1",
        "2024ThuW1",
        "WeeklyThursday",
        D(2024, 1, 4),
        D(2024, 1, 10),
        "Week 1 2024-01-04 - 2024-01-10",
    ),
    (
        "2021ThuW1",
        "2021ThuW1",
        "WeeklyThursday",
        D(2020, 12, 31),
        D(2021, 1, 6),
        "Week 1 2020-12-31 - 2021-01-06",
    ),
    (
        "2024FriW1",
        "2024FriW1",
        "WeeklyFriday",
        D(2023, 12, 29),
        D(2024, 1, 4),
        "Week 1 2023-12-29 - 2024-01-04",
    ),
    (
        "2024SatW1",
        "2024SatW1",
        "WeeklySaturday",
        D(2023, 12, 30),
        D(2024, 1, 5),
        "Week 1 2023-12-30 - 2024-01-05",
    ),
    (
        "2024SunW1",
        "2024SunW1",
        "WeeklySunday",
        D(2023, 12, 31),
        D(2024, 1, 6),
        "Week 1 2023-12-31 - 2024-01-06",
    ),
    (
        "2024SunW10",
        "2024SunW10",
        "WeeklySunday",
        D(2024, 3, 3),
        D(2024, 3, 9),
        "Week 10 2024-03-03 - 2024-03-09",
    ),
    # Bi-weeks: bi-week n starts on the Monday of ISO week 2n-1.
    (
        "2024BiW1",
        "2024BiW1",
        "BiWeekly",
        D(2024, 1, 1),
        D(2024, 1, 14),
        "Bi-Week 1 2024-01-01 - 2024-01-14",
    ),
    (
        "2026BiW1",
        "2026BiW1",
        "BiWeekly",
        D(2025, 12, 29),
        D(2026, 1, 11),
        "Bi-Week 1 2025-12-29 - 2026-01-11",
    ),
    (
        "2024BiW26",
        "2024BiW26",
        "BiWeekly",
        D(2024, 12, 16),
        D(2024, 12, 29),
        "Bi-Week 26 2024-12-16 - 2024-12-29",
    ),
    (
        "2020BiW27",
        "2020BiW27",
        "BiWeekly",
        D(2020, 12, 28),
        D(2021, 1, 10),
        "Bi-Week 27 2020-12-28 - 2021-01-10",
    ),
    ("202401", "202401", "Monthly", D(2024, 1, 1), D(2024, 1, 31), "January 2024"),
    ("2024-02", "202402", "Monthly", D(2024, 2, 1), D(2024, 2, 29), "February 2024"),
    ("202302", "202302", "Monthly", D(2023, 2, 1), D(2023, 2, 28), "February 2023"),
    ("202109", "202109", "Monthly", D(2021, 9, 1), D(2021, 9, 30), "September 2021"),
    ("202412", "202412", "Monthly", D(2024, 12, 1), D(2024, 12, 31), "December 2024"),
    ("202401B", "202401B", "BiMonthly", D(2024, 1, 1), D(2024, 2, 29), "January - February 2024"),
    (
        "202306B",
        "202306B",
        "BiMonthly",
        D(2023, 11, 1),
        D(2023, 12, 31),
        "November - December 2023",
    ),
    ("2021Q1", "2021Q1", "Quarterly", D(2021, 1, 1), D(2021, 3, 31), "January - March 2021"),
    ("2024Q4", "2024Q4", "Quarterly", D(2024, 10, 1), D(2024, 12, 31), "October - December 2024"),
    (
        "2024NovQ1",
        "2024NovQ1",
        "QuarterlyNov",
        D(2023, 11, 1),
        D(2024, 1, 31),
        "November 2023 - January 2024",
    ),
    (
        "2024NovQ2",
        "2024NovQ2",
        "QuarterlyNov",
        D(2024, 2, 1),
        D(2024, 4, 30),
        "February - April 2024",
    ),
    (
        "2024NovQ4",
        "2024NovQ4",
        "QuarterlyNov",
        D(2024, 8, 1),
        D(2024, 10, 31),
        "August - October 2024",
    ),
    ("2024S1", "2024S1", "SixMonthly", D(2024, 1, 1), D(2024, 6, 30), "January - June 2024"),
    ("2024S2", "2024S2", "SixMonthly", D(2024, 7, 1), D(2024, 12, 31), "July - December 2024"),
    (
        "2024AprilS1",
        "2024AprilS1",
        "SixMonthlyApril",
        D(2024, 4, 1),
        D(2024, 9, 30),
        "April - September 2024",
    ),
    (
        "2024AprilS2",
        "2024AprilS2",
        "SixMonthlyApril",
        D(2024, 10, 1),
        D(2025, 3, 31),
        "October 2024 - March 2025",
    ),
    (
        "2024NovS1",
        "2024NovS1",
        "SixMonthlyNov",
        D(2023, 11, 1),
        D(2024, 4, 30),
        "November 2023 - April 2024",
    ),
    (
        "2024NovS2",
        "2024NovS2",
        "SixMonthlyNov",
        D(2024, 5, 1),
        D(2024, 10, 31),
        "May - October 2024",
    ),
    ("2024", "2024", "Yearly", D(2024, 1, 1), D(2024, 12, 31), "2024"),
    ("2021", "2021", "Yearly", D(2021, 1, 1), D(2021, 12, 31), "2021"),
    (
        "2024Feb",
        "2024Feb",
        "FinancialFeb",
        D(2024, 2, 1),
        D(2025, 1, 31),
        "February 2024 - January 2025",
    ),
    (
        "2024April",
        "2024April",
        "FinancialApril",
        D(2024, 4, 1),
        D(2025, 3, 31),
        "April 2024 - March 2025",
    ),
    (
        "2024July",
        "2024July",
        "FinancialJuly",
        D(2024, 7, 1),
        D(2025, 6, 30),
        "July 2024 - June 2025",
    ),
    (
        "2024Aug",
        "2024Aug",
        "FinancialAug",
        D(2024, 8, 1),
        D(2025, 7, 31),
        "August 2024 - July 2025",
    ),
    (
        "2024Sep",
        "2024Sep",
        "FinancialSep",
        D(2024, 9, 1),
        D(2025, 8, 31),
        "September 2024 - August 2025",
    ),
    (
        "2024Oct",
        "2024Oct",
        "FinancialOct",
        D(2024, 10, 1),
        D(2025, 9, 30),
        "October 2024 - September 2025",
    ),
    # FinancialNov is named after the year it ends in (dhis2-core FinancialNovemberPeriodType).
    (
        "2024Nov",
        "2024Nov",
        "FinancialNov",
        D(2023, 11, 1),
        D(2024, 10, 31),
        "November 2023 - October 2024",
    ),
]


@pytest.mark.parametrize(
    ("text", "pid", "ptype", "start", "end", "name"), CASES, ids=[c[0] for c in CASES]
)
def test_parse_every_format(
    text: str, pid: str, ptype: str, start: date, end: date, name: str
) -> None:
    period = parse_period(text)
    assert period.id == pid
    assert period.period_type == ptype
    assert period.start_date == start
    assert period.end_date == end
    assert period.name == name
    assert period.days == (end - start).days + 1
    assert str(period) == pid
    assert is_valid_period(text)


def test_every_period_type_is_covered_by_the_cases() -> None:
    assert {case[2] for case in CASES} == set(PERIOD_TYPES)


def test_days_of_known_periods() -> None:
    assert parse_period("2024").days == 366
    assert parse_period("2023").days == 365
    assert parse_period("202402").days == 29
    assert parse_period("2024Q1").days == 91
    assert parse_period("2024W1").days == 7
    assert parse_period("2024BiW1").days == 14
    assert parse_period("20240101").days == 1


def test_equivalent_spellings_give_the_same_period() -> None:
    assert parse_period("2024-01") == parse_period("202401")
    assert parse_period("2024-01-31") == parse_period("20240131")
    assert parse_period("2024W05") == parse_period("2024W5")


BAD = [
    ("2021W53", "weeks 1-52"),  # 2021 has 52 ISO weeks
    ("2024W53", "weeks 1-52"),  # leap year starting on Monday: 52 weeks
    ("2022W53", "weeks 1-52"),
    ("2024W0", "not week 0"),
    ("2024WedW53", "weeks 1-52"),
    ("2021BiW27", "bi-weeks 1-26"),
    ("2024BiW0", "not bi-week 0"),
    ("202413", "month 13"),
    ("202400", "month 0"),
    ("2024-13", "month 13"),
    ("202407B", "numbered 1-6"),
    ("202400B", "numbered 1-6"),
    ("2024Q5", "numbered 1-4"),
    ("2024Q0", "numbered 1-4"),
    ("2024NovQ5", "numbered 1-4"),
    ("2024S3", "numbered 1-2"),
    ("2024AprilS0", "numbered 1-2"),
    ("20230229", "day is out of range"),
    ("20241301", "month must be in 1..12"),
    ("2024-02-30", "day is out of range"),
    ("0999", "outside the supported range"),
    ("LAST_12_MONTHS", "not a DHIS2 ISO period"),
    ("2024March", "not a DHIS2 ISO period"),
    ("24Q1", "not a DHIS2 ISO period"),
    ("2024q1", "not a DHIS2 ISO period"),
    (" 2024", "not a DHIS2 ISO period"),
    ("2024-0131", "not a DHIS2 ISO period"),
    ("2024TueW1", "not a DHIS2 ISO period"),
    ("", "not a DHIS2 ISO period"),
    # DHIS2's patterns use Java's ASCII-only \d: other Unicode digits are no period.
    ("\uff12\uff10\uff12\uff14", "not a DHIS2 ISO period"),  # fullwidth 2024
    ("2024\u0660\u0661", "not a DHIS2 ISO period"),  # Arabic-Indic 01
    ("2024W\u0665", "not a DHIS2 ISO period"),
]


@pytest.mark.parametrize(("text", "reason"), BAD, ids=[b[0] or "empty" for b in BAD])
def test_invalid_periods_raise_value_error_naming_the_input(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_period(text)
    message = str(info.value)
    assert repr(text) in message
    assert reason in message
    assert not is_valid_period(text)


def test_non_string_is_a_type_error_and_not_valid() -> None:
    with pytest.raises(TypeError):
        parse_period(202401)  # type: ignore[arg-type]
    assert not is_valid_period(202401)
    assert not is_valid_period(None)


def test_periods_are_hashable_and_ordered() -> None:
    periods = [parse_period(p) for p in ("2024Q2", "202401", "2024", "2023W52")]
    assert [p.id for p in sorted(periods)] == ["2023W52", "202401", "2024", "2024Q2"]
    assert len({parse_period("202401"), parse_period("2024-01")}) == 1
    assert isinstance(periods[0], Period)


def test_contains() -> None:
    week = parse_period("2020W53")
    assert week.contains(date(2021, 1, 3))
    assert week.contains(date(2020, 12, 28))
    assert not week.contains(date(2021, 1, 4))
