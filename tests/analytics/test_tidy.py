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


def test_the_arrow_table_holds_the_records_of_tidy_rows():
    from prefect_dhis2.analytics.tidy import tidy_arrow

    headers = ["dx", "ou", "pe", "value", "numerator"]
    rows = [
        ("fbfJHSPpUQD", "O6uvpzGd5pu", "2024W1", "12.5", "3"),
        ("cYeuwXTCPkU", "O6uvpzGd5pu", "202402", "7", ""),
        ("fbfJHSPpUQD", "fdc6uOvgoji", "202402", "-1e3", "4.0"),
        ("fbfJHSPpUQD", "fdc6uOvgoji", "2024W1", "0", ""),
    ]
    names = {"fbfJHSPpUQD": "ANC 1st visit", "O6uvpzGd5pu": "Bo", "2024W1": "Week 1"}
    table = tidy_arrow(headers, rows, names)
    assert table.column_names == [c.name for c in tidy_columns(headers)]
    assert table.to_pylist() == list(tidy_rows(headers, rows, names))
    assert table.column("value").to_pylist() == [12.5, 7.0, -1000.0, 0.0]
    assert table.column("ou_name").to_pylist() == ["Bo", "Bo", None, None]


def test_the_arrow_table_refuses_a_short_row_and_a_value_that_is_not_a_number():
    from prefect_dhis2.analytics.tidy import tidy_arrow

    with pytest.raises(ValueError, match="3 cells where 4"):
        tidy_arrow(["dx", "ou", "pe", "value"], [("a", "b", "202401", "1"), ("a", "b", "2")], {})
    with pytest.raises(ValueError, match="not a number"):
        tidy_arrow(["dx", "value"], [("fbfJHSPpUQD", "1"), ("fbfJHSPpUQD", "n/a")], {})
    empty = tidy_arrow(["dx", "pe", "value"], [], {})
    assert empty.num_rows == 0 and empty.column_names[-1] == "value"
