"""A local DHIS2 emulator for tests, demos and benchmarks (the "moto" of DHIS2).

Example:
    >>> from prefect_dhis2.testing import Dhis2Emulator
    >>> with Dhis2Emulator() as dhis2:
    ...     creds = dhis2.credentials()
"""

from prefect_dhis2.testing.core.dataset import Dhis2Dataset, generate_dataset
from prefect_dhis2.testing.core.faults import CostModel, FaultRule, RequestRecord
from prefect_dhis2.testing.core.server import Dhis2Emulator
from prefect_dhis2.testing.core.state import EmulatorConfig, EmulatorState

__all__ = [
    "CostModel",
    "Dhis2Dataset",
    "Dhis2Emulator",
    "EmulatorConfig",
    "EmulatorState",
    "FaultRule",
    "RequestRecord",
    "generate_dataset",
]
