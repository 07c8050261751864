"""The bundled demo (`./dev demo`) against the emulator, under a real Prefect test server.

One folder holds everything; the summary names every file each step wrote and prints
the import's conflicts; Prefect's own log lines go to the folder's `prefect.log`; a
second run into the same folder reuses it.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import prefect_dhis2.flows
from prefect_dhis2 import demo


@pytest.fixture(autouse=True)
def _server(prefect_server: str) -> None:
    """The demo's flows run against the session's Prefect test server."""


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """A Prefect console handler on the root logger, as a terminal has, into a buffer."""
    from prefect.logging.handlers import PrefectConsoleHandler

    stream = io.StringIO()
    handler = PrefectConsoleHandler(stream=stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def _written(reports: list[Any]) -> list[Path]:
    return [Path(path) for report in reports for path in report.files.values()]


def test_demo_writes_into_one_folder_and_a_second_run_reuses_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], console: io.StringIO
) -> None:
    folder = tmp_path / "demo"
    reports = demo.run_demo(folder, block_name="demo-test")
    first = capfd.readouterr()

    assert "(new)" in first.out
    written = _written(reports)
    assert len(written) >= 20  # the org units, metadata, geometry, analytics ... files
    for path in written:
        assert folder in path.parents, path
        assert path.is_file() or path.is_dir(), path  # the Parquet copy is a folder
        assert f"      {path}\n" in first.out, f"{path} is not named in the summary"
    source = folder / "outputs" / "import" / "anc_last_month.csv"
    assert source.is_file() and f"      {source}\n" in first.out

    # The import's conflicts.csv, row by row, with DHIS2's reason.
    conflicts_csv = folder / "outputs" / "import" / "conflicts.csv"
    with open(conflicts_csv, newline="", encoding="utf-8") as handle:
        conflicts = list(csv.DictReader(handle))
    assert [c["data_element"] for c in conflicts] == ["abcdefghijk"]
    for conflict in conflicts:
        line = (
            f"row {conflict['row']}: {conflict['property']} {conflict['data_element']} "
            f"-> {conflict['error_code']} {conflict['message']}"
        )
        assert line in first.out

    # Prefect's INFO lines are in the log file, not in the summary nor on the console.
    log = (folder / "prefect.log").read_text(encoding="utf-8")
    assert "Beginning flow run" in log and "dhis2-data-values-import" in log
    assert "Beginning flow run" not in first.out + console.getvalue()
    assert not re.search(r"\bINFO\b", first.out + console.getvalue())

    # The main job, once this version has it.
    warehouse = folder / "warehouse.duckdb"
    if hasattr(prefect_dhis2.flows, "dhis2_star_schema"):
        assert warehouse.is_file() and f"      {warehouse}\n" in first.out
        assert demo.WAREHOUSE_QUESTION in first.out
    else:
        assert "Star schema" in first.out and "not in this version" in first.out
        assert not warehouse.exists()

    # Run again into the same folder: reused, the same files, the block kept.
    again = demo.run_demo(folder, block_name="demo-test")
    second = capfd.readouterr()
    assert "(reused from the previous run)" in second.out
    assert sorted(_written(again)) == sorted(written)
    urls = [re.search(r"emulator .* at (\S+)", run.out)[1] for run in (first, second)]  # type: ignore[index]
    if urls[0] == urls[1]:  # the emulator got its port back: the saved block still fits
        assert "block 'demo-test': kept from the previous run" in second.out
    else:
        assert "block 'demo-test': saved" in second.out
    assert "Beginning flow run" in (folder / "prefect.log").read_text(encoding="utf-8")


class _WarehouseResult(BaseModel):
    rows: dict[str, int]
    facts_loaded: int
    periods_added: list[str]
    periods_replaced: list[str]


class _WarehouseReport(BaseModel):
    files: dict[str, str]
    result: _WarehouseResult


def test_the_last_step_builds_the_warehouse_and_answers_a_query(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's side of the star-schema step: its arguments, its paths, its SQL answer.

    The flow here is a test double that writes the few contract tables the demo's
    query reads; the warehouse itself is tested in tests/warehouse.
    """
    calls: list[dict[str, Any]] = []

    def star_schema(**kwargs: Any) -> _WarehouseReport:
        import duckdb

        calls.append(kwargs)
        with duckdb.connect(kwargs["warehouse"]) as connection:
            connection.execute(_SMALL_WAREHOUSE.replace("CREATE TABLE", "CREATE OR REPLACE TABLE"))
        result = _WarehouseResult(
            rows={"dim_org_unit": 4, "fact_analytics": 9},
            facts_loaded=9,
            periods_added=["202401", "202402", "202403", "202404", "2024Q2", "202405"],
            periods_replaced=[],
        )
        return _WarehouseReport(files={"warehouse": kwargs["warehouse"]}, result=result)

    monkeypatch.setattr(prefect_dhis2.flows, "dhis2_star_schema", star_schema, raising=False)
    monkeypatch.setattr(demo, "_STEPS", ())  # the other flows are the first test's
    folder = tmp_path / "demo"
    demo.run_demo(folder, block_name="demo-test-warehouse")
    out = capfd.readouterr().out

    assert calls == [
        {
            "instance": "demo-test-warehouse",
            "warehouse": str(folder / "warehouse.duckdb"),
            "parquet_dir": str(folder / "warehouse_parquet"),
        }
    ]
    assert "Star schema" in out and f"      {folder / 'warehouse.duckdb'}\n" in out
    assert "9 facts loaded (6 periods added, 0 replaced); org_unit 4" in out
    answer = out.split(demo.WAREHOUSE_QUESTION, 1)[1]
    # The last three months with facts (Feb-Apr), district rows only, ANC 1st visit only.
    assert re.search(r"district +anc_1st_visits\n +Bo +60\n +Bombali +6\n", answer)
    assert "Kenema" not in answer and "Facility" not in answer
    assert f"duckdb -readonly {folder / 'warehouse.duckdb'}" in out

    # A second run refreshes the recent months of the same warehouse.
    demo.run_demo(folder, block_name="demo-test-warehouse")
    assert calls[1] == {**calls[0], "periods": demo.INCREMENTAL_PERIODS}
    assert "Star schema (refresh)" in capfd.readouterr().out


