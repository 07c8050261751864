"""Real servers for the deployment tests: `prefect server start`, a webhook receiver.

Everything listens on 127.0.0.1 and lives in the test's own folder (its own
PREFECT_HOME and SQLite database); every wait polls with a deadline.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
PREFECT = [sys.executable, "-m", "prefect"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], T | None], timeout: float, every: float = 0.5) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class PrefectServer:
    """`prefect server start` in a child process, with its own home and database."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log = home / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a CLI, worker or flow process needs to talk to this server."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PREFECT_") or key == "PREFECT_SERVER_ANALYTICS_ENABLED"
        }
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api_url,
            PREFECT_UI_URL=f"http://127.0.0.1:{self.port}",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
            PREFECT_LOGGING_LEVEL="INFO",
            PREFECT_CLI_PROMPT="false",
        )
        env.update(extra)
        return env

    def start(self, timeout: float = 180) -> PrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        command = [
            *PREFECT,
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-ui",
            "--no-scheduler",
        ]
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command, env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )

        def healthy() -> bool:
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(f"prefect server exited:\n{self.log.read_text()[-3000:]}")
            try:
                return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("the Prefect server to answer /api/health", healthy, timeout)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def cli(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> str:
        """Run a `prefect` command against this server; its output, or a clear failure."""
        result = subprocess.run(
            [*PREFECT, *args],
            env=self.env(**({"PWD": str(cwd)} if cwd else {})),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, (
            f"prefect {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout

    def spawn(
        self, command: list[str], log: Path, cwd: Path, **env: str
    ) -> subprocess.Popen[bytes]:
        """A long-running process (a worker, `serve.py`) against this server."""
        with log.open("wb") as out:
            return subprocess.Popen(
                command,
                env=self.env(PWD=str(cwd), **env),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the server's REST API, waiting out a busy server as Prefect's client does."""

        def call() -> httpx.Response | None:
            try:
                response = httpx.request(method, f"{self.api_url}{path}", timeout=30, **kwargs)
            except httpx.TransportError:
                return None
            # A SQLite server answers 503 while its database is locked by another writer.
            return None if response.status_code in (429, 503) else response

        response = wait_for(f"{method} {path}", call, timeout=120, every=0.5)
        response.raise_for_status()
        return response.json() if response.content else None


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class WebhookReceiver:
    """Collects what notification blocks POST to it (headers and bodies)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(
                    {"headers": dict(self.headers.items()), "body": body.decode("utf-8", "replace")}
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def notices(self) -> list[dict[str, Any]]:
        """The notices received, parsed from the webhook's JSON `text` field."""
        return [json.loads(json.loads(item["body"])["text"]) for item in self.received]
