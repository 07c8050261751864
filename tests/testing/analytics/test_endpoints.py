"""Conformance of the emulator's `/api/analytics` with DHIS2's shapes, sums and error codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from prefect_dhis2.periods import parse_period
from prefect_dhis2.testing import Dhis2Emulator

ANC1, ANC2, ANC3 = "fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP"
FIXED, OUTREACH = "pq2XI5kz2BY", "PT59n8BQbqM"
ANC_VISITS_TOTAL = "DayG6mPuHCT"  # (#{ANC1}+#{ANC2}+#{ANC3}) / 1, type Number
ANC1_COVERAGE = "Uvn6LCg7dVU"  # #{ANC1} / #{expected pregnancies}, percentage, annualised
EXPECTED_PREGNANCIES = "dR5VC1Mvr39"
BO = "O6uvpzGd5pu"
ROOT = "ImspTQPwCqd"


def analytics(api: httpx.Client, **params: Any) -> httpx.Response:
    return api.get("/api/analytics", params=params)


def rows_by_key(body: dict[str, Any], key_columns: int) -> dict[tuple[str, ...], str]:
    return {tuple(row[:key_columns]): row[key_columns] for row in body["rows"]}


def test_response_shape_and_key_order(api: httpx.Client) -> None:
    r = analytics(api, dimension=[f"dx:{ANC1};{ANC1_COVERAGE}", "pe:2024Q1", f"ou:{ROOT};{BO}"])
    assert r.status_code == 200
    body = r.json()
    assert list(body) == [
        "headers",
        "metaData",
        "rowContext",
        "rows",
        "height",
        "width",
        "headerWidth",
    ]
    assert [h["name"] for h in body["headers"]] == ["dx", "pe", "ou", "value"]
    assert body["headers"][0] == {
        "name": "dx",
        "column": "Data",
        "valueType": "TEXT",
        "type": "java.lang.String",
        "hidden": False,
        "meta": True,
    }
    assert body["headers"][3] == {
        "name": "value",
        "column": "Value",
        "valueType": "NUMBER",
        "type": "java.lang.Double",
        "hidden": False,
        "meta": False,
    }
    assert body["height"] == len(body["rows"]) == 4
    assert body["width"] == body["headerWidth"] == 4
    assert all(isinstance(cell, str) for row in body["rows"] for cell in row)
    meta = body["metaData"]
    assert list(meta["dimensions"]) == ["dx", "pe", "ou", "co"]
    assert meta["dimensions"]["ou"] == [ROOT, BO]  # request order
    assert meta["dimensions"]["co"] == [FIXED, OUTREACH]  # option combos of ANC 1st visit
    assert meta["items"][ANC1] == {"name": "ANC 1st visit"}
    assert meta["items"]["2024Q1"] == {"name": "January - March 2024"}
    assert meta["items"]["dx"] == {"name": "Data"}
    assert body["rowContext"] == {}


def test_values_are_rounded_strings_with_decimal_point(api: httpx.Client) -> None:
    body = analytics(
        api, dimension=[f"dx:{ANC1};{ANC1_COVERAGE}", "pe:202401"], filter=f"ou:{BO}"
    ).json()
    values = rows_by_key(body, 2)
    count = values[(ANC1, "202401")]
    assert count.endswith(".0") and float(count).is_integer()
    coverage = values[(ANC1_COVERAGE, "202401")]
    assert len(coverage.split(".")[1]) <= 2


def test_district_equals_sum_of_chiefdoms_and_chiefdom_of_facilities(
    api: httpx.Client, dhis2: Dhis2Emulator
) -> None:
    dataset = dhis2.state.dataset
    district = analytics(api, dimension=[f"dx:{ANC1}", f"ou:{BO}"], filter="pe:2024Q1").json()
    chiefdoms = analytics(
        api, dimension=[f"dx:{ANC1}", f"ou:{BO};LEVEL-3"], filter="pe:2024Q1"
    ).json()
    assert chiefdoms["metaData"]["dimensions"]["ou"] == sorted(
        dataset.children(BO), key=lambda u: (dataset.name_of(u), u)
    )
    district_value = float(district["rows"][0][2])
    assert district_value > 0
    assert sum(float(row[2]) for row in chiefdoms["rows"]) == pytest.approx(district_value)

    chiefdom = dataset.children(BO)[0]
    one = analytics(api, dimension=[f"dx:{ANC1}", f"ou:{chiefdom}"], filter="pe:2024Q1").json()
    facilities = analytics(
        api, dimension=[f"dx:{ANC1}", f"ou:{chiefdom};LEVEL-4"], filter="pe:2024Q1"
    ).json()
    assert sum(float(r[2]) for r in facilities["rows"]) == pytest.approx(float(one["rows"][0][2]))


def test_period_filter_and_operands_add_up(api: httpx.Client) -> None:
    months = rows_by_key(
        analytics(
            api, dimension=[f"dx:{ANC1}", "pe:202401;202402;202403"], filter=f"ou:{BO}"
        ).json(),
        2,
    )
    quarter = analytics(api, dimension=[f"dx:{ANC1}"], filter=[f"ou:{BO}", "pe:2024Q1"]).json()
    assert float(quarter["rows"][0][1]) == pytest.approx(sum(float(v) for v in months.values()))
    dx = f"dx:{ANC1}.{FIXED};{ANC1}.{OUTREACH};{ANC1}"
    body = analytics(api, dimension=[dx], filter=[f"ou:{BO}", "pe:202401"]).json()
    operands = {row[0]: float(row[1]) for row in body["rows"]}
    assert operands[ANC1] == pytest.approx(
        operands[f"{ANC1}.{FIXED}"] + operands[f"{ANC1}.{OUTREACH}"]
    )


def test_co_dimension_without_items_lists_all_option_combos(api: httpx.Client) -> None:
    body = analytics(api, dimension=[f"dx:{ANC1}", "co", "pe:202401"], filter=f"ou:{BO}").json()
    assert [h["name"] for h in body["headers"]] == ["dx", "co", "pe", "value"]
    values = rows_by_key(body, 3)
    total = analytics(api, dimension=[f"dx:{ANC1}", "pe:202401"], filter=f"ou:{BO}").json()
    assert {k[1] for k in values} == {FIXED, OUTREACH}
    assert sum(float(v) for v in values.values()) == pytest.approx(float(total["rows"][0][2]))


def _data_values_total(api: httpx.Client, de: str, period: str, ou: str) -> float:
    body = api.get(
        "/api/dataValueSets",
        params={"dataElement": de, "period": period, "orgUnit": ou, "children": "true"},
    ).json()
    return sum(float(v["value"]) for v in body["dataValues"])


def test_indicator_formula_matches_data_values(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    chiefdom = dhis2.state.dataset.children(BO)[1]
    body = analytics(
        api,
        dimension=[f"dx:{ANC_VISITS_TOTAL};{ANC1_COVERAGE}", "pe:202403"],
        filter=f"ou:{chiefdom}",
        includeNumDen="true",
    ).json()
    assert [h["name"] for h in body["headers"]][-5:] == [
        "numerator",
        "denominator",
        "factor",
        "multiplier",
        "divisor",
    ]
    rows = {row[0]: row for row in body["rows"]}

    anc = {de: _data_values_total(api, de, "202403", chiefdom) for de in (ANC1, ANC2, ANC3)}
    total = rows[ANC_VISITS_TOTAL]
    assert float(total[2]) == pytest.approx(sum(anc.values()))
    assert total[3:] == [f"{sum(anc.values()):.1f}", "1.0", "1.0", "1", "1"]

    # Coverage: monthly visits over the yearly population, x100, annualised (365 / 31 days).
    pregnancies = _data_values_total(api, EXPECTED_PREGNANCIES, "2024", chiefdom)
    expected = anc[ANC1] / pregnancies * 100 * 365 / 31
    coverage = rows[ANC1_COVERAGE]
    assert float(coverage[2]) == pytest.approx(expected, abs=0.006)
    assert coverage[6:] == ["100", "1"]
    assert float(coverage[5]) == pytest.approx(100 * 365 / 31, abs=0.006)


def test_data_element_rows_have_empty_numerator_columns(api: httpx.Client) -> None:
    body = analytics(
        api, dimension=[f"dx:{ANC1}", "pe:202401"], filter=f"ou:{BO}", includeNumDen="true"
    ).json()
    assert body["rows"][0][2:] == [body["rows"][0][2], "", "", "", "", ""]


def test_relative_periods_at_the_requested_and_configured_date(api: httpx.Client) -> None:
    body = analytics(
        api,
        dimension=[f"dx:{ANC1}", "pe:LAST_12_MONTHS"],
        filter=f"ou:{ROOT}",
        relativePeriodDate="2022-01-01",
    ).json()
    assert body["metaData"]["dimensions"]["pe"] == [f"2021{m:02d}" for m in range(1, 13)]
    assert body["metaData"]["items"]["LAST_12_MONTHS"] == {"name": "Last 12 months"}
    assert body["metaData"]["items"]["202109"] == {"name": "September 2021"}
    assert [row[1] for row in body["rows"]] == [f"2021{m:02d}" for m in range(1, 13)]
    # Without relativePeriodDate: the emulator's date (2024-06-30 in these tests).
    this_year = analytics(api, dimension=[f"dx:{ANC1}", "pe:THIS_YEAR"], filter=f"ou:{ROOT}")
    assert this_year.json()["metaData"]["dimensions"]["pe"] == ["2024"]


def test_user_org_unit_and_group_items(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    body = analytics(
        api, dimension=[f"dx:{ANC1}", "ou:USER_ORGUNIT;USER_ORGUNIT_CHILDREN"], filter="pe:2023"
    ).json()
    items = body["metaData"]["items"]
    assert items["USER_ORGUNIT"] == {"organisationUnits": [ROOT]}
    assert sorted(items["USER_ORGUNIT_CHILDREN"]["organisationUnits"]) == sorted(
        dhis2.state.dataset.children(ROOT)
    )
    assert body["metaData"]["dimensions"]["ou"][0] == ROOT
    groups = dhis2.state.dataset.objects["organisationUnitGroups"]
    group = next(g for g in groups.values() if g.get("organisationUnits"))
    members = {ref["id"] for ref in group["organisationUnits"]}
    grouped = analytics(
        api, dimension=[f"dx:{ANC1}", f"ou:OU_GROUP-{group['id']}"], filter="pe:2023"
    ).json()
    assert set(grouped["metaData"]["dimensions"]["ou"]) <= members
    assert grouped["rows"]


def test_output_id_scheme_and_display_property(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    dataset = dhis2.state.dataset
    by_name = analytics(
        api, dimension=[f"dx:{ANC1}", f"ou:{BO}"], filter="pe:2024Q1", outputIdScheme="NAME"
    ).json()
    assert by_name["rows"][0][:2] == ["ANC 1st visit", "Bo"]
    by_code = analytics(
        api, dimension=[f"dx:{ANC1}", f"ou:{BO}"], filter="pe:2024Q1", outputIdScheme="CODE"
    ).json()
    assert by_code["rows"][0][:2] == [
        dataset.get("dataElements", ANC1)["code"],
        dataset.get("organisationUnits", BO)["code"],
    ]
    short = analytics(
        api, dimension=[f"dx:{ANC1}", f"ou:{BO}"], filter="pe:2024Q1", displayProperty="SHORTNAME"
    ).json()
    assert (
        short["metaData"]["items"][ANC1]["name"] == dataset.get("dataElements", ANC1)["shortName"]
    )


def test_skip_meta_and_comma_joined_dimensions(api: httpx.Client) -> None:
    body = analytics(api, dimension=f"dx:{ANC1};{ANC2},pe:202401,ou:{BO}", skipMeta="true").json()
    assert body["metaData"] == {}
    assert [h["name"] for h in body["headers"]] == ["dx", "pe", "ou", "value"]
    assert len(body["rows"]) == 2


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"filter": "pe:2024"}, "E7101"),
        ({"dimension": ["pe:2024", f"ou:{BO}"]}, "E7102"),
        ({"dimension": [f"dx:{ANC1}", "pe:2024"], "filter": f"dx:{ANC2}"}, "E7103"),
        ({"dimension": [f"dx:{ANC1}", f"ou:{BO}"]}, "E7104"),
        ({"dimension": ["pe:2024"], "filter": f"dx:{ANC1_COVERAGE};{ANC_VISITS_TOTAL}"}, "E7108"),
        ({"dimension": [f"dx:{ANC1}", f"dx:{ANC2}", "pe:2024"]}, "E7111"),
        ({"dimension": ["dx:abcdefghijk", "pe:2024"]}, "E7124"),
        ({"dimension": [f"dx:{ANC1}", "pe:2024", "xyz:abc"]}, "E7125"),
        ({"dimension": [f"dx:{ANC1}", "pe:2024", "ou:abcdefghijk"]}, "E7143"),
        ({"dimension": [f"dx:{ANC1}", "pe:2024X"]}, "E7611"),
    ],
)
def test_illegal_queries_give_409_with_error_code(
    api: httpx.Client, params: dict[str, Any], code: str
) -> None:
    r = api.get("/api/analytics", params=params)
    assert r.status_code == 409
    body = r.json()
    assert list(body) == ["httpStatus", "httpStatusCode", "status", "message", "errorCode"]
    assert body["httpStatus"] == "Conflict" and body["status"] == "ERROR"
    assert body["errorCode"] == code


@pytest.fixture(scope="module")
def small_limit() -> Iterator[Dhis2Emulator]:
    with Dhis2Emulator(relative_period_date=date(2024, 6, 30), max_analytics_rows=50) as emulator:
        yield emulator


def test_max_rows_limit_and_ignore_limit(small_limit: Dhis2Emulator) -> None:
    params = {"dimension": [f"dx:{ANC1}", "ou:LEVEL-4", "pe:202401"]}
    with httpx.Client(base_url=small_limit.base_url, auth=("admin", "district")) as api:
        refused = api.get("/api/analytics", params=params)
        assert refused.status_code == 409
        assert refused.json()["errorCode"] == "E7128"
        assert refused.json()["message"] == "Query result set exceeded max limit: `50`"
        full = api.get("/api/analytics", params={**params, "ignoreLimit": "true"})
        assert full.status_code == 200
        assert full.json()["height"] > 50


def test_analytics_follows_imported_values(
    dhis2_emulator_factory: Callable[..., Dhis2Emulator],
) -> None:
    emulator = dhis2_emulator_factory(relative_period_date=date(2024, 6, 30))
    facility = emulator.state.dataset.facility_ids[3]
    params = {"dimension": [f"dx:{ANC1}.{FIXED}", f"ou:{facility}"], "filter": "pe:202402"}
    with httpx.Client(base_url=emulator.base_url, auth=("admin", "district")) as api:
        before = api.get("/api/analytics", params=params).json()["rows"]
        payload = {
            "dataValues": [
                {
                    "dataElement": ANC1,
                    "period": "202402",
                    "orgUnit": facility,
                    "categoryOptionCombo": FIXED,
                    "value": "4321",
                }
            ]
        }
        assert api.post("/api/dataValueSets", json=payload).status_code == 200
        after = api.get("/api/analytics", params=params).json()["rows"]
    assert after == [[f"{ANC1}.{FIXED}", facility, "4321.0"]]
    assert before != after


def test_data_value_set_output_and_raw_data(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    chiefdom = dhis2.state.dataset.children(BO)[0]
    body = api.get(
        "/api/analytics/dataValueSet.json",
        params={"dimension": [f"dx:{ANC1}", "pe:202401", f"ou:{chiefdom}"]},
    ).json()
    assert body["dataValues"][0] == {
        "dataElement": ANC1,
        "period": "202401",
        "orgUnit": chiefdom,
        "value": body["dataValues"][0]["value"],
    }
    missing = api.get(
        "/api/analytics/dataValueSet.json",
        params={"dimension": [f"dx:{ANC1}"], "filter": "pe:2024"},
    )
    assert missing.json()["errorCode"] == "E7118"
    raw = api.get(
        "/api/analytics/rawData.json",
        params={"dimension": [f"dx:{ANC1}", "pe:202401", f"ou:{chiefdom}"]},
    ).json()
    facilities = set(dhis2.state.dataset.children(chiefdom))
    assert {row[2] for row in raw["rows"]} <= facilities
    assert sum(float(r[3]) for r in raw["rows"]) == pytest.approx(
        float(body["dataValues"][0]["value"])
    )


def test_period_names_come_from_periods_module(api: httpx.Client) -> None:
    body = analytics(
        api, dimension=[f"dx:{ANC1}", "pe:2023April;2023S2;202305B"], filter=f"ou:{BO}"
    ).json()
    for pe in ("2023April", "2023S2", "202305B"):
        assert body["metaData"]["items"][pe] == {"name": parse_period(pe).name}
    assert {row[1] for row in body["rows"]} == {"2023April", "2023S2", "202305B"}
