"""Old import paths keep working for one release and say where the name lives now."""

from __future__ import annotations

import importlib

import pytest

from prefect_dhis2 import credentials as credentials_module
from prefect_dhis2 import host_limit, markdown, runtime, work_queue, writers

MOVED = [
    ("prefect_dhis2.flow_support", "Dhis2FlowReport", runtime),
    ("prefect_dhis2.flow_support", "run_logger", runtime),
    ("prefect_dhis2.flow_support", "run_sync", runtime),
    ("prefect_dhis2.flow_support", "retry_transient_failures", runtime),
    ("prefect_dhis2.flow_support", "resolve_credentials", credentials_module),
    ("prefect_dhis2.flow_support", "resolve_output_dir", writers),
    ("prefect_dhis2.flow_support", "resolve_table_formats", writers),
    ("prefect_dhis2.flow_support", "markdown_table", markdown),
    ("prefect_dhis2.flow_support", "host_concurrency_limit_name", host_limit),
    ("prefect_dhis2.host_budget", "WorkQueue", work_queue),
    ("prefect_dhis2.host_budget", "ensure_host_concurrency_limit", host_limit),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_a_moved_name_is_served_from_its_new_home_with_a_warning(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(
        DeprecationWarning, match=rf"{old}\.{name} is deprecated: use {new.__name__}"
    ):
        value = getattr(module, name)
    assert value is getattr(new, name)


def test_an_unknown_name_of_a_deprecated_module_is_an_attribute_error():
    module = importlib.import_module("prefect_dhis2.flow_support")
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018


async def test_the_old_host_budget_runner_still_runs_with_a_warning():
    from prefect_dhis2.host_budget import run_in_host_budget

    done: list[int] = []

    async def handle(item: int) -> None:
        done.append(item)

    with pytest.warns(DeprecationWarning, match="run_queue"):
        await run_in_host_budget([1, 2, 3], handle, workers=2)
    assert sorted(done) == [1, 2, 3]
