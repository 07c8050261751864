"""The Prefect glue that tasks and flows share: logger, sync bridge, retry rule, report base.

Everything here needs Prefect; the DHIS2 engines of each area do not import it.

Examples:
    ```python
    from prefect import task

    from prefect_dhis2.runtime import retry_transient_failures, run_logger


    @task(retries=2, retry_condition_fn=retry_transient_failures)
    def my_task() -> None:
        run_logger().info("working")
    ```
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from prefect.logging import get_run_logger
from prefect.utilities.asyncutils import run_coro_as_sync
from pydantic import BaseModel, Field

from prefect_dhis2.client import AsyncDhis2Client
from prefect_dhis2.client.errors import (
    Dhis2ConnectionError,
    Dhis2RateLimitError,
    Dhis2ResponseFormatError,
    Dhis2ResponseTooLargeError,
    Dhis2ServerError,
)
from prefect_dhis2.markdown import slug

if TYPE_CHECKING:
    from prefect_dhis2.credentials import Dhis2Credentials

__all__ = [
    "Dhis2FlowReport",
    "Stopwatch",
    "artifact_key",
    "retry_transient_failures",
    "run_engine",
    "run_logger",
    "run_sync",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")

_TRANSIENT = (Dhis2ConnectionError, Dhis2ServerError, Dhis2RateLimitError, Dhis2ResponseFormatError)


def _flow_run_name() -> str | None:
    from prefect.runtime import flow_run

    name = flow_run.name
    return str(name) if name else None


def _deployment_name() -> str | None:
    from prefect.runtime import deployment

    name = deployment.name
    return str(name) if name else None


class Dhis2FlowReport(BaseModel):
    """What a bundled flow did: where, what it wrote, how long it took, which run.

    Every flow's `…Report` extends this and holds the `…Result` or `…Extract` of
    the work it composed, instead of copying its fields. The run and deployment
    names come from `prefect.runtime` when the report is made inside a run.

    Attributes:
        instance: The DHIS2 base URL the flow worked on.
        output_dir: The directory it wrote to.
        files: Output files by label (e.g. `{"org_units_csv": ".../org_units.csv"}`).
        duration_s: Wall time of the flow body, in seconds.
        flow_run: The flow run's name (None outside a run).
        deployment: The deployment's name, when the run came from one.
    """

    instance: str
    output_dir: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    duration_s: float = 0.0
    flow_run: str | None = Field(default_factory=_flow_run_name)
    deployment: str | None = Field(default_factory=_deployment_name)

    def provenance_markdown(self) -> str:
        """Which run wrote this and the files it wrote (as links), for an artifact's end.

        Examples:
            >>> report = Dhis2FlowReport(instance="https://dhis2.example.org",
            ...                          files={"org_units_csv": "/data/org_units.csv"})
            >>> print(report.provenance_markdown())
            ---
            DHIS2: https://dhis2.example.org
            <BLANKLINE>
            Files: [org_units_csv](file:///data/org_units.csv)
        """
        run = ", ".join(
            part
            for part in (
                f"run `{self.flow_run}`" if self.flow_run else "",
                f"deployment `{self.deployment}`" if self.deployment else "",
            )
            if part
        )
        lines = ["---", f"DHIS2: {self.instance}" + (f" · {run}" if run else "")]
        if self.files:
            links = ", ".join(
                f"[{label}]({Path(path).resolve().as_uri()})"
                for label, path in sorted(self.files.items())
            )
            lines += ["", f"Files: {links}"]
        return "\n".join(lines)


def artifact_key(base: str) -> str:
    """The artifact key of a run: one per deployment, so its run history lines up in the UI.

    Outside a deployment the key is `base` itself.

    Examples:
        >>> artifact_key("dhis2-org-units-export")
        'dhis2-org-units-export'
    """
    deployment = _deployment_name()
    return slug(f"{base}-{deployment}") if deployment else base


def retry_transient_failures(task: Any, task_run: Any, state: Any) -> bool:
    """A task `retry_condition_fn`: retry only failures that a retry can fix.

    Connection errors, timeouts, 5xx and 429 (after the client's own retries)
    are worth another task attempt; wrong credentials, missing permissions,
    unknown objects, invalid requests and bad input are not.

    Examples:
        ```python
        @task(retries=2, retry_delay_seconds=10, retry_condition_fn=retry_transient_failures)
        def my_dhis2_task(credentials: Dhis2Credentials) -> None: ...
        ```
    """
    try:
        state.result(raise_on_failure=True)
    except Dhis2ResponseTooLargeError:
        return False  # the same request gets the same answer
    except _TRANSIENT:
        return True
    except BaseException:  # noqa: BLE001 - anything else is permanent
        return False
    return False


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger when inside a run, else the package logger."""
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - MissingContextError outside a run
        return logging.getLogger("prefect_dhis2")


def run_sync(coroutine: Coroutine[Any, Any, _T] | Awaitable[_T]) -> _T:
    """Run a coroutine to completion from sync code, inside or outside a running loop."""
    result: _T = run_coro_as_sync(coroutine)  # type: ignore[arg-type]
    return result


def run_engine(
    credentials: Dhis2Credentials,
    engine: Callable[Concatenate[AsyncDhis2Client, _P], Awaitable[_T]],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T:
    """Run an engine coroutine on a fresh async client of `credentials`, from a sync task.

    This is how every task reaches its DHIS2 engine: the task holds the block, the
    engine gets a live client that is closed when it returns.

    Examples:
        ```python
        @task
        def fetch_metadata(credentials, metadata_type, fields="id,name"):
            return run_engine(credentials, afetch_metadata, metadata_type, fields)
        ```
    """

    async def run() -> _T:
        async with credentials.get_async_client() as client:
            return await engine(client, *args, **kwargs)

    return run_sync(run())


class Stopwatch:
    """Measure a flow body's wall time.

    Examples:
        >>> watch = Stopwatch()
        >>> watch.elapsed >= 0
        True
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since creation, rounded to milliseconds."""
        return round(time.perf_counter() - self.started, 3)
