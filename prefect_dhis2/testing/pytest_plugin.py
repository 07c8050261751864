"""Pytest fixtures for the DHIS2 emulator, registered through the `pytest11` entry point.

Fixtures:
    dhis2_emulator: a session-wide `Dhis2Emulator` with the default (2.40, 1,332 units) data.
        Tests that write data or set faults should call `dhis2_emulator.reset()` or use the
        factory.
    dhis2_emulator_factory: builds emulators with custom settings; stopped after the test.

Example:
    def test_me(dhis2_emulator):
        creds = dhis2_emulator.credentials()
        with creds.get_client() as client:
            assert client.get("me")["username"] == "admin"
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from prefect_dhis2.testing.core.server import Dhis2Emulator

__all__ = ["dhis2_emulator", "dhis2_emulator_factory"]


@pytest.fixture(scope="session")
def dhis2_emulator() -> Iterator[Dhis2Emulator]:
    """A running emulator shared by the whole test session."""
    with Dhis2Emulator() as emulator:
        yield emulator


@pytest.fixture
def dhis2_emulator_factory() -> Iterator[Callable[..., Dhis2Emulator]]:
    """Start emulators with custom settings (`Dhis2Emulator` keywords); all stop afterwards."""
    started: list[Dhis2Emulator] = []

    def make(**kwargs: Any) -> Dhis2Emulator:
        emulator = Dhis2Emulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in reversed(started):
        emulator.stop()
