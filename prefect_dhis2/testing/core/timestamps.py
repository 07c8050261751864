"""Timestamps as DHIS2 renders them: `yyyy-MM-ddTHH:mm:ss.SSS`, no zone.

Example:
    >>> from datetime import datetime
    >>> format_timestamp(datetime(2024, 2, 3, 8, 5, 1, 519000))
    '2024-02-03T08:05:01.519'
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["format_timestamp"]


def format_timestamp(moment: datetime) -> str:
    """Render a timestamp the way DHIS2 does: no zone, milliseconds.

    Example:
        >>> format_timestamp(datetime(2024, 2, 3, 8, 5, 1, 519000))
        '2024-02-03T08:05:01.519'
    """
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
