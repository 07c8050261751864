"""Resolved periods, canonical cache keys and row estimates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefect_dhis2.analytics import AnalyticsQuery

ANC1, ANC2, ANC3 = "fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP"
BO, BOMBALI, BONTHE = "O6uvpzGd5pu", "fdc6uOvgoji", "lc3eMKXaEfw"


def test_resolved_periods() -> None:
    query = AnalyticsQuery(data_items=[ANC1], periods=["LAST_4_QUARTERS", "2021Q4", "2022"])
    assert [p.id for p in query.resolved_periods(date(2022, 1, 1))] == [
        "2021Q1", "2021Q2", "2021Q3", "2021Q4", "2022"
    ]  # fmt: skip
    dated = query.replace(relative_period_date=date(2022, 7, 1))
    assert [p.id for p in dated.resolved_periods()][:4] == ["2021Q3", "2021Q4", "2022Q1", "2022Q2"]
    with pytest.raises(ValueError, match="LAST_4_QUARTERS needs a date"):
        query.resolved_periods()
    fixed = AnalyticsQuery(data_items=[ANC1], periods=["202401"])
    assert [p.id for p in fixed.resolved_periods()] == ["202401"]
    as_filter = AnalyticsQuery(data_items=[ANC1], filters={"pe": ["THIS_FINANCIAL_YEAR"]})
    assert [p.id for p in as_filter.resolved_periods(date(2024, 2, 29), "April")] == ["2023April"]


def test_canonical_key_ignores_item_and_filter_order() -> None:
    a = AnalyticsQuery(
        data_items=[ANC1, ANC2],
        org_units=[BO, BOMBALI],
        periods=["202401", "202402"],
        filters=["co:HllvX50cXC0", f"{'J5jldMd8OHv'}:uYxK4wmcPqA;tDZVQ1WtwpA"],
        skip_meta=True,
    )
    b = AnalyticsQuery(
        data_items=[ANC2, ANC1],
        org_units=[BOMBALI, BO],
        periods=["2024-02", "2024-01"],
        filters={"J5jldMd8OHv": ["tDZVQ1WtwpA", "uYxK4wmcPqA"], "co": ["HllvX50cXC0"]},
        skip_meta=True,
    )
    assert a.canonical_key() == b.canonical_key()
    assert len(a.canonical_key()) == 64


def test_canonical_key_resolves_relative_periods() -> None:
    relative = AnalyticsQuery(data_items=[ANC1], periods=["LAST_12_MONTHS"])
    months = AnalyticsQuery(data_items=[ANC1], periods=[f"2021{m:02d}" for m in range(12, 0, -1)])
    assert relative.canonical_key(date(2022, 1, 1)) == months.canonical_key()
    assert relative.canonical_key(date(2022, 1, 31)) == months.canonical_key()
    assert relative.canonical_key(date(2022, 2, 1)) != months.canonical_key()
    pinned = relative.replace(relative_period_date=date(2022, 1, 15))
    assert pinned.canonical_key() == months.canonical_key()


def test_canonical_key_changes_with_what_changes_the_answer() -> None:
    base = AnalyticsQuery(data_items=[ANC1], org_units=[BO], periods=["2024"])
    variants = [
        base.replace(data_items=[ANC2]),
        base.replace(org_units=[BO, BONTHE]),
        base.replace(periods=["2023"]),
        base.replace(skip_meta=True),
        base.replace(skip_meta=False),
        base.replace(display_property="SHORTNAME"),
        base.replace(dimension_order=["pe", "dx", "ou"]),  # columns come out in another order
        base.replace(org_units=[], filters=[f"ou:{BO}"]),
        base.replace(periods=[], start_date=date(2024, 1, 1), end_date=date(2024, 12, 31)),
    ]
    keys = {q.canonical_key() for q in variants}
    assert len(keys) == len(variants)
    assert base.canonical_key() not in keys


def test_canonical_key_ignores_local_only_fields() -> None:
    a = AnalyticsQuery(data_items=[ANC1], periods=["2024"])
    b = a.replace(indicator_ids={"Uvn6LCg7dVU"})
    assert a.canonical_key() == b.canonical_key()


@settings(max_examples=60, deadline=None)
@given(
    dx=st.permutations([ANC1, ANC2, ANC3]),
    ou=st.permutations([BO, BOMBALI, BONTHE, "LEVEL-3"]),
    pe=st.permutations(["2023Q4", "LAST_MONTH", "2024", "THIS_QUARTER"]),
)
def test_canonical_key_is_invariant_under_permutation(
    dx: list[str], ou: list[str], pe: list[str]
) -> None:
    reference = AnalyticsQuery(
        data_items=[ANC1, ANC2, ANC3], org_units=[BO, BOMBALI, BONTHE, "LEVEL-3"],
        periods=["2023Q4", "LAST_MONTH", "2024", "THIS_QUARTER"],
    )  # fmt: skip
    shuffled = AnalyticsQuery(data_items=dx, org_units=ou, periods=pe)
    at = date(2024, 2, 29)
    assert shuffled.canonical_key(at) == reference.canonical_key(at)


def test_estimated_rows_plain_product() -> None:
    query = AnalyticsQuery(
        data_items=[ANC1, ANC2], org_units=[BO, BOMBALI, BONTHE], periods=["LAST_12_MONTHS"]
    )
    assert query.estimated_rows(at=date(2022, 1, 1)) == 2 * 3 * 12


def test_estimated_rows_levels_groups_and_boundaries() -> None:
    query = AnalyticsQuery(
        data_items=[f"{ANC1}.*", "DE_GROUP-oDkJh5Ddh7d"],
        org_units=[BO, "LEVEL-4", "OU_GROUP-CXw2yu5fodb"],
        periods=["2024Q1", "2024Q2"],
        dimensions={"co": []},
    )
    sizes = {f"{ANC1}.*": 2, "DE_GROUP-oDkJh5Ddh7d": 10, "OU_GROUP-CXw2yu5fodb": 50, "co": 3}
    # dx: 2 + 10; ou: 1000 + 50 (Bo is a boundary, not a row); pe: 2; co: 3
    assert query.estimated_rows({4: 1000}, item_sizes=sizes) == 12 * 1050 * 2 * 3
    by_uid = query.replace(org_units=["LEVEL-wjP19dkFeIk"])
    assert by_uid.estimated_rows({"wjP19dkFeIk": 7}, item_sizes=sizes) == 12 * 7 * 2 * 3


def test_estimated_rows_filters_and_user_org_units() -> None:
    query = AnalyticsQuery(
        data_items=[ANC1],
        org_units=["USER_ORGUNIT", "USER_ORGUNIT_CHILDREN"],
        filters=["pe:2024;2023", "J5jldMd8OHv:uYxK4wmcPqA;tDZVQ1WtwpA"],
        dimensions={"co": ["HllvX50cXC0"]},
    )
    assert query.estimated_rows(item_sizes={"USER_ORGUNIT_CHILDREN": 14}) == 1 * 15 * 1
    dated = AnalyticsQuery(
        data_items=[ANC1, ANC2], start_date=date(2024, 1, 1), end_date=date(2024, 6, 30)
    )
    assert dated.estimated_rows() == 2


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"org_units": ["LEVEL-3"]}, "'LEVEL-3'"),
        ({"org_units": ["OU_GROUP-CXw2yu5fodb"]}, "'OU_GROUP-CXw2yu5fodb'"),
        ({"org_units": ["USER_ORGUNIT_GRANDCHILDREN"]}, "'USER_ORGUNIT_GRANDCHILDREN'"),
        ({"dimensions": ["co"]}, "'co'"),
        ({"data_items": ["IN_GROUP-oehv9EO3vP7"]}, "'IN_GROUP-oehv9EO3vP7'"),
    ],
)
def test_estimated_rows_names_the_missing_size(kwargs: dict[str, list[str]], missing: str) -> None:
    query = AnalyticsQuery(**{"data_items": [ANC1], "periods": ["2024"], **kwargs})
    with pytest.raises(ValueError, match=missing):
        query.estimated_rows({2: 14})
