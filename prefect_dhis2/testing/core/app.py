"""Assembly of the emulator's ASGI application.

`build_app(state)` returns an ASGI callable: the `EmulatorMiddleware` (request log, fault
injection, authentication, cost model) around a Starlette app serving the routing table of
`prefect_dhis2.testing.urls`. Routes are declared under `/api` only: the middleware maps
`/api/<NN>/...` (NN = 28..43) and a `.json` suffix onto the same routes, remembering the
original form for paging links.

Example:
    >>> from prefect_dhis2.testing.core.state import EmulatorState
    >>> app = build_app(EmulatorState())
    >>> callable(app)
    True
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import socket
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from prefect_dhis2.testing.core.auth import WRITE_METHODS
from prefect_dhis2.testing.core.faults import FaultRule, RequestRecord, now
from prefect_dhis2.testing.core.requests import API_VERSION_KEY, ORIGINAL_PATH_KEY, ROWS_SCOPE_KEY
from prefect_dhis2.testing.core.state import EmulatorState
from prefect_dhis2.testing.core.webmessage import web_message
from prefect_dhis2.testing.urls import ROUTES

__all__ = ["PUBLIC_PATHS", "EmulatorMiddleware", "build_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PUBLIC_PATHS = frozenset({"/api/system/ping", "/api/ping"})
_VERSIONED = re.compile(r"^/api/(\d{2})(/.*)?$")


def _normalise_path(path: str) -> tuple[str, str | None]:
    """Map `/api/40/x.json` to `/api/x`; return (path, api version or None)."""
    version = None
    match = _VERSIONED.match(path)
    if match and 28 <= int(match.group(1)) <= 43:
        version = match.group(1)
        path = "/api" + (match.group(2) or "")
    path = path.removesuffix(".json")
    return path, version


_DEPART_KEY = "prefect_dhis2.depart"


def _transport_of(send: Send) -> Any:
    """The asyncio transport behind uvicorn's `send` (for connection resets), if reachable."""
    cycle = getattr(send, "__self__", None)
    return getattr(cycle, "transport", None)


