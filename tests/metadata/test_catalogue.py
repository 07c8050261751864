"""The metadata catalogue: collection names checked before any request."""

from __future__ import annotations

import pytest

from prefect_dhis2.metadata.catalogue import validate_metadata_type


def test_unknown_metadata_type_suggests_names():
    with pytest.raises(ValueError, match="Did you mean dataElements"):
        validate_metadata_type("dataElement")
