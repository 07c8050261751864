"""Behaviour of Dhis2Client and AsyncDhis2Client against respx mocks.

Every test runs against both clients (the `call` fixture), so the twins are held
to the same behaviour.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.client import (
    Dhis2AuthenticationError,
    Dhis2BadRequestError,
    Dhis2ConflictError,
    Dhis2ConnectionError,
    Dhis2Error,
    Dhis2JobError,
    Dhis2NotFoundError,
    Dhis2PermissionError,
    Dhis2RateLimitError,
    Dhis2ResponseFormatError,
    Dhis2ServerError,
    Dhis2TimeoutError,
)
from prefect_dhis2.models import AnalyticsGrid, ImportReport, ImportSummary, MetadataPage

from .conftest import API, BASE

Call = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, credentials: Dhis2Credentials) -> Call:
    """`call(method, *args, **kwargs)` on a fresh sync or async client."""
    mode = request.param

    def run(method: str, *args: Any, creds: Dhis2Credentials | None = None, **kwargs: Any) -> Any:
        creds = creds or credentials
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

    run.mode = mode  # type: ignore[attr-defined]
    return run


def _query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url)).query, keep_blank_values=True)


def _org_units(start: int, count: int) -> list[dict[str, Any]]:
    return [{"id": f"OU{i:09d}", "name": f"Unit {i}"} for i in range(start, start + count)]


def _paged(total: int, page_size: int) -> Callable[[httpx.Request], httpx.Response]:
    """A DHIS2-like paged org unit list with absolute nextPage links."""
    page_count = max(1, -(-total // page_size))

    def handler(request: httpx.Request) -> httpx.Response:
        query = _query(request)
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("pageSize", ["50"])[0])
        assert size == page_size
        start = (page - 1) * size
        pager: dict[str, Any] = {"page": page, "total": total, "pageSize": size}
        if page < page_count:
            pager["nextPage"] = f"{API}/organisationUnits?page={page + 1}&pageSize={size}"
        if page > 1:
            pager["prevPage"] = f"{API}/organisationUnits?page={page - 1}&pageSize={size}"
        pager["pageCount"] = page_count
        units = _org_units(start, max(0, min(size, total - start)))
        return httpx.Response(200, json={"pager": pager, "organisationUnits": units})

    return handler


# -- system --------------------------------------------------------------------------


def test_server_info_is_typed_and_version_comparable(call: Call, mock_api: respx.MockRouter):
    mock_api.get("/system/info").respond(
        json={"version": "2.41.0.1", "revision": "abc1234", "lastAnalyticsTableSuccess": "x"}
    )
    info = call("get_server_info")
    assert info.version.hotfix == 1
    assert info.version > "2.41.0"
    assert info.version < "2.42"
    assert info.last_analytics_table_success == "x"


def test_get_me_sends_basic_auth_and_fields(call: Call, mock_api: respx.MockRouter):
    route = mock_api.get("/me").respond(
        json={"id": "M5zQapPyTZI", "username": "admin", "authorities": ["ALL"]}
    )
    me = call("get_me", fields="id,username,authorities")
    assert me.username == "admin" and me.is_superuser
    request = route.calls.last.request
    assert request.headers["Authorization"].startswith("Basic ")
    assert _query(request)["fields"] == ["id,username,authorities"]
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("prefect-dhis2/")


def test_token_auth_header(call: Call, mock_api: respx.MockRouter, token_credentials):
    route = mock_api.get("/me").respond(json={"id": "M5zQapPyTZI"})
    call("get_me", creds=token_credentials)
    header = route.calls.last.request.headers["Authorization"]
    assert header.startswith("ApiToken d2p_")


def test_generic_get(call: Call, mock_api: respx.MockRouter):
    mock_api.get("/dataElements/fbfJHSPpUQD").respond(json={"id": "fbfJHSPpUQD"})
    assert call("get", "dataElements/fbfJHSPpUQD") == {"id": "fbfJHSPpUQD"}


# -- paging ---------------------------------------------------------------------------


def test_iter_metadata_walks_every_page_in_order(call: Call, mock_api: respx.MockRouter):
    route = mock_api.get("/organisationUnits").mock(side_effect=_paged(total=2345, page_size=1000))
    pages = call("iter_metadata", "organisationUnits", fields="id,name", page_size=1000)
    assert [len(p) for p in pages] == [1000, 1000, 345]
    assert all(isinstance(p, MetadataPage) for p in pages)
    ids = [ou["id"] for page in pages for ou in page]
    assert ids == [f"OU{i:09d}" for i in range(2345)]
    assert sorted(int(_query(c.request)["page"][0]) for c in route.calls) == [1, 2, 3]


def test_fetch_metadata_single_page_and_filters(call: Call, mock_api: respx.MockRouter):
    route = mock_api.get("/organisationUnits").mock(side_effect=_paged(total=13, page_size=1000))
    records = call(
        "fetch_metadata",
        "organisationUnits",
        fields="id,name",
        filters=["level:eq:2", "name:ilike:bo"],
        order="name:asc",
        root_junction="or",
    )
    assert len(records) == 13
    assert len(route.calls) == 1
    query = _query(route.calls.last.request)
    assert query["filter"] == ["level:eq:2", "name:ilike:bo"]
    assert query["rootJunction"] == ["OR"]
    assert query["order"] == ["name:asc"]


def test_empty_collection(call: Call, mock_api: respx.MockRouter):
    mock_api.get("/constants").respond(
        json={"pager": {"page": 1, "total": 0, "pageSize": 1000, "pageCount": 1}, "constants": []}
    )
    assert call("fetch_metadata", "constants") == []
    pages = call("iter_metadata", "constants")
    assert len(pages) == 1 and pages[0].items == []


def test_paging_false_has_no_pager(call: Call, mock_api: respx.MockRouter):
    route = mock_api.get("/organisationUnitLevels").respond(
        json={"organisationUnitLevels": [{"level": 1}, {"level": 2}]}
    )
    records = call("fetch_metadata", "organisationUnitLevels", paging=False)
    assert records == [{"level": 1}, {"level": 2}]
    assert _query(route.calls.last.request)["paging"] == ["false"]


def test_pager_without_page_count_follows_next_page(call: Call, mock_api: respx.MockRouter):
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(_query(request)["page"][0])
        pager: dict[str, Any] = {"page": page, "pageSize": 2}
        if page < 3:
            pager["nextPage"] = f"{API}/dataElements?page={page + 1}"
        return httpx.Response(200, json={"pager": pager, "dataElements": _org_units(page * 2, 2)})

    mock_api.get("/dataElements").mock(side_effect=handler)
    pages = call("iter_metadata", "dataElements", page_size=2)
    assert len(pages) == 3


def test_invalid_filter_and_endpoint_fail_before_any_request(
    call: Call, mock_api: respx.MockRouter
):
    route = mock_api.get(url__regex=r".*").respond(json={})
    with pytest.raises(ValueError, match="not a DHIS2 filter operator"):
        call("fetch_metadata", "dataElements", filters=["name:contains:ANC"])
    with pytest.raises(ValueError, match="needs a value"):
        call("fetch_metadata", "dataElements", filters=["name:eq"])
    with pytest.raises(ValueError, match="Invalid DHIS2 endpoint"):
        call("fetch_metadata", "dataElements?fields=id")
    with pytest.raises(ValueError, match="root_junction"):
        call("fetch_metadata", "dataElements", root_junction="XOR")
    assert not route.called


def test_fetch_by_code_splits_by_url_length(call: Call, mock_api: respx.MockRouter):
    codes = [f"OU_{i:05d}" for i in range(1500)]

    def handler(request: httpx.Request) -> httpx.Response:
        assert len(str(request.url)) <= 6000
        (in_filter,) = _query(request)["filter"]
        wanted = in_filter.removeprefix("code:in:[").removesuffix("]").split(",")
        units = [{"id": f"X{c[3:]:0>10}", "code": c} for c in wanted]
        pager = {"page": 1, "total": len(units), "pageSize": 1000, "pageCount": 1}
        return httpx.Response(200, json={"pager": pager, "organisationUnits": units})

    route = mock_api.get("/organisationUnits").mock(side_effect=handler)
    units = call("fetch_organisation_units_by_code", codes + codes[:10])
    assert sorted(u["code"] for u in units) == codes
    assert len(route.calls) >= 2  # one URL cannot hold 1,500 codes
    for c in route.calls:  # the batches use the budget well
        assert len(str(c.request.url)) > 3000


# -- analytics ------------------------------------------------------------------------

GRID = {
    "headers": [
        {"name": "dx", "column": "Data", "valueType": "TEXT", "type": "java.lang.String",
         "hidden": False, "meta": True},
        {"name": "ou", "column": "Organisation unit", "valueType": "TEXT",
         "type": "java.lang.String", "hidden": False, "meta": True},
        {"name": "value", "column": "Value", "valueType": "NUMBER", "type": "java.lang.Double",
         "hidden": False, "meta": False},
    ],
    "metaData": {"items": {"fbfJHSPpUQD": {"name": "ANC 1st visit"}}, "dimensions": {}},
    "rowContext": {},
    "rows": [["fbfJHSPpUQD", "ImspTQPwCqd", "101.47"]],
    "height": 1,
    "width": 3,
    "headerWidth": 3,
}  # fmt: skip


def test_fetch_analytics_builds_params_and_types_grid(call: Call, mock_api: respx.MockRouter):
    route = mock_api.get("/analytics").respond(json=GRID)
    grid = call(
        "fetch_analytics",
        ["dx:fbfJHSPpUQD", "ou:ImspTQPwCqd"],
        filter=["pe:2024"],
        skipMeta=False,
        displayProperty="NAME",
    )
    assert isinstance(grid, AnalyticsGrid)
    assert list(grid.records()) == [{"dx": "fbfJHSPpUQD", "ou": "ImspTQPwCqd", "value": "101.47"}]
    assert grid.item_name("fbfJHSPpUQD") == "ANC 1st visit"
    query = _query(route.calls.last.request)
    assert query["dimension"] == ["dx:fbfJHSPpUQD", "ou:ImspTQPwCqd"]
    assert query["filter"] == ["pe:2024"]
    assert query["skipMeta"] == ["false"]


def test_analytics_conflict_is_typed(call: Call, mock_api: respx.MockRouter):
    mock_api.get("/analytics").respond(
        409,
        json={"httpStatus": "Conflict", "httpStatusCode": 409, "status": "ERROR",
              "message": "Query result set exceeded max limit: `100000`", "errorCode": "E7128"},
    )  # fmt: skip
    with pytest.raises(Dhis2ConflictError) as caught:
        call("fetch_analytics", ["dx:fbfJHSPpUQD"])
    assert caught.value.error_code == "E7128"
    assert "exceeded max limit" in str(caught.value)
    assert BASE in str(caught.value) and "/api/analytics" in str(caught.value)


# -- imports --------------------------------------------------------------------------

SUMMARY = {
    "responseType": "ImportSummary",
    "status": "WARNING",
    "importOptions": {"dryRun": False, "importStrategy": "CREATE_AND_UPDATE"},
    "description": "Import process completed successfully",
    "importCount": {"imported": 2, "updated": 1, "ignored": 1, "deleted": 0},
    "conflicts": [
        {"object": "abcdefghijk", "objects": {"dataElement": "abcdefghijk"},
         "value": "Data element not found or not accessible: `abcdefghijk`",
         "errorCode": "E7610", "property": "dataElement", "indexes": [3]}
    ],
    "rejectedIndexes": [3],
    "dataSetComplete": "false",
}  # fmt: skip

PAYLOAD = {
    "dataValues": [
        {"dataElement": "fbfJHSPpUQD", "period": "202401", "orgUnit": "DiszpKrYNg8", "value": "5"}
    ]
}

ENVELOPES = {
    # <= 2.37: the bare summary with 200.
    "2.37": (200, SUMMARY),
    # 2.38-2.42: a WebMessage; conflicts answer 409.
    "2.40": (409, {"httpStatus": "Conflict", "httpStatusCode": 409, "status": "WARNING",
                   "message": "One more conflicts encountered, please check import summary.",
                   "response": SUMMARY}),
    # 2.43+: conflicts answer 200 WARNING.
    "2.43": (200, {"httpStatus": "OK", "httpStatusCode": 200, "status": "WARNING",
                   "message": "Import completed with warnings, please check import summary.",
                   "response": SUMMARY}),
}  # fmt: skip


@pytest.mark.parametrize("version", sorted(ENVELOPES))
def test_every_import_summary_shape_parses_the_same(
    call: Call, mock_api: respx.MockRouter, version: str
):
    status, body = ENVELOPES[version]
    route = mock_api.post("/dataValueSets").respond(status, json=body)
    summary = call("post_data_values", PAYLOAD, dry_run=True)
    assert isinstance(summary, ImportSummary)
    assert summary.import_count.model_dump() == {
        "imported": 2, "updated": 1, "ignored": 1, "deleted": 0
    }  # fmt: skip
    assert summary.conflicts[0].error_code == "E7610"
    assert summary.rejected_indexes == [3]
    query = _query(route.calls.last.request)
    assert query["dryRun"] == ["true"] and query["importStrategy"] == ["CREATE_AND_UPDATE"]
    assert json.loads(route.calls.last.request.content) == PAYLOAD


def test_dry_run_leaves_out_complete_date(call: Call, mock_api: respx.MockRouter):
    route = mock_api.post("/dataValueSets").respond(json=SUMMARY)
    call("post_data_values", {**PAYLOAD, "completeDate": "2024-02-01"}, dry_run=True)
    assert "completeDate" not in json.loads(route.calls.last.request.content)
    call("post_data_values", {**PAYLOAD, "completeDate": "2024-02-01"}, dry_run=False)
    assert json.loads(route.calls.last.request.content)["completeDate"] == "2024-02-01"


def test_import_409_without_summary_is_an_error(call: Call, mock_api: respx.MockRouter):
    mock_api.post("/dataValueSets").respond(
        409, json={"httpStatus": "Conflict", "httpStatusCode": 409, "status": "ERROR",
                   "message": "Data set not found", "errorCode": "E7600"}
    )  # fmt: skip
    with pytest.raises(Dhis2ConflictError, match="Data set not found"):
        call("post_data_values", PAYLOAD)


def test_async_import_job_is_polled_to_completion(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float]
):
    mock_api.post("/dataValueSets").respond(
        json={"httpStatus": "OK", "httpStatusCode": 200, "status": "OK",
              "message": "Initiated DATAVALUE_IMPORT",
              "response": {"responseType": "JobConfiguration", "id": "YR1UxOUXmzT",
                           "jobType": "DATAVALUE_IMPORT",
                           "relativeNotifierEndpoint":
                               "/api/system/tasks/DATAVALUE_IMPORT/YR1UxOUXmzT"}}
    )  # fmt: skip
    polls = mock_api.get("/system/tasks/DATAVALUE_IMPORT/YR1UxOUXmzT").mock(
        side_effect=[
            httpx.Response(200, json=[{"message": "Importing", "completed": False}]),
            httpx.Response(200, json=[{"message": "Importing", "completed": False}]),
            httpx.Response(200, json=[{"message": "Import done", "completed": True,
                                       "level": "INFO"}]),
        ]
    )  # fmt: skip
    mock_api.get("/system/taskSummaries/DATAVALUE_IMPORT/YR1UxOUXmzT").respond(json=SUMMARY)
    summary = call("post_data_values", PAYLOAD, async_job=True)
    assert summary.import_count.imported == 2
    assert len(polls.calls) == 3
    assert sleeps[0] < sleeps[1]  # polling backs off


def test_failed_async_job_raises(call: Call, mock_api: respx.MockRouter, sleeps: list[float]):
    mock_api.post("/dataValueSets").respond(
        json={"status": "OK", "response": {"responseType": "JobConfiguration", "id": "J1",
              "jobType": "DATAVALUE_IMPORT"}}
    )  # fmt: skip
    mock_api.get("/system/tasks/DATAVALUE_IMPORT/J1").respond(
        json=[{"message": "Process failed: boom", "completed": True, "level": "ERROR"}]
    )
    with pytest.raises(Dhis2JobError, match="boom"):
        call("post_data_values", PAYLOAD, async_job=True)


METADATA_REPORT = {
    "responseType": "ImportReport",
    "status": "ERROR",
    "stats": {"created": 1, "updated": 0, "deleted": 0, "ignored": 1, "total": 2},
    "typeReports": [
        {"klass": "org.hisp.dhis.dataelement.DataElement",
         "stats": {"created": 1, "updated": 0, "deleted": 0, "ignored": 1, "total": 2},
         "objectReports": [{"klass": "org.hisp.dhis.dataelement.DataElement", "index": 1,
                            "uid": "deabcdefghA",
                            "errorReports": [{"message": "Missing required property `name`",
                                              "errorCode": "E4000",
                                              "errorProperty": "name"}]}]}
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, METADATA_REPORT),
        (409, {"httpStatus": "Conflict", "httpStatusCode": 409, "status": "WARNING",
               "message": "One or more errors occurred, please see full details in import "
                          "report.", "response": METADATA_REPORT}),
    ],
    ids=["2.37-bare", "2.38+-webmessage"],
)  # fmt: skip
def test_metadata_import_report_shapes(
    call: Call, mock_api: respx.MockRouter, status: int, body: dict[str, Any]
):
    route = mock_api.post("/metadata").respond(status, json=body)
    payload = {"dataElements": [{"id": "deabcdefghB", "name": "x"}, {"id": "deabcdefghA"}]}
    report = call("post_metadata", payload, import_mode="VALIDATE", atomic_mode="NONE")
    assert isinstance(report, ImportReport)
    assert report.stats.created == 1
    [(kind, obj, err)] = report.errors
    assert (kind, obj.uid, err.error_code) == ("DataElement", "deabcdefghA", "E4000")
    query = _query(route.calls.last.request)
    assert query["importMode"] == ["VALIDATE"] and query["atomicMode"] == ["NONE"]


def test_import_arguments_are_validated_before_sending(call: Call, mock_api: respx.MockRouter):
    route = mock_api.post(url__regex=r".*").respond(json={})
    with pytest.raises(ValueError, match="import_strategy"):
        call("post_data_values", PAYLOAD, import_strategy="UPSERT")
    with pytest.raises(ValueError, match="dataValues"):
        call("post_data_values", {"values": []})
    with pytest.raises(ValueError, match="import_mode"):
        call("post_metadata", {}, import_mode="DRYRUN")
    with pytest.raises(ValueError, match="maintenance task"):
        call("run_maintenance", "dropEverything")
    assert not route.called


def test_run_maintenance(call: Call, mock_api: respx.MockRouter):
    route = mock_api.post("/maintenance").respond(
        json={"httpStatus": "OK", "httpStatusCode": 200, "status": "OK"}
    )
    message = call("run_maintenance", "analyticsTableClear", "cacheClear")
    assert message is not None and message.status == "OK"
    assert _query(route.calls.last.request) == {
        "analyticsTableClear": ["true"], "cacheClear": ["true"]
    }  # fmt: skip


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (401, {"httpStatus": "Unauthorized", "httpStatusCode": 401, "status": "ERROR",
               "message": "Unauthorized"}, Dhis2AuthenticationError, None),
        (403, {"httpStatus": "Forbidden", "httpStatusCode": 403, "status": "ERROR",
               "message": "You don't have the proper permissions to read objects of this "
                          "type."}, Dhis2PermissionError, None),
        (404, {"httpStatus": "Not Found", "httpStatusCode": 404, "status": "ERROR",
               "message": "DataElement with id abcdefghijk could not be found.",
               "errorCode": "E1005"}, Dhis2NotFoundError, "E1005"),
        (400, {"httpStatus": "Bad Request", "httpStatusCode": 400, "status": "ERROR",
               "message": "Expected a name character at position 3"}, Dhis2BadRequestError,
         None),
        (409, {"httpStatus": "Conflict", "httpStatusCode": 409, "status": "ERROR",
               "message": "Unknown path property: foo"}, Dhis2ConflictError, None),
        (500, {"httpStatus": "Internal Server Error", "httpStatusCode": 500,
               "status": "ERROR", "message": "NullPointerException"}, Dhis2ServerError, None),
    ],
    ids=["401", "403", "404", "400", "409", "500"],
)  # fmt: skip
def test_status_errors_are_typed(
    call: Call,
    mock_api: respx.MockRouter,
    status: int,
    body: dict[str, Any],
    error: type[Dhis2Error],
    code: str | None,
):
    route = mock_api.get("/dataElements/abcdefghijk").respond(status, json=body)
    with pytest.raises(error) as caught:
        call("get", "dataElements/abcdefghijk")
    err = caught.value
    assert err.status_code == status
    assert err.error_code == code
    assert err.dhis2_message == body["message"]
    assert body["message"] in str(err)
    assert err.base_url == BASE and err.endpoint == "/api/dataElements/abcdefghijk"
    assert len(route.calls) == 1  # none of these is retried


def test_auth_error_names_url_and_user(call: Call, mock_api: respx.MockRouter):
    mock_api.get("/me").respond(401, json={"status": "ERROR", "message": "Unauthorized"})
    with pytest.raises(Dhis2AuthenticationError) as caught:
        call("get_me")
    assert "user 'admin'" in str(caught.value) and BASE in str(caught.value)


def test_login_redirect_is_an_authentication_error(call: Call, mock_api: respx.MockRouter):
    route = mock_api.get("/me").respond(
        302, headers={"Location": f"{BASE}/dhis-web-commons/security/login.action"}
    )
    with pytest.raises(Dhis2AuthenticationError, match="login page"):
        call("get_me")
    assert len(route.calls) == 1  # the redirect is not followed


def test_html_login_page_is_an_authentication_error(call: Call, mock_api: respx.MockRouter):
    mock_api.get("/system/info").respond(
        200, html="<html><body><form action='login'>DHIS 2</form></body></html>"
    )
    with pytest.raises(Dhis2AuthenticationError, match="HTML page"):
        call("get_server_info")


def test_other_redirect_says_where(call: Call, mock_api: respx.MockRouter):
    mock_api.get("/me").respond(301, headers={"Location": "https://play.im.dhis2.org/dev/api/me"})
    with pytest.raises(Dhis2Error, match=r"redirected to https://play\.im\.dhis2\.org"):
        call("get_me")


def test_truncated_json_is_retried_then_reported(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float]
):
    route = mock_api.get("/system/info").respond(
        200, content=b'{"version": "2.40', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(Dhis2ResponseFormatError, match="not valid JSON"):
        call("get_server_info")
    assert len(route.calls) == 4  # first attempt + max_retries (3)


# -- retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float], status: int
):
    route = mock_api.get("/system/info").mock(
        side_effect=[httpx.Response(status), httpx.Response(status),
                     httpx.Response(200, json={"version": "2.40.4"})]
    )  # fmt: skip
    assert str(call("get_server_info").version) == "2.40.4"
    assert len(route.calls) == 3
    assert len(sleeps) == 2
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02  # exponential, jittered


def test_retry_after_seconds_and_http_date(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float]
):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    mock_api.get("/system/info").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503, headers={"Retry-After": later}),
            httpx.Response(429, headers={"Retry-After": "86400"}),  # capped
            httpx.Response(200, json={"version": "2.40.4"}),
        ]
    )
    call("get_server_info")
    assert sleeps[0] == 7
    assert 27 <= sleeps[1] <= 30
    assert sleeps[2] == 120


def test_retries_run_out_into_typed_errors(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float]
):
    mock_api.get("/system/info").respond(429, headers={"Retry-After": "1"})
    with pytest.raises(Dhis2RateLimitError):
        call("get_server_info")
    mock_api.get("/me").respond(503)
    with pytest.raises(Dhis2ServerError):
        call("get_me")


@pytest.mark.parametrize("status", [400, 409, 422])
def test_other_4xx_are_never_retried(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float], status: int
):
    route = mock_api.get("/analytics").respond(status, json={"message": "no"})
    with pytest.raises(Dhis2Error):
        call("fetch_analytics", ["dx:fbfJHSPpUQD"])
    assert len(route.calls) == 1 and sleeps == []


def test_connection_errors_and_timeouts_are_retried(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float]
):
    route = mock_api.get("/system/info").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                     httpx.RemoteProtocolError("peer closed"),
                     httpx.Response(200, json={"version": "2.40.4"})]
    )  # fmt: skip
    call("get_server_info")
    assert len(route.calls) == 4


def test_timeout_after_retries_is_typed(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float]
):
    mock_api.get("/system/info").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(Dhis2TimeoutError):
        call("get_server_info")
    mock_api.get("/me").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(Dhis2ConnectionError):
        call("get_me")


def test_unsafe_metadata_create_is_not_retried(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float]
):
    route = mock_api.post("/metadata").respond(503)
    # Objects without ids would be created again by a repeat: no retry.
    with pytest.raises(Dhis2ServerError):
        call("post_metadata", {"dataElements": [{"name": "New"}]})
    assert len(route.calls) == 1
    # With explicit ids the import is an upsert and is retried.
    with pytest.raises(Dhis2ServerError):
        call("post_metadata", {"dataElements": [{"id": "deabcdefghA", "name": "New"}]})
    assert len(route.calls) == 1 + 4


def test_data_value_import_is_retried_as_an_upsert(
    call: Call, mock_api: respx.MockRouter, sleeps: list[float]
):
    route = mock_api.post("/dataValueSets").mock(
        side_effect=[httpx.RemoteProtocolError("reset"), httpx.Response(200, json=SUMMARY)]
    )
    assert call("post_data_values", PAYLOAD).import_count.imported == 2
    assert len(route.calls) == 2
    assert route.calls[0].request.content == route.calls[1].request.content
