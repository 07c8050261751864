"""Every public face of the package, pinned (as httpx pins its own).

For each face: every name in `__all__` exists, every public name the module binds is
in `__all__`, and `__all__` is exactly the list below, so that a change to the public
API is a deliberate change to this file. Modules inside the area packages
(`prefect_dhis2.analytics.extract`, ...) are rooms, not faces: their names reach users
through the package face.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

FACES: dict[str, str] = {
    "prefect_dhis2": """
        Dhis2Credentials __version__
    """,
    "prefect_dhis2.credentials": """
        DEMO_BASE_URL DEMO_PASSWORD DEMO_USERNAME Dhis2Credentials
        aget_dhis2_credentials get_dhis2_credentials normalize_base_url
        resolve_credentials
    """,
    "prefect_dhis2.client": """
        ApiTokenAuth AsyncDhis2Client ClientSettings Dhis2AuthenticationError
        Dhis2BadRequestError Dhis2Client Dhis2ConflictError Dhis2ConnectionError
        Dhis2Error Dhis2JobError Dhis2NotFoundError Dhis2PermissionError
        Dhis2RateLimitError Dhis2RequestError Dhis2ResponseFormatError
        Dhis2ResponseTooLargeError Dhis2ServerError Dhis2TimeoutError MAINTENANCE_TASKS
        RetryPolicy
    """,
    "prefect_dhis2.models": """
        AnalyticsGrid Dhis2Version ErrorReport GridHeader ImportConflict ImportCount
        ImportReport ImportStats ImportSummary Me MetadataPage ObjectReport Pager
        ServerInfo TypeReport WebMessage
    """,
    "prefect_dhis2.periods": """
        FINANCIAL_YEAR_STARTS MAX_YEAR MIN_YEAR PERIOD_TYPES Period RELATIVE_PERIODS
        is_relative_period is_valid_period next_period parse_period period_containing
        periods_between previous_period resolve_periods resolve_relative_period
    """,
    "prefect_dhis2.uids": """
        UID_PATTERN generate_uid is_valid_uid validate_uid validate_uids
    """,
    "prefect_dhis2.vocabulary": """
        AGGREGATION_TYPES REPORTING_RATE_METRICS
    """,
    "prefect_dhis2.expressions": """
        BinaryOp BooleanLiteral ComplexityBins ComplexityLevel DependencyGraph
        Expression ExpressionAnalysis ExpressionContext ExpressionDescription
        ExpressionError ExpressionEvaluationError ExpressionSyntaxError FunctionCall
        IndicatorDependencies Item ItemKind MissingReference MissingValueStrategy
        NullLiteral NumberLiteral OrgUnitFunction PostfixFunction ReferencedUids
        StringLiteral UnaryOp analyze_expression analyze_tree
        data_set_elements_from_metadata describe_expression describe_expression_details
        describe_item evaluate_expression expression_dependencies
        find_missing_references nesting_depth parse_expression render_expression
    """,
    "prefect_dhis2.analytics": """
        AnalyticsExtract AnalyticsExtractSummary AnalyticsExtractionError AnalyticsQuery
        AnalyticsShard AnalyticsTableSummary DEFAULT_MAX_ROWS ShardFailure
        afetch_analytics_table aiter_analytics_shards export_analytics_table
        fetch_analytics_table tidy_columns write_analytics_table
    """,
    "prefect_dhis2.data_values": """
        ChunkFailure DataValueConflict DataValuesExtract DataValuesImportError
        DataValuesImportResult InvalidDataValuesError afetch_data_values
        aimport_data_values fetch_data_values import_data_values read_data_values_file
        validate_data_value_rows validate_value_types
    """,
    "prefect_dhis2.metadata": """
        ConnectionCheckResult DATA_ELEMENT_FIELDS INDICATOR_FIELDS MetadataImportResult
        MetadataImportValidationError MetadataQualityResult QualityCheck
        acheck_connection acheck_metadata_quality afetch_metadata aimport_metadata
        check_connection check_metadata_quality fetch_metadata flatten_data_elements
        flatten_indicators import_metadata
    """,
    "prefect_dhis2.org_units": """
        ORG_UNIT_FIELDS OrgUnitExportResult OrgUnitGeometryExtract aexport_org_units
        afetch_org_unit_geometry afetch_org_unit_levels afetch_org_units
        export_org_units fetch_org_unit_geometry fetch_org_unit_levels fetch_org_units
        flatten_org_units
    """,
    "prefect_dhis2.indicators": """
        ExpressionCatalogueExtract ExpressionScore IndicatorDependenciesResult
        InvalidExpression MissingObjectReference afetch_expression_catalogue
        analyze_catalogue_dependencies analyze_indicator_dependencies
        fetch_expression_catalogue indicator_complexity_markdown score_catalogue
        score_expressions
    """,
    "prefect_dhis2.flows": """
        dhis2_analytics_export dhis2_connection_check dhis2_data_values_import
        dhis2_geometry_export dhis2_indicator_complexity dhis2_metadata_export
        dhis2_metadata_quality dhis2_org_units_export dhis2_star_schema
    """,
    "prefect_dhis2.warehouse": """
        CompositeComponent CompositeIndexSpec StarSchemaResult WarehouseError
        abuild_star_schema build_star_schema export_star_schema_parquet
    """,
    "prefect_dhis2.writers": """
        ArrowTableWriter Column ColumnType CsvTableWriter GeoJsonWriter ParquetTableWriter
        TableFormat TableWriter abort_all close_all default_table_formats ensure_writable_dir
        extend_bbox open_table_writer resolve_output_dir resolve_table_formats write_table
    """,
    "prefect_dhis2.runtime": """
        Dhis2FlowReport Stopwatch artifact_key retry_transient_failures run_engine run_logger
        run_sync
    """,
    "prefect_dhis2.host_limit": """
        GlobalLimitSlots ensure_host_concurrency_limit host_concurrency_limit_name host_slot
        shared_host_slots
    """,
    "prefect_dhis2.work_queue": """
        DEFAULT_HOLD_S SlotFactory WorkQueue run_queue
    """,
    "prefect_dhis2.notifications": """
        NOTIFY_BLOCK_ENV NoticeEvent RunNotice anotify_run_state notify_run_state run_notice with_notifications
    """,
    "prefect_dhis2.markdown": """
        markdown_table slug
    """,
    "prefect_dhis2.testing": """
        CostModel Dhis2Dataset Dhis2Emulator EmulatorConfig EmulatorProcess
        EmulatorState FaultRule RequestRecord generate_dataset
    """,
}


def public_names(module: ModuleType) -> set[str]:
    """The public names a module binds at its top level (read from its source).

    A package face counts the names it re-exports; a plain module counts what it
    defines (imports there are implementation). Submodules and `__future__` are not names.
    """
    path = Path(module.__file__ or "")
    tree = ast.parse(path.read_text())
    face = path.name == "__init__.py"
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Assign):
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound.add(node.target.id)
        elif face and isinstance(node, ast.ImportFrom) and node.module != "__future__":
            bound |= {alias.asname or alias.name for alias in node.names}
    return {name for name in bound if not name.startswith("_") or name == "__version__"}


def face_problems(module: ModuleType) -> list[str]:
    exported = list(getattr(module, "__all__", None) or [])
    problems = [
        f"{name} is in __all__ but does not exist" for name in exported if not hasattr(module, name)
    ]
    problems += [
        f"{name} is public but not in __all__"
        for name in sorted(public_names(module) - set(exported))
    ]
    if len(exported) != len(set(exported)):
        problems.append("__all__ repeats a name")
    return problems


@pytest.mark.parametrize("face", sorted(FACES))
def test_the_face_exports_what_it_binds(face: str) -> None:
    assert face_problems(importlib.import_module(face)) == []


@pytest.mark.parametrize("face", sorted(FACES))
def test_the_face_is_pinned(face: str) -> None:
    module = importlib.import_module(face)
    assert sorted(module.__all__) == FACES[face].split()


def test_the_public_face_stays_small() -> None:
    total = sum(len(names.split()) for names in FACES.values())
    assert total <= 240, f"{total} public names: is every one of them needed?"


def test_a_missing_or_unexported_name_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "example_face.py"
    source.write_text(
        "from os import path\n"
        "__all__ = ['present', 'gone']\n"
        "def present(): ...\n"
        "def forgotten(): ...\n"
        "def _private(): ...\n"
    )
    spec = importlib.util.spec_from_file_location("example_face", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert face_problems(module) == [
        "gone is in __all__ but does not exist",
        "forgotten is public but not in __all__",
    ]
