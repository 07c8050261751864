"""Compute the emulated analytics grid (headers, metaData, rows) from the data value store.

Values aggregate the store's columns: a data element total sums its option combos, months
of the period and the org unit's whole subtree (so a district equals the sum of its
chiefdoms); AVERAGE data elements average their values; indicators evaluate numerator and
denominator expressions per cell, then `num / den * factor` (annualised when asked).

Example:
    >>> from datetime import date
    >>> from prefect_dhis2.testing.analytics.request import parse_analytics_request
    >>> from prefect_dhis2.testing.core.dataset import generate_dataset
    >>> dataset = generate_dataset(60)
    >>> store = DataValueStore(dataset, seed=1, until=date(2024, 6, 30))
    >>> query = parse_analytics_request(["dx:fbfJHSPpUQD", "pe:2024Q1", "ou:ImspTQPwCqd"], [],
    ...                                 {}, dataset, store, user_roots=["ImspTQPwCqd"],
    ...                                 at=date(2024, 6, 30))
    >>> body, rows = build_analytics_grid(query, dataset, store, max_rows=100_000)
    >>> list(body)
    ['headers', 'metaData', 'rowContext', 'rows', 'height', 'width', 'headerWidth']
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from operator import getitem
from typing import Any

from prefect_dhis2.expressions.syntax import Item, ItemKind, PostfixFunction
from prefect_dhis2.testing.analytics.indicators import (
    collect_items,
    evaluate_expression,
    parse_indicator_expression,
)
from prefect_dhis2.testing.analytics.request import (
    DIMENSION_NAMES,
    AnalyticsError,
    AnalyticsRequest,
    DataItem,
    PeriodItem,
    months_of,
)
from prefect_dhis2.testing.data_values.store import ColumnSums, DataValueStore

__all__ = ["build_analytics_grid", "format_value"]

_TEXT_HEADER = {"valueType": "TEXT", "type": "java.lang.String", "hidden": False, "meta": True}
_NUMBER_HEADER = {
    "valueType": "NUMBER",
    "type": "java.lang.Double",
    "hidden": False,
    "meta": False,
}
_NUM_DEN_HEADERS = (
    ("numerator", "Numerator"),
    ("denominator", "Denominator"),
    ("factor", "Factor"),
    ("multiplier", "Multiplier"),
    ("divisor", "Divisor"),
)
_EMPTY_NUM_DEN = ["", "", "", "", ""]


def format_value(value: float, decimals: int = 2, skip_rounding: bool = False) -> str:
    """Render a value the way DHIS2 analytics does: rounded, always with a decimal point.

    Example:
        >>> format_value(90), format_value(101.4666), format_value(1 / 3, skip_rounding=True)
        ('90.0', '101.47', '0.3333333333333333')
    """
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return repr(value)  # "90.0": integral floats print with one decimal
    if skip_rounding:
        return repr(value)
    return repr(round(value, decimals))


class _Cells:
    """Per-request value computation with column caches."""

    def __init__(self, query: AnalyticsRequest, dataset: Any, store: DataValueStore) -> None:
        self.dataset = dataset
        self.store = store
        self.objects = dataset.objects
        self.columns: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[ColumnSums]] = {}
        self.monthly: dict[tuple[str, tuple[str, ...], str], list[ColumnSums]] = {}
        self.agg: dict[str, str] = {}
        self.cocs: dict[str, list[str]] = {}
        self.trees: dict[str, tuple[Any, Any]] = {}
        self.depth = 0

    def option_combos(self, de: str) -> list[str]:
        cocs = self.cocs.get(de)
        if cocs is None:
            cocs = self.cocs[de] = self.store.option_combos(de)
        return cocs

    def aggregation(self, de: str) -> str:
        agg = self.agg.get(de)
        if agg is None:
            obj = self.objects.get("dataElements", {}).get(de) or {}
            agg = self.agg[de] = str(obj.get("aggregationType", "SUM"))
        return agg

    def _columns(self, de: str, cocs: tuple[str, ...], months: tuple[str, ...]) -> list[ColumnSums]:
        key = (de, cocs, months)
        cols = self.columns.get(key)
        if cols is None:
            cols = []
            for coc in cocs:
                for month in months:
                    col = self.store.column(de, coc, month)
                    if col is not None:
                        cols.append(col)
            self.columns[key] = cols
        return cols

    def data_periods(
        self, de: str, months: tuple[str, ...], periods: Sequence[Any]
    ) -> tuple[str, ...]:
        """The stored periods a query period covers: its months, or the years of yearly data.

        Yearly data (populations) also serves finer query periods: a month or a quarter uses
        the value of its year, as DHIS2 does when the data period type is longer.
        """
        if self.store.period_type(de) != "Yearly":
            return months
        if months:
            return tuple(dict.fromkeys(m[:4] for m in months))
        years: list[str] = []
        for period in periods:
            years.extend(str(y) for y in range(period.start_date.year, period.end_date.year + 1))
        return tuple(dict.fromkeys(years))

    def de_value(
        self,
        de: str,
        cocs: tuple[str, ...],
        months: tuple[str, ...],
        ranges: Sequence[tuple[int, int]],
    ) -> float | None:
        agg = self.aggregation(de)
        if agg in ("AVERAGE_SUM_ORG_UNIT", "LAST", "LAST_AVERAGE_ORG_UNIT") and len(months) > 1:
            # Sum over org units per month, then average over the months with data.
            totals: list[float] = []
            for month in months:
                v = self._sum(self._columns(de, cocs, (month,)), ranges)
                if v is not None:
                    totals.append(v[0])
            if not totals:
                return None
            if agg == "LAST":
                return totals[-1]
            return sum(totals) / len(totals)
        result = self._sum(self._columns(de, cocs, months), ranges)
        if result is None:
            return None
        total, count = result
        if agg == "AVERAGE":
            return total / count
        if agg == "COUNT":
            return float(count)
        return total

    @staticmethod
    def _sum(
        cols: list[ColumnSums], ranges: Sequence[tuple[int, int]]
    ) -> tuple[float, float] | None:
        total = 0.0
        count = 0.0
        for col in cols:
            sums, counts = col.sums, col.counts
            for lo, hi in ranges:
                c = counts[hi] - counts[lo]
                if c:
                    count += c
                    total += sums[hi] - sums[lo]
        if not count:
            return None
        return total, count

    # -- data items ---------------------------------------------------------------------
    def item_option_combos(
        self, item: Any, de: str, coc_filter: tuple[str, ...] | None
    ) -> tuple[str, ...]:
        """The option combos a data item covers: an operand's own, else all of the
        data element's, narrowed to `coc_filter` when the query has a `co` dimension."""
        if item.kind == "OPERAND":
            cocs: tuple[str, ...] = (item.coc,) if item.coc else ()
            if coc_filter is not None:
                cocs = tuple(c for c in cocs if c in coc_filter)
            return cocs
        if coc_filter is not None:
            all_cocs = self.option_combos(de)
            return tuple(c for c in coc_filter if c in all_cocs)
        return tuple(self.option_combos(de))

    def data_value(
        self,
        item: DataItem,
        periods: Sequence[PeriodItem],
        months: tuple[str, ...],
        ranges: Sequence[tuple[int, int]],
        coc_filter: tuple[str, ...] | None,
    ) -> float | None:
        de = item.de
        assert de is not None
        cocs = self.item_option_combos(item, de, coc_filter)
        if not cocs:
            return None
        months = self.data_periods(de, months, [p.period for p in periods])
        return self.de_value(de, cocs, months, ranges)

    def data_vector(
        self,
        items: Sequence[DataItem],
        periods: Sequence[PeriodItem],
        months: tuple[str, ...],
        coc_filter: tuple[str, ...] | None,
        los: list[int],
        his: list[int],
    ) -> list[float | None] | None:
        """Values of data element items for many org units at once (None: not vectorisable).

        One pass per stored column over all org units replaces one call per cell, which
        keeps large (facility-level) responses cheap.
        """
        n = len(los)
        result: list[float | None] = [None] * n
        for item in items:
            de = item.de
            if de is None:
                return None
            cocs = self.item_option_combos(item, de, coc_filter)
            data_periods = self.data_periods(de, months, [p.period for p in periods])
            agg = self.aggregation(de)
            if agg not in ("SUM", "AVERAGE", "COUNT") and len(data_periods) > 1:
                return None
            cols = self._columns(de, cocs, data_periods) if cocs else []
            if not cols:
                continue
            totals = [0.0] * n
            counts = [0.0] * n
            for col in cols:
                sums, present = col.sums, col.counts
                totals = [t + sums[h] - sums[lo] for t, lo, h in zip(totals, los, his, strict=True)]
                counts = [
                    c + present[h] - present[lo] for c, lo, h in zip(counts, los, his, strict=True)
                ]
            if agg == "AVERAGE":
                values = [t / c if c else None for t, c in zip(totals, counts, strict=True)]
            elif agg == "COUNT":
                values = [c if c else None for c in counts]
            else:
                values = [t if c else None for t, c in zip(totals, counts, strict=True)]
            result = [
                v if r is None else (r if v is None else r + v)
                for r, v in zip(result, values, strict=True)
            ]
        return result

    def indicator_parts(self, indicator: dict[str, Any]) -> tuple[Any, Any]:
        uid = indicator["id"]
        parts = self.trees.get(uid)
        if parts is None:
            try:
                numerator = parse_indicator_expression(indicator.get("numerator") or "0")
                denominator = parse_indicator_expression(indicator.get("denominator") or "1")
            except ValueError:
                numerator = denominator = None
            parts = self.trees[uid] = (numerator, denominator)
        return parts

    def indicator_value(
        self,
        indicator: dict[str, Any],
        periods: Sequence[PeriodItem],
        ranges: Sequence[tuple[int, int]],
    ) -> tuple[float, float, float, float, int, int] | None:
        """(value, numerator, denominator, factor, multiplier, divisor) or None."""
        numerator_tree, denominator_tree = self.indicator_parts(indicator)
        if numerator_tree is None or self.depth > 5:
            return None
        months_cache: dict[int, tuple[tuple[str, ...], list[Any]]] = {}
        days = sum(p.period.days for p in periods)

        def months_at(offset: int) -> tuple[tuple[str, ...], list[Any]]:
            cached = months_cache.get(offset)
            if cached is None:
                collected: list[str] = []
                shifted: list[Any] = []
                for p in periods:
                    period = p.period if offset == 0 else p.period.shift(offset)
                    shifted.append(period)
                    collected.extend(p.months if offset == 0 else months_of(period))
                cached = months_cache[offset] = (tuple(dict.fromkeys(collected)), shifted)
            return cached

        def item_value(item: Item, offset: int) -> float | None:
            kind = item.kind
            if kind is ItemKind.DATA_ELEMENT:
                parts = item.parts
                de = parts[0]
                if ":" in de:
                    return None
                if len(parts) > 1 and parts[1] not in ("*", ""):
                    if ":" in parts[1]:
                        return None
                    cocs: tuple[str, ...] = (parts[1],)
                else:
                    cocs = tuple(self.option_combos(de))
                if not cocs:
                    return None
                months, shifted = months_at(offset)
                return self.de_value(de, cocs, self.data_periods(de, months, shifted), ranges)
            if kind is ItemKind.CONSTANT:
                constant = self.objects.get("constants", {}).get(item.parts[0])
                return float(constant["value"]) if constant and "value" in constant else None
            if kind is ItemKind.DAYS:
                return float(days)
            if kind is ItemKind.INDICATOR:
                other = self.objects.get("indicators", {}).get(item.parts[0])
                if other is None:
                    return None
                self.depth += 1
                try:
                    result = self.indicator_value(other, periods, ranges)
                finally:
                    self.depth -= 1
                return None if result is None else result[0]
            if kind is ItemKind.ORG_UNIT_GROUP:
                group = self.objects.get("organisationUnitGroups", {}).get(item.parts[0])
                if group is None:
                    return None
                count = 0
                for ref in group.get("organisationUnits", []):
                    pos = self.store.position(ref["id"])
                    if pos is not None and any(lo <= pos < hi for lo, hi in ranges):
                        count += 1
                return float(count)
            return None

        return self._indicator_result(indicator, numerator_tree, denominator_tree, item_value, days)

    def _indicator_result(
        self,
        indicator: dict[str, Any],
        numerator_tree: Any,
        denominator_tree: Any,
        item_value: Any,
        days: int,
    ) -> tuple[float, float, float, float, int, int] | None:
        numerator = evaluate_expression(numerator_tree, item_value)
        if numerator is None:
            return None
        denominator = evaluate_expression(denominator_tree, item_value)
        if denominator is None or denominator == 0:
            return None
        type_ref = indicator.get("indicatorType") or {}
        indicator_type = self.objects.get("indicatorTypes", {}).get(type_ref.get("id", "")) or {}
        multiplier = int(indicator_type.get("factor", 1) or 1)
        divisor = 1
        factor = multiplier / divisor
        if indicator.get("annualized") and days:
            factor *= 365.0 / days
        value = numerator / denominator * factor
        return value, numerator, denominator, factor, multiplier, divisor

    def indicator_vector(
        self,
        indicator: dict[str, Any],
        periods: Sequence[PeriodItem],
        months: tuple[str, ...],
        los: list[int],
        his: list[int],
    ) -> list[tuple[float, float, float, float, int, int] | None] | None:
        """`indicator_value` for many single org units at once (None: not vectorisable).

        Each data element item is summed over every org unit in one pass per stored
        column (as `data_vector` does for data element rows); the expression is then
        evaluated per org unit with exactly the per-cell semantics.
        """
        numerator_tree, denominator_tree = self.indicator_parts(indicator)
        if numerator_tree is None:
            return [None] * len(los)
        trees = (numerator_tree, denominator_tree)
        if any(_has_postfix(tree) for tree in trees):
            return None  # period offsets need shifted periods per item
        vectors: dict[Item, list[float | None]] = {}
        constants: dict[Item, float | None] = {}
        for tree in trees:
            for item in collect_items(tree):
                if item in vectors or item in constants:
                    continue
                if item.kind is ItemKind.DATA_ELEMENT:
                    de, coc = item.parts[0], item.parts[1] if len(item.parts) > 1 else ""
                    if ":" in de or ":" in coc:
                        return None
                    kind = "OPERAND" if coc not in ("*", "") else "DATA_ELEMENT"
                    stand_in = _DataElementRef(kind, de, coc if kind == "OPERAND" else None)
                    vector = self.data_vector([stand_in], periods, months, None, los, his)  # type: ignore[list-item]
                    if vector is None:
                        return None
                    vectors[item] = vector
                elif item.kind is ItemKind.CONSTANT:
                    constant = self.objects.get("constants", {}).get(item.parts[0])
                    constants[item] = (
                        float(constant["value"]) if constant and "value" in constant else None
                    )
                elif item.kind is not ItemKind.DAYS:
                    return None  # N{}, OUG{}, ... keep the per-cell path
        days = sum(p.period.days for p in periods)
        results: list[tuple[float, float, float, float, int, int] | None] = []
        for index in range(len(los)):

            def item_value(item: Item, offset: int, index: int = index) -> float | None:
                vector = vectors.get(item)
                if vector is not None:
                    return vector[index]
                if item.kind is ItemKind.DAYS:
                    return float(days)
                return constants.get(item)

            results.append(
                self._indicator_result(
                    indicator, numerator_tree, denominator_tree, item_value, days
                )
            )
        return results


