"""The deployment examples load and describe what they claim."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[2]
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
        if flow.name != "dhis2-data-values-import":  # started on demand, with a file
            assert deployment["schedules"][0]["cron"]
        assert flow.on_failure_hooks and flow.on_crashed_hooks  # runs that fail say so
    flows = {load_flow_from_entrypoint(d["entrypoint"]).name for d in spec["deployments"]}
    from prefect_dhis2 import flows as bundled

    assert flows == {getattr(bundled, name).name for name in bundled.__all__}


def test_the_instances_of_one_export_differ_only_by_their_block():
    spec = yaml.safe_load((DEPLOYMENTS / "prefect.yaml").read_text())
    nightly = [d for d in spec["deployments"] if d["name"].endswith("org-units-nightly")]
    assert {d["parameters"]["instance"] for d in nightly} == {
        "moh-production",
        "moh-dev",
        "moh-staging",
    }
    for d in nightly:
        assert (
            d["parameters"]["output_dir"] == f"/data/dhis2/{d['parameters']['instance']}/org_units"
        )
        assert d["entrypoint"] == nightly[0]["entrypoint"]
        assert d["schedules"] == nightly[0]["schedules"]


def test_deploy_script_builds_one_set_per_instance():
    spec = importlib.util.spec_from_file_location("dhis2_deploy", DEPLOYMENTS / "deploy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dhis2_deploy"] = module
    spec.loader.exec_module(module)
    deployments = module.build("moh-test", "/data/x")
    flows = {d.flow_name for d in deployments}
    assert flows == {
        "dhis2-connection-check",
        "dhis2-org-units-export",
        "dhis2-metadata-export",
        "dhis2-geometry-export",
        "dhis2-metadata-quality",
        "dhis2-indicator-complexity",
        "dhis2-analytics-export",
        "dhis2-data-values-import",
        "dhis2-star-schema",
    }
    for deployment in deployments:
        assert deployment.name.startswith("moh-test-")
        assert deployment.parameters["instance"] == "moh-test"
        # Everything runs on a schedule except the import, which a person starts.
        assert bool(deployment.schedules) != (deployment.flow_name == "dhis2-data-values-import")
