"""`analyze_indicator_dependencies` and the rows of `indicator_dependencies.csv`."""

from __future__ import annotations

from prefect_dhis2.indicators import analyze_indicator_dependencies
from prefect_dhis2.indicators.dependencies import DEPENDENCY_COLUMNS, dependency_rows

ANC1, FIXED, TARGET = "fbfJHSPpUQD", "pq2XI5kz2BY", "bWtSzNmVjfv"


def test_dependencies_through_indicators_and_missing_references():
    indicators = [
        {"id": "Uvn6LCg7dVU", "name": "ANC 1", "numerator": f"#{{{ANC1}.{FIXED}}}",
         "denominator": f"C{{{TARGET}}} * orgUnit.ancestor(ImspTQPwCqd)"},
        {"id": "ReUHfIn0pTQ", "name": "ANC ratio", "numerator": "N{Uvn6LCg7dVU}",
         "denominator": "#{Xq0MissngDE} + C{Xq0MissCnst}"},
        {"id": "GmQmuC0d9kJ", "name": "Broken", "numerator": "(", "denominator": "1"},
    ]  # fmt: skip
    known = {ANC1, FIXED, TARGET, "Uvn6LCg7dVU", "ReUHfIn0pTQ", "GmQmuC0d9kJ", "QX4ZTUbOt3a"}
    result = analyze_indicator_dependencies(
        indicators,
        known_uids=known,
        data_set_elements={"QX4ZTUbOt3a": {ANC1}},
        names={ANC1: "ANC 1st visit", "QX4ZTUbOt3a": "Reproductive Health"},
    )
    # Org units are not listed, so orgUnit.ancestor(...) is not reported as missing.
    assert sorted((m.indicator_id, m.side, m.uid, m.kind) for m in result.missing) == [
        ("ReUHfIn0pTQ", "denominator", "Xq0MissCnst", "constants"),
        ("ReUHfIn0pTQ", "denominator", "Xq0MissngDE", "data_elements"),
    ]
    assert result.data_sets_by_indicator == {
        "Uvn6LCg7dVU": ["QX4ZTUbOt3a"],
        "ReUHfIn0pTQ": ["QX4ZTUbOt3a"],  # through N{Uvn6LCg7dVU}
        "GmQmuC0d9kJ": [],
    }
    rows = dependency_rows(result)
    assert all(set(r) == {c.name for c in DEPENDENCY_COLUMNS} for r in rows)
    through = [r for r in rows if r["indicator_id"] == "ReUHfIn0pTQ" and r["target_id"] == ANC1]
    assert len(through) == 1 and through[0]["detail"] == "through N{}"
    assert through[0]["data_set_names"] == "Reproductive Health"
    assert through[0]["target_name"] == "ANC 1st visit"
    invalid = [r for r in rows if r["relation"] == "invalid"]
    assert [(r["indicator_id"], r["side"]) for r in invalid] == [("GmQmuC0d9kJ", "numerator")]
    links = [(r["indicator_id"], r["target_id"]) for r in rows if r["relation"] == "indicator"]
    assert links == [("ReUHfIn0pTQ", "Uvn6LCg7dVU")]
