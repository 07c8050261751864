"""DHIS2 analytics: validated requests, sharded concurrent extraction, tidy tables.

An analytics request of any size (`GET /api/analytics`) is validated before it is sent,
cut into shards under the server's row and URL limits, fetched concurrently (shards
refused as too large, E7128, are bisected), merged into one result equal to a single
unlimited request, and written as a tidy table. Everything but `tasks.py` is plain
Python over an `AsyncDhis2Client` and needs no Prefect server:

- `query.py`: `AnalyticsQuery`, the validated request and its rendering and cache keys.
- `shards.py`: the shard planner (`plan_shards`, `split_shard`, `fit_shard`, row estimates).
- `extract.py`: the engine: `aiter_analytics_shards` (probe, plan, concurrent
  shards, splits on the learned row limit, later passes; yields each finished
  shard while the rest run) and `afetch_analytics_table` over it (one merged
  `AnalyticsExtract`), `ShardFailure`, `AnalyticsExtractionError`, the
  `ShardCache` protocol and the cache keys.
- `tidy.py`: grid rows as a typed tidy Arrow table (or records), and its columns.
- `tables.py`: an extraction streamed to CSV/Parquet while its shards arrive
  (`aexport_analytics_table`), an extract written as a table, and its summary.
- `tasks.py` (Prefect): the tasks `fetch_analytics_table` (takes a `Dhis2Credentials`
  block; cached on the server's analytics freshness; one host-wide concurrency
  budget) and `export_analytics_table` (streamed to files), a progress
  artifact, and `ResultStoreShardCache`.

Examples:
    >>> from prefect_dhis2.analytics import AnalyticsQuery
    >>> from prefect_dhis2.analytics.shards import plan_shards
    >>> query = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["ImspTQPwCqd"],
    ...     periods=["2024Q1", "2024Q2"])
    >>> [s.periods for s in plan_shards(query, max_rows=1)]
    [('2024Q1',), ('2024Q2',)]
"""

import warnings as _warnings
from typing import Any as _Any

from prefect_dhis2._deprecation import REMOVED_IN as _REMOVED_IN
from prefect_dhis2._deprecation import deprecated_names as _deprecated_names
from prefect_dhis2.analytics.extract import (
    DEFAULT_MAX_ROWS,
    AnalyticsExtract,
    AnalyticsExtractionError,
    AnalyticsExtractSummary,
    AnalyticsShard,
    ShardFailure,
    afetch_analytics_table,
    aiter_analytics_shards,
)
from prefect_dhis2.analytics.query import AnalyticsQuery
from prefect_dhis2.analytics.tables import AnalyticsTableSummary, write_analytics_table
from prefect_dhis2.analytics.tasks import export_analytics_table, fetch_analytics_table
from prefect_dhis2.analytics.tidy import tidy_columns
from prefect_dhis2.client import AsyncDhis2Client as _AsyncDhis2Client

__all__ = [
    "DEFAULT_MAX_ROWS",
    "AnalyticsExtract",
    "AnalyticsExtractSummary",
    "AnalyticsExtractionError",
    "AnalyticsQuery",
    "AnalyticsShard",
    "AnalyticsTableSummary",
    "ShardFailure",
    "afetch_analytics_table",
    "aiter_analytics_shards",
    "export_analytics_table",
    "fetch_analytics_table",
    "tidy_columns",
    "write_analytics_table",
]


async def _extract_analytics(
    client: _AsyncDhis2Client,
    query: AnalyticsQuery,
    *,
    concurrency_limit: str | None = None,
    **options: _Any,
) -> AnalyticsExtract:
    """The old engine coroutine: `concurrency_limit=name` becomes `slot=host_slot(name)`."""
    if concurrency_limit is not None:
        from prefect_dhis2.host_limit import host_slot

        options["slot"] = host_slot(concurrency_limit)
    return await afetch_analytics_table(client, query, **options)


_moved = _deprecated_names(
    __name__,
    {
        "ResultStoreShardCache": "prefect_dhis2.analytics.tasks",
        "ShardCache": "prefect_dhis2.analytics.extract",
        "analytics_cache_key": "prefect_dhis2.analytics.extract",
        "analytics_freshness": "prefect_dhis2.analytics.extract",
        "MIN_SHARD_ROWS": "prefect_dhis2.analytics.extract",
        "SPLIT_ERROR_CODES": "prefect_dhis2.analytics.extract",
        # Records row by row: superseded by `to_arrow()` and the one Arrow write path.
        "tidy_rows": "prefect_dhis2.analytics.tidy",
    },
)


def __getattr__(name: str) -> _Any:
    """Old names of the former `prefect_dhis2.analytics` module, with a `DeprecationWarning`."""
    if name == "extract_analytics":
        _warnings.warn(
            "prefect_dhis2.analytics.extract_analytics is deprecated: use "
            "prefect_dhis2.analytics.afetch_analytics_table, with slot=host_slot(name) "
            "from prefect_dhis2.host_limit instead of concurrency_limit=name "
            f"(the old name is removed in prefect-dhis2 {_REMOVED_IN})",
            DeprecationWarning,
            stacklevel=2,
        )
        return _extract_analytics
    return _moved(name)
