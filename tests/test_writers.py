"""Atomic table and GeoJSON writers."""

from __future__ import annotations

import csv
import json
import os
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prefect_dhis2.writers import (
    Column,
    GeoJsonWriter,
    ensure_writable_dir,
    open_table_writer,
    write_table,
)

COLUMNS = [
    Column("id"),
    Column("level", "int"),
    Column("value", "float"),
    Column("active", "bool"),
    Column("opened", "date"),
]
ROWS = [
    {"id": "ImspTQPwCqd", "level": 1, "value": 2.5, "active": True, "opened": "1970-01-01"},
    {"id": "O6uvpzGd5pu", "level": 2, "value": None, "active": False, "opened": None},
]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_tables_round_trip_with_types(tmp_path: Path, suffix: str):
    path = tmp_path / f"units.{suffix}"
    assert write_table(path, COLUMNS, ROWS, batch_size=1) == 2
    if suffix == "csv":
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows[0] == {"id": "ImspTQPwCqd", "level": "1", "value": "2.5", "active": "true",
                           "opened": "1970-01-01"}  # fmt: skip
        assert rows[1]["value"] == "" and rows[1]["opened"] == ""
    else:
        table = pq.read_table(path)
        assert [str(f.type) for f in table.schema] == [
            "string", "int64", "double", "bool", "date32[day]"
        ]  # fmt: skip
        assert table.column("opened").to_pylist() == [date(1970, 1, 1), None]
        assert table.column("value").to_pylist() == [2.5, None]


@pytest.mark.parametrize("suffix", ["csv", "parquet", "geojson"])
def test_failure_leaves_neither_target_nor_temp_file(tmp_path: Path, suffix: str):
    target = tmp_path / f"out.{suffix}"
    target_existing = tmp_path / f"keep.{suffix}"
    target_existing.write_text("previous complete export")
    with pytest.raises(RuntimeError):
        writer = (
            GeoJsonWriter(target) if suffix == "geojson" else open_table_writer(target, COLUMNS)
        )
        with writer:
            if suffix == "geojson":
                writer.write_features([{"type": "Feature", "geometry": None, "properties": {}}])
            else:
                writer.write_batch(ROWS)
            raise RuntimeError("connection lost halfway")
    assert not target.exists()
    assert sorted(os.listdir(tmp_path)) == [target_existing.name]
    assert target_existing.read_text() == "previous complete export"


def test_rewrite_replaces_only_when_complete(tmp_path: Path):
    path = tmp_path / "units.csv"
    write_table(path, COLUMNS, ROWS)
    before = path.read_text()
    with pytest.raises(ValueError), open_table_writer(path, COLUMNS) as writer:
        writer.write_batch(ROWS[:1])
        raise ValueError("bad row")
    assert path.read_text() == before  # the old complete file is untouched


def test_geojson_bbox_over_all_geometry_types(tmp_path: Path):
    path = tmp_path / "ou.geojson"
    with GeoJsonWriter(path) as writer:
        writer.write_features(
            [
                {"type": "Feature", "properties": {"id": "p"},
                 "geometry": {"type": "Point", "coordinates": [-11.0, 8.0]}},
                {"type": "Feature", "properties": {"id": "poly"},
                 "geometry": {"type": "Polygon",
                              "coordinates": [[[-13.0, 7.0], [-12.0, 7.5], [-13.0, 7.0]]]}},
                {"type": "Feature", "properties": {"id": "multi"},
                 "geometry": {"type": "MultiPolygon",
                              "coordinates": [[[[-10.5, 9.5], [-10.4, 9.9], [-10.5, 9.5]]]]}},
            ]
        )  # fmt: skip
    collection = json.loads(path.read_text())
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 3
    assert collection["bbox"] == [-13.0, 7.0, -10.4, 9.9]


def test_empty_geojson_is_valid(tmp_path: Path):
    path = tmp_path / "none.geojson"
    with GeoJsonWriter(path):
        pass
    assert json.loads(path.read_text()) == {"type": "FeatureCollection", "features": []}


def test_unknown_format_and_unwritable_dir(tmp_path: Path):
    with pytest.raises(ValueError, match="Unknown table format"):
        open_table_writer(tmp_path / "x.xlsx", COLUMNS)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError):
        ensure_writable_dir(blocker)


def test_unwritable_dir_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import tempfile

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    # Tests run as root, who may write anywhere: refuse the probe file instead.
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(PermissionError, match=r"Cannot write to output directory .*denied"):
        ensure_writable_dir(tmp_path / "exports")
