"""Shared fixtures: one Prefect test server for the whole session, and a sandbox.

Everything the suite writes goes below one session folder that is removed at the end:
`PREFECT_HOME` (so Prefect's result storage and memo files never reach `~/.prefect`),
the temporary directory (flows called without `output_dir`, pytest's `tmp_path`) and
the Prefect test server's database.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SANDBOX = Path(tempfile.mkdtemp(prefix="prefect-dhis2-tests-"))
(_SANDBOX / "tmp").mkdir()
os.environ["PREFECT_HOME"] = str(_SANDBOX / "prefect-home")
os.environ["TMPDIR"] = str(_SANDBOX / "tmp")
tempfile.tempdir = str(_SANDBOX / "tmp")
# Registered before Prefect's test harness registers its own clean-up, so it runs after it.
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")

# The package's pytest plugin imported Prefect before this file ran: re-read the settings.
from prefect.context import refresh_global_settings_context

refresh_global_settings_context()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect API (SQLite, subprocess) for block and flow tests; yields its URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())
