"""The bundled demo: every bundled flow against the local DHIS2 emulator.

Runs offline. The DHIS2 side is `prefect_dhis2.testing.Dhis2Emulator` (a
generated Sierra Leone-shaped instance on 127.0.0.1); the Prefect side is
whatever API the current profile points at — by default Prefect's embedded
SQLite server, started on demand.

Usage:
    python -m prefect_dhis2.demo [--output-dir DIR] [--block-name NAME]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from prefect_dhis2.flows import (
    dhis2_analytics_export,
    dhis2_connection_check,
    dhis2_data_values_import,
    dhis2_geometry_export,
    dhis2_indicator_complexity,
    dhis2_metadata_export,
    dhis2_metadata_quality,
    dhis2_org_units_export,
)
from prefect_dhis2.flows.data_values_flows import DataValuesImportReport

__all__ = ["main", "run_demo"]


def _steps() -> list[tuple[str, Callable[..., Any], dict[str, Any]]]:
    return [
        ("Connection check", dhis2_connection_check, {}),
        ("Org unit export", dhis2_org_units_export, {"output": "org_units"}),
        ("Metadata export", dhis2_metadata_export, {"output": "metadata"}),
        ("District geometry", dhis2_geometry_export, {"output": "geometry", "level": 2}),
        ("Metadata quality", dhis2_metadata_quality, {"output": "quality"}),
        ("Indicator complexity", dhis2_indicator_complexity, {"output": "indicators"}),
        ("ANC analytics", dhis2_analytics_export, {"output": "analytics"}),
        (
            "District trends",
            dhis2_analytics_export,
            {
                "output": "analytics_districts",
                "data_items": ["fbfJHSPpUQD", "cYeuwXTCPkU", "Uvn6LCg7dVU"],
                "org_units": ["LEVEL-2"],
                "periods": ["LAST_12_MONTHS"],
            },
        ),
    ]


def _write_import_file(dhis2: Any, directory: Path) -> Path:
    """A small data value file: ANC 1st visit at 40 facilities last month, one bad row."""
    import csv
    from datetime import date

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
            writer.writerow(["fbfJHSPpUQD", period, facility, "pq2XI5kz2BY", 20 + index % 7])
        # A data element that does not exist: DHIS2 reports it as a conflict.
        writer.writerow(["abcdefghijk", period, facilities[0], "", "5"])
    return path


def _summary(report: Any) -> str:
    fields = report.model_dump(exclude={"instance", "output_dir", "files", "duration_s", "source"})
    parts = []
    for key, value in fields.items():
        if isinstance(value, dict) and {"score", "rating"} <= value.keys():
            parts.append(f"score {value['score']} ({value['rating']})")
        elif isinstance(value, dict) and key == "table":  # the analytics table written
            parts += [f"{k}={v}" for k, v in value.items() if isinstance(v, int)]
        elif isinstance(getattr(report, key), BaseModel):  # a contained …Result
            parts += [f"{k}={v}" for k, v in value.items() if _is_scalar(v) and k != "files"]
        elif _is_scalar(value):
            parts.append(f"{key}={value}")
    return ", ".join(parts[:6])


def _import_summary(report: DataValuesImportReport) -> str:
    result = report.result
    counts = ("status", "rows", "imported", "updated", "ignored", "deleted")
    return ", ".join(f"{name}={getattr(result, name)}" for name in counts)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def run_demo(output_dir: Path, block_name: str = "dhis2-emulator-demo") -> list[Any]:
    """Start the emulator, save a credentials block for it and run every bundled flow.

    Args:
        output_dir: Where the flows write their files (one folder per flow).
        block_name: Name under which the emulator's credentials block is saved.

    Returns:
        The flows' reports, in order.
    """
    from prefect_dhis2.testing import Dhis2Emulator

    reports = []
    with Dhis2Emulator() as dhis2:
        print(f"DHIS2 emulator (Sierra Leone demo shape) at {dhis2.base_url}")
        dhis2.credentials().save(block_name, overwrite=True)
        print(f"Saved Dhis2Credentials block {block_name!r}\n")
        for title, flow_fn, options in _steps():
            kwargs = {k: v for k, v in options.items() if k != "output"}
            if "output" in options:
                kwargs["output_dir"] = str(output_dir / options["output"])
            started = time.perf_counter()
            report = flow_fn(instance=block_name, **kwargs)
            reports.append(report)
            elapsed = time.perf_counter() - started
            print(f"  ✔ {title:<22} {elapsed:6.2f} s  {_summary(report)}")
            for label, path in report.files.items():
                print(f"      {label:<30} {path}")
        source = _write_import_file(dhis2, output_dir / "import")
        for title, dry_run in (("Import dry run", True), ("Import commit", False)):
            started = time.perf_counter()
            try:
                report = dhis2_data_values_import(
                    source=str(source),
                    dry_run=dry_run,
                    instance=block_name,
                    output_dir=str(output_dir / ("import_dry_run" if dry_run else "import")),
                )
            except Exception as error:  # noqa: BLE001 - the demo shows partial imports
                print(f"  ✔ {title:<22} {time.perf_counter() - started:6.2f} s  {error}")
                continue
            reports.append(report)
            summary = _import_summary(report)
            print(f"  ✔ {title:<22} {time.perf_counter() - started:6.2f} s  {summary}")
    print(f"\nAll outputs are under {output_dir}")
    return reports


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=None, help="where to write outputs")
    parser.add_argument(
        "--block-name", default="dhis2-emulator-demo", help="name of the saved credentials block"
    )
    args = parser.parse_args(argv)
    # The embedded server is started on first use; keep it from phoning home.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="prefect-dhis2-demo-"))
    run_demo(output_dir, args.block_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
