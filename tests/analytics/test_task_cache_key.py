"""The analytics task's cache key: two small system requests, no lease of the shared limit."""

from __future__ import annotations

from typing import Any

from prefect import flow

from prefect_dhis2.analytics import AnalyticsQuery
from prefect_dhis2.analytics.tasks import _task_cache_key


def test_the_cache_key_takes_no_lease_of_the_hosts_limit(
    prefect_server: str, dhis2_emulator_factory: Any, lease_log: list[object]
) -> None:
    leases = lease_log
    dhis2_emulator = dhis2_emulator_factory()
    credentials = dhis2_emulator.credentials().model_copy(update={"share_host_limit": True})
    query = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["ImspTQPwCqd"], periods=["2024"])

    @flow
    def keyed() -> tuple[str | None, int]:
        key = _task_cache_key(None, {"credentials": credentials, "query": query})  # type: ignore[arg-type]
        leases_for_key = len(leases)
        with credentials.get_client() as client:  # the run's own requests do take leases
            client.get_server_info()
        return key, leases_for_key

    dhis2_emulator.request_log.clear()
    key, leases_for_key = keyed()
    assert key is not None and key.startswith("dhis2-analytics-")
    assert leases_for_key == 0
    assert len(leases) >= 1
    paths = [entry.path for entry in dhis2_emulator.request_log]
    assert paths.count("/api/system/info") == 2 and paths.count("/api/me") == 1
    assert credentials.share_host_limit  # the block itself is unchanged
