"""System of the DHIS2 emulator: system info, the current user (`me`) and fresh UIDs.

Example:
    >>> state = EmulatorState()
    >>> system_info(state, base_url="http://localhost:8080")["systemName"]
    'DHIS 2 Demo - Sierra Leone'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect_dhis2.testing.core.auth import EmulatorUser
from prefect_dhis2.testing.core.state import EmulatorState
from prefect_dhis2.testing.core.timestamps import format_timestamp
from prefect_dhis2.uids import generate_uid

__all__ = ["SYSTEM_ID", "generate_uids", "last_analytics_success", "me_object", "system_info"]

_REVISIONS = {"2.37": "8b4ac5b", "2.40": "5d2e2a6", "2.43": "adf6409"}
_BUILD_TIMES = {
    "2.37": "2022-11-03T14:15:09.000",
    "2.40": "2023-12-14T09:47:21.000",
    "2.43": "2025-10-01T13:08:31.000",
}
SYSTEM_ID = "eed3d451-4ff5-4193-b951-ffcc68954299"


def _interval(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h, {minutes} m, {secs} s"


def last_analytics_success(state: EmulatorState) -> datetime:
    """When analytics tables were last generated (by default 02:00:07 the day before "today")."""
    moment = state.analytics_tables.last_success
    if moment is not None:
        return moment
    day = state.config.today - timedelta(days=1)
    return datetime(day.year, day.month, day.day, 2, 0, 7, 412000)


def system_info(
    state: EmulatorState, *, base_url: str, user_agent: str = "", superuser: bool = True
) -> dict[str, Any]:
    """The `GET /api/system/info` body.

    Args:
        state: The emulator state.
        base_url: `<scheme>://<host>[:port]` the server is reached at (the `contextPath`
            unless the config overrides it).
        user_agent: The client's `User-Agent`.
        superuser: Whether the asking user is a superuser (others see fewer keys).

    Returns:
        The system info body, in DHIS2's key order.

    Example:
        >>> state = EmulatorState()
        >>> info = system_info(state, base_url="http://h", superuser=False)
        >>> info["version"], info["contextPath"], "javaVersion" in info
        ('2.40.3', 'http://h', False)
    """
    # The emulated server lives on its "today" (the relative period date when set),
    # so clients that resolve relative periods from serverDate agree with it.
    clock = datetime.now()
    today = state.config.today
    now = clock.replace(year=today.year, month=today.month, day=today.day)
    last = last_analytics_success(state)
    version = state.config.version
    info: dict[str, Any] = {
        "contextPath": state.config.context_path or base_url,
        "userAgent": user_agent,
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
        "instanceBaseUrl": state.config.context_path or base_url,
        "clusterHostname": "",
        "isMetadataVersionEnabled": True,
        "metadataSyncEnabled": False,
    }
    if not superuser:
        for key in ("javaVersion", "javaVendor", "javaOpts", "osName", "osArchitecture",
                    "osVersion", "externalDirectory", "databaseInfo", "readReplicaCount",
                    "memoryInfo", "cpuCores", "nodeId", "environmentVariable",
                    "fileStoreProvider"):  # fmt: skip
            info.pop(key, None)
    return info


def me_object(state: EmulatorState, user: EmulatorUser) -> dict[str, Any]:
    """The `/api/me` body (MeDto) of a user.

    Example:
        >>> state = EmulatorState()
        >>> me = me_object(state, state.users.users["reader"])
        >>> me["username"], me["authorities"]
        ('reader', ['M_dhis-web-dashboard', 'F_VIEW_DATABROWSER'])
    """
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


def generate_uids(limit: int) -> list[str]:
    """`limit` freshly generated UIDs, clamped to 1..10,000 as DHIS2 does.

    Example:
        >>> len(generate_uids(3)), len(generate_uids(0)), len(generate_uids(20_000))
        (3, 1, 10000)
    """
    return [generate_uid() for _ in range(min(max(limit, 1), 10_000))]
