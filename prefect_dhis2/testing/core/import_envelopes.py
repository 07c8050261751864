"""Per-version envelopes (status code and wrapper) of DHIS2 import responses.

DHIS2 changed how it wraps an import result twice (`WebMessageUtils.importSummary` on each
branch, `DataValueSetController.withPlainResponseBefore(V38)`):

| version | success | conflicts (WARNING) | fatal (ERROR) |
|---|---|---|---|
| ≤ 2.37, or `/api/37/...` before 2.42 | 200 bare ImportSummary | 200 bare | 200 bare |
| 2.38 - 2.42 | 200 WebMessage OK | 409 WebMessage WARNING | 409 WebMessage ERROR |
| 2.43 + | 200 WebMessage OK | 200 WebMessage WARNING | 409 WebMessage ERROR |

Metadata imports (`POST /api/metadata`) answer a bare ImportReport up to 2.37 and a
WebMessage from 2.38 on: 200 OK, or 409 WARNING when the report's status is not OK.

Example:
    >>> status, body = data_value_import_envelope({"status": "WARNING"}, minor=40)
    >>> status, body["status"], body["httpStatusCode"]
    (409, 'WARNING', 409)
"""

from __future__ import annotations

from typing import Any

from prefect_dhis2.testing.core.webmessage import web_message

__all__ = [
    "IMPORT_OPTIONS_DEFAULTS",
    "data_value_import_envelope",
    "metadata_import_envelope",
    "uses_plain_response",
]

IMPORT_OPTIONS_DEFAULTS: dict[str, Any] = {
    "idSchemes": {},
    "dryRun": False,
    "async": False,
    "importStrategy": "CREATE_AND_UPDATE",
    "mergeMode": "REPLACE",
    "reportMode": "FULL",
    "skipExistingCheck": False,
    "sharing": False,
    "skipNotifications": False,
    "skipAudit": False,
    "datasetAllowsPeriods": False,
    "strictPeriods": False,
    "strictDataElements": False,
    "strictCategoryOptionCombos": False,
    "strictAttributeOptionCombos": False,
    "strictOrganisationUnits": False,
    "requireCategoryOptionCombo": False,
    "requireAttributeOptionCombo": False,
    "skipPatternValidation": False,
    "ignoreEmptyCollection": False,
    "force": False,
    "firstRowIsHeader": True,
    "skipLastUpdated": False,
    "mergeDataValues": False,
    "skipCache": False,
}


def uses_plain_response(minor: int, api_version: str | None = None) -> bool:
    """Tell whether a data value import answers a bare ImportSummary.

    Args:
        minor: The emulated minor version (37, 40, 43).
        api_version: The `/api/<NN>/` segment of the request, if any.

    Example:
        >>> uses_plain_response(37), uses_plain_response(40, "37"), uses_plain_response(43, "37")
        (True, True, False)
    """
    if minor <= 37:
        return True
    return api_version is not None and int(api_version) < 38 and minor < 42


def data_value_import_envelope(
    summary: dict[str, Any], *, minor: int, api_version: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Wrap a data value ImportSummary as the emulated version does.

    Args:
        summary: The ImportSummary (its `status` is SUCCESS, WARNING or ERROR).
        minor: The emulated minor version.
        api_version: The `/api/<NN>/` segment of the request, if any.

    Returns:
        (HTTP status code, body).
    """
    if uses_plain_response(minor, api_version):
        return 200, summary
    status = summary.get("status", "SUCCESS")
    if status == "SUCCESS":
        return 200, web_message(200, "Import was successful.", status="OK", response=summary)
    if status == "WARNING":
        if minor >= 43:
            return 200, web_message(
                200,
                "Import completed with warnings, please check import summary.",
                status="WARNING",
                response=summary,
            )
        return 409, web_message(
            409,
            "One more conflicts encountered, please check import summary.",
            status="WARNING",
            response=summary,
        )
    return 409, web_message(
        409, "An error occurred, please check import summary.", status="ERROR", response=summary
    )


def metadata_import_envelope(report: dict[str, Any], *, minor: int) -> tuple[int, dict[str, Any]]:
    """Wrap a metadata ImportReport as the emulated version does.

    Returns:
        (HTTP status code, body).

    Example:
        >>> metadata_import_envelope({"status": "OK"}, minor=40)[0]
        200
    """
    if minor <= 37:
        return 200, report
    if report.get("status") == "OK":
        return 200, web_message(200, status="OK", response=report)
    return 409, web_message(
        409,
        "One or more errors occurred, please see full details in import report.",
        status="WARNING",
        response=report,
    )
