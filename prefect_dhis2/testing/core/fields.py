"""DHIS2's `fields` mini-language: parsing and applying it to DHIS2-shaped objects.

Supported, as in DHIS2: names `[A-Za-z0-9_.-]`, `,` separators (empty entries ignored),
nesting with `[...]` or `(...)` (a missing closing bracket at the end is tolerated), dotted
paths (`parent.id`), exclusion with a leading `!` (or `-`), the presets `*`/`:all`,
`:identifiable`, `:nameable`, `:owner`, `:persisted`, `:simple`, and transformers introduced by
`~` (also `::`, `|`, `@`): `rename(x)`, `size`, `isEmpty`, `isNotEmpty`, `pluck[(field)]`,
`paging(page;pageSize)`. Unknown names are dropped; syntax errors raise `FieldsSyntaxError`
(the emulator answers 400).

Nested references (`parent[id,name]`) are resolved to the referenced object through a
`resolve(key, uid)` callback.

Example:
    >>> spec = parse_fields("id,name~rename(n),children~size")
    >>> apply_fields({"id": "a", "name": "A", "children": [{"id": "b"}]}, spec)
    {'id': 'a', 'n': 'A', 'children': 1}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PRESETS",
    "FieldSpec",
    "FieldsSyntaxError",
    "Resolver",
    "apply_fields",
    "apply_fields_many",
    "parse_fields",
]

Resolver = Callable[[str, str], "Mapping[str, Any] | None"]

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
IDENTIFIABLE = ("id", "name", "code", "created", "lastUpdated", "lastUpdatedBy")
NAMEABLE = ("id", "name", "shortName", "description", "code", "created", "lastUpdated")
PRESETS = frozenset({"*", ":all", ":identifiable", ":nameable", ":owner", ":persisted", ":simple",
                     ":id", ":name"})  # fmt: skip
_DERIVED = frozenset({"displayName", "displayShortName", "displayDescription", "displayFormName",
                      "dimensionItem", "dimensionItemType", "href", "access", "favorite"})  # fmt: skip


class FieldsSyntaxError(ValueError):
    """A `fields` expression that DHIS2 would reject with 400."""


@dataclass
class FieldSpec:
    """One entry of a parsed `fields` expression.

    Attributes:
        name: Property name, or a preset such as `*` or `:owner`.
        exclude: True for `!name`.
        children: Nested specs (`name[...]`), or None.
        transformers: (name, args) pairs, in order.
    """

    name: str
    exclude: bool = False
    children: list[FieldSpec] | None = None
    transformers: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def is_preset(self) -> bool:
        """True for `*` and the `:xxx` presets."""
        return self.name in PRESETS or self.name.startswith(":")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = "".join(text.split())  # DHIS2 skips whitespace
        self.pos = 0

    def error(self, what: str = "a name character") -> FieldsSyntaxError:
        got = self.text[self.pos] if self.pos < len(self.text) else "end of input"
        return FieldsSyntaxError(
            f"Expected {what} at position {self.pos} but found `{got}` in fields `{self.text}`"
        )

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> list[FieldSpec]:
        specs = self.parse_list(None)
        if self.pos < len(self.text):
            raise self.error()
        return specs

    def parse_list(self, closing: str | None) -> list[FieldSpec]:
        specs: list[FieldSpec] = []
        while self.pos < len(self.text):
            ch = self.peek()
            if ch == ",":
                self.pos += 1
                continue
            if closing is not None and ch == closing:
                self.pos += 1
                return specs
            if ch in "])":
                raise self.error()
            specs.append(self.parse_entry())
            nxt = self.peek()
            if nxt and nxt != "," and nxt != closing:
                raise self.error("`,`")
        return specs  # a missing closing bracket at the end is tolerated

    def read_name(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _NAME_CHARS:
            # `-` starts an exclusion, not a name; inside a name it is a name character.
            self.pos += 1
        return self.text[start : self.pos]

    def parse_entry(self) -> FieldSpec:
        exclude = False
        if self.peek() in "!-":
            exclude = True
            self.pos += 1
        ch = self.peek()
        if ch == "*":
            self.pos += 1
            name = "*"
        elif ch == ":" and not self.text.startswith("::", self.pos):
            self.pos += 1
            word = self.read_name()
            if not word:
                raise self.error()
            name = ":" + word
        else:
            name = self.read_name()
            if not name:
                raise self.error()
        spec = FieldSpec(name, exclude)
        self.parse_transformers(spec)
        if self.peek() and self.peek() in "[(":
            closing = "]" if self.peek() == "[" else ")"
            self.pos += 1
            spec.children = self.parse_list(closing)
            self.parse_transformers(spec)
        return spec

    def parse_transformers(self, spec: FieldSpec) -> None:
        while True:
            if self.text.startswith("::", self.pos):
                self.pos += 2
            elif self.peek() in ("~", "|", "@") and self.peek():
                self.pos += 1
            else:
                return
            name = self.read_name()
            if not name:
                raise self.error("a transformer name")
            args: list[str] = []
            if self.peek() == "(":
                end = self.text.find(")", self.pos)
                if end < 0:
                    raise self.error("`)`")
                raw = self.text[self.pos + 1 : end]
                args = [a for a in raw.replace(";", ",").split(",") if a]
                self.pos = end + 1
            spec.transformers.append((name, args))


def _expand_dotted(specs: list[FieldSpec]) -> list[FieldSpec]:
    out: list[FieldSpec] = []
    for spec in specs:
        if spec.children is not None:
            spec.children = _expand_dotted(spec.children)
        if "." in spec.name and not spec.is_preset:
            head, _, rest = spec.name.partition(".")
            inner = FieldSpec(rest, False, spec.children, spec.transformers)
            out.append(FieldSpec(head, spec.exclude, _expand_dotted([inner])))
        else:
            out.append(spec)
    return out


def parse_fields(text: str | None, default: str = "id,displayName") -> list[FieldSpec]:
    """Parse a `fields` expression (several `fields` params can be joined with `,`).

    Args:
        text: The expression; None or empty uses `default`.
        default: Expression used when `text` is empty.

    Returns:
        The parsed specs.

    Raises:
        FieldsSyntaxError: On a syntax error.

    Example:
        >>> [s.name for s in parse_fields(":all,!children")]
        [':all', 'children']
    """
    source = text if text and text.strip() else default
    return _expand_dotted(_Parser(source).parse())


def _preset_keys(name: str, obj: Mapping[str, Any], owner_exclude: frozenset[str]) -> list[str]:
    if name in ("*", ":all"):
        return list(obj)
    if name == ":identifiable":
        return [k for k in IDENTIFIABLE if k in obj]
    if name == ":nameable":
        return [k for k in NAMEABLE if k in obj]
    if name == ":id":
        return ["id"] if "id" in obj else []
    if name == ":name":
        return [k for k in ("id", "name") if k in obj]
    if name == ":simple":
        return [k for k, v in obj.items() if not isinstance(v, (dict, list))]
    if name in (":owner", ":persisted"):
        exclude = owner_exclude | _DERIVED if name == ":owner" else _DERIVED
        return [k for k in obj if k not in exclude]
    return []


def _lookup(obj: Mapping[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    if key == "displayName":
        return obj.get("name")
    if key == "displayShortName":
        return obj.get("shortName", obj.get("name"))
    return _MISSING


_MISSING = object()


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and "id" in value and len(value) == 1


def _resolved(key: str, value: Any, resolve: Resolver | None) -> Any:
    if resolve is not None and _is_ref(value):
        found = resolve(key, value["id"])
        if found is not None:
            return found
    return value


def _transform(
    key: str, value: Any, transformers: list[tuple[str, list[str]]], resolve: Resolver | None
) -> tuple[str, Any]:
    for name, args in transformers:
        lname = name.lower()
        if lname == "rename" and args:
            key = args[0]
        elif lname == "size":
            value = len(value) if isinstance(value, (list, dict, str)) else 0
        elif lname == "isempty":
            value = not value if isinstance(value, (list, dict, str)) else value is None
        elif lname == "isnotempty":
            value = bool(value) if isinstance(value, (list, dict, str)) else value is not None
        elif lname == "pluck" and isinstance(value, list):
            prop = args[0] if args else "id"
            plucked = []
            for item in value:
                full = _resolved(key, item, resolve) if prop != "id" else item
                if isinstance(full, Mapping):
                    plucked.append(full.get(prop))
            value = plucked
        elif lname == "paging" and isinstance(value, list):
            try:
                page = max(int(args[0]), 1) if args else 1
                size = int(args[1]) if len(args) > 1 else 50
            except ValueError:
                continue
            value = value[(page - 1) * size : page * size]
    return key, value


def apply_fields(
    obj: Mapping[str, Any],
    specs: list[FieldSpec],
    resolve: Resolver | None = None,
    owner_exclude: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Render `obj` through parsed `fields` specs.

    Args:
        obj: A DHIS2-shaped object (references as `{"id": uid}`).
        specs: Output of `parse_fields`.
        resolve: `resolve(property, uid)` returning the referenced object, for nested fields.
        owner_exclude: Keys that `:owner` leaves out for this object's type.

    Returns:
        The rendered dict, keys in request order (preset keys in object order).
    """
    included: dict[str, FieldSpec | None] = {}
    excluded: set[str] = set()
    for spec in specs:
        if spec.exclude:
            excluded.add(spec.name)
        elif spec.is_preset:
            for key in _preset_keys(spec.name, obj, owner_exclude):
                included.setdefault(key, None)
        else:
            included[spec.name] = spec
    out: dict[str, Any] = {}
    for key, entry in included.items():
        if key in excluded:
            continue
        value = _lookup(obj, key)
        if value is _MISSING:
            continue
        if entry is None:
            out[key] = value
            continue
        if entry.children is not None:
            value = _render_nested(key, value, entry.children, resolve)
        out_key, value = _transform(key, value, entry.transformers, resolve)
        out[out_key] = value
    return out


