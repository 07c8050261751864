"""Serve the bundled flows from one long-running process (no work pool, no worker).

    python deployments/serve.py --instance moh-production

Registers the same deployments as `deploy.py` and runs their scheduled and triggered
runs in this process; stop it with Ctrl+C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prefect import serve

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy import build  # next to this file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instance", default="dhis2", help="saved Dhis2Credentials block name")
    parser.add_argument("--output-root", default="./dhis2-exports")
    args = parser.parse_args()
    serve(*build(args.instance, args.output_root))


if __name__ == "__main__":
    main()
