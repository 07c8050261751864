"""Emulators and data value rows for the data value tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.testing import Dhis2Emulator

REFERENCE_DATE = date(2024, 6, 15)
DATA_SET = "BfMAe6Itzgt"


def fast(credentials: Dhis2Credentials, **changes: Any) -> Dhis2Credentials:
    """Credentials with fast retries (and any other changes)."""
    update = {"retry_backoff": 0.01, "retry_backoff_max": 0.05, "max_retries": 8, **changes}
    return credentials.model_copy(update=update)


def sample_rows(emulator: Dhis2Emulator, facilities: int = 12) -> list[dict[str, str]]:
    """Rows built from stored values: the same keys in 2024-08 (new) and 2024-01 (changed)."""
    units = emulator.state.dataset.org_units_at_level(4)[:facilities]
    response = httpx.get(
        f"{emulator.base_url}/api/dataValueSets",
        params=[("dataSet", DATA_SET), ("period", "202401")] + [("orgUnit", u) for u in units],
        auth=("admin", "district"),
    )
    stored = response.json()["dataValues"]
    rows: list[dict[str, str]] = []
    for i, value in enumerate(stored):
        base = {
            "dataElement": value["dataElement"],
            "orgUnit": value["orgUnit"],
            "categoryOptionCombo": value["categoryOptionCombo"],
            "attributeOptionCombo": value["attributeOptionCombo"],
        }
        rows.append({**base, "period": "202408", "value": str(i % 50 + 1)})
        new_value = value["value"] if i % 3 == 0 else str(int(value["value"]) + 1)
        rows.append({**base, "period": "202401", "value": new_value})
    return rows


KEY_FIELDS = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo")


def value_key(row: dict[str, str]) -> tuple[str, ...]:
    """The identity of a data value: (data element, period, org unit, COC, AOC)."""
    return tuple(row[k] for k in KEY_FIELDS)


def stored_values(emulator: Dhis2Emulator, rows: list[dict[str, str]]) -> dict[tuple, str]:
    """The stored value of each row's key (absent keys left out)."""
    result: dict[tuple, str] = {}
    store = emulator.state.data_values
    for row in rows:
        key = value_key(row)
        record = store.get(key)
        if record is not None and not record.deleted:
            result[key] = record.value
    return result


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Dhis2Emulator]]:
    """Fresh emulators (imports change their data); stopped after the test."""
    started: list[Dhis2Emulator] = []

    def make(**kwargs: Any) -> Dhis2Emulator:
        kwargs.setdefault("relative_period_date", REFERENCE_DATE)
        emulator = Dhis2Emulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()
