"""`dhis2_indicator_complexity` against the emulator over HTTP, under a real Prefect test
server: the report must match the emulator's own indicators."""

from __future__ import annotations

import asyncio
import csv
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client

from prefect_dhis2.expressions import ComplexityBins, ExpressionSyntaxError, parse_expression
from prefect_dhis2.flows import dhis2_indicator_complexity
from prefect_dhis2.testing import Dhis2Dataset, Dhis2Emulator

UID = r"[A-Za-z][A-Za-z0-9]{10}"
KNOWN_COLLECTIONS = (
    "dataElements", "categoryOptionCombos", "constants", "indicators", "dataSets",
    "organisationUnitGroups", "dataElementGroups", "categoryOptions",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _server(prefect_server: str) -> None:
    """Every test here runs flows against the session's Prefect test server."""


def _artifact(key: str) -> str:
    async def read() -> Any:
        async with get_client() as client:
            artifacts = await client.read_latest_artifacts()
            return next(a for a in artifacts if a.key == key)

    data = asyncio.run(read()).data
    assert isinstance(data, str)
    return data


def _indicators(dataset: Dhis2Dataset) -> list[dict[str, Any]]:
    return [dataset.get("indicators", uid) for uid in dataset.ordered_ids("indicators")]


def _name(dataset: Dhis2Dataset, uid: str) -> str:
    for collection in KNOWN_COLLECTIONS:
        obj = dataset.get(collection, uid)
        if obj is not None:
            return str(obj["name"])
    return uid


def _expected_invalid(dataset: Dhis2Dataset) -> dict[tuple[str, str], int]:
    out = {}
    for ind in _indicators(dataset):
        for side in ("numerator", "denominator"):
            try:
                parse_expression(ind[side])
            except ExpressionSyntaxError as error:
                out[(ind["id"], side)] = error.position
    return out


def _expected_missing(dataset: Dhis2Dataset) -> set[tuple[str, str, str]]:
    """(indicator, side, uid) for every UID-looking reference that is no object."""
    known = {uid for c in KNOWN_COLLECTIONS for uid in dataset.ordered_ids(c)}
    invalid = _expected_invalid(dataset)
    return {
        (ind["id"], side, ref)
        for ind in _indicators(dataset)
        for side in ("numerator", "denominator")
        if (ind["id"], side) not in invalid
        for ref in re.findall(UID, ind[side])
        if ref not in known
    }


def _expected_description(dataset: Dhis2Dataset, expression: str) -> str:
    """Names in place of `#{de}`, `#{de.coc}` and `C{constant}`, everything else kept."""

    def data_element(match: re.Match[str]) -> str:
        return " ".join(_name(dataset, uid) for uid in match.group(1).split("."))

    text = re.sub(r"#\{([^}]*)\}", data_element, expression)
    return re.sub(r"C\{(" + UID + r")\}", lambda m: _name(dataset, m.group(1)), text)


def _read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_report_matches_the_emulator_indicators(dhis2_emulator: Dhis2Emulator, tmp_path: Path):
    report = dhis2_indicator_complexity(
        credentials=dhis2_emulator.credentials(),
        output_dir=str(tmp_path),
        bins=ComplexityBins(1, 4, 9),
    )
    assert report.bins == {"trivial_max": 1, "simple_max": 4, "moderate_max": 9}
    dataset = dhis2_emulator.state.dataset
    indicators = _indicators(dataset)
    assert report.indicators == len(indicators)
    assert report.expressions == 2 * len(indicators)
    assert report.program_indicators == report.validation_rules == 0
    assert {"programIndicators", "validationRules"} <= set(report.unavailable)
    assert sum(report.distribution.values()) == report.expressions
    assert report.invalid == report.distribution["invalid"] == len(_expected_invalid(dataset))

    expected_missing = _expected_missing(dataset)
    assert len({m[0] for m in expected_missing}) == 1  # the one deliberately broken indicator
    assert {(m.indicator_id, m.side, m.uid) for m in report.dependencies.missing} == (
        expected_missing
    )
    assert report.missing_references == report.dependencies.missing

    rows = _read_csv(report.files["indicator_complexity_csv"])
    assert len(rows) == report.expressions
    by_id = {ind["id"]: ind for ind in indicators}
    levels: dict[str, int] = {}
    for row in rows:
        source = by_id[row["object_id"]]
        assert row["object_type"] == "indicator"
        assert row["object_name"] == source["name"]
        assert row["expression"] == source[row["side"]]
        assert row["valid"] == "true"
        assert row["description"] == _expected_description(dataset, row["expression"])
        assert int(row["distinct_data_elements"]) == len(
            set(re.findall(r"#\{(" + UID + ")", row["expression"]))
        )
        levels[row["complexity"]] = levels.get(row["complexity"], 0) + 1
        assert row["complexity"] == ComplexityBins(1, 4, 9).classify(int(row["complexity_score"]))
    assert {k: v for k, v in report.distribution.items() if v and k != "invalid"} == levels
    assert pq.read_table(report.files["indicator_complexity_parquet"]).num_rows == len(rows)

    # Dependencies: indicator -> data elements -> data sets, as in the dataset.
    deps = _read_csv(report.files["indicator_dependencies_csv"])
    for ind in indicators:
        expected_elements = set(
            re.findall(r"#\{(" + UID + ")", ind["numerator"] + ind["denominator"])
        )
        got = {r["target_id"]: r for r in deps
               if r["indicator_id"] == ind["id"] and r["relation"] == "data_element"}  # fmt: skip
        assert set(got) == expected_elements
        for element, row in got.items():
            obj = dataset.get("dataElements", element) or {}
            data_sets = sorted(dse["dataSet"]["id"] for dse in obj.get("dataSetElements", []))
            assert row["data_set_ids"] == ";".join(data_sets)
    missing_rows = {(r["indicator_id"], r["side"], r["target_id"]) for r in deps
                    if r["relation"] == "missing"}  # fmt: skip
    assert missing_rows == expected_missing

    markdown = _artifact("dhis2-indicator-complexity")
    for indicator, _side, uid in expected_missing:
        assert uid in markdown and by_id[indicator]["name"] in markdown
    assert "## Distribution" in markdown and "most complex" in markdown
    most_complex = max(rows, key=lambda r: int(r["complexity_score"]))
    assert most_complex["description"] in markdown


def test_invalid_and_disallowed_indicators_are_reported(
    dhis2_emulator_factory: Any, tmp_path: Path
):
    emulator: Dhis2Emulator = dhis2_emulator_factory(org_units=60)
    dataset = emulator.state.dataset
    group = dataset.ordered_ids("organisationUnitGroups")[0]
    kind = dataset.ordered_ids("indicatorTypes")[0]
    broken = [
        {"id": "Xq0BadSynt1", "name": "Unclosed call", "numerator": "if(#{fbfJHSPpUQD}>0,1",
         "denominator": "1"},
        {"id": "Xq0BadSynt2", "name": "Dangling operator", "numerator": "#{fbfJHSPpUQD} *",
         "denominator": "2 + + "},
        {"id": "Xq0OrgUnit1", "name": "Group size", "numerator": f"orgUnit.group({group})",
         "denominator": "1"},
    ]  # fmt: skip
    with emulator.credentials().get_client() as client:
        payload = [{**b, "shortName": b["name"], "indicatorType": {"id": kind}} for b in broken]
        assert client.post_metadata({"indicators": payload}).status == "OK"

    report = dhis2_indicator_complexity(
        credentials=emulator.credentials(), output_dir=str(tmp_path), bins=[2, 6, 12],
        formats=["csv"], top=3,
    )  # fmt: skip
    expected_invalid = _expected_invalid(dataset)
    assert len(expected_invalid) == 3
    assert {(e.object_id, e.side): e.position for e in report.invalid_expressions} == (
        expected_invalid
    )
    assert report.invalid == 3 and report.disallowed == 1
    assert report.bins == {"trivial_max": 2, "simple_max": 6, "moderate_max": 12}
    assert sum(report.distribution.values()) == report.expressions == 2 * len(_indicators(dataset))
    assert set(report.files) == {"indicator_complexity_csv", "indicator_dependencies_csv"}
    assert {(m.indicator_id, m.side, m.uid) for m in report.dependencies.missing} == (
        _expected_missing(dataset)
    )

    rows = _read_csv(report.files["indicator_complexity_csv"])
    levels = {"trivial": (0, 2), "simple": (3, 6), "moderate": (7, 12), "complex": (13, 10**6)}
    for row in rows:
        if row["valid"] == "true":
            low, high = levels[row["complexity"]]
            assert low <= int(row["complexity_score"]) <= high
    group_row = next(
        r for r in rows if r["object_id"] == "Xq0OrgUnit1" and r["side"] == "numerator"
    )
    assert group_row["disallowed"] == "orgUnit.group("

    markdown = _artifact("dhis2-indicator-complexity")
    section = markdown.split("## Invalid expressions (3)")[1]
    for invalid in report.invalid_expressions:
        assert invalid.reason in section and invalid.object_name in section
    assert "orgUnit.group(" in markdown.split("## Constructs not allowed")[1]


def test_bad_parameters_fail_before_any_request(dhis2_emulator: Dhis2Emulator, tmp_path: Path):
    before = len(dhis2_emulator.request_log)
    creds = dhis2_emulator.credentials()
    with pytest.raises(ValueError, match="three upper bounds"):
        dhis2_indicator_complexity(credentials=creds, output_dir=str(tmp_path), bins=[1, 2])
    with pytest.raises(ValueError, match="trivial_max < simple_max"):
        dhis2_indicator_complexity(credentials=creds, output_dir=str(tmp_path), bins=[5, 2, 9])
    with pytest.raises(ValueError, match="Unknown table format"):
        dhis2_indicator_complexity(credentials=creds, output_dir=str(tmp_path), formats=["xlsx"])
    assert len(dhis2_emulator.request_log) == before
    assert list(tmp_path.iterdir()) == []
