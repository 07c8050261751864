"""Run the DHIS2 emulator in a child process.

Benchmarks use this so that the emulator's own work does not share the
interpreter lock with the client being measured (as a real DHIS2 server runs
on another machine).

Example:
    ```python
    from prefect_dhis2.testing import CostModel, EmulatorProcess

    with EmulatorProcess(org_units=100_000, cost=CostModel(latency_s=0.05, max_concurrent=4)) as dhis2:
        creds = dhis2.credentials()
        ...
        print(dhis2.stats()["total_server_work_s"])
    ```
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from prefect_dhis2.testing.core.faults import CostModel

if TYPE_CHECKING:
    from prefect_dhis2.credentials import Dhis2Credentials

__all__ = ["EmulatorProcess"]


def _serve(connection: multiprocessing.connection.Connection, options: dict[str, Any]) -> None:
    from prefect_dhis2.testing.core.server import Dhis2Emulator

    with Dhis2Emulator(**options) as emulator:
        connection.send(emulator.base_url)
        while True:
            command = connection.recv()
            if command == "stop":
                break
            if command == "stats":
                stats = emulator.state.stats
                connection.send(
                    {
                        "total_server_work_s": stats.total_server_work_s,
                        "max_in_flight": stats.max_in_flight,
                        "total_queue_wait_s": stats.total_queue_wait_s,
                        "requests": len(emulator.request_log),
                    }
                )
            elif command == "reset_stats":
                emulator.state.stats.reset()
                emulator.request_log.clear()
                connection.send(True)
            elif command == "reset":
                emulator.reset()
                connection.send(True)
    connection.send("stopped")


class EmulatorProcess:
    """A `Dhis2Emulator` in a child process (spawned, so it starts clean).

    Args:
        **options: `Dhis2Emulator` keywords (`org_units`, `cost`, `version`, ...).
    """

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.base_url = ""
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: multiprocessing.connection.Connection | None = None

    @property
    def cost(self) -> CostModel:
        """The cost model the emulator runs with."""
        cost = self.options.get("cost")
        return cost if isinstance(cost, CostModel) else CostModel()

    def start(self, timeout: float = 120.0) -> Self:
        """Start the child and wait until it serves."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self.options), daemon=True)
        self._process.start()
        self._connection = parent
        if not parent.poll(timeout):
            self.stop()
            raise TimeoutError("The emulator process did not start in time")
        self.base_url = parent.recv()
        return self

    def _ask(self, command: str) -> Any:
        assert self._connection is not None, "the emulator process is not running"
        self._connection.send(command)
        return self._connection.recv()

    def stats(self) -> dict[str, float]:
        """The server's work counters (`total_server_work_s`, `max_in_flight`, ...)."""
        result: dict[str, float] = self._ask("stats")
        return result

    def reset_stats(self) -> None:
        """Zero the work counters and clear the request log."""
        self._ask("reset_stats")

    def reset(self) -> None:
        """Restore the generated data and clear the counters and the request log."""
        self._ask("reset")

    def credentials(self, **kwargs: Any) -> Dhis2Credentials:
        """Admin credentials for the emulator (keywords override block fields)."""
        from prefect_dhis2.credentials import Dhis2Credentials

        options: dict[str, Any] = {
            "base_url": self.base_url,
            "username": "admin",
            "password": "district",
        }
        options.update(kwargs)
        return Dhis2Credentials(**options)

    def stop(self) -> None:
        """Stop the child process."""
        if self._connection is not None:
            try:
                self._connection.send("stop")
                if self._connection.poll(30):
                    self._connection.recv()
            except (BrokenPipeError, EOFError, OSError):
                pass
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.kill()
            self._process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
