"""`Dhis2Credentials`: where a DHIS2 instance is and how to log in to it."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from prefect.blocks.abstract import CredentialsBlock
from prefect.exceptions import ObjectNotFound
from pydantic import ConfigDict, Field, HttpUrl, SecretStr, field_validator, model_validator

from prefect_dhis2.client import (
    ApiTokenAuth,
    AsyncDhis2Client,
    ClientSettings,
    Dhis2Client,
    RetryPolicy,
)
from prefect_dhis2.host_limit import shared_host_slots

__all__ = [
    "DEMO_BASE_URL",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "Dhis2Credentials",
    "aget_dhis2_credentials",
    "get_dhis2_credentials",
    "normalize_base_url",
    "resolve_credentials",
]

_logger = logging.getLogger("prefect_dhis2.credentials")

DEMO_BASE_URL = "https://play.im.dhis2.org/dev"
"""The public DHIS2 demo (Sierra Leone data), used when no instance is named."""
DEMO_USERNAME = "admin"
DEMO_PASSWORD = "district"


def normalize_base_url(value: str) -> str:
    """Normalise a DHIS2 address to its instance root.

    A scheme (http or https) and a host are required; a trailing `/` and a
    trailing `/api` (or `/api/<version>`) are removed. Credentials, query
    strings and fragments are refused (without echoing them back).

    Args:
        value: e.g. `https://dhis2.example.org/hmis/api/`.

    Returns:
        e.g. `https://dhis2.example.org/hmis`.

    Raises:
        ValueError: With a plain explanation of what is wrong.

    Examples:
        >>> normalize_base_url("https://play.im.dhis2.org/dev/api/")
        'https://play.im.dhis2.org/dev'
        >>> normalize_base_url("http://localhost:8080/api/40")
        'http://localhost:8080'
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("base_url is required, e.g. 'https://dhis2.example.org'")
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        raise ValueError("base_url is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        shown = text if "@" not in text else "<redacted>"
        raise ValueError(
            f"base_url {shown!r} needs an http:// or https:// scheme, "
            "e.g. 'https://dhis2.example.org'"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(
            "base_url must not contain credentials; give username and password "
            "(or token) as separate fields"
        )
    if not parts.hostname:
        raise ValueError(f"base_url {text!r} has no host name")
    if parts.query or parts.fragment:
        raise ValueError(f"base_url {text!r} must not have a query string or fragment")
    try:
        parts.port  # noqa: B018 - validates the port number
    except ValueError:
        raise ValueError(f"base_url {text!r} has an invalid port") from None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 2 and segments[-2] == "api" and segments[-1].isdigit():
        segments = segments[:-2]
    elif segments and segments[-1] == "api":
        segments = segments[:-1]
    path = "/" + "/".join(segments) if segments else ""
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, "", ""))


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _sends_secrets_in_clear(base_url: str) -> bool:
    """Whether `base_url` is plain http to another machine (loopback is fine)."""
    parts = urlsplit(base_url)
    return parts.scheme == "http" and (parts.hostname or "") not in _LOOPBACK_HOSTS