class _DataElementRef:
    """The parts of a data item `data_vector` reads, for an item of an expression."""

    __slots__ = ("coc", "de", "kind")

    def __init__(self, kind: str, de: str, coc: str | None) -> None:
        self.kind = kind
        self.de = de
        self.coc = coc


def _has_postfix(tree: Any) -> bool:
    if isinstance(tree, PostfixFunction):
        return True
    children: list[Any] = []
    for name in ("left", "right", "operand"):
        child = getattr(tree, name, None)
        if child is not None:
            children.append(child)
    children.extend(getattr(tree, "args", ()) or ())
    return any(_has_postfix(child) for child in children)


def _display_name(obj: dict[str, Any], display_property: str) -> str:
    if display_property == "SHORTNAME":
        return str(obj.get("shortName") or obj.get("name") or obj.get("id", ""))
    return str(obj.get("name") or obj.get("id", ""))


def build_analytics_grid(
    query: AnalyticsRequest,
    dataset: Any,
    store: DataValueStore,
    *,
    max_rows: int,
) -> tuple[dict[str, Any], int]:
    """Compute the analytics response body for a validated query.

    Args:
        query: The resolved query.
        dataset: The emulator's `Dhis2Dataset`.
        store: The data value store.
        max_rows: The row limit (E7128) unless the query sets `ignoreLimit`.

    Returns:
        The response body (DHIS2 key order) and its number of rows.

    Raises:
        AnalyticsError: E7128 when the rows exceed `max_rows`.
    """
    options = query.options
    display = options["displayProperty"]
    scheme = options["outputIdScheme"]
    include_num_den = options["includeNumDen"]
    skip_rounding = options["skipRounding"]
    limit = None if options["ignoreLimit"] else max_rows
    cells = _Cells(query, dataset, store)
    objects = dataset.objects

    # Output ids per scheme.
    def out_id(uid: str, obj: dict[str, Any] | None) -> str:
        if scheme == "UID" or obj is None:
            return uid
        if scheme == "CODE":
            return str(obj.get("code") or uid)
        if scheme == "NAME":
            return _display_name(obj, display)
        return uid

    org_units = objects.get("organisationUnits", {})
    coc_objects = objects.get("categoryOptionCombos", {})

    def ou_obj(uid: str) -> dict[str, Any] | None:
        return org_units.get(uid) if scheme != "UID" or display == "SHORTNAME" else None

    def data_item_name(item: DataItem) -> str:
        name = _display_name(item.obj, display)
        if item.kind == "OPERAND" and item.coc:
            coc = coc_objects.get(item.coc) or {}
            return f"{name} {coc.get('name', item.coc)}"
        return name

    def data_item_out(item: DataItem) -> str:
        if scheme == "UID":
            return item.id
        if scheme == "NAME":
            return data_item_name(item)
        if item.kind == "OPERAND" and item.coc:
            coc = coc_objects.get(item.coc) or {}
            return f"{item.obj.get('code') or item.de}.{coc.get('code') or item.coc}"
        return str(item.obj.get("code") or item.id)

    # Each axis: list of (output id or None for a filter, payload list).
    axes: dict[str, list[tuple[str | None, list[Any]]]] = {}
    row_dims = [d.dim for d in query.dimensions]
    for d in query.dimensions:
        if d.dim == "dx":
            axes["dx"] = [(data_item_out(i), [i]) for i in d.items]
        elif d.dim == "pe":
            axes["pe"] = [(p.id, [p]) for p in d.items]
        elif d.dim == "ou":
            axes["ou"] = [(out_id(o.id, ou_obj(o.id)), [o]) for o in d.items]
        else:
            axes["co"] = [(out_id(c.id, c.obj), [c]) for c in d.items]
    for d in query.filters:
        axes[d.dim] = [(None, list(d.items))]
    axes.setdefault("co", [(None, [])])

    headers: list[dict[str, Any]] = [
        {"name": dim, "column": DIMENSION_NAMES[dim], **_TEXT_HEADER} for dim in row_dims
    ]
    headers.append({"name": "value", "column": "Value", **_NUMBER_HEADER})
    if include_num_den:
        headers.extend(
            {"name": name, "column": column, **_NUMBER_HEADER} for name, column in _NUM_DEN_HEADERS
        )

    rows: list[list[str]] = []
    if not options["skipData"]:
        _fill_rows(rows, axes, row_dims, cells, include_num_den, skip_rounding, limit)

    meta: dict[str, Any] = {}
    if not options["skipMeta"]:
        meta = _metadata(
            query, dataset, store, display, out_id, data_item_out, data_item_name, ou_obj
        )
        if options["hierarchyMeta"]:
            ou = query.axis("ou")
            meta["ouHierarchy"] = {
                out_id(o.id, ou_obj(o.id)): "/".join(dataset.ancestors(o.id))
                for o in (ou.items if ou else [])
            }

    width = len(headers) if rows else 0
    body = {
        "headers": headers,
        "metaData": meta,
        "rowContext": {},
        "rows": rows,
        "height": len(rows),
        "width": width,
        "headerWidth": len(headers),
    }
    return body, len(rows)


