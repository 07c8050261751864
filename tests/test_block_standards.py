"""Prefect's own standards for blocks, applied to every prefect-dhis2 block."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from prefect.utilities.dispatch import get_registry_for_type
from prefect.utilities.importtools import to_qualified_name

import prefect_dhis2  # noqa: F401  (registers the blocks)


def _our_blocks() -> list[type[Block]]:
    registry = get_registry_for_type(Block) or {}
    return [
        block for block in registry.values() if to_qualified_name(block).startswith("prefect_dhis2")
    ]


def test_the_package_defines_blocks():
    assert {b.__name__ for b in _our_blocks()} == {"Dhis2Credentials"}


@pytest.mark.parametrize("block", _our_blocks(), ids=lambda b: b.__name__)
class TestAllBlocksAdhereToStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self, block: type[Block]) -> type[Block]:
        return block

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        # The suite downloads the logo, and tests run offline; check what can be
        # checked without the network.
        logo = block._logo_url
        assert logo is not None and str(logo).startswith("https://")
