"""Reports and artifacts say which run and deployment made them and link the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from prefect_dhis2.flows import dhis2_connection_check, dhis2_org_units_export
from prefect_dhis2.testing import Dhis2Emulator
from tests.flows.artifacts import latest_artifact


@pytest.fixture(autouse=True)
def _server(prefect_server: str) -> None:
    """Every test here runs flows against the session's Prefect test server."""


def test_a_report_names_its_run_and_an_artifact_links_the_files(
    dhis2_emulator: Dhis2Emulator, tmp_path: Path
):
    report = dhis2_org_units_export(
        credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path), geojson=False
    )
    assert report.flow_run  # the run's generated name, from prefect.runtime
    assert report.deployment is None  # not started from a deployment
    markdown = latest_artifact("dhis2-org-units-export").data
    assert f"run `{report.flow_run}`" in markdown
    for label, path in report.files.items():
        assert f"[{label}]({Path(path).resolve().as_uri()})" in markdown


def test_runs_of_one_deployment_share_an_artifact_key(
    dhis2_emulator: Dhis2Emulator, monkeypatch: pytest.MonkeyPatch
):
    # prefect.runtime reads overrides from the environment: a run "from" a deployment.
    monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__NAME", "moh-connection-check")
    report = dhis2_connection_check(credentials=dhis2_emulator.credentials())
    assert report.deployment == "moh-connection-check"
    markdown = latest_artifact("dhis2-connection-check-moh-connection-check").data
    assert "deployment `moh-connection-check`" in markdown
