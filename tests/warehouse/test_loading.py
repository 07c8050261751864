"""The loader's pieces: grid rows to fact batches, and dimension upserts by natural key."""

from __future__ import annotations

from prefect_dhis2.warehouse.backend import DuckDbBackend
from prefect_dhis2.warehouse.dimensions import period_row
from prefect_dhis2.warehouse.extract import FACT_BATCH_SCHEMA, rows_to_batch


def test_fact_batches_hold_every_cell_and_empty_cells_are_null():
    headers = ["dx", "ou", "pe", "value", "numerator"]
    rows = [
        ("fbfJHSPpUQD", "O6uvpzGd5pu", "202401", "12", ""),
        ("fbfJHSPpUQD", "fdc6uOvgoji", "202401", "3.5", "7"),
    ]
    batch = rows_to_batch(headers, rows)
    assert batch.schema == FACT_BATCH_SCHEMA
    assert batch.column("ou").to_pylist() == ["O6uvpzGd5pu", "fdc6uOvgoji"]
    assert batch.column("numerator").to_pylist() == [None, "7"]
    assert batch.column("value").to_pylist() == ["12", "3.5"]
    assert batch.column("co").null_count == 2  # no co dimension
    assert batch.column("denominator").null_count == 2
    assert rows_to_batch(headers, []).num_rows == 0


def test_dimension_upserts_keep_keys_update_attributes_and_append_new_rows(tmp_path):
    backend = DuckDbBackend.open(tmp_path / "w.duckdb")
    try:
        backend.ensure_schema(2)
        first = [period_row(p) for p in ("202401", "202402", "2024Q1")]
        assert backend.upsert_dimension("dim_period", first) == 3
        keys = dict(backend.rows("SELECT iso, period_key FROM dim_period"))
        assert keys == {"202401": 1, "202402": 2, "2024Q1": 3}  # in the order given
        renamed = {**period_row("202402"), "name": "Feb 2024"}
        again = [period_row("2024Q2"), renamed, period_row("202401")]
        assert backend.upsert_dimension("dim_period", again) == 1
        rows = dict(backend.rows("SELECT iso, period_key FROM dim_period"))
        assert rows == {**keys, "2024Q2": 4}
        assert backend.scalar("SELECT name FROM dim_period WHERE iso = '202402'") == "Feb 2024"
        assert backend.scalar("SELECT days FROM dim_period WHERE iso = '2024Q2'") == 91
    finally:
        backend.close()
