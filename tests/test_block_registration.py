"""`prefect block register -m prefect_dhis2` against a real Prefect server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

import prefect_dhis2


async def _delete_block_type() -> None:
    async with get_client() as client:
        try:
            block_type = await client.read_block_type_by_slug("dhis2-credentials")
        except ObjectNotFound:
            return
        for document in await client.read_block_documents_by_type("dhis2-credentials"):
            await client.delete_block_document(document.id)
        await client.delete_block_type(block_type.id)


async def _read_registration() -> tuple[str, list[str], str]:
    async with get_client() as client:
        block_type = await client.read_block_type_by_slug("dhis2-credentials")
        schemas = [s for s in await client.read_block_schemas() if s.block_type_id == block_type.id]
        assert schemas, "no schema registered for DHIS2 Credentials"
        return block_type.name, schemas[0].fields["secret_fields"], str(schemas[0].version)


def test_cli_registers_the_block_type_and_the_server_lists_it(prefect_server: str):
    # Start from a server that does not know the type (test servers auto-register
    # installed collections), so the CLI is what registers it.
    asyncio.run(_delete_block_type())

    async def gone() -> None:
        async with get_client() as client:
            await client.read_block_type_by_slug("dhis2-credentials")

    with pytest.raises(ObjectNotFound):
        asyncio.run(gone())

    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "block", "register", "-m", "prefect_dhis2"],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully registered 1 block" in result.stdout
    assert "DHIS2 Credentials" in result.stdout

    name, secret_fields, version = asyncio.run(_read_registration())
    assert name == "DHIS2 Credentials"
    assert set(secret_fields) == {"password", "token"}
    assert version == prefect_dhis2.__version__


def test_entry_point_declares_the_collection():
    from importlib.metadata import entry_points

    names = {ep.value for ep in entry_points(group="prefect.collections")}
    assert "prefect_dhis2" in names
