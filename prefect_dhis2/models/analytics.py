"""The analytics grid returned by `GET /api/analytics`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

__all__ = ["AnalyticsGrid", "GridHeader", "GridRow", "GridRows"]


class GridHeader(BaseModel):
    """One column of an analytics grid (`name`, `column`, `valueType`, ...)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    name: str
    column: str | None = None
    value_type: str | None = Field(default=None, alias="valueType")
    type: str | None = None
    hidden: bool = False
    meta: bool = False


GridRow = tuple[str, ...]
"""One grid row: its cells, strings as DHIS2 sends them, in header order."""


def _grid_rows(value: Any) -> list[GridRow]:
    """Check the shape of the rows without validating each cell; rows become tuples.

    A national grid holds hundreds of thousands of rows; validating every cell
    would cost more than decoding the JSON. DHIS2 sends every cell as a string.
    Rows are tuples, as a DB-API cursor's `fetchall()` returns them: the client
    decodes them so (`prefect_dhis2.client.decoding.decode_grid`) and rows given
    as lists are converted once, here.
    """
    if not isinstance(value, list):
        raise ValueError("rows must be a list of rows (lists or tuples of cells)")
    if not value or type(value[0]) is tuple:
        return value
    if not isinstance(value[0], list | tuple):
        raise ValueError("rows must be a list of rows (lists or tuples of cells)")
    return [tuple(row) for row in value]


def _rows_as_they_are(rows: list[GridRow]) -> list[GridRow]:
    return rows


GridRows = Annotated[
    list[GridRow],
    PlainValidator(_grid_rows),
    # Serialised without a check per row (JSON turns the tuples into arrays).
    PlainSerializer(_rows_as_they_are, return_type=Any),
]
"""Grid rows, tuples of cells: the outer shape is checked, the cells are not."""


class AnalyticsGrid(BaseModel):
    """An analytics response: headers, metaData and rows of strings.

    Headers and metaData are validated; the rows are tuples of strings (their
    shape is checked, not each cell), so a grid of 200,000 rows costs no more
    than its JSON decoding.

    Examples:
        >>> grid = AnalyticsGrid.model_validate({
        ...     "headers": [{"name": "dx"}, {"name": "value"}],
        ...     "metaData": {"items": {"fbfJHSPpUQD": {"name": "ANC 1st visit"}}},
        ...     "rows": [["fbfJHSPpUQD", "12.0"]], "height": 1, "width": 2})
        >>> grid.rows
        [('fbfJHSPpUQD', '12.0')]
        >>> list(grid.records())
        [{'dx': 'fbfJHSPpUQD', 'value': '12.0'}]
        >>> grid.item_name("fbfJHSPpUQD")
        'ANC 1st visit'
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    headers: list[GridHeader] = Field(default_factory=list)
    meta_data: dict[str, Any] = Field(default_factory=dict, alias="metaData")
    rows: GridRows = Field(default_factory=list)
    height: int = 0
    width: int = 0
    header_width: int | None = Field(default=None, alias="headerWidth")

    @property
    def column_names(self) -> list[str]:
        """The header names, in column order."""
        return [h.name for h in self.headers]

    def records(self) -> Iterator[dict[str, str]]:
        """Yield each row as a mapping from header name to cell."""
        names = self.column_names
        for row in self.rows:
            yield dict(zip(names, row, strict=False))

    def item_name(self, uid: str) -> str | None:
        """The display name of a metadata item, from `metaData.items`."""
        item = self.meta_data.get("items", {}).get(uid)
        return item.get("name") if isinstance(item, dict) else None
