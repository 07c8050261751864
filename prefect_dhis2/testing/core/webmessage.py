"""DHIS2 WebMessage bodies and fast JSON responses for the emulator.

DHIS2 answers every error (and many informational results) with a *WebMessage* whose keys come
in a fixed order: `httpStatus, httpStatusCode, status, code, message, devMessage, response`,
followed by `errorCode` in current versions. Absent (null) values are omitted, as DHIS2's
Jackson mapper does.

Example:
    >>> web_message(404, "DataElement with id abcdefghijk could not be found.", error_code="E1005")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'httpStatus': 'Not Found', 'httpStatusCode': 404, 'status': 'ERROR',
     'message': 'DataElement with id abcdefghijk could not be found.', 'errorCode': 'E1005'}
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "JSON_MEDIA_TYPE",
    "OrjsonResponse",
    "error_response",
    "json_response",
    "not_found_response",
    "read_json_object",
    "reason_phrase",
    "web_message",
    "web_message_response",
]

JSON_MEDIA_TYPE = "application/json;charset=UTF-8"


def reason_phrase(status_code: int) -> str:
    """Return the HTTP reason phrase DHIS2 puts in `httpStatus` (Spring's `HttpStatus`).

    Args:
        status_code: The HTTP status code.

    Returns:
        The reason phrase, e.g. "Not Found" for 404, "Conflict" for 409.

    Example:
        >>> reason_phrase(409)
        'Conflict'
    """
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Unknown"


def web_message(
    status_code: int,
    message: str | None = None,
    *,
    status: str | None = None,
    code: int | None = None,
    dev_message: str | None = None,
    response: Mapping[str, Any] | None = None,
    error_code: str | None = None,
) -> dict[str, Any]:
    """Build a WebMessage dict with DHIS2's key order, leaving out null values.

    Args:
        status_code: HTTP status code of the message.
        message: Human-readable message.
        status: `OK`, `WARNING` or `ERROR`; defaults to `OK` below 400 and `ERROR` otherwise.
        code: Optional numeric internal code.
        dev_message: Optional technical message.
        response: Optional typed response object (its `responseType` first).
        error_code: Optional DHIS2 error code such as `E1005`.

    Returns:
        An insertion-ordered dict ready to serialise.

    Example:
        >>> list(web_message(409, "Unknown path property: foo"))
        ['httpStatus', 'httpStatusCode', 'status', 'message']
    """
    body: dict[str, Any] = {
        "httpStatus": reason_phrase(status_code),
        "httpStatusCode": status_code,
        "status": status or ("OK" if status_code < 400 else "ERROR"),
    }
    if code is not None:
        body["code"] = code
    if message is not None:
        body["message"] = message
    if dev_message is not None:
        body["devMessage"] = dev_message
    if response is not None:
        body["response"] = dict(response)
    if error_code is not None:
        body["errorCode"] = error_code
    return body


class OrjsonResponse(Response):
    """A Starlette response rendering its content with orjson (DHIS2's JSON media type).

    Example:
        >>> OrjsonResponse({"a": 1}).body
        b'{"a":1}'
    """

    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        """Serialise `content` (bytes pass through unchanged, for pre-rendered bodies)."""
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(
    payload: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> OrjsonResponse:
    """Return a JSON response rendered with orjson.

    Args:
        payload: A JSON-serialisable value, or already-encoded JSON bytes.
        status_code: HTTP status code.
        headers: Extra response headers.

    Returns:
        The response.

    Example:
        >>> json_response({"codes": []}).status_code
        200
    """
    return OrjsonResponse(payload, status_code=status_code, headers=dict(headers or {}))


def web_message_response(
    status_code: int,
    message: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> OrjsonResponse:
    """Return a WebMessage as a JSON response (see `web_message` for the arguments).

    Example:
        >>> web_message_response(200, "Import was successful.").status_code
        200
    """
    return json_response(web_message(status_code, message, **kwargs), status_code, headers)


def error_response(
    status_code: int,
    message: str,
    error_code: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> OrjsonResponse:
    """Return an ERROR WebMessage response, e.g. a 409 with an analytics error code.

    Args:
        status_code: HTTP status code (4xx/5xx).
        message: The message text, exactly as DHIS2 words it.
        error_code: DHIS2 error code such as `E7128`.
        headers: Extra response headers.

    Returns:
        The response.

    Example:
        >>> error_response(409, "Only a single indicator can be specified as filter", "E7108").body
        b'{"httpStatus":"Conflict","httpStatusCode":409,"status":"ERROR","message":"Only a single indicator can be specified as filter","errorCode":"E7108"}'
    """
    return web_message_response(status_code, message, error_code=error_code, headers=headers)


def not_found_response(klass: str, uid: str) -> OrjsonResponse:
    """Return DHIS2's 404 E1005 WebMessage for a missing object.

    Args:
        klass: Simple class name, e.g. `DataElement`, `OrganisationUnit`.
        uid: The identifier that was asked for.

    Returns:
        The 404 response.

    Example:
        >>> not_found_response("DataElement", "abcdefghijk").status_code
        404
    """
    return error_response(404, f"{klass} with id {uid} could not be found.", "E1005")


async def read_json_object(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object body, or the 400 WebMessage DHIS2 answers for anything else."""
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return error_response(400, "Invalid JSON payload")
    if not isinstance(payload, dict):
        return error_response(400, "Invalid JSON payload")
    return payload
