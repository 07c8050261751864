"""Parse and validate an emulated `/api/analytics` request, the way DHIS2 does.

The request's `dimension` and `filter` parameters (repeated, or comma-joined in one
parameter) are resolved against the emulator's metadata into typed items: data items
(data elements, operands `de.coc`, indicators, `DE_GROUP-`/`IN_GROUP-` expansions), periods
(ISO identifiers and relative keywords at `relativePeriodDate`), org units (UIDs, `LEVEL-n`,
`OU_GROUP-`, `USER_ORGUNIT*`) and category option combos. Illegal queries raise
`AnalyticsError` carrying DHIS2's error code and message (E7101 ... E7143).

Example:
    >>> from prefect_dhis2.testing.core.dataset import generate_dataset
    >>> dataset = generate_dataset(60)
    >>> store = DataValueStore(dataset, seed=1, until=date(2024, 6, 30))
    >>> query = parse_analytics_request(["dx:fbfJHSPpUQD", "pe:LAST_QUARTER", "ou:ImspTQPwCqd"],
    ...                                 [], {}, dataset, store, user_roots=["ImspTQPwCqd"],
    ...                                 at=date(2024, 6, 30))
    >>> [d.dim for d in query.dimensions]
    ['dx', 'pe', 'ou']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from prefect_dhis2.testing.core.periods import (
    Period,
    is_relative_period,
    parse_period,
    resolve_relative_period,
)
from prefect_dhis2.testing.data_values.store import DataValueStore
from prefect_dhis2.uids import is_valid_uid

__all__ = [
    "AnalyticsError",
    "AnalyticsRequest",
    "DataItem",
    "Dimension",
    "OrgUnitItem",
    "PeriodItem",
    "months_of",
    "parse_analytics_request",
    "relative_period_name",
]

DIMENSION_NAMES = {
    "dx": "Data",
    "pe": "Period",
    "ou": "Organisation unit",
    "co": "Category option combo",
}

DataKind = Literal["DATA_ELEMENT", "OPERAND", "INDICATOR"]


class AnalyticsError(Exception):
    """An illegal analytics query: DHIS2 answers 409 with this error code and message.

    Example:
        >>> AnalyticsError("E7101", "At least one dimension must be specified").code
        'E7101'
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class DataItem:
    """A `dx` item: a data element total, an operand `de.coc`, or an indicator."""

    id: str
    kind: DataKind
    obj: dict[str, Any]
    de: str | None = None
    coc: str | None = None


@dataclass(slots=True)
class PeriodItem:
    """A fixed period with the months whose data it aggregates."""

    id: str
    period: Period
    months: tuple[str, ...]


@dataclass(slots=True)
class OrgUnitItem:
    """An org unit with its slice `[lo, hi)` of the data value columns."""

    id: str
    lo: int
    hi: int


@dataclass(slots=True)
class CocItem:
    """A category option combo of the `co` dimension."""

    id: str
    obj: dict[str, Any]


@dataclass(slots=True)
class Dimension:
    """One resolved dimension or filter."""

    dim: str
    items: list[Any]


@dataclass(slots=True)
class AnalyticsRequest:
    """A validated analytics request.

    Attributes:
        dimensions: The row dimensions in request order.
        filters: The filters (aggregated over, not columns).
        keyword_items: Extra `metaData.items` entries (relative periods, `USER_ORGUNIT`...).
        options: Flags: `skipMeta`, `includeNumDen`, `skipRounding`, `ignoreLimit`,
            `hierarchyMeta`, `skipData`, `displayProperty`, `outputIdScheme`.
    """

    dimensions: list[Dimension]
    filters: list[Dimension]
    keyword_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def axis(self, dim: str) -> Dimension | None:
        """The dimension or filter named `dim`, if present."""
        for d in self.dimensions:
            if d.dim == dim:
                return d
        for d in self.filters:
            if d.dim == dim:
                return d
        return None

    def is_filter(self, dim: str) -> bool:
        """Tell whether `dim` is used as a filter."""
        return any(d.dim == dim for d in self.filters)


def relative_period_name(keyword: str) -> str:
    """Display name of a relative period keyword (`LAST_12_MONTHS` → `Last 12 months`).

    Example:
        >>> relative_period_name("THIS_YEAR")
        'This year'
    """
    return keyword.replace("_", " ").capitalize()


