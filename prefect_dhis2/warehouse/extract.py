"""The one place the warehouse reads analytics rows: bounded Arrow record batches.

Pure: no Prefect. `aiter_fact_batches` runs an `AnalyticsQuery` through the sharded
engine (`prefect_dhis2.analytics.aiter_analytics_shards`) and yields its rows as
Arrow record batches of at most `batch_rows` rows with the columns of
`FACT_BATCH_SCHEMA` (all strings, as DHIS2 sends them; the loader casts). Everything
the loader needs besides the rows (the periods the extraction covered, how it went)
is on the returned `FactBatches` once it is exhausted.

The engine streams its shards as they finish, so the rows of at most one batch plus
one shard are held here at a time, whatever the size of the extraction.

Examples:
    >>> batch = rows_to_batch(["dx", "ou", "pe", "value"],
    ...     [["fbfJHSPpUQD", "O6uvpzGd5pu", "202401", "12.0"]])
    >>> batch.num_rows, batch.schema.names
    (1, ['dx', 'ou', 'pe', 'co', 'value', 'numerator', 'denominator'])
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from prefect_dhis2.analytics.extract import (
    AnalyticsExtractionError,
    AnalyticsExtractSummary,
    aiter_analytics_shards,
)
from prefect_dhis2.writers import _columns_of

if TYPE_CHECKING:
    from prefect_dhis2.analytics.query import AnalyticsQuery
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FACT_BATCH_SCHEMA",
    "FactBatches",
    "aiter_fact_batches",
    "rows_to_batch",
]

DEFAULT_BATCH_ROWS = 50_000
"""Rows per Arrow batch handed to the loader."""

FACT_BATCH_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("dx", "ou", "pe", "co", "value", "numerator", "denominator")]
)
"""The columns of a fact batch (strings; `co` is null without a `co` dimension)."""


def rows_to_batch(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> pa.RecordBatch:
    """Grid rows (strings) as one record batch of `FACT_BATCH_SCHEMA`; empty cells are null."""
    by_header = dict(zip(headers, _columns_of(rows, len(headers)), strict=True))
    arrays = []
    for field in FACT_BATCH_SCHEMA:
        values = by_header.get(field.name)
        if values is None or not rows:
            arrays.append(pa.nulls(len(rows), pa.string()))
            continue
        if "" in values:  # empty cells are rare: look before mapping
            values = [v or None for v in values]
        arrays.append(pa.array(values, pa.string()))
    return pa.RecordBatch.from_arrays(arrays, schema=FACT_BATCH_SCHEMA)


class FactBatches:
    """The fact batches of one extraction, and what is known about it once exhausted.

    Iterate with `async for`; afterwards `periods` holds the fixed periods the
    extraction covered (relative ones resolved by the server) and `summary` how it
    went (shards, duration).

    Attributes:
        rows: Rows yielded so far.
        periods: ISO periods covered (filled after iteration).
        summary: The extraction's summary (filled after iteration).
    """

    def __init__(
        self,
        client: AsyncDhis2Client,
        query: AnalyticsQuery,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        **options: Any,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be 1 or more, not {batch_rows}")
        self._client = client
        self._query = query
        self._batch_rows = batch_rows
        self._options = options
        self.rows = 0
        self.periods: list[str] = []
        self.summary: AnalyticsExtractSummary | None = None

    async def __aiter__(self) -> AsyncIterator[pa.RecordBatch]:
        # Each shard becomes Arrow as it arrives (its Python rows are then dropped), and
        # small shards are joined up to `batch_rows`: the extraction is never in memory.
        pending: list[pa.RecordBatch] = []
        held = 0
        periods: set[str] = set()
        async with aiter_analytics_shards(self._client, self._query, **self._options) as stream:
            async for shard in stream:
                if not shard.rows:
                    continue
                batch = rows_to_batch(shard.headers, shard.rows)
                periods.update(p for p in pc.unique(batch.column("pe")).to_pylist() if p)
                pending.append(batch)
                held += batch.num_rows
                while held >= self._batch_rows:
                    out, pending = _take(pending, self._batch_rows)
                    held -= out.num_rows
                    self.rows += out.num_rows
                    yield out
            summary = stream.summary()
            if summary.failures:  # the load's transaction rolls back
                raise AnalyticsExtractionError(summary.base_url, summary.failures, stream.names)
            self.summary = summary
            self.periods = sorted(set(stream.dimensions.get("pe", [])) | periods)
            while held:
                out, pending = _take(pending, self._batch_rows)
                held -= out.num_rows
                self.rows += out.num_rows
                yield out


def _take(pending: list[pa.RecordBatch], rows: int) -> tuple[pa.RecordBatch, list[pa.RecordBatch]]:
    """The first `rows` rows of `pending` as one batch, and what is left (zero-copy slices)."""
    if len(pending) == 1 and pending[0].num_rows <= rows:
        return pending[0], []
    table = pa.Table.from_batches(pending, schema=FACT_BATCH_SCHEMA)
    head = table.slice(0, rows).combine_chunks().to_batches()
    rest = table.slice(rows)
    out = head[0] if head else pa.RecordBatch.from_pylist([], schema=FACT_BATCH_SCHEMA)
    return out, [b for b in rest.to_batches() if b.num_rows]


def aiter_fact_batches(
    client: AsyncDhis2Client,
    query: AnalyticsQuery,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    **options: Any,
) -> FactBatches:
    """The facts of `query` as Arrow batches of at most `batch_rows` rows.

    Args:
        client: An open async client.
        query: The analytics request (with `include_num_den` for indicators).
        batch_rows: Largest batch handed to the loader.
        **options: Passed to `aiter_analytics_shards` (`max_rows`, `slot`, `logger`, ...).

    Raises:
        AnalyticsExtractionError: While iterating, when some shards failed.

    Examples:
        ```python
        batches = aiter_fact_batches(client, query, batch_rows=10_000)
        async for batch in batches:
            load(batch)
        print(batches.periods, batches.summary.shards_fetched)
        ```
    """
    return FactBatches(client, query, batch_rows=batch_rows, **options)
