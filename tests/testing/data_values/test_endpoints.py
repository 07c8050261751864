"""Conformance of the emulator's `/api/dataValueSets` (read, import, envelopes, async jobs)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from prefect_dhis2.testing import Dhis2Emulator

ANC1, FIXED, OUTREACH = "fbfJHSPpUQD", "pq2XI5kz2BY", "PT59n8BQbqM"
REPRODUCTIVE_HEALTH = "zNn32mWVxZr"  # the data set of ANC 1st visit
BO = "O6uvpzGd5pu"
Factory = Callable[..., Dhis2Emulator]


@pytest.fixture
def fresh(dhis2_emulator_factory: Factory) -> Iterator[httpx.Client]:
    """A private 2.40 emulator (imports write data) and an admin client."""
    emulator = dhis2_emulator_factory(relative_period_date=date(2024, 6, 30))
    with httpx.Client(base_url=emulator.base_url, auth=("admin", "district"), timeout=10) as api:
        api.emulator = emulator  # type: ignore[attr-defined]
        yield api


def facility(api: httpx.Client, n: int = 0) -> str:
    emulator: Dhis2Emulator = api.emulator  # type: ignore[attr-defined]
    return emulator.state.dataset.facility_ids[n]


def value(de: str, period: str, ou: str, coc: str, val: str, **extra: Any) -> dict[str, Any]:
    return {
        "dataElement": de,
        "period": period,
        "orgUnit": ou,
        "categoryOptionCombo": coc,
        "value": val,
        **extra,
    }


def summary_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    return body["response"] if "httpStatusCode" in body else body


def test_get_shape_for_one_data_set_period_and_org_unit(
    api: httpx.Client, dhis2: Dhis2Emulator
) -> None:
    unit = dhis2.state.dataset.facility_ids[0]
    r = api.get(
        "/api/dataValueSets.json",
        params={"dataSet": REPRODUCTIVE_HEALTH, "period": "202401", "orgUnit": unit},
    )
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["dataSet", "period", "orgUnit", "dataValues"]
    assert body["dataValues"], "the generated data has values for this facility"
    first = body["dataValues"][0]
    assert list(first)[:9] == [
        "dataElement",
        "period",
        "orgUnit",
        "categoryOptionCombo",
        "attributeOptionCombo",
        "value",
        "storedBy",
        "created",
        "lastUpdated",
    ]
    assert first["followup"] is False
    assert all(isinstance(v["value"], str) for v in body["dataValues"])
    members = {
        ref["dataElement"]["id"]
        for ref in dhis2.state.dataset.get("dataSets", REPRODUCTIVE_HEALTH)["dataSetElements"]
    }
    assert {v["dataElement"] for v in body["dataValues"]} <= members


def test_generated_data_is_sparse_and_deterministic(
    api: httpx.Client, dhis2: Dhis2Emulator
) -> None:
    params = {"dataElement": ANC1, "period": "202401", "orgUnit": BO, "children": "true"}
    first = api.get("/api/dataValueSets", params=params).json()["dataValues"]
    again = api.get("/api/dataValueSets", params=params).json()["dataValues"]
    assert first == again
    facilities = [
        u for u in dhis2.state.dataset.descendants(BO) if u in set(dhis2.state.dataset.facility_ids)
    ]
    possible = 2 * len(facilities)  # two option combos per facility
    assert 0.7 * possible < len(first) < 0.95 * possible
    assert {v["orgUnit"] for v in first} <= set(facilities)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"period": "202401", "orgUnit": BO}, "E2001"),
        ({"dataSet": REPRODUCTIVE_HEALTH, "orgUnit": BO}, "E2002"),
        ({"dataSet": REPRODUCTIVE_HEALTH, "period": "202401"}, "E2006"),
    ],
)
def test_get_missing_parameters(api: httpx.Client, params: dict[str, str], code: str) -> None:
    r = api.get("/api/dataValueSets", params=params)
    assert r.status_code == 409
    assert r.json()["errorCode"] == code


def test_import_update_ignore_and_reimport(fresh: httpx.Client) -> None:
    unit = facility(fresh)
    current = fresh.get(
        "/api/dataValueSets", params={"dataElement": ANC1, "period": "202403", "orgUnit": unit}
    ).json()["dataValues"]
    existing = {v["categoryOptionCombo"]: v["value"] for v in current}
    payload = {
        "dataValues": [
            value(ANC1, "202499", unit, FIXED, "1"),  # invalid period: rejected
            value(ANC1, "202403", unit, FIXED, str(int(existing.get(FIXED, "0")) + 5)),
            value(ANC1, "203001", unit, OUTREACH, "17", comment="new"),
        ]
    }
    if OUTREACH in existing:
        payload["dataValues"].append(value(ANC1, "202403", unit, OUTREACH, existing[OUTREACH]))
    first = fresh.post("/api/dataValueSets", json=payload)
    assert first.status_code == 409  # 2.40: conflicts answer 409 WARNING
    summary = summary_of(first)
    expected_updated = 1 if FIXED in existing else 0
    assert summary["importCount"] == {
        "imported": 2 - expected_updated,
        "updated": expected_updated,
        "ignored": 1 + (1 if OUTREACH in existing else 0),
        "deleted": 0,
    }
    assert summary["rejectedIndexes"] == [0]
    # Re-importing the same values changes nothing: everything is ignored.
    again = summary_of(fresh.post("/api/dataValueSets", json=payload))
    assert again["importCount"] == {
        "imported": 0,
        "updated": 0,
        "ignored": len(payload["dataValues"]),
        "deleted": 0,
    }
    stored = fresh.get(
        "/api/dataValueSets", params={"dataElement": ANC1, "period": "203001", "orgUnit": unit}
    ).json()["dataValues"]
    assert [(v["value"], v.get("comment"), v["storedBy"]) for v in stored] == [
        ("17", "new", "admin")
    ]


def test_conflicts_merge_with_indexes(fresh: httpx.Client) -> None:
    unit = facility(fresh)
    payload = {
        "dataValues": [
            value("abcdefghijk", "202401", unit, FIXED, "1"),
            value(ANC1, "202401", unit, FIXED, "12"),
            value("abcdefghijk", "202402", unit, FIXED, "1"),
            value(ANC1, "202401", "abcdefghijk", FIXED, "3"),
            value(ANC1, "202402", unit, FIXED, "twelve"),
            value(ANC1, "202402", unit, "HllvX50cXC0", "2"),
        ]
    }
    summary = summary_of(fresh.post("/api/dataValueSets", json=payload))
    conflicts = {c["errorCode"]: c for c in summary["conflicts"]}
    assert conflicts["E7610"] == {
        "object": "abcdefghijk",
        "objects": {"dataElement": "abcdefghijk"},
        "value": "Data element not found or not accessible: `abcdefghijk`",
        "errorCode": "E7610",
        "property": "dataElement",
        "indexes": [0, 2],
    }
    assert conflicts["E7612"]["indexes"] == [3]
    assert conflicts["E7619"]["indexes"] == [4]
    assert conflicts["E7619"]["value"].endswith("value_not_numeric")
    assert conflicts["E7634"]["indexes"] == [5]
    assert summary["rejectedIndexes"] == [0, 2, 3, 4, 5]
    assert summary["status"] == "WARNING"


def test_dry_run_writes_nothing(fresh: httpx.Client) -> None:
    unit = facility(fresh, 1)
    payload = {"dataValues": [value(ANC1, "203002", unit, FIXED, "9")]}
    dry = fresh.post("/api/dataValueSets", params={"dryRun": "true"}, json=payload)
    assert summary_of(dry)["importCount"]["imported"] == 1
    assert summary_of(dry)["importOptions"]["dryRun"] is True
    params = {"dataElement": ANC1, "period": "203002", "orgUnit": unit}
    assert fresh.get("/api/dataValueSets", params=params).json()["dataValues"] == []
    real = fresh.post("/api/dataValueSets", json=payload)
    assert real.status_code == 200
    assert len(fresh.get("/api/dataValueSets", params=params).json()["dataValues"]) == 1


def test_delete_strategy_and_include_deleted(fresh: httpx.Client) -> None:
    unit = facility(fresh, 2)
    payload = {"dataValues": [value(ANC1, "203003", unit, FIXED, "5")]}
    fresh.post("/api/dataValueSets", json=payload)
    deleted = fresh.post("/api/dataValueSets", params={"importStrategy": "DELETE"}, json=payload)
    assert summary_of(deleted)["importCount"]["deleted"] == 1
    params = {"dataElement": ANC1, "period": "203003", "orgUnit": unit}
    assert fresh.get("/api/dataValueSets", params=params).json()["dataValues"] == []
    shown = fresh.get("/api/dataValueSets", params={**params, "includeDeleted": "true"}).json()
    assert shown["dataValues"][0]["deleted"] is True


@pytest.mark.parametrize(
    ("version", "ok", "warning"),
    [
        ("2.37", (200, None), (200, None)),
        ("2.40", (200, "OK"), (409, "WARNING")),
        ("2.43", (200, "OK"), (200, "WARNING")),
    ],
)
def test_import_envelope_per_version(
    dhis2_emulator_factory: Factory,
    version: str,
    ok: tuple[int, str | None],
    warning: tuple[int, str | None],
) -> None:
    emulator = dhis2_emulator_factory(version=version, relative_period_date=date(2024, 6, 30))
    unit = emulator.state.dataset.facility_ids[0]
    good = {"dataValues": [value(ANC1, "203004", unit, FIXED, "3")]}
    bad = {"dataValues": [value("abcdefghijk", "203004", unit, FIXED, "3")]}
    with httpx.Client(base_url=emulator.base_url, auth=("admin", "district")) as api:
        for payload, (status, wrapper) in ((good, ok), (bad, warning)):
            r = api.post("/api/dataValueSets", json=payload)
            assert r.status_code == status
            body = r.json()
            if wrapper is None:  # bare ImportSummary
                assert body["responseType"] == "ImportSummary"
                assert "httpStatusCode" not in body
            else:
                assert list(body)[:3] == ["httpStatus", "httpStatusCode", "status"]
                assert body["status"] == wrapper and body["httpStatusCode"] == status
                assert body["response"]["responseType"] == "ImportSummary"
        if version == "2.40":  # /api/37/ keeps the old plain response on 2.38-2.41
            plain = api.post("/api/37/dataValueSets", json=bad)
            assert plain.status_code == 200 and plain.json()["status"] == "WARNING"
    messages = {
        "2.40": "One more conflicts encountered, please check import summary.",
        "2.43": "Import completed with warnings, please check import summary.",
    }
    if version in messages:
        assert body["message"] == messages[version]


def test_async_import_is_polled_to_completion(fresh: httpx.Client) -> None:
    unit = facility(fresh, 4)
    payload = {"dataValues": [value(ANC1, "203005", unit, FIXED, "8")]}
    r = fresh.post("/api/dataValueSets", params={"async": "true"}, json=payload)
    assert r.status_code == 200
    body = r.json()
    assert body["message"].startswith("Initiated DATAVALUE_IMPORT")
    job = body["response"]
    assert job["responseType"] == "JobConfiguration" and job["jobType"] == "DATAVALUE_IMPORT"
    assert job["relativeNotifierEndpoint"] == f"/api/system/tasks/DATAVALUE_IMPORT/{job['id']}"
    deadline = time.monotonic() + 5
    while True:
        notes = fresh.get(job["relativeNotifierEndpoint"]).json()
        if notes and notes[0]["completed"]:
            break
        assert time.monotonic() < deadline, "the job did not complete"
        time.sleep(0.02)
    assert [n["completed"] for n in notes] == [True] + [False] * (len(notes) - 1)
    summary = fresh.get(f"/api/system/taskSummaries/DATAVALUE_IMPORT/{job['id']}").json()
    assert summary["importCount"]["imported"] == 1
    stored = fresh.get(
        "/api/dataValueSets", params={"dataElement": ANC1, "period": "203005", "orgUnit": unit}
    ).json()["dataValues"]
    assert [v["value"] for v in stored] == ["8"]


def test_read_only_user_cannot_import(dhis2: Dhis2Emulator) -> None:
    r = httpx.post(
        f"{dhis2.base_url}/api/dataValueSets",
        json={"dataValues": []},
        auth=("reader", "district-reader"),
    )
    assert r.status_code == 403


def test_children_and_start_end_dates(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    chiefdom = dhis2.state.dataset.children(BO)[0]
    params = {
        "dataElement": ANC1,
        "orgUnit": chiefdom,
        "children": "true",
        "startDate": "2024-01-01",
        "endDate": "2024-03-31",
    }
    values = api.get("/api/dataValueSets", params=params).json()["dataValues"]
    assert {v["period"] for v in values} == {"202401", "202402", "202403"}
    assert {v["orgUnit"] for v in values} <= set(dhis2.state.dataset.children(chiefdom))
