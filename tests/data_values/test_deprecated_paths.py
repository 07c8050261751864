"""Old data value names and paths keep working for one release, with a warning."""

from __future__ import annotations

import asyncio
import importlib

import pytest

from prefect_dhis2.data_values import extract, imports, rows, tasks

OLD_NAMES = [
    ("prefect_dhis2.data_values", "fetch_data_values_async", extract.afetch_data_values),
    ("prefect_dhis2.data_values", "DATA_VALUE_COLUMNS", rows.DATA_VALUE_COLUMNS),
    ("prefect_dhis2.data_values", "REQUIRED_COLUMNS", rows.REQUIRED_COLUMNS),
    ("prefect_dhis2.data_values", "publish_import_artifacts", tasks.publish_import_artifacts),
    (
        "prefect_dhis2.data_values",
        "import_data_values_async",
        tasks.aimport_data_values_under_limit,
    ),
    (
        "prefect_dhis2.flows.data_values_flows",
        "DataValuesImportError",
        imports.DataValuesImportError,
    ),
]


@pytest.mark.parametrize(("old", "name", "new"), OLD_NAMES)
def test_an_old_name_resolves_to_its_new_object_with_a_warning(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} is deprecated: use "):
        value = getattr(module, name)
    assert value is new


def test_old_names_are_not_on_the_face():
    import prefect_dhis2.data_values as face
    import prefect_dhis2.flows.data_values_flows as flow_module

    for name in ("fetch_data_values_async", "import_data_values_async", "REQUIRED_COLUMNS"):
        assert name not in face.__all__
    assert "DataValuesImportError" not in flow_module.__all__
    assert "DataValuesImportError" in face.__all__


def test_the_old_import_coroutine_still_runs_the_import(monkeypatch):
    # Every request now holds a slot of its host's budget (prefect_dhis2.client.budget),
    # so the old per-chunk limit name needs no slot of its own: it is accepted and dropped.
    seen: dict[str, object] = {}

    async def fake_import(client, rows, *, slot=None, **options):
        seen.update(options, slot=slot)
        return "result"

    monkeypatch.setattr(tasks, "aimport_data_values", fake_import)
    import prefect_dhis2.data_values as face

    with pytest.warns(DeprecationWarning, match="import_data_values_async"):
        old = face.import_data_values_async
    result = asyncio.run(old(None, [], concurrency_limit="dhis2-example-org", dry_run=False))
    assert result == "result"
    assert seen == {"dry_run": False, "slot": None}
