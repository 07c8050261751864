"""Metadata lists over HTTP: pager, paging links, fields, filters, order, errors."""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from prefect_dhis2.testing import Dhis2Dataset, Dhis2Emulator


def test_default_list_is_id_and_display_name_with_exact_pager(api: httpx.Client) -> None:
    response = api.get("/api/organisationUnits")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["pager", "organisationUnits"]
    pager = body["pager"]
    assert list(pager) == ["page", "total", "pageSize", "nextPage", "pageCount"]
    assert pager["total"] == 1332 and pager["pageSize"] == 50 and pager["pageCount"] == 27
    assert all(list(row) == ["id", "displayName"] for row in body["organisationUnits"])
    names = [row["displayName"] for row in body["organisationUnits"]]
    assert names == sorted(names)  # default order is by name


def test_next_and_prev_links_are_absolute_and_keep_params(
    api: httpx.Client, dhis2: Dhis2Emulator
) -> None:
    params = {"fields": "id,name", "filter": "level:eq:4", "pageSize": "100", "page": "2"}
    pager = api.get("/api/organisationUnits", params=params).json()["pager"]
    assert list(pager) == ["page", "total", "pageSize", "nextPage", "prevPage", "pageCount"]
    base = f"{dhis2.base_url}/api/organisationUnits"
    assert pager["nextPage"] == f"{base}?page=3&pageSize=100&fields=id%2Cname&filter=level%3Aeq%3A4"
    # The link back to page 1 carries no page parameter.
    assert pager["prevPage"] == f"{base}?pageSize=100&fields=id%2Cname&filter=level%3Aeq%3A4"
    page3 = api.get("/api/organisationUnits?page=3&pageSize=100&fields=id,name&filter=level:eq:4")
    assert page3.json()["pager"]["prevPage"].startswith(f"{base}?page=2&pageSize=100&")


def test_links_keep_version_segment_and_json_suffix(
    api: httpx.Client, dhis2: Dhis2Emulator
) -> None:
    pager = api.get("/api/40/dataElements.json", params={"pageSize": 10}).json()["pager"]
    assert pager["nextPage"] == f"{dhis2.base_url}/api/40/dataElements.json?page=2&pageSize=10"


def test_forwarded_headers_shape_the_links(api: httpx.Client) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "dhis2.example.org:443"}
    pager = api.get("/api/indicators?pageSize=5", headers=headers).json()["pager"]
    assert pager["nextPage"] == "https://dhis2.example.org/api/indicators?page=2&pageSize=5"


def test_following_next_page_walks_every_object_once(api: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = "/api/organisationUnits?fields=id&pageSize=400"
    pages = 0
    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["organisationUnits"]]
        url = body["pager"].get("nextPage")
        pages += 1
    assert pages == math.ceil(1332 / 400) and len(seen) == len(set(seen)) == 1332
    last = api.get("/api/organisationUnits?fields=id&pageSize=400&page=4").json()
    assert "nextPage" not in last["pager"] and len(last["organisationUnits"]) == 1332 - 1200


def test_paging_false_has_no_pager(api: httpx.Client) -> None:
    body = api.get("/api/organisationUnits?paging=false&fields=id").json()
    assert list(body) == ["organisationUnits"] and len(body["organisationUnits"]) == 1332


def test_page_below_one_is_page_one(api: httpx.Client) -> None:
    assert api.get("/api/indicators?page=0").json()["pager"]["page"] == 1


@pytest.mark.parametrize(
    ("fields", "expected_keys"),
    [
        ("id,name,level", ["id", "name", "level"]),
        (":identifiable", ["id", "name", "code", "created", "lastUpdated"]),
        (":nameable", ["id", "name", "shortName", "code", "created", "lastUpdated"]),
        ("id,name~rename(label),children~size", ["id", "label", "children"]),
        ("id,unknownField", ["id"]),
    ],
)
def test_fields_selection(api: httpx.Client, fields: str, expected_keys: list[str]) -> None:
    unit = api.get("/api/organisationUnits/O6uvpzGd5pu", params={"fields": fields}).json()
    assert sorted(unit) == sorted(expected_keys)


