"""Absolute links as DHIS2 builds them: the context path and the `pager` of list responses.

DHIS2 (`DefaultLinkService`) builds `nextPage`/`prevPage` as
`<scheme>://<host>[:port]<contextPath>/api[/NN]/<plural>[.json]?page=N`, adds `&pageSize=` only
when it is not 50, then every other request parameter (grouped by name, in first-seen order,
URL-encoded like Java's `URLEncoder`). The link back to page 1 has no `page=`.

Example:
    >>> build_pager(2, 120, 50, "http://h/api/dataElements", [("fields", "id,name")])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'page': 2, 'total': 120, 'pageSize': 50,
     'nextPage': 'http://h/api/dataElements?page=3&fields=id%2Cname',
     'prevPage': 'http://h/api/dataElements?fields=id%2Cname', 'pageCount': 3}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote_plus

from starlette.requests import Request

__all__ = ["DEFAULT_PAGE_SIZE", "build_pager", "context_path", "encode_params", "endpoint_url"]

DEFAULT_PAGE_SIZE = 50


def context_path(request: Request) -> str:
    """`<scheme>://<host>[:port]` of the request, honouring `X-Forwarded-Proto/Host/Port`.

    Ports 80 and 443 are dropped, as DHIS2 does.
    """
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = headers.get("x-forwarded-host") or headers.get("host") or "localhost"
    host = host.split(",")[0].strip()
    port = headers.get("x-forwarded-port")
    if port:
        host = host.split(":")[0] + f":{port.strip()}"
    name, _, host_port = host.partition(":")
    if host_port in ("80", "443"):
        host = name
    return f"{scheme}://{host}"


def endpoint_url(request: Request) -> str:
    """Absolute URL of the requested endpoint as typed (version segment and `.json` kept)."""
    path = request.scope.get("dhis2.original_path") or request.url.path
    return context_path(request) + path


def _java_encode(text: str) -> str:
    # Java's URLEncoder keeps `*` and encodes `~`; Python's quote_plus does the opposite.
    return quote_plus(text, safe="*").replace("~", "%7E")


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """Encode parameters grouped by name (first-seen order), skipping `page` and `pageSize`."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        if name in ("page", "pageSize"):
            continue
        grouped.setdefault(name, []).append(value)
    return "&".join(
        f"{_java_encode(name)}={_java_encode(value)}"
        for name, values in grouped.items()
        for value in values
    )


def build_pager(
    page: int, total: int, page_size: int, endpoint: str, params: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """Build DHIS2's `pager` with keys `page,total,pageSize,nextPage,prevPage,pageCount`.

    Args:
        page: Current page (1-based).
        total: Number of matching objects.
        page_size: Page size.
        endpoint: Absolute endpoint URL without query string.
        params: The request's query parameters (page/pageSize are left out of links).

    Returns:
        The pager dict (`nextPage`/`prevPage` only when they exist).
    """
    page_count = math.ceil(total / page_size) if page_size else 0
    rest = encode_params(params)
    size_part = "" if page_size == DEFAULT_PAGE_SIZE else f"&pageSize={page_size}"
    pager: dict[str, Any] = {"page": page, "total": total, "pageSize": page_size}
    if page < page_count:
        pager["nextPage"] = f"{endpoint}?page={page + 1}{size_part}" + (f"&{rest}" if rest else "")
    if page > 1:
        if page - 1 == 1:
            query = size_part[1:]
            if rest:
                query = f"{query}&{rest}" if query else rest
            pager["prevPage"] = endpoint + (f"?{query}" if query else "")
        else:
            pager["prevPage"] = f"{endpoint}?page={page - 1}{size_part}" + (
                f"&{rest}" if rest else ""
            )
    pager["pageCount"] = page_count
    return pager
