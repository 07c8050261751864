"""System endpoints of the emulator: `system/info`, `me`, `system/ping`, `ping`, `system/id`.

Also the login page that unauthenticated browser-style requests are redirected to.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from prefect_dhis2.testing.core.fields import FieldsSyntaxError, apply_fields, parse_fields
from prefect_dhis2.testing.core.paging import context_path
from prefect_dhis2.testing.core.requests import current_user, emulator_state
from prefect_dhis2.testing.core.webmessage import error_response, json_response
from prefect_dhis2.testing.metadata.models import make_resolver
from prefect_dhis2.testing.system.models import generate_uids, me_object, system_info

__all__ = ["login_page", "me_endpoint", "ping", "system_id", "system_info_endpoint", "system_ping"]


async def system_info_endpoint(request: Request) -> Response:
    """`GET /api/system/info`."""
    body = system_info(
        emulator_state(request),
        base_url=context_path(request),
        user_agent=request.headers.get("user-agent", ""),
        superuser=current_user(request).superuser,
    )
    return json_response(body)


async def me_endpoint(request: Request) -> Response:
    """`GET /api/me` with optional `fields` (references resolve, e.g. `organisationUnits[path]`)."""
    state = emulator_state(request)
    me = me_object(state, current_user(request))
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
    try:
        limit = int(request.query_params.get("limit", "1"))
    except ValueError:
        limit = 1
    return json_response({"codes": generate_uids(limit)})


async def login_page(request: Request) -> Response:
    """The login form DHIS2 redirects unauthenticated browser requests to."""
    return Response(
        "<!DOCTYPE html><html><head><title>DHIS 2 login</title></head>"
        "<body><form method='post'><input name='j_username'/><input name='j_password' "
        "type='password'/></form></body></html>",
        media_type="text/html",
    )
