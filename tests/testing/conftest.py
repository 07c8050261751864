"""Fixtures shared by the emulator's conformance tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from prefect_dhis2.testing import CostModel, Dhis2Dataset, Dhis2Emulator, generate_dataset

REFERENCE_DATE = date(2024, 6, 30)


@pytest.fixture(scope="session")
def dhis2_session() -> Iterator[Dhis2Emulator]:
    """One default (2.40) emulator for the whole session."""
    with Dhis2Emulator(relative_period_date=REFERENCE_DATE) as emulator:
        yield emulator


@pytest.fixture
def dhis2(dhis2_session: Dhis2Emulator) -> Iterator[Dhis2Emulator]:
    """The shared emulator; faults and cost are restored after each test."""
    yield dhis2_session
    dhis2_session.clear_faults()
    dhis2_session.set_cost(CostModel())


@pytest.fixture
def api(dhis2: Dhis2Emulator) -> Iterator[httpx.Client]:
    """An httpx client logged in as admin (basic auth), rooted at the instance."""
    with httpx.Client(base_url=dhis2.base_url, auth=("admin", "district"), timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def dataset() -> Dhis2Dataset:
    """The default generated dataset (same seed as the emulator)."""
    return generate_dataset()
