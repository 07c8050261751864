"""The export's value-tuple writers write the very bytes of the generic writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prefect_dhis2.org_units.geometry import org_unit_feature
from prefect_dhis2.org_units.hierarchy import (
    flatten_org_unit,
    org_unit_column_names,
    org_unit_columns,
    org_unit_values,
)
from prefect_dhis2.org_units.tables import FeatureWriter, open_values_writer
from prefect_dhis2.writers import GeoJsonWriter, open_table_writer
from tests.org_units.tree import UNITS

NAMES = {"ImspTQPwCqd": "Sierra Leone", "O6uvpzGd5pu": "Bo", "YuQRtpLP10I": ""}

# What the generic writers treat specially: empty strings (null in Parquet), names
# outside ASCII, whole-number floats, a unit deeper than the deepest level, a unit
# without path, missing ancestors, and every geometry type with int and float positions.
ODD_UNITS: list[dict[str, Any]] = [
    *UNITS,
    {"id": "aaaaaaaaaa1", "name": "Kɔnɔ Sɛ̃ — Côte", "shortName": "", "code": "",
     "level": 4, "path": "/ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I/aaaaaaaaaa1",
     "openingDate": "2001-02-03T00:00:00.000",
     "geometry": {"type": "Point", "coordinates": [-12, 8.0]}},
    {"id": "aaaaaaaaaa2", "name": "Deep", "level": 5,
     "path": "/ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I/aaaaaaaaaa1/aaaaaaaaaa2",
     "geometry": {"type": "Polygon",
                  "coordinates": [[[-13.25, 7.5], [-12, 7], [-12.5, 9.125], [-13.25, 7.5]]]}},
    {"id": "aaaaaaaaaa3", "name": "No path", "parent": {"id": "unknownUid1"},
     "geometry": {"type": "MultiPolygon",
                  "coordinates": [[[[1e-05, -0.5], [2, 3], [1e-05, -0.5]]],
                                  [[[-20.5, 1], [-19, 2], [-20.5, 1]]]]}},
    {"id": "aaaaaaaaaa4", "name": "Empty geometry", "level": 2, "path": "/ImspTQPwCqd/aaaaaaaaaa4",
     "geometry": {"type": "Point", "coordinates": []}},
]  # fmt: skip


def test_values_are_the_flat_row_in_column_order():
    for max_level in (1, 3, 4):
        names = org_unit_column_names(max_level)
        assert names == tuple(c.name for c in org_unit_columns(max_level))
        for unit in ODD_UNITS:
            row = flatten_org_unit(unit, NAMES, max_level)
            assert tuple(row) == names
            assert tuple(row.values()) == org_unit_values(unit, NAMES, max_level)
    deep = flatten_org_unit(ODD_UNITS[4], NAMES, 4)
    assert deep["level_4_id"] == "aaaaaaaaaa1" and deep["level_4_name"] is None
    assert deep["parent_id"] == "aaaaaaaaaa1" and deep["path_depth"] == 5


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_value_writers_write_the_bytes_of_the_row_writers(tmp_path: Path, suffix: str):
    if suffix == "parquet":
        pytest.importorskip("pyarrow")
    columns = org_unit_columns(4)
    batches = [ODD_UNITS[:3], ODD_UNITS[3:], []]
    with open_table_writer(tmp_path / f"rows.{suffix}", columns) as rows_writer:
        for batch in batches:
            rows_writer.write_batch([flatten_org_unit(u, NAMES, 4) for u in batch])
    with open_values_writer(tmp_path / f"values.{suffix}", columns) as values_writer:
        for batch in batches:
            values_writer.write_values([org_unit_values(u, NAMES, 4) for u in batch])
    assert values_writer.rows_written == rows_writer.rows_written == len(ODD_UNITS)
    expected = (tmp_path / f"rows.{suffix}").read_bytes()
    assert (tmp_path / f"values.{suffix}").read_bytes() == expected


def test_value_writers_keep_parquet_nulls_and_types(tmp_path: Path):
    pq = pytest.importorskip("pyarrow.parquet")
    with open_values_writer(tmp_path / "units.parquet", org_unit_columns(4)) as writer:
        writer.write_values([org_unit_values(u, NAMES, 4) for u in ODD_UNITS])
    table = pq.read_table(tmp_path / "units.parquet").to_pylist()
    odd = table[3]
    assert odd["code"] is None and odd["short_name"] is None  # "" is null in Parquet
    assert odd["longitude"] == -12.0 and str(odd["opening_date"]) == "2001-02-03"
    assert odd["level_3_name"] is None  # an ancestor named "" is null as well


def test_value_writer_needs_a_known_suffix(tmp_path: Path):
    with pytest.raises(ValueError, match="Unknown table format"):
        open_values_writer(tmp_path / "units.xlsx", org_unit_columns(1))


def test_feature_writer_writes_the_bytes_and_bbox_of_the_geojson_writer(tmp_path: Path):
    features = [f for f in map(org_unit_feature, ODD_UNITS) if f is not None]
    assert {f["geometry"]["type"] for f in features} == {"Point", "Polygon", "MultiPolygon"}
    with GeoJsonWriter(tmp_path / "plain.geojson") as plain:
        plain.write_features(features[:2])
        plain.write_features([])
        plain.write_features(features[2:])
    with FeatureWriter(tmp_path / "fast.geojson") as fast:
        fast.write_features(features[:2])
        fast.write_features([])
        fast.write_features(features[2:])
    assert fast.bbox == plain.bbox == [-20.5, -0.5, 2.0, 9.125]
    assert fast.rows_written == plain.rows_written == len(features)
    assert (tmp_path / "fast.geojson").read_bytes() == (tmp_path / "plain.geojson").read_bytes()


def test_feature_writer_bbox_falls_back_on_odd_coordinates(tmp_path: Path):
    odd = {"type": "Feature", "properties": {},
           "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4, 5], [[-1, -2]]]}}  # fmt: skip
    with GeoJsonWriter(tmp_path / "plain.geojson") as plain:
        plain.write_features([odd])
    with FeatureWriter(tmp_path / "fast.geojson") as fast:
        fast.write_features([odd])
    assert fast.bbox == plain.bbox == [-1.0, -2.0, 3.0, 4.0]