def test_a_warehouse_of_the_emulators_previous_port_is_built_afresh(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the emulator's previous port is taken, its URL changes and the warehouse
    (which refuses another instance's data) would fail the demo's last step."""
    import duckdb

    folder = tmp_path / "demo"
    folder.mkdir()
    old = "http://127.0.0.1:1"
    with duckdb.connect(str(folder / "warehouse.duckdb")) as connection:
        connection.execute("CREATE TABLE warehouse_meta (key VARCHAR, value VARCHAR)")
        connection.execute("INSERT INTO warehouse_meta VALUES ('instance', ?)", [old])
    (folder / "warehouse_parquet").mkdir()
    (folder / "warehouse_parquet" / "dim_org_unit.parquet").write_bytes(b"old")
    calls: list[dict[str, Any]] = []

    def star_schema(**kwargs: Any) -> _WarehouseReport:
        calls.append(kwargs)
        assert not Path(kwargs["warehouse"]).exists()  # the flow builds it afresh
        assert not (folder / "warehouse_parquet").exists()
        with duckdb.connect(kwargs["warehouse"]) as connection:
            connection.execute(_SMALL_WAREHOUSE)
        result = _WarehouseResult(
            rows={"dim_org_unit": 4}, facts_loaded=9, periods_added=["202401"], periods_replaced=[]
        )
        return _WarehouseReport(files={"warehouse": kwargs["warehouse"]}, result=result)

    monkeypatch.setattr(prefect_dhis2.flows, "dhis2_star_schema", star_schema, raising=False)
    monkeypatch.setattr(demo, "_STEPS", ())
    demo.run_demo(folder, block_name="demo-test-port")
    out = capfd.readouterr().out

    assert len(calls) == 1 and "periods" not in calls[0]  # a full build, not a refresh
    assert f"not {old}: the demo's warehouse is built afresh" in out
    assert "Star schema (refresh)" not in out


_SMALL_WAREHOUSE = """
CREATE TABLE dim_period AS FROM (VALUES
    (1, '202401', 'Monthly', DATE '2024-01-01'), (2, '202402', 'Monthly', DATE '2024-02-01'),
    (3, '202403', 'Monthly', DATE '2024-03-01'), (4, '202404', 'Monthly', DATE '2024-04-01'),
    (5, '2024Q2', 'Quarterly', DATE '2024-04-01'), (6, '202405', 'Monthly', DATE '2024-05-01')
) AS t(period_key, iso, period_type, start_date);
CREATE TABLE dim_data AS FROM (VALUES (1, 'fbfJHSPpUQD'), (2, 'cYeuwXTCPkU'))
    AS t(data_key, uid);
CREATE TABLE dim_org_unit AS FROM (VALUES
    (1, 'O6uvpzGd5pu', 'Bo', 2), (2, 'fdc6uOvgoji', 'Bombali', 2),
    (3, 'kJq2mPyFEHo', 'Kenema', 2), (4, 'DiszpKrYNg8', 'Facility', 4)
) AS t(org_unit_key, uid, name, level);
CREATE TABLE fact_analytics AS FROM (VALUES
    (1, 1, 1, 1000.0), (1, 1, 2, 10.0), (1, 1, 3, 20.0), (1, 1, 4, 30.0), (1, 1, 5, 60.0),
    (1, 2, 4, 6.0), (2, 3, 4, 99.0), (1, 4, 4, 500.0), (2, 1, 4, 7.0)
) AS t(data_key, org_unit_key, period_key, value);
"""
