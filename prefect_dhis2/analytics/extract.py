"""The analytics extraction engine: sharded, concurrent, and equal to one unlimited request.

`aiter_analytics_shards` runs an `AnalyticsQuery` of any size against DHIS2 with an
open `AsyncDhis2Client` and yields each finished shard while the others run;
`afetch_analytics_table` collects them into one `AnalyticsExtract`. Neither needs Prefect:

1. When the query holds relative periods, org unit levels, groups or user
   keywords, or `co` without items, one `skipData=true` probe asks the server
   what they resolve to, so shards carry exactly what the server would use.
2. `prefect_dhis2.analytics.shards.plan_shards` cuts the request into shards
   under a row budget and a URL-length budget with as few requests as possible.
3. A pool of workers (the client's `max_concurrency`, enforced by its
   semaphore) runs the shards through `prefect_dhis2.work_queue.run_queue`;
   each worker holds a `slot` while it works (the Prefect task passes one slot
   of the host's global concurrency limit, so every flow run and worker
   hitting one server shares one budget).
4. The first refusal for size (E7128) names the server's row limit: the
   refused shard and every queued shard over it are re-planned to fit, along
   any axis with more than one item (levels and groups listed as their org
   units, `co` as its option combos). Timeouts and 414s split a shard in two.
   Transient failures get later passes; permanent ones (403, other E7xxx) are
   recorded. Only a single (dx, ou, pe, co) cell over the limit fails for size.
   While the limit is unknown, the first requests (one per worker) are cut to
   `SCOUT_ROWS`, so that a lowered limit is learned after little server work.
5. Shards partition the rows, so nothing is deduplicated: each planned shard's
   rows are sorted by the natural key and shards come in plan order, so the
   result is the same, row for row and in order, on every run. Rows are tuples
   of strings, decoded so while the garbage collector is paused
   (`prefect_dhis2.client.decoding`): kept for the whole extraction, they cost
   the collector nothing.

With a `ShardCache` and the server's freshness token (`analytics_freshness`),
finished shards are kept after a partial failure, so the re-run fetches only
the ones that failed. `analytics_cache_key` is the key of a whole extraction:
the instance, the user, the canonical request and the freshness, never a secret.
The Prefect task over this engine is `prefect_dhis2.analytics.fetch_analytics_table`.

Examples:
    ```python
    from prefect_dhis2 import Dhis2Credentials
    from prefect_dhis2.analytics import AnalyticsQuery, afetch_analytics_table

    query = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["LEVEL-4"],
                           periods=["LAST_12_MONTHS"])
    async with Dhis2Credentials.load("BLOCK_NAME").get_async_client() as client:
        extract = await afetch_analytics_table(client, query)
    print(len(extract.rows), extract.headers)
    ```
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import operator
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field

from prefect_dhis2.analytics.query import AnalyticsQuery
from prefect_dhis2.analytics.shards import (
    DEFAULT_MAX_URL_LENGTH,
    Shard,
    ShardTooLargeError,
    estimate_rows,
    fit_shard,
    is_composite_ou,
    plan_shards,
    split_shard,
)
from prefect_dhis2.client import (
    AsyncDhis2Client,
    Dhis2AuthenticationError,
    Dhis2ConflictError,
    Dhis2Error,
    Dhis2RequestError,
    Dhis2ServerError,
    Dhis2TimeoutError,
)
from prefect_dhis2.client.decoding import decode_rows, encode_rows
from prefect_dhis2.models import AnalyticsGrid, ServerInfo
from prefect_dhis2.models.analytics import GridRow, GridRows, _grid_rows
from prefect_dhis2.periods import is_relative_period
from prefect_dhis2.work_queue import SlotFactory, WorkQueue, run_queue

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEFAULT_RETRY_DELAY_S",
    "DEFAULT_RETRY_PASSES",
    "MIN_SHARD_ROWS",
    "PROGRESS_LOG_STEP",
    "SCOUT_ROWS",
    "SPLIT_ERROR_CODES",
    "AnalyticsExtract",
    "AnalyticsExtractSummary",
    "AnalyticsExtractionError",
    "AnalyticsShard",
    "AnalyticsShardStream",
    "ExtractionProgress",
    "ProgressCallback",
    "ShardCache",
    "ShardFailure",
    "afetch_analytics_table",
    "aiter_analytics_shards",
    "analytics_cache_key",
    "analytics_freshness",
    "server_row_limit",
]

Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]

DEFAULT_MAX_ROWS = 50_000
"""Row budget per shard: half of DHIS2's default `keyAnalyticsMaxLimit` (100,000)."""

MIN_SHARD_ROWS = 2_000
"""Requests are not cut below this many rows just to keep workers busy."""

SCOUT_ROWS = MIN_SHARD_ROWS
"""Rows per request of the first requests, sent while the server's row limit is unknown."""

SPLIT_ERROR_CODES = frozenset({"E7128", "E7131", "E7136"})
"""Analytics errors answered by splitting the shard: over the row limit, query timed out."""

DEFAULT_RETRY_PASSES = 3
"""Later passes for shards that failed on transient errors (after the client's retries)."""

DEFAULT_RETRY_DELAY_S = 5.0
"""Wait before the first later pass; it doubles with each pass."""

PROGRESS_LOG_STEP = 5.0
"""A progress line is logged each time this many percent of the shards are done."""


class ShardFailure(BaseModel):
    """A shard that could not be fetched.

    Attributes:
        data_items: The shard's dx items.
        org_units: The shard's ou items.
        periods: The shard's periods.
        option_combos: The shard's `co` items (empty: as in the request).
        error: The exception class name (`ShardTooLargeError` for a single
            cell over the server's row limit).
        status_code: The HTTP status, if any.
        error_code: DHIS2's error code, if any.
        message: The error message (never credentials).
        permanent: True for refusals that a retry cannot fix (403, E7xxx).
    """

    data_items: list[str]
    org_units: list[str]
    periods: list[str]
    option_combos: list[str] = Field(default_factory=list)
    error: str
    status_code: int | None = None
    error_code: str | None = None
    message: str
    permanent: bool


