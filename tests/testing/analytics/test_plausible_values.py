"""The emulator's maternal and child health figures relate as real HMIS figures do."""

from __future__ import annotations

import httpx

from prefect_dhis2.testing import Dhis2Emulator

ANC = ["ANC 1st visit", "ANC 2nd visit", "ANC 3rd visit", "ANC 4th or more visits"]
CASCADE = [
    "BCG doses given",
    "Penta 1 doses given",
    "Penta 3 doses given",
    "Measles doses given",
    "Fully immunized child",
]
COVERAGE = ["ANC 1 Coverage", "Penta 3 coverage <1y", "Measles coverage <1y"]
POPULATION = ["Total population", "Population < 1 year"]


def _by_district(
    dhis2: Dhis2Emulator, names: list[str], period: str
) -> dict[str, dict[str, float]]:
    with httpx.Client(base_url=dhis2.base_url, auth=("admin", "district"), timeout=60) as http:
        ids: dict[str, str] = {}
        for kind in ("dataElements", "indicators"):
            listing = http.get(f"/api/{kind}", params={"paging": "false", "fields": "id,name"})
            ids.update({r["name"]: r["id"] for r in listing.json()[kind] if r["name"] in names})
        assert sorted(ids) == sorted(names)
        answer = http.get(
            "/api/analytics",
            params=[
                ("dimension", "dx:" + ";".join(ids[n] for n in names)),
                ("dimension", "ou:LEVEL-2"),
                ("filter", f"pe:{period}"),
            ],
        )
        answer.raise_for_status()
    name_of = {uid: name for name, uid in ids.items()}
    table: dict[str, dict[str, float]] = {}
    for dx, ou, value in answer.json()["rows"]:
        table.setdefault(ou, {})[name_of[dx]] = float(value)
    return table


def test_anc_visits_drop_out_and_the_immunisation_cascade_holds_in_every_district(
    dhis2: Dhis2Emulator,
) -> None:
    table = _by_district(dhis2, ANC + CASCADE, "2023")
    assert len(table) == 13  # Sierra Leone's districts
    for district, values in table.items():
        anc = [values[n] for n in ANC]
        doses = [values[n] for n in CASCADE]
        assert anc == sorted(anc, reverse=True), (district, anc)
        assert doses == sorted(doses, reverse=True), (district, doses)
        assert 0.05 < 1 - values["Penta 3 doses given"] / values["Penta 1 doses given"] < 0.2


def test_coverage_indicators_land_where_real_ones_do(dhis2: Dhis2Emulator) -> None:
    table = _by_district(dhis2, COVERAGE + POPULATION, "2023")
    for district, values in table.items():
        assert 80 <= values["ANC 1 Coverage"] <= 110, (district, values)
        assert 65 <= values["Penta 3 coverage <1y"] <= 100, (district, values)
        assert 60 <= values["Measles coverage <1y"] <= 100, (district, values)
        share = values["Population < 1 year"] / values["Total population"]
        assert 0.03 <= share <= 0.05, (district, share)
