"""AnalyticsQuery renders the exact DHIS2 analytics query."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefect_dhis2.analytics import AnalyticsQuery

ANC1, ANC2 = "fbfJHSPpUQD", "cYeuwXTCPkU"
SIERRA_LEONE, BO = "ImspTQPwCqd", "O6uvpzGd5pu"


def test_demo_query_renders_exactly() -> None:
    query = AnalyticsQuery(
        data_items=[ANC1, ANC2], org_units=[SIERRA_LEONE], periods=["LAST_4_QUARTERS"]
    )
    assert query.to_params() == [
        ("dimension", "dx:fbfJHSPpUQD;cYeuwXTCPkU"),
        ("dimension", "ou:ImspTQPwCqd"),
        ("dimension", "pe:LAST_4_QUARTERS"),
    ]
    assert query.to_query_string() == (
        "dimension=dx:fbfJHSPpUQD;cYeuwXTCPkU&dimension=ou:ImspTQPwCqd&dimension=pe:LAST_4_QUARTERS"
    )


def test_every_flag_is_camel_case_lower_case_booleans_in_stable_order() -> None:
    query = AnalyticsQuery(
        data_items=[ANC1],
        org_units=["USER_ORGUNIT"],
        periods=["2024"],
        skip_meta=True,
        skip_data=False,
        skip_rounding=True,
        include_num_den=True,
        include_metadata_details=False,
        hierarchy_meta=True,
        show_hierarchy=True,
        ignore_limit=True,
        display_property="SHORTNAME",
        output_id_scheme="ATTRIBUTE:UKNKz1H10EE",
        output_org_unit_id_scheme="CODE",
        output_data_element_id_scheme="NAME",
        input_id_scheme="UID",
        aggregation_type="AVERAGE",
        measure_criteria="GE:10;LT:100.5",
        relative_period_date=date(2022, 1, 1),
        order="DESC",
        user_org_unit=[BO, SIERRA_LEONE],
        approval_level="aZ5xvW2aY0b",
    )
    assert query.to_params()[3:] == [
        ("skipMeta", "true"),
        ("skipData", "false"),
        ("skipRounding", "true"),
        ("includeNumDen", "true"),
        ("includeMetadataDetails", "false"),
        ("hierarchyMeta", "true"),
        ("showHierarchy", "true"),
        ("ignoreLimit", "true"),
        ("displayProperty", "SHORTNAME"),
        ("outputIdScheme", "ATTRIBUTE:UKNKz1H10EE"),
        ("outputOrgUnitIdScheme", "CODE"),
        ("outputDataElementIdScheme", "NAME"),
        ("inputIdScheme", "UID"),
        ("aggregationType", "AVERAGE"),
        ("measureCriteria", "GE:10;LT:100.5"),
        ("relativePeriodDate", "2022-01-01"),
        ("order", "DESC"),
        ("userOrgUnit", "O6uvpzGd5pu;ImspTQPwCqd"),
        ("approvalLevel", "aZ5xvW2aY0b"),
    ]


def test_unset_flags_are_not_sent() -> None:
    query = AnalyticsQuery(data_items=[ANC1], periods=["2024"])
    assert [name for name, _ in query.to_params()] == ["dimension", "dimension"]


def test_filters_extra_dimensions_and_order() -> None:
    query = AnalyticsQuery(
        data_items=[ANC1],
        periods=["202401", "2024-02"],
        filters=["ou:ImspTQPwCqd;O6uvpzGd5pu"],
        dimensions={"co": [], "J5jldMd8OHv": ["uYxK4wmcPqA", "tDZVQ1WtwpA"]},
        dimension_order=["pe", "co", "dx", "J5jldMd8OHv"],
    )
    assert query.to_query_string() == (
        "dimension=pe:202401;202402&dimension=co&dimension=dx:fbfJHSPpUQD"
        "&dimension=J5jldMd8OHv:uYxK4wmcPqA;tDZVQ1WtwpA&filter=ou:ImspTQPwCqd;O6uvpzGd5pu"
    )


def test_default_dimension_order_is_dx_ou_pe_then_extra() -> None:
    query = AnalyticsQuery(dimensions=["co"], periods=["2024"], org_units=[BO], data_items=[ANC1])
    assert [d for d, _ in query.ordered_dimensions] == ["dx", "ou", "pe", "co"]


def test_filters_as_strings_or_mapping_are_equivalent() -> None:
    as_strings = AnalyticsQuery(data_items=[ANC1], filters=["ou:ImspTQPwCqd", "pe:2023;2024"])
    as_mapping = AnalyticsQuery(
        data_items=[ANC1], filters={"ou": ["ImspTQPwCqd"], "pe": "2023;2024"}
    )
    assert as_strings == as_mapping
    assert as_strings.to_params() == [
        ("dimension", "dx:fbfJHSPpUQD"),
        ("filter", "ou:ImspTQPwCqd"),
        ("filter", "pe:2023;2024"),
    ]


def test_items_accept_semicolon_strings_canonical_periods_and_drop_repeats() -> None:
    query = AnalyticsQuery(data_items=f"{ANC1};{ANC2};{ANC1}", periods=["2024-01", "202401"])
    assert query.data_items == (ANC1, ANC2)
    assert query.periods == ("202401",)


def test_date_range_instead_of_periods() -> None:
    query = AnalyticsQuery(
        data_items=[ANC1], org_units=[BO], start_date=date(2024, 1, 1), end_date=date(2024, 3, 31)
    )
    assert query.to_query_string() == (
        "dimension=dx:fbfJHSPpUQD&dimension=ou:O6uvpzGd5pu&startDate=2024-01-01&endDate=2024-03-31"
    )
    assert query.resolved_periods() == []


def test_strict_encoding_and_urls() -> None:
    query = AnalyticsQuery(data_items=[f"{ANC1}.*"], org_units=["LEVEL-2"], periods=["2024"])
    assert query.to_query_string(strict_encoding=True) == (
        "dimension=dx%3AfbfJHSPpUQD.%2A&dimension=ou%3ALEVEL-2&dimension=pe%3A2024"
    )
    readable = "dimension=dx:fbfJHSPpUQD.*&dimension=ou:LEVEL-2&dimension=pe:2024"
    assert (
        query.url("https://dhis2.example.org")
        == f"https://dhis2.example.org/api/analytics?{readable}"
    )
    assert query.url("https://dhis2.example.org/hmis/") == (
        f"https://dhis2.example.org/hmis/api/analytics?{readable}"
    )
    assert (
        query.url("https://dhis2.example.org/api")
        == f"https://dhis2.example.org/api/analytics?{readable}"
    )
    assert query.url("https://x.org/api/40") == f"https://x.org/api/40/analytics?{readable}"
    base = "https://dhis2.example.org"
    assert query.url_length(base) == len(f"{base}/api/analytics?{readable}")
    # Each of the 3 ':' and the '*' grows by two characters when percent-encoded.
    assert query.url_length(base, strict_encoding=True) == query.url_length(base) + 8


def test_url_length_grows_with_items() -> None:
    base = "https://dhis2.example.org"
    small = AnalyticsQuery(data_items=[ANC1], periods=["2024"])
    big = small.replace(data_items=[ANC1, ANC2])
    assert big.url_length(base) == small.url_length(base) + len(";cYeuwXTCPkU")


def test_replace_revalidates() -> None:
    query = AnalyticsQuery(data_items=[ANC1], periods=["2023", "2024"], skip_meta=True)
    shard = query.replace(periods=["2024"])
    assert shard.periods == ("2024",)
    assert shard.skip_meta is True
    assert query.periods == ("2023", "2024")
    with pytest.raises(ValueError, match="'2021W53'"):
        query.replace(periods=["2021W53"])


UIDS = st.from_regex(r"[A-Za-z][A-Za-z0-9]{10}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(
    dx=st.lists(UIDS, min_size=1, max_size=5, unique=True),
    ou=st.lists(UIDS, min_size=1, max_size=5, unique=True),
    flags=st.fixed_dictionaries(
        {}, optional={"skip_meta": st.booleans(), "ignore_limit": st.booleans()}
    ),
)
def test_query_string_parses_back_to_the_params(
    dx: list[str], ou: list[str], flags: dict[str, bool]
) -> None:
    query = AnalyticsQuery(data_items=dx, org_units=ou, periods=["LAST_12_MONTHS"], **flags)
    assert parse_qsl(query.to_query_string()) == query.to_params()
    assert parse_qsl(query.to_query_string(strict_encoding=True)) == query.to_params()