class AnalyticsExtractSummary(BaseModel):
    """How an extraction went, without its rows: small enough for a flow report.

    A field typed `AnalyticsExtractSummary` given a whole `AnalyticsExtract`
    keeps only these fields (the rows are not carried along).

    Attributes:
        base_url: The DHIS2 instance.
        failures: Shards that could not be fetched (empty when complete).
        shards_planned: Shards in the initial plan.
        shards_fetched: Shards answered by the server.
        shards_cached: Shards read from the shard cache.
        shards_split: Shards bisected after a refusal or timeout.
        probe_requests: `skipData` requests made to resolve periods and org units.
        duration_s: Wall time of the extraction.

    Examples:
        >>> extract = AnalyticsExtract(base_url="https://dhis2.example.org",
        ...     headers=["dx", "value"], rows=[["fbfJHSPpUQD", "1"]], shards_fetched=1)
        >>> AnalyticsExtractSummary.model_validate(extract).model_dump()["shards_fetched"]
        1
        >>> "rows" in AnalyticsExtractSummary.model_validate(extract).model_dump()
        False
    """

    model_config = ConfigDict(revalidate_instances="subclass-instances")

    base_url: str
    failures: list[ShardFailure] = Field(default_factory=list)
    shards_planned: int = 0
    shards_fetched: int = 0
    shards_cached: int = 0
    shards_split: int = 0
    probe_requests: int = 0
    duration_s: float = 0.0

    @property
    def complete(self) -> bool:
        """True when every shard was fetched."""
        return not self.failures


class AnalyticsExtract(AnalyticsExtractSummary):
    """The merged result of a sharded analytics extraction: plain, persistable data.

    Besides the fields of `AnalyticsExtractSummary` (instance, failures, shard
    counts, duration), it holds the merged grid.

    Attributes:
        headers: Grid header names, in column order.
        rows: Grid rows, tuples of strings as DHIS2 sends them (not validated
            cell by cell), in plan order and, within each shard, by the natural key.
        names: Item id to display name, from every shard's `metaData.items`.
        dimensions: Dimension id to item ids, from every shard's `metaData.dimensions`.
    """

    headers: list[str] = Field(default_factory=list)
    rows: GridRows = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)
    dimensions: dict[str, list[str]] = Field(default_factory=dict)

    def __repr_args__(self) -> Any:
        # A national extract holds hundreds of thousands of rows: show their count.
        # (Python 3.11's asyncio.run even reprs the result of its main task.)
        for name, value in super().__repr_args__():
            if name == "rows":
                yield name, _Count(len(self.rows), "rows")
            elif name in ("names", "dimensions"):
                yield name, _Count(len(value), "items")
            else:
                yield name, value

    def __getstate__(self) -> dict[Any, Any]:
        # Prefect persists a task's result with (cloud)pickle, which would memoise every
        # row and cell: 0.5 s for 200,000 rows. One JSON body of the rows takes 30 ms.
        state = super().__getstate__()
        values = dict(state["__dict__"])
        values["rows"] = encode_rows(values["rows"])
        return {**state, "__dict__": values}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        values = state["__dict__"]
        if isinstance(values.get("rows"), bytes):
            state = {**state, "__dict__": {**values, "rows": decode_rows(values["rows"])}}
        super().__setstate__(state)

    def to_arrow(self) -> Any:
        """The tidy table as Arrow, built column by column: ids with names beside
        them, `pe_start`/`pe_end` dates, numbers as float64 (needs pyarrow).

        Examples:
            >>> extract = AnalyticsExtract(base_url="https://dhis2.example.org",
            ...     headers=["dx", "pe", "value"], rows=[["fbfJHSPpUQD", "202401", "4.0"]],
            ...     names={"fbfJHSPpUQD": "ANC 1st visit"})
            >>> extract.to_arrow().column("dx_name").to_pylist()
            ['ANC 1st visit']
        """
        from prefect_dhis2.analytics.tidy import tidy_arrow

        return tidy_arrow(self.headers, self.rows, self.names)

    def to_pandas(self) -> Any:
        """The tidy table as a pandas DataFrame (needs pandas)."""
        from prefect_dhis2.frames import arrow_to_pandas

        return arrow_to_pandas(self.to_arrow())

    def to_polars(self) -> Any:
        """The tidy table as a polars DataFrame (needs polars)."""
        from prefect_dhis2.frames import arrow_to_polars

        return arrow_to_polars(self.to_arrow())


class _Count:
    def __init__(self, count: int, what: str) -> None:
        self.text = f"<{count:,} {what}>"

    def __repr__(self) -> str:
        return self.text


class AnalyticsExtractionError(Exception):
    """Some shards of an extraction failed; the others are in the shard cache.

    Attributes:
        failures: The failed shards.
        names: Item id to display name, from the shards that did come back (for
            reports that name the failed shards' items).
    """

    def __init__(
        self,
        base_url: str,
        failures: Sequence[ShardFailure],
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.failures = list(failures)
        self.names = dict(names or {})
        permanent = sum(f.permanent for f in failures)
        first = failures[0]
        super().__init__(
            f"DHIS2 at {base_url}: {len(failures)} analytics shard(s) failed "
            f"({permanent} permanently); first: {first.error}"
            f"{f' [{first.error_code}]' if first.error_code else ''}: {first.message} "
            f"(dx={first.data_items[:3]}, ou={first.org_units[:3]}, pe={first.periods[:3]}). "
            "Re-run to fetch only the failed shards."
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.base_url, self.failures, self.names))


class ShardCache(Protocol):
    """Where finished shard grids are kept between runs."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """The stored grid of `key`, or None."""

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Store the grid of `key`."""


