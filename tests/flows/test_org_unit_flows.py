"""The org unit and geometry flows against the emulator over HTTP, under a real
Prefect test server."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from prefect_dhis2.client import Dhis2AuthenticationError
from prefect_dhis2.flows import dhis2_geometry_export, dhis2_org_units_export
from prefect_dhis2.testing import Dhis2Emulator, FaultRule
from tests.flows.artifacts import latest_artifact


@pytest.fixture(autouse=True)
def _server(prefect_server: str) -> None:
    """Every test here runs flows against the session's Prefect test server."""


def _dataset_units(emulator: Dhis2Emulator) -> dict[str, dict[str, Any]]:
    dataset = emulator.state.dataset
    return {uid: dataset.get("organisationUnits", uid) for uid in dataset.ordered_ids(
        "organisationUnits")}  # fmt: skip


def test_org_units_export_rows_levels_and_geojson(dhis2_emulator: Dhis2Emulator, tmp_path: Path):
    report = dhis2_org_units_export(
        credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path)
    )
    units = _dataset_units(dhis2_emulator)
    assert report.result.org_units == len(units)
    assert report.result.levels == {1: "National", 2: "District", 3: "Chiefdom", 4: "Facility"}

    with open(tmp_path / "org_units.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(units)
    assert {r["id"] for r in rows} == set(units)
    for row in rows:
        unit = units[row["id"]]
        path_ids = unit["path"].strip("/").split("/")
        assert int(row["level"]) == unit["level"] == len(path_ids)
        assert int(row["path_depth"]) == len(path_ids)
        for level in range(1, 5):
            expected_id = path_ids[level - 1] if level <= len(path_ids) else ""
            assert row[f"level_{level}_id"] == expected_id
            expected_name = units[expected_id]["name"] if expected_id else ""
            assert row[f"level_{level}_name"] == expected_name
        if unit["level"] > 1:
            assert row["parent_id"] == unit["parent"]["id"]

    table = pq.read_table(tmp_path / "org_units.parquet")
    assert table.num_rows == len(units)
    assert str(table.schema.field("level").type) == "int64"
    assert str(table.schema.field("opening_date").type) == "date32[day]"
    assert sorted(table.column("id").to_pylist()) == sorted(units)

    geo = json.loads((tmp_path / "org_units.geojson").read_text())
    assert geo["type"] == "FeatureCollection"
    with_geometry = {u for u, o in units.items() if o.get("geometry")}
    assert {f["id"] for f in geo["features"]} == with_geometry
    assert report.result.with_geometry == len(with_geometry)
    assert report.result.without_geometry == len(units) - len(with_geometry)
    west, south, east, north = geo["bbox"]
    assert -13.5 <= west < east <= -10.0 and 6.5 <= south < north <= 10.5  # lon/lat order
    for feature in geo["features"]:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert geometry["type"] in {"Point", "Polygon", "MultiPolygon"}
        if geometry["type"] == "Point":
            lon, lat = geometry["coordinates"]
            assert west <= lon <= east and south <= lat <= north
    markdown = latest_artifact("dhis2-org-units-export").data
    assert f"{report.result.org_units:,}" in markdown and "level_2_name" in markdown
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temp files left


def test_geometry_export_districts(dhis2_emulator: Dhis2Emulator, tmp_path: Path):
    report = dhis2_geometry_export(
        credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path), level=2
    )
    geo = json.loads(Path(report.files["geojson"]).read_text())
    districts = dhis2_emulator.state.dataset.org_units_at_level(2)
    assert len(geo["features"]) + report.without_geometry == len(districts) == 13
    assert report.geometry_types.get("Polygon", 0) + report.geometry_types.get(
        "MultiPolygon", 0
    ) == len(geo["features"])
    assert geo["bbox"] == report.bbox
    for feature in geo["features"]:
        ring = feature["geometry"]["coordinates"][0]
        if feature["geometry"]["type"] == "MultiPolygon":
            ring = ring[0]
        assert ring[0] == ring[-1]  # closed rings
        assert all(-14 < lon < -10 and 6 < lat < 11 for lon, lat in ring)


def test_facility_geometry_reports_units_without_geometry(
    dhis2_emulator: Dhis2Emulator, tmp_path: Path
):
    report = dhis2_geometry_export(
        credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path), level=4
    )
    dataset = dhis2_emulator.state.dataset
    facilities = dataset.org_units_at_level(4)
    missing = [u for u in facilities if not dataset.get("organisationUnits", u).get("geometry")]
    assert missing, "the demo data set has facilities without coordinates"
    assert report.without_geometry == len(missing)
    with open(report.files["without_geometry"], newline="") as handle:
        assert sorted(r["id"] for r in csv.DictReader(handle)) == sorted(missing)


# -- bad input -----------------------------------------------------------------------


def test_unwritable_output_dir_fails_before_any_request(dhis2_emulator: Dhis2Emulator, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    before = len(dhis2_emulator.request_log)
    with pytest.raises(NotADirectoryError):
        dhis2_org_units_export(credentials=dhis2_emulator.credentials(), output_dir=str(blocker))
    assert len(dhis2_emulator.request_log) == before


def test_invalid_uid_and_level_fail_before_any_request(dhis2_emulator: Dhis2Emulator, tmp_path):
    before = len(dhis2_emulator.request_log)
    with pytest.raises(ValueError, match="Invalid org unit"):
        dhis2_geometry_export(
            credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path), root="not-a-uid"
        )
    with pytest.raises(ValueError, match="level must be"):
        dhis2_geometry_export(
            credentials=dhis2_emulator.credentials(), output_dir=str(tmp_path), level=0
        )
    assert len(dhis2_emulator.request_log) == before


def test_failed_export_leaves_no_complete_looking_file(
    dhis2_emulator_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from prefect_dhis2.org_units import export_org_units

    monkeypatch.setattr(export_org_units, "retry_delay_seconds", 0)
    emulator = dhis2_emulator_factory()
    creds = emulator.credentials().model_copy(update={"max_retries": 0})
    # Every org unit page after the first few fails: the export must fail as a whole.
    emulator.set_faults([FaultRule(path="/api/organisationUnits", kind="503", rate=1.0)])
    with pytest.raises(Exception, match="503"):
        dhis2_org_units_export(credentials=creds, output_dir=str(tmp_path), geojson=True)
    assert sorted(os.listdir(tmp_path)) == []


def test_html_answer_is_a_clear_error(tmp_path: Path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Html(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>Please log in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from prefect_dhis2 import Dhis2Credentials

        creds = Dhis2Credentials(
            base_url=f"http://127.0.0.1:{server.server_address[1]}", username="a", password="b"
        )
        with pytest.raises(Dhis2AuthenticationError, match="HTML page"):
            dhis2_org_units_export(credentials=creds, output_dir=str(tmp_path))
        assert os.listdir(tmp_path) == []
    finally:
        server.shutdown()
        server.server_close()


def test_csv_is_always_written(dhis2_emulator: Dhis2Emulator, tmp_path: Path):
    report = dhis2_org_units_export(
        credentials=dhis2_emulator.credentials(),
        output_dir=str(tmp_path),
        formats=["parquet"],
        geojson=False,
    )
    assert sorted(report.files) == ["org_units_csv", "org_units_parquet"]
    assert (tmp_path / "org_units.csv").exists()
