"""Fault injection (each kind, by count and by rate) and the cost model, seen by httpx."""

from __future__ import annotations

import asyncio
import math
import time

import httpx
import pytest

from prefect_dhis2.testing import CostModel, Dhis2Emulator, FaultRule
from prefect_dhis2.testing.core.faults import FaultInjector


@pytest.mark.parametrize("kind", ["429", "502", "503", "504"])
def test_status_faults_by_count(api: httpx.Client, dhis2: Dhis2Emulator, kind: str) -> None:
    dhis2.set_faults([FaultRule(path="/api/dataElements", kind=kind, count=2, retry_after=3)])
    statuses = [api.get("/api/dataElements").status_code for _ in range(3)]
    assert statuses == [int(kind), int(kind), 200]
    assert api.get("/api/indicators").status_code == 200  # other paths untouched
    faulted = [r for r in dhis2.request_log.matching("/api/dataElements") if r.fault == kind]
    assert len(faulted) >= 2
    if kind in ("429", "503"):
        dhis2.set_faults([FaultRule(path="/api/dataElements", kind=kind, count=1, retry_after=3)])
        assert api.get("/api/dataElements").headers["retry-after"] == "3"


def test_faults_match_versioned_paths_and_methods(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    dhis2.set_faults([FaultRule(path="/api/indicators", kind="503", count=5, method="POST")])
    assert api.get("/api/40/indicators").status_code == 200
    dhis2.set_faults([FaultRule(path="/api/indicators", kind="503", count=1)])
    assert api.get("/api/40/indicators.json").status_code == 503


def test_reset_drops_the_connection(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    dhis2.set_faults([FaultRule(path="/api/me", kind="reset", count=1)])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.get("/api/me")
    assert api.get("/api/me").status_code == 200


def test_truncate_sends_headers_then_half_a_body(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    dhis2.set_faults([FaultRule(path="/api/organisationUnits", kind="truncate", count=1)])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.get("/api/organisationUnits?pageSize=500")
    with httpx.Client(base_url=dhis2.base_url, auth=("admin", "district")) as client:
        dhis2.set_faults([FaultRule(path="/api/organisationUnits", kind="truncate", count=1)])
        with client.stream("GET", "/api/organisationUnits?pageSize=500") as response:
            assert response.status_code == 200  # the status and headers arrive intact
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                response.read()


def test_slow_exceeds_client_timeout(dhis2: Dhis2Emulator) -> None:
    dhis2.set_faults([FaultRule(path="/api/me", kind="slow", count=1, delay_s=2.0)])
    with httpx.Client(base_url=dhis2.base_url, auth=("admin", "district"), timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get("/api/me")
        assert client.get("/api/me").status_code == 200


def test_rate_faults_are_deterministic(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    rule = FaultRule(path="/api/constants", kind="502", rate=0.3, seed=11)

    def run() -> list[int]:
        dhis2.set_faults([rule])
        return [api.get("/api/constants").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(502) < 30
    other = FaultInjector([FaultRule(path="/api/constants", kind="502", rate=0.3, seed=12)])
    assert [other.pick("GET", "/api/constants") is not None for _ in range(30)] != [
        s == 502 for s in first
    ]


def test_fault_rules_validate() -> None:
    with pytest.raises(ValueError):
        FaultRule(kind="418")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FaultRule(kind="503")
    with pytest.raises(ValueError):
        CostModel(max_concurrent=0)


def test_max_concurrent_queues_requests(dhis2: Dhis2Emulator) -> None:
    latency, workers, n = 0.1, 2, 6
    dhis2.set_cost(CostModel(latency_s=latency, max_concurrent=workers))
    dhis2.state.stats.reset()

    async def burst() -> float:
        async with httpx.AsyncClient(base_url=dhis2.base_url, auth=("admin", "district")) as c:
            started = time.perf_counter()
            responses = await asyncio.gather(*(c.get("/api/constants") for _ in range(n)))
            assert all(r.status_code == 200 for r in responses)
            return time.perf_counter() - started

    elapsed = asyncio.run(burst())
    bound = math.ceil(n / workers) * latency
    assert elapsed >= 0.9 * bound
    stats = dhis2.state.stats
    assert stats.max_in_flight == workers and stats.requests == n
    assert stats.total_server_work_s == pytest.approx(n * latency)
    assert stats.capacity_bound_s(workers) == pytest.approx(bound)


def test_per_row_cost_counts_response_rows(api: httpx.Client, dhis2: Dhis2Emulator) -> None:
    dhis2.set_cost(CostModel(per_row_s=0.0005))
    dhis2.state.stats.reset()
    api.get("/api/organisationUnits?pageSize=200&fields=id")
    assert dhis2.request_log[-1].rows == 200
    assert dhis2.state.stats.total_server_work_s == pytest.approx(0.1)
