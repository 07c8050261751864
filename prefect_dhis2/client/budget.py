"""One request budget per DHIS2 host, shared by every client of the process (no Prefect).

Every request a `Dhis2Client` or `AsyncDhis2Client` sends holds a slot of its host's
`HostBudget` from the moment it is sent until its answer is read (not while it waits
to retry). There is one budget per host (`scheme://host:port`) in the process, shared
by sync and async clients, every thread and every event loop, so several clients,
tasks and flow runs of one process never send more than `max_concurrency` requests to
one DHIS2 at once. A request waits while the host has as many requests in flight as
its own client's `max_concurrency`; waiters are served first come, first served.

Across processes (flow runs on several workers) the budget can be *shared*: given a
`SharedSlots` (the Prefect tasks pass the host's Prefect global concurrency limit,
see `prefect_dhis2.host_limit`), the process holds leases on slots of that limit and
sends at most as many requests at once as it holds leases. A keeper thread takes a
lease when requests wait and none is free, keeps it while requests follow each other
(so a request that ends and the next one that starts never pay a round trip to the
Prefect server, nor the `Retry-After` of about one slot occupancy that it answers to
an acquire that arrives just before a release), gives it back after `linger_s`
seconds without use, and gives back any lease held longer than `hold_s` so that other
processes get their turn. When the shared limit does not exist or cannot be reached,
the process falls back to its own budget, with a warning.

Examples:
    >>> budget = host_budget("https://dhis2.example.org")
    >>> budget is host_budget("https://dhis2.example.org/hmis")  # one per host
    True
    >>> with budget.slot(limit=2):
    ...     budget.in_flight
    1
    >>> budget.in_flight
    0
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

__all__ = ["Busy", "HostBudget", "SharedSlots", "host_budget"]

_log = logging.getLogger("prefect_dhis2.client")

DEFAULT_HOLD_S = 20.0
"""Longest time the process keeps one shared lease while others may wait for it."""
DEFAULT_LINGER_S = 1.0
"""How long an unused shared lease is kept for the next request."""


@dataclass(frozen=True)
class Busy:
    """`SharedSlots.acquire`'s answer when every slot is taken: ask again after `retry_after_s`.

    Attributes:
        retry_after_s: Seconds to wait before the next attempt.
    """

    retry_after_s: float


class SharedSlots(Protocol):
    """Slots of a budget shared with other processes, held as leases.

    `acquire` makes one attempt and does not wait: it returns a lease, `Busy` when
    every slot is taken, or None when there is no such shared budget (then nothing
    is shared). Leases expire after `lease_s` seconds unless renewed.
    """

    @property
    def name(self) -> str:
        """The shared budget's name, for messages."""

    @property
    def lease_s(self) -> float:
        """Seconds a lease lives without renewal."""

    def acquire(self) -> object | Busy | None:
        """One attempt: a lease, `Busy`, or None when the shared budget does not exist."""

    def release(self, lease: object) -> None:
        """Give a slot back."""

    def renew(self, lease: object) -> None:
        """Extend a lease by `lease_s`."""

    def close(self) -> None:
        """The calling thread is done with the slots: free what the calls above opened."""


@dataclass(eq=False)
class _Waiter:
    limit: int
    event: threading.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[None] | None = None
    granted: bool = False


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(eq=False)
class _Lease:
    token: object
    taken: float
    renewed: float


@dataclass(eq=False)
class _Pool:
    """The leases this process holds on a shared budget (guarded by the budget's lock)."""

    slots: SharedSlots
    size: int
    hold_s: float
    linger_s: float
    users: int = 1
    leases: list[_Lease] = field(default_factory=list)
    retiring: _Lease | None = None
    idle_since: float | None = None
    busy_until: float = 0.0
    stopping: bool = False

    @property
    def usable(self) -> int:
        return len(self.leases) - (1 if self.retiring is not None else 0)


