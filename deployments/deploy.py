"""Create the deployments of `prefect.yaml` from Python.

Run against a Prefect server with a `dhis2` process work pool:

    prefect work-pool create dhis2 --type process
    python deployments/deploy.py --instance moh-production
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import deploy
from prefect.schedules import Cron

from prefect_dhis2.flows import (
    dhis2_connection_check,
    dhis2_indicator_complexity,
    dhis2_metadata_quality,
    dhis2_org_units_export,
)

SOURCE = Path(__file__).resolve().parent


def build(instance: str, output_root: str) -> list[object]:
    """The deployments for one DHIS2 instance (a saved Dhis2Credentials block name)."""
    return [
        dhis2_connection_check.to_deployment(
            name=f"{instance}-connection-check",
            parameters={"instance": instance},
            schedule=Cron("0 * * * *", timezone="UTC"),
        ),
        dhis2_org_units_export.to_deployment(
            name=f"{instance}-org-units-nightly",
            parameters={"instance": instance, "output_dir": f"{output_root}/org_units"},
            schedule=Cron("30 1 * * *", timezone="UTC"),
        ),
        dhis2_metadata_quality.to_deployment(
            name=f"{instance}-metadata-quality-weekly",
            parameters={"instance": instance, "output_dir": f"{output_root}/quality"},
            schedule=Cron("0 6 * * MON", timezone="UTC"),
        ),
        dhis2_indicator_complexity.to_deployment(
            name=f"{instance}-indicator-complexity-weekly",
            parameters={"instance": instance, "output_dir": f"{output_root}/indicators"},
            schedule=Cron("0 7 * * MON", timezone="UTC"),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instance", default="dhis2", help="saved Dhis2Credentials block name")
    parser.add_argument("--output-root", default="/data/dhis2")
    parser.add_argument("--work-pool", default="dhis2")
    args = parser.parse_args()
    deploy(*build(args.instance, args.output_root), work_pool_name=args.work_pool)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
