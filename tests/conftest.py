"""Fixtures shared by the suite: one Prefect test server for the whole session.

The session sandbox (PREFECT_HOME, the temporary directory) is set up by the root
`conftest.py`, which also serves the package's doctests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect API (SQLite, subprocess) for block and flow tests; yields its URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def lease_log(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every lease the host budget's keepers take of a Prefect global limit, in order."""
    from prefect_dhis2.host_limit import GlobalLimitSlots

    leases: list[object] = []
    acquire = GlobalLimitSlots.acquire

    def counted(self: GlobalLimitSlots) -> object:
        lease = acquire(self)
        leases.append(lease)
        return lease

    monkeypatch.setattr(GlobalLimitSlots, "acquire", counted)
    return leases
