"""An emulator with a fixed date, so relative periods and data are the same every run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from prefect_dhis2.testing import Dhis2Emulator

REFERENCE_DATE = date(2024, 6, 30)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Dhis2Emulator]:
    with Dhis2Emulator(relative_period_date=REFERENCE_DATE) as dhis2:
        yield dhis2


def content(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the warehouse, rows sorted: equal means equal in content."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
