"""The generated demo dataset: shape, identifiers, hierarchy, geometry, references."""

from __future__ import annotations

import re
import time

from prefect_dhis2.testing.core.dataset import (
    BROKEN_REFERENCE,
    DISTRICTS,
    Dhis2Dataset,
    generate_dataset,
)
from prefect_dhis2.uids import is_valid_uid

REAL_DISTRICTS = {
    "O6uvpzGd5pu": "Bo", "fdc6uOvgoji": "Bombali", "lc3eMKXaEfw": "Bonthe",
    "jUb8gELQApl": "Kailahun", "PMa2VCrupOd": "Kambia", "kJq2mPyFEHo": "Kenema",
    "qhqAxPSTUXp": "Koinadugu", "Vth0fbpFcsO": "Kono", "jmIPBj66vD6": "Moyamba",
    "TEQlaapDQoK": "Port Loko", "bL4ooGhyHRQ": "Pujehun", "eIQbndfxQMb": "Tonkolili",
    "at6UHUQatSo": "Western Area",
}  # fmt: skip
ITEM = re.compile(r"#\{([A-Za-z0-9]{11})(?:\.([A-Za-z0-9]{11}))?\}|C\{([A-Za-z0-9]{11})\}")


def test_root_and_real_districts(dataset: Dhis2Dataset) -> None:
    root = dataset.get("organisationUnits", "ImspTQPwCqd")
    assert root is not None and root["name"] == "Sierra Leone" and root["level"] == 1
    districts = dataset.org_units_at_level(2)
    assert {u: dataset.name_of(u) for u in districts} == REAL_DISTRICTS
    assert {r["id"] for r in root["children"]} == set(REAL_DISTRICTS)


def test_levels_and_counts(dataset: Dhis2Dataset) -> None:
    counts = [len(dataset.org_units_at_level(level)) for level in (1, 2, 3, 4)]
    assert counts == [1, 13, 152, 1166]
    assert len(dataset.objects["organisationUnits"]) == 1332
    levels = {o["id"]: (o["name"], o["level"]) for o in dataset.list("organisationUnitLevels")}
    assert levels == {
        "H1KlN4QIauv": ("National", 1),
        "wjP19dkFeIk": ("District", 2),
        "tTUf91fCytl": ("Chiefdom", 3),
        "m9lBJogzE95": ("Facility", 4),
    }


def test_paths_parents_and_children_are_consistent(dataset: Dhis2Dataset) -> None:
    units = dataset.objects["organisationUnits"]
    for uid in units:
        unit = units[uid]
        assert is_valid_uid(uid)
        parts = unit["path"].strip("/").split("/")
        assert parts[-1] == uid and len(parts) == unit["level"]
        if unit["level"] > 1:
            parent = units[unit["parent"]["id"]]
            assert parent["path"] + "/" + uid == unit["path"]
            assert {"id": uid} in parent["children"]
        assert unit["leaf"] == (not unit["children"])
        assert [a["id"] for a in unit["ancestors"]] == parts[:-1]


def test_hierarchy_helpers_agree_with_paths(dataset: Dhis2Dataset) -> None:
    bo = "O6uvpzGd5pu"
    facilities = dataset.descendants(bo, level=4)
    by_path = [
        u
        for u in dataset.facility_ids
        if f"/{bo}/" in dataset.objects["organisationUnits"][u]["path"]
    ]
    assert sorted(facilities) == sorted(by_path) and facilities
    assert set(dataset.descendants(bo)) >= set(facilities) | set(dataset.children(bo))
    assert dataset.ancestors(facilities[0])[:2] == ["ImspTQPwCqd", bo]
    assert dataset.descendants(facilities[0], level=4) == [facilities[0]]


def test_geometry_types_and_bounds(dataset: Dhis2Dataset) -> None:
    units = dataset.objects["organisationUnits"]
    for uid in dataset.org_units_at_level(2):
        assert units[uid]["geometry"]["type"] == "Polygon"
    kinds = {"Point": 0, "none": 0}
    for uid in dataset.facility_ids:
        geometry = units[uid].get("geometry")
        if geometry is None:
            kinds["none"] += 1
            continue
        assert geometry["type"] == "Point"
        lon, lat = geometry["coordinates"]
        assert -13.3 <= lon <= -10.3 and 6.9 <= lat <= 10.0
        kinds["Point"] += 1
    assert kinds["Point"] > 1000 and kinds["none"] > 0
    chiefdom_polygons = [u for u in dataset.org_units_at_level(3) if "geometry" in units[u]]
    assert 0 < len(chiefdom_polygons) < 152


