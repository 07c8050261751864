"""What the middleware tells the responses about a request, and how they read it.

The middleware (`core.app`) authenticates the request, strips the API version and `.json`
suffix from the path and leaves the emulator state, the user and the requested form in the
ASGI scope; responses read them with these helpers and report back the number of rows they
rendered (for `CostModel.per_row_s`).

Example:
    >>> API_VERSION_KEY, ORIGINAL_PATH_KEY, ROWS_SCOPE_KEY
    ('dhis2.api_version', 'dhis2.original_path', 'dhis2.rows')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    from prefect_dhis2.testing.core.auth import EmulatorUser
    from prefect_dhis2.testing.core.state import EmulatorState

__all__ = [
    "API_VERSION_KEY",
    "ORIGINAL_PATH_KEY",
    "ROWS_SCOPE_KEY",
    "api_version",
    "current_user",
    "emulator_state",
    "record_rows",
]

API_VERSION_KEY = "dhis2.api_version"  # "40" for /api/40/..., else None
ORIGINAL_PATH_KEY = "dhis2.original_path"  # the path as requested (version, .json suffix)
ROWS_SCOPE_KEY = "dhis2.rows"


def emulator_state(request: Request) -> EmulatorState:
    """The `EmulatorState` serving a request."""
    state: EmulatorState = request.app.state.emulator
    return state


def current_user(request: Request) -> EmulatorUser:
    """The authenticated user of a request (set by the auth middleware)."""
    user: EmulatorUser = request.state.user
    return user


def api_version(request: Request) -> str | None:
    """The API version of the requested path (`"40"` for `/api/40/...`), or None."""
    version: str | None = request.scope.get(API_VERSION_KEY)
    return version


def record_rows(request: Request, rows: int) -> None:
    """Tell the cost model how many rows a response holds (for `CostModel.per_row_s`).

    Handlers that do not call it get their rows counted from the JSON body when the cost
    model needs them.
    """
    request.scope[ROWS_SCOPE_KEY] = rows
