"""Conventions every bundled flow follows.

- Parameters `credentials: Dhis2Credentials | None = None` (used when given) and
  `instance: str = "dhis2"` (the name of a saved block, loaded with
  `get_dhis2_credentials` when `credentials` is None), so one deployment per
  DHIS2 instance is just a parameter.
- `output_dir: str | None = None`: a new temporary directory when None; checked
  for writability before any request.
- The flow returns a pydantic report (a `Dhis2FlowReport`) with counts and the
  paths it wrote, and publishes a markdown or table artifact.
- Logging goes through the run logger; `log_prints` stays off.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Awaitable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from prefect.logging import get_run_logger
from prefect.utilities.asyncutils import run_coro_as_sync
from pydantic import BaseModel, Field

from prefect_dhis2.credentials import Dhis2Credentials, get_dhis2_credentials
from prefect_dhis2.writers import ensure_writable_dir

__all__ = [
    "Dhis2FlowReport",
    "default_table_formats",
    "host_concurrency_limit_name",
    "markdown_table",
    "resolve_credentials",
    "resolve_output_dir",
    "resolve_table_formats",
    "retry_transient_failures",
    "run_logger",
    "run_sync",
    "slug",
]

T = TypeVar("T")


class Dhis2FlowReport(BaseModel):
    """What a bundled flow did: where, what it wrote, how long it took.

    Attributes:
        instance: The DHIS2 base URL the flow worked on.
        output_dir: The directory it wrote to.
        files: Output files by label (e.g. `{"org_units_csv": ".../org_units.csv"}`).
        duration_s: Wall time of the flow body, in seconds.
    """

    instance: str
    output_dir: str | None = None
    files: dict[str, str] = Field(default_factory=dict)
    duration_s: float = 0.0


def retry_transient_failures(task: Any, task_run: Any, state: Any) -> bool:
    """A task `retry_condition_fn`: retry only failures that a retry can fix.

    Connection errors, timeouts, 5xx and 429 (after the client's own retries)
    are worth another task attempt; wrong credentials, missing permissions,
    unknown objects, invalid requests and bad input are not.

    Example:
        ```python
        @task(retries=2, retry_delay_seconds=10, retry_condition_fn=retry_transient_failures)
        def my_dhis2_task(credentials: Dhis2Credentials) -> None: ...
        ```
    """
    from prefect_dhis2.client.errors import (
        Dhis2ConnectionError,
        Dhis2RateLimitError,
        Dhis2ResponseFormatError,
        Dhis2ServerError,
    )

    try:
        state.result(raise_on_failure=True)
    except (
        Dhis2ConnectionError,
        Dhis2ServerError,
        Dhis2RateLimitError,
        Dhis2ResponseFormatError,
    ):
        return True
    except BaseException:  # noqa: BLE001 - anything else is permanent
        return False
    return False


def resolve_credentials(credentials: Dhis2Credentials | None, instance: str) -> Dhis2Credentials:
    """The credentials a flow uses: the given block, else the saved block `instance`.

    Falls back to the public demo only when no block of that name exists (with
    a warning, see `get_dhis2_credentials`).
    """
    if credentials is not None:
        return credentials
    return get_dhis2_credentials(instance)


def resolve_output_dir(output_dir: str | None, prefix: str) -> Path:
    """The checked output directory of a flow run (a new temporary one when None).

    Raises:
        PermissionError: If the directory cannot be written, before any request.
    """
    if output_dir is None:
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    return ensure_writable_dir(output_dir)


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger when inside a run, else the package logger."""
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - MissingContextError outside a run
        return logging.getLogger("prefect_dhis2")


def run_sync(coroutine: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
    """Run a coroutine to completion from sync code, inside or outside a running loop."""
    result: T = run_coro_as_sync(coroutine)  # type: ignore[arg-type]
    return result


def default_table_formats() -> list[str]:
    """`["csv", "parquet"]` when pyarrow is installed, else `["csv"]`."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return ["csv"]
    return ["csv", "parquet"]


def resolve_table_formats(formats: Sequence[str] | None) -> list[str]:
    """The table formats a flow writes: CSV always (first), plus Parquet when asked.

    Args:
        formats: Requested formats (`csv`, `parquet`), or None for the default.

    Returns:
        The formats, CSV first, without repeats.

    Raises:
        ValueError: For an unknown format, before any request.
        ImportError: When Parquet is asked for and pyarrow is missing.

    Example:
        >>> resolve_table_formats(["parquet"])
        ['csv', 'parquet']
    """
    if formats is None:
        return default_table_formats()
    chosen = list(dict.fromkeys(str(f).lower() for f in formats))
    unknown = [f for f in chosen if f not in ("csv", "parquet")]
    if unknown:
        raise ValueError(f"Unknown table format(s) {unknown}: use 'csv' and/or 'parquet'")
    if "parquet" in chosen and default_table_formats() == ["csv"]:
        raise ImportError("Parquet output needs pyarrow: pip install 'prefect-dhis2[parquet]'")
    return ["csv", *(f for f in chosen if f != "csv")]


def host_concurrency_limit_name(base_url: str) -> str:
    """The Prefect global concurrency limit shared by every run hitting one DHIS2 host.

    Example:
        >>> host_concurrency_limit_name("https://play.im.dhis2.org/dev")
        'dhis2-play-im-dhis2-org'
    """
    host = urlsplit(base_url).netloc
    return "dhis2-" + slug(host)


def slug(text: str) -> str:
    """Lower-case letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured markdown table (cells escaped for `|`).

    Example:
        >>> print(markdown_table(["a", "b"], [[1, "x|y"]]))
        | a | b |
        |---|---|
        | 1 | x\\|y |
    """

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class Stopwatch:
    """Measure a flow body's wall time."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since creation, rounded to milliseconds."""
        return round(time.perf_counter() - self.started, 3)
