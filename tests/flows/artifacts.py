"""Read what a flow or task published to the Prefect test server."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect.client.orchestration import get_client


def latest_artifact(key: str) -> Any:
    """The latest artifact with this key."""

    async def read() -> Any:
        async with get_client() as client:
            artifacts = await client.read_latest_artifacts()
            return next(a for a in artifacts if a.key == key)

    return asyncio.run(read())
