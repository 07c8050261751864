"""Default arguments against any `keyAnalyticsMaxLimit`: equal to one `ignoreLimit` request.

An 8,000-unit emulator (about 7,000 facilities) answers `LEVEL-4` x 12 months with
some 80,000 rows, and 140,000 with `co` as a dimension; at a limit of 1,000 (or
50,000) one data item x one period x `LEVEL-4` is already over the limit, so the
engine must learn the limit and list the level's org units (and the option combos).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from prefect_dhis2.analytics import AnalyticsQuery, afetch_analytics_table
from prefect_dhis2.analytics.extract import _call_args
from prefect_dhis2.analytics.shards import plan_shards, split_shard
from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.testing import Dhis2Emulator, FaultRule

REFERENCE_DATE = date(2024, 6, 15)
ANC1 = "fbfJHSPpUQD"


@pytest.fixture(scope="module", params=[1_000, 50_000], ids=["limit-1000", "limit-50000"])
def limited(request: pytest.FixtureRequest) -> Iterator[Dhis2Emulator]:
    with Dhis2Emulator(
        org_units=8_000, relative_period_date=REFERENCE_DATE, max_analytics_rows=request.param
    ) as emulator:
        yield emulator


def creds(emulator: Dhis2Emulator) -> Dhis2Credentials:
    return emulator.credentials().model_copy(update={"retry_backoff": 0.01})


async def unlimited(credentials: Dhis2Credentials, query: AnalyticsQuery) -> Any:
    dimension, filters, params = _call_args(query.replace(ignore_limit=True))
    async with credentials.get_async_client() as client:
        return await client.fetch_analytics(dimension, filters, **params)


def group_of(credentials: Dhis2Credentials, name: str) -> str:
    with credentials.get_client() as client:
        groups = client.fetch_metadata("organisationUnitGroups", fields="id,name")
    return next(g["id"] for g in groups if g["name"] == name)


def assert_same_grid(extract: Any, expected: Any) -> None:
    assert extract.complete, extract.failures[:1]
    assert extract.headers == expected.column_names
    # Exactly the same rows: same count (nothing repeated) and same multiset.
    assert len(extract.rows) == len(expected.rows)
    assert sorted(map(tuple, extract.rows)) == sorted(map(tuple, expected.rows))


@pytest.mark.parametrize(
    "shape",
    ["level", "level-co", "group", "group-boundary"],
)
async def test_default_arguments_return_the_rows_of_one_unlimited_request(limited, shape):
    credentials = creds(limited)
    limit = limited.config.max_analytics_rows
    org_units: list[str] = ["LEVEL-4"]
    dimensions: dict[str, list[str]] = {}
    if shape == "level-co":
        dimensions = {"co": []}
    elif shape == "group":
        org_units = ["OU_GROUP-" + group_of(credentials, "CHP")]
    elif shape == "group-boundary":
        org_units = ["O6uvpzGd5pu", "OU_GROUP-" + group_of(credentials, "MCHP")]
    query = AnalyticsQuery(
        data_items=[ANC1], org_units=org_units, periods=["LAST_12_MONTHS"], dimensions=dimensions
    )
    expected = await unlimited(credentials, query)
    if shape.startswith("level"):
        assert len(expected.rows) > limit  # the limit really is in the way
    async with credentials.get_async_client() as client:
        extract = await afetch_analytics_table(client, query)
    assert_same_grid(extract, expected)
    if len(expected.rows) > limit:
        assert extract.shards_fetched * limit >= len(expected.rows)


async def test_a_plan_far_over_the_limit_learns_it_from_the_first_refusal(limited):
    credentials = creds(limited)
    query = AnalyticsQuery(
        data_items=[ANC1, "cYeuwXTCPkU"], org_units=["LEVEL-4"], periods=["LAST_12_MONTHS"]
    )
    expected = await unlimited(credentials, query)
    limited.request_log.clear()
    async with credentials.get_async_client() as client:
        # The planner is told the server takes a million rows a request.
        extract = await afetch_analytics_table(client, query, max_rows=10**6, min_shards=1)
    assert_same_grid(extract, expected)
    refusals = [r for r in limited.request_log.matching("/api/analytics") if r.status == 409]
    # Only the shards already on their way when the limit was learned were refused.
    assert 1 <= len(refusals) <= credentials.max_concurrency
    assert extract.shards_split >= 1


async def test_the_row_order_is_the_same_on_every_run_whatever_the_faults(limited):
    credentials = creds(limited).model_copy(update={"max_retries": 8, "retry_backoff_max": 0.05})
    query = AnalyticsQuery(data_items=[ANC1], org_units=["LEVEL-4"], periods=["LAST_12_MONTHS"])
    async with credentials.get_async_client() as client:
        first = await afetch_analytics_table(client, query)
    limited.set_faults(
        [
            FaultRule(path="/api/analytics", kind="503", rate=0.15, retry_after=0, seed=5),
            FaultRule(path="/api/analytics", kind="reset", rate=0.1, seed=6),
        ]
    )
    try:
        async with credentials.get_async_client() as client:
            second = await afetch_analytics_table(client, query, retry_delay_s=0)
    finally:
        limited.clear_faults()
    assert [r for r in limited.request_log.matching("/api/analytics") if r.fault]
    assert second.complete
    assert first.rows == second.rows  # same rows in the same order, whatever the timing


def test_shards_partition_the_rows_of_the_request():
    """Every planned or split shard set covers each (dx, ou, pe, co) cell exactly once."""
    units = [f"U{i:010d}" for i in range(300)]
    cocs = ["Coc00000001", "Coc00000002", "Coc00000003"]
    months = [f"2023{m:02d}" for m in range(1, 13)]
    dx = ["fbfJHSPpUQD", "cYeuwXTCPkU"]
    query = AnalyticsQuery(
        data_items=dx, org_units=["LEVEL-4"], periods=months, dimensions={"co": []}
    )
    resolved = {"ou": units, "co": cocs}
    everything = set(itertools.product(dx, units, months, cocs))

    def cells(shards: list[Any]) -> list[tuple[str, ...]]:
        out = []
        for s in shards:
            ou = units if s.org_units == ("LEVEL-4",) else s.org_units
            co = s.option_combos or cocs
            out += itertools.product(s.data_items, ou, s.periods, co)
        return out

    for budget in (1, 7, 100, 1_000, 5_000, 30_000):
        shards = plan_shards(query, max_rows=budget, resolved=resolved, max_url_length=2_000)
        covered = cells(shards)
        assert len(covered) == len(set(covered)), f"a cell is in two shards (budget {budget})"
        assert set(covered) == everything
        assert all(s.estimated_rows <= max(budget, 1) for s in shards)
        # Splitting any shard again keeps the partition.
        again = [p for s in shards if s.cells > 1 for p in split_shard(s, query, resolved=resolved)]
        again += [s for s in shards if s.cells == 1]
        assert sorted(cells(again)) == sorted(covered)


@pytest.fixture(scope="module")
def one_row_limit() -> Iterator[Dhis2Emulator]:
    with Dhis2Emulator(relative_period_date=REFERENCE_DATE, max_analytics_rows=1) as emulator:
        yield emulator


async def test_only_a_single_cell_over_the_limit_fails_and_says_so(one_row_limit):
    credentials = creds(one_row_limit)
    with credentials.get_client() as client:
        groups = client.fetch_metadata(
            "dataElementGroups", fields="id,dataElements~size", paging=False
        )
    group = next(g["id"] for g in groups if g["dataElements"] >= 3)
    # One cell (a data element group, one unit, one month) answers one row per member;
    # the plain data element next to it fits and comes back.
    query = AnalyticsQuery(
        data_items=[f"DE_GROUP-{group}", ANC1],
        org_units=["ImspTQPwCqd"],
        periods=["202401", "202402"],
    )
    async with credentials.get_async_client() as client:
        extract = await afetch_analytics_table(client, query, retry_passes=0)
    assert extract.failures
    assert all(f.error == "ShardTooLargeError" for f in extract.failures)
    assert all(f.data_items == [f"DE_GROUP-{group}"] for f in extract.failures)
    assert {p for f in extract.failures for p in f.periods} == {"202401", "202402"}
    message = extract.failures[0].message
    assert "single analytics cell" in message and "limit (1)" in message
    assert "keyAnalyticsMaxLimit" in message
    assert {r[0] for r in extract.rows} == {ANC1} and len(extract.rows) == 2


def test_a_shard_request_is_its_query_rendered():
    """The engine's fast request building equals rendering each shard's own query."""
    from prefect_dhis2.analytics.extract import AnalyticsShardStream

    query = AnalyticsQuery(
        data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"],
        org_units=["ImspTQPwCqd", "LEVEL-3"],
        periods=["LAST_4_QUARTERS"],
        relative_period_date=REFERENCE_DATE,
        filters=["ao:HllvX50cXC0"],
        dimensions={"co": []},
        skip_rounding=True,
    )
    resolved = {"ou": ["DiszpKrYNg8", "EJoI3HArJ2I"], "co": ["Coc00000001", "Coc00000002"]}
    stream = AnalyticsShardStream.__new__(AnalyticsShardStream)
    stream.plan_query = query
    stream._base_args = None
    for shard in plan_shards(query, max_rows=1, resolved=resolved):
        assert stream.shard_args(shard) == _call_args(shard.query(query))
