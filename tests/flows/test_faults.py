"""Every bundled flow under injected faults: the same output as without them.

For each flow, a fault-free run on a fresh emulator gives the reference; then the flow
runs again on fresh emulators with 10 % and 30 % of requests failing (429 with
`Retry-After`, 502, 503, 504, connection resets, truncated bodies, answers slower than
the read timeout) and with a burst of 10 consecutive faults. Every output file must be
byte-identical to the reference, no temporary file may be left, and the import must
store each value once, with the same counts as the fault-free run.

The analytics export writes its rows in shard completion order for now, so its tables
are compared as sets of rows (header first, then the sorted rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prefect_dhis2.testing import Dhis2Emulator, FaultRule

from ..data_values.conftest import stored_values
from .every_flow import flow_runs, import_rows, output_files

FLOWS = ["analytics", "connection", "data_values", "geometry", "indicators", "metadata",
         "quality", "org_units"]  # fmt: skip
KINDS = ("429", "502", "503", "504", "reset", "truncate", "slow")


def rate_faults(rate: float, seed: int) -> list[FaultRule]:
    """The first request fails (a 429), then about `rate` of the others, of every kind.

    The `Retry-After` of these is 0 s to keep the test short; the burst asks for 1 s.
    """
    each = 1 - (1 - rate) ** (1 / len(KINDS))
    return [
        FaultRule(kind="429", count=1, retry_after=0),
        *(
            FaultRule(kind=kind, rate=each, seed=seed + i, retry_after=0, delay_s=1.5)  # type: ignore[arg-type]
            for i, kind in enumerate(KINDS)
        ),
    ]


def burst_faults() -> list[FaultRule]:
    """The first 10 requests fail in a row: 503 x3, 429 x2 (`Retry-After: 1`), reset x2,
    truncated x2, 502."""
    counts = (("503", 3), ("429", 2), ("reset", 2), ("truncate", 2), ("502", 1))
    return [
        FaultRule(kind=kind, count=n, retry_after=1 if kind == "429" else None)  # type: ignore[arg-type]
        for kind, n in counts
    ]


SCENARIOS = {
    "10%": lambda: rate_faults(0.10, seed=11),
    "30%": lambda: rate_faults(0.30, seed=31),
    "burst": burst_faults,
}


def comparable(name: str, content: bytes, flow: str) -> Any:
    """What must be equal between a fault run and the fault-free run: every byte.

    The one exception is the analytics export's manifest, which records how the run went
    (shards, requests, time) next to which answer the files hold.
    """
    if name.endswith(".manifest.json"):
        return "manifest"
    return content


def run_flow(
    flow: str, emulator: Dhis2Emulator, folder: Path, faults: list[FaultRule] = ()
) -> tuple[Any, dict[str, Any]]:
    credentials = emulator.credentials().model_copy(
        update={
            "retry_backoff": 0.01,
            "retry_backoff_max": 0.05,
            "read_timeout": 1.0,
            "analytics_read_timeout": 1.0,
            "max_concurrency": 3,
        }
    )
    run = flow_runs(credentials, emulator, folder)[flow]  # reads the rows to import
    emulator.set_faults(faults)
    try:
        report = run()
    finally:
        emulator.clear_faults()
    files = output_files(folder / flow) if (folder / flow).exists() else {}
    return report, {name: comparable(name, data, flow) for name, data in files.items()}


def summary(flow: str, report: Any, emulator: Dhis2Emulator, rows_to_import: list) -> Any:
    """What must not change besides the files: the result the report holds."""
    if flow == "connection":
        return report.result.model_dump()
    if flow == "data_values":
        result = report.result
        # Each chunk is committed with one content only, however often it is sent.
        committed = {
            r.body_sha256
            for r in emulator.request_log
            if r.method == "POST"
            and r.path.endswith("dataValueSets")
            and r.param("dryRun") == "false"
        }
        return (
            (result.imported, result.updated, result.ignored, result.deleted, result.rejected),
            result.status,
            stored_values(emulator, rows_to_import),
            committed,
        )
    return sorted(report.files)


@pytest.mark.parametrize("flow", FLOWS)
def test_faults_leave_the_output_unchanged(
    prefect_server, dhis2_emulator_factory, tmp_path: Path, flow: str
):
    reference_emulator = dhis2_emulator_factory()
    rows_before = import_rows(reference_emulator)
    report, expected = run_flow(flow, reference_emulator, tmp_path / "reference")
    expected_summary = summary(flow, report, reference_emulator, rows_before)
    if flow not in ("connection", "data_values"):  # these two are compared by their result
        assert expected, f"{flow} wrote nothing to compare"

    for scenario, rules in SCENARIOS.items():
        emulator = dhis2_emulator_factory()
        assert import_rows(emulator) == rows_before  # the same data to start from
        report, files = run_flow(flow, emulator, tmp_path / scenario, rules())
        faults = [r for r in emulator.request_log if r.fault is not None]
        assert faults, f"{scenario}: no fault was injected"
        assert not [name for name in files if name.endswith(".tmp")], scenario
        assert files == expected, f"{scenario}: the output differs"
        assert summary(flow, report, emulator, rows_before) == expected_summary, scenario
