"""Metadata and org unit tasks: pure transforms, and the safe import against the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import get_client

from prefect_dhis2.metadata import (
    MetadataImportValidationError,
    fetch_metadata,
    import_metadata,
    quality_report,
    validate_metadata_type,
)
from prefect_dhis2.org_units import flatten_org_units_rows, level_names, org_unit_feature
from prefect_dhis2.testing import Dhis2Emulator

LEVELS = [{"level": 1, "name": "National"}, {"level": 2, "name": "District"},
          {"level": 3, "name": "Chiefdom"}]  # fmt: skip
UNITS = [
    {"id": "ImspTQPwCqd", "name": "Sierra Leone", "level": 1, "path": "/ImspTQPwCqd",
     "code": "OU_525", "openingDate": "1994-01-01T00:00:00.000"},
    {"id": "O6uvpzGd5pu", "name": "Bo", "level": 2, "path": "/ImspTQPwCqd/O6uvpzGd5pu",
     "parent": {"id": "ImspTQPwCqd"}, "code": "OU_264"},
    {"id": "YuQRtpLP10I", "name": "Badjia", "level": 3,
     "path": "/ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I", "parent": {"id": "O6uvpzGd5pu"},
     "geometry": {"type": "Point", "coordinates": [-11.5, 7.9]},
     "closedDate": "2020-05-01T00:00:00.000"},
]  # fmt: skip


def test_flatten_gives_a_column_pair_per_level():
    rows = {r["id"]: r for r in flatten_org_units_rows(UNITS, LEVELS)}
    badjia = rows["YuQRtpLP10I"]
    assert [badjia[f"level_{n}_name"] for n in (1, 2, 3)] == ["Sierra Leone", "Bo", "Badjia"]
    assert [badjia[f"level_{n}_id"] for n in (1, 2, 3)] == [
        "ImspTQPwCqd", "O6uvpzGd5pu", "YuQRtpLP10I"
    ]  # fmt: skip
    assert (badjia["longitude"], badjia["latitude"]) == (-11.5, 7.9)
    assert badjia["closed_date"] == "2020-05-01"
    assert rows["ImspTQPwCqd"]["parent_id"] is None
    assert rows["ImspTQPwCqd"]["level_2_id"] is None and rows["ImspTQPwCqd"]["opening_date"]
    assert rows["O6uvpzGd5pu"]["level_3_name"] is None
    assert level_names(LEVELS) == {1: "National", 2: "District", 3: "Chiefdom"}


def test_features_only_for_units_with_geometry():
    assert org_unit_feature(UNITS[0]) is None
    feature = org_unit_feature(UNITS[2])
    assert feature is not None and feature["properties"]["parent_id"] == "O6uvpzGd5pu"
    assert org_unit_feature({"id": "x", "geometry": {"type": "Point", "coordinates": []}}) is None


def test_unknown_metadata_type_suggests_names():
    with pytest.raises(ValueError, match="Did you mean dataElements"):
        validate_metadata_type("dataElement")


def test_quality_report_scores_and_rates():
    indicators = [
        {"id": "Uvn6LCg7dVU", "name": "ANC 1 Coverage", "code": "IN_1",
         "numerator": "#{fbfJHSPpUQD}", "denominator": "1"},
        {"id": "ReUHfIn0pTQ", "name": "Broken", "code": "IN_2",
         "numerator": "#{fbfJHSPpUQD} + #{Xq0MissngDE}", "denominator": "if(1,"},
    ]  # fmt: skip
    elements = [{"id": "fbfJHSPpUQD", "name": "ANC 1st visit", "code": "DE_1"},
                {"id": "cYeuwXTCPkU", "name": "anc 1st visit"}]  # fmt: skip
    orphan = {"id": "orphanUnit1", "name": "Lost", "level": 3, "parent": {"id": "noSuchUnit1"}}
    report = quality_report(
        org_units=[*UNITS, orphan],
        data_elements=elements,
        indicators=indicators,
        known_uids={"fbfJHSPpUQD", "cYeuwXTCPkU"},
    )
    checks = {c.name: c for c in report.checks}
    assert checks["data elements without a code"].failed == 1
    assert checks["data elements with a duplicate name"].failed == 2  # case-insensitive
    assert checks["org units whose parent is missing"].failed == 1
    assert checks["level 3 org units without geometry"].failed == 1  # the orphan
    broken = checks["indicators referencing missing objects"]
    assert broken.failed == 1
    assert "Xq0MissngDE" in broken.examples[0]["detail"]
    assert "denominator" in broken.examples[0]["detail"]
    expected = sum(c.weight * c.pass_rate for c in report.checks) / sum(
        c.weight for c in report.checks
    )
    assert report.score == round(100 * expected, 1)
    assert report.rating == ("green" if report.score >= 90 else
                             "amber" if report.score >= 75 else "red")  # fmt: skip
    clean_units = [*UNITS[:2], {**UNITS[2], "code": "OU_1"}]
    clean = quality_report(org_units=clean_units, data_elements=elements[:1],
                           indicators=indicators[:1], known_uids={"fbfJHSPpUQD"})  # fmt: skip
    assert clean.score == 100.0 and clean.rating == "green"


@pytest.fixture
def emulator(dhis2_emulator_factory: Any) -> Dhis2Emulator:
    emulator: Dhis2Emulator = dhis2_emulator_factory()
    return emulator


def _latest_artifact(key: str) -> Any:
    async def read() -> Any:
        async with get_client() as client:
            return next(a for a in await client.read_latest_artifacts() if a.key == key)

    return asyncio.run(read())


def test_import_validates_then_commits(prefect_server: str, emulator: Dhis2Emulator):
    payload = {
        "constants": [{"id": "cOnstant001", "name": "Target share", "shortName": "Target share",
                       "value": 0.8}]
    }  # fmt: skip

    @flow
    def run() -> Any:
        return import_metadata(emulator.credentials(), payload, artifact_key="import-test")

    result = run()
    assert result.committed and result.commit is not None
    assert result.commit.stats.created == 1
    modes = [dict(r.params).get("importMode") for r in emulator.request_log
             if r.path.endswith("/metadata")]  # fmt: skip
    assert modes == ["VALIDATE", "COMMIT"]
    assert emulator.state.dataset.get("constants", "cOnstant001") is not None
    table = _latest_artifact("import-test").data
    assert "Constant" in table


def test_import_refused_in_validation_writes_nothing(prefect_server: str, emulator: Dhis2Emulator):
    payload = {"constants": [{"id": "cOnstant002", "value": 1.0}]}  # no name: E4000

    @flow
    def run() -> Any:
        return import_metadata(emulator.credentials(), payload, artifact_key="import-refused")

    with pytest.raises(MetadataImportValidationError, match="nothing was written") as caught:
        run()
    assert caught.value.report.errors
    modes = [dict(r.params).get("importMode") for r in emulator.request_log
             if r.path.endswith("/metadata")]  # fmt: skip
    assert modes == ["VALIDATE"]
    assert emulator.state.dataset.get("constants", "cOnstant002") is None
    table = _latest_artifact("import-refused").data
    assert "E4000" in table


def test_import_with_unknown_type_fails_before_any_request(emulator: Dhis2Emulator):
    before = len(emulator.request_log)
    with pytest.raises(ValueError, match="Unknown DHIS2 metadata type"):
        import_metadata.fn(emulator.credentials(), {"dataElementz": []}, artifact_key=None)
    with pytest.raises(ValueError, match="not a DHIS2 filter operator"):
        fetch_metadata.fn(emulator.credentials(), "dataElements", filters=["name:has:x"])
    assert len(emulator.request_log) == before