def _fill_rows(
    rows: list[list[str]],
    axes: dict[str, list[tuple[str | None, list[Any]]]],
    row_dims: list[str],
    cells: _Cells,
    include_num_den: bool,
    skip_rounding: bool,
    limit: int | None,
) -> None:
    order = [*row_dims, *(d for d in ("dx", "pe", "ou", "co") if d not in row_dims)]
    lists = [axes[d] for d in order]
    index = {d: i for i, d in enumerate(order)}
    ix_dx, ix_pe, ix_ou, ix_co = index["dx"], index["pe"], index["ou"], index["co"]
    n_row = len(row_dims)
    # Pre-compute per-unit payloads.
    pe_months: dict[int, tuple[str, ...]] = {}
    for i, (_, periods) in enumerate(axes["pe"]):
        collected: list[str] = []
        for p in periods:
            collected.extend(p.months)
        pe_months[i] = tuple(dict.fromkeys(collected))
    ou_ranges = [[(o.lo, o.hi) for o in units] for _, units in axes["ou"]]
    co_filters: list[tuple[str, ...] | None] = [
        tuple(c.id for c in cocs) if cocs else None for _, cocs in axes["co"]
    ]
    if "co" in row_dims:
        co_filters = [tuple(c.id for c in cocs) for _, cocs in axes["co"]]
    ids: list[list[Any]] = [[unit[0] for unit in lst] for lst in lists]
    # Data element cells are computed per (dx, pe, co) for all org units at once.
    single_units = all(len(units) == 1 for _, units in axes["ou"])
    los = [units[0].lo for _, units in axes["ou"]] if single_units else []
    his = [units[0].hi for _, units in axes["ou"]] if single_units else []
    vectors: dict[tuple[int, int, int], list[str | None] | None] = {}
    indicator_vectors: dict[tuple[int, int, int], list[Any] | None] = {}
    row_ids = ids[:n_row]
    if single_units and all(u.kind != "INDICATOR" for _, units in axes["dx"] for u in units):
        done = _fill_vector_rows(
            rows,
            axes,
            row_dims,
            cells,
            pe_months,
            co_filters,
            los,
            his,
            include_num_den,
            skip_rounding,
            limit,
        )
        if done:
            return
        rows.clear()
    for combo in itertools.product(*(range(len(lst)) for lst in lists)):
        dx_i, pe_i, ou_i, co_i = combo[ix_dx], combo[ix_pe], combo[ix_ou], combo[ix_co]
        dx_units = lists[ix_dx][dx_i][1]
        if single_units and dx_units[0].kind != "INDICATOR":
            key = (dx_i, pe_i, co_i)
            if key not in vectors:
                vector = cells.data_vector(
                    dx_units, lists[ix_pe][pe_i][1], pe_months[pe_i], co_filters[co_i], los, his
                )
                vectors[key] = (
                    None
                    if vector is None
                    else [None if v is None else format_value(v, 2, skip_rounding) for v in vector]
                )
            formatted = vectors[key]
            if formatted is not None:
                text = formatted[ou_i]
                if text is None:
                    continue
                row = [*map(getitem, row_ids, combo), text]
                if include_num_den:
                    row.extend(_EMPTY_NUM_DEN)
                rows.append(row)
                if limit is not None and len(rows) > limit:
                    raise AnalyticsError("E7128", f"Query result set exceeded max limit: `{limit}`")
                continue
        periods = lists[ix_pe][pe_i][1]
        ranges = ou_ranges[ou_i]
        coc_filter = co_filters[co_i]
        numden: list[str] | None = None
        value: float | None = None
        decimals = 2
        indicators = [i for i in dx_units if i.kind == "INDICATOR"]
        if indicators:
            if coc_filter is not None and "co" in row_dims:
                continue  # indicators have no category option combo disaggregation
            indicator = indicators[0].obj
            result = None
            vector_key = (-1 - dx_i, pe_i, 0)
            if single_units:
                if vector_key not in indicator_vectors:
                    indicator_vectors[vector_key] = cells.indicator_vector(
                        indicator, periods, pe_months[pe_i], los, his
                    )
                by_unit = indicator_vectors[vector_key]
                if by_unit is not None:
                    result = by_unit[ou_i]
                else:
                    result = cells.indicator_value(indicator, periods, ranges)
            else:
                result = cells.indicator_value(indicator, periods, ranges)
            if result is None:
                continue
            value = result[0]
            if indicator.get("decimals") is not None:
                decimals = int(indicator["decimals"])
            if include_num_den:
                numden = [
                    format_value(result[1], 2, skip_rounding),
                    format_value(result[2], 2, skip_rounding),
                    format_value(result[3], 2, skip_rounding),
                    str(result[4]),
                    str(result[5]),
                ]
        else:
            months = pe_months[pe_i]
            total: float | None = None
            for item in dx_units:
                v = cells.data_value(item, periods, months, ranges, coc_filter)
                if v is not None:
                    total = v if total is None else total + v
            if total is None:
                continue
            value = total
        row = [*map(getitem, row_ids, combo), format_value(value, decimals, skip_rounding)]
        if include_num_den:
            row.extend(numden if numden is not None else _EMPTY_NUM_DEN)
        rows.append(row)
        if limit is not None and len(rows) > limit:
            raise AnalyticsError("E7128", f"Query result set exceeded max limit: `{limit}`")


