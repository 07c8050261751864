"""The metadata tasks against the emulator: the safe import (VALIDATE, then COMMIT)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prefect import flow

from prefect_dhis2.metadata import MetadataImportValidationError, fetch_metadata, import_metadata
from prefect_dhis2.testing import Dhis2Emulator
from tests.flows.artifacts import latest_artifact


@pytest.fixture
def emulator(dhis2_emulator_factory: Any) -> Dhis2Emulator:
    emulator: Dhis2Emulator = dhis2_emulator_factory()
    return emulator


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
    table = latest_artifact("import-test").data
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
    table = latest_artifact("import-refused").data
    assert "E4000" in table


def test_import_with_unknown_type_fails_before_any_request(emulator: Dhis2Emulator):
    before = len(emulator.request_log)
    with pytest.raises(ValueError, match="Unknown DHIS2 metadata type"):
        import_metadata.fn(emulator.credentials(), {"dataElementz": []}, artifact_key=None)
    with pytest.raises(ValueError, match="not a DHIS2 filter operator"):
        fetch_metadata.fn(emulator.credentials(), "dataElements", filters=["name:has:x"])
    assert len(emulator.request_log) == before


def test_an_import_error_names_its_object_beside_its_uid(
    prefect_server: str, emulator: Dhis2Emulator
):
    payload = {
        "dataElements": [
            {"id": "dEnoShort01", "name": "ANC visits (no short name)", "valueType": "NUMBER",
             "domainType": "AGGREGATE", "aggregationType": "SUM"},
            {"name": "Deliveries (new, no short name)", "valueType": "NUMBER",
             "domainType": "AGGREGATE", "aggregationType": "SUM"},
        ]
    }  # fmt: skip

    @flow
    def run() -> Any:
        return import_metadata(emulator.credentials(), payload, artifact_key="import-named")

    with pytest.raises(MetadataImportValidationError):
        run()
    rows = json.loads(latest_artifact("import-named").data)
    errors = [r for r in rows if r["error_code"] == "E4000"]
    assert {(r["object"], r["name"]) for r in errors} >= {
        ("dEnoShort01", "ANC visits (no short name)")
    }
    # An object without a UID is matched by its position in the payload.
    unnamed = [r for r in errors if r["object"] != "dEnoShort01"]
    assert unnamed and all(r["name"] == "Deliveries (new, no short name)" for r in unnamed)
