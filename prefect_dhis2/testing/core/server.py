"""`Dhis2Emulator`: a real HTTP DHIS2 emulator on 127.0.0.1, served by uvicorn in a thread.

Example:
    >>> import httpx
    >>> with Dhis2Emulator() as dhis2:
    ...     r = httpx.get(f"{dhis2.base_url}/api/system/info", auth=("admin", "district"))
    ...     r.json()["version"]
    '2.40.3'
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterable
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import uvicorn

from prefect_dhis2.testing.core.app import build_app
from prefect_dhis2.testing.core.faults import CostModel, FaultRule, RequestLog
from prefect_dhis2.testing.core.state import EmulatorConfig, EmulatorState

if TYPE_CHECKING:
    from prefect_dhis2.credentials import Dhis2Credentials

__all__ = ["Dhis2Emulator"]


class Dhis2Emulator:
    """A local DHIS2 Web API over real HTTP, for tests, demos and benchmarks.

    Args:
        version: Emulated DHIS2 version: "2.37", "2.40" (default) or "2.43".
        org_units: Org unit tree size (None = the 1,332-unit Sierra Leone demo shape).
        cost: Simulated server cost (latency, per-row cost, bounded concurrency).
        faults: Initial fault-injection rules (change them with `set_faults`).
        seed: Seed of the generated metadata and data values.
        relative_period_date: Anchor of relative periods and end of generated data (None =
            today).
        max_analytics_rows: Analytics row limit (E7128 above it, unless `ignoreLimit`).
        host: Interface to bind (127.0.0.1).
        port: TCP port (0 = a free random port).

    Example:
        >>> with Dhis2Emulator(version="2.43") as dhis2:
        ...     dhis2.credentials().base_url == dhis2.base_url
        True
    """

    def __init__(
        self,
        version: str = "2.40",
        org_units: int | None = None,
        cost: CostModel | None = None,
        faults: Iterable[FaultRule] = (),
        seed: int = 1,
        relative_period_date: date | None = None,
        max_analytics_rows: int = 100_000,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = EmulatorConfig(
            version=version,
            org_units=org_units,
            seed=seed,
            relative_period_date=relative_period_date,
            max_analytics_rows=max_analytics_rows,
            cost=cost or CostModel(),
            faults=tuple(faults),
        )
        self.host = host
        self._requested_port = port
        self._state: EmulatorState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "stopped"
        return f"Dhis2Emulator(version={self.config.version!r}, {where})"

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Self:
        """Generate the instance and start serving; returns once the server accepts requests.

        Raises:
            RuntimeError: If the server does not come up within 30 seconds.
        """
        if self._server is not None:
            return self
        self._state = EmulatorState(self.config)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self._state),
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            loop="asyncio",
            proxy_headers=False,
            timeout_graceful_shutdown=1,
            backlog=4096,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="dhis2-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("The DHIS2 emulator did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to finish."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- access -----------------------------------------------------------------------------
    @property
    def state(self) -> EmulatorState:
        """The live `EmulatorState` (dataset, data values, log, faults, stats)."""
        if self._state is None:
            raise RuntimeError("The emulator is not started; use `with Dhis2Emulator() as ...`")
        return self._state

    @property
    def port(self) -> int:
        """The TCP port being served."""
        if self._port is None:
            raise RuntimeError("The emulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """The instance root, e.g. `http://127.0.0.1:54321` (the API is under `/api`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def request_log(self) -> RequestLog:
        """Requests served so far (method, path, params, body hash, status, user)."""
        return self.state.request_log

    def credentials(self, username: str = "admin", *, token: bool = False) -> Dhis2Credentials:
        """A `Dhis2Credentials` block pointing at this emulator.

        Args:
            username: `admin` (superuser) or `reader` (read-only).
            token: Use the user's personal access token instead of a password.

        Returns:
            The credentials block.
        """
        from prefect_dhis2.credentials import Dhis2Credentials

        users = self.state.users
        if username not in users.users:
            raise ValueError(f"Unknown emulator user {username!r}; use 'admin' or 'reader'")
        kwargs: dict[str, Any] = {"base_url": self.base_url}
        if token:
            kwargs["token"] = users.tokens[username]
        else:
            kwargs["username"] = username
            kwargs["password"] = users.password(username)
        return Dhis2Credentials(**kwargs)

    def token(self, username: str = "admin") -> str:
        """The emulator-issued personal access token of a user."""
        return self.state.users.tokens[username]

    def set_faults(self, rules: Iterable[FaultRule]) -> None:
        """Replace the fault rules (counters and PRNGs restart)."""
        self.state.faults.set_rules(rules)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.state.faults.clear()

    def set_cost(self, cost: CostModel) -> None:
        """Replace the cost model."""
        self.state.set_cost(cost)

    def reset(self) -> None:
        """Restore the generated data, clear the request log, stats and faults."""
        self.state.reset()
        self.state.faults.set_rules(self.config.faults)
        self.state.set_cost(self.config.cost)