class HostBudget:
    """The request budget of one DHIS2 host in this process (see the module docstring).

    Get it with `host_budget(base_url)`; the clients hold its slots themselves.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._in_flight = 0
        self._peak = 0
        self._waiters: deque[_Waiter] = deque()
        self._pool: _Pool | None = None

    def __repr__(self) -> str:
        return f"HostBudget({self.key!r}, in_flight={self._in_flight})"

    @property
    def in_flight(self) -> int:
        """Requests to this host being sent or read right now."""
        return self._in_flight

    @property
    def peak(self) -> int:
        """The most requests in flight at once since the budget was made (or `reset_peak`)."""
        return self._peak

    @property
    def shared(self) -> str | None:
        """The name of the shared budget whose leases this process holds, if any."""
        pool = self._pool
        return pool.slots.name if pool is not None else None

    def reset_peak(self) -> None:
        """Start counting `peak` again from the requests in flight now."""
        with self._lock:
            self._peak = self._in_flight

    # -- slots ---------------------------------------------------------------------

    def _cap(self) -> float:
        return self._pool.usable if self._pool is not None else math.inf

    def _grant_locked(self) -> None:
        cap = self._cap()
        for waiter in list(self._waiters):
            if self._in_flight >= cap:
                break
            if self._in_flight >= waiter.limit:
                continue  # its own client's budget is full; later ones may have room
            self._waiters.remove(waiter)
            self._take_locked(waiter)
        self._changed.notify_all()

    def _take_locked(self, waiter: _Waiter) -> None:
        if waiter.event is not None:
            waiter.event.set()
        elif waiter.loop is not None and waiter.future is not None:
            try:
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
            except RuntimeError:  # its event loop is closed: nobody is waiting any more
                return
        waiter.granted = True
        self._in_flight += 1
        self._peak = max(self._peak, self._in_flight)
        if self._pool is not None:
            self._pool.idle_since = None

    def _enqueue(self, waiter: _Waiter) -> None:
        with self._lock:
            self._waiters.append(waiter)
            self._grant_locked()

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._grant_locked()

    def _abandon(self, waiter: _Waiter) -> None:
        """A waiter gave up (cancelled): take it out, or give back what it was granted."""
        with self._lock:
            if waiter.granted:
                self._in_flight -= 1
            else:
                self._waiters.remove(waiter)
            self._grant_locked()

    @contextmanager
    def slot(self, limit: int) -> Iterator[None]:
        """Hold one slot while the block runs (blocks the thread until one is free).

        Args:
            limit: The caller's own budget (its client's `max_concurrency`).
        """
        waiter = _Waiter(limit, event=threading.Event())
        self._enqueue(waiter)
        try:
            while not waiter.event.wait(1.0):  # type: ignore[union-attr]
                pass
        except BaseException:
            self._abandon(waiter)
            raise
        try:
            yield
        finally:
            self._release()

    @asynccontextmanager
    async def aslot(self, limit: int) -> AsyncIterator[None]:
        """Hold one slot while the block runs (awaits a free one).

        Args:
            limit: The caller's own budget (its client's `max_concurrency`).
        """
        loop = asyncio.get_running_loop()
        waiter = _Waiter(limit, loop=loop, future=loop.create_future())
        self._enqueue(waiter)
        try:
            await waiter.future  # type: ignore[misc]
        except BaseException:
            self._abandon(waiter)
            raise
        try:
            yield
        finally:
            self._release()

    # -- sharing with other processes ----------------------------------------------

    def share(
        self,
        slots: SharedSlots,
        size: int,
        *,
        hold_s: float = DEFAULT_HOLD_S,
        linger_s: float = DEFAULT_LINGER_S,
    ) -> object:
        """Start holding this host's requests in leases of `slots` (counted per user).

        Every `share` needs one `unshare` with the handle it returned; the first
        one's settings apply until the last user is gone. The keeper thread runs in
        a copy of the caller's context (so it sees the same Prefect settings).

        Args:
            slots: The shared budget.
            size: Most leases this process holds at once (the block's `max_concurrency`).
            hold_s: Give back a lease held this long, so other processes get a turn.
            linger_s: Keep an unused lease this long for the next request.
        """
        with self._lock:
            if self._pool is not None and not self._pool.stopping:
                self._pool.users += 1
                return self._pool
            pool = _Pool(slots, max(size, 1), hold_s, linger_s)
            self._pool = pool
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run,
            args=(self._keep, pool),
            name=f"prefect-dhis2-budget-{self.key}",
            daemon=True,
        )
        thread.start()
        return pool

    def unshare(self, handle: object) -> None:
        """One user of the shared budget is done; the last one gives every lease back.

        Args:
            handle: What `share` returned.
        """
        with self._lock:
            pool = handle
            if not isinstance(pool, _Pool) or pool.stopping:
                return  # already detached (the shared budget failed): nothing to count
            pool.users -= 1
            if pool.users > 0:
                return
            pool.stopping = True
            if self._pool is pool:
                self._pool = None
            self._grant_locked()  # waiters now only need the process budget

    def _detach_locked(self, pool: _Pool) -> None:
        pool.stopping = True
        if self._pool is pool:
            self._pool = None
        self._grant_locked()

    def _keep(self, pool: _Pool) -> None:
        """The keeper thread: take, keep, renew and give back leases of `pool`."""
        try:
            while self._keep_step(pool):
                pass
        except Exception as exc:  # noqa: BLE001 - a broken shared budget must not stop requests
            _log.warning(
                "Cannot hold slots of the shared budget %r (%s: %s); requests to %s "
                "now share this process's budget only",
                pool.slots.name,
                type(exc).__name__,
                exc,
                self.key,
            )
            with self._lock:
                self._detach_locked(pool)
        finally:
            with self._lock:
                leases, pool.leases, pool.retiring = list(pool.leases), [], None
            _log.debug(
                "%s: stops sharing %r, gives back %d", self.key, pool.slots.name, len(leases)
            )
            for lease in leases:
                try:
                    pool.slots.release(lease.token)
                except Exception as exc:  # noqa: BLE001 - it expires on its own
                    _log.debug("Could not give back a lease of %r: %s", pool.slots.name, exc)
            try:
                pool.slots.close()
            except Exception as exc:  # noqa: BLE001 - nothing left to hold
                _log.debug("Could not close the shared budget %r: %s", pool.slots.name, exc)

    def _keep_step(self, pool: _Pool) -> bool:
        give_back: _Lease | None
        with self._lock:
            while True:
                if pool.stopping:
                    return False
                now = time.monotonic()
                wanted = min(pool.size, self._in_flight + len(self._waiters))
                # A lease held too long is retired: no new request gets it, and it is
                # given back once the requests on it are done.
                if pool.retiring is None and len(pool.leases) > 0:
                    oldest = min(pool.leases, key=lambda lease: lease.taken)
                    if now - oldest.taken >= pool.hold_s:
                        pool.retiring = oldest
                if pool.retiring is not None and self._in_flight <= len(pool.leases) - 1:
                    give_back = pool.retiring
                    pool.leases.remove(give_back)
                    pool.retiring = None
                    break
                if pool.usable > wanted:
                    if pool.idle_since is None:
                        pool.idle_since = now
                    if now - pool.idle_since >= pool.linger_s and pool.usable > self._in_flight:
                        give_back = max(
                            (lease for lease in pool.leases if lease is not pool.retiring),
                            key=lambda lease: lease.taken,
                        )
                        pool.leases.remove(give_back)
                        pool.idle_since = None
                        break
                else:
                    pool.idle_since = None
                if wanted > pool.usable and len(pool.leases) < pool.size and now >= pool.busy_until:
                    give_back = None
                    break
                stale = [
                    lease for lease in pool.leases if now - lease.renewed >= pool.slots.lease_s / 3
                ]
                if stale:
                    stale[0].renewed = now
                    renew = stale[0].token
                    self._lock.release()
                    try:
                        pool.slots.renew(renew)
                    finally:
                        self._lock.acquire()
                    continue
                self._changed.wait(timeout=self._next_wake(pool, now))
        if give_back is not None:
            _log.debug("%s: giving back a lease of %r", self.key, pool.slots.name)
            pool.slots.release(give_back.token)
            with self._lock:
                self._grant_locked()
            return True
        token = pool.slots.acquire()
        _log.debug("%s: asked %r for a lease: %r", self.key, pool.slots.name, token)
        with self._lock:
            if isinstance(token, Busy):  # taken by other processes: ask again later
                pool.busy_until = time.monotonic() + max(token.retry_after_s, 0.01)
                return True
            if token is None:  # no such shared budget: this process's own budget applies
                _log.debug(
                    "No shared budget %r: requests to %s are not shared", pool.slots.name, self.key
                )
                self._detach_locked(pool)
                return False
            now = time.monotonic()
            pool.leases.append(_Lease(token, now, now))
            if pool.stopping:
                return False  # the finally of _keep gives it back
            self._grant_locked()
        return True

    def _next_wake(self, pool: _Pool, now: float) -> float:
        # A retiring lease waits for its requests to end (a release wakes the keeper).
        deadlines = [] if pool.retiring else [lease.taken + pool.hold_s for lease in pool.leases]
        deadlines += [lease.renewed + pool.slots.lease_s / 3 for lease in pool.leases]
        if pool.idle_since is not None:
            deadlines.append(pool.idle_since + pool.linger_s)
        if pool.busy_until > now:
            deadlines.append(pool.busy_until)
        return max(0.01, min(deadlines, default=now + 5.0) - now)


_BUDGETS: dict[str, HostBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def host_budget(base_url: str) -> HostBudget:
    """The process-wide budget of the host of `base_url` (one per scheme, host and port).

    Examples:
        >>> host_budget("http://127.0.0.1:8080").key
        'http://127.0.0.1:8080'
    """
    parts = urlsplit(base_url)
    key = f"{parts.scheme}://{parts.netloc.lower()}"
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(key)
        if budget is None:
            budget = _BUDGETS[key] = HostBudget(key)
        return budget
