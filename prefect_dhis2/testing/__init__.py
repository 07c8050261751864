"""A local DHIS2 emulator for tests, demos and benchmarks (the "moto" of DHIS2).

This module is the emulator's one public face: the names in `__all__` are its API. Every
other module under `prefect_dhis2.testing` (the areas `system/`, `metadata/`, `analytics/`,
`data_values/`, `maintenance/`, the shared `core/` and the routing table `urls`) is internal
and may change in any release; `prefect_dhis2.testing.pytest_plugin` (the `dhis2_emulator`
fixtures) and `python -m prefect_dhis2.testing` are entry points, not importable API.

- `Dhis2Emulator` serves a DHIS2 Web API over real HTTP on 127.0.0.1 (a thread);
  `EmulatorProcess` runs one in a child process (for benchmarks that must not share the GIL).
- `EmulatorConfig` sets the version, tree size, seed and limits; `EmulatorState` is what an
  instance holds; `Dhis2Dataset`/`generate_dataset` are its generated metadata.
- `CostModel` makes it behave like a loaded server; `FaultRule` injects faults;
  `RequestRecord` is one entry of its request log.

Example:
    >>> from prefect_dhis2.testing import Dhis2Emulator
    >>> with Dhis2Emulator() as dhis2:
    ...     creds = dhis2.credentials()
"""

from prefect_dhis2.testing.core.dataset import Dhis2Dataset, generate_dataset
from prefect_dhis2.testing.core.faults import CostModel, FaultRule, RequestRecord
from prefect_dhis2.testing.core.process import EmulatorProcess
from prefect_dhis2.testing.core.server import Dhis2Emulator
from prefect_dhis2.testing.core.state import EmulatorConfig, EmulatorState

__all__ = [
    "CostModel",
    "Dhis2Dataset",
    "Dhis2Emulator",
    "EmulatorConfig",
    "EmulatorProcess",
    "EmulatorState",
    "FaultRule",
    "RequestRecord",
    "generate_dataset",
]
