"""Cost model, deterministic fault injection and the request log of the DHIS2 emulator.

- `CostModel` makes the emulator behave like a loaded server: a fixed latency per request, a
  cost per row of the response, and a bounded number of requests worked on at once (the rest
  queue, like a servlet thread pool). Simulated work uses `asyncio.sleep`, so the server thread
  is never blocked, and `ServerStats.total_server_work_s` adds it up so a benchmark can compute
  the server-capacity bound `total_server_work_s / max_concurrent`.
- `FaultRule` describes faults injected in front of the API, the way a proxy or an overloaded
  server would produce them: 429 (with `Retry-After`), 502, 503, 504, a connection reset, a
  response slower than the client's timeout, or a truncated body. Rules fire by count (the
  first N matching requests) or by rate (a seeded PRNG, so runs are reproducible).
- `RequestLog` keeps what tests may assert on (method, path, params, body hash, status, user),
  never credentials or headers.

Example:
    >>> rule = FaultRule(path="/api/analytics", kind="429", count=2, retry_after=1)
    >>> injector = FaultInjector([rule])
    >>> [injector.pick("GET", "/api/analytics") is not None for _ in range(3)]
    [True, True, False]
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "FAULT_KINDS",
    "CostModel",
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "RequestLog",
    "RequestRecord",
    "ServerStats",
]

FaultKind = Literal["429", "502", "503", "504", "reset", "slow", "truncate"]
FAULT_KINDS: frozenset[str] = frozenset({"429", "502", "503", "504", "reset", "slow", "truncate"})
_VERSION_SEGMENT = re.compile(r"^/api/\d{2}(?=/|$)")


@dataclass(frozen=True)
class CostModel:
    """Simulated server cost.

    Attributes:
        latency_s: Fixed work per request, in seconds.
        per_row_s: Extra work per row of the response (list items, analytics rows, data
            values), in seconds.
        max_concurrent: Requests worked on at once; others wait in a queue. None = unbounded.

    Example:
        >>> CostModel(latency_s=0.05, max_concurrent=4).work_s(rows=100)
        0.05
    """

    latency_s: float = 0.0
    per_row_s: float = 0.0
    max_concurrent: int | None = None

    def __post_init__(self) -> None:
        if self.latency_s < 0 or self.per_row_s < 0:
            raise ValueError("latency_s and per_row_s must be >= 0")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1 or None")

    @property
    def is_free(self) -> bool:
        """True when the model adds no latency, no per-row cost and no concurrency bound."""
        return not self.latency_s and not self.per_row_s and self.max_concurrent is None

    def work_s(self, rows: int = 0) -> float:
        """Simulated work of one request returning `rows` rows, in seconds."""
        return self.latency_s + self.per_row_s * rows


@dataclass(frozen=True)
class FaultRule:
    """One deterministic fault-injection rule.

    Attributes:
        path: Path prefix the rule applies to, e.g. `/api/analytics`. A version segment in the
            request (`/api/40/analytics`) is ignored when matching.
        kind: `"429"`, `"502"`, `"503"`, `"504"`, `"reset"` (close the connection without a
            response), `"slow"` (answer after `delay_s`, beyond the client's timeout) or
            `"truncate"` (a valid status and headers, then half of the body).
        rate: Probability of firing per matching request (seeded PRNG). Ignored if `count`.
        count: Fire on the first `count` matching requests only.
        retry_after: `Retry-After` seconds sent with 429 (and 503).
        method: Only requests with this HTTP method (e.g. `"POST"`); None = any.
        delay_s: Delay of a `"slow"` response.
        seed: Seed of the rate PRNG.

    Example:
        >>> FaultRule(path="/api/dataValueSets", kind="503", rate=0.2, seed=3).kind
        '503'
    """

    path: str = "/api"
    kind: FaultKind = "503"
    rate: float | None = None
    count: int | None = None
    retry_after: int | None = 1
    method: str | None = None
    delay_s: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault kind {self.kind!r}; use one of {sorted(FAULT_KINDS)}")
        if self.rate is None and self.count is None:
            raise ValueError("A FaultRule needs a rate or a count")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")

    def matches(self, method: str, path: str) -> bool:
        """Tell whether the rule applies to a request (before counting or rolling the dice)."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        normalised = _VERSION_SEGMENT.sub("/api", path)
        return normalised.startswith(self.path) or path.startswith(self.path)


class FaultInjector:
    """Chooses which requests get a fault, deterministically; rules can change at runtime.

    Example:
        >>> inj = FaultInjector([FaultRule(kind="502", rate=0.5, seed=1)])
        >>> first = [inj.pick("GET", "/api/me") is not None for _ in range(20)]
        >>> inj.set_rules([FaultRule(kind="502", rate=0.5, seed=1)])
        >>> first == [inj.pick("GET", "/api/me") is not None for _ in range(20)]
        True
    """

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._fired: list[int] = []
        self._rngs: list[random.Random] = []
        self.set_rules(rules)

    @property
    def rules(self) -> list[FaultRule]:
        """The active rules."""
        return list(self._rules)

    def set_rules(self, rules: Iterable[FaultRule]) -> None:
        """Replace the rules and restart their counters and PRNGs."""
        with self._lock:
            self._rules = list(rules)
            self._fired = [0] * len(self._rules)
            self._rngs = [random.Random(f"{r.seed}:{i}") for i, r in enumerate(self._rules)]

    def clear(self) -> None:
        """Remove every rule."""
        self.set_rules(())

    def pick(self, method: str, path: str) -> FaultRule | None:
        """Return the rule that fires for this request, or None (first matching rule wins)."""
        with self._lock:
            for i, rule in enumerate(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.count is not None:
                    if self._fired[i] < rule.count:
                        self._fired[i] += 1
                        return rule
                    continue
                if rule.rate is not None and self._rngs[i].random() < rule.rate:
                    self._fired[i] += 1
                    return rule
        return None


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it (no credentials, no headers).

    Attributes:
        method: HTTP method.
        path: URL path (without the query string).
        params: Query parameters as (name, value) pairs, in request order.
        body_sha256: SHA-256 hex digest of the request body, or None if there was none.
        status: HTTP status sent, or None when the connection was dropped.
        user: Authenticated username, or None.
        fault: The injected fault kind, or None.
        started: `time.time()` at arrival.
        duration_s: Time until the response was complete.
        rows: Rows in the response (for the cost model).
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    body_sha256: str | None
    status: int | None
    user: str | None = None
    fault: str | None = None
    started: float = 0.0
    duration_s: float = 0.0
    rows: int = 0

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        for key, value in self.params:
            if key == name:
                return value
        return None


class RequestLog(Sequence[RequestRecord]):
    """Thread-safe, append-only list of `RequestRecord`s (bounded to the newest `maxlen`).

    Example:
        >>> log = RequestLog()
        >>> log.append(RequestRecord("GET", "/api/me", (), None, 200, "admin"))
        >>> [r.path for r in log]
        ['/api/me']
    """

    def __init__(self, maxlen: int = 100_000) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self.maxlen = maxlen

    def append(self, record: RequestRecord) -> None:
        """Add a record, dropping the oldest ones beyond `maxlen`."""
        with self._lock:
            self._records.append(record)
            if len(self._records) > self.maxlen:
                del self._records[: len(self._records) - self.maxlen]

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def matching(self, path_prefix: str = "", method: str | None = None) -> list[RequestRecord]:
        """Records whose path starts with `path_prefix` (and whose method matches)."""
        with self._lock:
            return [
                r
                for r in self._records
                if r.path.startswith(path_prefix) and (method is None or r.method == method)
            ]

    def __getitem__(self, index: int) -> RequestRecord:  # type: ignore[override]
        with self._lock:
            return self._records[index]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._records))