def test_fields_all_exclusion_nesting_and_transformers(
    api: httpx.Client, dataset: Dhis2Dataset
) -> None:
    bo = dataset.get("organisationUnits", "O6uvpzGd5pu")
    assert bo is not None
    unit = api.get("/api/organisationUnits/O6uvpzGd5pu?fields=:all,!children,!ancestors").json()
    assert "children" not in unit and "ancestors" not in unit and unit["path"] == bo["path"]
    nested = api.get(
        "/api/organisationUnits/O6uvpzGd5pu",
        params={"fields": "parent[id,name],children[id,name,children~size]~size,"
                          "organisationUnitGroups~isEmpty,dataSets~isNotEmpty,children~pluck"},
    ).json()  # fmt: skip
    assert nested["parent"] == {"id": "ImspTQPwCqd", "name": "Sierra Leone"}
    assert nested["organisationUnitGroups"] is True and nested["dataSets"] is False
    assert sorted(nested["children"]) == sorted(r["id"] for r in bo["children"])
    dotted = api.get("/api/organisationUnits/O6uvpzGd5pu?fields=id,parent.name").json()
    assert dotted == {"id": "O6uvpzGd5pu", "parent": {"name": "Sierra Leone"}}
    paren = api.get(
        "/api/dataElements/fbfJHSPpUQD?fields=categoryCombo(categoryOptionCombos(name))"
    )
    assert paren.json() == {
        "categoryCombo": {"categoryOptionCombos": [{"name": "Fixed"}, {"name": "Outreach"}]}
    }
    pluck = api.get("/api/categoryCombos/KYYSTxeVw28?fields=categoryOptionCombos~pluck(name)")
    assert pluck.json() == {"categoryOptionCombos": ["Fixed", "Outreach"]}


def test_single_object_defaults_to_all_fields(api: httpx.Client, dataset: Dhis2Dataset) -> None:
    assert api.get("/api/dataElements/fbfJHSPpUQD").json() == dataset.get(
        "dataElements", "fbfJHSPpUQD"
    )


@pytest.mark.parametrize("fields", ["id,name]", "id,#name", "name~", "id,(name)"])
def test_fields_syntax_errors_are_400_web_messages(api: httpx.Client, fields: str) -> None:
    response = api.get("/api/dataElements", params={"fields": fields})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["httpStatus", "httpStatusCode", "status", "message"]
    assert body["httpStatus"] == "Bad Request" and body["status"] == "ERROR"


def _ids(api: httpx.Client, path: str, **params: object) -> list[str]:
    body = api.get(path, params={"paging": "false", "fields": "id", **params}).json()
    return [row["id"] for row in next(v for k, v in body.items() if isinstance(v, list))]


def test_filter_operators(api: httpx.Client, dataset: Dhis2Dataset) -> None:
    des = dataset.list("dataElements")
    names = {d["id"]: d["name"] for d in des}

    def expect(filter_: str, predicate: object) -> None:
        got = set(_ids(api, "/api/dataElements", filter=filter_))
        want = {uid for uid, name in names.items() if predicate(name)}  # type: ignore[operator]
        assert got == want, filter_

    expect("name:eq:ANC 1st visit", lambda n: n == "ANC 1st visit")
    expect("name:!eq:ANC 1st visit", lambda n: n != "ANC 1st visit")
    expect("name:ieq:anc 1st VISIT", lambda n: n == "ANC 1st visit")
    expect("name:like:visit", lambda n: "visit" in n)
    expect("name:like:VISIT", lambda n: "VISIT" in n)
    expect("name:ilike:VISIT", lambda n: "visit" in n.lower())
    expect("name:!ilike:visit", lambda n: "visit" not in n.lower())
    expect("name:$like:ANC", lambda n: n.startswith("ANC"))
    expect("name:!$like:ANC", lambda n: not n.startswith("ANC"))
    expect("name:like$:given", lambda n: n.endswith("given"))
    expect("name:$ilike:anc", lambda n: n.lower().startswith("anc"))
    expect("name:startsWith:anc", lambda n: n.lower().startswith("anc"))
    expect("name:ilike$:GIVEN", lambda n: n.lower().endswith("given"))
    expect("name:endsWith:GIVEN", lambda n: n.lower().endswith("given"))
    expect("name:token:anc vis", lambda n: n.startswith("ANC") and "visit" in n)
    expect(
        "name:in:[ANC 1st visit,ANC 2nd visit]", lambda n: n in ("ANC 1st visit", "ANC 2nd visit")
    )
    expect(
        "name:!in:[ANC 1st visit,ANC 2nd visit]",
        lambda n: n not in ("ANC 1st visit", "ANC 2nd visit"),
    )
    expect("name:gt:T", lambda n: n > "T")
    expect("name:le:B", lambda n: n <= "B")
    expect("description:null", lambda n: True)
    expect("code:!null", lambda n: True)


