"""The session sandbox for the tests and the package's doctests.

Everything the suite writes goes below one session folder that is removed at the end:
`PREFECT_HOME` (so Prefect's result storage and memo files never reach `~/.prefect`),
the temporary directory (flows called without `output_dir`, pytest's `tmp_path`) and
the Prefect test server's database.

Doctests get `dhis2`, a running DHIS2 emulator, in their namespace when their module
mentions it, so an example can show a real call without a real server.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
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


@pytest.fixture(autouse=True)
def _doctest_emulator(request: pytest.FixtureRequest) -> None:
    """Put the session emulator into the namespace of doctests that use `dhis2`."""
    from _pytest.doctest import DoctestItem

    if isinstance(request.node, DoctestItem) and any(
        re.search(r"\bdhis2\.", example.source) for example in request.node.dtest.examples
    ):
        namespace = request.getfixturevalue("doctest_namespace")
        namespace["dhis2"] = request.getfixturevalue("dhis2_emulator")