def _set_nodelay(transport: Any) -> None:
    """Disable Nagle's algorithm: uvicorn writes headers and body separately, and Nagle plus
    the client's delayed ACK would add ~40 ms to every small response."""
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _count_rows(body: bytes) -> int:
    """Rows of a JSON response, for the per-row cost when the handler did not report them."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 0
    if isinstance(data, list):
        return len(data)
    if isinstance(data, dict):
        for key in ("rows", "dataValues"):
            if isinstance(data.get(key), list):
                return len(data[key])
        for value in data.values():
            if isinstance(value, list):
                return len(value)
    return 0


class EmulatorMiddleware:
    """Outermost ASGI layer: request log, faults, auth and the cost model."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state
        self._semaphores: dict[tuple[int, int], asyncio.Semaphore] = {}

    def _semaphore(self, limit: int) -> asyncio.Semaphore:
        key = (id(asyncio.get_running_loop()), limit)
        sem = self._semaphores.get(key)
        if sem is None:
            sem = self._semaphores[key] = asyncio.Semaphore(limit)
        return sem

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stats = self.state.stats
        stats.arrive()
        departed = False

        def depart() -> None:
            # Called before the last byte leaves: a client that has its answer and
            # sends the next request must never find this one still counted.
            nonlocal departed
            if not departed:
                departed = True
                stats.depart()

        scope[_DEPART_KEY] = depart
        try:
            await self._handle(scope, receive, send)
        finally:
            depart()

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        started_wall, started = _wall(), now()
        method: str = scope["method"]
        original_path: str = scope["path"]
        path, version = _normalise_path(original_path)
        scope["path"] = path
        scope[API_VERSION_KEY] = version
        scope[ORIGINAL_PATH_KEY] = original_path
        query = scope.get("query_string", b"").decode("latin-1")
        params = tuple(parse_qsl(query, keep_blank_values=True))

        body = await _read_body(receive)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        info: dict[str, Any] = {"status": None, "user": None, "fault": None, "rows": 0,
                                "transport": _transport_of(send)}  # fmt: skip
        _set_nodelay(info["transport"])

        logged = False

        def log() -> None:
            nonlocal logged
            if logged:
                return
            logged = True
            state.request_log.append(
                RequestRecord(
                    method=method,
                    path=original_path,
                    params=params,
                    body_sha256=hashlib.sha256(body).hexdigest() if body else None,
                    status=info["status"],
                    user=info["user"],
                    fault=info["fault"],
                    started=started_wall,
                    duration_s=now() - started,
                    rows=info["rows"],
                )
            )

        async def logging_send(message: Message) -> None:
            # Log before the last body chunk leaves, so a client that got the response
            # always finds its request in the log.
            if message["type"] == "http.response.start":
                info["status"] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                info["rows"] = scope.get(ROWS_SCOPE_KEY, info["rows"]) or 0
                log()
                scope[_DEPART_KEY]()
            await send(message)

        rule = state.faults.pick(method, path)
        if rule is not None:
            info["fault"] = rule.kind
            if rule.kind in ("429", "502", "503", "504"):
                await _send_fault_status(rule, logging_send)
                return
            if rule.kind == "reset":
                transport = _transport_of(send)
                log()
                scope[_DEPART_KEY]()
                if transport is None:
                    raise ConnectionResetError("Emulated connection reset")
                transport.abort()
                return
            if rule.kind == "slow" and await _wait_or_disconnect(rule.delay_s, receive, replayed):
                log()  # the client went away before the slow answer
                return

        try:
            await self._serve(scope, replay, logging_send, info, rule)
        finally:
            log()

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        info: dict[str, Any],
        rule: FaultRule | None,
    ) -> None:
        state = self.state
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path.startswith("/api") and path not in PUBLIC_PATHS:
            outcome = state.users.authenticate(headers)
            if outcome.user is None:
                await _send_auth_refusal(outcome.status, outcome.message, outcome.location,
                                         outcome.www_authenticate, headers, send)  # fmt: skip
                return
            info["user"] = outcome.user.username
            scope.setdefault("state", {})["user"] = outcome.user
            if method in WRITE_METHODS and not outcome.user.can_write:
                action = {"POST": "create", "DELETE": "delete"}.get(method, "update")
                await _send_json(send, 403, web_message(
                    403, f"You don't have the proper permissions to {action} this object."))  # fmt: skip
                return

        cost = state.cost
        truncate = rule is not None and rule.kind == "truncate"
        if cost.is_free and not truncate:
            await self.app(scope, receive, send)
            return

        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        sem = self._semaphore(cost.max_concurrent) if cost.max_concurrent else None
        queued = now()
        if sem is not None:
            await sem.acquire()
        state.stats.enter(now() - queued)
        # The cost model gives each request's service time; the emulator's own
        # handling counts towards it, and only the remainder is slept, so the
        # server's work is max(simulated, real) and the capacity bound is honest.
        work = 0.0
        started = now()
        try:
            await self.app(scope, receive, capture)
            rows = scope.get(ROWS_SCOPE_KEY)
            if rows is None and cost.per_row_s:
                rows = _count_rows(b"".join(m.get("body", b"") for m in messages[1:]))
            info["rows"] = rows or 0
            simulated = cost.latency_s + cost.per_row_s * info["rows"]
            spent = now() - started
            if simulated > spent:
                await asyncio.sleep(simulated - spent)
            work = max(simulated, spent)
        finally:
            state.stats.leave(work)
            if sem is not None:
                sem.release()

        start = messages[0] if messages else {"type": "http.response.start", "status": 500}
        info["status"] = start["status"]
        if truncate:
            data = b"".join(m.get("body", b"") for m in messages[1:])
            await send(start)
            await send({"type": "http.response.body", "body": data[: len(data) // 2],
                        "more_body": True})  # fmt: skip
            transport = info["transport"]
            scope[_DEPART_KEY]()
            if transport is not None:
                transport.abort()
            return
        for message in messages:
            await send(message)


def _wall() -> float:
    return time.time()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _wait_or_disconnect(delay_s: float, receive: Receive, body_consumed: bool) -> bool:
    """Sleep `delay_s`, returning True early if the client disconnects meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + delay_s
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except TimeoutError:
            return False
        if message["type"] == "http.disconnect":
            return True


async def _send_json(
    send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps(payload)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json;charset=UTF-8"),
            (b"content-length", str(len(body)).encode()),
            *(headers or []),
        ],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _send_fault_status(rule: FaultRule, send: Send) -> int:
    status = int(rule.kind)
    extra: list[tuple[bytes, bytes]] = []
    if rule.retry_after is not None and status in (429, 503):
        extra.append((b"retry-after", str(rule.retry_after).encode()))
    if status == 429:
        await _send_json(send, 429, web_message(429, "Too many requests"), extra)
        return status
    # Gateways answer 502/503/504 with a small HTML page, not a DHIS2 WebMessage.
    phrase = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
    body = f"<html><body><h1>{status} {phrase}</h1></body></html>".encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode()),
                    *extra],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})
    return status


async def _send_auth_refusal(
    status: int,
    message: str,
    location: str | None,
    www_authenticate: str | None,
    headers: dict[str, str],
    send: Send,
) -> None:
    if status == 302 and location is not None:
        host = headers.get("host", "localhost")
        await send({
            "type": "http.response.start",
            "status": 302,
            "headers": [(b"location", f"http://{host}{location}".encode()),
                        (b"content-length", b"0")],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": b""})
        return
    extra = [(b"www-authenticate", www_authenticate.encode())] if www_authenticate else []
    await _send_json(send, status, web_message(status, message), extra)


def build_app(state: EmulatorState, routes: Sequence[BaseRoute] | None = None) -> ASGIApp:
    """Build the emulator's ASGI app around `state`.

    Args:
        state: The instance state (reachable in handlers as `request.app.state.emulator`).
        routes: Routes to serve (default: the routing table `prefect_dhis2.testing.urls.ROUTES`).

    Returns:
        The ASGI callable to hand to uvicorn (or to `httpx.ASGITransport`).
    """
    app = Starlette(routes=list(ROUTES if routes is None else routes))
    app.state.emulator = state
    return EmulatorMiddleware(app, state)