def _fill_vector_rows(
    rows: list[list[str]],
    axes: dict[str, list[tuple[str | None, list[Any]]]],
    row_dims: list[str],
    cells: _Cells,
    pe_months: dict[int, tuple[str, ...]],
    co_filters: list[tuple[str, ...] | None],
    los: list[int],
    his: list[int],
    include_num_den: bool,
    skip_rounding: bool,
    limit: int | None,
) -> bool:
    """Rows of a data-element-only query, org units innermost; False if not vectorisable."""
    outer = [d for d in row_dims if d != "ou"]
    outer += [d for d in ("dx", "pe", "co") if d not in outer]
    ou_pos = row_dims.index("ou") if "ou" in row_dims else None
    ou_ids: list[Any] = [unit[0] for unit in axes["ou"]]
    prefix_dims = [d for d in row_dims if d != "ou"]
    tail = _EMPTY_NUM_DEN if include_num_den else []
    fmt = format_value
    for combo in itertools.product(*(range(len(axes[d])) for d in outer)):
        at = dict(zip(outer, combo, strict=True))
        dx_i, pe_i, co_i = at["dx"], at["pe"], at["co"]
        vector = cells.data_vector(
            axes["dx"][dx_i][1], axes["pe"][pe_i][1], pe_months[pe_i], co_filters[co_i], los, his
        )
        if vector is None:
            return False
        prefix: list[Any] = [axes[d][at[d]][0] for d in prefix_dims]
        texts = [None if v is None else fmt(v, 2, skip_rounding) for v in vector]
        if ou_pos is None:
            if texts[0] is not None:
                rows.append([*prefix, texts[0], *tail])
        elif ou_pos == len(prefix) and not tail:
            rows.extend(
                [*prefix, oid, text] for oid, text in zip(ou_ids, texts, strict=True) if text
            )
        else:
            before, after = prefix[:ou_pos], prefix[ou_pos:]
            rows.extend(
                [*before, oid, *after, text, *tail]
                for oid, text in zip(ou_ids, texts, strict=True)
                if text
            )
        if limit is not None and len(rows) > limit:
            raise AnalyticsError("E7128", f"Query result set exceeded max limit: `{limit}`")
    return True


