"""Metadata quality: the checks, the weighted score and the green/amber/red rating."""

from __future__ import annotations

from prefect_dhis2.metadata.quality import score_metadata_quality
from tests.org_units.tree import UNITS


def test_quality_is_scored_and_rated():
    indicators = [
        {"id": "Uvn6LCg7dVU", "name": "ANC 1 Coverage", "code": "IN_1",
         "numerator": "#{fbfJHSPpUQD}", "denominator": "1"},
        {"id": "ReUHfIn0pTQ", "name": "Broken", "code": "IN_2",
         "numerator": "#{fbfJHSPpUQD} + #{Xq0MissngDE}", "denominator": "if(1,"},
    ]  # fmt: skip
    elements = [{"id": "fbfJHSPpUQD", "name": "ANC 1st visit", "code": "DE_1"},
                {"id": "cYeuwXTCPkU", "name": "anc 1st visit"}]  # fmt: skip
    orphan = {"id": "orphanUnit1", "name": "Lost", "level": 3, "parent": {"id": "noSuchUnit1"}}
    report = score_metadata_quality(
        org_units=[*UNITS, orphan],
        data_elements=elements,
        indicators=indicators,
        known_uids={"fbfJHSPpUQD", "cYeuwXTCPkU"},
    )
    checks = {c.name: c for c in report.checks}
    assert checks["data elements without a code"].failed == 1
    assert checks["data elements with a duplicate name"].failed == 2  # case-insensitive
    assert checks["org units whose parent is missing"].failed == 1
    assert checks["level 3 org units without geometry"].failed == 1  # the orphan
    broken = checks["indicators referencing missing objects"]
    assert broken.failed == 1
    assert "Xq0MissngDE" in broken.examples[0]["detail"]
    assert "denominator" in broken.examples[0]["detail"]
    expected = sum(c.weight * c.pass_rate for c in report.checks) / sum(
        c.weight for c in report.checks
    )
    assert report.score == round(100 * expected, 1)
    assert report.rating == ("green" if report.score >= 90 else
                             "amber" if report.score >= 75 else "red")  # fmt: skip
    clean_units = [*UNITS[:2], {**UNITS[2], "code": "OU_1"}]
    clean = score_metadata_quality(org_units=clean_units, data_elements=elements[:1],
                           indicators=indicators[:1], known_uids={"fbfJHSPpUQD"})  # fmt: skip
    assert clean.score == 100.0 and clean.rating == "green"


def test_examples_name_each_object_and_where_an_org_unit_sits():
    units = [
        {"id": "ImspTQPwCqd", "name": "Sierra Leone", "level": 1, "path": "/ImspTQPwCqd",
         "code": "OU_525"},
        {"id": "O6uvpzGd5pu", "name": "Bo", "level": 2, "parent": {"id": "ImspTQPwCqd"},
         "path": "/ImspTQPwCqd/O6uvpzGd5pu", "code": "OU_264"},
        {"id": "DiszpKrYNg8", "name": "Ngelehun CHC", "level": 3,
         "parent": {"id": "O6uvpzGd5pu"}, "path": "/ImspTQPwCqd/O6uvpzGd5pu/DiszpKrYNg8"},
    ]  # fmt: skip
    indicators = [{"id": "ReUHfIn0pTQ", "name": "ANC 1-3 Dropout", "code": "IN_1",
                   "numerator": "#{Xq0MissngDE}", "denominator": "1"}]  # fmt: skip
    report = score_metadata_quality(
        org_units=units, data_elements=[], indicators=indicators, known_uids=set()
    )
    checks = {c.name: c for c in report.checks}
    (no_code,) = checks["org units without a code"].examples
    assert no_code == {
        "id": "DiszpKrYNg8",
        "name": "Ngelehun CHC",
        "where": "Sierra Leone / Bo",
        "detail": "no code",
    }
    (broken,) = checks["indicators referencing missing objects"].examples
    assert broken["name"] == "ANC 1-3 Dropout" and "where" not in broken
