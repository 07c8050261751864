"""The deployments really run: a Prefect server, a work pool, a worker, every bundled flow.

`prefect server start` on 127.0.0.1 (SQLite, its own PREFECT_HOME), a process work pool,
`prefect deploy --all` from `deployments/prefect.yaml`, `prefect worker start`, every
deployment triggered against the DHIS2 emulator until each run is Completed with its
artifacts readable through the API; then the emulator goes down, one run fails, and a
local webhook receives exactly one notice that carries no secret. The same for
`deployments/serve.py`. Run alone with `pytest -m deployments`.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from prefect_dhis2.periods import resolve_relative_period
from prefect_dhis2.testing import Dhis2Emulator

from .servers import PrefectServer, WebhookReceiver, stop_process, wait_for

pytestmark = pytest.mark.deployments

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ("moh-production", "moh-dev", "moh-staging")
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _save_blocks(server: PrefectServer, emulator: Dhis2Emulator, webhook: str) -> str:
    """Save a token block per instance and the webhook block; returns the token."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.settings import PREFECT_API_URL, temporary_settings

    block = emulator.credentials(token=True).model_copy(
        update={"max_retries": 1, "retry_budget": 1.0, "retry_backoff": 0.05}
    )
    assert block.token is not None
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        for name in INSTANCES:
            block.save(name, overwrite=True)
        CustomWebhookNotificationBlock(
            name="dhis2-notifications",
            url=webhook,
            json_data={"text": "{{body}}", "subject": "{{subject}}"},
        ).save("dhis2-notifications", overwrite=True)
    return block.token.get_secret_value()


def _import_file(emulator: Dhis2Emulator, directory: Path) -> Path:
    period = resolve_relative_period("LAST_MONTH", date.today())[0].id
    path = directory / "data_values.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataElement", "period", "orgUnit", "categoryOptionCombo", "value"])
        for index, unit in enumerate(emulator.state.dataset.org_units_at_level(4)[:5]):
            writer.writerow(["fbfJHSPpUQD", period, unit, "pq2XI5kz2BY", 10 + index])
    return path


def _run(server: PrefectServer, deployment_id: str, parameters: dict[str, Any]) -> str:
    run = server.api(
        "POST", f"/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters}
    )
    return str(run["id"])


def _final_states(server: PrefectServer, run_ids: list[str], timeout: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        runs = {rid: server.api("GET", f"/flow_runs/{rid}") for rid in run_ids}
        if all(run["state"]["type"] in FINAL for run in runs.values()):
            return runs
        return None

    return wait_for(f"{len(run_ids)} flow runs to finish", done, timeout, every=1.0)


def _logs(server: PrefectServer, run_id: str) -> str:
    logs = server.api("POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}})
    return "\n".join(entry["message"] for entry in logs)[-3000:]


def _artifacts(server: PrefectServer, run_id: str) -> list[dict[str, Any]]:
    return server.api(
        "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run_id]}}}
    )


def _no_secret(text: str, token: str) -> None:
    for secret in (token, f"ApiToken {token}", "Authorization", "authorization"):
        assert secret not in text


@pytest.fixture
def stack(
    tmp_path: Path,
) -> Iterator[tuple[PrefectServer, Dhis2Emulator, WebhookReceiver, str]]:
    server = PrefectServer(tmp_path / "prefect").start()
    receiver = WebhookReceiver()
    try:
        with Dhis2Emulator() as emulator, receiver.running():
            token = _save_blocks(server, emulator, receiver.url)
            yield server, emulator, receiver, token
    finally:
        server.stop()


def test_every_deployment_runs_on_a_worker_and_a_failure_notifies_once(stack, tmp_path):
    server, emulator, receiver, token = stack
    server.cli("work-pool", "create", "dhis2", "--type", "process")
    # `{{ $PWD }}` in the pull step is where the worker's flow runs start.
    deployed = server.cli(
        "deploy",
        "--all",
        "--prefect-file",
        "deployments/prefect.yaml",
        cwd=ROOT,
        timeout=600,
    )
    deployments = server.api("POST", "/deployments/filter", json={})
    assert len(deployments) >= 10, deployed
    worker = server.spawn(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", "dhis2", "--limit", "4"],
        tmp_path / "worker.log",
        cwd=ROOT,
    )
    try:
        source = _import_file(emulator, tmp_path)
        runs: dict[str, str] = {}
        for deployment in deployments:
            # Every path a deployment writes to goes into this test's folder instead.
            out = tmp_path / "out" / deployment["name"]
            defaults = deployment["parameters"]
            parameters: dict[str, Any] = {}
            if "output_dir" in defaults:
                parameters["output_dir"] = str(out)
            if "warehouse" in defaults:
                parameters["warehouse"] = str(out / "dhis2_warehouse.duckdb")
                parameters["parquet_dir"] = str(out / "parquet")
            if "source" in defaults:
                parameters["source"] = str(source)
            runs[deployment["name"]] = _run(server, deployment["id"], parameters)

        states = _final_states(server, list(runs.values()), timeout=900)
        for name, run_id in runs.items():
            state = states[run_id]["state"]
            assert state["type"] == "COMPLETED", f"{name}: {state}\n{_logs(server, run_id)}"
            artifacts = _artifacts(server, run_id)
            assert artifacts, f"{name} published no artifact"
            for artifact in artifacts:
                _no_secret(str(artifact.get("data")), token)
        assert receiver.received == []  # completed runs send nothing (failures only)

        # The DHIS2 server goes down: the next run fails and says so, once.
        host = emulator.base_url.split("//", 1)[1]
        emulator.stop()
        check = next(d for d in deployments if d["name"] == "moh-connection-check")
        failed = _run(server, check["id"], {})
        state = _final_states(server, [failed], timeout=600)[failed]["state"]
        assert state["type"] == "FAILED", state
        wait_for("the failure notice", lambda: receiver.received, timeout=120)
    finally:
        stop_process(worker)
    assert len(receiver.received) == 1
    for item in receiver.received:
        _no_secret(str(item), token)
    (notice,) = receiver.notices()
    assert notice["flow"] == "dhis2-connection-check"
    assert notice["state"] == "Failed"
    assert notice["deployment"] == "moh-connection-check"
    assert notice["instance"] == host
    assert notice["url"].endswith(f"/runs/flow-run/{failed}")
    assert "connection failed" in notice["message"] or "ConnectError" in notice["message"]


def test_served_flows_pick_up_a_run_and_complete_it(stack, tmp_path):
    server, _emulator, _receiver, _token = stack
    served = server.spawn(
        [
            sys.executable,
            "deployments/serve.py",
            "--instance",
            "moh-production",
            "--output-root",
            str(tmp_path / "served"),
        ],
        tmp_path / "serve.log",
        cwd=ROOT,
    )
    try:
        name = "moh-production-connection-check"

        def deployment() -> dict[str, Any] | None:
            found = server.api(
                "POST", "/deployments/filter", json={"deployments": {"name": {"any_": [name]}}}
            )
            return found[0] if found else None

        served_deployment = wait_for("serve.py to register its deployments", deployment, 300)
        run_id = _run(server, served_deployment["id"], {})
        state = _final_states(server, [run_id], timeout=300)[run_id]["state"]
        assert state["type"] == "COMPLETED", (
            f"{state}\n{(tmp_path / 'serve.log').read_text()[-3000:]}"
        )
        assert _artifacts(server, run_id)
    finally:
        stop_process(served)
