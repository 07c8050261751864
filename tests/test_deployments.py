"""The deployment examples load and describe what they claim."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS = ROOT / "deployments"


def test_prefect_yaml_entrypoints_load_and_parameters_match(monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = yaml.safe_load((DEPLOYMENTS / "prefect.yaml").read_text())
    assert spec["deployments"]
    for deployment in spec["deployments"]:
        flow = load_flow_from_entrypoint(deployment["entrypoint"])
        accepted = set(flow.parameters.properties)
        assert {"credentials", "instance"} <= accepted
        assert set(deployment["parameters"]) <= accepted, deployment["name"]
        assert deployment["work_pool"]["name"] == "dhis2"
        assert deployment["schedules"][0]["cron"]


def test_deploy_script_builds_one_set_per_instance():
    spec = importlib.util.spec_from_file_location("dhis2_deploy", DEPLOYMENTS / "deploy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dhis2_deploy"] = module
    spec.loader.exec_module(module)
    deployments = module.build("moh-test", "/data/x")
    assert len(deployments) == 4
    for deployment in deployments:
        assert deployment.name.startswith("moh-test-")
        assert deployment.parameters["instance"] == "moh-test"
        assert deployment.schedules
