"""The bundled connection check: does the instance answer and do the credentials work."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from prefect_dhis2.credentials import Dhis2Credentials, resolve_credentials
from prefect_dhis2.metadata import ConnectionCheckResult, check_connection
from prefect_dhis2.metadata.report import connection_markdown
from prefect_dhis2.runtime import Dhis2FlowReport, Stopwatch, artifact_key, run_logger

__all__ = ["ConnectionReport", "dhis2_connection_check"]


class ConnectionReport(Dhis2FlowReport):
    """What `dhis2_connection_check` found.

    Attributes:
        result: The server, the user and the size of the main collections.
    """

    result: ConnectionCheckResult


@flow(name="dhis2-connection-check", log_prints=False)
def dhis2_connection_check(
    credentials: Dhis2Credentials | None = None, instance: str = "dhis2"
) -> ConnectionReport:
    """Check that a DHIS2 instance answers and the credentials work.

    Reads the server info and the user, counts org units, data elements,
    indicators and data sets, and publishes a markdown summary.

    Args:
        credentials: The instance to check (takes precedence over `instance`).
        instance: Name of a saved `Dhis2Credentials` block.

    Examples:
        ```python
        from prefect_dhis2.flows import dhis2_connection_check
        report = dhis2_connection_check(instance="BLOCK_NAME")
        print(report.result.version, report.result.counts)
        ```
    """
    watch = Stopwatch()
    creds = resolve_credentials(credentials, instance)
    result = check_connection(creds)
    report = ConnectionReport(instance=creds.base_url, result=result, duration_s=watch.elapsed)
    run_logger().info(
        "Connected to %s (DHIS2 %s) as %s", creds.base_url, result.version, result.username
    )
    create_markdown_artifact(
        key=artifact_key("dhis2-connection-check"),
        markdown=connection_markdown(creds.base_url, result)
        + "\n\n"
        + report.provenance_markdown(),
        description=f"DHIS2 {result.version} at {creds.base_url}",
    )
    return report
