"""One Arrow write path: a streamed export and `write_analytics_table` give the same bytes."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pyarrow.parquet as pq

from prefect_dhis2.analytics import AnalyticsQuery, afetch_analytics_table
from prefect_dhis2.analytics.extract import AnalyticsExtract
from prefect_dhis2.analytics.tables import aexport_analytics_table, write_analytics_table

QUERY = AnalyticsQuery(
    data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"],
    org_units=["LEVEL-3"],
    periods=["2024Q1", "2024Q2"],
)


async def _stream_and_collect(credentials, streamed: Path) -> AnalyticsExtract:
    async with credentials.get_async_client() as client:
        await aexport_analytics_table(client, QUERY, streamed, ["csv", "parquet"], reuse=False)
        return await afetch_analytics_table(client, QUERY)


def test_the_streamed_export_and_write_analytics_table_write_the_same_bytes(
    emulator, credentials, tmp_path
):
    streamed, whole = tmp_path / "streamed", tmp_path / "whole"
    extract = asyncio.run(_stream_and_collect(credentials, streamed))
    assert len(extract.rows) > 400  # over the emulator's row limit: several shards
    files = write_analytics_table(extract, whole, ["csv", "parquet"])
    for fmt in ("csv", "parquet"):
        assert (streamed / f"analytics.{fmt}").read_bytes() == Path(
            files[f"analytics_{fmt}"]
        ).read_bytes()
    with open(files["analytics_csv"], newline="") as handle:
        lines = handle.read().splitlines()
    # Strings quoted, numbers as Arrow prints them: 12.0 is written 12.
    assert lines[0].startswith('"dx","dx_name"')
    first = next(csv.DictReader(lines))
    value = next(r[-1] for r in extract.rows if r[0] == first["dx"] and r[1] == first["ou"])
    assert float(first["value"]) == float(value)
    assert not first["value"].endswith(".0")
    assert pq.read_table(files["analytics_parquet"]).num_rows == len(extract.rows)


def test_an_empty_extract_writes_headers_only(tmp_path):
    extract = AnalyticsExtract(base_url="https://dhis2.example.org", headers=["dx", "value"])
    files = write_analytics_table(extract, tmp_path, ["csv", "parquet"])
    assert Path(files["analytics_csv"]).read_text().splitlines() == ['"dx","dx_name","value"']
    assert pq.read_table(files["analytics_parquet"]).column_names == ["dx", "dx_name", "value"]


def test_the_bytes_do_not_depend_on_how_the_rows_were_chunked(tmp_path):
    import pyarrow as pa

    from prefect_dhis2.writers import ArrowTableWriter

    table = pa.table(
        {"ou": [f"ou{i:03d}" for i in range(10)], "value": [float(i) for i in range(10)]}
    )
    outputs = {}
    for name, pieces in (
        ("whole", [table]),
        ("pieces", [table.slice(0, 1), table.slice(1, 6), table.slice(7)]),
    ):
        for fmt in ("csv", "parquet"):
            path = tmp_path / name / f"t.{fmt}"
            with ArrowTableWriter(path, table.schema, row_group_rows=4) as writer:
                for piece in pieces:
                    writer.write(piece)
            outputs[name, fmt] = path.read_bytes()
    for fmt in ("csv", "parquet"):
        assert outputs["whole", fmt] == outputs["pieces", fmt]
    groups = pq.ParquetFile(tmp_path / "pieces" / "t.parquet").metadata
    assert [groups.row_group(i).num_rows for i in range(groups.num_row_groups)] == [4, 4, 2]


def test_the_streamed_summary_counts_what_the_whole_extract_holds():
    # Shards of one data item take the streamed tally's short path, shards of several
    # its grouped one; either way it must count what `summarise_table` counts.
    from prefect_dhis2.analytics.tables import _Tally, summarise_table
    from prefect_dhis2.analytics.tidy import tidy_arrow

    headers = ["dx", "ou", "pe", "value"]
    names = {"fbfJHSPpUQD": "ANC 1st visit", "cYeuwXTCPkU": "ANC 2nd visit"}
    shards = [
        [
            ("fbfJHSPpUQD", "O6uvpzGd5pu", "202401", "3"),
            ("fbfJHSPpUQD", "fdc6uOvgoji", "202402", "-1.5"),
        ],
        [
            ("cYeuwXTCPkU", "O6uvpzGd5pu", "202401", "7"),
            ("fbfJHSPpUQD", "O6uvpzGd5pu", "202403", "10"),
            ("cYeuwXTCPkU", "jUb8gELQApl", "202403", "2.25"),
        ],
        [("cYeuwXTCPkU", "jUb8gELQApl", "202404", "0")],
    ]
    tally = _Tally()
    for rows in shards:
        tally.add(tidy_arrow(headers, rows, names))
    tally.names = names
    whole = AnalyticsExtract(
        base_url="https://dhis2.example.org",
        headers=headers,
        rows=[row for rows in shards for row in rows],
        names=names,
    )
    expected = summarise_table(whole)
    streamed = tally.summary()
    assert streamed.by_data_item == expected.by_data_item
    assert (
        (streamed.rows, streamed.data_items, streamed.org_units, streamed.periods)
        == (6, 2, 3, 4)
        == (expected.rows, expected.data_items, expected.org_units, expected.periods)
    )
    assert expected.by_data_item[1]["min"] == -1.5 and expected.by_data_item[1]["max"] == 10


def test_shards_written_together_give_the_same_bytes_as_one_table(
    emulator, credentials, tmp_path, monkeypatch
):
    # A few shards per write, and a last write of what is left: the files must not
    # depend on how the shards were grouped.
    from prefect_dhis2.analytics import tables

    monkeypatch.setattr(tables, "_WRITE_ROWS", 150)
    streamed, whole = tmp_path / "streamed", tmp_path / "whole"

    async def run() -> AnalyticsExtract:
        async with credentials.get_async_client() as client:
            await aexport_analytics_table(
                client, QUERY, streamed, ["csv", "parquet"], reuse=False, max_rows=60
            )
            return await afetch_analytics_table(client, QUERY, max_rows=60)

    extract = asyncio.run(run())
    assert extract.shards_planned > 5 and len(extract.rows) % 150
    files = write_analytics_table(extract, whole, ["csv", "parquet"])
    for fmt in ("csv", "parquet"):
        assert (streamed / f"analytics.{fmt}").read_bytes() == Path(
            files[f"analytics_{fmt}"]
        ).read_bytes()
