"""The analytics extraction engine: sharded, concurrent, and equal to one unlimited request.

`afetch_analytics_table` runs an `AnalyticsQuery` of any size against DHIS2 with an
open `AsyncDhis2Client`; it needs no Prefect:

1. When the query holds relative periods or org unit levels, groups or user
   keywords, one `skipData=true` probe asks the server what they resolve to,
   so shards carry exactly the periods and org units the server would use.
2. `prefect_dhis2.analytics.shards.plan_shards` cuts the request into shards
   under a row budget and a URL-length budget with as few requests as possible.
3. A pool of workers (the client's `max_concurrency`, enforced by its
   semaphore) runs the shards through `prefect_dhis2.work_queue.run_queue`;
   each worker holds a `slot` while it works (the Prefect task passes one slot
   of the host's global concurrency limit, so every flow run and worker
   hitting one server shares one budget).
4. A shard refused as too large (E7128, a query timeout, 414) or timing out is
   bisected along its largest axis and both halves are queued. Permanent
   failures (403, other E7xxx) are recorded and not retried.
5. The shard grids are merged: rows concatenated (shards partition the
   items, so no row can appear twice), metaData names and dimensions united.

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

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from prefect_dhis2.analytics.query import AnalyticsQuery
from prefect_dhis2.analytics.shards import (
    DEFAULT_MAX_URL_LENGTH,
    Shard,
    ShardTooLargeError,
    bisect_shard,
    estimate_rows,
    plan_shards,
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
from prefect_dhis2.models import AnalyticsGrid, ServerInfo
from prefect_dhis2.periods import is_relative_period
from prefect_dhis2.work_queue import SlotFactory, WorkQueue, run_queue

__all__ = [
    "DEFAULT_MAX_ROWS",
    "MIN_SHARD_ROWS",
    "SPLIT_ERROR_CODES",
    "AnalyticsExtract",
    "AnalyticsExtractSummary",
    "AnalyticsExtractionError",
    "ShardCache",
    "ShardFailure",
    "afetch_analytics_table",
    "analytics_cache_key",
    "analytics_freshness",
]

Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]

DEFAULT_MAX_ROWS = 50_000
"""Row budget per shard: half of DHIS2's default `keyAnalyticsMaxLimit` (100,000)."""

MIN_SHARD_ROWS = 2_000
"""Requests are not cut below this many rows just to keep workers busy."""

SPLIT_ERROR_CODES = frozenset({"E7128", "E7131", "E7136"})
"""Analytics errors answered by splitting the shard: over the row limit, query timed out."""

_EXPANDING_OU = ("LEVEL-", "OU_GROUP-", "USER_ORGUNIT")


class ShardFailure(BaseModel):
    """A shard that could not be fetched.

    Attributes:
        data_items: The shard's dx items.
        org_units: The shard's ou items.
        periods: The shard's periods.
        error: The exception class name.
        status_code: The HTTP status, if any.
        error_code: DHIS2's error code, if any.
        message: The error message (never credentials).
        permanent: True for refusals that a retry cannot fix (403, E7xxx).
    """

    data_items: list[str]
    org_units: list[str]
    periods: list[str]
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
        rows: Grid rows (strings, as DHIS2 sends them).
        names: Item id to display name, from every shard's `metaData.items`.
        dimensions: Dimension id to item ids, from every shard's `metaData.dimensions`.
    """

    headers: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)
    dimensions: dict[str, list[str]] = Field(default_factory=dict)


class AnalyticsExtractionError(Exception):
    """Some shards of an extraction failed; the others are in the shard cache.

    Attributes:
        failures: The failed shards.
    """

    def __init__(self, base_url: str, failures: Sequence[ShardFailure]) -> None:
        self.base_url = base_url
        self.failures = list(failures)
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
        return (type(self), (self.base_url, self.failures))


class ShardCache(Protocol):
    """Where finished shard grids are kept between runs."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """The stored grid of `key`, or None."""

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Store the grid of `key`."""


# ---------------------------------------------------------------- the executor


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
    return relative or any(i.startswith(_EXPANDING_OU) for i in query.org_units)


def _grid_payload(grid: AnalyticsGrid) -> dict[str, Any]:
    items = grid.meta_data.get("items", {}) if isinstance(grid.meta_data, dict) else {}
    names = {
        key: str(value["name"])
        for key, value in items.items()
        if isinstance(value, dict) and "name" in value
    }
    dims = grid.meta_data.get("dimensions", {}) if isinstance(grid.meta_data, dict) else {}
    return {
        "headers": grid.column_names,
        "rows": grid.rows,
        "names": names,
        "dimensions": {k: list(v) for k, v in dims.items() if isinstance(v, list)},
    }


