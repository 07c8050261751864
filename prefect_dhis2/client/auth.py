"""httpx authentication for DHIS2 personal access tokens."""

from __future__ import annotations

from collections.abc import Generator

import httpx
from pydantic import SecretStr

__all__ = ["ApiTokenAuth"]


class ApiTokenAuth(httpx.Auth):
    """Send a DHIS2 personal access token as `Authorization: ApiToken <token>`.

    Any token prefix is accepted (`d2pat_` for V1 tokens, `d2p_` for V2 from
    DHIS2 2.41); the token is never shown by `repr`.

    Args:
        token: The token, plain or as a `SecretStr`.

    Examples:
        >>> auth = ApiTokenAuth("d2p_example")
        >>> repr(auth)
        'ApiTokenAuth(token=**********)'
    """

    def __init__(self, token: str | SecretStr) -> None:
        secret = token if isinstance(token, SecretStr) else SecretStr(token)
        if not secret.get_secret_value().strip():
            raise ValueError("The personal access token is empty")
        self._token = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"ApiToken {self._token.get_secret_value().strip()}"
        yield request

    def __repr__(self) -> str:
        return "ApiTokenAuth(token=**********)"
