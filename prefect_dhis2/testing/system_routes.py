"""System endpoints of the emulator: `system/info`, `me`, `system/ping`, `ping`, `system/id`.

Example:
    >>> sorted(r.path for r in ROUTES)[:2]
    ['/api/me', '/api/ping']
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from prefect_dhis2.testing.app import api_route
from prefect_dhis2.testing.fields import FieldsSyntaxError, apply_fields, parse_fields
from prefect_dhis2.testing.links import context_path
from prefect_dhis2.testing.state import EmulatorState, current_user, emulator_state
from prefect_dhis2.testing.webmessage import error_response, json_response

__all__ = ["ROUTES", "format_timestamp", "system_info"]

_REVISIONS = {"2.37": "8b4ac5b", "2.40": "5d2e2a6", "2.43": "adf6409"}
_BUILD_TIMES = {
    "2.37": "2022-11-03T14:15:09.000",
    "2.40": "2023-12-14T09:47:21.000",
    "2.43": "2025-10-01T13:08:31.000",
}
SYSTEM_ID = "eed3d451-4ff5-4193-b951-ffcc68954299"


def format_timestamp(moment: datetime) -> str:
    """Render a datetime the way DHIS2 does: `yyyy-MM-ddTHH:mm:ss.SSS`, no zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _interval(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h, {minutes} m, {secs} s"


def last_analytics_success(state: EmulatorState) -> datetime:
    """When analytics tables were last generated (settable as `state.last_analytics_table_success`)."""
    moment = getattr(state, "last_analytics_table_success", None)
    if isinstance(moment, datetime):
        return moment
    day = state.config.today - timedelta(days=1)
    return datetime(day.year, day.month, day.day, 2, 0, 7, 412000)


def system_info(state: EmulatorState, request: Request) -> dict[str, Any]:
    """The `GET /api/system/info` body for the request's user."""
    # The emulated server lives on its "today" (the relative period date when set),
    # so clients that resolve relative periods from serverDate agree with it.
    clock = datetime.now()
    today = state.config.today
    now = clock.replace(year=today.year, month=today.month, day=today.day)
    last = last_analytics_success(state)
    version = state.config.version
    info: dict[str, Any] = {
        "contextPath": state.config.context_path or context_path(request),
        "userAgent": request.headers.get("user-agent", ""),
        "calendar": "iso8601",
        "dateFormat": "yyyy-mm-dd",
        "serverDate": format_timestamp(now),
        "serverTimeZoneId": "Etc/UTC",
        "serverTimeZoneDisplayName": "Coordinated Universal Time",
        "lastAnalyticsTableSuccess": format_timestamp(last),
        "intervalSinceLastAnalyticsTableSuccess": _interval(max((now - last).total_seconds(), 0)),
        "lastAnalyticsTableRuntime": "2 m, 11 s",
        "version": state.config.full_version,
        "revision": _REVISIONS[version],
        "buildTime": _BUILD_TIMES[version],
        "jasperReportsVersion": "6.3.1",
        "environmentVariable": "DHIS2_HOME",
        "fileStoreProvider": "filesystem",
        "readOnlyMode": "off",
        "nodeId": "",
        "javaVersion": "17.0.9",
        "javaVendor": "Eclipse Adoptium",
        "javaOpts": "-Xms1g -Xmx4g",
        "osName": "Linux",
        "osArchitecture": "amd64",
        "osVersion": "6.1.0",
        "externalDirectory": "/opt/dhis2",
        "databaseInfo": {
            "name": "dhis2",
            "user": "dhis",
            "url": "jdbc:postgresql://localhost:5432/dhis2",
            "databaseVersion": "PostgreSQL 14.10",
            "spatialSupport": True,
        },
        "readReplicaCount": 0,
        "memoryInfo": "Mem Total in JVM: 4096 Mb, Free: 1830 Mb, Max Limit: 4096 Mb",
        "cpuCores": 8,
        "encryption": False,
        "emailConfigured": False,
        "redisEnabled": False,
        "systemId": SYSTEM_ID,
        "systemName": state.config.system_name,
        "instanceBaseUrl": state.config.context_path or context_path(request),
        "clusterHostname": "",
        "isMetadataVersionEnabled": True,
        "metadataSyncEnabled": False,
    }
    if not current_user(request).superuser:
        for key in ("javaVersion", "javaVendor", "javaOpts", "osName", "osArchitecture",
                    "osVersion", "externalDirectory", "databaseInfo", "readReplicaCount",
                    "memoryInfo", "cpuCores", "nodeId", "environmentVariable",
                    "fileStoreProvider"):  # fmt: skip
            info.pop(key, None)
    return info


async def system_info_endpoint(request: Request) -> Response:
    """`GET /api/system/info`."""
    return json_response(system_info(emulator_state(request), request))


def me_object(state: EmulatorState, request: Request) -> dict[str, Any]:
    """The `/api/me` body (MeDto) of the authenticated user."""
    user = current_user(request)
    stored = next(
        (u for u in state.dataset.objects["users"].values() if u.get("username") == user.username),
        {},
    )
    roots = [{"id": r} for r in user.org_unit_roots]
    authorities = ["ALL"] if user.superuser else ["M_dhis-web-dashboard", "F_VIEW_DATABROWSER"]
    return {
        "id": stored.get("id", user.uid),
        "username": user.username,
        "surname": stored.get("surname", ""),
        "firstName": stored.get("firstName", ""),
        "email": stored.get("email", ""),
        "settings": {"keyUiLocale": "en", "keyDbLocale": "en", "keyAnalysisDisplayProperty": "name"},
        "created": stored.get("created"),
        "lastUpdated": stored.get("lastUpdated"),
        "name": stored.get("name", user.username),
        "displayName": stored.get("name", user.username),
        "organisationUnits": roots,
        "dataViewOrganisationUnits": roots,
        "teiSearchOrganisationUnits": [],
        "userGroups": [],
        "userRoles": stored.get("userRoles", []),
        "authorities": authorities,
        "programs": [],
        "dataSets": [{"id": d} for d in state.dataset.ordered_ids("dataSets")],
        "access": {"read": True, "update": user.can_write, "write": user.can_write,
                   "delete": user.can_write, "manage": user.can_write, "externalize": False},
        "twoFactorType": "NOT_ENABLED",
        "patTokens": [],
    }  # fmt: skip


async def me_endpoint(request: Request) -> Response:
    """`GET /api/me` with optional `fields` (references resolve, e.g. `organisationUnits[path]`)."""
    from prefect_dhis2.testing.metadata_routes import make_resolver

    state = emulator_state(request)
    me = me_object(state, request)
    fields = ",".join(v for v in request.query_params.getlist("fields") if v)
    if not fields:
        return json_response(me)
    try:
        specs = parse_fields(fields)
    except FieldsSyntaxError as exc:
        return error_response(400, str(exc))
    return json_response(apply_fields(me, specs, make_resolver(state.dataset)))


async def system_ping(request: Request) -> Response:
    """`GET /api/system/ping`: text `pong`, never cached, no authentication."""
    return PlainTextResponse("pong", headers={"Cache-Control": "no-store"})


async def ping(request: Request) -> Response:
    """`GET /api/ping`: 200 with an empty body, no authentication."""
    return Response(b"", status_code=200)


async def system_id(request: Request) -> Response:
    """`GET /api/system/id?limit=n`: freshly generated UIDs (at most 10,000)."""
    from prefect_dhis2.uids import generate_uid

    try:
        limit = int(request.query_params.get("limit", "1"))
    except ValueError:
        limit = 1
    limit = min(max(limit, 1), 10_000)
    return json_response({"codes": [generate_uid() for _ in range(limit)]})


ROUTES: list[Route] = [
    api_route("/system/info", system_info_endpoint),
    api_route("/me", me_endpoint),
    api_route("/system/ping", system_ping),
    api_route("/ping", ping),
    api_route("/system/id", system_id),
    api_route("/system/uid", system_id),
]