class _Run:
    """State of one extraction (shared by the workers)."""

    def __init__(
        self,
        client: AsyncDhis2Client,
        query: AnalyticsQuery,
        *,
        slot: SlotFactory | None,
        cache: ShardCache | None,
        freshness: str | None,
        logger: Logger,
    ) -> None:
        self.client = client
        self.query = query
        self.slot = slot
        self.cache = cache if freshness is not None else None
        self.freshness = freshness
        # Queued items are (planned shard, piece): a piece is the planned shard
        # itself or a part of it left by bisection.
        self.queue: WorkQueue[tuple[Shard, Shard]] = WorkQueue()
        self.parts: dict[Shard, list[dict[str, Any]]] = {}
        self.incomplete: set[Shard] = set()
        self.failures: list[ShardFailure] = []
        self.fetched = self.cached = self.split = 0
        self.logger = logger

    def shard_key(self, shard: Shard) -> str:
        text = json.dumps(
            [self.client.base_url, shard.query(self.query).canonical_key(), self.freshness]
        )
        return "dhis2-analytics-shard-" + hashlib.sha256(text.encode()).hexdigest()

    async def add(self, shard: Shard) -> None:
        """Queue a planned shard unless the shard cache already holds it."""
        self.parts[shard] = []
        if self.cache is not None:
            stored = await self.cache.get(self.shard_key(shard))
            if stored is not None:
                self.cached += 1
                self.parts[shard].append(stored)
                return
        self.queue.add((shard, shard))

    async def run(self) -> None:
        await run_queue(
            self.queue,
            self.fetch,
            workers=self.client.settings.max_concurrency,
            slot=self.slot,
        )

    async def fetch(self, item: tuple[Shard, Shard]) -> None:
        planned, piece = item
        dimension, filters, params = _call_args(piece.query(self.query))
        try:
            grid = await self.client.fetch_analytics(dimension, filters, **params)
        except Dhis2AuthenticationError:
            raise  # every other shard would fail the same way
        except Dhis2Error as error:
            self.failed(planned, piece, error)
            return
        self.fetched += 1
        self.parts[planned].append(_grid_payload(grid))

    async def keep_finished(self) -> None:
        """After a partial failure, store each complete planned shard for the next run.

        A complete run is cached as a whole by the task, so shards are stored
        only when some failed: the re-run then fetches only those.
        """
        if self.cache is None or not self.failures:
            return
        for planned, parts in self.parts.items():
            if planned in self.incomplete or not parts:
                continue
            merged = _merge("", parts)
            await self.cache.put(
                self.shard_key(planned),
                {
                    "headers": merged.headers,
                    "rows": merged.rows,
                    "names": merged.names,
                    "dimensions": merged.dimensions,
                },
            )

    def failed(self, planned: Shard, shard: Shard, error: Dhis2Error) -> None:
        splittable = (
            (isinstance(error, Dhis2ConflictError) and error.error_code in SPLIT_ERROR_CODES)
            or isinstance(error, Dhis2TimeoutError)
            or (isinstance(error, Dhis2ServerError) and error.status_code == 504)
            or (isinstance(error, Dhis2RequestError) and error.status_code in (413, 414))
        )
        if splittable:
            by = "text" if error.status_code in (413, 414) else "rows"
            try:
                halves = bisect_shard(shard, self.query, by=by)
            except ShardTooLargeError:
                pass
            else:
                self.split += 1
                self.logger.info(
                    "Analytics shard of ~%d rows refused (%s); split in two",
                    shard.estimated_rows,
                    error.error_code or type(error).__name__,
                )
                for half in halves:
                    self.queue.add((planned, half))
                return
        self.incomplete.add(planned)
        permanent = isinstance(error, Dhis2RequestError) and not splittable
        if isinstance(error, Dhis2RequestError) and error.status_code == 429:
            permanent = False
        self.failures.append(
            ShardFailure(
                data_items=list(shard.data_items),
                org_units=list(shard.org_units),
                periods=list(shard.periods),
                error=type(error).__name__,
                status_code=error.status_code,
                error_code=error.error_code,
                message=error.dhis2_message or error.message,
                permanent=permanent or isinstance(error, Dhis2ConflictError),
            )
        )
        self.logger.warning("Analytics shard failed: %s", error)