# ---------------------------------------------------------------- the stream


@dataclass(frozen=True)
class ExtractionProgress:
    """How far an extraction is: planned shards done, rows so far, requests sent.

    Attributes:
        shards_done: Planned shards finished (fetched, read from the cache, or failed).
        shards_planned: Shards in the plan.
        rows: Rows received so far.
        requests: Analytics requests sent so far (probes and split pieces included).
    """

    shards_done: int
    shards_planned: int
    rows: int
    requests: int

    @property
    def percent(self) -> float:
        """Planned shards done, in percent (100 for an empty plan)."""
        if not self.shards_planned:
            return 100.0
        return 100.0 * self.shards_done / self.shards_planned


@dataclass(frozen=True)
class AnalyticsShard:
    """One finished planned shard of an extraction, as `aiter_analytics_shards` yields it.

    Its rows are sorted by their dimension cells (the natural key), so a shard
    holds the same rows in the same order however it was fetched (in one
    request, split after a refusal, or read from the shard cache).

    Attributes:
        index: Position of the shard in the plan (0-based).
        shard: The planned shard (its dx, ou, pe and co items).
        headers: Grid header names, in column order.
        rows: Grid rows, tuples of strings as DHIS2 sends them, sorted by the natural key.
        names: Item id to display name, from the shard's `metaData.items`.
        dimensions: Dimension id to item ids, from the shard's `metaData.dimensions`.
        cached: True when the shard was read from the shard cache.
        progress: The extraction's progress once this shard was done.
        complete: False when a piece of the shard failed (see the stream's
            `summary().failures`); its rows are then those of the other pieces.
    """

    index: int
    shard: Shard
    headers: list[str]
    rows: list[GridRow]
    names: dict[str, str]
    dimensions: dict[str, list[str]]
    cached: bool
    progress: ExtractionProgress
    complete: bool = True

    def to_arrow(self) -> Any:
        """The shard as a typed tidy Arrow table (see `prefect_dhis2.analytics.tidy`).

        Examples:
            ```python
            async for shard in aiter_analytics_shards(client, query):
                writer.write_table(shard.to_arrow())
            ```
        """
        from prefect_dhis2.analytics.tidy import tidy_arrow

        return tidy_arrow(self.headers, self.rows, self.names)


def _call_args(query: AnalyticsQuery) -> tuple[list[str], list[str], dict[str, str]]:
    dimension: list[str] = []
    filters: list[str] = []
    params: dict[str, str] = {}
    for name, value in query.to_params():
        if name == "dimension":
            dimension.append(value)
        elif name == "filter":
            filters.append(value)
        else:
            params[name] = value
    return dimension, filters, params


def _needs_probe(query: AnalyticsQuery) -> bool:
    relative = query.relative_period_date is None and any(
        is_relative_period(p) for p in query.periods
    )
    co_all = "co" in query.dimensions and not query.dimensions["co"]
    return relative or co_all or is_composite_ou(query.org_units)


def _grid_payload(grid: AnalyticsGrid) -> dict[str, Any]:
    meta = grid.meta_data if isinstance(grid.meta_data, dict) else {}
    items = meta.get("items", {})
    names = (
        {
            key: str(value["name"])
            for key, value in items.items()
            if isinstance(value, dict) and "name" in value
        }
        if isinstance(items, dict)
        else {}
    )
    dims = meta.get("dimensions", {})
    return {
        "headers": grid.column_names,
        "rows": grid.rows,
        "names": names,
        "dimensions": (
            {k: list(v) for k, v in dims.items() if isinstance(v, list)}
            if isinstance(dims, dict)
            else {}
        ),
    }


