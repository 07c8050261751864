"""Answers a trustworthy client must survive: endless, huge, dripping, malformed or odd.

A small raw HTTP server on 127.0.0.1 plays the hostile parts (a body that never ends,
a gzip bomb, a body dripped a byte at a time); respx plays the rest. Every case runs on
both clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from prefect_dhis2 import Dhis2Credentials
from prefect_dhis2.client import (
    Dhis2AuthenticationError,
    Dhis2ResponseFormatError,
    Dhis2ResponseTooLargeError,
    Dhis2ServerError,
    Dhis2TimeoutError,
    RetryPolicy,
)
from prefect_dhis2.client._core import SMALL_RESPONSE_BYTES

from .conftest import API

MIB = 1024 * 1024
INFO = b'{"version": "2.40.4", "revision": "abc"}'
JSON = {"Content-Type": "application/json"}


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            data = self.request.recv(65536)
            if not data:
                return
            request += data
        path = request.split(b" ", 2)[1].decode()
        with contextlib.suppress(OSError):  # the client hung up, as it should
            SCENARIOS[path.split("?")[0]](self.request)


def _endless(sock: socket.socket) -> None:
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b" " * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    for _ in range(64 * 1024):  # up to 4 GiB, far past any limit
        sock.sendall(frame)


def _gzip_bomb(sock: socket.socket) -> None:
    body = gzip.compress(b"[" + b"0," * (40 * MIB) + b"0]", compresslevel=9)
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _drip(sock: socket.socket) -> None:
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(INFO)}\r\n\r\n".encode()
    )
    for byte in INFO:
        sock.sendall(bytes([byte]))
        time.sleep(0.3)


SCENARIOS: dict[str, Callable[[socket.socket], None]] = {
    "/api/endless": _endless,
    "/api/bomb": _gzip_bomb,
    "/api/system/info": _drip,
}


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _credentials(base_url: str, **settings: Any) -> Dhis2Credentials:
    fast = {"retry_backoff": 0.01, "retry_backoff_max": 0.02}
    return Dhis2Credentials(
        base_url=base_url, username="admin", password="district", **{**fast, **settings}
    )


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`run(credentials, method, *args)` on a fresh sync or async client."""

    def call(credentials: Dhis2Credentials, method: str, *args: Any, **kwargs: Any) -> Any:
        if request.param == "sync":
            with credentials.get_client() as client:
                return getattr(client, method)(*args, **kwargs)

        async def go() -> Any:
            async with credentials.get_async_client() as client:
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(go())

    return call


def test_an_endless_body_stops_at_the_size_limit(run, hostile_server):
    credentials = _credentials(hostile_server, max_response_mb=4, max_retries=0)
    started = time.monotonic()
    with pytest.raises(Dhis2ResponseTooLargeError, match=f"larger than {4 * MIB:,} bytes") as info:
        run(credentials, "get", "endless")
    assert "max_response_mb" in str(info.value)
    assert time.monotonic() - started < 30


def test_a_gzip_bomb_is_measured_decoded(run, hostile_server):
    credentials = _credentials(hostile_server, max_response_mb=8, max_retries=0)
    with pytest.raises(Dhis2ResponseTooLargeError):
        run(credentials, "get", "bomb")


def test_a_dripping_body_cannot_hold_a_request_past_its_timeouts(run, hostile_server):
    # 40 bytes at 0.3 s each take 12 s; each gap (0.3 s) is far below the read timeout.
    credentials = _credentials(hostile_server, read_timeout=1.5, connect_timeout=1, max_retries=0)
    started = time.monotonic()
    with pytest.raises(Dhis2TimeoutError, match="did not complete within 2 s"):
        run(credentials, "get_server_info")
    assert time.monotonic() - started < 8


def test_a_huge_valid_server_info_is_refused_at_the_small_limit(run, credentials):
    padding = b"x" * (SMALL_RESPONSE_BYTES + 10)
    body = INFO[:-1] + b', "padding": "' + padding + b'"}'
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/info").respond(200, content=body, content_type="application/json")
        with pytest.raises(Dhis2ResponseTooLargeError):
            run(credentials, "get_server_info")
    assert route.call_count == 1  # the same answer would come again: no retry


def test_unknown_fields_of_typed_answers_are_ignored(run, credentials):
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").respond(200, json={"version": "2.40.4", "surprise": [1, 2]})
        info = run(credentials, "get_server_info")
    assert info.version.minor == 40
    assert info.model_extra in (None, {})
    assert "surprise" not in info.model_dump()


