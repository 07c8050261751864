"""The old analytics import paths keep working for one release and say where to go now."""

from __future__ import annotations

import importlib

import pytest

from prefect_dhis2.analytics import extract, query, shards, tables, tidy

MOVED = [
    ("prefect_dhis2.analytics_query", "AnalyticsQuery", query),
    ("prefect_dhis2.analytics_query", "validate_data_item", query),
    ("prefect_dhis2.analytics_query", "validate_org_unit_item", query),
    ("prefect_dhis2.analytics_query", "validate_period_item", query),
    ("prefect_dhis2.shards", "plan_shards", shards),
    ("prefect_dhis2.shards", "bisect_shard", shards),
    ("prefect_dhis2.shards", "Shard", shards),
    ("prefect_dhis2.shards", "DEFAULT_MAX_URL_LENGTH", shards),
    ("prefect_dhis2.tidy", "tidy_rows", tidy),
    ("prefect_dhis2.tidy", "tidy_columns", tidy),
    ("prefect_dhis2.tidy", "NUMBER_COLUMNS", tidy),
    ("prefect_dhis2.analytics", "MIN_SHARD_ROWS", extract),
    ("prefect_dhis2.analytics", "SPLIT_ERROR_CODES", extract),
    ("prefect_dhis2.flows.analytics_flows", "write_analytics_table", tables),
    ("prefect_dhis2.flows.analytics_flows", "summarise_extract", tables),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_a_moved_analytics_name_is_served_from_its_new_home_with_a_warning(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(
        DeprecationWarning, match=rf"{old}\.{name} is deprecated: use {new.__name__}\.{name}"
    ):
        value = getattr(module, name)
    assert value is getattr(new, name)


@pytest.mark.parametrize("old", ["prefect_dhis2.analytics_query", "prefect_dhis2.analytics"])
def test_an_unknown_or_private_name_is_still_an_attribute_error(old):
    module = importlib.import_module(old)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018
    if old != "prefect_dhis2.analytics":
        with pytest.raises(AttributeError):
            module._call_args  # noqa: B018 - private names are not served


def test_the_old_names_are_not_part_of_the_face():
    import prefect_dhis2.analytics as face

    for old in ("extract_analytics", "MIN_SHARD_ROWS", "SPLIT_ERROR_CODES"):
        assert old not in face.__all__


async def test_extract_analytics_warns_and_turns_a_limit_name_into_a_slot(monkeypatch, credentials):
    import prefect_dhis2.analytics as face
    import prefect_dhis2.host_limit

    with pytest.warns(
        DeprecationWarning, match="use prefect_dhis2.analytics.afetch_analytics_table"
    ):
        from prefect_dhis2.analytics import extract_analytics

    limits: list[str] = []
    real_host_slot = prefect_dhis2.host_limit.host_slot

    def host_slot(name: str | None):
        limits.append(name)
        return real_host_slot(None)  # no Prefect server needed: no budget beyond the workers

    monkeypatch.setattr(prefect_dhis2.host_limit, "host_slot", host_slot)
    q = face.AnalyticsQuery(
        data_items=["fbfJHSPpUQD"], org_units=["ImspTQPwCqd"], periods=["2024Q1", "2024Q2"]
    )
    async with credentials.get_async_client() as client:
        old = await extract_analytics(client, q, concurrency_limit="dhis2-emulator", max_rows=1)
        new = await face.afetch_analytics_table(client, q, max_rows=1)
    assert limits == ["dhis2-emulator"]
    assert old.complete and old.shards_planned == new.shards_planned == 2
    assert sorted(old.rows) == sorted(new.rows) and old.rows
