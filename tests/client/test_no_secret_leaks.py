"""Plant a sentinel password and token, go through success and every error path
over real HTTP with all logging at DEBUG, and look for the sentinels everywhere."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.client import Dhis2Error

from .conftest import SENTINEL_PASSWORD, SENTINEL_TOKEN

ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/api/me": (200, {}, b'{"id": "M5zQapPyTZI", "username": "admin"}'),
    "/api/e401": (401, {}, b'{"httpStatus":"Unauthorized","status":"ERROR","message":"Unauthorized"}'),
    "/api/e403": (403, {}, b'{"status":"ERROR","message":"Forbidden"}'),
    "/api/e404": (404, {}, b'{"status":"ERROR","message":"Not found","errorCode":"E1005"}'),
    "/api/e409": (409, {}, b'{"status":"ERROR","message":"Conflict","errorCode":"E7128"}'),
    "/api/e400": (400, {}, b'{"status":"ERROR","message":"Bad fields"}'),
    "/api/e500": (500, {}, b'{"status":"ERROR","message":"boom"}'),
    "/api/e503": (503, {"Retry-After": "0"}, b""),
    "/api/login": (302, {"Location": "/dhis-web-commons/security/login.action"}, b""),
    "/api/html": (200, {"Content-Type": "text/html"}, b"<html>login</html>"),
    "/api/truncated": (200, {"Content-Type": "application/json"}, b'{"id": "x'),
}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        status, headers, body = ANSWERS.get(path, (404, {}, b"{}"))
        self.send_response(status)
        headers = {"Content-Type": "application/json", **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _sentinels() -> list[str]:
    basic = base64.b64encode(f"admin:{SENTINEL_PASSWORD}".encode()).decode()
    return [SENTINEL_PASSWORD, SENTINEL_TOKEN, basic, SENTINEL_TOKEN[4:20]]


def _assert_clean(text: str, where: str) -> None:
    for sentinel in _sentinels():
        assert sentinel not in text, f"secret leaked into {where}"


def _texts_of(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), repr(error.args)]
    if isinstance(error, Dhis2Error):
        texts.append(json.dumps(vars(error), default=str))
        texts.append(repr(pickle.loads(pickle.dumps(error))))
    cause = error.__cause__ or error.__context__
    if cause is not None:
        texts += [str(cause), repr(cause)]
    return texts


@pytest.mark.parametrize("auth", ["basic", "token"])
def test_no_secret_in_logs_reprs_or_errors(
    server_url: str, auth: str, caplog: pytest.LogCaptureFixture
):
    if auth == "basic":
        creds = Dhis2Credentials(
            base_url=server_url, username="admin", password=SENTINEL_PASSWORD, max_retries=1,
            retry_backoff=0.01, read_timeout=2, connect_timeout=1,
        )  # fmt: skip
    else:
        creds = Dhis2Credentials(
            base_url=server_url, token=SENTINEL_TOKEN, max_retries=1, retry_backoff=0.01,
            read_timeout=2, connect_timeout=1,
        )  # fmt: skip
    seen: list[str] = [repr(creds), str(creds), creds.model_dump_json(), repr(creds.model_dump())]
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        for name in ("httpx", "httpcore", "prefect_dhis2", "urllib3", "asyncio"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        with creds.get_client() as client:
            seen.append(repr(client))
            seen.append(repr(client.settings))
            assert client.get_me().username == "admin"  # the success path
            for path in ANSWERS:
                if path == "/api/me":
                    continue
                with pytest.raises(Dhis2Error) as caught:
                    client.get(path.removeprefix("/api/"))
                errors.append(caught.value)
        # Connection refused and timeout paths.
        dead = creds.model_copy(update={"base_url": "http://127.0.0.1:9"})
        with dead.get_client() as client, pytest.raises(Dhis2Error) as caught:
            client.get_me()
        errors.append(caught.value)
    # Bad input paths: validation errors must not echo secrets either.
    for bad in (
        {"base_url": server_url, "username": "admin", "password": SENTINEL_PASSWORD,
         "token": SENTINEL_TOKEN},
        {"base_url": f"http://admin:{SENTINEL_PASSWORD}@127.0.0.1"},
        {"base_url": server_url, "password": SENTINEL_PASSWORD},
    ):  # fmt: skip
        with pytest.raises(ValidationError) as invalid:
            Dhis2Credentials(**bad)
        errors.append(invalid.value)

    assert len(errors) == len(ANSWERS) - 1 + 1 + 3
    kinds = {type(e).__name__ for e in errors}
    assert {"Dhis2AuthenticationError", "Dhis2ServerError", "Dhis2ConnectionError"} <= kinds
    assert caplog.records, "DEBUG logging captured nothing"
    assert any(r.name.startswith("httpx") for r in caplog.records)
    for error in errors:
        for text in _texts_of(error):
            _assert_clean(text, f"{type(error).__name__}")
    for text in seen:
        _assert_clean(text, "repr")
    for record in caplog.records:
        _assert_clean(record.getMessage(), f"log record of {record.name}")
        _assert_clean(repr(record.args), f"log args of {record.name}")


def test_block_as_flow_parameter_is_stored_masked(prefect_server: str):
    from prefect import flow
    from prefect.client.orchestration import get_client

    @flow
    def uses_credentials(credentials: Dhis2Credentials) -> str:
        return credentials.base_url

    creds = Dhis2Credentials(base_url="https://x.org", token=SENTINEL_TOKEN)
    state = uses_credentials(creds, return_state=True)
    assert state.is_completed()

    import asyncio

    async def parameters() -> str:
        async with get_client() as client:
            run = await client.read_flow_run(state.state_details.flow_run_id)
            return json.dumps(run.parameters, default=str)

    stored = asyncio.run(parameters())
    assert "x.org" in stored
    _assert_clean(stored, "flow run parameters")