@dataclass
class ServerStats:
    """Counters of the simulated server work.

    Attributes:
        requests: Requests that reached the (simulated) server.
        total_server_work_s: Sum of the simulated work (latency + per-row cost).
        max_in_flight: Highest number of requests worked on at the same time (by the
            cost model's workers).
        total_queue_wait_s: Sum of the time requests waited for a free worker.
        open_requests: HTTP requests open right now, from arrival until their last
            byte is sent (faults and refusals included): what a client's budget bounds.
        max_open_requests: The most HTTP requests open at once.
    """

    requests: int = 0
    total_server_work_s: float = 0.0
    max_in_flight: int = 0
    total_queue_wait_s: float = 0.0
    in_flight: int = 0
    open_requests: int = 0
    max_open_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def capacity_bound_s(self, max_concurrent: int | None) -> float:
        """Lower bound of the wall time the server needed: total work / workers."""
        if not max_concurrent:
            return 0.0
        return self.total_server_work_s / max_concurrent

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.requests = 0
            self.total_server_work_s = 0.0
            self.max_in_flight = 0
            self.total_queue_wait_s = 0.0
            self.max_open_requests = self.open_requests

    def enter(self, waited_s: float) -> None:
        """Count a request that starts being worked on."""
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.total_queue_wait_s += waited_s
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def arrive(self) -> None:
        """Count an HTTP request that has arrived."""
        with self._lock:
            self.open_requests += 1
            self.max_open_requests = max(self.max_open_requests, self.open_requests)

    def depart(self) -> None:
        """Count an HTTP request whose answer is complete (or dropped)."""
        with self._lock:
            self.open_requests -= 1

    def leave(self, work_s: float) -> None:
        """Count a finished request and its simulated work."""
        with self._lock:
            self.in_flight -= 1
            if math.isfinite(work_s):
                self.total_server_work_s += work_s


def now() -> float:
    """Monotonic clock used for durations."""
    return time.perf_counter()
