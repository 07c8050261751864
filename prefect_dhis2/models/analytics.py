"""The analytics grid returned by `GET /api/analytics`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

__all__ = ["AnalyticsGrid", "GridHeader", "GridRows"]


class GridHeader(BaseModel):
    """One column of an analytics grid (`name`, `column`, `valueType`, ...)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    name: str
    column: str | None = None
    value_type: str | None = Field(default=None, alias="valueType")
    type: str | None = None
    hidden: bool = False
    meta: bool = False


def _grid_rows(value: Any) -> list[list[str]]:
    """Check the shape of the rows without validating each cell.

    A national grid holds hundreds of thousands of rows; validating every cell
    would cost more than decoding the JSON. DHIS2 sends every cell as a string,
    so the rows are kept as decoded (a list of lists).
    """
    if not isinstance(value, list) or (value and not isinstance(value[0], list)):
        raise ValueError("rows must be a list of lists of cells")
    return value


GridRows = Annotated[list[list[str]], PlainValidator(_grid_rows)]
"""Grid rows as decoded: the outer shape is checked, the cells are not."""


class AnalyticsGrid(BaseModel):
    """An analytics response: headers, metaData and rows of strings.

    Headers and metaData are validated; the rows are kept as decoded (their
    shape is checked, not each cell), so a grid of 200,000 rows costs no more
    than its JSON decoding.

    Examples:
        >>> grid = AnalyticsGrid.model_validate({
        ...     "headers": [{"name": "dx"}, {"name": "value"}],
        ...     "metaData": {"items": {"fbfJHSPpUQD": {"name": "ANC 1st visit"}}},
        ...     "rows": [["fbfJHSPpUQD", "12.0"]], "height": 1, "width": 2})
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
