"""The connection check flow against the emulator over HTTP, under a real Prefect
test server."""

from __future__ import annotations

import pytest

from prefect_dhis2.client import Dhis2AuthenticationError
from prefect_dhis2.flows import dhis2_connection_check
from prefect_dhis2.testing import Dhis2Emulator
from tests.flows.artifacts import latest_artifact


@pytest.fixture(autouse=True)
def _server(prefect_server: str) -> None:
    """Every test here runs flows against the session's Prefect test server."""


def test_connection_check(dhis2_emulator: Dhis2Emulator):
    report = dhis2_connection_check(credentials=dhis2_emulator.credentials())
    result = report.result
    dataset = dhis2_emulator.state.dataset
    assert result.version.startswith("2.40")
    assert result.username == "admin" and result.superuser
    assert result.counts["organisationUnits"] == len(dataset.ordered_ids("organisationUnits"))
    assert result.counts["dataElements"] == len(dataset.ordered_ids("dataElements"))
    assert result.counts["indicators"] == len(dataset.ordered_ids("indicators"))
    markdown = latest_artifact("dhis2-connection-check").data
    assert "DHIS2 version" in markdown and result.version in markdown


def test_connection_check_with_wrong_password_fails_clearly(dhis2_emulator: Dhis2Emulator):
    bad = dhis2_emulator.credentials().model_copy(update={"password": None, "token": None})
    bad = type(bad)(base_url=bad.base_url, username="admin", password="wrong-password")
    with pytest.raises(Dhis2AuthenticationError, match="user 'admin'"):
        dhis2_connection_check(credentials=bad)
