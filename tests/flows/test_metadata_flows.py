"""The metadata export and metadata quality flows against the emulator over HTTP,
under a real Prefect test server."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from prefect_dhis2.flows import dhis2_metadata_export, dhis2_metadata_quality
from prefect_dhis2.testing import Dhis2Emulator
from tests.flows.artifacts import latest_artifact


@pytest.fixture(autouse=True)
def _server(prefect_server: str) -> None:
    """Every test here runs flows against the session's Prefect test server."""


def test_metadata_export_in_parallel(dhis2_emulator: Dhis2Emulator, tmp_path: Path):
    report = dhis2_metadata_export(
        credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path), formats=["csv"]
    )
    dataset = dhis2_emulator.state.dataset
    assert report.data_elements == len(dataset.ordered_ids("dataElements"))
    assert report.indicators == len(dataset.ordered_ids("indicators"))
    with open(tmp_path / "data_elements.csv", newline="") as handle:
        elements = {r["id"]: r for r in csv.DictReader(handle)}
    anc = elements["fbfJHSPpUQD"]
    assert anc["name"] == "ANC 1st visit"
    assert anc["category_combo_id"] == "KYYSTxeVw28"
    with open(tmp_path / "indicators.csv", newline="") as handle:
        indicators = {r["id"]: r for r in csv.DictReader(handle)}
    for uid, row in indicators.items():
        source = dataset.get("indicators", uid)
        assert row["numerator"] == source["numerator"]
    table = latest_artifact("dhis2-metadata-export").data
    assert "data elements" in table


def test_metadata_quality_finds_the_broken_indicator(dhis2_emulator: Dhis2Emulator, tmp_path):
    report = dhis2_metadata_quality(
        credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path)
    )
    checks = {c.name: c for c in report.result.checks}
    broken = checks["indicators referencing missing objects"]
    assert broken.failed >= 1
    dataset = dhis2_emulator.state.dataset
    known = {
        uid
        for kind in ("dataElements", "categoryOptionCombos", "constants", "indicators",
                     "organisationUnitGroups", "dataSets")
        for uid in dataset.ordered_ids(kind)
    }  # fmt: skip
    expected_broken = {
        uid
        for uid in dataset.ordered_ids("indicators")
        for side in ("numerator", "denominator")
        for ref in re.findall(r"[A-Za-z][A-Za-z0-9]{10}", dataset.get("indicators", uid)[side])
        if ref not in known
    }
    assert {e["id"] for e in broken.examples} == expected_broken
    assert report.result.rating in {"green", "amber", "red"}
    assert 0 <= report.result.score <= 100
    markdown = latest_artifact("dhis2-metadata-quality").data
    assert "indicators referencing missing objects" in markdown
    assert (tmp_path / "metadata_quality.csv").exists()


def test_metadata_export_with_a_bad_format_fails_before_any_request(
    dhis2_emulator: Dhis2Emulator, tmp_path: Path
):
    before = len(dhis2_emulator.request_log)
    with pytest.raises(ValueError, match="Unknown table format"):
        dhis2_metadata_export(
            credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path), formats=["xlsx"]
        )
    assert len(dhis2_emulator.request_log) == before
