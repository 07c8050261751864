"""Throughput of the DHIS2 emulator itself, so client benchmarks can show they are not bound by it.

Measures 1,000-row org unit pages (`fields=id,name,level,path,geometry`) over real HTTP with
one keep-alive httpx client, and, as a baseline measured in the same run, `/api/system/ping`
(the cheapest request the emulator serves). Prints the median of several runs.

Run: `python benchmarks/emulator_throughput.py`. Add scenarios to `SCENARIOS`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from prefect_dhis2.testing import Dhis2Emulator

RUNS = 5
REQUESTS_PER_RUN = 40


@dataclass
class Scenario:
    """A named request to repeat: path and params."""

    name: str
    path: str
    params: dict[str, str]


SCENARIOS: list[Scenario] = [
    Scenario("ping (baseline)", "/api/system/ping", {}),
    Scenario(
        "org units, 1,000-row pages",
        "/api/organisationUnits",
        {"fields": "id,name,level,path,geometry", "pageSize": "1000", "page": "1"},
    ),
    Scenario(
        "data elements, nested fields",
        "/api/dataElements",
        {
            "fields": "id,name,categoryCombo[id,name,categoryOptionCombos[id,name]]",
            "paging": "false",
        },
    ),
]


def measure(client: httpx.Client, scenario: Scenario) -> tuple[float, float]:
    """Return (requests/s, MB/s) of one run."""
    total_bytes = 0
    started = time.perf_counter()
    for _ in range(REQUESTS_PER_RUN):
        response = client.get(scenario.path, params=scenario.params)
        response.raise_for_status()
        total_bytes += len(response.content)
    elapsed = time.perf_counter() - started
    return REQUESTS_PER_RUN / elapsed, total_bytes / elapsed / 1e6


def run(scenarios: list[Scenario], make: Callable[[], Dhis2Emulator] = Dhis2Emulator) -> None:
    """Measure every scenario against one emulator and print medians."""
    with (
        make() as dhis2,
        httpx.Client(base_url=dhis2.base_url, auth=("admin", "district"), timeout=30) as client,
    ):
        results: dict[str, tuple[float, float]] = {}
        for scenario in scenarios:
            measure(client, scenario)  # warm-up
            runs = [measure(client, scenario) for _ in range(RUNS)]
            results[scenario.name] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
            )
    baseline = results[scenarios[0].name][0]
    print(f"{'scenario':<32} {'req/s':>9} {'MB/s':>8} {'ms/req':>8} {'vs ping':>8}")
    for name, (rps, mbps) in results.items():
        print(f"{name:<32} {rps:>9.0f} {mbps:>8.1f} {1000 / rps:>8.2f} {rps / baseline:>8.2f}")


if __name__ == "__main__":
    run(SCENARIOS)
