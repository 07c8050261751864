"""The bundled demo: every bundled flow against the local DHIS2 emulator, into one folder.

Runs offline. The DHIS2 side is `prefect_dhis2.testing.Dhis2Emulator` (a generated
Sierra Leone-shaped instance on 127.0.0.1); the Prefect side is the demo's own
embedded SQLite server, whose database lives in the demo folder, so the runs and
artifacts of every demo run stay there for the Prefect UI.

Everything goes below one folder (`.demo` in the working directory by default),
which a second run reuses and refreshes in place:

    .demo/outputs/<step>/   the files each flow wrote
    .demo/warehouse.duckdb  the star schema, and its Parquet copy in warehouse_parquet/
    .demo/prefect/          the demo's PREFECT_HOME (its Prefect database)
    .demo/prefect.log       Prefect's own log lines of the last run

Usage:
    python -m prefect_dhis2.demo [--folder DIR] [--block-name NAME]
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["main", "run_demo"]

DEFAULT_FOLDER = Path(".demo")
"""The demo folder, relative to the working directory (`./dev demo` runs in the project)."""

ANC_1ST_VISIT = "fbfJHSPpUQD"

INCREMENTAL_PERIODS = ["LAST_3_MONTHS"]
"""What a second run refreshes: the recent months, where late reports still land (the
first run loads the flow's default, the last 12 months)."""

WAREHOUSE_QUESTION = "ANC 1st visits by district, the warehouse's last three months"
WAREHOUSE_QUERY = f"""
WITH last_quarter AS (
    SELECT period_key FROM dim_period
    WHERE period_type = 'Monthly' AND period_key IN (SELECT period_key FROM fact_analytics)
    ORDER BY start_date DESC
    LIMIT 3
)
SELECT o.name AS district, CAST(sum(f.value) AS BIGINT) AS anc_1st_visits
FROM fact_analytics AS f
JOIN dim_data AS d USING (data_key)
JOIN dim_org_unit AS o USING (org_unit_key)
WHERE d.uid = '{ANC_1ST_VISIT}' AND o.level = 2
  AND f.period_key IN (SELECT period_key FROM last_quarter)
GROUP BY o.name
ORDER BY anc_1st_visits DESC
LIMIT 5
"""


@dataclass(frozen=True)
class _Step:
    """One bundled flow of the demo: its title, the flow (by its name in
    `prefect_dhis2.flows`, imported while Prefect's server starts), its options and a
    one-line summary."""

    title: str
    flow: str
    output: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    describe: Callable[[Any], str] | None = None


_STEPS = (
    _Step(
        "Connection check",
        "dhis2_connection_check",
        describe=lambda r: (
            f"DHIS2 {r.result.version} ({r.result.system_name}) as {r.result.username}"
        ),
    ),
    _Step(
        "Org unit export",
        "dhis2_org_units_export",
        "org_units",
        describe=lambda r: (
            f"{r.result.org_units} org units, {r.result.with_geometry} with geometry"
        ),
    ),
    _Step(
        "Metadata export",
        "dhis2_metadata_export",
        "metadata",
        describe=lambda r: (
            f"{r.org_units_export.org_units} org units, {r.data_elements} data elements, "
            f"{r.indicators} indicators"
        ),
    ),
    _Step(
        "District geometry",
        "dhis2_geometry_export",
        "geometry",
        {"level": 2},
        describe=lambda r: f"{r.features} features, {r.without_geometry} without geometry",
    ),
    _Step(
        "Metadata quality",
        "dhis2_metadata_quality",
        "quality",
        describe=lambda r: f"score {r.result.score} ({r.result.rating})",
    ),
    _Step(
        "Indicator complexity",
        "dhis2_indicator_complexity",
        "indicators",
        describe=lambda r: f"{r.expressions} expressions parsed, {r.invalid} invalid",
    ),
    _Step(
        "ANC analytics",
        "dhis2_analytics_export",
        "analytics",
        describe=lambda r: _analytics_summary(r),
    ),
    _Step(
        "District trends",
        "dhis2_analytics_export",
        "analytics_districts",
        {
            "data_items": [ANC_1ST_VISIT, "cYeuwXTCPkU", "Uvn6LCg7dVU"],
            "org_units": ["LEVEL-2"],
            "periods": ["LAST_12_MONTHS"],
        },
        describe=lambda r: _analytics_summary(r),
    ),
)


def _analytics_summary(report: Any) -> str:
    table = report.table
    return (
        f"{table.rows} rows: {table.data_items} data items x {table.org_units} org units "
        f"x {table.periods} periods, {report.extract.shards_fetched} shard(s)"
    )


def run_demo(folder: Path, block_name: str = "dhis2-emulator-demo") -> list[Any]:
    """Start the emulator, save a credentials block for it and run every bundled flow.

    Prefect's embedded server starts while the emulator starts and the flows are
    imported; the read-only flows then run side by side (four at a time), the import
    and the warehouse after them, in turn. The last step builds the star-schema
    warehouse when this version of the package has the `dhis2_star_schema` flow; a
    second run into the same folder refreshes it incrementally (the last three
    months) in place. The credentials block is kept when the emulator gets its
    previous port back.

    Args:
        folder: Where everything goes: `outputs/` (one folder per flow), the
            warehouse and `prefect.log` (Prefect's own log lines).
        block_name: Name under which the emulator's credentials block is saved.

    Returns:
        The flows' reports, in order.
    """
    reused = (folder / "outputs").is_dir()
    folder.mkdir(parents=True, exist_ok=True)
    outputs = folder / "outputs"
    log_file = folder / "prefect.log"
    state = "reused from the previous run" if reused else "new"
    print(f"prefect-dhis2 demo: everything goes to {_shown(folder)} ({state})")
    print(f"Prefect's own log lines: {_shown(log_file)}")
    reports: list[Any] = []
    with _prefect_logs_to(log_file), _emulator(block_name, folder) as dhis2:
        from prefect_dhis2 import flows

        print()
        reports += list(_run_steps(flows, block_name, outputs))
        reports += _run_imports(flows, dhis2, block_name, outputs)
        star_schema = _run_star_schema(flows, block_name, folder, dhis2.base_url)
    if star_schema is not None:
        reports.append(star_schema)
        _print_warehouse_answer(folder / "warehouse.duckdb")
    _print_next_steps(folder, star_schema is not None)
    return reports


_PARALLEL_FLOWS = 2
"""Read-only flows run at once: they wait on the emulator and Prefect's API, not the CPU."""


def _run_steps(flows: Any, block_name: str, outputs: Path) -> Iterator[Any]:
    """The read-only flows, side by side in threads; each printed, in order, once done."""
    with ThreadPoolExecutor(_PARALLEL_FLOWS, thread_name_prefix="demo-flow") as pool:
        futures = [
            pool.submit(_run_step, step, getattr(flows, step.flow), block_name, outputs)
            for step in _STEPS
        ]
        for step, future in zip(_STEPS, futures, strict=True):
            report, seconds = future.result()
            summary = step.describe(report) if step.describe else ""
            _print_step(step.title, seconds, summary, report.files.values())
            yield report


def _run_step(step: _Step, flow: Callable[..., Any], block_name: str, outputs: Path) -> Any:
    kwargs = dict(step.options)
    if step.output:
        kwargs["output_dir"] = str(outputs / step.output)
    started = time.perf_counter()
    report = flow(instance=block_name, **kwargs)
    return report, time.perf_counter() - started


def _run_imports(flows: Any, dhis2: Any, block_name: str, outputs: Path) -> list[Any]:
    """A dry run, then the commit, of a small file with one bad row; prints its conflicts."""
    source = _write_import_file(dhis2, outputs / "import")
    reports = []
    for title, dry_run, output in (
        ("Import dry run", True, "import_dry_run"),
        ("Import commit", False, "import"),
    ):
        started = time.perf_counter()
        try:
            report = flows.dhis2_data_values_import(
                source=str(source),
                dry_run=dry_run,
                instance=block_name,
                output_dir=str(outputs / output),
            )
        except Exception as error:  # noqa: BLE001 - the demo shows a partial import and goes on
            _print_step(title, time.perf_counter() - started, f"failed: {error}", ())
            continue
        result = report.result
        summary = (
            f"{result.rows} rows: {result.imported} imported, {result.updated} updated, "
            f"{result.ignored} ignored, {result.rejected} rejected (status {result.status})"
        )
        files = [str(source), *report.files.values()] if dry_run else report.files.values()
        _print_step(title, time.perf_counter() - started, summary, files)
        if "conflicts_csv" in report.files:
            _print_conflicts(Path(report.files["conflicts_csv"]))
        reports.append(report)
    return reports


def _run_star_schema(flows: Any, block_name: str, folder: Path, base_url: str) -> Any | None:
    """The main job: the star-schema warehouse, when this version has its flow.

    A new warehouse gets the flow's default periods (the last 12 months); an existing
    one an incremental refresh of the recent months, which replaces only their facts.
    """
    star_schema = getattr(flows, "dhis2_star_schema", None)
    if star_schema is None:
        print("  - Star schema            not in this version of prefect-dhis2 (skipped)")
        return None
    warehouse = folder / "warehouse.duckdb"
    _forget_warehouse_of_another_port(warehouse, folder / "warehouse_parquet", base_url)
    options: dict[str, Any] = {}
    if warehouse.is_file():
        options["periods"] = INCREMENTAL_PERIODS
    started = time.perf_counter()
    report = star_schema(
        instance=block_name,
        warehouse=str(warehouse),
        parquet_dir=str(folder / "warehouse_parquet"),
        **options,
    )
    files = dict.fromkeys([str(warehouse), *getattr(report, "files", {}).values()])
    title = "Star schema (refresh)" if options else "Star schema"
    _print_step(title, time.perf_counter() - started, _star_schema_summary(report), files)
    return report


def _forget_warehouse_of_another_port(warehouse: Path, parquet: Path, base_url: str) -> None:
    """Start the demo's warehouse again when the emulator came up on another port.

    A warehouse refuses data of another instance (its surrogate keys must not mix),
    and it knows the instance by URL. The emulator serves the same generated data on
    any port, but when its previous port is taken its URL changes: the demo's own
    warehouse is then built afresh instead of failing the demo's last step.
    """
    if not warehouse.is_file():
        return
    import duckdb

    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            row = connection.execute(
                "SELECT value FROM warehouse_meta WHERE key = 'instance'"
            ).fetchone()
    except duckdb.Error:
        return  # not the demo's warehouse as expected: the flow says what is wrong
    if row is None or row[0] == base_url:
        return
    print(
        f"  (the emulator is at {base_url} this time, not {row[0]}: "
        "the demo's warehouse is built afresh)"
    )
    warehouse.unlink()
    Path(f"{warehouse}.wal").unlink(missing_ok=True)
    shutil.rmtree(parquet, ignore_errors=True)


def _write_import_file(dhis2: Any, directory: Path) -> Path:
    """A small data value file: ANC 1st visit at 40 facilities last month, one bad row."""
    from prefect_dhis2.periods import resolve_relative_period

    directory.mkdir(parents=True, exist_ok=True)
    period = resolve_relative_period("LAST_MONTH", date.today())[0].id
    facilities = dhis2.state.dataset.org_units_at_level(4)[:40]
    path = directory / "anc_last_month.csv"
    columns = ["dataElement", "period", "orgUnit", "categoryOptionCombo", "value"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for index, facility in enumerate(facilities):
            writer.writerow([ANC_1ST_VISIT, period, facility, "pq2XI5kz2BY", 20 + index % 7])
        # A data element that does not exist: DHIS2 reports it as a conflict.
        writer.writerow(["abcdefghijk", period, facilities[0], "", "5"])
    return path


# -- output -------------------------------------------------------------------------------


def _print_step(title: str, seconds: float, summary: str, files: Any) -> None:
    print(f"  ✔ {title:<22} {seconds:5.1f} s  {summary}")
    for path in files:
        print(f"      {_shown(Path(path))}")


def _print_conflicts(path: Path) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        conflicts = list(csv.DictReader(handle))
    print(f"      {len(conflicts)} conflict(s) in {path.name}:")
    for conflict in conflicts:
        print(
            f"        row {conflict['row']}: {conflict['property']} "
            f"{conflict['data_element'] or '-'} -> {conflict['error_code']} {conflict['message']}"
        )


def _print_warehouse_answer(warehouse: Path) -> None:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        cursor = connection.execute(WAREHOUSE_QUERY)
        columns = [column[0] for column in cursor.description or ()]
        rows = cursor.fetchall()
    print(f"\n{WAREHOUSE_QUESTION} (SQL on {_shown(warehouse)}):")
    if not rows:
        print("  (no rows)")
        return
    table = [columns, *([str(value) for value in row] for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def _print_next_steps(folder: Path, has_warehouse: bool) -> None:
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    print("\nThe demo's Prefect runs and artifacts:")
    if settings.api.url is None:  # Prefect's embedded server, on the database in PREFECT_HOME
        prefect = _shown(Path(sys.executable).with_name("prefect"))
        home = _shown(Path(settings.home))
        print(f"  PREFECT_HOME={home} {prefect} server start   # then open http://127.0.0.1:4200")
    else:
        print(f"  {settings.ui_url or settings.api.url}")
    if has_warehouse:
        warehouse = _shown(folder / "warehouse.duckdb")
        python = _shown(Path(sys.executable))
        print("The warehouse (DuckDB CLI, or Python):")
        print(f"  duckdb -readonly {warehouse}")
        print(
            f"  {python} -c \"import duckdb; duckdb.connect('{warehouse}', read_only=True)"
            ".sql('FROM v_analytics LIMIT 10').show()\""
        )


def _star_schema_summary(report: Any) -> str:
    """Facts loaded, the periods added or replaced, and the size of each dimension."""
    result = report.result
    periods = f"{len(result.periods_added)} periods added, {len(result.periods_replaced)} replaced"
    dimensions = ", ".join(
        f"{table.removeprefix('dim_')} {count:,}"
        for table, count in result.rows.items()
        if table.startswith("dim_")
    )
    return f"{result.facts_loaded:,} facts loaded ({periods}); {dimensions}"


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is inside it, for shorter lines."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- set-up -------------------------------------------------------------------------------


@contextmanager
def _emulator(block_name: str, folder: Path) -> Iterator[Any]:
    """The emulator, on its previous port when it is free, so the saved block is kept.

    The port is remembered in the demo folder, so the emulator starts (building its
    dataset) while the saved block is read, which starts Prefect's embedded server.
    """
    from prefect_dhis2.testing import Dhis2Emulator

    port_file = folder / "emulator.port"
    try:
        port = int(port_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        port = 0
    with ThreadPoolExecutor(1, thread_name_prefix="demo-prefect") as pool:
        loading = pool.submit(_saved_block, block_name)
        import prefect_dhis2.flows  # noqa: F401 - imported while the server starts

        try:
            dhis2 = Dhis2Emulator(port=port).start()
        except OSError:  # the previous port is taken: any free one
            dhis2 = Dhis2Emulator().start()
        try:
            saved = loading.result()
        except BaseException:
            dhis2.stop()
            raise
    port_file.write_text(str(urlsplit(dhis2.base_url).port), encoding="utf-8")
    try:
        print(f"DHIS2 emulator (Sierra Leone demo shape) at {dhis2.base_url}")
        wanted = dhis2.credentials()
        if saved is not None and _same_login(saved, wanted):
            print(f"Dhis2Credentials block {block_name!r}: kept from the previous run")
        else:
            wanted.save(block_name, overwrite=True)
            print(f"Dhis2Credentials block {block_name!r}: saved")
        yield dhis2
    finally:
        dhis2.stop()


def _saved_block(block_name: str) -> Any | None:
    """The saved credentials block, or None (reading it starts Prefect's server)."""
    from prefect_dhis2.credentials import Dhis2Credentials

    try:
        loaded = Dhis2Credentials.load(block_name, _sync=True)  # type: ignore[call-arg]
    except ValueError:  # no such block yet
        return None
    return loaded if isinstance(loaded, Dhis2Credentials) else None


def _same_login(saved: Any, wanted: Any) -> bool:
    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    return bool(
        saved.base_url == wanted.base_url
        and saved.username == wanted.username
        and secret(saved.password) == secret(wanted.password)
    )


class _RunWarningsOnly(logging.Filter):
    """Lets through warnings of the runs and of prefect-dhis2, and every error."""

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name.startswith(("prefect.flow_runs", "prefect.task_runs", "prefect_dhis2"))
        return record.levelno >= logging.ERROR or (ours and record.levelno >= logging.WARNING)


@contextmanager
def _prefect_logs_to(path: Path) -> Iterator[None]:
    """Prefect's console log lines go to `path`; the console keeps the runs' warnings.

    Prefect's own notices (the embedded server starting, its event worker draining)
    are in the file only. The flows still log at INFO to the Prefect API, so the UI
    shows every run's logs.
    """
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.logging.handlers import PrefectConsoleHandler

    ensure_logging_setup()  # Prefect configures its handlers on first use: do it now
    root = logging.getLogger()
    consoles = {
        handler
        for logger in (root, logging.getLogger("uvicorn"), logging.getLogger("fastapi"))
        for handler in logger.handlers
        if isinstance(handler, PrefectConsoleHandler)
    }
    path.write_text("", encoding="utf-8")  # the log of this run only
    # Append mode: a later `logging.config.dictConfig` (uvicorn's, when the emulator
    # starts) closes every handler, and only an appending FileHandler reopens its file.
    to_file = logging.FileHandler(path, mode="a", encoding="utf-8")
    to_file.setLevel(logging.INFO)
    if consoles:
        to_file.setFormatter(next(iter(consoles)).formatter)
    quiet = _RunWarningsOnly()
    for handler in consoles:
        handler.addFilter(quiet)
    root.addHandler(to_file)
    try:
        yield
    finally:
        root.removeHandler(to_file)
        to_file.close()
        for handler in consoles:
            handler.removeFilter(quiet)


def _use_prefect_home(home: Path) -> None:
    """Point Prefect at the demo's home (and so its database) if the caller did not already."""
    from prefect.context import refresh_global_settings_context

    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(home)
    refresh_global_settings_context()  # also picks up the other settings set above


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m prefect_dhis2.demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--folder",
        "--output-dir",
        type=Path,
        default=DEFAULT_FOLDER,
        help=f"where everything goes (default: {DEFAULT_FOLDER})",
    )
    parser.add_argument(
        "--block-name", default="dhis2-emulator-demo", help="name of the saved credentials block"
    )
    args = parser.parse_args(argv)
    # The embedded server starts on first use; keep it from phoning home, and give it
    # time to start on a busy machine (Prefect's default is 20 s).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    _use_prefect_home(args.folder / "prefect")
    started = time.perf_counter()
    run_demo(args.folder, args.block_name)
    # Prefect stops its embedded server when the process exits: keep that line quiet too.
    logging.getLogger("prefect").setLevel(logging.WARNING)
    print(f"\nDone in {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