def months_of(period: Period) -> tuple[str, ...]:
    """Months (`yyyyMM`) entirely inside a period; empty for periods shorter than a month.

    Example:
        >>> months_of(parse_period("2024Q1"))
        ('202401', '202402', '202403')
    """
    start, end = period.start_date, period.end_date
    if start.day != 1:
        return ()
    months: list[str] = []
    year, month = start.year, start.month
    while True:
        first = date(year, month, 1)
        next_first = date(year + month // 12, month % 12 + 1, 1)
        if first > end or next_first - timedelta(days=1) > end:
            break
        months.append(f"{year:04d}{month:02d}")
        year, month = next_first.year, next_first.month
    return tuple(months)


def _true(params: Mapping[str, str], name: str) -> bool:
    return str(params.get(name, "false")).lower() == "true"


def _split_dimensions(values: Sequence[str]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            dim, _, items = part.partition(":")
            out.append((dim.strip(), [i for i in items.split(";") if i] if items else []))
    return out


def parse_analytics_request(
    dimension_params: Sequence[str],
    filter_params: Sequence[str],
    params: Mapping[str, str],
    dataset: Any,
    store: DataValueStore,
    *,
    user_roots: Sequence[str],
    at: date,
) -> AnalyticsRequest:
    """Resolve and validate an analytics request.

    Args:
        dimension_params: Values of the repeated `dimension` parameter.
        filter_params: Values of the repeated `filter` parameter.
        params: The other query parameters (flags, `relativePeriodDate`...).
        dataset: The emulator's `Dhis2Dataset`.
        store: The data value store (for org unit column ranges).
        user_roots: The current user's org units (`USER_ORGUNIT`).
        at: Default date relative periods are resolved at.

    Returns:
        The resolved query.

    Raises:
        AnalyticsError: For an illegal query, with DHIS2's error code.
    """
    dims = _split_dimensions(dimension_params)
    filters = _split_dimensions(filter_params)
    if not dims:
        raise AnalyticsError("E7101", "At least one dimension must be specified")
    seen: set[str] = set()
    for dim, _ in dims:
        if dim in seen:
            raise AnalyticsError("E7111", f"Dimensions cannot be specified more than once: `{dim}`")
        seen.add(dim)
    filter_seen: set[str] = set()
    for dim, _ in filters:
        if dim in seen:
            raise AnalyticsError(
                "E7103",
                f"Dimensions cannot be specified as dimension and filter simultaneously: `{dim}`",
            )
        if dim in filter_seen:
            raise AnalyticsError("E7111", f"Dimensions cannot be specified more than once: `{dim}`")
        filter_seen.add(dim)
    for dim, _ in dims + filters:
        if dim not in DIMENSION_NAMES:
            raise AnalyticsError(
                "E7125", f"Dimension identifier does not reference any dimension: `{dim}`"
            )
    all_dims = {dim for dim, _ in dims} | filter_seen
    if "dx" not in all_dims:
        raise AnalyticsError(
            "E7102",
            "At least one data dimension item or data element group set dimension item "
            "must be specified",
        )
    has_dates = bool(params.get("startDate")) and bool(params.get("endDate"))
    if "pe" not in all_dims and not has_dates:
        raise AnalyticsError(
            "E7104",
            "At least one period as dimension or filter, or start and dates, must be specified",
        )
    if "pe" in all_dims and (params.get("startDate") or params.get("endDate")):
        raise AnalyticsError(
            "E7105", "Periods and start and end dates cannot be specified simultaneously"
        )

    relative_at = at
    if params.get("relativePeriodDate"):
        try:
            relative_at = date.fromisoformat(str(params["relativePeriodDate"])[:10])
        except ValueError:
            relative_at = at

    query = AnalyticsRequest(dimensions=[], filters=[])
    query.options = {
        "skipMeta": _true(params, "skipMeta"),
        "skipData": _true(params, "skipData"),
        "includeNumDen": _true(params, "includeNumDen"),
        "skipRounding": _true(params, "skipRounding"),
        "ignoreLimit": _true(params, "ignoreLimit"),
        "hierarchyMeta": _true(params, "hierarchyMeta"),
        "displayProperty": str(params.get("displayProperty", "NAME")).upper(),
        "outputIdScheme": str(params.get("outputIdScheme", "UID")).upper(),
    }
    resolver = _Resolver(dataset, store, user_roots, relative_at, query.keyword_items)
    for target, specs in ((query.dimensions, dims), (query.filters, filters)):
        for dim, items in specs:
            target.append(Dimension(dim, resolver.resolve(dim, items)))

    dx_filter = next((d for d in query.filters if d.dim == "dx"), None)
    if dx_filter is not None:
        indicators = [i for i in dx_filter.items if i.kind == "INDICATOR"]
        if len(indicators) > 1:
            raise AnalyticsError("E7108", "Only a single indicator can be specified as filter")
    if has_dates and "pe" not in all_dims:
        query.filters.append(Dimension("pe", [resolver.date_range(params)]))
    # `co` without items means every option combo of the requested data elements.
    co = query.axis("co")
    if co is not None and not co.items:
        co.items = resolver.all_option_combos(query.axis("dx"))
    return query


class _Resolver:
    def __init__(
        self,
        dataset: Any,
        store: DataValueStore,
        user_roots: Sequence[str],
        at: date,
        keyword_items: dict[str, dict[str, Any]],
    ) -> None:
        self.dataset = dataset
        self.store = store
        self.user_roots = [u for u in user_roots if store.position(u) is not None]
        self.at = at
        self.keyword_items = keyword_items
        self.objects = dataset.objects

    def resolve(self, dim: str, items: list[str]) -> list[Any]:
        if dim == "dx":
            return self.data_items(items)
        if dim == "pe":
            return self.periods(items)
        if dim == "ou":
            return self.org_units(items)
        return self.option_combos(items)

    # -- dx -----------------------------------------------------------------------------
    def data_items(self, items: list[str]) -> list[DataItem]:
        elements = self.objects.get("dataElements", {})
        indicators = self.objects.get("indicators", {})
        out: list[DataItem] = []
        seen: set[str] = set()

        def add(item: DataItem) -> None:
            if item.id not in seen:
                seen.add(item.id)
                out.append(item)

        for raw in items:
            if raw.startswith("DE_GROUP-"):
                group = self.objects.get("dataElementGroups", {}).get(raw[9:])
                for ref in (group or {}).get("dataElements", []):
                    obj = elements.get(ref["id"])
                    if obj is not None:
                        add(DataItem(ref["id"], "DATA_ELEMENT", obj, de=ref["id"]))
                continue
            if raw.startswith("IN_GROUP-"):
                group = self.objects.get("indicatorGroups", {}).get(raw[9:])
                for ref in (group or {}).get("indicators", []):
                    obj = indicators.get(ref["id"])
                    if obj is not None:
                        add(DataItem(ref["id"], "INDICATOR", obj))
                continue
            if "." in raw:
                de, _, rest = raw.partition(".")
                coc = rest.split(".")[0]
                obj = elements.get(de) if is_valid_uid(de) else None
                if obj is None:
                    continue
                cocs = self.store.option_combos(de)
                if coc == "*":
                    for each in cocs:
                        add(DataItem(f"{de}.{each}", "OPERAND", obj, de=de, coc=each))
                elif coc in cocs:
                    add(DataItem(f"{de}.{coc}", "OPERAND", obj, de=de, coc=coc))
                continue
            if not is_valid_uid(raw):
                continue
            if raw in elements:
                add(DataItem(raw, "DATA_ELEMENT", elements[raw], de=raw))
            elif raw in indicators:
                add(DataItem(raw, "INDICATOR", indicators[raw]))
        if not out:
            raise AnalyticsError(
                "E7124", "Dimension is present in query without any valid dimension options: `dx`"
            )
        return out

    # -- pe -----------------------------------------------------------------------------
    def periods(self, items: list[str]) -> list[PeriodItem]:
        out: dict[str, PeriodItem] = {}
        for raw in items:
            if is_relative_period(raw):
                self.keyword_items[raw] = {"name": relative_period_name(raw)}
                periods = resolve_relative_period(raw, self.at)
            else:
                try:
                    periods = [parse_period(raw)]
                except (ValueError, TypeError):
                    raise AnalyticsError("E7611", f"Period not valid: `{raw}`") from None
            for period in periods:
                if period.id not in out:
                    out[period.id] = PeriodItem(period.id, period, months_of(period))
        if not out:
            raise AnalyticsError(
                "E7124", "Dimension is present in query without any valid dimension options: `pe`"
            )
        return list(out.values())

    def date_range(self, params: Mapping[str, str]) -> PeriodItem:
        try:
            start = date.fromisoformat(str(params["startDate"]))
            end = date.fromisoformat(str(params["endDate"]))
        except ValueError:
            raise AnalyticsError("E7106", "Start date cannot be after end date") from None
        if start > end:
            raise AnalyticsError("E7106", "Start date cannot be after end date")
        period = Period(f"{start}_{end}", "Daily", start, end)
        months = tuple(
            m
            for m in self.store.months
            if date(int(m[:4]), int(m[4:]), 1) >= start
            and date(int(m[:4]) + int(m[4:]) // 12, int(m[4:]) % 12 + 1, 1) - timedelta(days=1)
            <= end
        )
        return PeriodItem(period.id, period, months)

    # -- ou -----------------------------------------------------------------------------
    def _item(self, uid: str) -> OrgUnitItem | None:
        pos = self.store.position(uid)
        if pos is None:
            return None
        lo, hi = self.store.org_unit_range(uid)
        return OrgUnitItem(uid, lo, hi)

    def _by_name(self, uids: list[str]) -> list[str]:
        name_of = self.dataset.name_of
        return sorted(uids, key=lambda u: (name_of(u), u))

    def _children(self, uids: list[str]) -> list[str]:
        out: list[str] = []
        for uid in uids:
            out.extend(self.dataset.children(uid))
        return out

    def org_units(self, items: list[str]) -> list[OrgUnitItem]:
        plain: list[str] = []
        levels: list[int] = []
        groups: list[str] = []
        ordered: list[str] = []
        level_objects = self.objects.get("organisationUnitLevels", {})
        for raw in items:
            if raw == "USER_ORGUNIT":
                units = list(self.user_roots)
                self.keyword_items[raw] = {"organisationUnits": units}
                ordered.extend(units)
            elif raw == "USER_ORGUNIT_CHILDREN":
                units = self._by_name(self._children(self.user_roots))
                self.keyword_items[raw] = {"organisationUnits": units}
                ordered.extend(units)
            elif raw == "USER_ORGUNIT_GRANDCHILDREN":
                units = self._by_name(self._children(self._children(self.user_roots)))
                self.keyword_items[raw] = {"organisationUnits": units}
                ordered.extend(units)
            elif raw.startswith("LEVEL-"):
                ref = raw[6:]
                level: int | None = None
                if ref.isdigit():
                    level = int(ref)
                else:
                    obj = level_objects.get(ref)
                    if obj is not None:
                        level = int(obj.get("level", 0))
                if level is None or not 1 <= level <= self.dataset.max_level:
                    raise AnalyticsError(
                        "E7143", "Organisation unit or organisation unit level is not valid"
                    )
                levels.append(level)
                level_name = next(
                    (o.get("name") for o in level_objects.values() if o.get("level") == level),
                    f"Level {level}",
                )
                self.keyword_items[raw] = {"name": level_name}
            elif raw.startswith("OU_GROUP-"):
                group = self.objects.get("organisationUnitGroups", {}).get(raw[9:])
                if group is None:
                    raise AnalyticsError(
                        "E7143", "Organisation unit or organisation unit level is not valid"
                    )
                groups.append(raw[9:])
                self.keyword_items[raw] = {"name": group.get("name", raw)}
            elif is_valid_uid(raw) and self.store.position(raw) is not None:
                plain.append(raw)
                ordered.append(raw)
        if levels or groups:
            boundaries = plain or list(self.user_roots)
            ordered = [u for u in ordered if u not in plain]
            expanded: list[str] = []
            for level in levels:
                for boundary in boundaries:
                    expanded.extend(self.dataset.descendants(boundary, level=level))
            for group_id in groups:
                group = self.objects["organisationUnitGroups"][group_id]
                ranges = [self.store.org_unit_range(b) for b in boundaries]
                for ref in group.get("organisationUnits", []):
                    pos = self.store.position(ref["id"])
                    if pos is not None and any(lo <= pos < hi for lo, hi in ranges):
                        expanded.append(ref["id"])
            ordered.extend(self._by_name(list(dict.fromkeys(expanded))))
        result: list[OrgUnitItem] = []
        for uid in dict.fromkeys(ordered):
            item = self._item(uid)
            if item is not None:
                result.append(item)
        if not result:
            raise AnalyticsError(
                "E7143", "Organisation unit or organisation unit level is not valid"
            )
        return result

    # -- co -----------------------------------------------------------------------------
    def option_combos(self, items: list[str]) -> list[CocItem]:
        cocs = self.objects.get("categoryOptionCombos", {})
        return [CocItem(uid, cocs[uid]) for uid in dict.fromkeys(items) if uid in cocs]

    def all_option_combos(self, dx: Dimension | None) -> list[CocItem]:
        cocs = self.objects.get("categoryOptionCombos", {})
        ids: list[str] = []
        for item in dx.items if dx is not None else []:
            if item.kind == "DATA_ELEMENT" and item.de is not None:
                ids.extend(self.store.option_combos(item.de))
            elif item.kind == "OPERAND" and item.coc is not None:
                ids.append(item.coc)
        return [CocItem(uid, cocs[uid]) for uid in dict.fromkeys(ids) if uid in cocs]