def _stored_grid(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """A shard read from a `ShardCache`, rows as tuples; None when it is not a grid.

    A cache that keeps JSON gives the rows back as lists.
    """
    if stored is None:
        return None
    try:
        return {**stored, "rows": _grid_rows(stored.get("rows", []))}
    except ValueError:
        return None


_LIMIT_IN_MESSAGE = re.compile(r"(\d[\d,. ]*\d|\d)")


def server_row_limit(message: str | None) -> int | None:
    """The row limit named in an E7128 message (`Query result set exceeded max limit: 1000`).

    Examples:
        >>> server_row_limit("Query result set exceeded max limit: `50000`")
        50000
        >>> server_row_limit("Query result set exceeded max limit") is None
        True
    """
    if not message:
        return None
    found = _LIMIT_IN_MESSAGE.findall(message)
    if not found:
        return None
    digits = re.sub(r"\D", "", found[-1])
    return int(digits) if digits and int(digits) > 0 else None


def _sort_rows(headers: Sequence[str], rows: list[GridRow]) -> None:
    """Sort rows in place by their dimension cells (the natural key of a grid)."""
    dims = [i for i, name in enumerate(headers) if name not in _VALUE_HEADERS]
    if dims == list(range(len(dims))):
        # Dimensions first (DHIS2's own column order): whole rows order by the key,
        # since the key is unique and comes first. Joined with NUL (below every
        # character of a UID or period), a row is one string that sorts like the
        # list of its cells, and string comparison is several times cheaper.
        try:
            rows.sort(key="\x00".join)
        except TypeError:  # a cell that is not a string (not DHIS2's grid)
            rows.sort()
    elif dims:
        rows.sort(key=operator.itemgetter(*dims) if len(dims) > 1 else operator.itemgetter(dims[0]))


class _Planned:
    """A planned shard: its pieces still out, and the grids of the pieces done."""

    __slots__ = ("cached", "failed", "index", "parts", "pending", "shard")

    def __init__(self, index: int, shard: Shard) -> None:
        self.index = index
        self.shard = shard
        self.pending = 1
        self.parts: list[dict[str, Any]] = []
        self.failed = False
        self.cached = False


_DONE = object()


class AnalyticsShardStream:
    """The finished shards of one extraction, as an async iterator (see `aiter_analytics_shards`).

    Iterate it (`async for shard in stream`) to receive each `AnalyticsShard`
    as soon as it (and, with `ordered=True`, every shard before it in the plan)
    is done. After the iteration, `summary()` says how it went (failures,
    shard counts, probes, duration); `headers`, `names` and `dimensions`
    hold what every shard so far answered. Leaving the iteration early (or
    `aclose()`) cancels the requests still running.
    """

    def __init__(
        self,
        client: AsyncDhis2Client,
        query: AnalyticsQuery,
        *,
        max_rows: int,
        max_url_length: int,
        slot: SlotFactory | None,
        shard_cache: ShardCache | None,
        freshness: str | None,
        store_shards: bool,
        at: date | None,
        min_shards: int | None,
        retry_passes: int,
        retry_delay_s: float,
        ordered: bool,
        logger: Logger,
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        if retry_passes < 0:
            raise ValueError("retry_passes must be 0 or more")
        self.client = client
        self.query = query
        self.plan_query = query
        self.max_rows = max_rows
        self.max_url_length = max_url_length
        self.slot = slot
        self.cache = shard_cache if freshness is not None else None
        self.freshness = freshness
        self.store_shards = store_shards
        self.at = at
        self.min_shards = min_shards
        self.retry_passes = retry_passes
        self.retry_delay_s = retry_delay_s
        self.ordered = ordered
        self.logger = logger
        self.resolved: dict[str, list[str]] = {}
        self.headers: list[str] = []
        self.names: dict[str, str] = {}
        self.learned_limit: int | None = None
        self._base_args: tuple[list[str], list[str], dict[str, str]] | None = None
        self._dims: dict[str, dict[str, None]] = {}
        self._planned: list[_Planned] = []
        self._next = 0  # the next planned shard to hand out, in order
        self._ready: dict[int, AnalyticsShard | None] = {}
        self._out: asyncio.Queue[Any] = asyncio.Queue()
        self._driver: asyncio.Task[None] | None = None
        self._queue: WorkQueue[tuple[_Planned, Shard]] = WorkQueue()
        self._later: list[tuple[_Planned, Shard, Dhis2Error]] = []
        self._pass = 0
        self._failures: list[ShardFailure] = []
        self._done = 0
        self._rows = 0
        self._requests = 0
        self._fetched = 0
        self._cached = 0
        self._split = 0
        self._probes = 0
        self._logged_step = -1
        self._scouts_left = 0
        self._started = time.perf_counter()
        self._duration: float | None = None
        self._finished = False

    # -- the async iterator ------------------------------------------------------------

    def __aiter__(self) -> AnalyticsShardStream:
        return self

    async def __anext__(self) -> AnalyticsShard:
        if self._finished:
            raise StopAsyncIteration
        if self._driver is None:
            self._driver = asyncio.ensure_future(self._drive())
        item = await self._out.get()
        if item is _DONE:
            self._finished = True
            await self._driver  # raises what stopped the extraction, if anything
            raise StopAsyncIteration
        shard: AnalyticsShard = item
        return shard

    async def aclose(self) -> None:
        """Stop the extraction: cancel the requests still running."""
        self._finished = True
        if self._driver is not None and not self._driver.done():
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def dimensions(self) -> dict[str, list[str]]:
        """Dimension id to the item ids every shard so far answered, in first-seen order."""
        return {dim: list(items) for dim, items in self._dims.items()}

    @property
    def progress(self) -> ExtractionProgress:
        """Where the extraction is now."""
        return ExtractionProgress(self._done, len(self._planned), self._rows, self._requests)

    def summary(self) -> AnalyticsExtractSummary:
        """How the extraction went (complete once the iteration has ended)."""
        duration = self._duration
        if duration is None:
            duration = time.perf_counter() - self._started
        return AnalyticsExtractSummary(
            base_url=self.client.base_url,
            failures=list(self._failures),
            shards_planned=len(self._planned),
            shards_fetched=self._fetched,
            shards_cached=self._cached,
            shards_split=self._split,
            probe_requests=self._probes,
            duration_s=round(duration, 3),
        )

    # -- the driver --------------------------------------------------------------------

    async def _drive(self) -> None:
        try:
            await self._plan()
            if self.max_rows > SCOUT_ROWS:
                self._scouts_left = self.client.settings.max_concurrency
            for planned in self._planned:
                await self._add(planned)
            while True:
                await run_queue(
                    self._queue,
                    self._fetch,
                    workers=self.client.settings.max_concurrency,
                    slot=self.slot,
                )
                if not self._later:
                    break
                self._pass += 1
                later, self._later = self._later, []
                delay = self.retry_delay_s * 2 ** (self._pass - 1)
                self.logger.info(
                    "Analytics: %d shard(s) failed on transient errors; pass %d of %d in %.0f s",
                    len(later),
                    self._pass,
                    self.retry_passes,
                    delay,
                )
                await asyncio.sleep(delay)
                self._queue = WorkQueue()
                for planned, piece, _ in later:
                    self._queue.add((planned, piece))
        finally:
            self._duration = time.perf_counter() - self._started
            self._out.put_nowait(_DONE)

    async def _plan(self) -> None:
        query = self.query
        weights: dict[str, int] = {}
        if _needs_probe(query):
            query = await self._probe(query)
        if "ou" in self.resolved:
            weights = {}
        min_shards = self.min_shards
        if min_shards is None:
            rows = estimate_rows(query, weights, at=self.at)
            if self.resolved.get("ou") and is_composite_ou(query.org_units):
                rows = rows // max(_composite_weight(query), 1) * len(self.resolved["ou"])
            if self.resolved.get("co"):
                rows *= len(self.resolved["co"])
            workers = self.client.settings.max_concurrency
            min_shards = min(4 * workers, max(rows // MIN_SHARD_ROWS, 1))
        self.plan_query = query
        shards = plan_shards(
            query,
            max_rows=self.max_rows,
            max_url_length=self.max_url_length,
            base_url=self.client.base_url,
            weights=weights,
            at=self.at,
            min_shards=min_shards,
            resolved=self.resolved,
        )
        self._planned = [_Planned(i, s) for i, s in enumerate(shards)]

    async def _probe(self, query: AnalyticsQuery) -> AnalyticsQuery:
        """Resolve relative periods, org unit levels/groups/keywords and `co` (one request)."""
        probe = query.replace(skip_data=True, skip_meta=False, include_num_den=None)
        dimension, filters, params = _call_args(probe)
        self._requests += 1
        grid = await self.client.fetch_analytics(dimension, filters, **params)
        self._probes = 1
        payload = _grid_payload(grid)
        dims = payload["dimensions"]
        self.names.update(payload["names"])
        resolved = query
        if query.periods and any(is_relative_period(p) for p in query.periods):
            periods = [str(p) for p in dims.get("pe", [])]
            if periods:
                resolved = resolved.replace(periods=periods, relative_period_date=None)
        if is_composite_ou(query.org_units) and dims.get("ou"):
            self.resolved["ou"] = list(dict.fromkeys(str(o) for o in dims["ou"]))
        if "co" in query.dimensions and not query.dimensions["co"] and dims.get("co"):
            self.resolved["co"] = list(dict.fromkeys(str(c) for c in dims["co"]))
        return resolved

    def shard_args(self, piece: Shard) -> tuple[list[str], list[str], dict[str, str]]:
        """The request of `piece`: the plan's request with the piece's items.

        Equal to `_call_args(piece.query(plan_query))` without validating the
        items again (they come from the validated request or the server).
        """
        if self._base_args is None:
            self._base_args = _call_args(self.plan_query)
        _, filters, params = self._base_args
        dimension = []
        for dim, items in self.plan_query.ordered_dimensions:
            if dim in ("dx", "ou", "pe", "co") and piece.axis(dim):
                items = piece.axis(dim)
            dimension.append(f"{dim}:{';'.join(items)}" if items else dim)
        if piece.periods and "relativePeriodDate" in params:
            params = {k: v for k, v in params.items() if k != "relativePeriodDate"}
        return dimension, filters, params

    def shard_key(self, shard: Shard) -> str:
        """The shard cache key of a planned shard (instance, request, freshness)."""
        text = json.dumps(
            [self.client.base_url, shard.query(self.plan_query).canonical_key(), self.freshness]
        )
        return "dhis2-analytics-shard-" + hashlib.sha256(text.encode()).hexdigest()

    async def _add(self, planned: _Planned) -> None:
        """Queue a planned shard unless the shard cache already holds it."""
        if self.cache is not None:
            stored = _stored_grid(await self.cache.get(self.shard_key(planned.shard)))
            if stored is not None:
                self._cached += 1
                planned.cached = True
                planned.parts.append(stored)
                planned.pending = 0
                await self._complete(planned)
                return
        pieces = [planned.shard]
        if self._scouts_left > 0 and planned.shard.estimated_rows > SCOUT_ROWS:
            pieces = self._scout_pieces(planned.shard)
            self._scouts_left -= len(pieces)
        planned.pending = len(pieces)
        for piece in pieces:
            self._queue.add((planned, piece))

    def _scout_pieces(self, shard: Shard) -> list[Shard]:
        """The first requests, cut to `SCOUT_ROWS`: a refusal for size comes back quickly.

        While the server's row limit is unknown, the first shards sent are small,
        so that a server with a lowered `keyAnalyticsMaxLimit` refuses them after
        little work and every shard after them is planned to the limit it names;
        on a server that accepts them they are just the first rows.
        """
        try:
            pieces = fit_shard(
                shard,
                self.plan_query,
                max_rows=SCOUT_ROWS,
                max_url_length=self.max_url_length,
                base_url=self.client.base_url,
                resolved=self.resolved,
            )
        except ShardTooLargeError:
            return [shard]
        # A shard planned far larger (an explicit max_rows) is not worth many small requests.
        return pieces if len(pieces) <= 4 * self.client.settings.max_concurrency else [shard]

    async def _fetch(self, item: tuple[_Planned, Shard]) -> None:
        planned, piece = item
        budget = self.learned_limit
        # Once the server's limit is known, a piece over it is re-planned before it is sent.
        if (
            budget is not None
            and piece.estimated_rows > budget
            and self._requeue(planned, piece, budget)
        ):
            return
        dimension, filters, params = self.shard_args(piece)
        self._requests += 1
        try:
            grid = await self.client.fetch_analytics(dimension, filters, **params)
        except Dhis2AuthenticationError:
            raise  # every other shard would fail the same way
        except Dhis2Error as error:
            await self._failed(planned, piece, error)
            return
        self._fetched += 1
        planned.parts.append(_grid_payload(grid))
        self._rows += len(grid.rows)
        planned.pending -= 1
        if planned.pending == 0:
            await self._complete(planned)

    def _requeue(self, planned: _Planned, piece: Shard, budget: int) -> bool:
        """Cut `piece` to fit `budget` and queue the parts; False when it cannot be cut."""
        try:
            parts = fit_shard(
                piece,
                self.plan_query,
                max_rows=budget,
                max_url_length=self.max_url_length,
                base_url=self.client.base_url,
                resolved=self.resolved,
            )
        except ShardTooLargeError:
            return False
        if len(parts) < 2:
            return False
        planned.pending += len(parts) - 1
        for part in parts:
            self._queue.add((planned, part))
        return True

    async def _failed(self, planned: _Planned, piece: Shard, error: Dhis2Error) -> None:
        code = error.error_code
        too_many_rows = isinstance(error, Dhis2ConflictError) and code == "E7128"
        splittable = (
            (isinstance(error, Dhis2ConflictError) and code in SPLIT_ERROR_CODES)
            or isinstance(error, Dhis2TimeoutError)
            or (isinstance(error, Dhis2ServerError) and error.status_code == 504)
            or (isinstance(error, Dhis2RequestError) and error.status_code in (413, 414))
        )
        if too_many_rows:
            limit = server_row_limit(error.dhis2_message or error.message)
            if limit is not None and (self.learned_limit is None or limit < self.learned_limit):
                self.learned_limit = limit
                self.logger.info(
                    "Analytics: the server's row limit is %d (E7128); re-planning the "
                    "shards still queued",
                    limit,
                )
            budget = self.learned_limit
            if (
                budget is not None
                and piece.estimated_rows > budget
                and self._requeue(planned, piece, budget)
            ):
                self._split += 1
                return
        if splittable:
            by = "text" if error.status_code in (413, 414) else "rows"
            try:
                halves = split_shard(piece, self.plan_query, parts=2, by=by, resolved=self.resolved)
            except ShardTooLargeError:
                if too_many_rows:
                    await self._fail(planned, piece, error, single_cell=True)
                    return
            else:
                self._split += 1
                self.logger.info(
                    "Analytics shard of ~%d rows refused (%s); split in two",
                    piece.estimated_rows,
                    code or type(error).__name__,
                )
                planned.pending += 1
                for half in halves:
                    self._queue.add((planned, half))
                return
        permanent = isinstance(error, Dhis2ConflictError) or (
            isinstance(error, Dhis2RequestError) and error.status_code != 429 and not splittable
        )
        if not permanent and self._pass < self.retry_passes:
            self._later.append((planned, piece, error))
            self.logger.info("Analytics shard failed (%s); queued for a later pass", error)
            return
        await self._fail(planned, piece, error, permanent=permanent)

    async def _fail(
        self,
        planned: _Planned,
        piece: Shard,
        error: Dhis2Error,
        *,
        permanent: bool = True,
        single_cell: bool = False,
    ) -> None:
        message = error.dhis2_message or error.message
        if single_cell:
            message = (
                f"A single analytics cell has more rows than the server's limit "
                f"({self.learned_limit or 'keyAnalyticsMaxLimit'}) and cannot be split "
                f"further (dx={list(piece.data_items)}, ou={list(piece.org_units)[:3]}, "
                f"pe={list(piece.periods)}, co={list(piece.option_combos) or 'as requested'}): "
                "raise the system setting keyAnalyticsMaxLimit or narrow the data item. "
                f"DHIS2 said: {message}"
            )
        self._failures.append(
            ShardFailure(
                data_items=list(piece.data_items),
                org_units=list(piece.org_units),
                periods=list(piece.periods),
                option_combos=list(piece.option_combos),
                error="ShardTooLargeError" if single_cell else type(error).__name__,
                status_code=error.status_code,
                error_code=error.error_code,
                message=message,
                permanent=permanent,
            )
        )
        self.logger.warning("Analytics shard failed: %s", message if single_cell else error)
        planned.failed = True
        planned.pending -= 1
        if planned.pending == 0:
            await self._complete(planned)

    async def _complete(self, planned: _Planned) -> None:
        """A planned shard is done: merge its pieces and hand it (and those now due) out."""
        self._done += 1
        shard: AnalyticsShard | None = None
        if planned.parts:
            # A shard with a failed piece still hands out the rows of the pieces that
            # came back (its failures are in the summary), but is never cached.
            shard = self._merge_planned(planned)
            if (
                self.cache is not None
                and self.store_shards
                and not planned.cached
                and not planned.failed
            ):
                await self.cache.put(
                    self.shard_key(planned.shard),
                    {
                        "headers": shard.headers,
                        "rows": shard.rows,
                        "names": shard.names,
                        "dimensions": shard.dimensions,
                    },
                )
        planned.parts = []
        self._log_progress()
        if not self.ordered:
            if shard is not None:
                self._out.put_nowait(shard)
            return
        self._ready[planned.index] = shard
        while self._next in self._ready:
            due = self._ready.pop(self._next)
            self._next += 1
            if due is not None:
                self._out.put_nowait(due)

    def _merge_planned(self, planned: _Planned) -> AnalyticsShard:
        headers: list[str] = []
        names: dict[str, str] = {}
        dims: dict[str, dict[str, None]] = {}
        parts = planned.parts
        for part in parts:
            if part["headers"]:
                if not headers:
                    headers = list(part["headers"])
                elif list(part["headers"]) != headers:
                    raise ValueError(
                        "Analytics shards answered different columns: "
                        f"{headers} and {part['headers']}"
                    )
            names.update(part["names"])
            for dim, items in part["dimensions"].items():
                dims.setdefault(dim, {}).update(dict.fromkeys(items))
        rows = parts[0]["rows"]
        if len(parts) > 1:
            rows = list(rows)
            for part in parts[1:]:
                rows += part["rows"]  # references, at C speed
        _sort_rows(headers, rows)
        if headers:
            if not self.headers:
                self.headers = headers
            elif headers != self.headers:
                raise ValueError(
                    f"Analytics shards answered different columns: {self.headers} and {headers}"
                )
        self.names.update(names)
        for dim, items in dims.items():
            self._dims.setdefault(dim, {}).update(items)
        return AnalyticsShard(
            index=planned.index,
            shard=planned.shard,
            headers=headers,
            rows=rows,
            names=names,
            dimensions={dim: list(items) for dim, items in dims.items()},
            cached=planned.cached,
            progress=self.progress,
            complete=not planned.failed,
        )

    def _log_progress(self) -> None:
        planned = len(self._planned)
        if planned < 2:
            return
        step = int(self.progress.percent // PROGRESS_LOG_STEP)
        if step > self._logged_step:
            self._logged_step = step
            self.logger.info(
                "Analytics: %d of %d shards (%.0f%%), %s rows, %d requests",
                self._done,
                planned,
                self.progress.percent,
                f"{self._rows:,}",
                self._requests,
            )


def _composite_weight(query: AnalyticsQuery) -> int:
    """Rows `estimate_rows` counted for a composite ou axis without weights (one per item)."""
    return max(sum(1 for i in query.org_units if i.startswith(("LEVEL-", "OU_GROUP-"))), 1)


def aiter_analytics_shards(
    client: AsyncDhis2Client,
    query: AnalyticsQuery,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    slot: SlotFactory | None = None,
    shard_cache: ShardCache | None = None,
    freshness: str | None = None,
    store_shards: bool = True,
    at: date | None = None,
    min_shards: int | None = None,
    retry_passes: int = DEFAULT_RETRY_PASSES,
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
    ordered: bool = True,
    logger: Logger | None = None,
) -> AnalyticsShardStream:
    """Run `query` in shards, concurrently, and yield each finished shard while the rest run.

    This is the engine under `afetch_analytics_table` (which collects every
    shard into one extract) and under the streaming table export; iterate it
    to write or load rows while the extraction runs, with memory bounded by
    the shards in flight:

    1. When the query holds relative periods, org unit levels, groups or user
       keywords, or `co` without items, one `skipData=true` probe asks the
       server what they resolve to.
    2. `prefect_dhis2.analytics.shards.plan_shards` cuts the request into
       shards under a row budget and a URL-length budget, with as few requests
       as possible; the shards partition the rows of the request.
    3. `client.settings.max_concurrency` workers fetch the shards, each inside
       a `slot` (the Prefect task passes one of the host's global concurrency
       limit).
    4. A shard refused as too large (E7128) teaches the server's limit (its
       message names it): the shard and every queued one over it are cut to
       fit, along any axis with more than one item (a level or group is listed
       as its org units, `co` as its option combos). Timeouts and 414s split
       the shard in two. Only a single (dx, ou, pe, co) cell over the limit
       fails, with an error that says so. While the limit is unknown, the
       first requests (one per worker) are cut to `SCOUT_ROWS` rows, so a
       lowered limit is learned after little server work.
    5. Transient failures (5xx, 429, connection errors after the client's own
       retries) are queued for up to `retry_passes` later passes, after
       `retry_delay_s`, doubling; permanent ones (403, other E7xxx) are
       recorded and not retried.

    Each yielded `AnalyticsShard` holds its rows sorted by the natural key;
    with `ordered=True` shards come in plan order, so the concatenated rows
    are the same, in the same order, on every run, whatever the timing,
    faults or splits.

    Args:
        client: An open async client (its `max_concurrency` is the worker count).
        query: The whole request.
        max_rows: Row budget per planned shard; lowered to the server's
            `keyAnalyticsMaxLimit` once a refusal names it.
        max_url_length: URL budget per shard.
        slot: Makes the slot each worker holds while it fetches shards; None =
            no budget beyond the client's `max_concurrency`.
        shard_cache: Where finished planned shards are read from (and, with
            `store_shards`, kept); used only with `freshness`.
        freshness: The server's `lastAnalyticsTableSuccess`, part of shard keys.
        store_shards: Store each finished shard in `shard_cache`.
        at: Date relative periods resolve at when the query sets no
            `relative_period_date` (otherwise the server is asked).
        min_shards: Cut a large request into at least this many shards so the
            workers stay busy to the end; default four per worker, never
            shards of fewer than `MIN_SHARD_ROWS` rows.
        retry_passes: Later passes for shards that failed on transient errors.
        retry_delay_s: Wait before the first later pass (doubles each pass).
        ordered: Yield shards in plan order (deterministic output); False
            yields each as soon as it is done.
        logger: Where progress (a line per 5 %), splits and failures are
            logged; default the `prefect_dhis2.analytics` logger.

    Returns:
        An `AnalyticsShardStream`: iterate it, then read `summary()`.

    Raises:
        ValueError: If `max_rows` is below 1 or `retry_passes` negative.

    Examples:
        ```python
        from prefect_dhis2.analytics import AnalyticsQuery, aiter_analytics_shards

        query = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["LEVEL-4"],
                               periods=["LAST_12_MONTHS"])
        async with credentials.get_async_client() as client:
            stream = aiter_analytics_shards(client, query)
            async for shard in stream:
                print(shard.index, len(shard.rows), shard.progress.percent)
            print(stream.summary().failures)
        ```
    """
    return AnalyticsShardStream(
        client,
        query,
        max_rows=max_rows,
        max_url_length=max_url_length,
        slot=slot,
        shard_cache=shard_cache,
        freshness=freshness,
        store_shards=store_shards,
        at=at,
        min_shards=min_shards,
        retry_passes=retry_passes,
        retry_delay_s=retry_delay_s,
        ordered=ordered,
        logger=logger or logging.getLogger("prefect_dhis2.analytics"),
    )


ProgressCallback = Callable[[ExtractionProgress], object]
"""Called with the progress after each finished planned shard."""


async def afetch_analytics_table(
    client: AsyncDhis2Client,
    query: AnalyticsQuery,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    slot: SlotFactory | None = None,
    shard_cache: ShardCache | None = None,
    freshness: str | None = None,
    at: date | None = None,
    min_shards: int | None = None,
    retry_passes: int = DEFAULT_RETRY_PASSES,
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
    logger: Logger | None = None,
    on_progress: ProgressCallback | None = None,
) -> AnalyticsExtract:
    """Fetch `query` in shards, concurrently, and merge them into one result.

    The shards come from `aiter_analytics_shards` (see there for planning,
    splitting, the learned row limit and later passes); their rows are joined
    in plan order without copying a row, so the extract's rows are the rows
    of one unlimited request in a stable order. With a `shard_cache`, the
    finished shards are stored only when some shard failed, so the re-run
    fetches only those.

    Args:
        client: An open async client (its `max_concurrency` is the worker count).
        query: The whole request.
        max_rows: Row budget per shard (lowered to the server's limit once known).
        max_url_length: URL budget per shard.
        slot: Makes the slot each worker holds while it fetches shards (the task
            passes one of the host's Prefect global concurrency limit, see
            `prefect_dhis2.host_limit.host_slot`); None = no budget beyond the
            client's `max_concurrency`.
        shard_cache: Where finished shards are read from and kept; used only
            with `freshness`.
        freshness: The server's `lastAnalyticsTableSuccess`, part of shard keys.
        at: Date relative periods resolve at when the query sets no
            `relative_period_date` (otherwise the server is asked).
        min_shards: Cut a large request into at least this many shards so the
            workers stay busy to the end; default four per worker.
        retry_passes: Later passes for shards that failed on transient errors.
        retry_delay_s: Wait before the first later pass (doubles each pass).
        logger: Where progress, shard splits and failures are logged (the task
            passes Prefect's run logger); default the `prefect_dhis2.analytics` logger.
        on_progress: Called after each finished planned shard (the task
            updates a Prefect progress artifact with it).

    Returns:
        The merged extract; `failures` lists the shards that could not be fetched.

    Raises:
        Dhis2AuthenticationError: If DHIS2 refuses the credentials.

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            extract = await afetch_analytics_table(client, query, max_rows=50_000)
        ```
    """
    stream = aiter_analytics_shards(
        client,
        query,
        max_rows=max_rows,
        max_url_length=max_url_length,
        slot=slot,
        shard_cache=shard_cache,
        freshness=freshness,
        store_shards=False,
        at=at,
        min_shards=min_shards,
        retry_passes=retry_passes,
        retry_delay_s=retry_delay_s,
        logger=logger,
    )
    shards: list[AnalyticsShard] = []
    async with stream:
        async for shard in stream:
            shards.append(shard)
            if on_progress is not None:
                on_progress(shard.progress)
    summary = stream.summary()
    if stream.cache is not None and summary.failures:
        # Keep the finished shards for the re-run, which then fetches only the failed ones.
        for shard in shards:
            if shard.complete and not shard.cached:
                await stream.cache.put(
                    stream.shard_key(shard.shard),
                    {
                        "headers": shard.headers,
                        "rows": shard.rows,
                        "names": shard.names,
                        "dimensions": shard.dimensions,
                    },
                )
    rows: list[GridRow] = []
    for shard in shards:
        rows += shard.rows  # references: no row is copied
    return AnalyticsExtract.model_construct(
        **{name: getattr(summary, name) for name in AnalyticsExtractSummary.model_fields},
        headers=stream.headers,
        rows=rows,
        names=stream.names,
        dimensions=stream.dimensions,
    )


_VALUE_HEADERS = frozenset({"value", "numerator", "denominator", "factor", "multiplier", "divisor"})


def _merge(base_url: str, parts: Sequence[Mapping[str, Any]]) -> AnalyticsExtract:
    """Join shard grids (headers checked, names and dimensions united), rows by reference."""
    headers: list[str] = []
    rows: list[GridRow] = []
    names: dict[str, str] = {}
    dimensions: dict[str, dict[str, None]] = {}
    for part in parts:
        if not headers and part["headers"]:
            headers = list(part["headers"])
        elif part["headers"] and list(part["headers"]) != headers:
            raise ValueError(
                f"Analytics shards answered different columns: {headers} and {part['headers']}"
            )
        rows += part["rows"]
        names.update(part["names"])
        for dim, items in part["dimensions"].items():
            dimensions.setdefault(dim, {}).update(dict.fromkeys(items))
    return AnalyticsExtract.model_construct(
        base_url=base_url,
        headers=headers,
        rows=rows,
        names=names,
        dimensions={dim: list(items) for dim, items in dimensions.items()},
    )


# ---------------------------------------------------------------- cache keys


def analytics_freshness(info: ServerInfo) -> str:
    """The freshness token of analytics: when analytics tables were last generated."""
    return info.last_analytics_table_success or "never"


def _server_day(info: ServerInfo) -> date:
    if info.server_date:
        try:
            return date.fromisoformat(info.server_date[:10])
        except ValueError:
            pass
    return date.today()


def analytics_cache_key(
    base_url: str, user_id: str, query: AnalyticsQuery, info: ServerInfo
) -> str:
    """The cache key of an extraction: instance, user, canonical request, server freshness.

    Relative periods are resolved at the query's `relative_period_date` or the
    server's date, so `LAST_12_MONTHS` keys differently once a month turns.
    The user's id is part of the key because DHIS2 shows each user the data
    of their own org units; no secret is.

    Examples:
        >>> from prefect_dhis2.models import ServerInfo
        >>> info = ServerInfo.model_validate({"version": "2.40.3",
        ...     "serverDate": "2024-06-15T10:00:00.000",
        ...     "lastAnalyticsTableSuccess": "2024-06-15T02:00:00.000"})
        >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD"], periods=["LAST_4_QUARTERS"])
        >>> fixed = AnalyticsQuery(data_items=["fbfJHSPpUQD"],
        ...     periods=["2023Q2", "2023Q3", "2023Q4", "2024Q1"])
        >>> key = analytics_cache_key("https://dhis2.example.org", "M5zQapPyTZI", q, info)
        >>> key == analytics_cache_key("https://dhis2.example.org", "M5zQapPyTZI", fixed, info)
        True
    """
    at = query.relative_period_date or _server_day(info)
    text = json.dumps([base_url, user_id, query.canonical_key(at), analytics_freshness(info)])
    return hashlib.sha256(text.encode()).hexdigest()
