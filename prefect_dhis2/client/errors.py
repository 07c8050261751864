"""The one error hierarchy of prefect-dhis2's DHIS2 client.

Every exception names the DHIS2 instance, the endpoint, the HTTP status and, when
DHIS2 sent one, its `errorCode` and `message` — and never a password or token.

```
Dhis2Error
├── Dhis2AuthenticationError     401, a redirect to the login page, an HTML login page
├── Dhis2PermissionError         403
├── Dhis2NotFoundError           404
├── Dhis2RequestError            other 4xx
│   ├── Dhis2BadRequestError     400 (e.g. a `fields` syntax error)
│   ├── Dhis2ConflictError       409 without an import summary (e.g. analytics E7xxx)
│   └── Dhis2RateLimitError      429 after the retries ran out
├── Dhis2ServerError             5xx after the retries ran out
├── Dhis2ResponseFormatError     a body that is not the JSON DHIS2 sends
├── Dhis2ConnectionError         the server could not be reached
│   └── Dhis2TimeoutError        it did not answer in time
└── Dhis2JobError                an asynchronous DHIS2 job failed or did not finish
```
"""

from __future__ import annotations

__all__ = [
    "Dhis2AuthenticationError",
    "Dhis2BadRequestError",
    "Dhis2ConflictError",
    "Dhis2ConnectionError",
    "Dhis2Error",
    "Dhis2JobError",
    "Dhis2NotFoundError",
    "Dhis2PermissionError",
    "Dhis2RateLimitError",
    "Dhis2RequestError",
    "Dhis2ResponseFormatError",
    "Dhis2ResponseTooLargeError",
    "Dhis2ServerError",
    "Dhis2TimeoutError",
]


class Dhis2Error(Exception):
    """Base class of every error raised by prefect-dhis2's DHIS2 client.

    Attributes:
        base_url: The DHIS2 instance, e.g. `https://dhis2.example.org`.
        method: The HTTP method of the failed request.
        endpoint: The API path, e.g. `/api/analytics` (no query string, which
            may be long; never credentials).
        status_code: The HTTP status, when the server answered.
        error_code: DHIS2's `errorCode` (e.g. `E7128`), when it sent one.
        dhis2_message: DHIS2's own `message`, when it sent one.
        hint: What to do about it.

    Examples:
        >>> err = Dhis2Error("boom", base_url="https://x.org", method="GET",
        ...                  endpoint="/api/me", status_code=500)
        >>> str(err)
        'DHIS2 at https://x.org: GET /api/me -> HTTP 500: boom'
    """

    def __init__(
        self,
        message: str,
        *,
        base_url: str | None = None,
        method: str | None = None,
        endpoint: str | None = None,
        status_code: int | None = None,
        error_code: str | None = None,
        dhis2_message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.base_url = base_url
        self.method = method
        self.endpoint = endpoint
        self.status_code = status_code
        self.error_code = error_code
        self.dhis2_message = dhis2_message
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"DHIS2 at {self.base_url}" if self.base_url else "DHIS2"
        request = " ".join(p for p in (self.method, self.endpoint) if p)
        head = f"{where}: {request}" if request else where
        if self.status_code is not None:
            head += f" -> HTTP {self.status_code}"
        text = f"{head}: {self.message}"
        if self.error_code and self.error_code not in self.message:
            text += f" [{self.error_code}]"
        if self.hint:
            text += f" {self.hint}"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        # Keep keyword attributes when the error crosses a process boundary
        # (Prefect pickles task failures).
        return (
            _rebuild,
            (
                type(self),
                self.message,
                {
                    "base_url": self.base_url,
                    "method": self.method,
                    "endpoint": self.endpoint,
                    "status_code": self.status_code,
                    "error_code": self.error_code,
                    "dhis2_message": self.dhis2_message,
                    "hint": self.hint,
                },
            ),
        )


def _rebuild(cls: type[Dhis2Error], message: str, kwargs: dict[str, object]) -> Dhis2Error:
    return cls(message, **kwargs)  # type: ignore[arg-type]


class Dhis2AuthenticationError(Dhis2Error):
    """DHIS2 did not accept the credentials (401, login redirect or login page)."""


class Dhis2PermissionError(Dhis2Error):
    """The user is authenticated but not allowed to do this (403)."""


class Dhis2NotFoundError(Dhis2Error):
    """The object or endpoint does not exist (404)."""


class Dhis2RequestError(Dhis2Error):
    """DHIS2 refused the request (4xx other than 401/403/404)."""


class Dhis2BadRequestError(Dhis2RequestError):
    """DHIS2 could not understand the request (400)."""


class Dhis2ConflictError(Dhis2RequestError):
    """DHIS2 refused the request as invalid (409), e.g. an analytics `E7xxx` error."""


class Dhis2RateLimitError(Dhis2RequestError):
    """DHIS2 (or a proxy in front of it) kept answering 429 Too Many Requests."""


class Dhis2ServerError(Dhis2Error):
    """DHIS2 failed with a 5xx status after every retry."""


class Dhis2ResponseFormatError(Dhis2Error):
    """The body was not the JSON DHIS2 sends for this endpoint."""


class Dhis2ResponseTooLargeError(Dhis2ResponseFormatError):
    """The answer was larger than the client's limit and was not read further."""


class Dhis2ConnectionError(Dhis2Error):
    """The DHIS2 server could not be reached or dropped the connection."""


class Dhis2TimeoutError(Dhis2ConnectionError):
    """The DHIS2 server did not answer within the configured timeout."""


class Dhis2JobError(Dhis2Error):
    """An asynchronous DHIS2 job (e.g. an `async=true` import) failed or timed out."""
