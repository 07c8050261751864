"""The analytics export refuses a query without org units before any request."""

from __future__ import annotations

import pytest

from prefect_dhis2.flows import dhis2_analytics_export


def test_no_org_units_fails_before_any_request(prefect_server, dhis2_emulator, tmp_path):
    dhis2_emulator.request_log.clear()
    with pytest.raises(ValueError, match=r"org unit \(ou\)"):
        dhis2_analytics_export(
            org_units=[],
            credentials=dhis2_emulator.credentials(),
            output_dir=str(tmp_path),
        )
    assert len(dhis2_emulator.request_log) == 0


def test_an_org_unit_filter_is_enough(prefect_server, dhis2_emulator, tmp_path):
    report = dhis2_analytics_export(
        org_units=[],
        filters=["ou:ImspTQPwCqd"],
        periods=["202401"],
        credentials=dhis2_emulator.credentials(),
        output_dir=str(tmp_path),
    )
    assert report.table.rows > 0
