"""Indicator grids computed for many org units at once equal the cell-by-cell values."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest

from prefect_dhis2.testing import EmulatorConfig, EmulatorState
from prefect_dhis2.testing.analytics.grid import _Cells
from prefect_dhis2.testing.core.app import build_app


def _grid(state: EmulatorState, params: list[tuple[str, str]]) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=build_app(state))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://emulator", auth=("admin", "district")
        ) as client:
            response = await client.get("/api/analytics", params=params)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

    return asyncio.run(get())


def test_vector_and_cell_paths_agree(monkeypatch: pytest.MonkeyPatch):
    state = EmulatorState(EmulatorConfig(relative_period_date=date(2024, 6, 30)))
    indicators = ";".join(state.dataset.ordered_ids("indicators"))
    params = [
        ("dimension", f"dx:{indicators}"),
        ("dimension", "ou:LEVEL-3;ImspTQPwCqd"),
        ("dimension", "pe:202401;202402;2023Q4;2023"),
        ("includeNumDen", "true"),
        ("skipMeta", "true"),
    ]
    calls: list[int] = []
    vector = _Cells.indicator_vector

    def counting(self: _Cells, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return vector(self, *args, **kwargs)

    monkeypatch.setattr(_Cells, "indicator_vector", counting)
    fast = _grid(state, params)
    assert calls, "the vector path was not used"
    monkeypatch.setattr(_Cells, "indicator_vector", lambda *args, **kwargs: None)
    slow = _grid(state, params)
    assert len(fast["rows"]) > 1000
    assert fast["rows"] == slow["rows"]
