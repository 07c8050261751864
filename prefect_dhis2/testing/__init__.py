"""A local DHIS2 emulator for tests, demos and benchmarks (the "moto" of DHIS2).

Example:
    >>> from prefect_dhis2.testing import Dhis2Emulator
    >>> with Dhis2Emulator() as dhis2:
    ...     creds = dhis2.credentials()
"""

from prefect_dhis2.testing.dataset import Dhis2Dataset, generate_dataset
from prefect_dhis2.testing.faults import CostModel, FaultRule, RequestRecord
from prefect_dhis2.testing.server import Dhis2Emulator
from prefect_dhis2.testing.state import EmulatorConfig, EmulatorState

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
