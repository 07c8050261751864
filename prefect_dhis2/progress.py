"""Prefect progress artifacts that follow a long extraction or import.

The engines report progress through a plain callback with a small frozen dataclass
(`prefect_dhis2.analytics.extract.ExtractionProgress`,
`prefect_dhis2.data_values.progress.ChunkProgress`); a task passes a `ProgressArtifact`
as that callback, and the Prefect UI shows a bar that moves, with a line such as
`Data value import: commit, 7 of 24 chunks, 35,000 values`.

The line is made from the dataclass's fields by `describe_progress`: a pair
`<unit>_done` / `<unit>_planned` reads `7 of 24 <unit>`, any other number `35,000
<field>`, a non-empty text field is said first. The dataclass gives its `percent`.

Examples:
    ```python
    async with ProgressArtifact("dhis2-import-progress", "Data value import") as progress:
        result = await aimport_data_values(client, rows, on_progress=progress)
    ```
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, Self
from uuid import UUID

from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact

__all__ = ["Progress", "ProgressArtifact", "describe_progress"]

_LOGGER = logging.getLogger("prefect_dhis2")


class Progress(Protocol):
    """What an engine reports: a frozen dataclass with a `percent` (0 to 100).

    Examples:
        >>> from prefect_dhis2.data_values.progress import ChunkProgress
        >>> isinstance(ChunkProgress("", 1, 4, 10).percent, float)
        True
    """

    @property
    def percent(self) -> float:
        """Work done, in percent."""
        ...


def describe_progress(progress: Any) -> str:
    """A short line from a progress dataclass's fields (see the module docstring).

    Examples:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class P:
        ...     step: str
        ...     chunks_done: int
        ...     chunks_planned: int
        ...     values: int
        >>> describe_progress(P("commit", 7, 24, 35000))
        'commit, 7 of 24 chunks, 35,000 values'
    """
    parts: list[str] = []
    for field in dataclasses.fields(progress):
        name, value = field.name, getattr(progress, field.name)
        if name.endswith("_planned"):
            continue
        if name.endswith("_done"):
            unit = name[: -len("_done")]
            planned = getattr(progress, f"{unit}_planned", None)
            parts.append(f"{value:,} of {planned:,} {unit}" if planned is not None else "")
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            parts.append(f"{value:,} {name.replace('_', ' ')}")
        elif isinstance(value, str) and value:
            parts.append(value)
    return ", ".join(part for part in parts if part)


class ProgressArtifact:
    """A Prefect progress artifact that follows an engine's progress callback.

    Updates are sent at most every `interval_s` seconds (and at 100 %), in the
    background, so a run of thousands of chunks or shards does not wait on the
    Prefect API; `aclose` publishes the last one. An update that the Prefect API
    refuses is logged once and never fails the work. Must be called from inside
    the run's event loop (the engines call it there).

    Args:
        key: The artifact key.
        what: What is progressing, said first in the description.
        interval_s: Least time between two updates.
        describe: Makes the description's text from a progress (default
            `describe_progress`).

    Examples:
        ```python
        async with ProgressArtifact("dhis2-analytics-progress", "ANC by facility") as progress:
            await afetch_analytics_table(client, query, on_progress=progress)
        ```
    """

    def __init__(
        self,
        key: str,
        what: str,
        interval_s: float = 1.0,
        describe: Callable[[Any], str] = describe_progress,
    ) -> None:
        self.key = key
        self.what = what
        self.interval_s = interval_s
        self._describe = describe
        self._id: UUID | None = None
        self._last = 0.0
        self._latest: Progress | None = None
        self._published: Progress | None = None
        self._task: asyncio.Task[None] | None = None
        self._failed = False

    def __call__(self, progress: Progress) -> None:
        """Record `progress`; publish it when the interval has passed or it is complete.

        A progress behind the one already recorded is ignored: snapshots taken as
        work finished can arrive out of order (an engine that hands out its results
        in plan order), and the bar must only move forward.
        """
        if self._latest is not None and progress.percent < self._latest.percent:
            return
        self._latest = progress
        now = time.monotonic()
        complete = progress.percent >= 100.0
        busy = self._task is not None and not self._task.done()
        if busy or (now - self._last < self.interval_s and not complete):
            return
        self._last = now
        self._task = asyncio.ensure_future(self._publish(progress))

    def _description(self, progress: Progress) -> str:
        return f"{self.what}: {self._describe(progress)}"

    async def _publish(self, progress: Progress) -> None:
        self._published = progress
        description = self._description(progress)
        percent = min(100.0, max(0.0, progress.percent))
        try:
            if self._id is None:
                self._id = await acreate_progress_artifact(
                    percent, key=self.key, description=description
                )
            else:
                await aupdate_progress_artifact(self._id, percent, description=description)
        except Exception as error:  # noqa: BLE001 - the bar is for people; the work goes on
            if not self._failed:
                _LOGGER.warning("Could not update the progress artifact %s: %s", self.key, error)
            self._failed = True

    async def aclose(self) -> None:
        """Wait for the update in flight and publish the last progress."""
        if self._task is not None:
            await self._task
        latest = self._latest
        if latest is not None and latest != self._published:
            await self._publish(latest)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()  # the last progress is published whether the work ended or failed
