"""An emulator with a small analytics row limit, shared by the analytics tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from prefect_dhis2.credentials import Dhis2Credentials
from prefect_dhis2.testing import CostModel, Dhis2Emulator

REFERENCE_DATE = date(2024, 6, 15)
ROW_LIMIT = 400


@pytest.fixture(scope="session")
def analytics_emulator() -> Iterator[Dhis2Emulator]:
    """A 2.40 emulator refusing analytics results over 400 rows (E7128)."""
    with Dhis2Emulator(relative_period_date=REFERENCE_DATE, max_analytics_rows=ROW_LIMIT) as emu:
        yield emu


@pytest.fixture
def emulator(analytics_emulator: Dhis2Emulator) -> Iterator[Dhis2Emulator]:
    """The shared emulator with an empty request log; faults and cost restored afterwards."""
    analytics_emulator.request_log.clear()
    analytics_emulator.state.stats.reset()
    yield analytics_emulator
    analytics_emulator.clear_faults()
    analytics_emulator.set_cost(CostModel())


@pytest.fixture
def credentials(emulator: Dhis2Emulator) -> Dhis2Credentials:
    """Admin credentials with fast retries."""
    return emulator.credentials().model_copy(
        update={"retry_backoff": 0.01, "retry_backoff_max": 0.05, "max_retries": 8}
    )
