"""The bundled warehouse flow against the emulator, under a real Prefect test server."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from prefect_dhis2.analytics import AnalyticsExtractionError
from prefect_dhis2.flows import dhis2_star_schema
from prefect_dhis2.testing import Dhis2Emulator, FaultRule
from prefect_dhis2.warehouse import build
from prefect_dhis2.warehouse.backend import DuckDbBackend
from prefect_dhis2.warehouse.checks import WarehouseIntegrityError
from tests.flows.artifacts import latest_artifact
from tests.warehouse.conftest import content

ANC_1 = "fbfJHSPpUQD"
PERIODS = ["202401", "202402"]


@pytest.fixture(autouse=True)
def _server(prefect_server: str) -> None:
    """Every test here runs flows against the session's Prefect test server."""


def _keys(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            "dim_org_unit": con.execute(
                "SELECT uid, org_unit_key FROM dim_org_unit ORDER BY 1"
            ).fetchall(),
            "dim_period": con.execute(
                "SELECT iso, period_key FROM dim_period ORDER BY 1"
            ).fetchall(),
            "dim_data": con.execute("SELECT uid, data_key FROM dim_data ORDER BY 1").fetchall(),
            "facts": con.execute(
                "SELECT data_key, org_unit_key, period_key, coc_key, value FROM fact_analytics "
                "ORDER BY 1, 2, 3, 4"
            ).fetchall(),
        }


def test_default_warehouse_facts_dimensions_parquet_and_artifacts(
    emulator: Dhis2Emulator, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    report = dhis2_star_schema(credentials=emulator.credentials(), warehouse=str(warehouse))
    result = report.result
    assert result.rows["dim_org_unit"] == len(
        emulator.state.dataset.ordered_ids("organisationUnits")
    )
    assert result.rows["dim_period"] == 12  # LAST_12_MONTHS
    assert result.rows["dim_data"] == len(build.DEFAULT_DATA_ITEMS)
    assert result.rows["fact_analytics"] == result.facts_loaded > 0
    assert result.periods_added == [f"2023{m:02d}" for m in range(6, 13)] + [
        f"2024{m:02d}" for m in range(1, 6)
    ]
    assert all(c.passed for c in result.checks)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # Every fact has its dimension rows: the view (inner joins) loses none.
        assert con.execute("SELECT count(*) FROM v_analytics").fetchone()[0] == result.facts_loaded
        comment = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'fact_analytics' "
            "AND column_name = 'org_unit_key'"
        ).fetchone()[0]
        assert "dim_org_unit" in comment
        levels = con.execute(
            "SELECT DISTINCT org_unit_level FROM v_analytics ORDER BY 1"
        ).fetchall()
        assert levels == [(1,), (2,), (3,), (4,)]
        polygons = con.execute(
            "SELECT count(*) FROM dim_org_unit WHERE geometry_type = 'Polygon' AND longitude IS NULL"
        ).fetchone()[0]
        assert polygons == 0
    # The Parquet copy: same rows, facts partitioned by period.
    parquet = Path(report.files["parquet"])
    facts = ds.dataset(parquet / "fact_analytics", format="parquet", partitioning="hive")
    assert facts.count_rows() == result.facts_loaded
    assert min(p.name for p in (parquet / "fact_analytics").iterdir()) == "period=202306"
    assert ds.dataset(parquet / "dim_org_unit.parquet").count_rows() == result.rows["dim_org_unit"]
    # The composite index ranks the 13 districts; the top is in the report and artifacts.
    assert result.composite is not None and len(result.composite.ranking) == 13
    assert report.top[0]["rank"] == 1 and len(report.top) == 10
    markdown = latest_artifact("dhis2-star-schema").data
    assert report.top[0]["org_unit"] in markdown and "fact_has_dim_period" in markdown
    assert len(json.loads(latest_artifact("dhis2-composite-index").data)) == 13


