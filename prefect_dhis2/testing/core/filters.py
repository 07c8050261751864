"""DHIS2's object `filter` language (`filter=path:op[:value]`), `order` and `query`.

Operators follow DHIS2's query parser: `eq` (on a collection: its size), `!eq`/`ne`/`neq`,
`ieq`, `gt`, `ge`/`gte`, `lt`, `le`/`lte`, `like`/`!like` (case-sensitive contains),
`ilike`/`!ilike`, `$like`/`!$like` (starts with), `like$`/`!like$` (ends with), `$ilike`,
`startsWith`, `!$ilike`, `ilike$`, `endsWith`, `!ilike$`, `in`/`!in` (`[a,b]`), `null`/`!null`,
`empty`/`!empty`, `token`/`!token`. Paths traverse references and collections
(`parent.id`, `dataSetElements.dataSet.id`); `identifiable:token:...` searches id, code, name
and shortName. Errors raise `FilterError`, answered with 409.

Example:
    >>> f = parse_filter("name:ilike:anc", known={"name"})
    >>> f.matches({"name": "ANC 1st visit"}, None)
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prefect_dhis2.uids import is_valid_uid

__all__ = ["OPERATORS", "Filter", "FilterError", "parse_filter", "parse_filters", "sort_objects"]

Resolver = Callable[[str, str], "Mapping[str, Any] | None"]

_NEGATED = {"!eq": "eq", "ne": "eq", "neq": "eq", "!like": "like", "!ilike": "ilike",
            "!$like": "$like", "!like$": "like$", "!$ilike": "$ilike", "!ilike$": "ilike$",
            "!in": "in", "!null": "null", "!empty": "empty", "!token": "token"}  # fmt: skip
_ALIASES = {"gte": "ge", "lte": "le", "startsWith": "$ilike", "endsWith": "ilike$"}
_POSITIVE = frozenset({"eq", "ieq", "gt", "ge", "lt", "le", "like", "ilike", "$like", "like$",
                       "$ilike", "ilike$", "in", "null", "empty", "token"})  # fmt: skip
OPERATORS = frozenset(_POSITIVE | set(_NEGATED) | set(_ALIASES))
_NO_VALUE = frozenset({"null", "empty"})
_WORD = re.compile(r"[\w]+", re.UNICODE)


class FilterError(ValueError):
    """A `filter` DHIS2 would reject with 409 (unknown operator or property, bad syntax)."""


def _scalar(value: Any) -> Any:
    return value


def _coerce(raw: str, sample: Any) -> Any:
    """Convert a filter value to the type of the property value it is compared with."""
    if isinstance(sample, bool):
        return raw.lower() == "true"
    if isinstance(sample, (int, float)):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def _compare(op: str, actual: Any, raw: str) -> bool:
    """Apply a positive operator to one scalar value."""
    if op == "null":
        return actual is None
    if actual is None:
        return False
    if op == "in":
        items = [v.strip() for v in raw.strip().strip("[]").split(",")]
        return any(_equal(actual, v) for v in items)
    if op == "eq":
        return _equal(actual, raw)
    if op == "ieq":
        return str(actual).lower() == raw.lower()
    if op in ("gt", "ge", "lt", "le"):
        value = _coerce(raw, actual)
        left: Any = actual
        if isinstance(value, str) and not isinstance(left, str):
            left = str(left)
        if isinstance(value, float) and isinstance(left, bool):
            left = float(left)
        try:
            if op == "gt":
                return bool(left > value)
            if op == "ge":
                return bool(left >= value)
            if op == "lt":
                return bool(left < value)
            return bool(left <= value)
        except TypeError:
            return False
    text = str(actual)
    if op == "like":
        return raw in text
    if op == "ilike":
        return raw.lower() in text.lower()
    if op == "$like":
        return text.startswith(raw)
    if op == "like$":
        return text.endswith(raw)
    if op == "$ilike":
        return text.lower().startswith(raw.lower())
    if op == "ilike$":
        return text.lower().endswith(raw.lower())
    if op == "token":
        words = [w.lower() for w in _WORD.findall(text)]
        return all(any(w.startswith(t.lower()) for w in words) for t in raw.split())
    return False


def _equal(actual: Any, raw: str) -> bool:
    if isinstance(actual, bool):
        return str(actual).lower() == raw.lower()
    if isinstance(actual, (int, float)):
        try:
            return float(actual) == float(raw)
        except ValueError:
            return False
    return str(actual) == raw


@dataclass(frozen=True)
class Filter:
    """One parsed `filter=path:op:value`.

    Attributes:
        path: Property path segments, e.g. `("parent", "id")`.
        op: Positive operator (negation kept in `negate`).
        negate: True for `!eq`, `!in`, `!null`...
        value: The raw value ("" for `null`/`empty`).
    """

    path: tuple[str, ...]
    op: str
    negate: bool
    value: str

    def _values(self, obj: Mapping[str, Any], resolve: Resolver | None) -> tuple[list[Any], bool]:
        """Values at the path (several when it crosses a collection) and whether it ended on one."""
        if self.path == ("identifiable",):
            return [obj.get(k) for k in ("id", "code", "name", "shortName")], False
        current: list[Any] = [obj]
        ended_on_collection = False
        for depth, key in enumerate(self.path):
            nxt: list[Any] = []
            ended_on_collection = False
            for item in current:
                if not isinstance(item, Mapping):
                    continue
                if key not in item and depth == len(self.path) - 1 and is_valid_uid(key):
                    nxt.extend(
                        av.get("value")
                        for av in item.get("attributeValues", [])
                        if isinstance(av, Mapping) and av.get("attribute", {}).get("id") == key
                    )
                    continue
                if key not in item and len(item) == 1 and "id" in item and resolve is not None:
                    full = resolve(self.path[depth - 1] if depth else key, item["id"])
                    item = full if full is not None else item
                value = item.get(key)
                if key == "displayName" and value is None:
                    value = item.get("name")
                if isinstance(value, list):
                    if depth == len(self.path) - 1:
                        ended_on_collection = True
                        nxt.append(value)
                    else:
                        nxt.extend(value)
                else:
                    nxt.append(value)
            current = nxt
        return current, ended_on_collection

    def matches(self, obj: Mapping[str, Any], resolve: Resolver | None) -> bool:
        """Tell whether `obj` passes the filter."""
        values, on_collection = self._values(obj, resolve)
        if on_collection:
            result = any(self._collection_match(v) for v in values if isinstance(v, list))
            if not values:
                result = self.op in ("null", "empty")
        elif not values:
            result = self.op == "null"
        else:
            result = any(_compare(self.op, v, self.value) for v in values)
        return result != self.negate

    def _collection_match(self, items: list[Any]) -> bool:
        if self.op == "empty":
            return not items
        if self.op == "null":
            return False
        if self.op in ("eq", "gt", "ge", "lt", "le"):
            try:
                float(self.value)
            except ValueError:
                pass
            else:
                return _compare(self.op, len(items), self.value)
        ids = [i.get("id") if isinstance(i, Mapping) else i for i in items]
        return any(_compare(self.op, v, self.value) for v in ids)


def parse_filter(text: str, known: Iterable[str] | None = None) -> Filter:
    """Parse one filter expression.

    Args:
        text: `path:op[:value]`; the value may itself contain `:`.
        known: Property names of the object type; an unknown first path segment raises.

    Returns:
        The filter.

    Raises:
        FilterError: With DHIS2's message for bad syntax, operator or property.

    Example:
        >>> parse_filter("parent.id:eq:ImspTQPwCqd").path
        ('parent', 'id')
    """
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise FilterError(f"Invalid filter => {text}")
    path_text, op_text = parts[0], parts[1]
    value = ":".join(parts[2:])
    if op_text not in OPERATORS:
        raise FilterError(f"`{op_text}` is not a valid operator.")
    negate = op_text in _NEGATED
    op = _NEGATED.get(op_text) or _ALIASES.get(op_text) or op_text
    if len(parts) < 3 and op not in _NO_VALUE:
        raise FilterError(f"Invalid filter => {text}")
    path = tuple(path_text.split("."))
    if known is not None and path[0] != "identifiable":
        names = set(known)
        if path[0] not in names and not (len(path) == 1 and is_valid_uid(path[0])):
            raise FilterError(f"Unknown path property: {path[0]}")
    return Filter(path, op, negate, value)


def parse_filters(values: Iterable[str], known: Iterable[str] | None = None) -> list[Filter]:
    """Parse repeated `filter` params (each may be a comma list, as DHIS2 splits them).

    A comma only separates filters when what follows looks like `path:op`; `in:[a,b]` values
    keep their commas.
    """
    known_list = list(known) if known is not None else None
    out: list[Filter] = []
    for raw in values:
        for piece in _split_filters(raw):
            out.append(parse_filter(piece, known_list))
    return out


_FILTER_START = re.compile(r"^[A-Za-z_][\w.]*:[!$\w]+")


def _split_filters(raw: str) -> list[str]:
    pieces: list[str] = []
    depth = 0
    current = ""
    for ch in raw:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        if ch == "," and depth == 0:
            pieces.append(current)
            current = ""
            continue
        current += ch
    pieces.append(current)
    # Re-join pieces that do not start a new filter (commas inside values).
    merged: list[str] = []
    for piece in pieces:
        if merged and not _FILTER_START.match(piece):
            merged[-1] += "," + piece
        else:
            merged.append(piece)
    return [p for p in merged if p]


def sort_objects(
    objects: list[Mapping[str, Any]], orders: Iterable[str], known: Iterable[str]
) -> list[Mapping[str, Any]]:
    """Sort by `order=prop:asc|desc|iasc|idesc` entries (comma lists or repeated params).

    Unknown properties are ignored, as DHIS2 ignores non-persisted ones. Missing values sort last.

    Example:
        >>> rows = [{"name": "b"}, {"name": "A"}]
        >>> [r["name"] for r in sort_objects(rows, ["name:iasc"], {"name"})]
        ['A', 'b']
    """
    names = set(known)
    keys: list[tuple[str, str]] = []
    for entry in orders:
        for part in entry.split(","):
            prop, _, direction = part.strip().partition(":")
            if prop and prop in names:
                keys.append((prop, (direction or "asc").lower()))
    result = list(objects)
    for prop, direction in reversed(keys):
        ci = direction in ("iasc", "idesc")
        desc = direction in ("desc", "idesc")
        present = [o for o in result if o.get(prop) is not None]
        missing = [o for o in result if o.get(prop) is None]

        def key(o: Mapping[str, Any], prop: str = prop, ci: bool = ci) -> Any:
            v = o.get(prop)
            return v.lower() if ci and isinstance(v, str) else v

        try:
            present.sort(key=key, reverse=desc)
        except TypeError:
            present.sort(key=lambda o, prop=prop: str(o.get(prop)), reverse=desc)  # type: ignore[misc]
        result = present + missing
    return result
