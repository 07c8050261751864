"""`dhis2_analytics_export` under a real Prefect server against the emulator."""

from __future__ import annotations

import contextlib
import csv
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectNotFound

from prefect_dhis2.analytics import AnalyticsQuery
from prefect_dhis2.analytics.extract import _call_args
from prefect_dhis2.flows import dhis2_analytics_export
from prefect_dhis2.host_limit import ensure_host_concurrency_limit, host_concurrency_limit_name
from prefect_dhis2.runtime import run_sync

from .conftest import ROW_LIMIT

BO = "O6uvpzGd5pu"


def analytics_requests(emulator) -> int:
    return len(emulator.request_log.matching("/api/analytics"))


def test_export_writes_a_tidy_table_equal_to_one_unlimited_request(
    prefect_server, emulator, credentials, tmp_path
):
    report = dhis2_analytics_export(
        data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"],
        org_units=[BO, "LEVEL-4"],
        periods=["LAST_4_QUARTERS"],
        credentials=credentials,
        output_dir=str(tmp_path),
    )
    query = AnalyticsQuery(
        data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"],
        org_units=[BO, "LEVEL-4"],
        periods=["LAST_4_QUARTERS"],
        ignore_limit=True,
    )
    with credentials.get_client() as client:
        dimension, filters, params = _call_args(query)
        expected = client.fetch_analytics(dimension, filters, **params)
    assert report.table.rows == len(expected.rows) > ROW_LIMIT
    with open(report.files["analytics_csv"], newline="") as handle:
        records = list(csv.DictReader(handle))
    assert {"dx", "dx_name", "ou", "ou_name", "pe", "pe_start", "pe_end", "value"} <= set(
        records[0]
    )
    got = sorted((r["dx"], r["ou"], r["pe"], float(r["value"])) for r in records)
    want = sorted((r[0], r[1], r[2], float(r[3])) for r in expected.rows)
    assert got == want
    table = pq.read_table(report.files["analytics_parquet"])
    assert table.num_rows == report.table.rows
    assert str(table.schema.field("value").type) == "double"
    assert str(table.schema.field("pe_start").type).startswith("date32")
    assert report.table.data_items == 2 and report.table.periods == 4
    assert report.extract.shards_fetched + report.extract.shards_cached > 1


def test_an_unchanged_rerun_is_served_from_the_cache_until_tables_are_regenerated(
    prefect_server, emulator, credentials, tmp_path
):
    kwargs = {
        "data_items": ["Jtf34kNZhzP"],
        "org_units": [BO, "LEVEL-4"],
        "periods": ["2024Q1", "2024Q2"],
        "credentials": credentials,
    }
    first = dhis2_analytics_export(**kwargs, output_dir=str(tmp_path))
    assert analytics_requests(emulator) > 0
    written = {name: Path(path).read_bytes() for name, path in first.files.items()}
    emulator.request_log.clear()
    second = dhis2_analytics_export(**kwargs, output_dir=str(tmp_path))
    assert analytics_requests(emulator) == 0
    assert second.table.rows == first.table.rows and second.files == first.files
    # Another folder holds no answer yet: it is fetched and written there too.
    elsewhere = dhis2_analytics_export(**kwargs, output_dir=str(tmp_path / "other"))
    assert analytics_requests(emulator) > 0
    assert {n: Path(p).read_bytes() for n, p in elsewhere.files.items()} == written
    assert emulator.request_log.matching("/api/system/info")  # freshness was checked
    # Regenerate the analytics tables: lastAnalyticsTableSuccess moves, the cache misses.
    # "before" is read before the job starts: the job may finish before the POST returns.
    with credentials.get_client() as client:
        before = client.get_server_info().last_analytics_table_success
        response = httpx.post(
            f"{emulator.base_url}/api/resourceTables/analytics", auth=("admin", "district")
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 60
        while client.get_server_info().last_analytics_table_success == before:
            assert time.monotonic() < deadline, "analytics tables were not regenerated"
            time.sleep(0.05)
    emulator.request_log.clear()
    third = dhis2_analytics_export(**kwargs, output_dir=str(tmp_path))
    assert analytics_requests(emulator) > 0
    assert third.table.rows == first.table.rows


def test_bad_input_fails_before_any_request(prefect_server, emulator, credentials, tmp_path):
    for bad, message in (
        ({"periods": ["LAST_13_MONTHS"]}, "LAST_13_MONTHS"),
        ({"periods": ["2024W54"]}, "2024W54"),
        ({"data_items": ["not-a-uid"]}, "not-a-uid"),
        ({"org_units": ["LEVEL-0"]}, "LEVEL-0"),
        ({"filters": ["zz:abc"]}, "zz"),
        ({"org_units": []}, "org unit"),
    ):
        with pytest.raises(ValueError, match=message):
            dhis2_analytics_export(**bad, credentials=credentials, output_dir=str(tmp_path))
    assert len(emulator.request_log) == 0


def test_the_host_limit_is_created_once_and_never_overwritten(prefect_server, credentials):
    name = host_concurrency_limit_name(credentials.base_url)
    creds = credentials.model_copy(update={"max_concurrency": 3})

    async def limit_value() -> int:
        async with get_client() as client:
            return (await client.read_global_concurrency_limit_by_name(name)).limit

    async def reset(limit: int | None) -> None:
        async with get_client() as client:
            with contextlib.suppress(ObjectNotFound):
                await client.delete_global_concurrency_limit_by_name(name)
            if limit is not None:
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=limit)
                )

    run_sync(reset(None))
    assert run_sync(ensure_host_concurrency_limit(creds)) == name
    assert run_sync(limit_value()) == 3
    run_sync(reset(7))  # an operator tuned it
    run_sync(ensure_host_concurrency_limit(creds))
    assert run_sync(limit_value()) == 7