def _render_nested(
    key: str, value: Any, children: list[FieldSpec], resolve: Resolver | None
) -> Any:
    if isinstance(value, list):
        return [
            apply_fields(_resolved(key, item, resolve), children, resolve)
            if isinstance(item, Mapping)
            else item
            for item in value
        ]
    if isinstance(value, Mapping):
        return apply_fields(_resolved(key, value, resolve), children, resolve)
    return value


def _simple_keys(specs: list[FieldSpec]) -> list[str] | None:
    """Keys of a flat expression (no presets, nesting, exclusion or transformers), else None."""
    keys = []
    for spec in specs:
        if spec.exclude or spec.is_preset or spec.children is not None or spec.transformers:
            return None
        keys.append(spec.name)
    return keys


def apply_fields_many(
    objects: list[Mapping[str, Any]],
    specs: list[FieldSpec],
    resolve: Resolver | None = None,
    owner_exclude: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Render many objects; flat expressions such as `id,name,level` take a fast path.

    Example:
        >>> apply_fields_many([{"id": "a", "name": "A"}], parse_fields("id,displayName"))
        [{'id': 'a', 'displayName': 'A'}]
    """
    keys = _simple_keys(specs)
    if keys is None:
        return [apply_fields(o, specs, resolve, owner_exclude) for o in objects]
    if all(k not in ("displayName", "displayShortName") for k in keys):
        return [{k: o[k] for k in keys if k in o} for o in objects]
    out = []
    for o in objects:
        row: dict[str, Any] = {}
        for k in keys:
            v = _lookup(o, k)
            if v is not _MISSING:
                row[k] = v
        out.append(row)
    return out
