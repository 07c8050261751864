"""Read what a run published to the Prefect test server: artifacts by key, log lines."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogWorker


def artifacts(key: str, flow_run_id: UUID) -> list[Any]:
    """Every artifact with this key that the flow run published, oldest first."""

    async def read() -> list[Any]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[key]),
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                )
            )
            return sorted(found, key=lambda a: a.created)

    return asyncio.run(read())


def log_messages(flow_run_id: UUID, contains: str, *, at_least: int = 1, timeout_s: float = 60):
    """The run's log messages that contain `contains`, once at least `at_least` arrived.

    Log lines reach the API in batches, so this waits for them (with a deadline).
    """
    APILogWorker.drain_all(timeout=5)

    async def read() -> list[str]:
        async with get_client() as client:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
            return [log.message for log in logs if contains in log.message]

    deadline = time.monotonic() + timeout_s
    while True:
        messages = asyncio.run(read())
        if len(messages) >= at_least or time.monotonic() > deadline:
            return messages
        time.sleep(0.2)
