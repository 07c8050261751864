"""The `pager` of DHIS2's metadata lists and a page of records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MetadataPage", "Pager"]


class Pager(BaseModel):
    """DHIS2's `pager` object (`page, total, pageSize, nextPage, prevPage, pageCount`).

    Examples:
        >>> Pager.model_validate({"page": 1, "total": 120, "pageSize": 50, "pageCount": 3}).is_last
        False
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    page: int = 1
    total: int | None = None
    page_size: int | None = Field(default=None, alias="pageSize")
    page_count: int | None = Field(default=None, alias="pageCount")
    next_page: str | None = Field(default=None, alias="nextPage")
    prev_page: str | None = Field(default=None, alias="prevPage")

    @property
    def is_last(self) -> bool:
        """True when no page follows this one."""
        if self.page_count is not None:
            return self.page >= self.page_count
        return self.next_page is None


@dataclass(frozen=True)
class MetadataPage:
    """One page of a metadata list: the records and the pager (None with `paging=false`).

    A page iterates over its records.

    Examples:
        >>> page = MetadataPage(items=[{"id": "ImspTQPwCqd"}], pager=None)
        >>> [ou["id"] for ou in page], len(page)
        (['ImspTQPwCqd'], 1)
    """

    items: list[dict[str, Any]]
    pager: Pager | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
