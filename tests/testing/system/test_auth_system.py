"""Authentication (basic, PAT, redirects, read-only user) and the system endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from prefect_dhis2.testing import Dhis2Emulator
from prefect_dhis2.testing.core.auth import check_pat, make_pat_v1, make_pat_v2
from prefect_dhis2.uids import is_valid_uid

UNAUTHORIZED = {
    "httpStatus": "Unauthorized", "httpStatusCode": 401, "status": "ERROR",
    "message": "Unauthorized",
}  # fmt: skip


def test_wrong_password_is_401_json(dhis2: Dhis2Emulator) -> None:
    response = httpx.get(f"{dhis2.base_url}/api/me", auth=("admin", "wrong"))
    assert response.status_code == 401
    assert json.loads(response.text, object_pairs_hook=list) == list(UNAUTHORIZED.items())
    unknown = httpx.get(f"{dhis2.base_url}/api/me", auth=("nobody", "district"))
    assert unknown.status_code == 401 and unknown.json() == UNAUTHORIZED


def test_no_credentials_redirects_to_login_unless_xhr(dhis2: Dhis2Emulator) -> None:
    response = httpx.get(f"{dhis2.base_url}/api/organisationUnits")
    assert response.status_code == 302
    assert response.headers["location"].endswith("/dhis-web-commons/security/login.action")
    followed = httpx.get(f"{dhis2.base_url}/api/me", follow_redirects=True)
    assert followed.status_code == 200 and "text/html" in followed.headers["content-type"]
    xhr = httpx.get(f"{dhis2.base_url}/api/me", headers={"X-Requested-With": "XMLHttpRequest"})
    assert xhr.status_code == 401 and xhr.json() == UNAUTHORIZED


@pytest.mark.parametrize(
    ("version", "login", "full", "token_prefix"),
    [
        ("2.37", "/dhis-web-commons/security/login.action", "2.37.9", "d2pat_"),
        ("2.43", "/login/", "2.43.0", "d2p_"),
    ],
)
def test_version_switch(
    dhis2_emulator_factory: Callable[..., Dhis2Emulator],
    version: str,
    login: str,
    full: str,
    token_prefix: str,
) -> None:
    dhis2 = dhis2_emulator_factory(version=version)
    redirect = httpx.get(f"{dhis2.base_url}/api/me")
    assert redirect.status_code == 302 and redirect.headers["location"].endswith(login)
    info = httpx.get(f"{dhis2.base_url}/api/system/info", auth=("admin", "district")).json()
    assert info["version"] == full
    token = dhis2.token()
    assert token.startswith(token_prefix) and check_pat(token) is None
    me = httpx.get(f"{dhis2.base_url}/api/me", headers={"Authorization": f"ApiToken {token}"})
    assert me.status_code == 200 and me.json()["username"] == "admin"


def test_personal_access_tokens(dhis2: Dhis2Emulator) -> None:
    url = f"{dhis2.base_url}/api/me"
    for scheme in ("ApiToken", "apitoken", "APITOKEN"):
        ok = httpx.get(url, headers={"Authorization": f"{scheme} {dhis2.token('reader')}"})
        assert ok.status_code == 200 and ok.json()["username"] == "reader"
    unknown = make_pat_v1("A" * 32)
    response = httpx.get(url, headers={"Authorization": f"ApiToken {unknown}"})
    assert response.status_code == 401
    assert response.json()["message"] == "The API token does not exists"
    assert response.headers["www-authenticate"] == "ApiToken"
    unknown_v2 = httpx.get(url, headers={"Authorization": f"ApiToken {make_pat_v2('B' * 44)}"})
    assert unknown_v2.status_code == 401
    malformed = httpx.get(url, headers={"Authorization": "ApiToken d2pat_short"})
    assert malformed.status_code == 400 and malformed.json()["message"] == "Api token is malformed"
    bad_sum = dhis2.token()[:-1] + ("0" if dhis2.token()[-1] != "0" else "1")
    checksum = httpx.get(url, headers={"Authorization": f"ApiToken {bad_sum}"})
    assert checksum.status_code == 400
    assert checksum.json()["message"] == "Checksum validation failed"


def test_pat_checksums() -> None:
    token = make_pat_v1("0123456789abcdefABCDEF0123456789")
    assert len(token) == 48 and token[-10:].isdigit() and check_pat(token) is None
    assert check_pat(token[:-1] + "x") == "Api token is malformed"
    v2 = make_pat_v2("x" * 44)
    assert len(v2) == 54 and check_pat(v2) is None and check_pat(v2[:-1] + "?") is not None


def test_reader_is_read_only(dhis2: Dhis2Emulator) -> None:
    with httpx.Client(base_url=dhis2.base_url, auth=("reader", "district-reader")) as reader:
        assert reader.get("/api/dataElements").status_code == 200
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = reader.request(method, "/api/dataValueSets", json={"dataValues": []})
            assert response.status_code == 403
            body = response.json()
            assert body["httpStatus"] == "Forbidden" and body["status"] == "ERROR"
        info = reader.get("/api/system/info").json()
        assert "databaseInfo" not in info and "version" in info


def test_pings_need_no_auth(dhis2: Dhis2Emulator) -> None:
    pong = httpx.get(f"{dhis2.base_url}/api/system/ping")
    assert pong.status_code == 200 and pong.text == "pong"
    assert pong.headers["cache-control"] == "no-store"
    empty = httpx.get(f"{dhis2.base_url}/api/ping")
    assert empty.status_code == 200 and empty.content == b""


def test_system_info(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    info = api.get("/api/system/info").json()
    assert info["version"] == "2.40.3" and info["contextPath"] == dhis2.base_url
    for key in ("serverDate", "lastAnalyticsTableSuccess", "systemName", "revision", "buildTime",
                "calendar", "databaseInfo"):  # fmt: skip
        assert key in info
    assert info["lastAnalyticsTableSuccess"].startswith("2024-06-29T")


def test_me_and_fields(api: httpx.Client) -> None:
    me = api.get("/api/me").json()
    assert me["username"] == "admin" and me["id"] == "M5zQapPyTZI" and "ALL" in me["authorities"]
    narrowed = api.get("/api/me?fields=organisationUnits[id,level,path]").json()
    assert narrowed == {
        "organisationUnits": [{"id": "ImspTQPwCqd", "level": 1, "path": "/ImspTQPwCqd"}]
    }
    assert api.get("/api/me?fields=id,]").status_code == 400


def test_system_id(api: httpx.Client) -> None:
    codes = api.get("/api/system/id?limit=25").json()["codes"]
    assert len(codes) == len(set(codes)) == 25 and all(is_valid_uid(c) for c in codes)


def test_request_log_never_holds_credentials(dhis2: Dhis2Emulator) -> None:
    token = dhis2.token()
    httpx.get(f"{dhis2.base_url}/api/me", headers={"Authorization": f"ApiToken {token}"})
    httpx.get(f"{dhis2.base_url}/api/me", auth=("admin", "district"))
    httpx.post(f"{dhis2.base_url}/api/dataValueSets?dryRun=true", auth=("reader", "district-reader"),
               json={"dataValues": []})  # fmt: skip
    dump = repr(list(dhis2.request_log))
    for secret in (token, "district", "Basic", "ApiToken"):
        assert secret not in dump
    last = dhis2.request_log[-1]
    assert (last.method, last.path, last.status, last.user) == (
        "POST",
        "/api/dataValueSets",
        403,
        "reader",
    )
    assert last.params == (("dryRun", "true"),) and last.body_sha256 is not None


def test_credentials_block(dhis2: Dhis2Emulator) -> None:
    creds = dhis2.credentials()
    assert creds.base_url == dhis2.base_url
    assert "district" not in repr(creds)
    assert dhis2.credentials(token=True) is not None
    with pytest.raises(ValueError):
        dhis2.credentials(username="nobody")
