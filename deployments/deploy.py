"""Create this folder's deployments from Python, for one or several DHIS2 instances.

Run against a Prefect server with a `dhis2` process work pool, from the repository root:

    prefect work-pool create dhis2 --type process
    python deployments/deploy.py --instance moh-production
    python deployments/deploy.py --instance moh-dev --instance moh-staging

Each instance is the name of a saved Dhis2Credentials block; its deployments differ
from another instance's only by that name.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prefect import deploy
from prefect.schedules import Cron

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flows  # the entry points next to this file

ANC = ["fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP"]


def build(instance: str, output_root: str) -> list[Any]:
    """The deployments for one DHIS2 instance (a saved Dhis2Credentials block name)."""
    out = f"{output_root}/{instance}"

    def at(cron: str) -> Cron:
        return Cron(cron, timezone="UTC")

    return [
        flows.dhis2_connection_check.to_deployment(
            name=f"{instance}-connection-check",
            parameters={"instance": instance},
            schedule=at("0 * * * *"),
        ),
        flows.dhis2_org_units_export.to_deployment(
            name=f"{instance}-org-units-nightly",
            parameters={"instance": instance, "output_dir": f"{out}/org_units"},
            schedule=at("30 1 * * *"),
        ),
        flows.dhis2_metadata_export.to_deployment(
            name=f"{instance}-metadata-export-nightly",
            parameters={"instance": instance, "output_dir": f"{out}/metadata"},
            schedule=at("45 1 * * *"),
        ),
        flows.dhis2_geometry_export.to_deployment(
            name=f"{instance}-district-geometry-weekly",
            parameters={"instance": instance, "level": 2, "output_dir": f"{out}/geometry"},
            schedule=at("0 5 * * SUN"),
        ),
        flows.dhis2_metadata_quality.to_deployment(
            name=f"{instance}-metadata-quality-weekly",
            parameters={"instance": instance, "output_dir": f"{out}/quality"},
            schedule=at("0 6 * * MON"),
        ),
        flows.dhis2_indicator_complexity.to_deployment(
            name=f"{instance}-indicator-complexity-weekly",
            parameters={"instance": instance, "output_dir": f"{out}/indicators"},
            schedule=at("0 7 * * MON"),
        ),
        flows.dhis2_analytics_export.to_deployment(
            name=f"{instance}-anc-analytics-monthly",
            parameters={
                "instance": instance,
                "data_items": ANC,
                "org_units": ["LEVEL-2"],
                "periods": ["LAST_12_MONTHS"],
                "output_dir": f"{out}/analytics",
            },
            schedule=at("0 4 2 * *"),
        ),
        flows.dhis2_star_schema.to_deployment(
            name=f"{instance}-star-schema-nightly",
            parameters={
                "instance": instance,
                "warehouse": f"{out}/warehouse/dhis2_warehouse.duckdb",
                "parquet_dir": f"{out}/warehouse/parquet",
            },
            schedule=at("30 3 * * *"),
        ),
        flows.dhis2_data_values_import.to_deployment(
            name=f"{instance}-data-values-import",
            parameters={
                "instance": instance,
                "source": f"{output_root}/incoming/data_values.csv",
                "dry_run": True,
                "output_dir": f"{out}/imports",
            },
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--instance",
        action="append",
        help="saved Dhis2Credentials block name (repeat for several instances)",
    )
    parser.add_argument("--output-root", default="/data/dhis2")
    parser.add_argument("--work-pool", default="dhis2")
    args = parser.parse_args()
    deployments = [d for name in args.instance or ["dhis2"] for d in build(name, args.output_root)]
    deploy(*deployments, work_pool_name=args.work_pool)


if __name__ == "__main__":
    main()
