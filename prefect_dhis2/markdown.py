"""Plain-text helpers for reports and artifacts: markdown tables and slugs (no Prefect).

Examples:
    >>> slug("Sierra Leone / Bo")
    'sierra-leone-bo'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["markdown_table", "slug"]


def slug(text: str) -> str:
    """Lower-case letters, digits and dashes only (for artifact keys and limit names).

    Examples:
        >>> slug("play.im.dhis2.org")
        'play-im-dhis2-org'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table (cells escaped for `|`).

    Examples:
        >>> print(markdown_table(["a", "b"], [[1, "x|y"]]))
        | a | b |
        |---|---|
        | 1 | x\\|y |
    """

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
