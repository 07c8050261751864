"""The emulator's mutable state: configuration, metadata, data values, jobs, log and faults.

Route handlers reach it as `request.app.state.emulator`; the authenticated user is
`request.state.user` (an `EmulatorUser`).

Example:
    >>> state = EmulatorState(EmulatorConfig(version="2.43"))
    >>> state.config.version, state.dataset.root_id
    ('2.43', 'ImspTQPwCqd')
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.requests import Request

from prefect_dhis2.testing.auth import EmulatorUser, UserStore
from prefect_dhis2.testing.data_values_store import DataValueStore
from prefect_dhis2.testing.dataset import Dhis2Dataset, generate_dataset
from prefect_dhis2.testing.faults import (
    CostModel,
    FaultInjector,
    FaultRule,
    RequestLog,
    ServerStats,
)

__all__ = [
    "ROWS_SCOPE_KEY",
    "SUPPORTED_VERSIONS",
    "EmulatorConfig",
    "EmulatorState",
    "current_user",
    "emulator_state",
    "record_rows",
]

SUPPORTED_VERSIONS: dict[str, str] = {"2.37": "2.37.9", "2.40": "2.40.3", "2.43": "2.43.0"}
ROWS_SCOPE_KEY = "dhis2.rows"


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


def _make_jobs() -> Any:
    """The async job registry (lives in `jobs.py`); None until that module exists."""
    try:
        from prefect_dhis2.testing.jobs import JobRegistry
    except ImportError:
        return None
    return JobRegistry()


class EmulatorState:
    """Everything an emulated instance holds.

    Attributes:
        config: The instance settings.
        dataset: Metadata (org units, data elements, indicators...).
        data_values: Data values (generated plus written ones).
        jobs: Async job registry (`/api/system/tasks`).
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
        self._load()

    def _load(self) -> None:
        self.dataset: Dhis2Dataset = generate_dataset(self.config.org_units, self.config.seed)
        for user in self.dataset.objects["users"].values():
            if user.get("username") in self.users.users:
                self.users.set_uid(user["username"], user["id"])
        self.data_values = DataValueStore(
            self.dataset, self.config.seed, until=self.config.relative_period_date
        )
        self.jobs: Any = _make_jobs()

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


def emulator_state(request: Request) -> EmulatorState:
    """The `EmulatorState` serving a request."""
    state: EmulatorState = request.app.state.emulator
    return state


def current_user(request: Request) -> EmulatorUser:
    """The authenticated user of a request (set by the auth middleware)."""
    user: EmulatorUser = request.state.user
    return user


def record_rows(request: Request, rows: int) -> None:
    """Tell the cost model how many rows a response holds (for `CostModel.per_row_s`).

    Handlers that do not call it get their rows counted from the JSON body when the cost
    model needs them.
    """
    request.scope[ROWS_SCOPE_KEY] = rows