async def _probe(
    client: AsyncDhis2Client, query: AnalyticsQuery
) -> tuple[AnalyticsQuery, dict[str, int], list[str]]:
    """Resolve relative periods and org unit levels/groups with one `skipData` request.

    Returns the query with fixed periods, item weights, and the resolved org units.
    """
    probe = query.replace(skip_data=True, skip_meta=False, include_num_den=None)
    dimension, filters, params = _call_args(probe)
    grid = await client.fetch_analytics(dimension, filters, **params)
    dims = grid.meta_data.get("dimensions", {}) if isinstance(grid.meta_data, dict) else {}
    resolved = query
    if query.periods and any(is_relative_period(p) for p in query.periods):
        periods = [str(p) for p in dims.get("pe", [])]
        if periods:
            resolved = resolved.replace(periods=periods, relative_period_date=None)
    org_units = [str(o) for o in dims.get("ou", [])]
    expanding = [i for i in query.org_units if i.startswith(_EXPANDING_OU)]
    weights: dict[str, int] = {}
    if expanding and org_units:
        plain = [i for i in query.org_units if not i.startswith(_EXPANDING_OU)]
        # With levels or groups, plain UIDs are boundaries (no rows of their own).
        share = (
            len(org_units)
            if any(i.startswith(("LEVEL-", "OU_GROUP-")) for i in expanding)
            else max(len(org_units) - len(plain), 1)
        )
        for item in expanding:
            weights[item] = max(share // len(expanding), 1)
    return resolved, weights, org_units


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
    logger: Logger | None = None,
) -> AnalyticsExtract:
    """Fetch `query` in shards, concurrently, and merge them into one result.

    Args:
        client: An open async client (its `max_concurrency` is the worker count).
        query: The whole request.
        max_rows: Row budget per shard (keep it under the server's analytics limit).
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
            workers stay busy to the end; default four per worker, never
            shards of fewer than `MIN_SHARD_ROWS` rows.
        logger: Where shard splits and failures are logged (the task passes
            Prefect's run logger); default the `prefect_dhis2.analytics` logger.

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
    started = time.perf_counter()
    probes = 0
    weights: dict[str, int] = {}
    plan_query = query
    if _needs_probe(query):
        plan_query, weights, org_units = await _probe(client, query)
        probes = 1
        if org_units and weights and max(weights.values()) > max_rows:
            # One org unit item alone is over budget: list its org units explicitly.
            plan_query = plan_query.replace(org_units=org_units)
            weights = {}
    if min_shards is None:
        rows = estimate_rows(plan_query, weights, at=at)
        min_shards = min(4 * client.settings.max_concurrency, max(rows // MIN_SHARD_ROWS, 1))
    shards = plan_shards(
        plan_query,
        max_rows=max_rows,
        max_url_length=max_url_length,
        base_url=client.base_url,
        weights=weights,
        at=at,
        min_shards=min_shards,
    )
    run = _Run(
        client,
        plan_query,
        slot=slot,
        cache=shard_cache,
        freshness=freshness,
        logger=logger or logging.getLogger("prefect_dhis2.analytics"),
    )
    for shard in shards:
        await run.add(shard)
    await run.run()
    await run.keep_finished()
    extract = _merge(client.base_url, [p for parts in run.parts.values() for p in parts])
    extract.failures = run.failures
    extract.shards_planned = len(shards)
    extract.shards_fetched = run.fetched
    extract.shards_cached = run.cached
    extract.shards_split = run.split
    extract.probe_requests = probes
    extract.duration_s = round(time.perf_counter() - started, 3)
    return extract


_VALUE_HEADERS = frozenset({"value", "numerator", "denominator", "factor", "multiplier", "divisor"})


def _unique_rows(headers: Sequence[str], rows: list[list[str]]) -> list[list[str]]:
    """Drop repeated cells of the grid: DHIS2 answers each dimension combination once,
    but shards can overlap (e.g. `USER_ORGUNIT` next to that unit's own UID)."""
    key_columns = [i for i, name in enumerate(headers) if name not in _VALUE_HEADERS]
    seen: set[tuple[str, ...]] = set()
    unique: list[list[str]] = []
    for row in rows:
        key = tuple(row[i] for i in key_columns)
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def _merge(base_url: str, parts: Sequence[Mapping[str, Any]]) -> AnalyticsExtract:
    headers: list[str] = []
    rows: list[list[str]] = []
    names: dict[str, str] = {}
    dimensions: dict[str, dict[str, None]] = {}
    for part in parts:
        if not headers and part["headers"]:
            headers = list(part["headers"])
        elif part["headers"] and list(part["headers"]) != headers:
            raise ValueError(
                f"Analytics shards answered different columns: {headers} and {part['headers']}"
            )
        rows.extend(part["rows"])
        names.update(part["names"])
        for dim, items in part["dimensions"].items():
            dimensions.setdefault(dim, {}).update(dict.fromkeys(items))
    return AnalyticsExtract(
        base_url=base_url,
        headers=headers,
        rows=_unique_rows(headers, rows),
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
