"""Split a large analytics request into shards the server accepts.

A DHIS2 analytics response has at most one row per combination of the items of
its dimensions, so its size is bounded by the product of the item counts (an
org unit item such as `LEVEL-4` counts the org units it stands for). The server
refuses results over `keyAnalyticsMaxLimit` rows (E7128), and proxies refuse
URLs over a few thousand characters (414), so a national extraction has to be
cut into shards. This module plans those shards, purely:

- `estimate_rows` bounds the size of a request;
- `plan_shards` splits the `dx`, `ou`, `pe` and `co` axes into balanced parts so
  that every shard fits a row budget and a URL-length budget, choosing the
  split with the fewest requests (splitting one long axis finely is cheaper
  than cutting every axis);
- `split_shard` cuts a shard along its largest axis, for when the server
  refuses a shard anyway (E7128 or a timeout), and `fit_shard` cuts it until
  every part fits a (newly learned) budget.

Two axes are *composite* when the request asks the server to expand them: the
`ou` items of a request holding `LEVEL-n`, `OU_GROUP-<uid>` or a `USER_ORGUNIT`
keyword (plain UIDs there are boundaries or overlap the keywords), and `co`
given without items ("all option combos"). A composite axis is kept whole while
it fits; to split it, the planner lists the items it resolves to (`resolved`,
which the engine learns from one `skipData` request): the org units of the
level or group, the option combos. Listing them asks for exactly the same rows.

Shards partition the rows of the request: each row has one item per axis, and
every axis is cut into disjoint parts (a composite axis is never cut apart
item by item, since groups, levels and keywords can overlap), so no row can
come back twice and the union of the shards is the result of the whole request.

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
    "fit_shard",
    "plan_shards",
    "shard_of",
    "split_shard",
]

SHARD_AXES: tuple[str, ...] = ("dx", "ou", "pe", "co")
"""The dimensions a request is split along (`co` only when it is a dimension)."""

DEFAULT_MAX_URL_LENGTH = 8000
"""A URL budget most proxies (nginx, Apache, Tomcat defaults) accept."""

_EXPANDING_OU = ("LEVEL-", "OU_GROUP-", "USER_ORGUNIT")
_BASE_URL = "https://dhis2.example.org"
_MAX_PART_COUNTS = 48  # candidate part counts tried per axis (all of them below this)


class ShardTooLargeError(ValueError):
    """A shard of a single item per axis still exceeds the budget."""


def is_composite_ou(items: Sequence[str]) -> bool:
    """True when the server expands these `ou` items (levels, groups, user keywords)."""
    return any(i.startswith(_EXPANDING_OU) for i in items)


def _composite_co(query: AnalyticsQuery) -> bool:
    return "co" in query.dimensions and not query.dimensions["co"]


@dataclass(frozen=True)
class Shard:
    """One piece of a request: a subset of the items of each split axis.

    Attributes:
        data_items: The shard's `dx` items.
        org_units: The shard's `ou` items: the request's own items (a composite
            axis kept whole, boundaries included) or the units they resolve to.
        periods: The shard's fixed `pe` items.
        estimated_rows: Upper bound of the shard's rows.
        weights: Rows each item stands for (1 unless given), for splitting.
        option_combos: The shard's `co` items; empty = the request's own `co`.
    """

    data_items: tuple[str, ...]
    org_units: tuple[str, ...]
    periods: tuple[str, ...]
    estimated_rows: int
    weights: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    option_combos: tuple[str, ...] = ()

    def axis(self, name: str) -> tuple[str, ...]:
        """The items of axis `dx`, `ou`, `pe` or `co`."""
        if name == "dx":
            return self.data_items
        if name == "ou":
            return self.org_units
        if name == "pe":
            return self.periods
        return self.option_combos

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
        if self.option_combos:
            changes["dimensions"] = {**base.dimensions, "co": self.option_combos}
        return base.replace(**changes)

    @property
    def cells(self) -> int:
        """How many (dx, ou, pe, co) items the shard has: 1 is a single cell."""
        return math.prod(max(len(self.axis(n)), 1) for n in SHARD_AXES)


# ------------------------------------------------------------------ axes


@dataclass(frozen=True)
class _Axis:
    """One axis of a request: its items, and what the planner may do with them."""

    name: str
    items: tuple[str, ...]  # the request's items (a composite axis: kept whole)
    composite: bool = False
    resolved: tuple[str, ...] = ()  # what a composite axis expands to, when known

    def weight(self, weights: Mapping[str, int]) -> int:
        """Rows the whole axis multiplies by."""
        if not self.items and self.name != "co":
            return 1
        if self.composite:
            if self.resolved:
                return len(self.resolved)
            if self.name == "co":
                return max(int(weights.get("co", 1)), 1)
            return max(sum(_weight(i, weights) for i in self.items if _expands(i)), 1)
        return max(_axis_rows(self.items, weights), 1)


def _weight(item: str, weights: Mapping[str, int]) -> int:
    return max(int(weights.get(item, 1)), 1)


def _expands(item: str) -> bool:
    return item.startswith(_EXPANDING_OU)


def _axis_rows(items: Sequence[str], weights: Mapping[str, int]) -> int:
    return sum(_weight(i, weights) for i in items) if weights else len(items)


def _axes_of(
    query: AnalyticsQuery,
    at: date | None,
    resolved: Mapping[str, Sequence[str]] | None = None,
    *,
    periods: tuple[str, ...] | None = None,
) -> dict[str, _Axis]:
    """The dx, ou, pe and co axes, relative periods resolved (or `periods` as given).

    Filters are never split: cutting a filter would change what each row adds up.
    """
    resolved = resolved or {}
    pe: tuple[str, ...] = periods or ()
    if periods is None and query.periods:
        pe = tuple(p.id for p in query.resolved_periods(at))
    ou_composite = is_composite_ou(query.org_units)
    co = query.dimensions.get("co")
    return {
        "dx": _Axis("dx", query.data_items),
        "ou": _Axis(
            "ou",
            query.org_units,
            ou_composite,
            tuple(resolved.get("ou", ())) if ou_composite else (),
        ),
        "pe": _Axis("pe", pe),
        "co": _Axis(
            "co",
            tuple(co or ()),
            _composite_co(query),
            tuple(resolved.get("co", ())) if _composite_co(query) else (),
        ),
    }


def _other_factor(query: AnalyticsQuery, weights: Mapping[str, int]) -> int:
    """Rows multiplied by extra dimensions that are never split (`ao`, categories)."""
    factor = 1
    for dim, items in query.dimensions.items():
        if dim == "co":
            continue
        factor *= len(items) if items else max(int(weights.get(dim, 1)), 1)
    return factor


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
    total = _other_factor(query, weights)
    for name in SHARD_AXES:
        axis = axes[name]
        if axis.items or (name == "co" and axis.composite):
            total *= axis.weight(weights)
    return total


def _partition(items: Sequence[str], parts: int, weights: Mapping[str, int]) -> list[list[str]]:
    """Cut `items` into `parts` contiguous groups of about equal weight (order kept)."""
    parts = max(1, min(parts, len(items)))
    if parts == 1:
        return [list(items)]
    if not any(i in weights for i in items):
        # Equal weights: even slices (the common case of long unit lists).
        size, extra = divmod(len(items), parts)
        groups, start = [], 0
        for index in range(parts):
            end = start + size + (1 if index < extra else 0)
            groups.append(list(items[start:end]))
            start = end
        return groups
    total = _axis_rows(items, weights)
    groups = []
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
    """The numbers of parts an axis of `n` items is tried with (all distinct even cuts
    for short axes, a geometric selection of them for long ones)."""
    if not n:
        return [1]
    counts = sorted({math.ceil(n / size) for size in range(1, n + 1)})
    if len(counts) <= _MAX_PART_COUNTS:
        return counts
    step = (len(counts) - 1) / (_MAX_PART_COUNTS - 1)
    return sorted({counts[round(i * step)] for i in range(_MAX_PART_COUNTS)})


def _text_length(items: Sequence[str]) -> int:
    return sum(len(i) + 1 for i in items)


@dataclass(frozen=True)
class _Choice:
    parts: int  # requested part count
    count: int  # actual parts
    rows: int  # rows of the largest part
    text: int  # characters of the longest part
    expand: bool  # a composite axis listed as its resolved items


def _choices(axis: _Axis, weights: Mapping[str, int]) -> list[_Choice]:
    choices: list[_Choice] = []
    if axis.composite or not axis.items:
        choices.append(_Choice(1, 1, axis.weight(weights), _text_length(axis.items), False))
        if not axis.resolved:
            return choices
        items, expand = list(axis.resolved), True
    else:
        items, expand = list(axis.items), False
    uniform = not any(i in weights for i in items)
    longest = max((len(i) + 1 for i in items), default=0)
    for k in _part_counts(len(items)):
        if uniform:  # no need to cut the list to know the largest part
            size = math.ceil(len(items) / k)
            choices.append(_Choice(k, min(k, len(items)), size, size * longest, expand))
            continue
        parts = _partition(items, k, weights)
        rows = max(_axis_rows(p, weights) for p in parts)
        text = max(_text_length(p) for p in parts)
        choices.append(_Choice(k, len(parts), rows, text, expand))
    return choices


def plan_shards(
    query: AnalyticsQuery,
    *,
    max_rows: int,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    base_url: str = _BASE_URL,
    weights: Mapping[str, int] | None = None,
    at: date | None = None,
    min_shards: int = 1,
    resolved: Mapping[str, Sequence[str]] | None = None,
) -> list[Shard]:
    """Split `query` into shards that each fit `max_rows` and `max_url_length`.

    Every combination of part counts for dx, ou, pe and co is tried and the one
    with the fewest shards (but at least `min_shards`, when the items allow)
    whose largest shard fits both budgets wins (ties go to the smaller
    largest shard). A composite axis (levels, groups, user org units, `co`
    without items) is kept whole or, when `resolved` lists what it expands to,
    listed and cut like any other. Shards that still do not fit (uneven item
    weights) are cut again. Relative periods are resolved at `at` (default
    `query.relative_period_date`), so shards carry fixed periods.

    Args:
        query: The whole request.
        max_rows: Row budget per shard (at most the server's analytics limit).
        max_url_length: URL budget per shard, in characters.
        base_url: The instance root, for URL lengths.
        weights: Rows an item stands for, e.g. `{"LEVEL-4": 1166}` or `{"co": 4}`.
        at: Date relative periods resolve at.
        min_shards: Cut into at least this many shards when possible, so that
            concurrent workers stay busy until the end.
        resolved: What composite axes expand to: `{"ou": [unit uids], "co":
            [option combo uids]}` (see the module docs).

    Returns:
        Shards in request order, dx outermost, then ou, pe and co.

    Raises:
        ShardTooLargeError: If one item per axis still exceeds a budget.
    """
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    weights = dict(weights or {})
    axes = _axes_of(query, at, resolved)
    factor = _other_factor(query, weights)
    empty_len = _empty_url_length(query, base_url)
    choices = [_choices(axes[name], weights) for name in SHARD_AXES]
    best: tuple[tuple[bool, int, int, tuple[int, ...]], tuple[_Choice, ...]] | None = None
    for combo in itertools.product(*choices):
        largest = factor * math.prod(c.rows for c in combo)
        url = empty_len + sum(c.text for c in combo)
        if largest > max_rows or url > max_url_length:
            continue
        shards = math.prod(c.count for c in combo)
        key = (shards < min_shards, shards, largest, tuple(c.parts for c in combo))
        if best is None or key < best[0]:
            best = (key, combo)
    if best is None:  # nothing fits evenly: expand what can be, then cut to fit
        combo = tuple(max(cs, key=lambda c: (c.expand, c.count)) for cs in choices)
    else:
        combo = best[1]
    groups: list[list[tuple[str, ...]]] = []
    for name, choice in zip(SHARD_AXES, combo, strict=True):
        axis = axes[name]
        if axis.composite and not choice.expand:
            groups.append([axis.items])
        else:
            items = axis.resolved if choice.expand else axis.items
            groups.append([tuple(p) for p in _partition(items, choice.parts, weights)])
    planned: list[Shard] = []
    for dx, ou, pe, co in itertools.product(*groups):
        shard = _make_shard(dx, ou, pe, co, weights, factor, query, axes)
        planned.extend(
            fit_shard(
                shard,
                query,
                max_rows=max_rows,
                max_url_length=max_url_length,
                base_url=base_url,
                resolved=resolved,
            )
        )
    return planned


def _empty_url_length(query: AnalyticsQuery, base_url: str) -> int:
    """The URL length of `query` without the items of its split axes."""
    full = query.url_length(base_url)
    items = (
        _text_length(query.data_items)
        + _text_length(query.org_units)
        + _text_length(query.periods)
        + _text_length(query.dimensions.get("co", ()))
    )
    return full - items


def _url_length(shard: Shard, empty_len: int) -> int:
    return empty_len + sum(_text_length(shard.axis(n)) for n in SHARD_AXES)


def _make_shard(
    dx: Sequence[str],
    ou: Sequence[str],
    pe: Sequence[str],
    co: Sequence[str],
    weights: Mapping[str, int],
    factor: int,
    query: AnalyticsQuery,
    axes: Mapping[str, _Axis],
) -> Shard:
    rows = factor
    for name, items in (("dx", dx), ("ou", ou), ("pe", pe), ("co", co)):
        axis = axes[name]
        if axis.composite and tuple(items) == axis.items:
            rows *= axis.weight(weights)
        elif items:
            rows *= max(_axis_rows(items, weights), 1)
    keep_co = tuple(co) if not (axes["co"].composite and tuple(co) == axes["co"].items) else ()
    relevant = {i: weights[i] for i in (*dx, *ou, *pe, *co) if i in weights}
    if "co" in weights:
        relevant["co"] = weights["co"]
    return Shard(tuple(dx), tuple(ou), tuple(pe), rows, relevant, keep_co)


def shard_of(query: AnalyticsQuery, *, at: date | None = None) -> Shard:
    """The whole query as a single shard (relative periods resolved at `at`)."""
    axes = _axes_of(query, at)
    return _make_shard(
        axes["dx"].items,
        axes["ou"].items,
        axes["pe"].items,
        axes["co"].items,
        {},
        _other_factor(query, {}),
        query,
        axes,
    )


def _split_candidates(
    shard: Shard,
    axes: Mapping[str, _Axis],
    by: str,
) -> list[tuple[int, str, tuple[str, ...]]]:
    """(size, axis, items to cut) for every axis of `shard` that can still be cut."""
    candidates = []
    for name in SHARD_AXES:
        items = shard.axis(name)
        axis = axes[name]
        if name == "co" and not items and axis.composite:
            items = axis.items  # the query's own co (all): maybe resolvable
        if axis.composite and items == axis.items:
            if len(axis.resolved) < 2:
                continue
            items = axis.resolved  # a composite axis is cut by listing what it resolves to
        if len(items) < 2:
            continue
        size = _text_length(items) if by == "text" else _axis_rows(items, shard.weights)
        candidates.append((size, name, items))
    return candidates


def split_shard(
    shard: Shard,
    query: AnalyticsQuery,
    *,
    parts: int = 2,
    by: str = "rows",
    resolved: Mapping[str, Sequence[str]] | None = None,
) -> list[Shard]:
    """Cut a shard into `parts` along its largest axis (by rows or by URL text).

    A composite axis kept whole (a level, a group, `co` without items) counts as
    cuttable when `resolved` lists what it expands to.

    Args:
        shard: The shard to cut.
        query: The whole request (for filters, boundaries and other dimensions).
        parts: How many parts (at most the items of the axis).
        by: `"rows"`: the axis with the most rows (item weights); `"text"`: the
            axis with the longest text, for URL budgets.
        resolved: What composite axes expand to (see `plan_shards`).

    Returns:
        Shards whose union is `shard`, disjoint.

    Raises:
        ShardTooLargeError: If every axis has a single item (a single cell).

    Examples:
        >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["LEVEL-4"],
        ...     periods=["202401"])
        >>> [s.org_units for s in split_shard(shard_of(q), q,
        ...     resolved={"ou": ["DiszpKrYNg8", "EJoI3HArJ2I", "ImspTQPwCqd"]})]
        [('DiszpKrYNg8', 'EJoI3HArJ2I'), ('ImspTQPwCqd',)]
    """
    axes = _axes_of(query, None, resolved, periods=shard.periods)
    candidates = _split_candidates(shard, axes, by)
    if not candidates:
        raise ShardTooLargeError(
            "Cannot split a shard of a single (dx, ou, pe, co) cell: "
            f"dx={list(shard.data_items)}, ou={list(shard.org_units)[:5]}, "
            f"pe={list(shard.periods)}, co={list(shard.option_combos) or 'as requested'}"
        )
    _, name, items = max(candidates, key=lambda c: c[0])
    if by == "rows":
        pieces = _partition(items, parts, shard.weights)
    else:
        pieces = _partition(items, parts, {})
    factor = _other_factor(query, shard.weights)
    result = []
    for piece in pieces:
        values = {n: shard.axis(n) for n in SHARD_AXES}
        if not values["co"] and axes["co"].composite:
            values["co"] = axes["co"].items
        values[name] = tuple(piece)
        result.append(
            _make_shard(
                values["dx"],
                values["ou"],
                values["pe"],
                values["co"],
                shard.weights,
                factor,
                query,
                axes,
            )
        )
    return result


def bisect_shard(
    shard: Shard,
    query: AnalyticsQuery,
    *,
    by: str = "rows",
    resolved: Mapping[str, Sequence[str]] | None = None,
) -> list[Shard]:
    """Cut a shard in two along its largest axis (`split_shard` with two parts).

    Raises:
        ShardTooLargeError: If every axis has a single item.

    Examples:
        >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"], periods=["2024"])
        >>> [s.data_items for s in bisect_shard(shard_of(q), q)]
        [('fbfJHSPpUQD',), ('cYeuwXTCPkU',)]
    """
    return split_shard(shard, query, parts=2, by=by, resolved=resolved)


def fit_shard(
    shard: Shard,
    query: AnalyticsQuery,
    *,
    max_rows: int,
    max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    base_url: str = _BASE_URL,
    resolved: Mapping[str, Sequence[str]] | None = None,
) -> list[Shard]:
    """Cut `shard` until every part fits `max_rows` and `max_url_length`.

    Each cut goes into as many parts as the budget needs along the largest
    axis (not just halves), so a shard ten times over budget becomes about ten
    shards in one step.

    Raises:
        ShardTooLargeError: If a single (dx, ou, pe, co) cell exceeds a budget.

    Examples:
        >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD"], periods=[f"2024{m:02d}"
        ...     for m in range(1, 13)])
        >>> [len(s.periods) for s in fit_shard(shard_of(q), q, max_rows=5)]
        [4, 4, 4]
    """
    empty_len = _empty_url_length(query, base_url)
    return _fit(shard, query, max_rows, max_url_length, empty_len, resolved)


def _fit(
    shard: Shard,
    query: AnalyticsQuery,
    max_rows: int,
    max_url_length: int,
    empty_len: int,
    resolved: Mapping[str, Sequence[str]] | None,
) -> list[Shard]:
    length = _url_length(shard, empty_len)
    too_long = length > max_url_length
    if shard.estimated_rows <= max_rows and not too_long:
        return [shard]
    if too_long:
        room = max(max_url_length - empty_len, 1)
        parts = max(2, math.ceil((length - empty_len) / room))
    else:
        parts = max(2, math.ceil(shard.estimated_rows / max_rows))
    by = "text" if too_long else "rows"
    try:
        pieces = split_shard(shard, query, parts=parts, by=by, resolved=resolved)
    except ShardTooLargeError:
        what = "URL" if too_long else f"{shard.estimated_rows} rows"
        raise ShardTooLargeError(
            f"A shard with one item per axis is still too large ({what}): {shard}"
        ) from None

    def over(piece: Shard) -> bool:
        if too_long:
            return _url_length(piece, empty_len) > max_url_length
        return piece.estimated_rows > max_rows

    # Items rarely divide evenly: 1,080 units in 13 parts of 84 or 83 units x 12 months
    # overshoot a limit of 1,000 and would each be cut in two again. One part more
    # (here 14 of at most 78 units) is fewer requests, and none of half size.
    most = min(2 * parts, parts + 8)
    while len(pieces) == parts and parts < most and any(over(p) for p in pieces):
        parts += 1
        more = split_shard(shard, query, parts=parts, by=by, resolved=resolved)
        if len(more) < parts:  # the axis has no more items to spread
            break
        pieces = more
    return [
        part
        for piece in pieces
        for part in _fit(piece, query, max_rows, max_url_length, empty_len, resolved)
    ]
