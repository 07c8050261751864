"""The emulator's routing table: every endpoint, in one place (moto's `urls.py`).

Paths are declared under `/api` only (`api_route`): the middleware (`core.app`) maps
`/api/<NN>/...` (NN = 28..43) and a `.json` suffix onto the same routes, remembering the
original form for paging links. Starlette matches in list order; metadata collections are
named explicitly, so the order only matters for identical paths.

Example:
    >>> paths = [r.path for r in ROUTES]
    >>> "/api/analytics" in paths and "/api/dataElements/{uid}" in paths
    True
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from prefect_dhis2.testing.analytics import responses as analytics
from prefect_dhis2.testing.core.auth import login_path
from prefect_dhis2.testing.core.dataset import SCHEMAS
from prefect_dhis2.testing.data_values import responses as data_values
from prefect_dhis2.testing.maintenance import responses as maintenance
from prefect_dhis2.testing.metadata import responses as metadata
from prefect_dhis2.testing.system import responses as system

__all__ = ["LOGIN_PATHS", "ROUTES", "api_route"]

Endpoint = Callable[[Request], Awaitable[Response]]


def api_route(path: str, endpoint: Endpoint, methods: list[str] | None = None) -> Route:
    """Declare a route under `/api` (also served as `/api/<NN>/...` and with `.json`).

    Args:
        path: Path below `/api`, starting with `/`, e.g. `/analytics`.
        endpoint: Async handler taking a Starlette `Request`.
        methods: HTTP methods (default GET).

    Returns:
        The Starlette route.

    Example:
        >>> async def ping(request): ...
        >>> api_route("/system/ping", ping).path
        '/api/system/ping'
    """
    return Route(f"/api{path}", endpoint, methods=methods or ["GET"])


LOGIN_PATHS: tuple[str, ...] = tuple(
    sorted(
        {login_path(v) for v in ("2.40", "2.41", "2.43")}
        | {"/dhis-web-commons/security/login.action", "/dhis-web-login/", "/login/"}
    )
)
"""Where unauthenticated browser-style requests are redirected to (per DHIS2 version)."""

ROUTES: list[BaseRoute] = [
    # system
    api_route("/system/info", system.system_info_endpoint),
    api_route("/me", system.me_endpoint),
    api_route("/system/ping", system.system_ping),
    api_route("/ping", system.ping),
    api_route("/system/id", system.system_id),
    api_route("/system/uid", system.system_id),
    # metadata: export, levels, then one list and one object route per collection
    api_route("/metadata", metadata.metadata_export),
    api_route("/filledOrganisationUnitLevels", metadata.filled_org_unit_levels_endpoint),
    *(
        route
        for name in SCHEMAS
        for route in (
            api_route(f"/{name}", metadata.collection_endpoint(name)),
            api_route(f"/{name}/{{uid}}", metadata.object_endpoint(name)),
        )
    ),
    # analytics
    api_route("/analytics", analytics.analytics),
    api_route("/analytics/rawData", analytics.raw_data),
    api_route("/analytics/dataValueSet", analytics.data_value_set),
    # data values
    api_route("/dataValueSets", data_values.get_data_value_sets),
    api_route("/dataValueSets", data_values.post_data_value_sets, methods=["POST"]),
    # jobs and maintenance
    api_route("/system/tasks/{job_type}/{job_id}", maintenance.tasks),
    api_route("/system/tasks/{job_type}", maintenance.tasks_of_type),
    api_route("/system/taskSummaries/{job_type}/{job_id}", maintenance.task_summary),
    api_route("/maintenance", maintenance.maintenance, methods=["POST"]),
    api_route("/resourceTables/analytics", maintenance.resource_tables_analytics, methods=["POST"]),
    # metadata import
    api_route("/metadata", metadata.post_metadata, methods=["POST"]),
    # login pages (outside /api)
    *(Route(path, system.login_page, methods=["GET"]) for path in LOGIN_PATHS),
]
"""Every route the emulator serves, in matching order."""
