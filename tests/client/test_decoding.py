"""JSON bodies are decoded with the cyclic collector paused; grid rows become tuples."""

from __future__ import annotations

import gc

import orjson
import pytest

from prefect_dhis2.client.decoding import decode_grid, decode_json, decode_rows, encode_rows
from prefect_dhis2.models import AnalyticsGrid

GRID = {
    "headers": [{"name": "dx"}, {"name": "pe"}, {"name": "value"}],
    "rows": [["fbfJHSPpUQD", f"2024{m:02d}", str(m)] for m in range(1, 13)],
}


def test_grid_rows_become_tuples_and_the_rest_is_as_decoded():
    data = decode_grid(orjson.dumps(GRID))
    assert data["headers"] == GRID["headers"]
    assert data["rows"] == [tuple(row) for row in GRID["rows"]]
    assert all(type(row) is tuple for row in data["rows"])
    # Not a grid: an error message, an empty grid, a body without rows.
    message = {"httpStatusCode": 409, "errorCode": "E7128", "rows": "n/a"}
    assert decode_grid(orjson.dumps(message)) == message
    assert decode_grid(b'{"rows": []}') == {"rows": []}
    assert decode_grid(b"[1, 2]") == [1, 2]
    assert decode_json(orjson.dumps(GRID)) == GRID


def test_retained_rows_are_not_tracked_by_the_collector():
    rows = decode_grid(orjson.dumps(GRID))["rows"]
    gc.collect()
    # Tuples of strings are untracked once a collection has seen them: rows kept for
    # a whole extraction are never walked again.
    assert not any(gc.is_tracked(row) for row in rows)
    lists = decode_json(orjson.dumps(GRID))["rows"]
    gc.collect()
    assert all(gc.is_tracked(row) for row in lists)  # what lists would have cost


@pytest.mark.parametrize("form", ["grid", "stored"])
def test_no_collection_walks_the_decoded_row_lists(form):
    # The collection that runs as soon as the collector resumes must not meet the
    # lists orjson made for each row (it would walk and promote 2x the rows).
    rows = [[f"row{i}", "202401", str(i)] for i in range(5_000)]
    body = orjson.dumps({"rows": rows}) if form == "grid" else encode_rows(rows)
    del rows
    seen: list[int] = []

    def count_row_lists(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            young = gc.get_objects(generation=info["generation"])
            seen.append(
                sum(1 for o in young if type(o) is list and len(o) == 3 and o[1] == "202401")
            )

    gc.collect()
    gc.callbacks.append(count_row_lists)
    try:
        decoded = decode_grid(body)["rows"] if form == "grid" else decode_rows(body)
    finally:
        gc.callbacks.remove(count_row_lists)
    assert len(decoded) == 5_000 and decoded[7] == ("row7", "202401", "7")
    assert seen, "the collector resumed without a collection: nothing was checked"
    assert seen == [0] * len(seen)


@pytest.mark.parametrize("decode", [decode_json, decode_grid])
def test_the_collector_is_restored_also_on_error(decode):
    assert gc.isenabled()
    assert decode(b'{"a": 1}') == {"a": 1}
    assert gc.isenabled()
    with pytest.raises(orjson.JSONDecodeError):
        decode(b'{"rows": [["cut off')
    assert gc.isenabled()
    gc.disable()  # an application that runs without the collector keeps it so
    try:
        decode(b'{"a": 1}')
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_paused_while_decoding(monkeypatch):
    seen: list[bool] = []
    real = orjson.loads

    def spy(body: bytes) -> object:
        seen.append(gc.isenabled())
        return real(body)

    monkeypatch.setattr("prefect_dhis2.client.decoding.orjson.loads", spy)
    decode_grid(orjson.dumps(GRID))
    decode_json(b"{}")
    assert seen == [False, False]


def test_a_grid_given_with_list_rows_holds_tuples():
    grid = AnalyticsGrid.model_validate(GRID)
    assert grid.rows == [tuple(row) for row in GRID["rows"]]
    assert AnalyticsGrid.model_validate({"rows": grid.rows}).rows is not None
    assert grid.model_dump(mode="json")["rows"] == GRID["rows"]
    with pytest.raises(ValueError, match="rows must be a list of rows"):
        AnalyticsGrid.model_validate({"rows": ["not a row"]})


def test_stored_rows_come_back_as_the_same_tuples_and_bad_bodies_are_refused():
    rows = [("fbfJHSPpUQD", f"OU{i:05d}", "202401", f"{i}.5") for i in range(5000)]
    body = encode_rows(rows)
    assert decode_rows(body) == rows
    assert all(type(row) is tuple for row in decode_rows(body))
    assert len(body) * 5 < len(orjson.dumps(rows))  # compressed
    assert decode_rows(encode_rows([])) == []
    with pytest.raises(ValueError, match="not compressed JSON"):
        decode_rows(orjson.dumps(rows))
    with pytest.raises(ValueError, match="array of arrays"):
        decode_rows(encode_rows(["fbfJHSPpUQD"]))
    assert gc.isenabled()
