"""Analytics of the DHIS2 emulator: the grid, raw data and data value set outputs.

A request is parsed into an `AnalyticsRequest` (`analytics.request`), computed by the grid
builder (`analytics.grid`, indicators evaluated by `analytics.indicators`) and shaped here
for each endpoint. While analytics tables are cleared every query fails with E7144.

Example:
    >>> from datetime import date
    >>> from prefect_dhis2.testing.core.state import EmulatorConfig, EmulatorState
    >>> state = EmulatorState(EmulatorConfig(org_units=60, relative_period_date=date(2024, 6, 30)))
    >>> query = request_for(state, ["dx:fbfJHSPpUQD", "pe:2024Q1", "ou:ImspTQPwCqd"])
    >>> body, rows = analytics_grid(query, state)
    >>> rows, body["rows"][0][:3]
    (1, ['fbfJHSPpUQD', '2024Q1', 'ImspTQPwCqd'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prefect_dhis2.testing.analytics.grid import build_analytics_grid
from prefect_dhis2.testing.analytics.request import (
    AnalyticsError,
    AnalyticsRequest,
    OrgUnitItem,
    parse_analytics_request,
)
from prefect_dhis2.testing.core.state import EmulatorState

__all__ = [
    "analytics_grid",
    "check_analytics_tables",
    "data_value_set",
    "estimated_cells",
    "raw_data",
    "request_for",
]


def request_for(
    state: EmulatorState,
    dimensions: Sequence[str],
    filters: Sequence[str] = (),
    params: Mapping[str, str] | None = None,
    *,
    user_roots: Sequence[str] = ("ImspTQPwCqd",),
) -> AnalyticsRequest:
    """Resolve an analytics request against the state's metadata, at the state's "today".

    Raises:
        AnalyticsError: For an illegal query, with DHIS2's error code.
    """
    return parse_analytics_request(
        dimensions,
        filters,
        dict(params or {}),
        state.dataset,
        state.data_values,
        user_roots=user_roots,
        at=state.config.today,
    )


def check_analytics_tables(state: EmulatorState) -> None:
    """Fail as DHIS2 does when the analytics tables were cleared (E7144).

    Raises:
        AnalyticsError: E7144 while the tables are missing.
    """
    if state.analytics_tables.cleared:
        raise AnalyticsError(
            "E7144",
            "Query failed because a referenced table does not exist. "
            "Please ensure analytics job was run",
        )


def estimated_cells(query: AnalyticsRequest) -> int:
    """The number of cells a request asks for (product of its dimensions' item counts)."""
    size = 1
    for d in query.dimensions:
        size *= max(len(d.items), 1)
    return size


def analytics_grid(query: AnalyticsRequest, state: EmulatorState) -> tuple[dict[str, Any], int]:
    """The aggregate analytics grid of a request (`/api/analytics`) and its number of rows."""
    return build_analytics_grid(
        query, state.dataset, state.data_values, max_rows=state.config.max_analytics_rows
    )


def raw_data(query: AnalyticsRequest, state: EmulatorState) -> tuple[dict[str, Any], int]:
    """The grid at facility level (`/api/analytics/rawData`) and its number of rows.

    Every requested org unit is replaced by the facilities below it.
    """
    dataset, store = state.dataset, state.data_values
    facilities = set(dataset.facility_ids)
    for d in (*query.dimensions, *query.filters):
        if d.dim != "ou":
            continue
        expanded: list[OrgUnitItem] = []
        seen: set[str] = set()
        for item in d.items:
            units = [item.id] if item.id in facilities else dataset.descendants(item.id)
            for uid in units:
                if uid in facilities and uid not in seen:
                    seen.add(uid)
                    lo, hi = store.org_unit_range(uid)
                    expanded.append(OrgUnitItem(uid, lo, hi))
        d.items = expanded
    return analytics_grid(query, state)


def data_value_set(query: AnalyticsRequest, state: EmulatorState) -> tuple[dict[str, Any], int]:
    """The grid as data values (`/api/analytics/dataValueSet`) and its number of values.

    Raises:
        AnalyticsError: E7117/E7118/E7119 when `dx`, `pe` or `ou` is not a dimension.
    """
    dims = {d.dim for d in query.dimensions}
    for dim, code, message in (
        ("dx", "E7117", "A data dimension 'dx' must be specified"),
        ("pe", "E7118", "A period dimension 'pe' must be specified"),
        ("ou", "E7119", "An organisation unit dimension 'ou' must be specified"),
    ):
        if dim not in dims:
            raise AnalyticsError(code, f"{message} when output format is DATA_VALUE_SET")
    query.options["skipMeta"] = True
    query.options["includeNumDen"] = False
    query.dimensions = [d for d in query.dimensions if d.dim in ("dx", "pe", "ou", "co")]
    order = {name: i for i, name in enumerate(("dx", "pe", "ou", "co"))}
    query.dimensions.sort(key=lambda d: order[d.dim])
    body, rows = analytics_grid(query, state)
    has_co = any(d.dim == "co" for d in query.dimensions)
    values: list[dict[str, str]] = []
    for row in body["rows"]:
        dx = row[0]
        entry: dict[str, str] = {}
        if "." in dx:
            de, _, coc = dx.partition(".")
            entry["dataElement"] = de
            entry["period"] = row[1]
            entry["orgUnit"] = row[2]
            entry["categoryOptionCombo"] = coc
        else:
            entry["dataElement"] = dx
            entry["period"] = row[1]
            entry["orgUnit"] = row[2]
            if has_co:
                entry["categoryOptionCombo"] = row[3]
        entry["value"] = row[-1]
        values.append(entry)
    return {"dataValues": values}, rows
