"""Pydantic models of DHIS2 Web API payloads."""

from prefect_dhis2.models.analytics import AnalyticsGrid, GridHeader
from prefect_dhis2.models.imports import (
    ErrorReport,
    ImportConflict,
    ImportCount,
    ImportReport,
    ImportStats,
    ImportSummary,
    ObjectReport,
    TypeReport,
    WebMessage,
)
from prefect_dhis2.models.paging import MetadataPage, Pager
from prefect_dhis2.models.system import Dhis2Version, Me, ServerInfo

__all__ = [
    "AnalyticsGrid",
    "Dhis2Version",
    "ErrorReport",
    "GridHeader",
    "ImportConflict",
    "ImportCount",
    "ImportReport",
    "ImportStats",
    "ImportSummary",
    "Me",
    "MetadataPage",
    "ObjectReport",
    "Pager",
    "ServerInfo",
    "TypeReport",
    "WebMessage",
]