def _metadata(
    query: AnalyticsRequest,
    dataset: Any,
    store: DataValueStore,
    display: str,
    out_id: Any,
    data_item_out: Any,
    data_item_name: Any,
    ou_obj: Any,
) -> dict[str, Any]:
    objects = dataset.objects
    items: dict[str, dict[str, Any]] = {}
    dimensions: dict[str, list[str]] = {"dx": [], "pe": [], "ou": [], "co": []}
    dx = query.axis("dx")
    for item in dx.items if dx else []:
        key = data_item_out(item)
        items[key] = {"name": data_item_name(item)}
        dimensions["dx"].append(key)
    pe = query.axis("pe")
    for p in pe.items if pe else []:
        if "_" in p.id:  # a startDate/endDate range, not a period
            continue
        items[p.id] = {"name": p.period.name}
        dimensions["pe"].append(p.id)
    ou = query.axis("ou")
    for o in ou.items if ou else []:
        obj = ou_obj(o.id)
        name = _display_name(obj, display) if obj is not None else dataset.name_of(o.id)
        key = out_id(o.id, obj)
        items[key] = {"name": name}
        dimensions["ou"].append(key)
    co = query.axis("co")
    coc_objects = objects.get("categoryOptionCombos", {})
    coc_ids: list[str]
    if co is not None:
        coc_ids = [c.id for c in co.items]
    else:
        coc_ids = []
        for item in dx.items if dx else []:
            if item.kind == "DATA_ELEMENT" and item.de:
                coc_ids.extend(store.option_combos(item.de))
        coc_ids = list(dict.fromkeys(coc_ids))
    for uid in coc_ids:
        obj = coc_objects.get(uid)
        if obj is None:
            continue
        key = out_id(uid, obj)
        items[key] = {"name": _display_name(obj, display)}
        dimensions["co"].append(key)
    items.update(query.keyword_items)
    for dim in ("dx", "pe", "ou"):
        items[dim] = {"name": DIMENSION_NAMES[dim]}
    if co is not None:
        items["co"] = {"name": DIMENSION_NAMES["co"]}
    return {"items": items, "dimensions": dimensions}