@pytest.mark.parametrize(
    "body",
    [b"[1, 2, 3]", b"", b'{"revision": "no version"}', b'"2.40"'],
    ids=["array", "empty", "no-version", "string"],
)
def test_a_malformed_server_info_is_a_format_error(run, credentials, body):
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").respond(200, content=body, content_type="application/json")
        with pytest.raises(Dhis2ResponseFormatError, match="not a DHIS2 system info") as info:
            run(credentials, "get_server_info")
    assert info.value.endpoint == "/api/system/info"


def test_a_malformed_user_is_a_format_error(run, credentials):
    with respx.mock(base_url=API) as mock:
        mock.get("/me").respond(200, json=["admin"])
        with pytest.raises(Dhis2ResponseFormatError, match="not a DHIS2 user"):
            run(credentials, "get_me")


def test_a_maintenance_page_is_retried_and_a_login_page_is_not(run, credentials):
    maintenance = "<html><body><h1>Down for maintenance</h1>Back soon.</body></html>"
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/info").mock(
            side_effect=[
                httpx.Response(200, html=maintenance),
                httpx.Response(200, html=maintenance),
                httpx.Response(200, json={"version": "2.40.4"}),
            ]
        )
        assert run(credentials, "get_server_info").version.minor == 40
    assert route.call_count == 3

    login = "<html><form action='/dhis-web-login/'><input type='password'></form></html>"
    with respx.mock(base_url=API) as mock:
        route = mock.get("/system/info").respond(200, html=login)
        with pytest.raises(Dhis2AuthenticationError):
            run(credentials, "get_server_info")
    assert route.call_count == 1


def test_a_persistent_maintenance_page_ends_as_a_server_error(run, credentials):
    with respx.mock(base_url=API) as mock:
        mock.get("/system/info").respond(200, html="<html>Service Unavailable</html>")
        with pytest.raises(Dhis2ServerError, match="not its login page"):
            run(credentials, "get_server_info")


def test_a_burst_of_faults_longer_than_the_old_retry_count_is_ridden_out(run):
    # Three 503s, two 429s, two resets and two truncated bodies in a row, then success.
    credentials = _credentials("https://dhis2.test", retry_backoff=0.001, retry_backoff_max=0.002)
    faults = [
        httpx.Response(503),
        httpx.Response(503),
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.ConnectError("reset"),
        httpx.ReadError("reset"),
        httpx.Response(200, content=b'{"version": "2.4', headers=JSON),
        httpx.Response(200, content=b'{"vers', headers=JSON),
        httpx.Response(200, json={"version": "2.40.4"}),
    ]
    with respx.mock(base_url="https://dhis2.test/api") as mock:
        route = mock.get("/system/info").mock(side_effect=faults)
        assert run(credentials, "get_server_info").version.minor == 40
    assert route.call_count == 10


def test_retrying_stops_when_the_time_budget_is_spent(run):
    credentials = _credentials(
        "https://dhis2.test", max_retries=100, retry_budget=0.3, retry_backoff=0.05
    )
    started = time.monotonic()
    with respx.mock(base_url="https://dhis2.test/api") as mock:
        route = mock.get("/system/info").respond(503)
        with pytest.raises(Dhis2ServerError):
            run(credentials, "get_server_info")
    assert time.monotonic() - started < 5
    assert 2 <= route.call_count < 100


def test_the_retry_policy_counts_both_limits():
    policy = RetryPolicy(max_retries=5, budget_s=60.0)
    assert policy.allows(attempt=4, elapsed_s=0.0, delay_s=1.0)
    assert not policy.allows(attempt=5, elapsed_s=0.0, delay_s=1.0)
    assert not policy.allows(attempt=0, elapsed_s=59.5, delay_s=1.0)


def test_plain_http_to_another_machine_is_warned_about(caplog):
    with caplog.at_level("WARNING", logger="prefect_dhis2.credentials"):
        _credentials("http://127.0.0.1:8080")
        _credentials("http://localhost:8080")
    assert caplog.records == []
    with caplog.at_level("WARNING", logger="prefect_dhis2.credentials"):
        Dhis2Credentials(base_url="http://dhis2.example.org", token="d2p_" + "x" * 40)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "plain http" in message and "token" in message
    assert "d2p_" not in message