class Dhis2Credentials(CredentialsBlock):
    """Connection details for one DHIS2 instance: its address and either a
    username and password or a personal access token.

    With no arguments it points at the public DHIS2 demo (admin/district). A
    token given without a username and password means token authentication;
    giving both kinds, or half of a username/password pair, is an error.

    Attributes:
        base_url: The instance root (a trailing `/api` is removed).
        username: The DHIS2 username, for basic authentication.
        password: The password, for basic authentication.
        token: A personal access token, sent as `Authorization: ApiToken <token>`.
        connect_timeout: Seconds to establish a connection.
        read_timeout: Seconds to wait for an answer.
        analytics_read_timeout: Seconds to wait for analytics and imports.
        verify_tls: Verify the server's TLS certificate.
        ca_bundle: Path to a CA bundle for servers with a private certificate authority.
        max_retries: Retries of requests that are safe to repeat.
        retry_backoff: First wait between retries, in seconds (doubles each time).
        retry_backoff_max: Longest wait between retries, in seconds.
        retry_budget: Longest time one request may spend retrying, in seconds.
        max_response_mb: Largest answer read for a data request, in MiB.
        max_concurrency: Requests sent at once to this instance by every client of a
            process; with `share_host_limit`, inside Prefect runs, by every run and worker
            together (through the host's global concurrency limit, see
            `prefect_dhis2.host_limit`).
        share_host_limit: Share the budget across processes through Prefect (the default).

    Examples:
        Load a saved block and ask the server for its version:
        ```python
        from prefect_dhis2 import Dhis2Credentials

        dhis2_credentials = Dhis2Credentials.load("BLOCK_NAME")
        with dhis2_credentials.get_client() as client:
            print(client.get_server_info().version)
        ```
    """

    # Validation errors must not echo the input: it holds the password or token.
    model_config = ConfigDict(hide_input_in_errors=True)

    _block_type_name = "DHIS2 Credentials"
    _logo_url = HttpUrl("https://github.com/dhis2.png")
    _documentation_url = HttpUrl("https://prefect-dhis2.github.io/prefect-dhis2/credentials/")

    base_url: str = Field(
        default=DEMO_BASE_URL,
        title="Base URL",
        description=(
            "Root address of the DHIS2 instance, e.g. https://dhis2.example.org; "
            "a trailing /api is removed."
        ),
    )
    username: str | None = Field(
        default=None,
        description="DHIS2 username for basic authentication (leave empty with a token).",
    )
    password: SecretStr | None = Field(
        default=None,
        description="Password for basic authentication (leave empty with a token).",
    )
    token: SecretStr | None = Field(
        default=None,
        title="Personal access token",
        description=(
            "DHIS2 personal access token (d2pat_... or d2p_...), sent as "
            "'Authorization: ApiToken <token>'; replaces username and password."
        ),
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds allowed to open a connection."
    )
    read_timeout: float = Field(
        default=60.0, gt=0, description="Seconds allowed for the server to answer a request."
    )
    analytics_read_timeout: float = Field(
        default=300.0,
        gt=0,
        description="Seconds allowed for analytics queries and imports, which can be slow.",
    )
    verify_tls: bool = Field(
        default=True, title="Verify TLS", description="Verify the server's TLS certificate."
    )
    ca_bundle: str | None = Field(
        default=None,
        title="CA bundle",
        description="Path to a CA bundle file for a server with a private certificate authority.",
    )
    max_retries: int = Field(
        default=12,
        ge=0,
        le=100,
        description=(
            "Retries on 429/502/503/504 and connection errors, for requests that are "
            "safe to repeat (within the retry budget)."
        ),
    )
    retry_backoff: float = Field(
        default=0.5, gt=0, description="First wait between retries in seconds; doubles each time."
    )
    retry_backoff_max: float = Field(
        default=30.0, gt=0, description="Longest wait between retries in seconds."
    )
    retry_budget: float = Field(
        default=300.0,
        ge=0,
        description=(
            "Longest time in seconds one request may spend retrying, from its first attempt: "
            "long enough to ride out a server that answers 503 while it regenerates tables."
        ),
    )
    max_response_mb: int = Field(
        default=1024,
        ge=4,
        description="Largest answer in MiB the client reads for a data request; larger ones fail.",
    )
    max_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description=(
            "Requests sent to this instance at once: by every client of a process and, in "
            "Prefect runs, by every run and worker together (the host's concurrency budget)."
        ),
    )

    share_host_limit: bool = Field(
        default=True,
        description=(
            "Inside Prefect runs, also hold leases of the host's Prefect global concurrency "
            "limit, so that runs on every worker keep to one budget (each process always "
            "keeps to max_concurrency on its own)."
        ),
    )

    @field_validator("base_url", mode="before")
    @classmethod
    def _normalize_base_url(cls, value: Any) -> str:
        return normalize_base_url(value)

    @field_validator("username", mode="before")
    @classmethod
    def _blank_username_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("password", "token", mode="before")
    @classmethod
    def _blank_secret_is_none(cls, value: Any) -> Any:
        value_text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(value_text, str) and not value_text.strip():
            return None
        return value

    @model_validator(mode="after")
    def _one_kind_of_auth(self) -> Dhis2Credentials:
        has_user = self.username is not None
        has_password = self.password is not None
        has_token = self.token is not None
        if has_token and (has_user or has_password):
            raise ValueError(
                "Give either a personal access token or a username and password, not both."
            )
        if has_user != has_password:
            missing = "password" if has_user else "username"
            raise ValueError(
                f"Basic authentication needs both username and password: {missing} is missing."
            )
        if not (has_token or has_user):
            if self.base_url != DEMO_BASE_URL:
                raise ValueError(
                    f"No credentials for {self.base_url}: give username and password, or token."
                )
            # The public demo's well-known account.
            self.username = DEMO_USERNAME
            self.password = SecretStr(DEMO_PASSWORD)
        if _sends_secrets_in_clear(self.base_url):
            _logger.warning(
                "%s uses plain http: the %s would cross the network unencrypted. "
                "Use https unless the server is on this machine.",
                self.base_url,
                "token" if has_token else "password",
            )
        return self

    @property
    def auth_method(self) -> str:
        """`"token"` or `"basic"`."""
        return "token" if self.token is not None else "basic"

    @property
    def principal(self) -> str:
        """Who connects, for messages: `user 'admin'` or `a personal access token`."""
        if self.token is not None:
            return "a personal access token"
        return f"user {self.username!r}"

    def _httpx_auth(self) -> httpx.Auth:
        if self.token is not None:
            return ApiTokenAuth(self.token)
        assert self.username is not None and self.password is not None
        return httpx.BasicAuth(self.username, self.password.get_secret_value())

    def client_settings(self) -> ClientSettings:
        """The client settings this block describes (a fresh auth object each time).

        With `share_host_limit`, inside a Prefect flow or task run they share the host's
        global concurrency limit (`shared_slots`), so runs on every worker keep to one
        budget.
        """
        verify: bool | str = self.verify_tls
        if self.verify_tls and self.ca_bundle:
            verify = self.ca_bundle
        return ClientSettings(
            base_url=self.base_url,
            auth=self._httpx_auth(),
            principal=self.principal,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            analytics_read_timeout=self.analytics_read_timeout,
            verify=verify,
            retry=RetryPolicy(
                max_retries=self.max_retries,
                backoff_base=self.retry_backoff,
                backoff_max=self.retry_backoff_max,
                budget_s=self.retry_budget,
            ),
            max_concurrency=self.max_concurrency,
            max_response_bytes=self.max_response_mb * 1024 * 1024,
            shared_slots=shared_host_slots(self) if self.share_host_limit else None,
        )

    def get_client(self) -> Dhis2Client:
        """Return a synchronous client for this instance.

        Returns:
            A `Dhis2Client`; use it as a context manager so its connections close.

        Examples:
            ```python
            with Dhis2Credentials.load("BLOCK_NAME").get_client() as client:
                me = client.get_me()
            ```
        """
        return Dhis2Client(self.client_settings())

    def get_async_client(self) -> AsyncDhis2Client:
        """Return an asyncio client for this instance.

        Examples:
            ```python
            async with Dhis2Credentials.load("BLOCK_NAME").get_async_client() as client:
                me = await client.get_me()
            ```
        """
        return AsyncDhis2Client(self.client_settings())


