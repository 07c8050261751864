"""Grid rows to typed tidy records."""

from __future__ import annotations

from datetime import date

import pytest

from prefect_dhis2.analytics.tidy import tidy_columns, tidy_rows


def test_columns_and_types_with_categories_and_numerator_denominator():
    headers = [
        "dx",
        "co",
        "ou",
        "pe",
        "value",
        "numerator",
        "denominator",
        "factor",
        "multiplier",
        "divisor",
    ]
    columns = {c.name: c.type for c in tidy_columns(headers)}
    assert list(columns) == [
        "dx",
        "dx_name",
        "co",
        "co_name",
        "ou",
        "ou_name",
        "pe",
        "pe_name",
        "pe_start",
        "pe_end",
        "value",
        "numerator",
        "denominator",
        "factor",
    ]
    assert columns["pe_start"] == "date" and columns["value"] == "float"
    rows = [
        [
            "Uvn6LCg7dVU",
            "pq2XI5kz2BY",
            "O6uvpzGd5pu",
            "2024W1",
            "101.47",
            "30.0",
            "40.0",
            "100.0",
            "100.0",
            "1.0",
        ],
        ["fbfJHSPpUQD", "pq2XI5kz2BY", "O6uvpzGd5pu", "202402", "7.0", "", "", "", "", ""],
    ]
    names = {"Uvn6LCg7dVU": "ANC 1 Coverage", "O6uvpzGd5pu": "Bo", "2024W1": "Week 1"}
    first, second = list(tidy_rows(headers, rows, names))
    assert first["value"] == pytest.approx(101.47)
    assert (first["numerator"], first["denominator"], first["factor"]) == (30.0, 40.0, 100.0)
    assert (first["pe_start"], first["pe_end"]) == (date(2024, 1, 1), date(2024, 1, 7))
    assert first["dx_name"] == "ANC 1 Coverage" and first["co_name"] is None
    assert second["numerator"] is None and second["pe_end"] == date(2024, 2, 29)
    assert set(first) == set(columns)


def test_a_non_numeric_value_is_an_error():
    with pytest.raises(ValueError, match="not a number"):
        list(tidy_rows(["dx", "value"], [["fbfJHSPpUQD", "n/a"]], {}))
