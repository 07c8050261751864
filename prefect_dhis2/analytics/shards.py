"""Split a large analytics request into shards the server accepts.

A DHIS2 analytics response has at most one row per combination of the items of
its dimensions, so its size is bounded by the product of the item counts (an
org unit item such as `LEVEL-4` counts the org units it stands for). The server
refuses results over `keyAnalyticsMaxLimit` rows (E7128), and proxies refuse
URLs over a few thousand characters (414), so a national extraction has to be
cut into shards. This module plans those shards, purely:

- `estimate_rows` bounds the size of a request;
- `plan_shards` splits the `dx`, `ou` and `pe` axes into balanced parts so
  that every shard fits a row budget and a URL-length budget, choosing the
  split with the fewest requests (splitting one long axis finely is cheaper
  than cutting every axis);
- `bisect_shard` halves a shard along its largest axis, for when the server
  refuses a shard anyway (E7128 or a timeout).

Shards partition the item lists, so their results are disjoint and their
union is the result of the whole request.

Examples:
    >>> from prefect_dhis2.analytics.query import AnalyticsQuery
    >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"], org_units=["LEVEL-4"],
    ...                    periods=[f"2023{m:02d}" for m in range(1, 13)])
    >>> plan = plan_shards(q, max_rows=10_000, weights={"LEVEL-4": 1166})
    >>> len(plan), [len(s.periods) for s in plan]
    (3, [4, 4, 4])
    >>> max(s.estimated_rows for s in plan) <= 10_000
    True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from prefect_dhis2.analytics.query import AnalyticsQuery

__all__ = [
    "SHARD_AXES",
    "Shard",
    "ShardTooLargeError",
    "bisect_shard",
    "estimate_rows",
    "plan_shards",
    "shard_of",
]

SHARD_AXES: tuple[str, ...] = ("dx", "ou", "pe")
"""The dimensions a request is split along."""

DEFAULT_MAX_URL_LENGTH = 8000
"""A URL budget most proxies (nginx, Apache, Tomcat defaults) accept."""


class ShardTooLargeError(ValueError):
    """A shard of a single item per axis still exceeds the budget."""


@dataclass(frozen=True)
class Shard:
    """One piece of a request: a subset of the items of each split axis.

    Attributes:
        data_items: The shard's `dx` items.
        org_units: The shard's `ou` items (with the query's boundaries when
            the query mixes levels/groups and boundary UIDs).
        periods: The shard's fixed `pe` items.
        estimated_rows: Upper bound of the shard's rows.
        weights: Rows each item stands for (1 unless given), for bisection.
    """

    data_items: tuple[str, ...]
    org_units: tuple[str, ...]
    periods: tuple[str, ...]
    estimated_rows: int
    weights: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def axis(self, name: str) -> tuple[str, ...]:
        """The items of axis `dx`, `ou` or `pe`."""
        return {"dx": self.data_items, "ou": self.org_units, "pe": self.periods}[name]

    def query(self, base: AnalyticsQuery) -> AnalyticsQuery:
        """The analytics query of this shard: `base` with the shard's items.

        Examples:
            >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD"], periods=["2024"])
            >>> shard_of(q).query(q).to_query_string()
            'dimension=dx:fbfJHSPpUQD&dimension=pe:2024'
        """
        changes: dict[str, object] = {}
        for name, dim_field in (("dx", "data_items"), ("ou", "org_units"), ("pe", "periods")):
            if self.axis(name):
                changes[dim_field] = self.axis(name)
        if self.periods:
            changes["relative_period_date"] = None  # the periods are fixed now
        return base.replace(**changes)


def _weight(item: str, weights: Mapping[str, int]) -> int:
    return max(int(weights.get(item, 1)), 1)


def _expands(item: str) -> bool:
    return item.startswith(("LEVEL-", "OU_GROUP-"))


def _split_points(axis: str, items: Sequence[str]) -> tuple[list[str], list[str]]:
    """(items that are split, items every part keeps).

    Plain org unit UIDs next to `LEVEL-`/`OU_GROUP-` items are boundaries, not
    rows, so every part keeps them.
    """
    if axis != "ou" or not any(_expands(i) for i in items):
        return list(items), []
    return [i for i in items if _expands(i)], [i for i in items if not _expands(i)]


def _axis_rows(items: Sequence[str], weights: Mapping[str, int]) -> int:
    return sum(_weight(i, weights) for i in items)


def _axes_of(query: AnalyticsQuery, at: date | None) -> dict[str, tuple[str, ...]]:
    """The items of the dx, ou and pe dimensions, relative periods resolved.

    Filters are never split: cutting a filter would change what each row adds up.
    """
    pe: tuple[str, ...] = ()
    if query.periods:
        pe = tuple(p.id for p in query.resolved_periods(at))
    return {"dx": query.data_items, "ou": query.org_units, "pe": pe}


def estimate_rows(
    query: AnalyticsQuery,
    weights: Mapping[str, int] | None = None,
    *,
    at: date | None = None,
) -> int:
    """Upper bound of the rows of `query`: the product of the items of its dimensions.

    Filters do not multiply rows. `weights` gives the rows an item stands for
    (`{"LEVEL-4": 1166}`); other items count one. Extra dimensions (`co`)
    count their items, or `weights[dim]` when given without items.

    Examples:
        >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["LEVEL-2"],
        ...                    periods=["2024Q1", "2024Q2"])
        >>> estimate_rows(q, {"LEVEL-2": 13})
        26
    """
    weights = dict(weights or {})
    axes = _axes_of(query, at)
    total = 1
    for name in SHARD_AXES:
        if not axes[name]:
            continue
        split, _ = _split_points(name, axes[name])
        total *= max(_axis_rows(split, weights), 1)
    for dim, items in query.dimensions.items():
        total *= len(items) if items else max(int(weights.get(dim, 1)), 1)
    return total


def _other_factor(query: AnalyticsQuery, weights: Mapping[str, int]) -> int:
    factor = 1
    for dim, items in query.dimensions.items():
        factor *= len(items) if items else max(int(weights.get(dim, 1)), 1)
    return factor


def _partition(items: Sequence[str], parts: int, weights: Mapping[str, int]) -> list[list[str]]:
    """Cut `items` into `parts` contiguous groups of about equal weight (order kept)."""
    parts = max(1, min(parts, len(items)))
    if parts == 1:
        return [list(items)]
    total = _axis_rows(items, weights)
    groups: list[list[str]] = []
    current: list[str] = []
    used = 0
    for index, item in enumerate(items):
        remaining_items = len(items) - index
        remaining_groups = parts - len(groups)
        target = total * (len(groups) + 1) / parts
        w = _weight(item, weights)
        # Close the group when adding the item overshoots the target more than
        # stopping short would, or when the remaining items are just enough.
        if current and (
            remaining_items < remaining_groups
            or (used + w - target > target - used and remaining_groups > 1)
        ):
            groups.append(current)
            current = []
        current.append(item)
        used += w
    groups.append(current)
    return groups


def _part_counts(n: int) -> list[int]:
    """The distinct numbers of parts an axis of `n` items can be cut into evenly."""
    return sorted({math.ceil(n / size) for size in range(1, n + 1)}) if n else [1]


def _text_length(items: Sequence[str]) -> int:
    return sum(len(i) + 1 for i in items)


def plan_shards(
    query: AnalyticsQuery,
    *,
    max_rows: int,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    base_url: str = "https://dhis2.example.org",
    weights: Mapping[str, int] | None = None,
    at: date | None = None,
    min_shards: int = 1,
) -> list[Shard]:
    """Split `query` into shards that each fit `max_rows` and `max_url_length`.

    Every combination of part counts for dx, ou and pe is tried and the one
    with the fewest shards (but at least `min_shards`, when the items allow)
    whose largest shard fits both budgets wins (ties go to the smaller
    largest shard). Shards that still do not fit (uneven item
    weights) are bisected. Relative periods are resolved at `at` (default
    `query.relative_period_date`), so shards carry fixed periods.

    Args:
        query: The whole request.
        max_rows: Row budget per shard (at most the server's analytics limit).
        max_url_length: URL budget per shard, in characters.
        base_url: The instance root, for URL lengths.
        weights: Rows an item stands for, e.g. `{"LEVEL-4": 1166}`.
        at: Date relative periods resolve at.
        min_shards: Cut into at least this many shards when possible, so that
            concurrent workers stay busy until the end.

    Returns:
        Shards in request order, dx outermost, then ou, then pe.

    Raises:
        ShardTooLargeError: If one item per axis still exceeds a budget.
    """
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    weights = dict(weights or {})
    axes = _axes_of(query, at)
    kept: dict[str, list[str]] = {}
    split: dict[str, list[str]] = {}
    for name in SHARD_AXES:
        split[name], kept[name] = _split_points(name, axes[name])
    factor = _other_factor(query, weights)
    # URL length without the split items, then per character of items.
    empty_len = shard_of(query, at=at).query(query).url_length(base_url) - sum(
        _text_length(axes[n]) for n in SHARD_AXES
    )

    # Per axis and part count: (parts, rows of the largest part, text of the longest part).
    choices: list[list[tuple[int, int, int, int]]] = []
    for name in SHARD_AXES:
        per_axis = []
        for k in _part_counts(len(split[name])):
            parts = _partition(split[name], k, weights)
            rows = max(_axis_rows(p, weights) for p in parts) if split[name] else 1
            text = max(_text_length(p) for p in parts) + _text_length(kept[name])
            per_axis.append((k, len(parts), rows, text))
        choices.append(per_axis)
    best: tuple[bool, int, int, tuple[int, ...]] | None = None
    for combo in itertools.product(*choices):
        largest = factor * math.prod(c[2] for c in combo)
        url = empty_len + sum(c[3] for c in combo)
        if largest > max_rows or url > max_url_length:
            continue
        shards = math.prod(c[1] for c in combo)
        key = (shards < min_shards, shards, largest, tuple(c[0] for c in combo))
        if best is None or key < best:
            best = key
    counts = best[3] if best is not None else tuple(len(split[n]) or 1 for n in SHARD_AXES)
    groups = [_partition(split[n], k, weights) for n, k in zip(SHARD_AXES, counts, strict=True)]
    planned: list[Shard] = []
    for dx, ou, pe in itertools.product(*groups):
        shard = _make_shard(
            dx + kept["dx"], ou + kept["ou"], pe + kept["pe"], weights, factor, query
        )
        planned.extend(
            _fit(shard, query, max_rows=max_rows, max_url_length=max_url_length, base_url=base_url)
        )
    return planned


def _make_shard(
    dx: Sequence[str],
    ou: Sequence[str],
    pe: Sequence[str],
    weights: Mapping[str, int],
    factor: int,
    query: AnalyticsQuery,
) -> Shard:
    rows = factor
    for name, items in (("dx", dx), ("ou", ou), ("pe", pe)):
        if not items:
            continue
        split, _ = _split_points(name, items)
        rows *= max(_axis_rows(split, weights), 1)
    relevant = {i: weights[i] for i in (*dx, *ou, *pe) if i in weights}
    return Shard(tuple(dx), tuple(ou), tuple(pe), rows, relevant)


def _fit(
    shard: Shard,
    query: AnalyticsQuery,
    *,
    max_rows: int,
    max_url_length: int,
    base_url: str,
) -> list[Shard]:
    too_long = shard.query(query).url_length(base_url) > max_url_length
    if shard.estimated_rows <= max_rows and not too_long:
        return [shard]
    try:
        halves = bisect_shard(shard, query, by="text" if too_long else "rows")
    except ShardTooLargeError:
        what = "URL" if too_long else f"{shard.estimated_rows} rows"
        raise ShardTooLargeError(
            f"A shard with one item per axis is still too large ({what}): {shard}"
        ) from None
    return [
        part
        for half in halves
        for part in _fit(
            half, query, max_rows=max_rows, max_url_length=max_url_length, base_url=base_url
        )
    ]


def shard_of(query: AnalyticsQuery, *, at: date | None = None) -> Shard:
    """The whole query as a single shard (relative periods resolved at `at`)."""
    axes = _axes_of(query, at)
    return _make_shard(axes["dx"], axes["ou"], axes["pe"], {}, _other_factor(query, {}), query)


def bisect_shard(shard: Shard, query: AnalyticsQuery, *, by: str = "rows") -> list[Shard]:
    """Cut a shard in two along its largest axis.

    Args:
        shard: The shard to cut.
        query: The whole request (for filters, boundaries and other dimensions).
        by: `"rows"`: the axis with the most rows (item weights); `"text"`: the
            axis with the longest text, for URL budgets.

    Returns:
        Two shards whose union is `shard`.

    Raises:
        ShardTooLargeError: If every axis has a single item.

    Examples:
        >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"], periods=["2024"])
        >>> [s.data_items for s in bisect_shard(shard_of(q), q)]
        [('fbfJHSPpUQD',), ('cYeuwXTCPkU',)]
    """
    weights = shard.weights
    candidates: list[tuple[int, str, list[str], list[str]]] = []
    for name in SHARD_AXES:
        split, kept = _split_points(name, shard.axis(name))
        if len(split) < 2:
            continue
        size = _text_length(split) if by == "text" else _axis_rows(split, weights)
        candidates.append((size, name, split, kept))
    if not candidates:
        raise ShardTooLargeError(f"Cannot split a shard with one item per axis: {shard}")
    _, name, split, kept = max(candidates, key=lambda c: c[0])
    halves = _partition(split, 2, weights) if by == "rows" else _halve(split)
    factor = _other_factor(query, weights)
    result = []
    for half in halves:
        axes = {n: list(shard.axis(n)) for n in SHARD_AXES}
        axes[name] = half + kept
        result.append(_make_shard(axes["dx"], axes["ou"], axes["pe"], weights, factor, query))
    return result


def _halve(items: Sequence[str]) -> list[list[str]]:
    middle = len(items) // 2
    return [list(items[:middle]), list(items[middle:])]
