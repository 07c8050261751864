"""Authentication of the DHIS2 emulator: basic auth, personal access tokens, login redirects.

Behaviour follows DHIS2:

- `Authorization: Basic ...` with a wrong user or password → 401 JSON
  `{"httpStatus":"Unauthorized","httpStatusCode":401,"status":"ERROR","message":"Unauthorized"}`.
- `Authorization: ApiToken <token>` (scheme case-insensitive): V1 tokens `d2pat_` + 32 chars +
  10-digit zero-padded CRC32 of the random part; V2 tokens (2.41+) `d2p_` + 44 chars + 6-char
  base62 CRC32. A bad checksum or shape → 400; an unknown token → 401
  "The API token does not exists" with `WWW-Authenticate: ApiToken`.
- No credentials → 302 to the version's login page, except for `X-Requested-With:
  XMLHttpRequest` requests, which get the 401 JSON.

Example:
    >>> token = make_pat_v1("0123456789abcdefABCDEF0123456789")
    >>> token.startswith("d2pat_") and check_pat(token) is None
    True
"""

from __future__ import annotations

import base64
import binascii
import random
import string
import zlib
from dataclasses import dataclass, field

__all__ = [
    "AuthOutcome",
    "EmulatorUser",
    "UserStore",
    "check_pat",
    "login_path",
    "make_pat_v1",
    "make_pat_v2",
]

_ALNUM = string.ascii_letters + string.digits
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class EmulatorUser:
    """A user of the emulated instance.

    Attributes:
        username: Login name.
        uid: The user's UID (matches the `users` collection).
        can_write: False for the read-only user (writes get 403).
        superuser: True for the `ALL` authority (system info shows sensitive fields).
        org_unit_roots: Data capture/view roots of the user.
    """

    username: str
    uid: str
    can_write: bool = True
    superuser: bool = False
    org_unit_roots: list[str] = field(default_factory=lambda: ["ImspTQPwCqd"])

    def __repr__(self) -> str:
        return f"EmulatorUser(username={self.username!r}, can_write={self.can_write})"


@dataclass(frozen=True)
class AuthOutcome:
    """Result of authenticating a request: a user, or the error response to send.

    Attributes:
        user: The authenticated user, or None.
        status: HTTP status of the refusal (401, 400, 302) when `user` is None.
        message: WebMessage text of the refusal.
        location: Redirect target for 302.
        www_authenticate: Value of the `WWW-Authenticate` header, if any.
    """

    user: EmulatorUser | None
    status: int = 200
    message: str = ""
    location: str | None = None
    www_authenticate: str | None = None


def _crc32(text: str) -> int:
    return zlib.crc32(text.encode()) & 0xFFFFFFFF


def _base62(n: int, width: int) -> str:
    chars = []
    while n:
        n, r = divmod(n, 62)
        chars.append(_BASE62[r])
    return "".join(reversed(chars)).rjust(width, "0")


def make_pat_v1(random_part: str) -> str:
    """Build a V1 personal access token from its 32-character random part.

    Example:
        >>> len(make_pat_v1("a" * 32))
        48
    """
    if len(random_part) != 32:
        raise ValueError("A V1 token's random part has 32 characters")
    return f"d2pat_{random_part}{_crc32(random_part):010d}"


def make_pat_v2(random_part: str) -> str:
    """Build a V2 personal access token (2.41+) from its 44-character random part.

    Example:
        >>> make_pat_v2("b" * 44).startswith("d2p_")
        True
    """
    if len(random_part) != 44:
        raise ValueError("A V2 token's random part has 44 characters")
    return f"d2p_{random_part}{_base62(_crc32(random_part), 6)}"


