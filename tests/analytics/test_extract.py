"""Sharded extraction against the emulator over HTTP: equal to one unlimited request."""

from __future__ import annotations

import json
from typing import Any

from prefect_dhis2.analytics import AnalyticsQuery, afetch_analytics_table, aiter_analytics_shards
from prefect_dhis2.analytics.extract import AnalyticsExtract, _call_args
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.testing import CostModel, FaultRule

from .conftest import ROW_LIMIT

ANC = ["fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP"]
BO = "O6uvpzGd5pu"


async def unlimited(credentials: Dhis2Credentials, query: AnalyticsQuery) -> Any:
    dimension, filters, params = _call_args(query.replace(ignore_limit=True))
    async with credentials.get_async_client() as client:
        return await client.fetch_analytics(dimension, filters, **params)


def sorted_rows(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return sorted(rows)


async def test_over_the_row_limit_equals_the_ignore_limit_request(emulator, credentials):
    query = AnalyticsQuery(data_items=ANC, org_units=[BO, "LEVEL-4"], periods=["LAST_4_QUARTERS"])
    expected = await unlimited(credentials, query)
    assert len(expected.rows) > ROW_LIMIT
    emulator.request_log.clear()
    async with credentials.get_async_client() as client:
        # The planner believes 10,000 rows fit: the server refuses (E7128) and shards split.
        refused = await afetch_analytics_table(client, query, max_rows=10_000)
        planned = await afetch_analytics_table(client, query, max_rows=300)
    for extract in (refused, planned):
        assert extract.complete
        assert extract.headers == expected.column_names
        assert sorted_rows(extract.rows) == sorted_rows(expected.rows)
        assert len(extract.rows) == len({tuple(r[:3]) for r in extract.rows})
        for row in extract.rows:  # every item of every row has its name
            assert all(extract.names.get(item) for item in row[:3])
    assert refused.shards_split >= 1
    assert planned.shards_split == 0 and planned.shards_planned > 1
    statuses = [r.status for r in emulator.request_log.matching("/api/analytics")]
    assert 409 in statuses  # the refusals really happened on the server


async def test_a_level_larger_than_the_budget_is_listed_explicitly(emulator, credentials):
    query = AnalyticsQuery(data_items=ANC[:1], org_units=["LEVEL-4"], periods=["202401"])
    expected = await unlimited(credentials, query)
    assert len(expected.rows) > ROW_LIMIT
    async with credentials.get_async_client() as client:
        extract = await afetch_analytics_table(client, query, max_rows=ROW_LIMIT)
    assert extract.complete and extract.shards_planned >= 3
    assert sorted_rows(extract.rows) == sorted_rows(expected.rows)


async def test_injected_faults_do_not_change_the_result(emulator, credentials):
    query = AnalyticsQuery(data_items=ANC, org_units=[BO, "LEVEL-4"], periods=["LAST_4_QUARTERS"])
    expected = await unlimited(credentials, query)
    emulator.set_faults(
        [
            FaultRule(path="/api/analytics", kind="429", rate=0.025, retry_after=0, seed=1),
            FaultRule(path="/api/analytics", kind="503", rate=0.025, retry_after=0, seed=2),
            FaultRule(path="/api/analytics", kind="reset", rate=0.025, seed=3),
            FaultRule(path="/api/analytics", kind="truncate", rate=0.025, seed=4),
        ]
    )
    async with credentials.get_async_client() as client:
        extract = await afetch_analytics_table(client, query, max_rows=25)
    faults = [r.fault for r in emulator.request_log.matching("/api/analytics") if r.fault]
    assert faults, "no fault was injected"
    assert extract.complete
    assert sorted_rows(extract.rows) == sorted_rows(expected.rows)


async def test_permanent_failures_are_recorded_without_retry(emulator, credentials):
    unknown = "Xq0MissngDE"
    query = AnalyticsQuery(data_items=[unknown], org_units=[BO], periods=["202401"])
    async with credentials.get_async_client() as client:
        extract = await afetch_analytics_table(client, query)
    assert not extract.complete
    (failure,) = extract.failures
    assert failure.permanent and failure.status_code == 409
    assert failure.error_code == "E7124" and failure.data_items == [unknown]
    assert len(emulator.request_log.matching("/api/analytics")) == 1


class MemoryCache:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    async def put(self, key: str, value: dict[str, Any]) -> None:
        self.entries[key] = value


async def test_after_a_partial_failure_only_the_failed_shards_are_fetched_again(
    emulator, credentials
):
    query = AnalyticsQuery(data_items=ANC, org_units=[BO], periods=["2024Q1", "2024Q2"])
    async with credentials.get_async_client() as client:
        expected = await afetch_analytics_table(client, query, max_rows=2)
    assert expected.shards_fetched == 3
    cache = MemoryCache()
    # One worker, one attempt per request: the first shard gets both 503s and fails.
    flaky = credentials.model_copy(update={"max_retries": 1, "max_concurrency": 1})
    emulator.set_faults([FaultRule(path="/api/analytics", kind="503", count=2, retry_after=0)])
    async with flaky.get_async_client() as client:
        first = await afetch_analytics_table(
            client, query, max_rows=2, shard_cache=cache, freshness="t1", retry_passes=0
        )
    assert len(first.failures) == 1 and not first.failures[0].permanent
    assert len(cache.entries) == 2  # the two finished shards
    emulator.clear_faults()
    emulator.request_log.clear()
    async with credentials.get_async_client() as client:
        second = await afetch_analytics_table(
            client, query, max_rows=2, shard_cache=cache, freshness="t1"
        )
        assert len(emulator.request_log.matching("/api/analytics")) == 1
        assert (second.shards_cached, second.shards_fetched) == (2, 1) and second.complete
        assert sorted_rows(second.rows) == sorted_rows(expected.rows)
        fresher = await afetch_analytics_table(
            client, query, max_rows=2, shard_cache=cache, freshness="t2"
        )
    assert fresher.shards_cached == 0 and fresher.shards_fetched == 3


class JsonCache(MemoryCache):
    """A cache that keeps JSON, as a result store with a JSON serializer does."""

    async def put(self, key: str, value: dict[str, Any]) -> None:
        self.entries[key] = json.loads(json.dumps(value))


async def test_rows_read_back_as_json_lists_are_tuples_like_fetched_ones(emulator, credentials):
    query = AnalyticsQuery(data_items=ANC, org_units=[BO], periods=["2024Q1", "2024Q2"])
    cache = JsonCache()
    async with credentials.get_async_client() as client:
        fetched = await afetch_analytics_table(client, query, max_rows=2)
        stream = aiter_analytics_shards(
            client, query, max_rows=2, shard_cache=cache, freshness="t1", store_shards=True
        )
        async with stream:
            async for _ in stream:
                pass
        assert len(cache.entries) == 3
        assert all(type(e["rows"][0]) is list for e in cache.entries.values())
        cached = await afetch_analytics_table(
            client, query, max_rows=2, shard_cache=cache, freshness="t1"
        )
    assert cached.shards_cached == 3 and cached.shards_fetched == 0
    assert all(type(row) is tuple for row in fetched.rows + cached.rows)
    assert cached.rows == fetched.rows


def test_an_extract_pickles_its_rows_as_one_compact_body():
    # Prefect persists a task's result with cloudpickle: the rows must not be pickled
    # one object at a time, and must come back as the same tuples.
    import pickle

    import cloudpickle
    from pydantic import BaseModel

    rows = [
        ("fbfJHSPpUQD", f"OU{i:05d}", f"2024{m:02d}", str(i % 97))
        for i in range(2000)
        for m in range(1, 13)
    ]
    extract = AnalyticsExtract(
        base_url="https://dhis2.example.org",
        headers=["dx", "ou", "pe", "value"],
        rows=rows,
        names={"fbfJHSPpUQD": "ANC 1st visit"},
        shards_fetched=4,
    )
    body = cloudpickle.dumps(extract)
    back = pickle.loads(body)
    assert back == extract and back.rows == rows
    assert all(type(row) is tuple for row in back.rows)
    assert back.model_fields_set == extract.model_fields_set
    one_by_one = cloudpickle.dumps(BaseModel.__getstate__(extract))
    assert len(body) * 4 < len(one_by_one)


async def test_shards_run_concurrently_within_the_block_budget(emulator, credentials):
    emulator.set_cost(CostModel(latency_s=0.02))
    creds = credentials.model_copy(update={"max_concurrency": 3})
    query = AnalyticsQuery(
        data_items=ANC, org_units=[BO], periods=[f"2024{m:02d}" for m in range(1, 7)]
    )
    async with creds.get_async_client() as client:
        extract = await afetch_analytics_table(client, query, max_rows=3)
    assert extract.shards_fetched == 6
    assert emulator.state.stats.max_in_flight == 3