def test_facts_summed_to_districts_equal_the_emulators_district_analytics(
    emulator: Dhis2Emulator, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    dhis2_star_schema(
        credentials=emulator.credentials(),
        data_items=[ANC_1, "cYeuwXTCPkU"],
        org_units=["LEVEL-4"],
        periods=PERIODS,
        warehouse=str(warehouse),
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        summed = con.execute(
            "SELECT data_uid, org_unit_level_2_uid, period, sum(value) FROM v_analytics "
            "GROUP BY ALL"
        ).fetchall()
    with emulator.credentials().get_client() as client:
        grid = client.fetch_analytics(
            [f"dx:{ANC_1};cYeuwXTCPkU", "ou:LEVEL-2", f"pe:{';'.join(PERIODS)}"], []
        )
    expected = {(r[0], r[1], r[2]): float(r[3]) for r in grid.rows}
    got = {(dx, ou, pe): value for dx, ou, pe, value in summed}
    assert len(expected) == 2 * 13 * 2
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key


def test_second_run_keeps_counts_and_keys_and_one_more_period_adds_only_its_facts(
    emulator: Dhis2Emulator, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    options = {"credentials": emulator.credentials(), "warehouse": str(warehouse)}
    first = dhis2_star_schema(periods=PERIODS, **options).result
    before = _keys(warehouse)
    second = dhis2_star_schema(periods=PERIODS, **options).result
    assert second.rows == first.rows
    assert second.periods_replaced == PERIODS and second.periods_added == []
    assert second.facts_replaced == first.facts_loaded
    assert _keys(warehouse) == before

    third = dhis2_star_schema(periods=[*PERIODS, "202403"], **options).result
    after = _keys(warehouse)
    assert third.periods_added == ["202403"]
    for table in ("dim_org_unit", "dim_data"):
        assert after[table] == before[table]
    assert after["dim_period"] == [*before["dim_period"], ("202403", 3)]
    new_facts = set(after["facts"]) - set(before["facts"])
    assert set(before["facts"]) <= set(after["facts"])  # nothing else changed
    assert new_facts and {f[2] for f in new_facts} == {3}  # only the new period's facts
    with emulator.credentials().get_client() as client:
        grid = client.fetch_analytics(
            [f"dx:{';'.join(build.DEFAULT_DATA_ITEMS)}", "ou:LEVEL-1;LEVEL-2;LEVEL-3;LEVEL-4",
             "pe:202403"], [], includeNumDen="true",
        )  # fmt: skip
    assert len(new_facts) == len(grid.rows)


def test_a_failure_mid_load_leaves_the_previous_warehouse_unchanged(
    emulator: Dhis2Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "w.duckdb"
    options = {"credentials": emulator.credentials(), "warehouse": str(warehouse)}
    dhis2_star_schema(periods=PERIODS, **options)
    before = content(warehouse)
    parquet_before = sorted(p.name for p in (tmp_path / "w_parquet").rglob("*"))

    # Small batches, and the third one breaks: two batches are already in the table.
    batches = build.aiter_fact_batches
    monkeypatch.setattr(
        build,
        "aiter_fact_batches",
        lambda *args, **kwargs: batches(*args, **{**kwargs, "batch_rows": 500}),
    )
    calls = defaultdict(int)
    insert = DuckDbBackend.insert_facts

    def breaking_insert(self: DuckDbBackend, batch, loaded_at):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk went away mid-load")
        return insert(self, batch, loaded_at)

    monkeypatch.setattr(DuckDbBackend, "insert_facts", breaking_insert)
    with pytest.raises(OSError, match="mid-load"):
        dhis2_star_schema(periods=[*PERIODS, "202403"], **options)
    assert calls["n"] == 3
    assert content(warehouse) == before
    assert sorted(p.name for p in (tmp_path / "w_parquet").rglob("*")) == parquet_before


def test_a_failed_integrity_check_rolls_the_refresh_back(
    emulator: Dhis2Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "w.duckdb"
    options = {"credentials": emulator.credentials(), "warehouse": str(warehouse)}
    dhis2_star_schema(periods=PERIODS, **options)
    before = content(warehouse)
    insert = DuckDbBackend.insert_facts
    batches: list[int] = []

    def insert_twice(self: DuckDbBackend, batch, loaded_at):  # type: ignore[no-untyped-def]
        batches.append(batch.num_rows)
        if len(batches) == 1:  # the first batch twice: duplicate natural keys
            insert(self, batch, loaded_at)
        return insert(self, batch, loaded_at)

    monkeypatch.setattr(DuckDbBackend, "insert_facts", insert_twice)
    with pytest.raises(WarehouseIntegrityError, match="fact_natural_key_unique") as failed:
        dhis2_star_schema(periods=[*PERIODS, "202403"], **options)
    (duplicates,) = [c for c in failed.value.checks if not c.passed]
    assert duplicates.failing_rows == batches[0]
    assert content(warehouse) == before


def test_the_server_dying_during_extraction_leaves_the_warehouse_unchanged(
    emulator: Dhis2Emulator, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    options = {"credentials": emulator.credentials(), "warehouse": str(warehouse)}
    dhis2_star_schema(periods=PERIODS, **options)
    before = content(warehouse)
    # Half the analytics requests now die (no retries), after the dimensions were
    # read and loaded into the open transaction; the other shards succeed.
    emulator.set_faults([FaultRule(path="/api/analytics", kind="reset", rate=0.5, seed=3)])
    options["credentials"] = emulator.credentials().model_copy(update={"max_retries": 0})
    try:
        with pytest.raises(AnalyticsExtractionError):
            dhis2_star_schema(periods=[*PERIODS, "202403"], max_rows=2_000, **options)
    finally:
        emulator.clear_faults()
    assert content(warehouse) == before