def check_pat(token: str) -> str | None:
    """Validate a token's shape and checksum; return DHIS2's 400 message, or None if valid.

    Example:
        >>> check_pat("d2pat_abc")
        'Api token is malformed'
    """
    if token.startswith("d2pat_"):
        body = token[6:]
        if len(body) != 42 or not body[32:].isdigit():
            return "Api token is malformed"
        if int(body[32:]) != _crc32(body[:32]):
            return "Checksum validation failed"
        return None
    if token.startswith("d2p_"):
        body = token[4:]
        if len(body) != 50:
            return "Api token is malformed"
        if body[44:] != _base62(_crc32(body[:44]), 6):
            return "Checksum validation failed"
        return None
    return "Api token is malformed"


def login_path(version: str) -> str:
    """The login page unauthenticated browsers are redirected to, per DHIS2 version.

    Example:
        >>> login_path("2.40"), login_path("2.41"), login_path("2.43")
        ('/dhis-web-commons/security/login.action', '/dhis-web-login/', '/login/')
    """
    minor = _minor(version)
    if minor <= 40:
        return "/dhis-web-commons/security/login.action"
    if minor == 41:
        return "/dhis-web-login/"
    return "/login/"


def _minor(version: str) -> int:
    try:
        return int(version.split(".")[1].split("-")[0])
    except (IndexError, ValueError):
        return 40


class UserStore:
    """The emulator's users, passwords and personal access tokens.

    The default users are `admin`/`district` (superuser) and `reader`/`district-reader`
    (read-only). Each gets a personal access token, derived deterministically from `seed`.

    Example:
        >>> store = UserStore(version="2.40", seed=1)
        >>> store.authenticate({"authorization": "Basic YWRtaW46ZGlzdHJpY3Q="}).user.username
        'admin'
    """

    def __init__(self, version: str = "2.40", seed: int = 1, admin_uid: str = "M5zQapPyTZI"):
        self.version = version
        rng = random.Random(f"{seed}:tokens")
        self._passwords: dict[str, str] = {"admin": "district", "reader": "district-reader"}
        self.users: dict[str, EmulatorUser] = {
            "admin": EmulatorUser("admin", admin_uid, can_write=True, superuser=True),
            "reader": EmulatorUser("reader", "", can_write=False, superuser=False),
        }
        self._tokens: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        for username in self.users:
            if _minor(version) >= 41:
                token = make_pat_v2("".join(rng.choice(_ALNUM) for _ in range(44)))
            else:
                token = make_pat_v1("".join(rng.choice(_ALNUM) for _ in range(32)))
            self.add_token(username, token)

    def set_uid(self, username: str, uid: str) -> None:
        """Attach the UID of the matching `users` object to a user."""
        user = self.users[username]
        self.users[username] = EmulatorUser(
            user.username, uid, user.can_write, user.superuser, list(user.org_unit_roots)
        )

    def password(self, username: str) -> str:
        """The password of a user (for building credentials in tests)."""
        return self._passwords[username]

    def add_token(self, username: str, token: str) -> None:
        """Register a personal access token for `username`."""
        self._tokens[token] = username
        self.tokens[username] = token

    def authenticate(self, headers: dict[str, str]) -> AuthOutcome:
        """Authenticate from lower-cased request headers.

        Args:
            headers: Request headers, names lower-cased.

        Returns:
            The outcome: a user, or the refusal to send.
        """
        auth = headers.get("authorization", "").strip()
        if not auth:
            if headers.get("x-requested-with", "").lower() == "xmlhttprequest":
                return AuthOutcome(None, 401, "Unauthorized")
            return AuthOutcome(None, 302, "", location=login_path(self.version))
        scheme, _, value = auth.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return AuthOutcome(None, 401, "Unauthorized")
            username, sep, password = decoded.partition(":")
            if sep and self._passwords.get(username) == password and username in self.users:
                return AuthOutcome(self.users[username])
            return AuthOutcome(None, 401, "Unauthorized")
        if scheme == "apitoken":
            problem = check_pat(value)
            if problem is not None:
                return AuthOutcome(None, 400, problem)
            owner = self._tokens.get(value)
            if owner is None:
                return AuthOutcome(
                    None, 401, "The API token does not exists", www_authenticate="ApiToken"
                )
            return AuthOutcome(self.users[owner])
        return AuthOutcome(None, 401, "Unauthorized")