def test_facility_names_and_groups(dataset: Dhis2Dataset) -> None:
    units = dataset.objects["organisationUnits"]
    suffixes = ("CHP", "MCHP", "CHC", "Clinic", "Hospital")
    groups = {
        g["name"]: {r["id"] for r in g["organisationUnits"]}
        for g in dataset.list("organisationUnitGroups")
    }
    for uid in dataset.facility_ids:
        name = units[uid]["name"]
        suffix = next(s for s in suffixes if f" {s}" in name)
        assert uid in groups[suffix]
        assert (uid in groups["Urban"]) != (uid in groups["Rural"])


def test_anc_data_elements_and_combos(dataset: Dhis2Dataset) -> None:
    for uid, name in (("fbfJHSPpUQD", "ANC 1st visit"), ("cYeuwXTCPkU", "ANC 2nd visit"),
                      ("Jtf34kNZhzP", "ANC 3rd visit")):  # fmt: skip
        de = dataset.get("dataElements", uid)
        assert de is not None and de["name"] == name
        assert de["categoryCombo"] == {"id": "KYYSTxeVw28"}
    combo = dataset.get("categoryCombos", "KYYSTxeVw28")
    assert combo is not None
    cocs = {c["id"]: dataset.get("categoryOptionCombos", c["id"])["name"]  # type: ignore[index]
            for c in combo["categoryOptionCombos"]}  # fmt: skip
    assert cocs == {"pq2XI5kz2BY": "Fixed", "PT59n8BQbqM": "Outreach"}
    default = dataset.get("categoryCombos", "bjDvmb4bfuf")
    assert default is not None and default["categoryOptionCombos"] == [{"id": "HllvX50cXC0"}]
    assert len(dataset.objects["dataElements"]) >= 50
    combos_used = {d["categoryCombo"]["id"] for d in dataset.list("dataElements")}
    assert len(combos_used) >= 3  # default, location and age/sex combos


def test_every_indicator_reference_resolves_except_the_broken_one(dataset: Dhis2Dataset) -> None:
    broken = []
    for ind in dataset.list("indicators"):
        assert dataset.get("indicatorTypes", ind["indicatorType"]["id"]) is not None
        for expression in (ind["numerator"], ind["denominator"]):
            for de, coc, constant in ITEM.findall(expression):
                if constant:
                    ok = dataset.get("constants", constant) is not None
                else:
                    ok = dataset.get("dataElements", de) is not None and (
                        not coc or dataset.get("categoryOptionCombos", coc) is not None
                    )
                if not ok:
                    broken.append(ind["name"])
    assert broken == ["TB treatment success rate (legacy)"]
    assert BROKEN_REFERENCE in dataset.list("indicators")[-1]["denominator"] or any(
        BROKEN_REFERENCE in i["denominator"] for i in dataset.list("indicators")
    )
    expressions = " ".join(i["numerator"] + i["denominator"] for i in dataset.list("indicators"))
    assert "if(" in expressions and "isNull(" in expressions and "C{" in expressions
    assert any(i["annualized"] for i in dataset.list("indicators"))
    factors = sorted(t["factor"] for t in dataset.list("indicatorTypes"))
    assert factors == [1, 100, 1000]


def test_data_sets_are_assigned_to_facilities(dataset: Dhis2Dataset) -> None:
    facilities = set(dataset.facility_ids)
    for ds in dataset.list("dataSets"):
        members = {r["id"] for r in ds["organisationUnits"]}
        assert members and members <= facilities
        for dse in ds["dataSetElements"]:
            assert dataset.get("dataElements", dse["dataElement"]["id"]) is not None
    assert {ds["periodType"] for ds in dataset.list("dataSets")} >= {"Monthly"}


def test_generation_is_deterministic_and_seeded() -> None:
    a, b, c = generate_dataset(seed=5), generate_dataset(seed=5), generate_dataset(seed=6)
    assert a.org_units.ids == b.org_units.ids
    assert a.list("indicators") == b.list("indicators")
    assert a.org_units.ids[14:] != c.org_units.ids[14:]
    assert [d[0] for d in DISTRICTS] == c.org_units_at_level(2)


def test_scale_generation_keeps_the_shape() -> None:
    started = time.perf_counter()
    big = generate_dataset(org_units=30_000)
    elapsed = time.perf_counter() - started
    assert len(big.objects["organisationUnits"]) == 30_000
    counts = [len(big.org_units_at_level(level)) for level in (1, 2, 3, 4)]
    assert counts[:2] == [1, 13] and sum(counts) == 30_000 and counts[3] > 5 * counts[2]
    unit = big.objects["organisationUnits"][big.facility_ids[-1]]
    assert unit["level"] == 4 and unit["path"].startswith("/ImspTQPwCqd/")
    assert big.objects["organisationUnits"].lazy
    assert elapsed < 20  # generous: a guard against quadratic blow-ups, not a benchmark
