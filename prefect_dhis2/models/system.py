"""Models of DHIS2's system endpoints: `/api/system/info` and `/api/me`."""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Dhis2Version", "Me", "ServerInfo"]

_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-(\w[\w.]*))?\s*$")


@functools.total_ordering
class Dhis2Version:
    """A DHIS2 server version, parsed loosely and comparable.

    DHIS2 reports versions such as `2.40.4`, `2.41.0.1` (a hotfix) and
    `2.43-SNAPSHOT` (a development build, ordered before `2.43.0`).

    Examples:
        >>> v = Dhis2Version.parse("2.41.0.1")
        >>> (v.major, v.minor, v.patch, v.hotfix)
        (2, 41, 0, 1)
        >>> Dhis2Version.parse("2.43-SNAPSHOT") < "2.43.0" < "2.43.1"
        True
        >>> v >= "2.40"
        True
    """

    __slots__ = ("hotfix", "major", "minor", "patch", "qualifier", "text")

    def __init__(
        self,
        major: int,
        minor: int,
        patch: int = 0,
        hotfix: int = 0,
        qualifier: str | None = None,
        text: str | None = None,
    ) -> None:
        self.major = major
        self.minor = minor
        self.patch = patch
        self.hotfix = hotfix
        self.qualifier = qualifier
        self.text = text or self._canonical()

    @classmethod
    def parse(cls, text: str) -> Dhis2Version:
        """Parse a version string as DHIS2 reports it.

        Args:
            text: e.g. `2.40.4`, `2.41.0.1`, `2.43-SNAPSHOT`.

        Returns:
            The parsed version.

        Raises:
            ValueError: If `text` is not a DHIS2 version.
        """
        match = _VERSION_RE.match(text)
        if match is None:
            raise ValueError(f"Not a DHIS2 version: {text!r} (expected e.g. 2.40.4)")
        major, minor, patch, hotfix, qualifier = match.groups()
        return cls(
            int(major),
            int(minor),
            int(patch or 0),
            int(hotfix or 0),
            qualifier,
            text.strip(),
        )

    @property
    def is_snapshot(self) -> bool:
        """True for development builds such as `2.43-SNAPSHOT`."""
        return self.qualifier is not None and self.qualifier.upper() == "SNAPSHOT"

    def _canonical(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.hotfix:
            text += f".{self.hotfix}"
        if self.qualifier:
            text += f"-{self.qualifier}"
        return text

    def _key(self) -> tuple[int, int, int, int, int]:
        # A qualified build (SNAPSHOT, RC) sorts before the release it leads to.
        return (self.major, self.minor, self.patch, self.hotfix, 0 if self.qualifier else 1)

    @staticmethod
    def _coerce(other: object) -> Dhis2Version | None:
        if isinstance(other, Dhis2Version):
            return other
        if isinstance(other, str):
            return Dhis2Version.parse(other)
        return None

    def __eq__(self, other: object) -> bool:
        coerced = self._coerce(other)
        return NotImplemented if coerced is None else self._key() == coerced._key()

    def __lt__(self, other: object) -> bool:
        coerced = self._coerce(other)
        if coerced is None:
            return NotImplemented
        return self._key() < coerced._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Dhis2Version({self.text!r})"


class ServerInfo(BaseModel):
    """What `GET /api/system/info` says about a DHIS2 instance.

    Fields DHIS2 hides from non-superusers are optional; unknown fields are ignored.

    Examples:
        >>> info = ServerInfo.model_validate({"version": "2.40.4", "revision": "abc"})
        >>> info.version.minor
        40
    """

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True, populate_by_name=True)

    version: Dhis2Version
    revision: str | None = None
    build_time: str | None = Field(default=None, alias="buildTime")
    server_date: str | None = Field(default=None, alias="serverDate")
    context_path: str | None = Field(default=None, alias="contextPath")
    calendar: str | None = None
    date_format: str | None = Field(default=None, alias="dateFormat")
    system_id: str | None = Field(default=None, alias="systemId")
    system_name: str | None = Field(default=None, alias="systemName")
    server_time_zone_id: str | None = Field(default=None, alias="serverTimeZoneId")
    last_analytics_table_success: str | None = Field(
        default=None, alias="lastAnalyticsTableSuccess"
    )

    @field_validator("version", mode="before")
    @classmethod
    def _parse_version(cls, value: Any) -> Dhis2Version:
        if isinstance(value, Dhis2Version):
            return value
        if not isinstance(value, str):
            raise ValueError(f"version must be a string, got {type(value).__name__}")
        return Dhis2Version.parse(value)


class Me(BaseModel):
    """The authenticated user, from `GET /api/me`.

    Examples:
        >>> Me.model_validate({"id": "xE7jOejl9FI", "username": "admin"}).username
        'admin'
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    username: str | None = None
    name: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    email: str | None = None
    authorities: list[str] = Field(default_factory=list)
    organisation_units: list[dict[str, Any]] = Field(
        default_factory=list, alias="organisationUnits"
    )

    @property
    def is_superuser(self) -> bool:
        """True when the user holds DHIS2's `ALL` authority."""
        return "ALL" in self.authorities
