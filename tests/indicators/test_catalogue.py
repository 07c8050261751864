"""The expression catalogue: built from metadata in hand, or read from a client."""

from __future__ import annotations

from typing import Any, Self

import pytest

from prefect_dhis2.client.errors import Dhis2NotFoundError, Dhis2PermissionError
from prefect_dhis2.indicators import afetch_expression_catalogue, fetch_expression_catalogue
from prefect_dhis2.indicators.catalogue import EXPRESSION_SOURCES, build_catalogue

ANC1 = "fbfJHSPpUQD"
INDICATORS: list[dict[str, Any]] = [
    {
        "id": "ReUHfIn0pTQ",
        "name": "ANC 1-3 Dropout Rate",
        "numerator": f"#{{{ANC1}}} - #{{Jtf34kNZhzP}}",
        "denominator": f"#{{{ANC1}}}",
    },
]


def test_catalogue_from_metadata_and_forbidden_collections():
    metadata = {
        "indicators": INDICATORS,
        "dataElements": [{"id": ANC1, "name": "ANC 1st visit"}],
        "dataSets": [{"id": "QX4ZTUbOt3a", "name": "RH",
                      "dataSetElements": [{"dataElement": {"id": ANC1}}]}],
    }  # fmt: skip
    catalogue = build_catalogue(metadata, {"programs": "forbidden (403)"}, forbidden=["programs"])
    assert catalogue.names[ANC1] == "ANC 1st visit"
    assert catalogue.names["ReUHfIn0pTQ"] == "ANC 1-3 Dropout Rate"
    assert {"programs", "org_units"} <= catalogue.unchecked_kinds
    assert "data_elements" not in catalogue.unchecked_kinds
    assert catalogue.data_set_elements == {"QX4ZTUbOt3a": {ANC1}}
    assert {ANC1, "QX4ZTUbOt3a", "ReUHfIn0pTQ"} <= catalogue.known_uids


class _FakeClient:
    """Stands in for an `AsyncDhis2Client`: answers `fetch_metadata` per collection."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def fetch_metadata(self, collection: str, *, fields: str = "") -> list[dict[str, Any]]:
        self.calls.append(collection)
        answer = self.answers.get(collection, [])
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _FakeCredentials:
    """Stands in for a `Dhis2Credentials` block that hands out the fake client."""

    def __init__(self, client: _FakeClient) -> None:
        self.client = client

    def get_async_client(self) -> _FakeClient:
        return self.client


def test_fetch_catalogue_tolerates_missing_and_forbidden_optional_collections():
    fake = _FakeClient(
        {
            "indicators": INDICATORS,
            "programIndicators": Dhis2NotFoundError("GET /api/programIndicators -> HTTP 404"),
            "validationRules": Dhis2PermissionError("GET /api/validationRules -> HTTP 403"),
        }
    )
    credentials: Any = _FakeCredentials(fake)
    catalogue = fetch_expression_catalogue.fn(credentials=credentials, max_workers=2)
    assert set(fake.calls) == set(EXPRESSION_SOURCES)
    assert catalogue.indicators == INDICATORS
    assert catalogue.program_indicators == [] and catalogue.validation_rules == []
    assert catalogue.unavailable == {
        "programIndicators": "absent (404)",
        "validationRules": "forbidden (403)",
    }
    # A 404 list is known to be empty; a 403 list is unknown, so not checked.
    assert "program_indicators" not in catalogue.unchecked_kinds


async def test_fetch_catalogue_requires_indicators():
    fake = _FakeClient({"indicators": Dhis2NotFoundError("GET /api/indicators -> HTTP 404")})
    client: Any = fake
    with pytest.raises(Dhis2NotFoundError):
        await afetch_expression_catalogue(client)
    assert set(fake.calls) == set(EXPRESSION_SOURCES)
