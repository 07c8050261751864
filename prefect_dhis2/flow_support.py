"""Deprecated: the conventions of the bundled flows moved to the modules named for them.

`runtime` (run logger, sync bridge, retry rule, report base), `credentials`
(`resolve_credentials`), `writers` (output directory and table formats), `markdown`
(`markdown_table`, `slug`) and `host_limit` (`host_concurrency_limit_name`). The old
names keep working until prefect-dhis2 0.3, with a `DeprecationWarning`.
"""

from prefect_dhis2._deprecation import deprecated_names

__getattr__ = deprecated_names(
    __name__,
    {
        "Dhis2FlowReport": "prefect_dhis2.runtime",
        "Stopwatch": "prefect_dhis2.runtime",
        "retry_transient_failures": "prefect_dhis2.runtime",
        "run_logger": "prefect_dhis2.runtime",
        "run_sync": "prefect_dhis2.runtime",
        "resolve_credentials": "prefect_dhis2.credentials",
        "resolve_output_dir": "prefect_dhis2.writers",
        "default_table_formats": "prefect_dhis2.writers",
        "resolve_table_formats": "prefect_dhis2.writers",
        "markdown_table": "prefect_dhis2.markdown",
        "slug": "prefect_dhis2.markdown",
        "host_concurrency_limit_name": "prefect_dhis2.host_limit",
    },
)
