"""Fixtures for client tests against respx mocks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from prefect_dhis2 import Dhis2Credentials

BASE = "https://dhis2.test/hmis"
API = f"{BASE}/api"
SENTINEL_PASSWORD = "Sentinel-Pa55word-7f3a9"
SENTINEL_TOKEN = "d2p_SentinelTokenValue0123456789abcdefghijkl"


@pytest.fixture
def credentials() -> Dhis2Credentials:
    return Dhis2Credentials(
        base_url=BASE + "/api/",
        username="admin",
        password=SENTINEL_PASSWORD,
        retry_backoff=0.01,
        retry_backoff_max=0.02,
        max_retries=3,
    )


@pytest.fixture
def token_credentials() -> Dhis2Credentials:
    return Dhis2Credentials(base_url=BASE, token=SENTINEL_TOKEN, retry_backoff=0.01)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record (and skip) the waits both clients make between retries and polls."""
    recorded: list[float] = []

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def fake_async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    import prefect_dhis2.client.async_client as async_module
    import prefect_dhis2.client.sync_client as sync_module

    monkeypatch.setattr(sync_module, "_sleep", fake_sleep)
    monkeypatch.setattr(async_module, "_sleep", fake_async_sleep)
    return recorded


@pytest.fixture
def mock_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router