def test_filters_on_references_collections_and_sizes(
    api: httpx.Client, dataset: Dhis2Dataset
) -> None:
    assert sorted(_ids(api, "/api/organisationUnits", filter="parent.id:eq:O6uvpzGd5pu")) == sorted(
        dataset.children("O6uvpzGd5pu")
    )
    in_bo = _ids(api, "/api/organisationUnits", filter="path:like:/O6uvpzGd5pu/")
    assert sorted(in_bo) == sorted(dataset.descendants("O6uvpzGd5pu"))
    leaves = _ids(api, "/api/organisationUnits", filter="children:eq:0")
    assert sorted(leaves) == sorted(dataset.facility_ids)
    ds = "BfMAe6Itzgt"
    members = _ids(api, "/api/dataElements", filter=f"dataSetElements.dataSet.id:eq:{ds}")
    expected = [d["dataElement"]["id"] for d in dataset.get("dataSets", ds)["dataSetElements"]]  # type: ignore[index]
    assert sorted(members) == sorted(expected)
    level3 = _ids(api, "/api/organisationUnits", filter="level:eq:3")
    assert len(level3) == 152
    chp = _ids(api, "/api/organisationUnits", filter="organisationUnitGroups.id:eq:uYxK4wmcPqA")
    group = dataset.get("organisationUnitGroups", "uYxK4wmcPqA")
    assert group is not None and sorted(chp) == sorted(r["id"] for r in group["organisationUnits"])
    by_parent_name = _ids(api, "/api/organisationUnits", filter="parent.name:eq:Bo")
    assert sorted(by_parent_name) == sorted(dataset.children("O6uvpzGd5pu"))
    assert _ids(api, "/api/dataElements", filter="identifiable:token:ANC 1st") == ["fbfJHSPpUQD"]


def test_root_junction_and_repeated_filters(api: httpx.Client) -> None:
    both = _ids(api, "/api/dataElements", filter=["name:$like:ANC", "name:like:1st"])
    assert both == ["fbfJHSPpUQD"]
    either = _ids(
        api, "/api/dataElements", filter=["name:eq:ANC 1st visit", "name:eq:ANC 2nd visit"],
        rootJunction="OR",
    )  # fmt: skip
    assert sorted(either) == sorted(["fbfJHSPpUQD", "cYeuwXTCPkU"])
    comma = _ids(api, "/api/dataElements", filter="name:$like:ANC,name:like:2nd")
    assert comma == ["cYeuwXTCPkU"]


def test_query_param_and_org_unit_level_params(api: httpx.Client, dataset: Dhis2Dataset) -> None:
    assert _ids(api, "/api/dataElements", query="fbfJHSPpUQD") == ["fbfJHSPpUQD"]
    assert set(_ids(api, "/api/dataElements", query="anc 3rd")) == {"Jtf34kNZhzP"}
    assert sorted(_ids(api, "/api/organisationUnits", level=2)) == sorted(
        dataset.org_units_at_level(2)
    )
    assert len(_ids(api, "/api/organisationUnits", maxLevel=2)) == 14
    assert _ids(api, "/api/organisationUnits", userOnly="true") == ["ImspTQPwCqd"]


