"""Old metadata names keep working for one release and say where the name lives now."""

from __future__ import annotations

import importlib

import pytest

from prefect_dhis2.metadata import quality

RENAMED = [
    ("QualityReport", quality.MetadataQualityResult),
    ("quality_report", quality.score_metadata_quality),
]


@pytest.mark.parametrize(("old", "new"), RENAMED)
def test_a_renamed_metadata_name_resolves_to_the_new_one_with_a_warning(old, new):
    module = importlib.import_module("prefect_dhis2.metadata")
    with pytest.warns(DeprecationWarning, match=rf"prefect_dhis2\.metadata\.{old} is deprecated"):
        value = getattr(module, old)
    assert value is new


def test_the_old_names_still_work_in_a_from_import():
    with pytest.warns(DeprecationWarning, match="MetadataQualityResult"):
        from prefect_dhis2.metadata import QualityReport
    assert QualityReport is quality.MetadataQualityResult


def test_the_names_the_indicators_area_imports_are_still_on_the_face():
    from prefect_dhis2.metadata import INDICATOR_FIELDS, fetch_metadata
    from prefect_dhis2.metadata.catalogue import INDICATOR_FIELDS as catalogue_fields
    from prefect_dhis2.metadata.tasks import fetch_metadata as fetch_task

    assert INDICATOR_FIELDS is catalogue_fields and fetch_metadata is fetch_task
