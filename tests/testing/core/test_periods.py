"""Cross-check of the emulator's period table against the library's `prefect_dhis2.periods`.

The two are independent implementations of DHIS2's period rules; each checks the other.
The emulator must also keep not importing the library's module.
"""

from __future__ import annotations

import ast
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prefect_dhis2.testing
from prefect_dhis2 import periods as library
from prefect_dhis2.testing.core import periods as emulator

TESTING_DIR = Path(prefect_dhis2.testing.__file__).parent

# Years with 53 ISO weeks (2015, 2020, 2026), leap years (2016, 2024) and ordinary ones.
REFERENCE_DATES = [
    date(year, month, day)
    for year in (2014, 2015, 2016, 2020, 2021, 2023, 2024, 2026, 2027)
    for month, day in ((1, 1), (1, 4), (1, 11), (2, 29), (3, 31), (6, 30), (12, 28), (12, 31))
    if (month, day) != (2, 29) or year % 4 == 0
]
FINANCIAL_STARTS = {
    "FinancialApril": "April",
    "FinancialJuly": "July",
    "FinancialOct": "October",
    "FinancialNov": "November",
}

settings.register_profile("periods", max_examples=400, deadline=None)
dates = st.dates(min_value=date(1100, 1, 1), max_value=date(9900, 12, 31))
period_types = st.sampled_from(emulator.PERIOD_TYPES)


def facts(period: emulator.Period | library.Period) -> tuple[object, ...]:
    return period.id, period.period_type, period.start_date, period.end_date, period.name


def parsed(module: object, text: str) -> tuple[object, ...] | None:
    try:
        return facts(module.parse_period(text))  # type: ignore[attr-defined]
    except ValueError:
        return None


def test_the_emulator_does_not_import_the_library_periods() -> None:
    offenders = []
    for path in TESTING_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            if any(name == "prefect_dhis2.periods" for name in names):
                offenders.append(f"{path.relative_to(TESTING_DIR)}:{node.lineno}")
    assert offenders == []


def test_same_period_types_and_relative_keywords() -> None:
    assert set(emulator.PERIOD_TYPES) == set(library.PERIOD_TYPES)
    assert set(emulator.RELATIVE_PERIODS) == set(library.RELATIVE_PERIODS)


@pytest.mark.parametrize("period_type", emulator.PERIOD_TYPES)
def test_every_day_of_2019_to_2027_lies_in_the_same_period(period_type: str) -> None:
    day = date(2019, 1, 1)
    while day <= date(2027, 12, 31):
        mine = emulator.period_containing(period_type, day)
        assert facts(mine) == facts(library.period_containing(period_type, day)), day
        assert facts(emulator.parse_period(mine.id)) == facts(mine)
        day += timedelta(days=1)


@settings(settings.get_profile("periods"))
@given(period_type=period_types, day=dates, steps=st.integers(-60, 60))
def test_containing_parsing_and_shifting_agree(period_type: str, day: date, steps: int) -> None:
    mine = emulator.period_containing(period_type, day)
    theirs = library.period_containing(period_type, day)
    assert facts(mine) == facts(theirs)
    assert mine.days == theirs.days
    assert facts(emulator.parse_period(mine.id)) == facts(library.parse_period(theirs.id))
    assert facts(mine.shift(steps)) == facts(theirs.shift(steps))


TYPE_PARTS = ["W", "WedW", "ThuW", "FriW", "SatW", "SunW", "BiW", "B", "Q", "NovQ", "S"]
NAME_PARTS = ["AprilS", "NovS", "April", "July", "Oct", "Nov", "Feb", "Aug", "Sep", "Jan"]
NUMBER_PARTS = ["-", "0", "1", "00", "01", "06", "07", "12", "13", "26", "27", "29", "31", "52"]
ID_PARTS = st.sampled_from([*TYPE_PARTS, *NAME_PARTS, *NUMBER_PARTS, "53", "\uff11"])
period_ids = st.one_of(
    st.builds(
        lambda year, parts: f"{year:04d}{''.join(parts)}",
        st.sampled_from([999, 1000, 2015, 2020, 2021, 2024, 9998, 9999]),
        st.lists(ID_PARTS, max_size=3),
    ),
    st.text(alphabet="0123456789-WBQSANovpril\u0662", max_size=10),
)


@settings(settings.get_profile("periods"))
@given(text=period_ids)
def test_the_same_ids_are_valid_and_mean_the_same(text: str) -> None:
    assert parsed(emulator, text) == parsed(library, text)


@pytest.mark.parametrize(
    "text", ["2020W53", "2026W53", "2020BiW27", "2016WedW53", "2014SunW53", "2024SatW53"]
)
def test_53rd_weeks_agree(text: str) -> None:
    assert parsed(emulator, text) == parsed(library, text) is not None
    assert parsed(emulator, text.replace("53", "54").replace("27", "28")) is None


@pytest.mark.parametrize("keyword", emulator.RELATIVE_PERIODS)
@pytest.mark.parametrize("financial", FINANCIAL_STARTS)
def test_relative_periods_agree_at_reference_dates(keyword: str, financial: str) -> None:
    for at in REFERENCE_DATES:
        mine = emulator.resolve_relative_period(keyword, at, financial)
        theirs = library.resolve_relative_period(keyword, at, FINANCIAL_STARTS[financial])
        assert [facts(p) for p in mine] == [facts(p) for p in theirs], at


@settings(settings.get_profile("periods"))
@given(keyword=st.sampled_from(emulator.RELATIVE_PERIODS), at=dates)
def test_relative_periods_agree_at_any_date(keyword: str, at: date) -> None:
    mine = emulator.resolve_relative_period(keyword, at)
    theirs = library.resolve_relative_period(keyword, at)
    assert [facts(p) for p in mine] == [facts(p) for p in theirs]
