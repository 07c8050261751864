"""The failed-shards artifact names each item beside its UID, where the run learnt it."""

from __future__ import annotations

import pickle

from prefect_dhis2.analytics import AnalyticsExtractionError, ShardFailure
from prefect_dhis2.analytics.tasks import failure_rows


def _failure(org_units: list[str]) -> ShardFailure:
    return ShardFailure(
        data_items=["fbfJHSPpUQD", "Xq0MissngDE"],
        org_units=org_units,
        periods=["202401"],
        error="Dhis2ApiError",
        status_code=409,
        error_code="E7124",
        message="Dimension is not valid",
        permanent=True,
    )


def test_items_are_named_beside_their_uids_and_unknown_ones_keep_the_uid():
    names = {"fbfJHSPpUQD": "ANC 1st visit", "O6uvpzGd5pu": "Bo", "202401": "January 2024"}
    (row,) = failure_rows([_failure(["O6uvpzGd5pu", "fdc6uOvgoji"])], names)
    assert row["dx"] == "ANC 1st visit (fbfJHSPpUQD); Xq0MissngDE"
    assert row["ou"] == "Bo (O6uvpzGd5pu); fdc6uOvgoji"
    assert row["pe"] == "January 2024 (202401)"
    assert row["error_code"] == "E7124" and row["permanent"] is True


def test_long_org_unit_lists_are_cut_after_ten():
    units = [f"OrgUnit{i:04d}" for i in range(12)]
    (row,) = failure_rows([_failure(units)], {})
    assert str(row["ou"]).count(";") == 10 and str(row["ou"]).endswith("; ...")


def test_the_error_carries_the_names_through_pickling():
    error = AnalyticsExtractionError(
        "http://dhis2.test", [_failure(["O6uvpzGd5pu"])], {"O6uvpzGd5pu": "Bo"}
    )
    again = pickle.loads(pickle.dumps(error))
    assert again.names == {"O6uvpzGd5pu": "Bo"} and again.failures == error.failures
