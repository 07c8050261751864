"""Dimension rows of the star schema, built from DHIS2 metadata and periods.

Pure: no Prefect. The builders turn DHIS2 records into rows of the contract in
`prefect_dhis2.warehouse.schema` (`org_unit_row`, `period_row`, `data_rows`); the
coroutines read what they need with a live `AsyncDhis2Client`
(`aiter_org_unit_rows` streams the tree page by page, `afetch_data_dimension` looks
the requested data items up and fails on unknown ones before any analytics request).

Examples:
    >>> period_row("2024Q1")["name"], period_row("2024Q1")["days"]
    ('January - March 2024', 91)
    >>> org_unit_row({"id": "O6uvpzGd5pu", "name": "Bo", "level": 2,
    ...     "path": "/ImspTQPwCqd/O6uvpzGd5pu"}, {"ImspTQPwCqd": "Sierra Leone"},
    ...     {1: "National", 2: "District"})["level_1_name"]
    'Sierra Leone'
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prefect_dhis2.client import Dhis2NotFoundError
from prefect_dhis2.org_units.hierarchy import ORG_UNIT_FIELDS, flatten_org_unit
from prefect_dhis2.periods import parse_period
from prefect_dhis2.uids import is_valid_uid
from prefect_dhis2.vocabulary import REPORTING_RATE_METRICS
from prefect_dhis2.warehouse.schema import TOTAL_COC_UID

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = [
    "afetch_category_option_combos",
    "afetch_data_dimension",
    "aiter_org_unit_rows",
    "check_data_items",
    "data_rows",
    "org_unit_row",
    "period_row",
    "representative_point",
    "total_coc_row",
]

_ID_BATCH = 100  # UIDs per `id:in:[...]` filter, well under URL limits


def _ring_centroid(ring: Sequence[Sequence[float]]) -> tuple[float, float, float] | None:
    """(area, lon, lat) of a ring by the shoelace formula; None for a degenerate ring."""
    if len(ring) < 3:
        return None
    area = cx = cy = 0.0
    for (x0, y0, *_), (x1, y1, *_) in zip(ring, [*ring[1:], ring[0]], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-15:
        return None
    return abs(area) / 2, cx / (3 * area), cy / (3 * area)


def representative_point(geometry: Any) -> tuple[float | None, float | None]:
    """(longitude, latitude): a Point itself, or the centroid of a polygon's outer ring
    (the largest polygon's, for a MultiPolygon); (None, None) without geometry.

    Examples:
        >>> representative_point({"type": "Polygon",
        ...     "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]})
        (1.0, 1.0)
        >>> representative_point({"type": "Point", "coordinates": [-11.4, 8.0]})
        (-11.4, 8.0)
    """
    if not isinstance(geometry, Mapping):
        return None, None
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Point":
            return float(coordinates[0]), float(coordinates[1])  # type: ignore[index]
        rings = []
        if kind == "Polygon":
            rings = [coordinates[0]]  # type: ignore[index]
        elif kind == "MultiPolygon":
            rings = [polygon[0] for polygon in coordinates]  # type: ignore[union-attr]
    except (TypeError, IndexError, ValueError):
        return None, None
    best: tuple[float, float, float] | None = None
    for ring in rings:
        centroid = _ring_centroid(ring)
        if centroid is not None and (best is None or centroid[0] > best[0]):
            best = centroid
    if best is None:
        points = [p for ring in rings for p in ring]
        if not points:
            return None, None
        return (
            sum(float(p[0]) for p in points) / len(points),
            sum(float(p[1]) for p in points) / len(points),
        )
    return round(best[1], 7), round(best[2], 7)


def org_unit_row(
    unit: Mapping[str, Any], names: Mapping[str, str], level_names: Mapping[int, str]
) -> dict[str, Any]:
    """One `dim_org_unit` row (without its key) from an org unit of `ORG_UNIT_FIELDS`.

    Args:
        unit: The org unit record.
        names: Names of its ancestors by UID.
        level_names: Level number to level name; its deepest level sets the
            number of `level_<n>_uid`/`level_<n>_name` pairs.
    """
    max_level = max(level_names or {1: ""})
    flat = flatten_org_unit(unit, names, max_level)
    longitude, latitude = representative_point(unit.get("geometry"))
    row: dict[str, Any] = {
        "uid": flat["id"],
        "code": flat["code"],
        "name": flat["name"],
        "short_name": flat["short_name"],
        "level": flat["level"],
        "level_name": level_names.get(int(flat["level"])) if flat["level"] else None,
        "parent_uid": flat["parent_id"],
        "path": unit.get("path"),
        "opening_date": flat["opening_date"],
        "closed_date": flat["closed_date"],
        "geometry_type": flat["geometry_type"],
        "longitude": longitude,
        "latitude": latitude,
    }
    for level in range(1, max_level + 1):
        row[f"level_{level}_uid"] = flat[f"level_{level}_id"]
        row[f"level_{level}_name"] = flat[f"level_{level}_name"]
    return row


async def aiter_org_unit_rows(
    client: AsyncDhis2Client, level_names: Mapping[int, str]
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every org unit as `dim_org_unit` rows, one list per page.

    Only the names of units that can be ancestors are held (a first pass over the
    levels above the deepest), so the tree is never held whole.
    """
    max_level = max(level_names or {1: ""})
    names: dict[str, str] = {}
    if max_level > 1:
        async for page in client.iter_metadata(
            "organisationUnits", fields="id,name", filters=[f"level:lt:{max_level}"]
        ):
            names.update((str(u["id"]), str(u.get("name") or "")) for u in page)
    async for page in client.iter_metadata("organisationUnits", fields=ORG_UNIT_FIELDS):
        yield [org_unit_row(unit, names, level_names) for unit in page]


def period_row(iso: str) -> dict[str, Any]:
    """One `dim_period` row (without its key), for any DHIS2 period type.

    Raises:
        ValueError: For a string that is not a DHIS2 period.
    """
    period = parse_period(iso)
    start = period.start_date
    return {
        "iso": period.id,
        "period_type": period.period_type,
        "name": period.name,
        "start_date": start,
        "end_date": period.end_date,
        "year": start.year,
        "quarter": (start.month - 1) // 3 + 1,
        "month": start.month,
        "week": start.isocalendar().week,
        "days": period.days,
    }


def total_coc_row() -> dict[str, Any]:
    """The `dim_category_option_combo` row of the total (key 0)."""
    return {"uid": TOTAL_COC_UID, "name": "Total"}


def check_data_items(data_items: Sequence[str]) -> list[str]:
    """Check the dx items the warehouse can name one row each, before any request.

    Accepted: UIDs (data elements, indicators, program indicators), operands
    `de.coc` and reporting rates `ds.REPORTING_RATE` (and the other metrics).
    Groups (`DE_GROUP-`, `IN_GROUP-`) and wildcards (`de.*`) stand for many rows
    whose names the warehouse could not look up: list their members instead.

    Raises:
        ValueError: Naming the first item that is not accepted.

    Examples:
        >>> check_data_items(["fbfJHSPpUQD", "fbfJHSPpUQD.pq2XI5kz2BY"])
        ['fbfJHSPpUQD', 'fbfJHSPpUQD.pq2XI5kz2BY']
    """
    if not data_items:
        raise ValueError("No data items given: the warehouse needs at least one dx item.")
    for item in data_items:
        parts = item.split(".")
        if len(parts) == 1 and is_valid_uid(item):
            continue
        if (
            len(parts) == 2
            and is_valid_uid(parts[0])
            and (is_valid_uid(parts[1]) or parts[1] in REPORTING_RATE_METRICS)
        ):
            continue
        raise ValueError(
            f"Data item {item!r} cannot be a row of dim_data: use a data element, indicator "
            "or program indicator UID, an operand 'deUid.cocUid' or 'dsUid.REPORTING_RATE' "
            "(list the members of a group or wildcard one by one)."
        )
    return list(dict.fromkeys(data_items))


async def _fetch_by_ids(
    client: AsyncDhis2Client, collection: str, fields: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), _ID_BATCH):
        chunk = unique[start : start + _ID_BATCH]
        try:
            records = await client.fetch_metadata(
                collection, fields=fields, filters=[f"id:in:[{','.join(chunk)}]"]
            )
        except Dhis2NotFoundError:
            return found  # a server without this collection (e.g. no tracker) has none
        found.update((str(r["id"]), r) for r in records)
    return found


_DE_FIELDS = "id,code,name,shortName,valueType,aggregationType"
_IN_FIELDS = "id,code,name,shortName,numerator,denominator,indicatorType[name,factor]"
_PI_FIELDS = "id,code,name,shortName,aggregationType,expression"
_DS_FIELDS = "id,code,name,shortName"

_METRIC_NAMES = {
    "REPORTING_RATE": "Reporting rate",
    "REPORTING_RATE_ON_TIME": "Reporting rate on time",
    "ACTUAL_REPORTS": "Actual reports",
    "ACTUAL_REPORTS_ON_TIME": "Actual reports on time",
    "EXPECTED_REPORTS": "Expected reports",
}


def _row(record: Mapping[str, Any], uid: str, kind: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "uid": uid,
        "code": record.get("code"),
        "name": record.get("name"),
        "short_name": record.get("shortName"),
        "kind": kind,
        "value_type": None,
        "aggregation_type": None,
        "indicator_type": None,
        "factor": None,
        "numerator": None,
        "denominator": None,
    }
    row.update(extra)
    return row


def data_rows(
    data_items: Sequence[str],
    data_elements: Mapping[str, Mapping[str, Any]],
    indicators: Mapping[str, Mapping[str, Any]],
    program_indicators: Mapping[str, Mapping[str, Any]],
    data_sets: Mapping[str, Mapping[str, Any]],
    category_option_combos: Mapping[str, Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """`dim_data` rows (without keys) for `data_items`, and the items found nowhere.

    Examples:
        >>> rows, unknown = data_rows(["fbfJHSPpUQD", "Xq0MissngDE"],
        ...     {"fbfJHSPpUQD": {"name": "ANC 1st visit", "valueType": "NUMBER"}},
        ...     {}, {}, {}, {})
        >>> rows[0]["kind"], unknown
        ('DATA_ELEMENT', ['Xq0MissngDE'])
    """
    rows: list[dict[str, Any]] = []
    unknown: list[str] = []
    for item in data_items:
        head, _, tail = item.partition(".")
        if not tail:
            if item in data_elements:
                de = data_elements[item]
                rows.append(
                    _row(de, item, "DATA_ELEMENT", value_type=de.get("valueType"),
                         aggregation_type=de.get("aggregationType"))
                )  # fmt: skip
            elif item in indicators:
                ind = indicators[item]
                kind = ind.get("indicatorType") or {}
                rows.append(
                    _row(ind, item, "INDICATOR", indicator_type=kind.get("name"),
                         factor=kind.get("factor"), numerator=ind.get("numerator"),
                         denominator=ind.get("denominator"))
                )  # fmt: skip
            elif item in program_indicators:
                pi = program_indicators[item]
                rows.append(
                    _row(pi, item, "PROGRAM_INDICATOR",
                         aggregation_type=pi.get("aggregationType"),
                         numerator=pi.get("expression"))
                )  # fmt: skip
            else:
                unknown.append(item)
        elif tail in REPORTING_RATE_METRICS:
            if head not in data_sets:
                unknown.append(item)
                continue
            ds = data_sets[head]
            metric = _METRIC_NAMES.get(tail, tail.replace("_", " ").capitalize())
            rows.append(
                _row(ds, item, "REPORTING_RATE", name=f"{ds.get('name')} - {metric}",
                     short_name=f"{ds.get('shortName') or ds.get('name')} - {metric}",
                     code=None)
            )  # fmt: skip
        else:
            if head not in data_elements or tail not in category_option_combos:
                unknown.append(item)
                continue
            de, coc = data_elements[head], category_option_combos[tail]
            rows.append(
                _row(de, item, "DATA_ELEMENT_OPERAND", name=f"{de.get('name')} {coc.get('name')}",
                     short_name=f"{de.get('shortName') or de.get('name')} {coc.get('name')}",
                     code=None, value_type=de.get("valueType"),
                     aggregation_type=de.get("aggregationType"))
            )  # fmt: skip
    return rows, unknown


async def afetch_data_dimension(
    client: AsyncDhis2Client, data_items: Sequence[str]
) -> list[dict[str, Any]]:
    """Look up every data item and return its `dim_data` rows (without keys).

    Raises:
        ValueError: Naming the items DHIS2 does not know (before any analytics request).
    """
    items = check_data_items(data_items)
    heads = [i.partition(".")[0] for i in items]
    tails = [i.partition(".")[2] for i in items if "." in i]
    plain = [i for i in items if "." not in i]
    data_elements = await _fetch_by_ids(client, "dataElements", _DE_FIELDS, heads)
    rest = [i for i in plain if i not in data_elements]
    indicators = await _fetch_by_ids(client, "indicators", _IN_FIELDS, rest) if rest else {}
    rest = [i for i in rest if i not in indicators]
    programs = await _fetch_by_ids(client, "programIndicators", _PI_FIELDS, rest) if rest else {}
    sets = [
        h
        for i, h in zip(items, heads, strict=True)
        if i.partition(".")[2] in REPORTING_RATE_METRICS
    ]
    data_sets = await _fetch_by_ids(client, "dataSets", _DS_FIELDS, sets) if sets else {}
    cocs = [t for t in tails if t not in REPORTING_RATE_METRICS]
    combos = await _fetch_by_ids(client, "categoryOptionCombos", "id,name", cocs) if cocs else {}
    rows, unknown = data_rows(items, data_elements, indicators, programs, data_sets, combos)
    if unknown:
        raise ValueError(
            f"Unknown data item(s) on {client.base_url}: {', '.join(unknown)} (not a data "
            "element, indicator, program indicator, operand or reporting rate there); "
            "nothing was extracted."
        )
    return rows


async def afetch_category_option_combos(client: AsyncDhis2Client) -> list[dict[str, Any]]:
    """Every category option combo as a `dim_category_option_combo` row (without key)."""
    records = await client.fetch_metadata("categoryOptionCombos", fields="id,name")
    return [{"uid": str(r["id"]), "name": r.get("name")} for r in records]
