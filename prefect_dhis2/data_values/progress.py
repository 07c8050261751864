"""How far a chunked data value read or import is (no Prefect).

The engines call an `on_progress` callback with a `ChunkProgress` after each chunk and
log a short line each time another `PROGRESS_LOG_STEP` percent of the chunks is done;
the Prefect tasks pass a `prefect_dhis2.progress.ProgressArtifact` as the callback.

Examples:
    >>> import logging
    >>> seen = []
    >>> tracker = ChunkTracker(4, label="Data value read", logger=logging.getLogger("x"),
    ...                        on_progress=seen.append)
    >>> tracker.advance(values=10)
    >>> seen[-1]
    ChunkProgress(step='', chunks_done=1, chunks_planned=4, values=10)
    >>> seen[-1].percent
    25.0
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PROGRESS_LOG_STEP", "ChunkProgress", "ChunkTracker", "ProgressCallback"]

PROGRESS_LOG_STEP = 5.0
"""A progress line is logged each time this many percent of the chunks are done."""

_Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]


@dataclass(frozen=True)
class ChunkProgress:
    """Chunks done of planned, and values so far.

    Attributes:
        step: What is running (`dry run`, `commit`; empty for a read).
        chunks_done: Chunks finished (sent and answered, or given up).
        chunks_planned: Chunks in the plan (of every step of an import).
        values: Values sent in this step (import) or received (read) so far.

    Examples:
        >>> ChunkProgress("commit", 3, 12, 15000).percent
        25.0
    """

    step: str
    chunks_done: int
    chunks_planned: int
    values: int

    @property
    def percent(self) -> float:
        """Chunks done, in percent (100 for an empty plan)."""
        if not self.chunks_planned:
            return 100.0
        return 100.0 * self.chunks_done / self.chunks_planned


ProgressCallback = Callable[[ChunkProgress], object]


class ChunkTracker:
    """Counts finished chunks, calls the callback and logs a line per few percent.

    Args:
        planned: Chunks in the plan.
        label: Said first in the log line (e.g. `Data value import`).
        logger: Where the lines go.
        on_progress: Called after each chunk (None = only the log lines).
        step: The step said in the progress (changed with `start`).

    Examples:
        >>> import logging
        >>> tracker = ChunkTracker(2, label="Data value import", logger=logging.getLogger("x"))
        >>> tracker.start("dry run")
        >>> tracker.advance(values=5000)
        >>> tracker.progress
        ChunkProgress(step='dry run', chunks_done=1, chunks_planned=2, values=5000)
    """

    def __init__(
        self,
        planned: int,
        *,
        label: str,
        logger: _Logger,
        on_progress: ProgressCallback | None = None,
        step: str = "",
    ) -> None:
        self.planned = planned
        self.label = label
        self.logger = logger
        self.on_progress = on_progress
        self.step = step
        self.done = 0
        self.values = 0
        self._logged_step = 0

    @property
    def progress(self) -> ChunkProgress:
        """The progress so far."""
        return ChunkProgress(self.step, self.done, self.planned, self.values)

    def start(self, step: str) -> None:
        """Begin a step (e.g. the commit after the dry run): its values count from 0."""
        self.step = step
        self.values = 0

    def advance(self, values: int) -> None:
        """One more chunk done, with its `values`."""
        self.done += 1
        self.values += values
        progress = self.progress
        if self.on_progress is not None:
            self.on_progress(progress)
        if self.planned < 2:
            return
        reached = int(progress.percent // PROGRESS_LOG_STEP)
        if reached > self._logged_step:
            self._logged_step = reached
            step = f" ({self.step})" if self.step else ""
            self.logger.info(
                "%s%s: %d of %d chunks (%.0f%%), %s values",
                self.label,
                step,
                self.done,
                self.planned,
                progress.percent,
                f"{self.values:,}",
            )
