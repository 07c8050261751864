"""The emulator's mutable state: configuration, metadata, data values, jobs, log and faults.

The state knows no HTTP: every area's models take it (or a part of it) as plain Python.
Responses reach it with `core.requests.emulator_state(request)`.

Example:
    >>> state = EmulatorState(EmulatorConfig(version="2.43"))
    >>> state.config.version, state.dataset.root_id
    ('2.43', 'ImspTQPwCqd')
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

from prefect_dhis2.testing.core.auth import UserStore
from prefect_dhis2.testing.core.dataset import Dhis2Dataset, generate_dataset
from prefect_dhis2.testing.core.faults import (
    CostModel,
    FaultInjector,
    FaultRule,
    RequestLog,
    ServerStats,
)
from prefect_dhis2.testing.data_values.store import DataValueStore
from prefect_dhis2.testing.maintenance.models import AnalyticsTables, JobRegistry

__all__ = ["SUPPORTED_VERSIONS", "EmulatorConfig", "EmulatorState"]

SUPPORTED_VERSIONS: dict[str, str] = {"2.37": "2.37.9", "2.40": "2.40.3", "2.43": "2.43.0"}


@dataclass
class EmulatorConfig:
    """Settings of one emulated DHIS2 instance.

    Attributes:
        version: Emulated DHIS2 version: "2.37", "2.40" (default) or "2.43"; it changes system
            info, import envelopes, the login redirect and the PAT format.
        org_units: Size of the org unit tree (None = the 1,332-unit demo shape).
        seed: Seed of the generated metadata and data values.
        relative_period_date: Date that relative periods (`LAST_12_MONTHS`) are anchored at,
            and the last date covered by generated data values; None = today.
        max_analytics_rows: Analytics max rows (`keyAnalyticsMaxLimit`, E7128 above it).
        cost: Simulated server cost.
        faults: Initial fault-injection rules.
        system_name: `systemName` of system info.
        context_path: Override of `contextPath` (default: the request's base URL).
    """

    version: str = "2.40"
    org_units: int | None = None
    seed: int = 1
    relative_period_date: date | None = None
    max_analytics_rows: int = 100_000
    cost: CostModel = field(default_factory=CostModel)
    faults: tuple[FaultRule, ...] = ()
    system_name: str = "DHIS 2 Demo - Sierra Leone"
    context_path: str | None = None

    def __post_init__(self) -> None:
        if self.version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"Unsupported DHIS2 version {self.version!r}; use one of {sorted(SUPPORTED_VERSIONS)}"
            )

    @property
    def full_version(self) -> str:
        """The `version` string of system info, e.g. `2.40.3`."""
        return SUPPORTED_VERSIONS[self.version]

    @property
    def minor(self) -> int:
        """The minor version number (37, 40, 43)."""
        return int(self.version.split(".")[1])

    @property
    def today(self) -> date:
        """The emulator's notion of "today" (the relative period date, or the real date)."""
        return self.relative_period_date or date.today()


class EmulatorState:
    """Everything an emulated instance holds.

    Attributes:
        config: The instance settings.
        dataset: Metadata (org units, data elements, indicators...).
        data_values: Data values (generated plus written ones).
        jobs: Async job registry (`/api/system/tasks`).
        analytics_tables: Whether analytics tables exist and when they were last generated.
        users: Users, passwords and personal access tokens.
        request_log: Requests seen, without credentials.
        faults: Fault injector (rules can change at runtime).
        cost: Current cost model (replace it with `set_cost`).
        stats: Counters of simulated server work.
        lock: Re-entrant lock to hold while writing.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.lock = threading.RLock()
        self.request_log = RequestLog()
        self.faults = FaultInjector(self.config.faults)
        self.cost: CostModel = self.config.cost
        self.stats = ServerStats()
        self.users = UserStore(self.config.version, self.config.seed)
        self.analytics_tables = AnalyticsTables()
        self._load()

    def _load(self) -> None:
        self.dataset: Dhis2Dataset = generate_dataset(self.config.org_units, self.config.seed)
        for user in self.dataset.objects["users"].values():
            if user.get("username") in self.users.users:
                self.users.set_uid(user["username"], user["id"])
        self.data_values = DataValueStore(
            self.dataset, self.config.seed, until=self.config.relative_period_date
        )
        self.jobs = JobRegistry()

    def reset(self) -> None:
        """Restore generated metadata and data values, drop jobs, clear the log and stats."""
        with self.lock:
            self._load()
            self.request_log.clear()
            self.stats.reset()

    def set_cost(self, cost: CostModel) -> None:
        """Replace the cost model (takes effect for new requests)."""
        self.cost = cost

    @property
    def tokens(self) -> dict[str, str]:
        """username → the emulator-issued personal access token."""
        return dict(self.users.tokens)
