"""Bad input fails clearly, before any request where possible, and leaves the
previous warehouse untouched."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from prefect_dhis2.testing import Dhis2Emulator
from prefect_dhis2.warehouse import WarehouseError, abuild_star_schema
from prefect_dhis2.warehouse.backend import DuckDbBackend, check_warehouse_path
from prefect_dhis2.warehouse.composite import CompositeComponent, CompositeIndexSpec
from tests.warehouse.conftest import content

PERIODS = ["202401"]


def _analytics_requests(emulator: Dhis2Emulator) -> int:
    return sum(1 for r in emulator.request_log if "analytics" in r.path)


async def _build(emulator: Dhis2Emulator, warehouse: Path, **options: object):
    async with emulator.credentials().get_async_client() as client:
        return await abuild_star_schema(client, warehouse, **options)  # type: ignore[arg-type]


@pytest.fixture
async def built(emulator: Dhis2Emulator, tmp_path: Path) -> Path:
    warehouse = tmp_path / "w.duckdb"
    await _build(emulator, warehouse, data_items=["fbfJHSPpUQD"], periods=PERIODS)
    return warehouse


async def test_unknown_data_items_fail_before_any_analytics_request(
    emulator: Dhis2Emulator, built: Path
) -> None:
    before = content(built)
    emulator.request_log.clear()
    with pytest.raises(ValueError, match=r"Unknown data item\(s\).*Xq0MissngDE"):
        await _build(emulator, built, data_items=["fbfJHSPpUQD", "Xq0MissngDE"], periods=PERIODS)
    assert _analytics_requests(emulator) == 0
    assert content(built) == before


async def test_unknown_org_units_fail_before_any_analytics_request(
    emulator: Dhis2Emulator, built: Path
) -> None:
    before = content(built)
    emulator.request_log.clear()
    with pytest.raises(ValueError, match=r"Unknown org unit\(s\).*Aaaaaaaaaaa"):
        await _build(emulator, built, data_items=["fbfJHSPpUQD"], org_units=["Aaaaaaaaaaa"],
                     periods=PERIODS)  # fmt: skip
    assert _analytics_requests(emulator) == 0
    assert content(built) == before


async def test_invalid_items_and_weights_for_items_not_extracted_fail_before_any_request(
    emulator: Dhis2Emulator, tmp_path: Path
) -> None:
    emulator.request_log.clear()
    spec = CompositeIndexSpec(components=[CompositeComponent(item="Uvn6LCg7dVU")])
    with pytest.raises(ValueError, match="not extracted: Uvn6LCg7dVU"):
        await _build(emulator, tmp_path / "w.duckdb", data_items=["fbfJHSPpUQD"], composite=spec)
    with pytest.raises(ValueError, match="DE_GROUP"):
        await _build(emulator, tmp_path / "w.duckdb", data_items=["DE_GROUP-Aaaaaaaaaaa"])
    with pytest.raises(ValueError, match="Invalid period"):
        await _build(emulator, tmp_path / "w.duckdb", periods=["2024-13"])
    assert len(emulator.request_log) == 0
    assert not (tmp_path / "w.duckdb").exists()


async def test_an_empty_extraction_is_an_error_and_changes_nothing(
    emulator: Dhis2Emulator, built: Path
) -> None:
    before = content(built)
    with pytest.raises(WarehouseError, match="returned no rows"):
        await _build(emulator, built, data_items=["fbfJHSPpUQD"], periods=["1990"])
    assert content(built) == before


def test_an_unwritable_warehouse_path_fails_before_any_request(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(WarehouseError, match="Cannot write the warehouse"):
        check_warehouse_path(blocker / "w.duckdb")
    with pytest.raises(WarehouseError, match="is a directory"):
        check_warehouse_path(tmp_path)


def test_a_file_that_is_not_duckdb_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4096)
    before = path.read_bytes()
    with pytest.raises(WarehouseError, match="not a DuckDB database file"):
        check_warehouse_path(path)
    assert path.read_bytes() == before


def test_a_warehouse_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE warehouse_meta (key VARCHAR, value VARCHAR)")
        con.execute("INSERT INTO warehouse_meta VALUES ('schema_version', '0')")
    with pytest.raises(WarehouseError, match="schema version 0"):
        check_warehouse_path(path)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT value FROM warehouse_meta").fetchall() == [("0",)]


async def test_a_warehouse_of_another_instance_is_refused(built: Path) -> None:
    with pytest.raises(WarehouseError, match=r"holds data of http://127\.0\.0\.1"):
        DuckDbBackend.open(built, instance="https://play.dhis2.org/40")


def test_a_warehouse_locked_by_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys
            con = duckdb.connect({str(path)!r})
            print("locked", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseError, match="in use by another process"):
            check_warehouse_path(path)
    finally:
        holder.communicate("", timeout=60)