@pytest.mark.parametrize(
    ("order", "key", "reverse"),
    [("name:desc", lambda n: n, True), ("name:iasc", str.lower, False), ("code:asc", None, False)],
)
def test_order(api: httpx.Client, order: str, key: object, reverse: bool) -> None:
    body = api.get("/api/dataElements", params={"order": order, "fields": "name,code",
                                                 "paging": "false"}).json()  # fmt: skip
    values = [r["code" if key is None else "name"] for r in body["dataElements"]]
    assert values == sorted(values, key=key or (lambda v: v), reverse=reverse)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ("name:xx:ANC", "`xx` is not a valid operator."),
        ("foo:eq:1", "Unknown path property: foo"),
        ("abc", "Invalid filter => abc"),
    ],
)
def test_filter_errors_are_409_web_messages(api: httpx.Client, filter_: str, message: str) -> None:
    response = api.get("/api/dataElements", params={"filter": filter_})
    assert response.status_code == 409
    assert response.json() == {
        "httpStatus": "Conflict", "httpStatusCode": 409, "status": "ERROR", "message": message,
    }  # fmt: skip


def test_unknown_object_is_404_e1005_with_key_order(api: httpx.Client) -> None:
    response = api.get("/api/dataElements/abcdefghijk")
    assert response.status_code == 404
    assert json.loads(response.text, object_pairs_hook=list) == [
        ("httpStatus", "Not Found"), ("httpStatusCode", 404), ("status", "ERROR"),
        ("message", "DataElement with id abcdefghijk could not be found."), ("errorCode", "E1005"),
    ]  # fmt: skip


def test_org_unit_include_params(api: httpx.Client, dataset: Dhis2Dataset) -> None:
    bo = "O6uvpzGd5pu"
    children = _ids(api, f"/api/organisationUnits/{bo}", includeChildren="true")
    assert children[0] == bo and sorted(children[1:]) == sorted(dataset.children(bo))
    desc = _ids(api, f"/api/organisationUnits/{bo}", includeDescendants="true")
    assert desc[0] == bo and sorted(desc[1:]) == sorted(dataset.descendants(bo))
    facility = dataset.descendants(bo, level=4)[0]
    anc = _ids(api, f"/api/organisationUnits/{facility}", includeAncestors="true")
    assert anc == [facility, *dataset.ancestors(facility)]
    rel = _ids(api, f"/api/organisationUnits/{bo}", level="2")
    assert sorted(rel) == sorted(dataset.descendants(bo, level=4))


def test_org_unit_levels_and_filled_levels(api: httpx.Client) -> None:
    levels = api.get("/api/organisationUnitLevels?fields=id,name,level&order=level:asc").json()
    assert [lv["level"] for lv in levels["organisationUnitLevels"]] == [1, 2, 3, 4]
    filled = api.get("/api/filledOrganisationUnitLevels").json()
    assert isinstance(filled, list) and [lv["level"] for lv in filled] == [1, 2, 3, 4]


def test_metadata_export(api: httpx.Client, dataset: Dhis2Dataset) -> None:
    body = api.get(
        "/api/metadata",
        params={"dataElements": "true", "indicators": "true", "dataElements:fields": "id,name",
                "dataElements:filter": "name:$like:ANC"},
    ).json()  # fmt: skip
    assert list(body) == ["system", "dataElements", "indicators"]
    assert set(body["system"]) == {"id", "rev", "version", "date"}
    assert {d["name"] for d in body["dataElements"]} == {
        "ANC 1st visit", "ANC 2nd visit", "ANC 3rd visit", "ANC 4th or more visits"
    }  # fmt: skip
    indicator = body["indicators"][0]
    assert "displayName" not in indicator and "numerator" in indicator  # :owner by default
    assert len(body["indicators"]) == len(dataset.objects["indicators"])
    everything = api.get("/api/metadata").json()
    assert {"organisationUnits", "categoryOptionCombos", "constants"} <= set(everything)


def test_versioned_and_suffixed_paths_match_plain_ones(api: httpx.Client) -> None:
    plain = api.get("/api/indicators?fields=id,name").json()["indicators"]
    assert api.get("/api/41/indicators.json?fields=id,name").json()["indicators"] == plain


def test_next_page_query_roundtrip_matches_params(api: httpx.Client) -> None:
    pager = api.get("/api/dataElements?fields=id&filter=name:ilike:a&pageSize=7").json()["pager"]
    query = dict(parse_qsl(urlsplit(pager["nextPage"]).query))
    assert query == {"page": "2", "pageSize": "7", "fields": "id", "filter": "name:ilike:a"}