_FALLBACK_WARNING = (
    "No saved Dhis2Credentials block named %r; using the public DHIS2 demo at %s "
    "(admin/district). Save a block with Dhis2Credentials(...).save(%r) to use your instance."
)


def _demo_if_missing(name: str, exc: ValueError) -> Dhis2Credentials:
    # Prefect reports an unknown block document as a ValueError raised from
    # ObjectNotFound; any other ValueError is a real problem and is raised.
    if not (
        isinstance(exc.__cause__, ObjectNotFound) or "Unable to find block document" in str(exc)
    ):
        raise exc
    _logger.warning(_FALLBACK_WARNING, name, DEMO_BASE_URL, name)
    return Dhis2Credentials()


def get_dhis2_credentials(name: str = "dhis2") -> Dhis2Credentials:
    """Load a saved `Dhis2Credentials` block, or fall back to the public demo.

    The fallback happens only when no block of that name exists, and it logs a
    warning. Every other failure (an unreachable Prefect API, a corrupt block)
    is raised.

    Args:
        name: The block document name.

    Returns:
        The saved block, or demo credentials.

    Examples:
        ```python
        credentials = get_dhis2_credentials("moh-production")
        ```
    """
    try:
        loaded = Dhis2Credentials.load(name, _sync=True)  # type: ignore[call-arg]
    except ValueError as exc:
        return _demo_if_missing(name, exc)
    assert isinstance(loaded, Dhis2Credentials)
    return loaded


async def aget_dhis2_credentials(name: str = "dhis2") -> Dhis2Credentials:
    """Async twin of `get_dhis2_credentials`."""
    try:
        loaded = await Dhis2Credentials.aload(name)
    except ValueError as exc:
        return _demo_if_missing(name, exc)
    assert isinstance(loaded, Dhis2Credentials)
    return loaded


def resolve_credentials(credentials: Dhis2Credentials | None, instance: str) -> Dhis2Credentials:
    """The credentials a flow uses: the given block, else the saved block `instance`.

    Falls back to the public demo only when no block of that name exists (with
    a warning, see `get_dhis2_credentials`).

    Examples:
        ```python
        credentials = resolve_credentials(None, "moh-production")  # loads the saved block
        ```
    """
    if credentials is not None:
        return credentials
    return get_dhis2_credentials(instance)
