"""Run the DHIS2 emulator standalone for manual exploration.

Example:
    python -m prefect_dhis2.testing --port 8080 --version 2.43
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from prefect_dhis2.testing.core.server import Dhis2Emulator


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, start the emulator and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m prefect_dhis2.testing",
                                     description="Run a local DHIS2 emulator.")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--version", default="2.40", choices=["2.37", "2.40", "2.43"])
    parser.add_argument("--org-units", type=int, default=None, help="tree size (default 1,332)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--date", type=date.fromisoformat, default=None,
                        help="relative period date, YYYY-MM-DD (default today)")  # fmt: skip
    args = parser.parse_args(argv)
    emulator = Dhis2Emulator(version=args.version, org_units=args.org_units, seed=args.seed,
                             relative_period_date=args.date, host=args.host, port=args.port)  # fmt: skip
    with emulator:
        print(f"DHIS2 {args.version} emulator at {emulator.base_url} (API under /api)")
        print("  users: admin/district (superuser), reader/district-reader (read-only)")
        print(f"  admin token: {emulator.token('admin')}")
        print("Press Ctrl+C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
