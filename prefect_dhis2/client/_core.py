"""The I/O-free core shared by `Dhis2Client` and `AsyncDhis2Client`.

Everything that decides *what* to send and *what an answer means* lives here:
request building, retry decisions, paging, response parsing and error mapping.
The two clients only move bytes. Each request is an `Operation`; `exchange()` is
a generator that yields `Send`/`Sleep` steps and receives responses, so the sync
and async drivers are a dozen lines each and cannot drift apart.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from prefect_dhis2._version import __version__
from prefect_dhis2.client.budget import SharedSlots
from prefect_dhis2.client.decoding import decode_grid, decode_json
from prefect_dhis2.client.errors import (
    Dhis2AuthenticationError,
    Dhis2BadRequestError,
    Dhis2ConflictError,
    Dhis2ConnectionError,
    Dhis2Error,
    Dhis2JobError,
    Dhis2NotFoundError,
    Dhis2PermissionError,
    Dhis2RateLimitError,
    Dhis2RequestError,
    Dhis2ResponseFormatError,
    Dhis2ResponseTooLargeError,
    Dhis2ServerError,
    Dhis2TimeoutError,
)
from prefect_dhis2.client.tls import tls_context
from prefect_dhis2.models import (
    AnalyticsGrid,
    ImportReport,
    ImportSummary,
    Me,
    MetadataPage,
    Pager,
    ServerInfo,
    WebMessage,
)

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_PAGE_SIZE",
    "MAINTENANCE_TASKS",
    "SMALL_RESPONSE_BYTES",
    "BodyReader",
    "ClientSettings",
    "Operation",
    "Received",
    "RetryPolicy",
    "Send",
    "Sleep",
]

logger = logging.getLogger("prefect_dhis2.client")

M = TypeVar("M", bound=BaseModel)

DEFAULT_PAGE_SIZE = 1000
"""Records per metadata page: large enough that per-request overhead is small,
small enough that one page of org units with geometry stays a few MB."""

DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024 * 1024
"""The largest decoded body of a data request (1 GiB): a national analytics shard
is tens of MB, so this only stops a runaway or hostile answer."""

SMALL_RESPONSE_BYTES = 4 * 1024 * 1024
"""The largest body of a small system answer (`system/info`, `me`, job polls)."""

USER_AGENT = f"prefect-dhis2/{__version__} httpx/{httpx.__version__}"

FILTER_OPERATORS = frozenset(
    {
        "eq", "!eq", "ne", "neq", "ieq", "gt", "ge", "gte", "lt", "le", "lte",
        "like", "!like", "ilike", "!ilike", "$like", "!$like", "like$", "!like$",
        "$ilike", "!$ilike", "ilike$", "!ilike$", "startsWith", "endsWith",
        "in", "!in", "null", "!null", "empty", "!empty", "token", "!token",
    }
)  # fmt: skip
_UNARY_OPERATORS = frozenset({"null", "!null", "empty", "!empty"})

MAINTENANCE_TASKS = frozenset(
    {
        "analyticsTableClear", "analyticsTableAnalyze", "zeroDataValueRemoval",
        "softDeletedDataValueRemoval", "softDeletedEventRemoval",
        "softDeletedEnrollmentRemoval", "softDeletedTrackedEntityRemoval", "periodPruning",
        "expiredInvitationsClear", "sqlViewsDrop", "sqlViewsCreate",
        "categoryOptionComboUpdate", "cacheClear", "ouPathsUpdate", "appReload",
        "resourceTableUpdate",
    }
)  # fmt: skip
"""The tasks `POST /api/maintenance?<task>=true` accepts."""

IMPORT_STRATEGIES = frozenset({"CREATE_AND_UPDATE", "CREATE", "UPDATE", "DELETE"})
_ENDPOINT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:/[A-Za-z0-9_.\-]+)*$")
_RETRY_STATUSES = frozenset({429, 502, 503, 504})


# ---------------------------------------------------------------------------
# Settings and retry policy
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a failed request.

    Retries happen on 429, 502, 503 and 504 and on connection errors, timeouts
    and truncated bodies, and only for requests that are safe to repeat. The
    wait is exponential with jitter (`backoff_base * 2**attempt`, at most
    `backoff_max`, randomised between half and all of it), or the server's
    `Retry-After` (seconds or an HTTP date) capped at `retry_after_max`.

    A request is retried until `max_retries` retries were made or the next
    wait would end more than `budget_s` seconds after the first attempt began,
    whichever comes first: a server that answers 503 for a minute while it
    regenerates its analytics tables is waited for, a dead one is not.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        backoff_base: The first wait, in seconds.
        backoff_max: The longest computed wait, in seconds.
        retry_after_max: The longest wait a `Retry-After` header can ask for.
        budget_s: The longest time, in seconds, one request may spend
            retrying, counted from its first attempt.

    Examples:
        >>> policy = RetryPolicy(max_retries=3, backoff_base=1.0)
        >>> policy.retry_after_seconds("7")
        7.0
        >>> 2.0 <= policy.backoff(2) <= 4.0
        True
        >>> policy.allows(attempt=1, elapsed_s=10.0, delay_s=5.0)
        True
        >>> policy.allows(attempt=3, elapsed_s=10.0, delay_s=5.0)
        False
    """

    max_retries: int = 12
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    budget_s: float = 300.0
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def allows(self, *, attempt: int, elapsed_s: float, delay_s: float) -> bool:
        """Whether retry number `attempt + 1`, after waiting `delay_s`, is still allowed."""
        return attempt < self.max_retries and elapsed_s + delay_s <= self.budget_s

    def backoff(self, attempt: int) -> float:
        """The jittered exponential wait before retry number `attempt + 1`."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return float(ceiling / 2 + self.random() * ceiling / 2)

    def retry_after_seconds(self, value: str | None, now: datetime | None = None) -> float | None:
        """Read a `Retry-After` header (delta-seconds or HTTP-date), capped.

        Args:
            value: The header value, if any.
            now: The current time (for HTTP dates); defaults to the clock.

        Returns:
            Seconds to wait, or None when the header is absent or unreadable.
        """
        if not value:
            return None
        value = value.strip()
        seconds: float
        if value.isdigit():
            seconds = float(value)
        else:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        return max(0.0, min(seconds, self.retry_after_max))


@dataclass(frozen=True)
class ClientSettings:
    """Everything a DHIS2 client needs to connect; built by `Dhis2Credentials`.

    Attributes:
        base_url: The instance root, without `/api` (e.g. `https://dhis2.example.org`).
        auth: The httpx auth object (basic or `ApiToken`), or None.
        principal: Who is connecting, for error messages: a username or
            "personal access token" — never a secret.
        connect_timeout: Seconds to establish a connection.
        read_timeout: Seconds to wait for an answer.
        analytics_read_timeout: Seconds to wait for analytics, which DHIS2
            computes on request and can be slow.
        verify: TLS verification: True, False or a CA bundle path.
        retry: The retry policy.
        max_concurrency: Requests sent at once to this host: every request of
            every client of the process holds a slot of the host's budget
            (`prefect_dhis2.client.budget`), and waits while this many are in flight.
        page_size: Records per metadata page.
        max_url_length: Longest URL the client builds when it splits
            `id:in:[...]` filters (servers commonly refuse 8 KB request lines).
        max_response_bytes: The largest decoded body the client reads for data
            requests (metadata pages, analytics, data values, imports); a larger
            one is refused with `Dhis2ResponseTooLargeError` instead of filling
            memory. Small system answers (`/api/system/info`, `/api/me`, job
            notifications) are limited to `SMALL_RESPONSE_BYTES`.
        shared_slots: A budget shared with other processes (the Prefect tasks
            pass the host's global concurrency limit): the process holds at most
            `max_concurrency` leases on it and sends no more requests than it
            holds leases. None = only this process's budget.

    Each attempt must also finish within its timeouts in total: the read
    timeout bounds the whole answer, not only the gap between two bytes, so a
    server that drips a body cannot hold a request for longer.
    """

    base_url: str
    auth: httpx.Auth | None = None
    principal: str = "anonymous"
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    analytics_read_timeout: float = 300.0
    verify: bool | str = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 4
    page_size: int = DEFAULT_PAGE_SIZE
    max_url_length: int = 6000
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    shared_slots: SharedSlots | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        if self.max_response_bytes < SMALL_RESPONSE_BYTES:
            raise ValueError(f"max_response_bytes must be at least {SMALL_RESPONSE_BYTES}")

    @property
    def timeout(self) -> httpx.Timeout:
        """The default httpx timeout."""
        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)

    @property
    def analytics_timeout(self) -> httpx.Timeout:
        """The timeout for analytics requests."""
        return httpx.Timeout(self.analytics_read_timeout, connect=self.connect_timeout)

    def httpx_options(self) -> dict[str, Any]:
        """Keyword arguments shared by `httpx.Client` and `httpx.AsyncClient`."""
        return {
            "base_url": self.base_url,
            "auth": self.auth,
            "timeout": self.timeout,
            "verify": tls_context(self.verify),  # one per process, not one per client
            # Never follow redirects with credentials: DHIS2 answers a missing
            # login with a 302 to its login page, and a redirect to another
            # host must not receive the Authorization header.
            "follow_redirects": False,
            "headers": {"Accept": "application/json", "User-Agent": USER_AGENT},
            "limits": httpx.Limits(
                max_connections=max(self.max_concurrency * 2, 10),
                max_keepalive_connections=max(self.max_concurrency, 5),
            ),
        }


# ---------------------------------------------------------------------------
# Operations and the exchange protocol
# ---------------------------------------------------------------------------

Params = list[tuple[str, str]]


@dataclass
class Operation:
    """One DHIS2 request and how to read its answer.

    Attributes:
        method: HTTP method.
        path: Path below the instance root, starting with `/api`.
        params: Query parameters as ordered pairs (repeatable keys).
        json: A JSON body, if any.
        retry_safe: Whether repeating the request cannot change the outcome.
        timeout: A timeout overriding the client default.
        import_result: For imports: a 409 that carries an import summary or
            report is a result, not an error.
        expect: `json` (parsed body), `grid` (parsed analytics body, rows as
            tuples, see `prefect_dhis2.client.decoding`) or `text`.
        small: A small system answer, read up to `SMALL_RESPONSE_BYTES`.
    """

    method: str
    path: str
    params: Params = field(default_factory=list)
    json: Any = None
    retry_safe: bool = True
    timeout: httpx.Timeout | None = None
    import_result: bool = False
    expect: Literal["json", "grid", "text"] = "json"
    small: bool = False

    @property
    def label(self) -> str:
        """`METHOD /path` for logs and errors (no query string, no secrets)."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Send:
    """A step of `exchange`: send `operation` and reply with the response or error."""

    operation: Operation


@dataclass(frozen=True)
class Sleep:
    """A step of `exchange`: wait `seconds` before the next attempt."""

    seconds: float


@dataclass(frozen=True)
class Received:
    """A whole answer, read within the operation's size limit and deadline."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    reason_phrase: str = ""

    @property
    def text(self) -> str:
        """The body as text (UTF-8 unless the answer names its charset)."""
        match = re.search(r"charset=([\w-]+)", self.headers.get("content-type", ""))
        try:
            return self.content.decode(match.group(1) if match else "utf-8", errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Oversized:
    """An answer whose decoded body passed the operation's size limit (not read further)."""

    status_code: int
    limit: int


class BodyReader:
    """Collects a streamed body within a size limit and a deadline (shared by both clients).

    Made just before the request is sent, so the deadline covers connecting, waiting
    and reading. The drivers feed it the decoded chunks; `add` answers an outcome
    that ends the attempt early (too large, too slow), `finish` the whole answer.
    """

    def __init__(self, core: ClientCore, operation: Operation) -> None:
        self.limit = core.size_limit(operation)
        self.seconds = core.attempt_deadline_s(operation)
        self.deadline = time.monotonic() + self.seconds
        self._chunks: list[bytes] = []
        self._size = 0

    def add(self, response: httpx.Response, chunk: bytes) -> Outcome | None:
        """Take one chunk of `response`; an outcome when the attempt must stop here."""
        self._size += len(chunk)
        if self._size > self.limit:
            return Oversized(response.status_code, self.limit)
        if time.monotonic() > self.deadline:
            return httpx.ReadTimeout(
                f"the answer did not complete within {self.seconds:.0f} s",
                request=response.request,
            )
        self._chunks.append(chunk)
        return None

    def finish(self, response: httpx.Response) -> Received:
        """The whole answer."""
        return Received(
            response.status_code, response.headers, b"".join(self._chunks), response.reason_phrase
        )


Outcome = Received | Oversized | httpx.TransportError
Exchange = Generator[Send | Sleep, Outcome | None, Any]


class _Retry(Exception):
    """Internal: the attempt failed in a way that may be retried."""

    def __init__(self, error: Dhis2Error, response: Received | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return _bool(value)
    return str(value)


def _flatten_params(params: Mapping[str, Any] | None) -> Params:
    pairs: Params = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((key, _param_value(v)) for v in value)
        else:
            pairs.append((key, _param_value(value)))
    return pairs


def validate_endpoint(endpoint: str) -> str:
    """Check a metadata endpoint such as `organisationUnits` before any request.

    Args:
        endpoint: A path below `/api`, e.g. `dataElements` or
            `organisationUnits/ImspTQPwCqd`. A leading `/api/` is tolerated.

    Returns:
        The endpoint without a leading slash or `api/`.

    Raises:
        ValueError: If the endpoint contains a query string, `..` or other
            characters DHIS2 paths never have.
    """
    cleaned = endpoint.strip().lstrip("/")
    cleaned = cleaned.removeprefix("api/")
    if not _ENDPOINT_RE.match(cleaned) or ".." in cleaned:
        raise ValueError(
            f"Invalid DHIS2 endpoint {endpoint!r}: expected a path below /api such as "
            "'organisationUnits' or 'dataElements/fbfJHSPpUQD' (no query string)."
        )
    return cleaned


def validate_filter(expression: str) -> str:
    """Check a metadata filter (`property:operator[:value]`) before any request.

    Examples:
        >>> validate_filter("level:eq:2")
        'level:eq:2'

    Raises:
        ValueError: If the operator is unknown or the value is missing.
    """
    parts = expression.split(":", 2)
    if len(parts) < 2 or not parts[0]:
        raise ValueError(
            f"Invalid filter {expression!r}: expected 'property:operator:value', "
            "e.g. 'level:eq:2' or 'id:in:[a,b]'."
        )
    operator = parts[1]
    if operator not in FILTER_OPERATORS:
        raise ValueError(
            f"Invalid filter {expression!r}: {operator!r} is not a DHIS2 filter operator "
            f"(one of {', '.join(sorted(FILTER_OPERATORS))})."
        )
    if operator not in _UNARY_OPERATORS and (len(parts) < 3 or parts[2] == ""):
        raise ValueError(f"Invalid filter {expression!r}: operator {operator!r} needs a value.")
    return expression


def collection_key(endpoint: str) -> str:
    """The JSON key of the records a metadata list returns, e.g. `organisationUnits`."""
    first = endpoint.split("/", 1)[0]
    return first.split(".", 1)[0]


# ---------------------------------------------------------------------------
# The core
# ---------------------------------------------------------------------------


class ClientCore:
    """Builds operations, decides retries, parses answers and maps errors."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings

    # -- request building ---------------------------------------------------

    def op_server_info(self) -> Operation:
        return Operation("GET", "/api/system/info", small=True)

    def op_get(self, endpoint: str, params: Mapping[str, Any] | None) -> Operation:
        return Operation("GET", f"/api/{endpoint}", _flatten_params(params))

    def op_me(self, fields: str | None) -> Operation:
        return Operation("GET", "/api/me", _flatten_params({"fields": fields}), small=True)

    def metadata_params(
        self,
        *,
        fields: str | None,
        filters: Sequence[str] | None,
        order: str | Sequence[str] | None,
        root_junction: str | None,
        params: Mapping[str, Any] | None,
    ) -> Params:
        """The query of a metadata list, validated (filters, root junction)."""
        pairs: Params = []
        if fields:
            pairs.append(("fields", fields))
        for expression in filters or ():
            pairs.append(("filter", validate_filter(expression)))
        if order:
            orders = [order] if isinstance(order, str) else list(order)
            pairs.extend(("order", o) for o in orders)
        if root_junction is not None:
            junction = root_junction.upper()
            if junction not in ("AND", "OR"):
                raise ValueError(f"root_junction must be 'AND' or 'OR', not {root_junction!r}")
            pairs.append(("rootJunction", junction))
        reserved = {"page", "pageSize", "paging", "fields", "filter", "order", "rootJunction"}
        extra = {k: v for k, v in (params or {}).items() if k not in reserved}
        clash = reserved & set(params or {})
        if clash:
            raise ValueError(
                f"Pass {', '.join(sorted(clash))} through the dedicated arguments, not params."
            )
        pairs.extend(_flatten_params(extra))
        return pairs

    def op_metadata_page(
        self, endpoint: str, query: Params, page: int, page_size: int
    ) -> Operation:
        return Operation(
            "GET",
            f"/api/{endpoint}",
            [*query, ("page", str(page)), ("pageSize", str(page_size))],
        )

    def op_metadata_unpaged(self, endpoint: str, query: Params) -> Operation:
        return Operation("GET", f"/api/{endpoint}", [*query, ("paging", "false")])

    def op_analytics(
        self,
        dimension: Sequence[str],
        filter: Sequence[str] | None,
        params: Mapping[str, Any],
    ) -> Operation:
        if not dimension:
            raise ValueError("fetch_analytics needs at least one dimension, e.g. 'dx:fbfJHSPpUQD'")
        pairs: Params = [("dimension", d) for d in dimension]
        pairs.extend(("filter", f) for f in filter or ())
        pairs.extend(_flatten_params(params))
        return Operation(
            "GET", "/api/analytics", pairs, timeout=self.settings.analytics_timeout, expect="grid"
        )

    def op_post_data_values(
        self,
        payload: Mapping[str, Any],
        *,
        dry_run: bool,
        import_strategy: str,
        async_job: bool,
        params: Mapping[str, Any] | None,
    ) -> Operation:
        if import_strategy not in IMPORT_STRATEGIES:
            raise ValueError(
                f"import_strategy must be one of {sorted(IMPORT_STRATEGIES)}, "
                f"not {import_strategy!r}"
            )
        if not isinstance(payload, Mapping) or not isinstance(payload.get("dataValues"), list):
            raise ValueError("A data value set payload needs a 'dataValues' list")
        body = dict(payload)
        if dry_run:
            # DHIS2 records a data set as complete even on a dry run; leave
            # completeness out of trial imports.
            body.pop("completeDate", None)
        query = {
            "dryRun": dry_run,
            "importStrategy": import_strategy,
            "async": async_job,
            **(params or {}),
        }
        # Data value imports are upserts keyed on (data element, period, org
        # unit, option combos): repeating one after a lost response writes the
        # same values again, so they are safe to retry.
        return Operation(
            "POST",
            "/api/dataValueSets",
            _flatten_params(query),
            json=body,
            retry_safe=True,
            timeout=self.settings.analytics_timeout,
            import_result=True,
        )

    def op_post_metadata(
        self,
        payload: Mapping[str, Any],
        *,
        import_mode: str,
        atomic_mode: str,
        import_strategy: str,
        params: Mapping[str, Any] | None,
    ) -> Operation:
        if import_mode not in ("COMMIT", "VALIDATE"):
            raise ValueError(f"import_mode must be 'COMMIT' or 'VALIDATE', not {import_mode!r}")
        if atomic_mode not in ("ALL", "NONE"):
            raise ValueError(f"atomic_mode must be 'ALL' or 'NONE', not {atomic_mode!r}")
        if import_strategy not in IMPORT_STRATEGIES:
            raise ValueError(
                f"import_strategy must be one of {sorted(IMPORT_STRATEGIES)}, "
                f"not {import_strategy!r}"
            )
        if not isinstance(payload, Mapping):
            raise ValueError("A metadata payload is a mapping of type name to objects")
        # Metadata imports with explicit UIDs are upserts (CREATE_AND_UPDATE
        # matches on id), so a repeat converges on the same state. Objects
        # without ids would be created twice: only then is a retry unsafe.
        retry_safe = import_strategy != "CREATE" and _all_objects_have_ids(payload)
        query = {
            "importMode": import_mode,
            "atomicMode": atomic_mode,
            "importStrategy": import_strategy,
            **(params or {}),
        }
        return Operation(
            "POST",
            "/api/metadata",
            _flatten_params(query),
            json=dict(payload),
            retry_safe=retry_safe,
            timeout=self.settings.analytics_timeout,
            import_result=True,
        )

    def op_task_notifications(self, job_type: str, job_id: str) -> Operation:
        return Operation("GET", f"/api/system/tasks/{job_type}/{job_id}", small=True)

    def op_task_summary(self, job_type: str, job_id: str) -> Operation:
        return Operation("GET", f"/api/system/taskSummaries/{job_type}/{job_id}")

    def op_maintenance(self, tasks: Iterable[str]) -> Operation:
        names = list(tasks)
        if not names:
            raise ValueError("run_maintenance needs at least one task")
        unknown = [t for t in names if t not in MAINTENANCE_TASKS]
        if unknown:
            raise ValueError(
                f"Unknown DHIS2 maintenance task(s) {unknown}; "
                f"known tasks: {', '.join(sorted(MAINTENANCE_TASKS))}"
            )
        # Maintenance tasks are idempotent clean-ups.
        return Operation(
            "POST",
            "/api/maintenance",
            [(t, "true") for t in names],
            retry_safe=True,
            timeout=self.settings.analytics_timeout,
        )

    def size_limit(self, operation: Operation) -> int:
        """The largest decoded body read for `operation`."""
        return SMALL_RESPONSE_BYTES if operation.small else self.settings.max_response_bytes

    def attempt_deadline_s(self, operation: Operation) -> float:
        """Seconds one attempt may take in all: connecting plus reading the whole answer."""
        timeout = operation.timeout or self.settings.timeout
        return (timeout.connect or 0.0) + (timeout.read or self.settings.read_timeout)

    def url_length(self, operation: Operation) -> int:
        """The length of the full URL `operation` would request."""
        query = urlencode(operation.params)
        return len(self.settings.base_url) + len(operation.path) + 1 + len(query)

    def split_in_filter(
        self,
        endpoint: str,
        query: Params,
        property_name: str,
        values: Sequence[str],
        page_size: int,
    ) -> list[list[str]]:
        """Split `values` into batches whose `property:in:[...]` URL fits the budget.

        Raises:
            ValueError: If a single value cannot fit in the URL budget.
        """
        probe = self.op_metadata_page(endpoint, query, 1, page_size)
        overhead = (
            self.url_length(probe)
            + len("&filter=")
            + len(urlencode({"": f"{property_name}:in:[]"}))
        )
        budget = self.settings.max_url_length - overhead
        batches: list[list[str]] = []
        current: list[str] = []
        used = 0
        for value in dict.fromkeys(values):  # de-duplicate, keep order
            cost = len(urlencode({"": value})) - 1 + (3 if current else 0)  # "%2C" separator
            if cost > budget:
                raise ValueError(f"Value {value!r} is too long for a URL filter")
            if used + cost > budget:
                batches.append(current)
                current, used = [], 0
                cost = len(urlencode({"": value})) - 1
            current.append(value)
            used += cost
        if current:
            batches.append(current)
        return batches

    # -- procedures: several requests composed, shared by both clients --------

    def proc_server_info(self) -> Exchange:
        data = yield from self.exchange(self.op_server_info())
        return self.parse_server_info(data)

    def proc_me(self, fields: str | None) -> Exchange:
        data = yield from self.exchange(self.op_me(fields))
        return self.parse_me(data)

    def proc_page(self, endpoint: str, operation: Operation) -> Exchange:
        data = yield from self.exchange(operation)
        return self.parse_page(endpoint, data, operation)

    def proc_analytics(self, operation: Operation) -> Exchange:
        data = yield from self.exchange(operation)
        return self.parse_grid(data, operation)

    def proc_data_values(
        self, operation: Operation, *, async_job: bool, job_timeout: float
    ) -> Exchange:
        data = yield from self.exchange(operation)
        if async_job:
            job_type, job_id = self.job_reference(data, operation)
            yield from self.proc_wait_for_job(job_type, job_id, job_timeout)
            data = yield from self.exchange(self.op_task_summary(job_type, job_id))
        return self.parse_import_summary(data, operation)

    def proc_metadata_import(self, operation: Operation) -> Exchange:
        data = yield from self.exchange(operation)
        return self.parse_import_report(data, operation)

    def proc_wait_for_job(self, job_type: str, job_id: str, timeout: float) -> Exchange:
        """Poll `/api/system/tasks/{type}/{id}` with backoff until the job completes."""
        operation = self.op_task_notifications(job_type, job_id)
        deadline = time.monotonic() + timeout
        for delay in poll_delays():
            notifications = yield from self.exchange(operation)
            completed, failure = self.job_completed(notifications)
            if completed:
                if failure is not None:
                    raise self._error(
                        Dhis2JobError, operation, None, f"job {job_id} failed: {failure}"
                    )
                return None
            if time.monotonic() + delay > deadline:
                raise self._error(
                    Dhis2JobError,
                    operation,
                    None,
                    f"job {job_id} did not complete within {timeout:.0f} s",
                    hint="Raise job_timeout or check the job in DHIS2's Data Administration app.",
                )
            yield Sleep(delay)
        return None  # pragma: no cover - poll_delays never ends

    def proc_maintenance(self, operation: Operation) -> Exchange:
        data = yield from self.exchange(operation)
        return _web_message(data)

    # -- retries ---------------------------------------------------------------

    def exchange(self, operation: Operation) -> Exchange:
        """Drive one operation to a result: yields `Send`/`Sleep`, returns the value."""
        attempt = 0
        policy = self.settings.retry
        first_attempt = time.monotonic()
        while True:
            started = time.perf_counter()
            outcome = yield Send(operation)
            assert outcome is not None
            try:
                result = self._interpret(operation, outcome)
            except _Retry as retry:
                if not operation.retry_safe:
                    raise retry.error from None
                delay = None
                if retry.response is not None:
                    delay = policy.retry_after_seconds(retry.response.headers.get("Retry-After"))
                if delay is None:
                    delay = policy.backoff(attempt)
                elapsed = time.monotonic() - first_attempt
                if not policy.allows(attempt=attempt, elapsed_s=elapsed, delay_s=delay):
                    raise retry.error from None
                logger.warning(
                    "%s failed (%s); retry %d of %d in %.2f s",
                    operation.label,
                    _short_reason(retry.error),
                    attempt + 1,
                    policy.max_retries,
                    delay,
                )
                attempt += 1
                yield Sleep(delay)
                continue
            logger.debug(
                "%s -> %s in %.3f s",
                operation.label,
                outcome.status_code if isinstance(outcome, Received) else "error",
                time.perf_counter() - started,
            )
            return result

    def _interpret(self, operation: Operation, outcome: Outcome) -> Any:
        if isinstance(outcome, httpx.TransportError):
            raise _Retry(self._transport_error(operation, outcome))
        if isinstance(outcome, Oversized):
            # The same request would get the same answer: not retried.
            raise self._error(
                Dhis2ResponseTooLargeError,
                operation,
                outcome.status_code,
                f"the answer is larger than {outcome.limit:,} bytes and was not read further",
                hint=(
                    "Narrow the request (fields, filters, fewer items), or raise the "
                    "block's max_response_mb if this size is expected."
                ),
            )
        response = outcome
        status = response.status_code
        if status in _RETRY_STATUSES:
            raise _Retry(self._status_error(operation, response), response)
        if 200 <= status < 300:
            return self._read_success(operation, response)
        if status == 409 and operation.import_result:
            body = self._json_or_none(response)
            if _import_payload(body) is not None:
                return body
        raise self._status_error(operation, response)

    # -- response reading -----------------------------------------------------

    def _read_success(self, operation: Operation, response: Received) -> Any:
        content_type = response.headers.get("content-type", "")
        if operation.expect == "text":
            return response.text
        if "html" in content_type:
            if _looks_like_login_page(response.content):
                raise self._login_page_error(operation, response)
            # A proxy's maintenance or error page: the server is not there yet.
            raise _Retry(
                self._error(
                    Dhis2ServerError,
                    operation,
                    response.status_code,
                    "DHIS2 answered with an HTML page that is not its login page "
                    "(maintenance or a proxy error page?)",
                    hint="Check that the server is up and base_url points at DHIS2.",
                ),
                response,
            )
        if not response.content:
            return None
        decode = decode_grid if operation.expect == "grid" else decode_json
        try:
            return decode(response.content)
        except orjson.JSONDecodeError:
            # A cut-off body on a repeatable request is worth another try.
            error = self._error(
                Dhis2ResponseFormatError,
                operation,
                response.status_code,
                "the response body is not valid JSON (truncated or not DHIS2?)",
            )
            raise _Retry(error) from None

    def _json_or_none(self, response: Received) -> Any:
        try:
            return decode_json(response.content)
        except orjson.JSONDecodeError:
            return None

    # -- error mapping ----------------------------------------------------------

    def _error(
        self,
        cls: type[Dhis2Error],
        operation: Operation,
        status: int | None,
        message: str,
        *,
        error_code: str | None = None,
        dhis2_message: str | None = None,
        hint: str | None = None,
    ) -> Dhis2Error:
        return cls(
            message,
            base_url=self.settings.base_url,
            method=operation.method,
            endpoint=operation.path,
            status_code=status,
            error_code=error_code,
            dhis2_message=dhis2_message,
            hint=hint,
        )

    def _auth_hint(self) -> str:
        return (
            f"Check the credentials of {self.settings.principal} and that base_url "
            "points at the DHIS2 instance root."
        )

    def _login_page_error(self, operation: Operation, response: Received) -> Dhis2Error:
        return self._error(
            Dhis2AuthenticationError,
            operation,
            response.status_code,
            f"DHIS2 answered with an HTML page instead of JSON (a login page?) for "
            f"{self.settings.principal}",
            hint=self._auth_hint(),
        )

    def _status_error(self, operation: Operation, response: Received) -> Dhis2Error:
        status = response.status_code
        body = self._json_or_none(response)
        message = _web_message(body)
        dhis2_message = message.message if message else None
        error_code = message.error_code if message else None
        text = dhis2_message or response.reason_phrase or "request failed"
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            if "login" in location.lower():
                return self._error(
                    Dhis2AuthenticationError,
                    operation,
                    status,
                    f"DHIS2 redirected to its login page: it did not accept "
                    f"{self.settings.principal}",
                    hint=self._auth_hint(),
                )
            return self._error(
                Dhis2RequestError,
                operation,
                status,
                f"DHIS2 redirected to {_strip_query(location)}",
                hint="Set base_url to the address the server redirects to.",
            )
        if status == 401:
            return self._error(
                Dhis2AuthenticationError,
                operation,
                status,
                f"authentication of {self.settings.principal} failed: {text}",
                error_code=error_code,
                dhis2_message=dhis2_message,
                hint=self._auth_hint(),
            )
        if status == 403:
            return self._error(
                Dhis2PermissionError,
                operation,
                status,
                f"{self.settings.principal} is not allowed to do this: {text}",
                error_code=error_code,
                dhis2_message=dhis2_message,
            )
        if status == 404:
            return self._error(
                Dhis2NotFoundError,
                operation,
                status,
                text,
                error_code=error_code,
                dhis2_message=dhis2_message,
            )
        cls: type[Dhis2Error]
        if status == 400:
            cls = Dhis2BadRequestError
        elif status == 409:
            cls = Dhis2ConflictError
        elif status == 429:
            cls = Dhis2RateLimitError
        elif status >= 500:
            cls = Dhis2ServerError
        else:
            cls = Dhis2RequestError
        return self._error(
            cls, operation, status, text, error_code=error_code, dhis2_message=dhis2_message
        )

    def _transport_error(self, operation: Operation, exc: httpx.TransportError) -> Dhis2Error:
        if isinstance(exc, httpx.TimeoutException):
            detail = _safe_exception_text(exc)
            return self._error(
                Dhis2TimeoutError,
                operation,
                None,
                f"no answer in time ({type(exc).__name__}{': ' + detail if detail else ''})",
                hint="Raise the block's timeouts or narrow the request.",
            )
        return self._error(
            Dhis2ConnectionError,
            operation,
            None,
            f"connection failed ({type(exc).__name__}: {_safe_exception_text(exc)})",
        )

    # -- parsing ---------------------------------------------------------------

    def parse_page(self, endpoint: str, data: Any, operation: Operation) -> MetadataPage:
        if not isinstance(data, dict):
            raise self._error(
                Dhis2ResponseFormatError,
                operation,
                200,
                f"expected a JSON object with a {collection_key(endpoint)!r} list",
            )
        key = collection_key(endpoint)
        items = data.get(key)
        if items is None:
            lists = [v for k, v in data.items() if k != "pager" and isinstance(v, list)]
            items = lists[0] if len(lists) == 1 else None
        if not isinstance(items, list):
            raise self._error(
                Dhis2ResponseFormatError,
                operation,
                200,
                f"the response has no {key!r} list (keys: {sorted(data)[:10]})",
            )
        pager_data = data.get("pager")
        pager = (
            self._model(Pager, pager_data, operation, "pager")
            if isinstance(pager_data, dict)
            else None
        )
        return MetadataPage(items=items, pager=pager)

    def _model(self, model: type[M], data: Any, operation: Operation, what: str) -> M:
        """Validate a payload; a malformed one is a `Dhis2ResponseFormatError`."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in exc.errors(include_input=False)[:3]
            )
            raise self._error(
                Dhis2ResponseFormatError,
                operation,
                200,
                f"the answer is not a DHIS2 {what} ({problems})",
            ) from None

    def parse_server_info(self, data: Any) -> ServerInfo:
        return self._model(ServerInfo, data, self.op_server_info(), "system info")

    def parse_me(self, data: Any) -> Me:
        return self._model(Me, data, self.op_me(None), "user")

    def parse_grid(self, data: Any, operation: Operation | None = None) -> AnalyticsGrid:
        operation = operation or Operation("GET", "/api/analytics")
        return self._model(AnalyticsGrid, data, operation, "analytics grid")

    def parse_import_summary(self, data: Any, operation: Operation) -> ImportSummary:
        return self._import_model(ImportSummary, data, operation)

    def parse_import_report(self, data: Any, operation: Operation) -> ImportReport:
        return self._import_model(ImportReport, data, operation)

    def _import_model(self, model: type[M], data: Any, operation: Operation) -> M:
        """The ImportSummary or ImportReport inside any DHIS2 version's envelope."""
        payload = _import_payload(data)
        if payload is None:
            raise self._error(
                Dhis2ResponseFormatError,
                operation,
                None,
                f"the answer carries no {model.__name__}",
            )
        return self._model(model, payload, operation, model.__name__)

    def job_reference(self, data: Any, operation: Operation) -> tuple[str, str]:
        """The (job type, job id) of an `async=true` answer."""
        response = data.get("response") if isinstance(data, dict) else None
        if not isinstance(response, dict) or response.get("responseType") != "JobConfiguration":
            raise self._error(
                Dhis2ResponseFormatError,
                operation,
                None,
                "expected a JobConfiguration for an asynchronous import",
            )
        endpoint = str(response.get("relativeNotifierEndpoint") or "")
        parts = endpoint.rstrip("/").split("/")
        job_type = str(response.get("jobType") or (parts[-2] if len(parts) >= 2 else ""))
        job_id = str(response.get("id") or parts[-1])
        return job_type, job_id

    @staticmethod
    def job_completed(notifications: Any) -> tuple[bool, str | None]:
        """Read `/api/system/tasks/...`: (completed, error message if it failed)."""
        entries = notifications if isinstance(notifications, list) else []
        for entry in entries:
            if isinstance(entry, dict) and entry.get("completed"):
                failed = str(entry.get("level", "")).upper() == "ERROR"
                return True, str(entry.get("message")) if failed else None
        return False, None


def poll_delays(start: float = 0.2, factor: float = 1.5, cap: float = 5.0) -> Iterable[float]:
    """Waits between polls of an asynchronous job: 0.2 s growing to 5 s."""
    delay = start
    while True:
        yield delay
        delay = min(cap, delay * factor)


def _import_payload(data: Any) -> dict[str, Any] | None:
    """The ImportSummary/ImportReport inside any DHIS2 version's envelope."""
    if not isinstance(data, dict):
        return None
    response = data.get("response")
    if isinstance(response, dict) and response.get("responseType") in (
        "ImportSummary",
        "ImportReport",
    ):
        return response
    if (
        "importCount" in data
        or "typeReports" in data
        or data.get("responseType")
        in (
            "ImportSummary",
            "ImportReport",
        )
    ):
        return data  # <= 2.37: the bare summary
    return None


def _all_objects_have_ids(payload: Mapping[str, Any]) -> bool:
    for value in payload.values():
        if isinstance(value, list):
            for obj in value:
                if isinstance(obj, dict) and not obj.get("id"):
                    return False
    return True


_LOGIN_MARKERS = (
    b"login",
    b"log in",
    b"sign in",
    b"signin",
    b"j_username",
    b'type="password"',
    b"type='password'",
)


def _looks_like_login_page(body: bytes) -> bool:
    """Whether an HTML answer is DHIS2's (or an SSO) login page rather than another page."""
    head = body[:65536].lower()
    return any(marker in head for marker in _LOGIN_MARKERS)


def _web_message(data: Any) -> WebMessage | None:
    """A WebMessage when `data` reads as one; None for anything else (never raises)."""
    if not isinstance(data, dict):
        return None
    try:
        return WebMessage.model_validate(data)
    except ValidationError:
        return None


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def _safe_exception_text(exc: Exception) -> str:
    # httpx transport errors describe sockets and hosts; strip any URL query.
    return re.sub(r"\?\S*", "", str(exc))[:200]


def _short_reason(error: Dhis2Error) -> str:
    if error.status_code is not None:
        return f"HTTP {error.status_code}"
    return type(error).__name__


def remaining_pages(pager: Pager | None) -> range | None:
    """Pages after page 1 that can be fetched at once, or None to follow `nextPage`.

    With `paging=false` there is no pager and nothing follows. When the pager
    gives `pageCount`, every remaining page is known up front (and the async
    client fetches them concurrently); otherwise pages are followed one by one.
    """
    if pager is None:
        return range(0)
    if pager.page_count is not None:
        return range(pager.page + 1, pager.page_count + 1)
    return None
