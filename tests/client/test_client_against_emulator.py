"""The client's behavioural tests, run again against the emulator over real HTTP.

`test_client.py` pins each behaviour with respx mocks; here the same behaviours
must hold against `prefect_dhis2.testing.Dhis2Emulator`, for both clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.client import (
    Dhis2AuthenticationError,
    Dhis2BadRequestError,
    Dhis2ConflictError,
    Dhis2ConnectionError,
    Dhis2NotFoundError,
    Dhis2PermissionError,
    Dhis2ResponseFormatError,
    Dhis2ServerError,
)
from prefect_dhis2.models import AnalyticsGrid, ImportSummary
from prefect_dhis2.testing import Dhis2Emulator, FaultRule

Call = Callable[..., Any]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Dhis2Emulator]:
    with Dhis2Emulator() as dhis2:
        yield dhis2


@pytest.fixture(autouse=True)
def _clean(emulator: Dhis2Emulator, sleeps: list[float]) -> Iterator[None]:
    """Faults off, data and log restored after each test; retry waits skipped."""
    yield
    emulator.reset()


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, emulator: Dhis2Emulator) -> Call:
    mode = request.param

    def run(method: str, *args: Any, creds: Dhis2Credentials | None = None, **kwargs: Any) -> Any:
        creds = creds or emulator.credentials().model_copy(update={"max_retries": 3})
        if mode == "sync":
            with creds.get_client() as client:
                result = getattr(client, method)(*args, **kwargs)
                return list(result) if method == "iter_metadata" else result

        async def go() -> Any:
            async with creds.get_async_client() as client:
                if method == "iter_metadata":
                    return [page async for page in client.iter_metadata(*args, **kwargs)]
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(go())

    return run


def _units(emulator: Dhis2Emulator) -> list[str]:
    return emulator.state.dataset.ordered_ids("organisationUnits")


def test_server_info_and_me(call: Call, emulator: Dhis2Emulator):
    info = call("get_server_info")
    assert info.version >= "2.40" and info.version < "2.41"
    me = call("get_me", fields="id,username,authorities")
    assert me.username == "admin" and me.is_superuser


def test_token_auth(call: Call, emulator: Dhis2Emulator):
    assert call("get_me", creds=emulator.credentials(token=True)).username == "admin"


def test_paging_walks_every_page(call: Call, emulator: Dhis2Emulator):
    pages = call("iter_metadata", "organisationUnits", fields="id,name", page_size=500)
    units = _units(emulator)
    assert [len(p) for p in pages] == [500, 500, len(units) - 1000]
    assert [u["id"] for p in pages for u in p] == units  # DHIS2 order, no duplicates
    assert pages[-1].pager is not None and pages[-1].pager.is_last


def test_filters_order_and_junction(call: Call, emulator: Dhis2Emulator):
    districts = call(
        "fetch_metadata", "organisationUnits", fields="id,name", filters=["level:eq:2"],
        order="name:desc",
    )  # fmt: skip
    assert len(districts) == 13
    names = [d["name"] for d in districts]
    assert names == sorted(names, reverse=True)
    either = call(
        "fetch_metadata",
        "organisationUnits",
        fields="id",
        filters=["id:eq:ImspTQPwCqd", "id:eq:O6uvpzGd5pu"],
        root_junction="OR",
    )
    assert {u["id"] for u in either} == {"ImspTQPwCqd", "O6uvpzGd5pu"}


def test_empty_collection_and_paging_false(call: Call):
    assert call("fetch_metadata", "organisationUnits", filters=["name:eq:No such unit"]) == []
    levels = call("fetch_metadata", "organisationUnitLevels", fields="level,name", paging=False)
    assert sorted(lv["level"] for lv in levels) == [1, 2, 3, 4]


def test_fetch_by_code_and_id_in_url_sized_batches(call: Call, emulator: Dhis2Emulator):
    dataset = emulator.state.dataset
    ids = _units(emulator)
    codes = [dataset.get("organisationUnits", u)["code"] for u in ids]
    by_code = call("fetch_organisation_units_by_code", codes, fields="id,code")
    assert sorted(u["id"] for u in by_code) == sorted(ids)
    by_id = call("fetch_organisation_units_by_id", ids[:700], fields="id")
    assert sorted(u["id"] for u in by_id) == sorted(ids[:700])
    requests = [r for r in emulator.request_log if r.path.endswith("/organisationUnits")]
    assert len(requests) >= 3  # 1,332 codes and 700 ids need several URLs


def test_analytics_grid(call: Call):
    grid = call(
        "fetch_analytics", ["dx:fbfJHSPpUQD", "ou:ImspTQPwCqd;O6uvpzGd5pu"], filter=["pe:THIS_YEAR"]
    )
    assert isinstance(grid, AnalyticsGrid)
    assert grid.column_names == ["dx", "ou", "value"]
    assert grid.item_name("fbfJHSPpUQD") == "ANC 1st visit"
    assert {r["ou"] for r in grid.records()} <= {"ImspTQPwCqd", "O6uvpzGd5pu"}


def test_analytics_errors_are_typed(call: Call):
    with pytest.raises(Dhis2ConflictError) as caught:
        call("fetch_analytics", ["dx:fbfJHSPpUQD"], filter=["pe:THIS_YEAR", "pe:LAST_YEAR"])
    assert caught.value.error_code is not None and caught.value.error_code.startswith("E71")


@pytest.mark.parametrize("version", ["2.37", "2.40", "2.43"])
def test_import_summary_with_conflicts_in_every_version(version: str, sleeps: list[float]):
    with Dhis2Emulator(version=version) as dhis2, dhis2.credentials().get_client() as client:
        facility = dhis2.state.dataset.org_units_at_level(4)[0]
        payload = {
            "dataValues": [
                {"dataElement": "fbfJHSPpUQD", "period": "202401", "orgUnit": facility,
                 "categoryOptionCombo": "pq2XI5kz2BY", "value": "17"},
                {"dataElement": "abcdefghijk", "period": "202401", "orgUnit": facility,
                 "value": "3"},
            ]
        }  # fmt: skip
        summary = client.post_data_values(payload, dry_run=True)
        assert isinstance(summary, ImportSummary)
        assert summary.status == "WARNING"
        assert summary.rejected_indexes == [1]
        assert summary.conflicts[0].value
        asynchronous = client.post_data_values(payload, dry_run=True, async_job=True)
        assert asynchronous.rejected_indexes == [1]


def test_errors_are_typed(call: Call, emulator: Dhis2Emulator):
    with pytest.raises(Dhis2NotFoundError) as not_found:
        call("get", "dataElements/abcdefghijk")
    assert not_found.value.error_code == "E1005"
    with pytest.raises(Dhis2BadRequestError):
        call("fetch_metadata", "dataElements", fields="id,[name]")
    with pytest.raises(Dhis2ConflictError):
        call("fetch_metadata", "dataElements", filters=["noSuchProperty:eq:1"])
    wrong = Dhis2Credentials(base_url=emulator.base_url, username="admin", password="nope")
    with pytest.raises(Dhis2AuthenticationError, match="user 'admin'"):
        call("get_me", creds=wrong)
    reader = emulator.credentials("reader")
    with pytest.raises(Dhis2PermissionError):
        call("post_metadata", {"constants": [{"id": "abcdefghij1", "name": "x", "value": 1}]},
             creds=reader)  # fmt: skip


def test_missing_credentials_redirect_to_login(emulator: Dhis2Emulator):
    import httpx

    from prefect_dhis2.client import ClientSettings, Dhis2Client

    with (
        Dhis2Client(ClientSettings(base_url=emulator.base_url)) as client,
        pytest.raises(Dhis2AuthenticationError, match="login page"),
    ):
        client.get_me()
    raw = httpx.get(f"{emulator.base_url}/api/me")
    assert raw.status_code == 302 and "login" in raw.headers["location"]


@pytest.mark.parametrize("kind", ["429", "502", "503", "504", "reset", "truncate"])
def test_retries_through_injected_faults(
    call: Call, emulator: Dhis2Emulator, sleeps: list[float], kind: str
):
    emulator.set_faults([FaultRule(path="/api/system/info", kind=kind, count=2, retry_after=3)])
    info = call("get_server_info")
    assert info.version >= "2.40"
    attempts = [r for r in emulator.request_log if r.path.endswith("/system/info")]
    assert len(attempts) == 3
    if kind == "429":
        assert sleeps[:2] == [3.0, 3.0]  # Retry-After honoured


@pytest.mark.parametrize(
    ("kind", "error"),
    [("503", Dhis2ServerError), ("reset", Dhis2ConnectionError),
     ("truncate", (Dhis2ResponseFormatError, Dhis2ConnectionError))],
)  # fmt: skip
def test_persistent_faults_end_in_typed_errors(
    call: Call, emulator: Dhis2Emulator, sleeps: list[float], kind: str, error: Any
):
    emulator.set_faults([FaultRule(path="/api/me", kind=kind, rate=1.0)])
    with pytest.raises(error):
        call("get_me")
    assert len([r for r in emulator.request_log if r.path.endswith("/me")]) == 4


def test_conflicts_are_not_retried(call: Call, emulator: Dhis2Emulator):
    with pytest.raises(Dhis2ConflictError):
        call("fetch_analytics", ["dx:fbfJHSPpUQD"])  # no period: E7104
    assert len([r for r in emulator.request_log if "/analytics" in r.path]) == 1


def test_sync_and_async_agree(emulator: Dhis2Emulator):
    creds = emulator.credentials()
    with creds.get_client() as client:
        sync_units = client.fetch_metadata("organisationUnits", fields="id,path", page_size=200)
        sync_grid = client.fetch_analytics(["dx:fbfJHSPpUQD", "ou:LEVEL-2"], filter=["pe:2024"])

    async def both() -> tuple[list[dict[str, Any]], AnalyticsGrid]:
        async with creds.get_async_client() as client:
            units = await client.fetch_metadata(
                "organisationUnits", fields="id,path", page_size=200
            )
            grid = await client.fetch_analytics(
                ["dx:fbfJHSPpUQD", "ou:LEVEL-2"], filter=["pe:2024"]
            )
            return units, grid

    async_units, async_grid = asyncio.run(both())
    assert sync_units == async_units
    assert sync_grid == async_grid
