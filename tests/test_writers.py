"""Atomic table and GeoJSON writers."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import stat
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


# -- a full disk, file modes ------------------------------------------------------------


class _FullDisk(io.RawIOBase):
    """A file that takes `room` bytes and then fails like a full disk (ENOSPC)."""

    def __init__(self, path: str, room: int) -> None:
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115
        self._room = room

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._file.write(data) or 0

    def close(self) -> None:
        self._file.close()
        super().close()


def _full_disk_open(room: int, *, only: str = ".csv."):
    """An `open` for `prefect_dhis2.writers` whose files named like `only` fill up."""
    real_open = open

    def fake_open(path, mode="r", newline=None, encoding=None):
        if only not in str(path) or "w" not in mode:
            return real_open(path, mode, newline=newline, encoding=encoding)
        raw = io.BufferedWriter(_FullDisk(str(path), room), buffer_size=256)
        return io.TextIOWrapper(
            raw, encoding=encoding or "utf-8", newline=newline, write_through=True
        )

    return fake_open


def test_abort_does_not_raise_when_the_disk_is_full(tmp_path: Path, monkeypatch):
    import prefect_dhis2.writers as writers_module

    monkeypatch.setattr(writers_module, "open", _full_disk_open(100), raising=False)
    writer = open_table_writer(tmp_path / "units.csv", COLUMNS)
    with pytest.raises(OSError, match="No space left"):
        writer.write_batch(ROWS * 50)
    writer.abort()  # the flush of the close fails again: not raised
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("room", [100, 4000], ids=["write-fails", "close-fails"])
def test_a_full_disk_during_the_org_unit_export_leaves_no_file(
    tmp_path: Path, monkeypatch, dhis2_emulator, room: int
):
    """The CSV fills the disk (while writing, or at the final flush): every writer is dropped."""
    import asyncio

    import prefect_dhis2.writers as writers_module
    from prefect_dhis2.org_units.export import aexport_org_units

    monkeypatch.setattr(writers_module, "open", _full_disk_open(room), raising=False)

    async def run() -> None:
        async with dhis2_emulator.credentials().get_async_client() as client:
            await aexport_org_units(client, tmp_path, formats=["csv", "parquet"], geojson=True)

    with pytest.raises(OSError, match="No space left"):
        asyncio.run(run())
    assert os.listdir(tmp_path) == []


def test_close_all_aborts_the_rest_when_one_close_fails(tmp_path: Path, monkeypatch):
    import prefect_dhis2.writers as writers_module
    from prefect_dhis2.writers import close_all

    monkeypatch.setattr(writers_module, "open", _full_disk_open(50), raising=False)
    first = open_table_writer(tmp_path / "a.csv", COLUMNS)
    first.write_batch(ROWS)  # fits in the buffer; the flush at close does not fit
    others = [
        open_table_writer(tmp_path / "b.parquet", COLUMNS),
        GeoJsonWriter(tmp_path / "c.geojson"),
    ]
    with pytest.raises(OSError, match="No space left"):
        close_all([first, *others])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", ["csv", "parquet", "geojson"])
def test_outputs_honour_the_umask_like_open(tmp_path: Path, suffix: str):
    target = tmp_path / f"out.{suffix}"
    previous = os.umask(0o027)
    try:
        writer = (
            GeoJsonWriter(target) if suffix == "geojson" else open_table_writer(target, COLUMNS)
        )
        with writer:
            pass
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(
        (tmp_path / "plain.txt").stat().st_mode
    )


def test_a_file_mode_can_be_given(tmp_path: Path):
    target = tmp_path / "shared.csv"
    write_table(target, COLUMNS, ROWS, file_mode=0o664)
    assert stat.S_IMODE(target.stat().st_mode) == 0o664
