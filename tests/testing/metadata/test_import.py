"""Conformance of the emulator's `POST /api/metadata` and maintenance endpoints."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from prefect_dhis2.testing import Dhis2Emulator
from prefect_dhis2.uids import generate_uid

Factory = Callable[..., Dhis2Emulator]
DE_KLASS = "org.hisp.dhis.dataelement.DataElement"


def data_element(uid: str | None = None, **props: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "name": "Emulator test element",
        "shortName": "Emulator test",
        "valueType": "NUMBER",
        "aggregationType": "SUM",
        "domainType": "AGGREGATE",
        "categoryCombo": {"id": "bjDvmb4bfuf"},
    }
    if uid:
        obj["id"] = uid
    obj.update(props)
    return obj


@pytest.fixture
def api(dhis2_emulator_factory: Factory) -> Iterator[httpx.Client]:
    """A private emulator (imports write metadata) and an admin client."""
    emulator = dhis2_emulator_factory(relative_period_date=date(2024, 6, 30))
    with httpx.Client(base_url=emulator.base_url, auth=("admin", "district"), timeout=10) as c:
        yield c


def test_created_object_is_visible_and_updates(api: httpx.Client) -> None:
    uid = generate_uid()
    r = api.post("/api/metadata", json={"dataElements": [data_element(uid)]})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "OK" and body["response"]["responseType"] == "ImportReport"
    assert body["response"]["stats"] == {
        "created": 1,
        "updated": 0,
        "deleted": 0,
        "ignored": 0,
        "total": 1,
    }
    assert body["response"]["typeReports"][0]["klass"] == DE_KLASS
    shown = api.get(f"/api/dataElements/{uid}").json()
    assert shown["name"] == "Emulator test element"
    again = api.post("/api/metadata", json={"dataElements": [data_element(uid, name="Renamed")]})
    assert again.json()["response"]["stats"]["updated"] == 1
    assert api.get(f"/api/dataElements/{uid}").json()["name"] == "Renamed"


def test_errors_give_409_warning_and_atomic_all_writes_nothing(api: httpx.Client) -> None:
    good, bad = generate_uid(), generate_uid()
    payload = {
        "dataElements": [
            data_element(good),
            data_element(bad, name=None, categoryCombo={"id": "abcdefghijk"}),
        ]
    }
    r = api.post("/api/metadata", json=payload)
    assert r.status_code == 409
    body = r.json()
    assert body["status"] == "WARNING"
    assert body["message"] == (
        "One or more errors occurred, please see full details in import report."
    )
    report = body["response"]
    assert report["status"] == "ERROR"
    assert report["stats"]["ignored"] == 2 and report["stats"]["created"] == 0
    (object_report,) = report["typeReports"][0]["objectReports"]
    assert object_report["index"] == 1 and object_report["uid"] == bad
    codes = {e["errorCode"]: e for e in object_report["errorReports"]}
    assert codes["E4000"]["errorProperty"] == "name"
    assert codes["E5002"]["errorProperty"] == "categoryCombo"
    assert api.get(f"/api/dataElements/{good}").status_code == 404


def test_atomic_none_writes_the_valid_objects(api: httpx.Client) -> None:
    good, bad = generate_uid(), generate_uid()
    payload = {"dataElements": [data_element(good), data_element(bad, shortName="")]}
    r = api.post("/api/metadata", params={"atomicMode": "NONE"}, json=payload)
    assert r.status_code == 409
    assert r.json()["response"]["status"] == "WARNING"
    assert r.json()["response"]["stats"]["created"] == 1
    assert api.get(f"/api/dataElements/{good}").status_code == 200
    assert api.get(f"/api/dataElements/{bad}").status_code == 404


def test_validate_mode_and_duplicate_code(api: httpx.Client) -> None:
    uid = generate_uid()
    r = api.post(
        "/api/metadata",
        params={"importMode": "VALIDATE"},
        json={"dataElements": [data_element(uid)]},
    )
    assert r.status_code == 200
    assert api.get(f"/api/dataElements/{uid}").status_code == 404
    taken = api.get("/api/dataElements/fbfJHSPpUQD").json()["code"]
    dup = api.post("/api/metadata", json={"dataElements": [data_element(uid, code=taken)]})
    errors = dup.json()["response"]["typeReports"][0]["objectReports"][0]["errorReports"]
    assert [e["errorCode"] for e in errors] == ["E5003"]


def test_version_2_37_returns_a_bare_report(dhis2_emulator_factory: Factory) -> None:
    emulator = dhis2_emulator_factory(version="2.37")
    r = httpx.post(
        f"{emulator.base_url}/api/metadata",
        auth=("admin", "district"),
        json={"dataElements": [data_element(generate_uid())]},
    )
    assert r.status_code == 200
    body = r.json()
    assert list(body)[:3] == ["importParams", "status", "stats"]
    assert body["stats"]["created"] == 1


def test_analytics_tables_clear_and_regenerate(api: httpx.Client) -> None:
    before = api.get("/api/system/info").json()["lastAnalyticsTableSuccess"]
    assert api.post("/api/maintenance", params={"analyticsTableClear": "true"}).status_code == 204
    query = {"dimension": ["dx:fbfJHSPpUQD", "pe:2024Q1"], "filter": "ou:ImspTQPwCqd"}
    assert api.get("/api/analytics", params=query).json()["errorCode"] == "E7144"
    started = api.post("/api/resourceTables/analytics").json()
    assert started["response"]["jobType"] == "ANALYTICS_TABLE"
    endpoint = started["response"]["relativeNotifierEndpoint"]
    deadline = time.monotonic() + 5
    while not (api.get(endpoint).json() or [{}])[0].get("completed"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    after = api.get("/api/system/info").json()["lastAnalyticsTableSuccess"]
    assert after > before
    assert api.get("/api/analytics", params=query).status_code == 200
