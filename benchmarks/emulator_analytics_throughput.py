"""Throughput of the emulator's data side: analytics and data value responses.

Part 1 reuses `emulator_throughput.run` (one keep-alive httpx client, median of several runs,
`/api/system/ping` as the baseline measured in the same run) on:
- a ~1,000-row analytics response (ANC 1st visit x 152 chiefdoms x 7 months),
- a ~1,000-row indicator response (ANC 1 coverage, annualised, same shape),
- ~2,100 data values from `/api/dataValueSets` (a data set, a district with children).

Part 2 serves the national extraction of the analytics benchmark (50 data elements x all
1,166 facilities x 24 months, ~1.2 M rows) as 20 shards of 5 data elements x 12 months, one
after another, and prints rows/s, MB/s and the emulator's cost per row, cold (columns
generated on first use) and warm (median of the next runs).

Run: `python benchmarks/emulator_analytics_throughput.py`
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))

from emulator_throughput import Scenario, run

from prefect_dhis2.testing import Dhis2Emulator

REFERENCE_DATE = date(2024, 6, 30)
MONTHS_7 = ";".join(f"2024{m:02d}" for m in range(1, 8))

SCENARIOS: list[Scenario] = [
    Scenario("ping (baseline)", "/api/system/ping", {}),
    Scenario(
        "analytics, ~1,000 rows (DE)",
        "/api/analytics",
        {"dimension": f"dx:fbfJHSPpUQD,ou:LEVEL-3,pe:{MONTHS_7}", "skipMeta": "false"},
    ),
    Scenario(
        "analytics, ~1,000 rows (ind.)",
        "/api/analytics",
        {"dimension": f"dx:Uvn6LCg7dVU,ou:LEVEL-3,pe:{MONTHS_7}", "skipMeta": "false"},
    ),
    Scenario(
        "dataValueSets, ~2,100 values",
        "/api/dataValueSets",
        {
            "dataSet": "zNn32mWVxZr",
            "period": "202401",
            "orgUnit": "O6uvpzGd5pu",
            "children": "true",
        },
    ),
]


def _emulator() -> Dhis2Emulator:
    return Dhis2Emulator(relative_period_date=REFERENCE_DATE)


def national_extraction(runs: int = 3) -> None:
    """Serve 50 DE x all facilities x 24 months as 20 sequential shards; print rates."""
    with (
        _emulator() as dhis2,
        httpx.Client(base_url=dhis2.base_url, auth=("admin", "district"), timeout=120) as client,
    ):
        store = dhis2.state.data_values
        elements = [
            uid
            for uid in dhis2.state.dataset.objects["dataElements"]
            if store.period_type(uid) == "Monthly"
        ][:50]
        years = ("2022", "2023")
        shards = [
            {
                "dimension": [
                    f"dx:{';'.join(elements[i : i + 5])}",
                    "ou:LEVEL-4",
                    "pe:" + ";".join(f"{year}{m:02d}" for m in range(1, 13)),
                ],
                "skipMeta": "true",
            }
            for i in range(0, len(elements), 5)
            for year in years
        ]

        def once() -> tuple[float, int, int]:
            rows = size = 0
            started = time.perf_counter()
            for params in shards:
                response = client.get("/api/analytics", params=params)
                response.raise_for_status()
                rows += orjson.loads(response.content)["height"]
                size += len(response.content)
            return time.perf_counter() - started, rows, size

        cold = once()
        warm = [once() for _ in range(runs)]
    elapsed = statistics.median(w[0] for w in warm)
    rows, size = warm[0][1], warm[0][2]
    print()
    print(f"national extraction: {len(elements)} data elements x LEVEL-4 x 24 months, "
          f"{len(shards)} shards, {rows:,} rows, {size / 1e6:.0f} MB")  # fmt: skip
    print(f"{'run':<8} {'seconds':>8} {'rows/s':>10} {'MB/s':>7} {'us/row':>7}")
    for name, seconds in (("cold", cold[0]), ("warm", elapsed)):
        print(
            f"{name:<8} {seconds:>8.2f} {rows / seconds:>10,.0f} {size / seconds / 1e6:>7.1f} "
            f"{seconds / rows * 1e6:>7.2f}"
        )


if __name__ == "__main__":
    run(SCENARIOS, make=_emulator)
    national_extraction()
