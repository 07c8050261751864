"""The shard planner: budgets, partitions, fewest requests, bisection (pure, no network)."""

from __future__ import annotations

import itertools
import math
from datetime import date

import pytest

from prefect_dhis2.analytics import AnalyticsQuery
from prefect_dhis2.analytics.shards import (
    ShardTooLargeError,
    bisect_shard,
    estimate_rows,
    fit_shard,
    plan_shards,
    shard_of,
)
from prefect_dhis2.uids import generate_uid

BASE = "http://127.0.0.1:8080"
DX = [generate_uid() for _ in range(12)]
OU = [generate_uid() for _ in range(40)]
MONTHS = [f"2023{m:02d}" for m in range(1, 13)]


def cells(shards):
    return [
        (dx, ou, pe)
        for s in shards
        for dx, ou, pe in itertools.product(s.data_items, s.org_units, s.periods)
    ]


def test_shards_partition_the_request_exactly():
    query = AnalyticsQuery(data_items=DX, org_units=OU, periods=MONTHS)
    shards = plan_shards(query, max_rows=500, base_url=BASE)
    covered = cells(shards)
    assert len(covered) == len(set(covered)), "a cell is in two shards"
    assert set(covered) == set(itertools.product(DX, OU, MONTHS))
    assert all(s.estimated_rows <= 500 for s in shards)
    assert all(
        s.estimated_rows == len(s.data_items) * len(s.org_units) * len(s.periods) for s in shards
    )


def test_plan_uses_the_fewest_requests_possible():
    query = AnalyticsQuery(data_items=DX, org_units=OU, periods=MONTHS)
    budget = 2000
    shards = plan_shards(query, max_rows=budget, base_url=BASE)
    total = len(DX) * len(OU) * len(MONTHS)
    # No plan can use fewer than total / budget shards; even splits reach at most one more.
    assert len(shards) >= math.ceil(total / budget)
    best_even = min(
        a * b * c
        for a in range(1, len(DX) + 1)
        for b in range(1, len(OU) + 1)
        for c in range(1, len(MONTHS) + 1)
        if math.ceil(len(DX) / a) * math.ceil(len(OU) / b) * math.ceil(len(MONTHS) / c) <= budget
    )
    assert len(shards) == best_even


def test_a_query_under_budget_is_one_shard():
    query = AnalyticsQuery(data_items=DX[:2], org_units=OU[:3], periods=MONTHS[:2])
    shards = plan_shards(query, max_rows=100, base_url=BASE)
    assert len(shards) == 1
    assert shards[0].query(query).to_params() == query.to_params()


def test_url_budget_splits_long_item_lists():
    many_ou = [generate_uid() for _ in range(600)]
    query = AnalyticsQuery(data_items=DX[:1], org_units=many_ou, periods=MONTHS[:1])
    shards = plan_shards(query, max_rows=10**9, max_url_length=2000, base_url=BASE)
    assert len(shards) > 1
    assert all(s.query(query).url_length(BASE) <= 2000 for s in shards)
    assert [o for s in shards for o in s.org_units] == many_ou


def test_weighted_level_items_and_boundaries():
    query = AnalyticsQuery(data_items=DX[:4], org_units=["O6uvpzGd5pu", "LEVEL-4"], periods=MONTHS)
    assert estimate_rows(query, {"LEVEL-4": 100}) == 4 * 100 * 12
    shards = plan_shards(query, max_rows=1000, weights={"LEVEL-4": 100}, base_url=BASE)
    # The boundary UID stays with the level in every shard; only dx and pe are cut.
    assert all(set(s.org_units) == {"O6uvpzGd5pu", "LEVEL-4"} for s in shards)
    assert all(s.estimated_rows <= 1000 for s in shards)
    assert sorted(p for s in shards if s.data_items[0] == DX[0] for p in s.periods) == MONTHS


def test_relative_periods_are_resolved_into_shards():
    query = AnalyticsQuery(
        data_items=DX[:1],
        org_units=OU[:1],
        periods=["LAST_12_MONTHS"],
        relative_period_date=date(2024, 1, 1),
    )
    shards = plan_shards(query, max_rows=5, base_url=BASE)
    assert sorted(p for s in shards for p in s.periods) == MONTHS
    shard_query = shards[0].query(query)
    assert shard_query.relative_period_date is None
    assert all(p.startswith("2023") for p in shard_query.periods)


def test_filters_are_never_split():
    query = AnalyticsQuery(data_items=DX, periods=MONTHS, filters=["ou:" + ";".join(OU)])
    shards = plan_shards(query, max_rows=20, base_url=BASE)
    assert len(shards) > 1
    assert all(s.query(query).filters == query.filters for s in shards)
    assert estimate_rows(query) == len(DX) * len(MONTHS)


def test_extra_dimensions_multiply_the_estimate():
    query = AnalyticsQuery(data_items=DX[:2], periods=MONTHS[:3], dimensions={"co": []})
    assert estimate_rows(query, {"co": 4}) == 2 * 3 * 4
    shards = plan_shards(query, max_rows=8, weights={"co": 4}, base_url=BASE)
    assert all(s.estimated_rows <= 8 for s in shards)
    assert len(shards) == 3


def test_bisect_halves_the_largest_axis():
    query = AnalyticsQuery(data_items=DX[:2], org_units=OU[:10], periods=MONTHS[:3])
    halves = bisect_shard(shard_of(query), query)
    assert [len(h.org_units) for h in halves] == [5, 5]
    assert halves[0].data_items == halves[1].data_items == tuple(DX[:2])
    assert set(halves[0].org_units).isdisjoint(halves[1].org_units)


def test_a_single_cell_cannot_be_split():
    query = AnalyticsQuery(data_items=DX[:1], org_units=["LEVEL-4"], periods=MONTHS[:1])
    with pytest.raises(ShardTooLargeError):
        bisect_shard(shard_of(query), query)
    with pytest.raises(ShardTooLargeError, match="one item per axis"):
        plan_shards(query, max_rows=10, weights={"LEVEL-4": 1000}, base_url=BASE)


def test_min_shards_keeps_workers_busy_with_the_fewest_extra_requests():
    query = AnalyticsQuery(data_items=DX, org_units=OU[:5], periods=MONTHS)
    assert len(plan_shards(query, max_rows=10**6, base_url=BASE)) == 1
    shards = plan_shards(query, max_rows=10**6, base_url=BASE, min_shards=16)
    assert len(shards) == 16
    assert set(cells(shards)) == set(itertools.product(DX, OU[:5], MONTHS))


def test_a_cut_that_does_not_divide_evenly_takes_one_part_more_not_a_half_part():
    # 1,080 units x 12 months over a limit of 1,000: 13 parts would be of 84 or 83
    # units (1,008 or 996 rows) and the 84s would be cut in two again.
    units = [generate_uid() for _ in range(1080)]
    query = AnalyticsQuery(
        data_items=["fbfJHSPpUQD"], org_units=units, periods=[f"2024{m:02d}" for m in range(1, 13)]
    )
    pieces = fit_shard(shard_of(query), query, max_rows=1000, max_url_length=10**6)
    assert len(pieces) == 14
    assert all(900 <= p.estimated_rows <= 1000 for p in pieces)
    assert sorted(u for p in pieces for u in p.org_units) == sorted(units)
