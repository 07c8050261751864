"""AnalyticsQuery rejects bad items and mirrors DHIS2's request rules before any request."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from prefect_dhis2.analytics.query import (
    AnalyticsQuery,
    validate_data_item,
    validate_org_unit_item,
    validate_period_item,
)

ANC1, ANC2 = "fbfJHSPpUQD", "cYeuwXTCPkU"
BASE: dict[str, Any] = {"data_items": [ANC1], "periods": ["2024"]}


@pytest.mark.parametrize(
    "item",
    [
        ANC1,
        f"{ANC1}.pq2XI5kz2BY",
        f"{ANC1}.pq2XI5kz2BY.HllvX50cXC0",
        f"{ANC1}.*",
        f"{ANC1}.*.HllvX50cXC0",
        f"{ANC1}.pq2XI5kz2BY.*",
        "BfMAe6Itzgt.REPORTING_RATE",
        "BfMAe6Itzgt.REPORTING_RATE_ON_TIME",
        "BfMAe6Itzgt.ACTUAL_REPORTS",
        "BfMAe6Itzgt.ACTUAL_REPORTS_ON_TIME",
        "BfMAe6Itzgt.EXPECTED_REPORTS",
        "DE_GROUP-oDkJh5Ddh7d",
        "IN_GROUP-oehv9EO3vP7",
    ],
)
def test_valid_data_items(item: str) -> None:
    assert validate_data_item(item) == item
    assert AnalyticsQuery(data_items=[item], periods=["2024"]).data_items == (item,)


@pytest.mark.parametrize(
    "item",
    ["fbfJHSPpUQ", "1bfJHSPpUQD", f"{ANC1}.", f"{ANC1}.REPORTING_RATES", "DE_GROUP-x",
     "de_group-oDkJh5Ddh7d", f"{ANC1}.*.*.*", "", f"{ANC1};"[:-1] + " "],
)  # fmt: skip
def test_invalid_data_items_are_named(item: str) -> None:
    with pytest.raises(ValueError, match="Invalid data item"):
        validate_data_item(item)
    with pytest.raises(ValidationError) as info:
        AnalyticsQuery(data_items=[ANC2, item], periods=["2024"])
    assert repr(item) in str(info.value)


@pytest.mark.parametrize(
    "item",
    ["ImspTQPwCqd", "LEVEL-1", "LEVEL-12", "LEVEL-wjP19dkFeIk", "OU_GROUP-CXw2yu5fodb",
     "USER_ORGUNIT", "USER_ORGUNIT_CHILDREN", "USER_ORGUNIT_GRANDCHILDREN"],
)  # fmt: skip
def test_valid_org_units(item: str) -> None:
    assert validate_org_unit_item(item) == item


@pytest.mark.parametrize(
    "item",
    ["LEVEL-0", "LEVEL-", "LEVEL-x", "OU_GROUP-123", "USER_ORGUNITS", "ImspTQPwCq", "level-2"],
)
def test_invalid_org_units_are_named(item: str) -> None:
    with pytest.raises(ValidationError) as info:
        AnalyticsQuery(**BASE, org_units=["ImspTQPwCqd", item])
    assert repr(item) in str(info.value)
    assert "Invalid org unit" in str(info.value)


def test_period_items() -> None:
    assert validate_period_item("LAST_12_MONTHS") == "LAST_12_MONTHS"
    assert validate_period_item("2024-01-31") == "20240131"
    for bad, reason in [
        ("2021W53", "weeks 1-52"),
        ("202413", "month 13"),
        ("LAST_13_MONTHS", "not a DHIS2"),
    ]:
        with pytest.raises(ValidationError) as info:
            AnalyticsQuery(data_items=[ANC1], periods=["2024", bad])
        assert repr(bad) in str(info.value)
        assert reason in str(info.value)
    with pytest.raises(ValidationError, match="'2021W53'"):
        AnalyticsQuery(data_items=[ANC1], filters={"pe": ["2021W53"]})


def test_non_string_items() -> None:
    with pytest.raises(ValidationError, match="expected a string"):
        AnalyticsQuery(data_items=[ANC1, 5], periods=["2024"])
    with pytest.raises(ValidationError, match="expected a list of strings"):
        AnalyticsQuery(data_items=5, periods=["2024"])


RULES = [
    # E7103: same dimension as dimension and filter.
    ({"data_items": [ANC1], "periods": ["2024"], "filters": ["dx:cYeuwXTCPkU"]}, "dimension and filter"),
    ({"data_items": [ANC1], "periods": ["2024"], "filters": {"pe": ["2023"]}}, "dimension and filter"),
    ({"data_items": [ANC1], "periods": ["2024"], "dimensions": ["co"], "filters": ["co:HllvX50cXC0"]},
     "dimension and filter"),
    # E7102: no data dimension.
    ({"org_units": ["ImspTQPwCqd"], "periods": ["2024"]}, "At least one data item"),
    # E7104: no period and no dates.
    ({"data_items": [ANC1], "org_units": ["ImspTQPwCqd"]}, "At least one period"),
    # E7105: periods with dates.
    ({"data_items": [ANC1], "periods": ["2024"], "start_date": date(2024, 1, 1), "end_date": date(2024, 2, 1)},
     "cannot be combined"),
    ({"data_items": [ANC1], "filters": ["pe:2024"], "start_date": date(2024, 1, 1), "end_date": date(2024, 2, 1)},
     "cannot be combined"),
    # E7106: start after end.
    ({"data_items": [ANC1], "start_date": date(2024, 3, 1), "end_date": date(2024, 2, 1)},
     "start_date 2024-03-01 is after end_date 2024-02-01"),
    ({"data_items": [ANC1], "start_date": date(2024, 3, 1)}, "must be given together"),
    # E7108: only one indicator as filter.
    ({"filters": {"dx": ["Uvn6LCg7dVU", "sB79w2hiLp8"]}, "periods": ["2024"],
          "indicator_ids": {"Uvn6LCg7dVU", "sB79w2hiLp8"}}, "single indicator"),
    ({"filters": {"dx": ["Uvn6LCg7dVU", "IN_GROUP-oehv9EO3vP7"]}, "periods": ["2024"],
          "indicator_ids": {"Uvn6LCg7dVU"}}, "single indicator"),
    # E7111: a dimension twice.
    ({"data_items": [ANC1], "periods": ["2024"], "filters": ["ou:ImspTQPwCqd", "ou:O6uvpzGd5pu"]},
     "more than once"),
    # Other local checks.
    ({"data_items": [ANC1], "periods": ["2024"], "filters": ["ou"]}, "has no items"),
    ({"data_items": [ANC1], "periods": ["2024"], "filters": ["xx:ImspTQPwCqd"]}, "Invalid filter dimension 'xx'"),
    ({"data_items": [ANC1], "periods": ["2024"], "dimensions": ["dx:cYeuwXTCPkU"]}, "through `data_items`"),
    ({"data_items": [ANC1], "periods": ["2024"], "dimensions": {"co": ["bad"]}}, "Invalid item 'bad' in dimension co"),
    ({"data_items": [ANC1], "periods": ["2024"], "dimension_order": ["dx"]}, "dimension_order"),
    ({"data_items": [ANC1], "periods": ["2024"], "dimension_order": ["dx", "pe", "pe"]}, "dimension_order"),
    ({"data_items": [ANC1], "periods": ["2024"], "dimension_order": ["dx", "ou"]}, "dimension_order"),
    (dict(**BASE, output_id_scheme="EMAIL"), "Invalid id scheme 'EMAIL'"),
    (dict(**BASE, output_id_scheme="ATTRIBUTE:short"), "Invalid id scheme"),
    (dict(**BASE, aggregation_type="MEDIAN"), "Invalid aggregation type 'MEDIAN'"),
    (dict(**BASE, measure_criteria="GT10"), "Invalid measure criteria 'GT10'"),
    (dict(**BASE, display_property="CODE"), "display_property"),
    (dict(**BASE, order="UP"), "order"),
    (dict(**BASE, approval_level="1"), "Invalid approval level"),
    (dict(**BASE, user_org_unit=["nope"]), "Invalid item 'nope'"),
    (dict(**BASE, skip_mta=True), "skip_mta"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "message"), RULES)
def test_request_rules(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        AnalyticsQuery(**kwargs)
    assert message in str(info.value)


def test_rules_accept_the_legal_neighbours() -> None:
    # One known indicator as filter is fine, as are data elements next to it.
    AnalyticsQuery(
        filters={"dx": ["Uvn6LCg7dVU", ANC1]}, periods=["2024"], indicator_ids={"Uvn6LCg7dVU"}
    )
    # Periods as a filter only; dx as a filter only.
    AnalyticsQuery(data_items=[ANC1], filters=["pe:2024"])
    AnalyticsQuery(filters=["dx:fbfJHSPpUQD"], org_units=["ImspTQPwCqd"], periods=["2024"])
    # A one-day range.
    AnalyticsQuery(data_items=[ANC1], start_date=date(2024, 1, 1), end_date=date(2024, 1, 1))


def test_queries_are_immutable() -> None:
    query = AnalyticsQuery(**BASE)
    with pytest.raises(ValidationError):
        query.skip_meta = True  # type: ignore[misc]
