"""DHIS2 identifiers (UIDs): validation and generation.

A DHIS2 UID is 11 characters, a letter followed by ten letters or digits
(`CodeGenerator.UID_REGEXP` in dhis2-core).

Examples:
    >>> from prefect_dhis2.uids import is_valid_uid, generate_uid
    >>> is_valid_uid("ImspTQPwCqd")
    True
    >>> is_valid_uid("1mspTQPwCqd")
    False
    >>> len(generate_uid())
    11
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable

__all__ = ["UID_PATTERN", "generate_uid", "is_valid_uid", "validate_uid", "validate_uids"]

UID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")

_LETTERS = string.ascii_letters
_ALPHANUMERIC = string.ascii_letters + string.digits


def is_valid_uid(value: object) -> bool:
    """Tell whether `value` is a syntactically valid DHIS2 UID.

    Args:
        value: Anything; only strings can be valid.

    Returns:
        True when `value` matches `^[A-Za-z][A-Za-z0-9]{10}$`.
    """
    return isinstance(value, str) and UID_PATTERN.match(value) is not None


def validate_uid(value: str, what: str = "UID") -> str:
    """Return `value` unchanged if it is a valid UID, else raise `ValueError`.

    Args:
        value: The candidate identifier.
        what: What the identifier names, used in the error message
            (e.g. "org unit", "data element").

    Returns:
        The same string.

    Raises:
        ValueError: If `value` is not an 11-character DHIS2 UID.

    Examples:
        >>> validate_uid("fbfJHSPpUQD", "data element")
        'fbfJHSPpUQD'
    """
    if not is_valid_uid(value):
        raise ValueError(
            f"Invalid {what} {value!r}: a DHIS2 UID is 11 characters, "
            "a letter followed by 10 letters or digits."
        )
    return value


def validate_uids(values: Iterable[str], what: str = "UID") -> list[str]:
    """Validate every identifier in `values`, naming the first bad one.

    Args:
        values: Candidate identifiers.
        what: What the identifiers name, for the error message.

    Returns:
        The identifiers as a list.

    Raises:
        ValueError: On the first value that is not a valid UID.
    """
    return [validate_uid(v, what) for v in values]


def generate_uid() -> str:
    """Generate a random DHIS2 UID with a cryptographically strong source.

    Returns:
        A new 11-character UID.
    """
    return secrets.choice(_LETTERS) + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(10))
