"""Deterministic generator of the emulator's demo metadata, shaped like DHIS2's Sierra Leone demo.

The root `ImspTQPwCqd` "Sierra Leone", its 13 districts, the four level names, the ANC data
elements and a few demo indicators carry the real identifiers of the public demo database, so
default parameters work against both the emulator and the demo server. Everything else (chiefdoms,
facilities, most data elements and indicators) is generated from a seeded PRNG by this module.

Org units are kept in a compact column store and rendered to DHIS2-shaped dicts on demand for
large instances (`generate_dataset(org_units=400_000)`), so memory stays moderate.

Example:
    >>> ds = generate_dataset()
    >>> ds.get("organisationUnits", "ImspTQPwCqd")["name"]
    'Sierra Leone'
    >>> len(ds.org_units_at_level(2))
    13
"""

from __future__ import annotations

import builtins
import math
import random
import string
from array import array
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_CATEGORY_COMBO",
    "DEFAULT_CATEGORY_OPTION_COMBO",
    "DISTRICTS",
    "LEVELS",
    "ROOT_ID",
    "SCHEMAS",
    "Dhis2Dataset",
    "ObjectCollection",
    "OrgUnitTable",
    "Schema",
    "generate_dataset",
]

Obj = dict[str, Any]

ROOT_ID = "ImspTQPwCqd"
ROOT_NAME = "Sierra Leone"
DEFAULT_CATEGORY_COMBO = "bjDvmb4bfuf"
DEFAULT_CATEGORY = "GLevLNI9wkl"
DEFAULT_CATEGORY_OPTION = "xYerKDKCefk"
DEFAULT_CATEGORY_OPTION_COMBO = "HllvX50cXC0"
LOCATION_COMBO = "KYYSTxeVw28"
LOCATION_CATEGORY = "fMZEcRHuamy"
FIXED_OPTION, OUTREACH_OPTION = "qkPbeWaFsnU", "wbrDrL2aYEc"
FIXED_COC, OUTREACH_COC = "pq2XI5kz2BY", "PT59n8BQbqM"
ANC_1, ANC_2, ANC_3, ANC_4 = "fbfJHSPpUQD", "cYeuwXTCPkU", "Jtf34kNZhzP", "hfdmMSPBgLG"
BROKEN_REFERENCE = "Xq0MissngDE"  # a UID that names no object, on purpose

# (uid, name, level) of the four Sierra Leone levels.
LEVELS: tuple[tuple[str, str, int], ...] = (
    ("H1KlN4QIauv", "National", 1),
    ("wjP19dkFeIk", "District", 2),
    ("tTUf91fCytl", "Chiefdom", 3),
    ("m9lBJogzE95", "Facility", 4),
)

# (uid, name, default chiefdom count, approximate centre lon/lat) of the 13 districts.
DISTRICTS: tuple[tuple[str, str, int, float, float], ...] = (
    ("O6uvpzGd5pu", "Bo", 15, -11.74, 7.96),
    ("fdc6uOvgoji", "Bombali", 13, -12.16, 9.25),
    ("lc3eMKXaEfw", "Bonthe", 11, -12.50, 7.53),
    ("jUb8gELQApl", "Kailahun", 14, -10.57, 8.08),
    ("PMa2VCrupOd", "Kambia", 7, -12.92, 9.13),
    ("kJq2mPyFEHo", "Kenema", 16, -11.19, 7.88),
    ("qhqAxPSTUXp", "Koinadugu", 11, -11.37, 9.52),
    ("Vth0fbpFcsO", "Kono", 14, -10.97, 8.64),
    ("jmIPBj66vD6", "Moyamba", 14, -12.43, 8.16),
    ("TEQlaapDQoK", "Port Loko", 11, -12.79, 8.77),
    ("bL4ooGhyHRQ", "Pujehun", 12, -11.72, 7.36),
    ("eIQbndfxQMb", "Tonkolili", 11, -11.80, 8.74),
    ("at6UHUQatSo", "Western Area", 3, -13.10, 8.40),
)
DEFAULT_CHIEFDOMS = sum(d[2] for d in DISTRICTS)  # 152
DEFAULT_FACILITIES = 1166
DEFAULT_ORG_UNITS = 1 + len(DISTRICTS) + DEFAULT_CHIEFDOMS + DEFAULT_FACILITIES  # 1,332
BBOX = (-13.30, 6.90, -10.30, 10.00)  # lon_min, lat_min, lon_max, lat_max

# Facility types: (org unit group uid, name suffix, relative frequency).
FACILITY_TYPES: tuple[tuple[str, str, int], ...] = (
    ("uYxK4wmcPqA", "CHP", 40),
    ("EYbopBOJWsW", "MCHP", 38),
    ("CXw2yu5fodb", "CHC", 12),
    ("RXL3lPSK8oG", "Clinic", 6),
    ("tDZVQ1WtwpA", "Hospital", 4),
)
FACILITY_TYPE_GROUP_SET = "J5jldMd8OHv"

_LETTERS = string.ascii_letters
_ALNUM = string.ascii_letters + string.digits
_SYL_START = (
    "Ba", "Bo", "Bu", "Da", "Fa", "Ga", "Gba", "Go", "Ja", "Jo", "Ka", "Ke", "Ko", "Kpa", "Kpe",
    "Ku", "La", "Lu", "Ma", "Mba", "Mo", "Na", "Nja", "Ngo", "Ro", "Sa", "Se", "Si", "Su", "Ta",
    "Te", "To", "Wa", "Wo", "Ya", "Yo", "Ma", "Ha",
)  # fmt: skip
_SYL_MID = (
    "ba", "bo", "di", "ga", "gbo", "ja", "ka", "ki", "ko", "la", "le", "lo", "ma", "me", "mo",
    "na", "ndo", "ngo", "nja", "ra", "ri", "sa", "se", "ta", "to", "wa", "ya", "yei",
)  # fmt: skip
_SYL_END = (
    "hun", "ma", "la", "ni", "ta", "wa", "ko", "bu", "ri", "mbo", "kor", "lleh", "seh", "ya",
    "kuma", "bana", "fe", "ndu", "wulu", "ndeh", "ka", "nda", "yama", "ru", "gbe",
)  # fmt: skip

_EPOCH_DAY = 0  # 1970-01-01 is day 0 of `_date_from_day`
_STAMP_TIME = "T00:00:00.000"


def _uid(rng: random.Random) -> str:
    """Draw a UID from `rng` (a letter then ten letters or digits)."""
    n = rng.getrandbits(64)
    chars = [_LETTERS[n % 52]]
    n //= 52
    for _ in range(10):
        if n < 62:
            n ^= rng.getrandbits(64)
        chars.append(_ALNUM[n % 62])
        n //= 62
    return "".join(chars)


def _date_from_day(day: int) -> str:
    """Render a day count since 1970-01-01 as a DHIS2 timestamp (`yyyy-MM-ddT00:00:00.000`)."""
    # Civil-from-days (Howard Hinnant's algorithm), avoiding datetime objects in hot loops.
    z = day + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return f"{y + (m <= 2):04d}-{m:02d}-{d:02d}{_STAMP_TIME}"


def _stamp(rng: random.Random, start_year: int = 2012, span_days: int = 3000) -> str:
    """A plausible created/lastUpdated timestamp with milliseconds."""
    base = (start_year - 1970) * 365 + 10 + rng.randrange(span_days)
    day = _date_from_day(base)[:10]
    return f"{day}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}"


def _place_name(rng: random.Random) -> str:
    parts = [rng.choice(_SYL_START)]
    if rng.random() < 0.55:
        parts.append(rng.choice(_SYL_MID))
    parts.append(rng.choice(_SYL_END))
    return "".join(parts)


def _clip(lon: float, lat: float) -> tuple[float, float]:
    lon = min(max(lon, BBOX[0] + 0.01), BBOX[2] - 0.01)
    lat = min(max(lat, BBOX[1] + 0.01), BBOX[3] - 0.01)
    return round(lon, 6), round(lat, 6)


def _polygon(rng: random.Random, lon: float, lat: float, radius: float) -> list[list[list[float]]]:
    """An irregular closed ring around (lon, lat), clipped to the country's bounding box."""
    corners = 8
    ring: list[list[float]] = []
    for k in range(corners):
        angle = 2 * math.pi * k / corners
        r = radius * (0.7 + 0.6 * rng.random())
        x, y = _clip(lon + r * math.cos(angle), lat + r * math.sin(angle))
        ring.append([x, y])
    ring.append(list(ring[0]))
    return [ring]


def _split(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split `total` into integer parts proportional to `weights` (largest remainder)."""
    reserved = minimum * len(weights)
    rest = max(total - reserved, 0)
    scale = sum(weights) or 1.0
    raw = [rest * w / scale for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


@dataclass(frozen=True)
class Schema:
    """What the emulator knows about one metadata type.

    Attributes:
        collection: Plural name used in URLs and list responses (`dataElements`).
        singular: Singular name (`dataElement`).
        klass: Fully qualified Java class name (for import reports).
        owner_exclude: Keys of a `*` rendering that are not owned properties (left out by
            `:owner`, the default of `/api/metadata`).
    """

    collection: str
    singular: str
    klass: str
    owner_exclude: frozenset[str] = frozenset()

    @property
    def simple_name(self) -> str:
        """The Java simple class name, e.g. `DataElement` (used in 404 messages)."""
        return self.klass.rsplit(".", 1)[-1]


_DERIVED = frozenset({"displayName", "displayShortName", "displayDescription", "dimensionItem",
                      "dimensionItemType", "href", "access", "favorite"})  # fmt: skip


def _schema(collection: str, package: str, klass: str, extra: tuple[str, ...] = ()) -> Schema:
    singular = collection[:-1] if not collection.endswith("ies") else collection[:-3] + "y"
    return Schema(collection, singular, f"org.hisp.dhis.{package}.{klass}", _DERIVED | set(extra))


SCHEMAS: dict[str, Schema] = {
    s.collection: s
    for s in (
        _schema(
            "organisationUnits",
            "organisationunit",
            "OrganisationUnit",
            (
                "children",
                "ancestors",
                "leaf",
                "organisationUnitGroups",
                "dataSets",
                "programs",
                "users",
            ),
        ),
        _schema("organisationUnitLevels", "organisationunit", "OrganisationUnitLevel"),
        _schema(
            "organisationUnitGroups", "organisationunit", "OrganisationUnitGroup", ("groupSets",)
        ),
        _schema("organisationUnitGroupSets", "organisationunit", "OrganisationUnitGroupSet"),
        _schema(
            "dataElements", "dataelement", "DataElement", ("dataSetElements", "dataElementGroups")
        ),
        _schema("dataElementGroups", "dataelement", "DataElementGroup"),
        _schema("categoryOptions", "category", "CategoryOption", ("categories",)),
        _schema("categories", "category", "Category", ("categoryCombos",)),
        _schema("categoryCombos", "category", "CategoryCombo", ("categoryOptionCombos",)),
        _schema("categoryOptionCombos", "category", "CategoryOptionCombo"),
        _schema("indicatorTypes", "indicator", "IndicatorType"),
        _schema("indicators", "indicator", "Indicator", ("indicatorGroups",)),
        _schema("indicatorGroups", "indicator", "IndicatorGroup"),
        _schema("dataSets", "dataset", "DataSet"),
        _schema("constants", "constant", "Constant"),
        _schema("users", "user", "User", ("userCredentials",)),
        _schema("userRoles", "user", "UserRole"),
    )
}


class ObjectCollection(MutableMapping[str, Obj]):
    """uid → object mapping of one metadata type, eager (plain dict) or rendered on demand.

    Writes (metadata import) go to an overlay; `version` changes on every write so cached
    orderings can be invalidated.

    Example:
        >>> c = ObjectCollection({"a": {"id": "a", "name": "A"}})
        >>> c["a"]["name"], len(c)
        ('A', 1)
    """

    def __init__(
        self,
        objects: dict[str, Obj] | None = None,
        *,
        lazy_ids: list[str] | None = None,
        lazy_index: dict[str, int] | None = None,
        render: Callable[[int], Obj] | None = None,
    ) -> None:
        self._objects: dict[str, Obj] = objects if objects is not None else {}
        self._lazy_ids = lazy_ids or []
        self._lazy_index = lazy_index if lazy_index is not None else {}
        self._render = render
        self._deleted: set[str] = set()
        self.version = 0

    @property
    def lazy(self) -> bool:
        """True when objects are rendered on access (large org unit trees)."""
        return self._render is not None

    def __getitem__(self, uid: str) -> Obj:
        obj = self._objects.get(uid)
        if obj is not None:
            return obj
        if self._render is not None and uid not in self._deleted:
            i = self._lazy_index.get(uid)
            if i is not None:
                return self._render(i)
        raise KeyError(uid)

    def __setitem__(self, uid: str, obj: Obj) -> None:
        self._objects[uid] = obj
        self._deleted.discard(uid)
        self.version += 1

    def __delitem__(self, uid: str) -> None:
        if uid not in self:
            raise KeyError(uid)
        self._objects.pop(uid, None)
        if uid in self._lazy_index:
            self._deleted.add(uid)
        self.version += 1

    def __contains__(self, uid: object) -> bool:
        if uid in self._objects:
            return True
        return uid in self._lazy_index and uid not in self._deleted

    def __iter__(self) -> Iterator[str]:
        if self._render is None:
            yield from self._objects
            return
        for uid in self._lazy_ids:
            if uid not in self._deleted:
                yield uid
        for uid in self._objects:
            if uid not in self._lazy_index:
                yield uid

    def __len__(self) -> int:
        if self._render is None:
            return len(self._objects)
        extra = sum(1 for uid in self._objects if uid not in self._lazy_index)
        return len(self._lazy_ids) - len(self._deleted) + extra


@dataclass
class OrgUnitTable:
    """Column store of the org unit tree, in breadth-first order.

    Breadth-first order makes every node's children, and its descendants at any level, a
    contiguous index range, so hierarchy queries are slices.
    """

    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    levels: array[int] = field(default_factory=lambda: array("b"))
    parents: array[int] = field(default_factory=lambda: array("i"))
    child_start: array[int] = field(default_factory=lambda: array("i"))
    child_end: array[int] = field(default_factory=lambda: array("i"))
    opening_day: array[int] = field(default_factory=lambda: array("i"))
    closed_day: dict[int, int] = field(default_factory=dict)
    lon: array[float] = field(default_factory=lambda: array("d"))
    lat: array[float] = field(default_factory=lambda: array("d"))
    polygons: dict[int, list[list[list[float]]]] = field(default_factory=dict)
    facility_type: array[int] = field(default_factory=lambda: array("b"))  # -1 if not a facility
    urban: array[int] = field(default_factory=lambda: array("b"))
    created: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    level_ranges: list[tuple[int, int]] = field(default_factory=list)  # per level 1..4

    def add(self, uid: str, name: str, code: str, level: int, parent: int) -> int:
        """Append a unit and return its index (children ranges are set by the generator)."""
        i = len(self.ids)
        self.ids.append(uid)
        self.names.append(name)
        self.codes.append(code)
        self.levels.append(level)
        self.parents.append(parent)
        self.child_start.append(0)
        self.child_end.append(0)
        self.index[uid] = i
        return i

    def __len__(self) -> int:
        return len(self.ids)

    def path(self, i: int) -> str:
        """The `/root/.../uid` path of unit `i`."""
        chain = []
        while i >= 0:
            chain.append(self.ids[i])
            i = self.parents[i]
        return "/" + "/".join(reversed(chain))

    def range_at_level(self, i: int, level: int) -> tuple[int, int]:
        """Index range of the descendants of `i` at absolute `level` (`i` itself if equal)."""
        lo, hi = i, i + 1
        for _ in range(self.levels[i], level):
            if lo >= hi:
                return lo, lo
            lo, hi = self.child_start[lo], self.child_end[hi - 1]
        return lo, hi


@dataclass
class Dhis2Dataset:
    """The emulator's metadata: every collection as uid → DHIS2-rendered object.

    Attributes:
        objects: collection name → `ObjectCollection` (uid → object as `fields=*` renders it).
        org_units: Compact column store of the org unit tree.
        root_id: The root org unit (`ImspTQPwCqd`).
        seed: The seed the dataset was generated from.
        requested_org_units: The `org_units` argument of `generate_dataset`.

    Example:
        >>> ds = generate_dataset()
        >>> ds.get("dataElements", "fbfJHSPpUQD")["categoryCombo"]
        {'id': 'KYYSTxeVw28'}
    """

    objects: dict[str, ObjectCollection]
    org_units: OrgUnitTable
    seed: int
    requested_org_units: int | None
    root_id: str = ROOT_ID
    facility_ids: list[str] = field(default_factory=list)
    _order_cache: dict[str, tuple[int, list[str]]] = field(default_factory=dict, repr=False)

    # -- generic access ---------------------------------------------------------------------
    def get(self, collection: str, uid: str) -> Obj | None:
        """Return one object, or None when the collection or uid is unknown."""
        objs = self.objects.get(collection)
        if objs is None:
            return None
        try:
            return objs[uid]
        except KeyError:
            return None

    def ordered_ids(self, collection: str) -> list[str]:
        """The collection's uids in DHIS2's default order (by name, then id); cached."""
        objs = self.objects[collection]
        cached = self._order_cache.get(collection)
        if cached is not None and cached[0] == objs.version:
            return cached[1]
        if collection == "organisationUnits" and objs.lazy:
            table = self.org_units
            names = table.names
            ids = table.ids
            order = sorted(range(len(ids)), key=lambda i: (names[i], ids[i]))
            deleted = objs._deleted
            result = [ids[i] for i in order if ids[i] not in deleted]
            extra = [u for u in objs._objects if u not in table.index]
            if extra:
                result = sorted(result + extra, key=lambda u: (objs[u].get("name", ""), u))
        else:
            result = sorted(objs, key=lambda u: (str(objs[u].get("name", "")), u))
        self._order_cache[collection] = (objs.version, result)
        return result

    def list(self, collection: str) -> builtins.list[Obj]:
        """All objects of a collection in DHIS2's default order (by name)."""
        objs = self.objects[collection]
        return [objs[u] for u in self.ordered_ids(collection)]

    def schema(self, collection: str) -> Schema | None:
        """The `Schema` of a collection, or None when the emulator does not know it."""
        return SCHEMAS.get(collection)

    # -- hierarchy --------------------------------------------------------------------------
    def _index_of(self, uid: str) -> int:
        try:
            return self.org_units.index[uid]
        except KeyError:
            raise KeyError(f"Unknown organisation unit {uid!r}") from None

    def org_units_at_level(self, level: int) -> builtins.list[str]:
        """UIDs of the org units at absolute `level` (1 = root), in tree order."""
        if not 1 <= level <= len(self.org_units.level_ranges):
            return []
        lo, hi = self.org_units.level_ranges[level - 1]
        return self.org_units.ids[lo:hi]

    def descendants(self, uid: str, level: int | None = None) -> builtins.list[str]:
        """Org units below `uid`.

        Args:
            uid: An org unit UID.
            level: If given, only the subtree units at this absolute level (`uid` itself when
                it is at that level); otherwise every unit strictly below `uid`.

        Returns:
            UIDs in tree order.

        Raises:
            KeyError: For an unknown org unit.
        """
        table = self.org_units
        i = self._index_of(uid)
        if level is not None:
            lo, hi = table.range_at_level(i, level) if level >= table.levels[i] else (0, 0)
            return table.ids[lo:hi]
        out: builtins.list[str] = []
        for lvl in range(table.levels[i] + 1, len(table.level_ranges) + 1):
            lo, hi = table.range_at_level(i, lvl)
            out.extend(table.ids[lo:hi])
        return out

    def children(self, uid: str) -> builtins.list[str]:
        """Direct children of `uid` in tree order."""
        i = self._index_of(uid)
        return self.org_units.ids[self.org_units.child_start[i] : self.org_units.child_end[i]]

    def ancestors(self, uid: str) -> builtins.list[str]:
        """Ancestors of `uid`, root first, not including `uid`."""
        table = self.org_units
        out: builtins.list[str] = []
        i = table.parents[self._index_of(uid)]
        while i >= 0:
            out.append(table.ids[i])
            i = table.parents[i]
        out.reverse()
        return out

    def level_of(self, uid: str) -> int:
        """Absolute level of an org unit (1 = root)."""
        return int(self.org_units.levels[self._index_of(uid)])

    def path_of(self, uid: str) -> str:
        """The `/ImspTQPwCqd/...` path of an org unit."""
        return self.org_units.path(self._index_of(uid))

    def name_of(self, uid: str) -> str:
        """Name of an org unit (fast, without rendering it)."""
        return self.org_units.names[self._index_of(uid)]

    @property
    def max_level(self) -> int:
        """Deepest org unit level."""
        return len(self.org_units.level_ranges)


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def _build_tree(total: int | None, seed: int) -> OrgUnitTable:
    rng = random.Random(f"{seed}:orgunits")
    table = OrgUnitTable()
    if total is None:
        chiefdom_counts = [d[2] for d in DISTRICTS]
        n_facilities = DEFAULT_FACILITIES
    else:
        rest = max(total - 1 - len(DISTRICTS), 2 * len(DISTRICTS))
        n_chiefdoms = max(round(rest * DEFAULT_CHIEFDOMS / (DEFAULT_CHIEFDOMS + 1166)), 13)
        chiefdom_counts = _split(n_chiefdoms, [float(d[2]) for d in DISTRICTS], minimum=1)
        n_facilities = rest - sum(chiefdom_counts)

    root = table.add(ROOT_ID, ROOT_NAME, "OU_525", 1, -1)
    table.level_ranges.append((0, 1))
    used: set[str] = {ROOT_ID} | {d[0] for d in DISTRICTS}
    centres: list[tuple[float, float, float]] = [(-11.78, 8.46, 1.5)]

    def new_uid() -> str:
        while True:
            uid = _uid(rng)
            if uid not in used:
                used.add(uid)
                return uid

    # Level 2: the real districts.
    table.child_start[root] = len(table)
    for uid, name, _, lon, lat in DISTRICTS:
        i = table.add(uid, name, f"OU_{len(table) + 1000}", 2, root)
        centres.append((lon, lat, 0.32))
        table.polygons[i] = _polygon(rng, lon, lat, 0.32)
    table.child_end[root] = len(table)
    table.level_ranges.append((1, len(table)))

    # Level 3: chiefdoms, then level 4: facilities.
    names_used: set[str] = set()

    def unique_name(make: Callable[[], str]) -> str:
        for _ in range(4):
            name = make()
            if name not in names_used:
                names_used.add(name)
                return name
        name = f"{make()} {len(table)}"
        names_used.add(name)
        return name

    start3 = len(table)
    for d_index, count in enumerate(chiefdom_counts, start=1):
        table.child_start[d_index] = len(table)
        dlon, dlat, drad = centres[d_index]
        for _ in range(count):
            i = table.add(new_uid(), unique_name(lambda: _place_name(rng)), "", 3, d_index)
            angle, dist = rng.random() * 2 * math.pi, drad * 0.8 * math.sqrt(rng.random())
            clon, clat = _clip(dlon + dist * math.cos(angle), dlat + dist * math.sin(angle))
            centres.append((clon, clat, 0.06))
            if rng.random() < 0.35:
                table.polygons[i] = _polygon(rng, clon, clat, 0.05)
        table.child_end[d_index] = len(table)
    table.level_ranges.append((start3, len(table)))

    start4 = len(table)
    weights = [0.4 + rng.random() for _ in range(start4 - start3)]
    facility_counts = _split(
        n_facilities, weights, minimum=1 if n_facilities >= len(weights) else 0
    )
    type_weights = [t[2] for t in FACILITY_TYPES]
    type_suffix = [t[1] for t in FACILITY_TYPES]
    type_choices = range(len(FACILITY_TYPES))
    for c_offset, count in enumerate(facility_counts):
        c_index = start3 + c_offset
        table.child_start[c_index] = len(table)
        clon, clat, crad = centres[c_index]
        for _ in range(count):
            ftype = rng.choices(type_choices, type_weights)[0]
            suffix = type_suffix[ftype]
            name = unique_name(lambda s=suffix: f"{_place_name(rng)} {s}")  # type: ignore[misc]
            table.add(new_uid(), name, "", 4, c_index)
            table.facility_type.append(ftype)
            table.urban.append(1 if rng.random() < 0.22 else 0)
            if rng.random() < 0.05:  # some facilities have no coordinates
                table.lon.append(math.nan)
                table.lat.append(math.nan)
            else:
                lon, lat = _clip(clon + rng.gauss(0, crad), clat + rng.gauss(0, crad))
                table.lon.append(lon)
                table.lat.append(lat)
        table.child_end[c_index] = len(table)
    table.level_ranges.append((start4, len(table)))
    # Facilities have no children: an empty range at the end keeps range arithmetic uniform.
    end = len(table)
    for i in range(start4, end):
        table.child_start[i] = end
        table.child_end[i] = end

    # Codes, opening dates, creation stamps for every unit.
    first_facility = start4
    for i in range(len(table)):
        if not table.codes[i]:
            table.codes[i] = f"OU_{i + 1000}"
        level = table.levels[i]
        if level == 4:
            day = rng.randrange(0, 45 * 365)
        else:
            day = 0 if level <= 2 else rng.randrange(0, 5 * 365)
        table.opening_day.append(day)
        table.created.append(_stamp(rng))
        if level == 4 and rng.random() < 0.01:
            table.closed_day[i] = day + rng.randrange(365, 20 * 365)
    # Pad per-facility columns so they are indexable by the global index.
    pad = first_facility
    table.facility_type = array("b", [-1] * pad) + table.facility_type
    table.urban = array("b", [0] * pad) + table.urban
    table.lon = array("d", [math.nan] * pad) + table.lon
    table.lat = array("d", [math.nan] * pad) + table.lat
    return table


def _ref(uid: str) -> dict[str, str]:
    return {"id": uid}


def _refs(uids: list[str]) -> list[dict[str, str]]:
    return [{"id": u} for u in uids]


class _MetaBuilder:
    """Accumulates the non-org-unit collections with deterministic UIDs and timestamps."""

    def __init__(self, seed: int, used: set[str]) -> None:
        self.rng = random.Random(f"{seed}:metadata")
        self.used = used
        self.objects: dict[str, dict[str, Obj]] = {name: {} for name in SCHEMAS}
        self.code_counter = 10000

    def uid(self) -> str:
        while True:
            uid = _uid(self.rng)
            if uid not in self.used:
                self.used.add(uid)
                return uid

    def add(self, collection: str, uid: str | None, name: str, **props: Any) -> Obj:
        uid = uid or self.uid()
        self.used.add(uid)
        short = props.pop("shortName", name[:50])
        code = props.pop("code", None)
        if code is None:
            self.code_counter += 1
            code = f"{SCHEMAS[collection].singular[:2].upper()}_{self.code_counter}"
        created = _stamp(self.rng, 2012, 600)
        obj: Obj = {
            "id": uid,
            "name": name,
            "shortName": short,
            "displayName": name,
            "displayShortName": short,
            "code": code,
            "created": created,
            "lastUpdated": max(created, _stamp(self.rng, 2014, 2500)),
        }
        obj.update(props)
        obj.setdefault("attributeValues", [])
        obj.setdefault("translations", [])
        self.objects[collection][uid] = obj
        return obj


# (name, valueType, aggregationType, combo key, data set key); None uid → generated.
_DATA_ELEMENTS: tuple[tuple[str | None, str, str, str, str, str], ...] = (
    (ANC_1, "ANC 1st visit", "NUMBER", "SUM", "location", "rh"),
    (ANC_2, "ANC 2nd visit", "NUMBER", "SUM", "location", "rh"),
    (ANC_3, "ANC 3rd visit", "NUMBER", "SUM", "location", "rh"),
    (ANC_4, "ANC 4th or more visits", "NUMBER", "SUM", "location", "rh"),
    (None, "IPT 1st dose given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "location", "rh"),
    (None, "IPT 2nd dose given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "location", "rh"),
    (None, "Tetanus toxoid 2nd dose given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "location", "rh"),
    (None, "Postnatal care visits", "INTEGER_ZERO_OR_POSITIVE", "SUM", "location", "rh"),
    (None, "Deliveries in facility", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "rh"),
    (None, "Deliveries by skilled attendant", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "rh"),
    (None, "Live births", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "rh"),
    (None, "Still births", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "rh"),
    (None, "Low birth weight", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "rh"),
    (None, "Maternal deaths", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "rh"),
    (None, "Family planning new acceptors", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "rh"),
    (None, "BCG doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "ch"),
    (None, "OPV 0 doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "ch"),
    (None, "OPV 1 doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "ch"),
    (None, "OPV 2 doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "ch"),
    (None, "OPV 3 doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "ch"),
    (None, "Penta 1 doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "ch"),
    (None, "Penta 2 doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "ch"),
    (None, "Penta 3 doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "ch"),
    (None, "Measles doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "ch"),
    (None, "Yellow fever doses given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "ch"),
    (None, "Vitamin A supplement given", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "ch"),
    (None, "Fully immunized child", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "ch"),
    (None, "Children weighed", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "ch"),
    (None, "Weight for age below -3SD", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "ch"),
    (None, "Malaria tested", "INTEGER_ZERO_OR_POSITIVE", "SUM", "agesex", "mal"),
    (None, "Malaria confirmed cases", "INTEGER_ZERO_OR_POSITIVE", "SUM", "agesex", "mal"),
    (None, "Malaria treated with ACT", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "mal"),
    (None, "Malaria deaths", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "mal"),
    (None, "LLIN distributed", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "mal"),
    (None, "Malaria RDT stock on hand", "INTEGER_ZERO_OR_POSITIVE", "AVERAGE", "default", "mal"),
    (None, "Outpatient visits", "INTEGER_ZERO_OR_POSITIVE", "SUM", "agesex", "opd"),
    (None, "Inpatient admissions", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "opd"),
    (None, "Inpatient bed days", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "opd"),
    (None, "Diarrhoea cases", "INTEGER_ZERO_OR_POSITIVE", "SUM", "agesex", "opd"),
    (None, "Pneumonia cases", "INTEGER_ZERO_OR_POSITIVE", "SUM", "agesex", "opd"),
    (None, "Acute malnutrition cases", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "opd"),
    (None, "Cholera cases", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "opd"),
    (None, "Measles cases", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "opd"),
    (None, "TB cases notified", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "opd"),
    (None, "TB cases successfully treated", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "opd"),
    (None, "HIV tests performed", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "opd"),
    (None, "HIV positive tests", "INTEGER_ZERO_OR_POSITIVE", "SUM", "sex", "opd"),
    (None, "Referrals out", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "opd"),
    (None, "Clinical professionals", "INTEGER_ZERO_OR_POSITIVE", "AVERAGE", "default", "opd"),
    (None, "Facility beds", "INTEGER_ZERO_OR_POSITIVE", "AVERAGE", "default", "opd"),
    (None, "Total population", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "pop"),
    (None, "Population < 1 year", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "pop"),
    (None, "Population < 5 years", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "pop"),
    (None, "Expected pregnancies", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "pop"),
    (None, "Expected deliveries", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "pop"),
    (None, "Women of child bearing age", "INTEGER_ZERO_OR_POSITIVE", "SUM", "default", "pop"),
)

# The UIDs the Sierra Leone demo database (play.dhis2.org) gives the immunisation items, so
# the same data items work against the emulator and the public demo. Given after the
# PRNG drew the item's UID as before, so every other generated UID stays the same.
_DEMO_UIDS: dict[str, str] = {
    "BCG doses given": "s46m5MS0hxu",
    "OPV 0 doses given": "x3Do5e7g4Qo",
    "OPV 1 doses given": "pikOziyCXbM",
    "OPV 2 doses given": "O05mAByOgAv",
    "OPV 3 doses given": "vI2csg55S9C",
    "Penta 1 doses given": "fClA2Erf6IO",
    "Penta 2 doses given": "I78gJm4KBo7",
    "Penta 3 doses given": "n6aMJNLdvep",
    "Measles doses given": "YtbsuPPo010",
    "Yellow fever doses given": "l6byfWFUGaP",
    "Fully immunized child": "UOlfIjgN8X6",
    "Measles coverage <1y": "FbKK4ofIv5R",
}

# (key, uid or None, name, period type, group name, facility filter: every n-th facility skipped)
_DATA_SETS: tuple[tuple[str, str | None, str, str, str, int], ...] = (
    ("rh", None, "Reproductive Health", "Monthly", "ANC and delivery", 0),
    ("ch", "BfMAe6Itzgt", "Child Health", "Monthly", "Immunisation", 0),
    ("mal", None, "Malaria", "Monthly", "Malaria", 9),
    ("opd", None, "Morbidity and OPD", "Monthly", "Morbidity", 0),
    ("pop", None, "Population", "Yearly", "Population", 0),
)


def _build_categories(mb: _MetaBuilder) -> dict[str, tuple[str, list[str]]]:
    """Create categories, combos and option combos; return combo key → (uid, coc uids)."""
    combos: dict[str, tuple[str, list[str]]] = {}

    def category(uid: str | None, name: str, options: list[tuple[str | None, str]]) -> Obj:
        opts = [
            mb.add("categoryOptions", ouid, oname, categories=[], organisationUnits=[])
            for ouid, oname in options
        ]
        cat = mb.add(
            "categories", uid, name, dataDimension=True, dataDimensionType="DISAGGREGATION",
            categoryOptions=_refs([o["id"] for o in opts]), categoryCombos=[],
        )  # fmt: skip
        for o in opts:
            o["categories"].append(_ref(cat["id"]))
        return cat

    def combo(
        key: str, uid: str | None, name: str, cats: list[Obj], cocs: list[str | None] | None
    ) -> None:
        cc = mb.add(
            "categoryCombos", uid, name, dataDimensionType="DISAGGREGATION", skipTotal=False,
            categories=_refs([c["id"] for c in cats]), categoryOptionCombos=[],
        )  # fmt: skip
        for c in cats:
            c["categoryCombos"].append(_ref(cc["id"]))
        # Cartesian product of the categories' options, first category varying slowest.
        product: list[list[str]] = [[]]
        for c in cats:
            product = [[*p, o["id"]] for p in product for o in c["categoryOptions"]]
        coc_ids: list[str] = []
        for n, option_ids in enumerate(product):
            names = [mb.objects["categoryOptions"][o]["name"] for o in option_ids]
            coc = mb.add(
                "categoryOptionCombos", cocs[n] if cocs else None, ", ".join(names),
                categoryCombo=_ref(cc["id"]), categoryOptions=_refs(option_ids),
                ignoreApproval=False,
            )  # fmt: skip
            coc_ids.append(coc["id"])
        cc["categoryOptionCombos"] = _refs(coc_ids)
        combos[key] = (cc["id"], coc_ids)

    default = category(DEFAULT_CATEGORY, "default", [(DEFAULT_CATEGORY_OPTION, "default")])
    combo("default", DEFAULT_CATEGORY_COMBO, "default", [default], [DEFAULT_CATEGORY_OPTION_COMBO])
    location = category(
        LOCATION_CATEGORY, "Location Fixed/Outreach",
        [(FIXED_OPTION, "Fixed"), (OUTREACH_OPTION, "Outreach")],
    )  # fmt: skip
    combo("location", LOCATION_COMBO, "Location Fixed/Outreach", [location],
          [FIXED_COC, OUTREACH_COC])  # fmt: skip
    sex = category(None, "Gender", [(None, "Female"), (None, "Male")])
    combo("sex", None, "Gender", [sex], None)
    age = category(None, "Age group", [(None, "<5y"), (None, "5-14y"), (None, "15y+")])
    combo("agesex", None, "Age and gender", [age, sex], None)
    return combos


def _build_metadata(
    mb: _MetaBuilder, table: OrgUnitTable, facility_range: tuple[int, int]
) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """Build every non-org-unit collection; return data set uid → facility skip and groups."""
    combos = _build_categories(mb)
    # Data sets and their elements.
    ds_by_key: dict[str, Obj] = {}
    de_groups: dict[str, Obj] = {}
    for key, uid, name, period_type, group_name, skip in _DATA_SETS:
        ds_by_key[key] = mb.add(
            "dataSets", uid, name, periodType=period_type,
            categoryCombo=_ref(DEFAULT_CATEGORY_COMBO), dataSetElements=[], organisationUnits=[],
            indicators=[], sections=[], openFuturePeriods=0, expiryDays=0, timelyDays=15,
            formType="DEFAULT", dimensionItemType="REPORTING_RATE",
        )  # fmt: skip
        ds_by_key[key]["_skip"] = skip
        de_groups[key] = mb.add("dataElementGroups", None, group_name, dataElements=[])
    de_by_name: dict[str, str] = {}

    def demo_uid(uid: str | None, name: str) -> str | None:
        if uid is None and name in _DEMO_UIDS:
            mb.uid()  # the draw the generated UID took, so later UIDs do not move
            return _DEMO_UIDS[name]
        return uid

    for uid, name, value_type, agg, combo_key, ds_key in _DATA_ELEMENTS:
        uid = demo_uid(uid, name)
        ds = ds_by_key[ds_key]
        de = mb.add(
            "dataElements", uid, name, valueType=value_type, aggregationType=agg,
            domainType="AGGREGATE", categoryCombo=_ref(combos[combo_key][0]),
            zeroIsSignificant=False, aggregationLevels=[], dataSetElements=[],
            dataElementGroups=[_ref(de_groups[ds_key]["id"])], legendSets=[],
            dimensionItemType="DATA_ELEMENT",
        )  # fmt: skip
        de["dimensionItem"] = de["id"]
        dse = {"dataElement": _ref(de["id"]), "dataSet": _ref(ds["id"])}
        ds["dataSetElements"].append(dse)
        de["dataSetElements"].append(dse)
        de_groups[ds_key]["dataElements"].append(_ref(de["id"]))
        de_by_name[name] = de["id"]
    for ds in ds_by_key.values():
        ds["dimensionItem"] = ds["id"]

    # Constants, indicator types and indicators.
    const = {
        name: mb.add("constants", None, name, value=value, description=desc)["id"]
        for name, value, desc in (
            ("Beds per facility", 10.0, "Default number of beds at a facility"),
            ("Maternal mortality multiplier", 100000.0, "Per 100 000 live births"),
            ("ANC coverage target", 80.0, "National ANC 1 coverage target (percent)"),
        )
    }
    itypes = {
        name: mb.add("indicatorTypes", None, name, factor=factor, number=factor == 1)["id"]
        for name, factor in (("Percentage", 100), ("Per thousand", 1000), ("Number", 1))
    }
    for it in mb.objects["indicatorTypes"].values():
        for key in ("shortName", "displayShortName", "code"):
            it.pop(key, None)

    def d(name: str) -> str:
        return "#{" + de_by_name[name] + "}"

    fem = mb.objects["categoryOptionCombos"][combos["sex"][1][0]]["id"]
    a1, a3, a4 = d("ANC 1st visit"), d("ANC 3rd visit"), d("ANC 4th or more visits")
    preg, pop1 = d("Expected pregnancies"), d("Population < 1 year")
    hiv, hivpos = d("HIV tests performed"), d("HIV positive tests")
    # (uid, name, numerator, denominator, type, annualized, group, decimals)
    indicators: list[tuple[str | None, str, str, str, str, bool, str, int | None]] = [
        ("Uvn6LCg7dVU", "ANC 1 Coverage", a1, preg, "Percentage", True, "ANC", None),
        ("OdiHJayrsKo", "ANC 2 Coverage", d("ANC 2nd visit"), preg, "Percentage", True, "ANC",
         None),
        ("sB79w2hiLp8", "ANC 3 Coverage", a3, preg, "Percentage", True, "ANC", None),
        ("ReUHfIn0pTQ", "ANC 1-3 Dropout Rate",
         (f"#{{{ANC_1}.{FIXED_COC}}}+#{{{ANC_1}.{OUTREACH_COC}}}-#{{{ANC_3}.{FIXED_COC}}}"
         f"-#{{{ANC_3}.{OUTREACH_COC}}}"),
         f"#{{{ANC_1}.{FIXED_COC}}}+#{{{ANC_1}.{OUTREACH_COC}}}", "Percentage", False, "ANC", 1),
        (None, "ANC visits total", f"#{{{ANC_1}}}+#{{{ANC_2}}}+#{{{ANC_3}}}", "1", "Number",
         False, "ANC", 0),
        (None, "ANC 1st visits at fixed sites", f"#{{{ANC_1}.{FIXED_COC}}}", "1", "Number",
         False, "ANC", None),
        (None, "ANC 1 outreach share", f"#{{{ANC_1}.{OUTREACH_COC}}}", a1, "Percentage", False,
         "ANC", None),
        (None, "ANC 4+ visits among ANC 1 clients", f"if({a1}>0,{a4},0)", a1, "Percentage",
         False, "ANC", None),
        (None, "ANC 1 coverage against target", a1,
         f"{preg}*C{{{const['ANC coverage target']}}}/100", "Percentage", True, "ANC", None),
        (None, "Institutional delivery rate", d("Deliveries in facility"),
         d("Expected deliveries"), "Percentage", True, "Delivery", None),
        (None, "Maternal mortality ratio",
         f"{d('Maternal deaths')}*C{{{const['Maternal mortality multiplier']}}}",
         d("Live births"), "Number", False, "Delivery", 0),
        (None, "Stillbirth rate", d("Still births"),
         f"{d('Live births')}+{d('Still births')}", "Per thousand", False, "Delivery", None),
        (None, "Low birth weight rate", d("Low birth weight"), d("Live births"), "Percentage",
         False, "Delivery", None),
        (None, "Penta 3 coverage <1y", d("Penta 3 doses given"), pop1, "Percentage", True,
         "Immunisation", None),
        (None, "Measles coverage <1y", d("Measles doses given"), pop1, "Percentage", True,
         "Immunisation", None),
        (None, "Fully immunized coverage <1y", d("Fully immunized child"), pop1, "Percentage",
         True, "Immunisation", None),
        (None, "Penta 1-3 dropout rate",
         f"{d('Penta 1 doses given')}-{d('Penta 3 doses given')}", d("Penta 1 doses given"),
         "Percentage", False, "Immunisation", None),
        (None, "Malaria positivity rate", d("Malaria confirmed cases"), d("Malaria tested"),
         "Percentage", False, "Malaria", None),
        (None, "Malaria incidence per 1000", d("Malaria confirmed cases"),
         d("Total population"), "Per thousand", True, "Malaria", None),
        (None, "Bed occupancy rate", d("Inpatient bed days"),
         f"C{{{const['Beds per facility']}}}*[days]", "Percentage", False, "Morbidity", None),
        (None, "HIV tests among women", "#{" + de_by_name["HIV tests performed"] + "." + fem
         + "}", hiv, "Percentage", False, "Morbidity", None),
        (None, "HIV positivity rate", f"if(isNull({hivpos}),0,{hivpos})", hiv, "Percentage",
         False, "Morbidity", None),
        (None, "TB treatment success rate (legacy)", d("TB cases successfully treated"),
         f"#{{{BROKEN_REFERENCE}}}", "Percentage", False, "Morbidity", None),
    ]  # fmt: skip
    ind_groups: dict[str, Obj] = {}
    for uid, name, num, den, itype, annualized, group, decimals in indicators:
        uid = demo_uid(uid, name)
        if group not in ind_groups:
            ind_groups[group] = mb.add("indicatorGroups", None, group, indicators=[])
        props: dict[str, Any] = {
            "numerator": num, "numeratorDescription": f"{name} numerator",
            "denominator": den, "denominatorDescription": f"{name} denominator",
            "indicatorType": _ref(itypes[itype]), "annualized": annualized,
            "indicatorGroups": [_ref(ind_groups[group]["id"])], "legendSets": [],
            "dimensionItemType": "INDICATOR",
        }  # fmt: skip
        if decimals is not None:
            props["decimals"] = decimals
        ind = mb.add("indicators", uid, name, **props)
        ind["dimensionItem"] = ind["id"]
        ind_groups[group]["indicators"].append(_ref(ind["id"]))

    # Org unit levels.
    for uid, name, level in LEVELS:
        lv = mb.add("organisationUnitLevels", uid, name, level=level, offlineLevels=None)
        lv.pop("offlineLevels")
        for key in ("shortName", "displayShortName", "code"):
            lv.pop(key, None)

    # Users and roles.
    roles = {
        name: mb.add("userRoles", None, name, authorities=auth)["id"]
        for name, auth in (("Superuser", ["ALL"]), ("Data reader", ["M_dhis-web-dashboard"]))
    }
    for uid, username, first, surname, role in (
        ("M5zQapPyTZI", "admin", "John", "Traore", "Superuser"),
        (None, "reader", "Ama", "Kamara", "Data reader"),
    ):
        user = mb.add(
            "users", uid, f"{first} {surname}", username=username, firstName=first,
            surname=surname, email=f"{username}@dhis2.example.org", disabled=False,
            organisationUnits=[_ref(ROOT_ID)], dataViewOrganisationUnits=[_ref(ROOT_ID)],
            teiSearchOrganisationUnits=[], userGroups=[], userRoles=[_ref(roles[role])],
        )  # fmt: skip
        user["userCredentials"] = {"username": username, "userRoles": [_ref(roles[role])]}
        for key in ("shortName", "displayShortName"):
            user.pop(key, None)

    # Org unit groups and group sets (memberships filled by the caller).
    group_members: dict[str, list[str]] = {}
    ftype_set = mb.add("organisationUnitGroupSets", FACILITY_TYPE_GROUP_SET, "Facility Type",
                       compulsory=True, dataDimension=True, organisationUnitGroups=[])  # fmt: skip
    loc_set = mb.add("organisationUnitGroupSets", None, "Location Rural/Urban", compulsory=False,
                     dataDimension=True, organisationUnitGroups=[])  # fmt: skip
    for gs in (ftype_set, loc_set):
        gs["dimensionItemType"] = None
        gs.pop("dimensionItemType")
    group_ids: list[str] = []
    for g_uid, g_name, _ in FACILITY_TYPES:
        g = mb.add("organisationUnitGroups", g_uid, g_name, groupSets=[_ref(ftype_set["id"])],
                   organisationUnits=[], dimensionItemType="ORGANISATION_UNIT_GROUP")  # fmt: skip
        g["dimensionItem"] = g["id"]
        ftype_set["organisationUnitGroups"].append(_ref(g["id"]))
        group_ids.append(g["id"])
    for g_name in ("Rural", "Urban"):
        g = mb.add("organisationUnitGroups", None, g_name, groupSets=[_ref(loc_set["id"])],
                   organisationUnits=[], dimensionItemType="ORGANISATION_UNIT_GROUP")  # fmt: skip
        g["dimensionItem"] = g["id"]
        loc_set["organisationUnitGroups"].append(_ref(g["id"]))
        group_ids.append(g["id"])
    group_members["_order"] = group_ids
    ds_skips = {ds["id"]: [ds.pop("_skip")] for ds in ds_by_key.values()}
    return ds_skips, group_members


def generate_dataset(org_units: int | None = None, seed: int = 1) -> Dhis2Dataset:
    """Generate the emulator's metadata deterministically.

    Args:
        org_units: Total number of org units. None gives the demo shape (1 national unit,
            13 districts, 152 chiefdoms, 1,166 facilities = 1,332 units); a number such as
            100_000 or 400_000 scales chiefdoms and facilities in the same proportions.
        seed: Seed of the PRNG; the same seed always gives the same dataset.

    Returns:
        The dataset.

    Example:
        >>> ds = generate_dataset(org_units=5_000, seed=7)
        >>> len(ds.objects["organisationUnits"])
        5000
    """
    table = _build_tree(org_units, seed)
    mb = _MetaBuilder(seed, set(table.index))
    facility_range = table.level_ranges[3]
    ds_skips, groups = _build_metadata(mb, table, facility_range)
    group_ids = groups["_order"]
    n_types = len(FACILITY_TYPES)
    lo4, hi4 = facility_range
    facility_ids = table.ids[lo4:hi4]
    ds_ids = list(ds_skips)
    ds_skip_n = [ds_skips[u][0] for u in ds_ids]

    def datasets_of(i: int) -> list[str]:
        if table.levels[i] != 4:
            return []
        return [u for u, n in zip(ds_ids, ds_skip_n, strict=True) if not n or (i - lo4) % n]

    def groups_of(i: int) -> list[str]:
        ftype = table.facility_type[i]
        if ftype < 0:
            return []
        return [group_ids[ftype], group_ids[n_types + table.urban[i]]]

    ids, names = table.ids, table.names
    lazy = len(table) > 20_000

    def children_refs(i: int) -> list[dict[str, str]]:
        kids = range(table.child_start[i], table.child_end[i])
        return [{"id": ids[k]} for k in sorted(kids, key=names.__getitem__)]

    def render(i: int) -> Obj:
        uid = ids[i]
        level = int(table.levels[i])
        name = names[i]
        chain: list[dict[str, str]] = []
        p = table.parents[i]
        while p >= 0:
            chain.append({"id": ids[p]})
            p = table.parents[p]
        chain.reverse()
        obj: Obj = {
            "id": uid,
            "name": name,
            "shortName": name[:50],
            "displayName": name,
            "displayShortName": name[:50],
            "code": table.codes[i],
            "created": table.created[i],
            "lastUpdated": table.created[i],
            "level": level,
            "path": "/" + "/".join([a["id"] for a in chain] + [uid]),
            "openingDate": _date_from_day(table.opening_day[i]),
        }
        closed = table.closed_day.get(i)
        if closed is not None:
            obj["closedDate"] = _date_from_day(closed)
        kids = children_refs(i)
        obj["leaf"] = not kids
        if chain:
            obj["parent"] = dict(chain[-1])
        obj["children"] = kids
        obj["ancestors"] = chain
        if i in table.polygons:
            obj["geometry"] = {"type": "Polygon", "coordinates": table.polygons[i]}
        elif level == 4 and not math.isnan(table.lon[i]):
            obj["geometry"] = {"type": "Point", "coordinates": [table.lon[i], table.lat[i]]}
        obj["organisationUnitGroups"] = [{"id": g} for g in groups_of(i)]
        obj["dataSets"] = [{"id": d} for d in datasets_of(i)]
        obj["programs"] = []
        obj["attributeValues"] = []
        obj["translations"] = []
        obj["dimensionItem"] = uid
        obj["dimensionItemType"] = "ORGANISATION_UNIT"
        return obj

    def group_members(g_index: int) -> list[str]:
        if g_index < n_types:
            return [ids[i] for i in range(lo4, hi4) if table.facility_type[i] == g_index]
        urban = g_index - n_types
        return [ids[i] for i in range(lo4, hi4) if table.urban[i] == urban]

    def dataset_members(skip: int) -> list[str]:
        if not skip:
            return facility_ids
        return [ids[i] for i in range(lo4, hi4) if (i - lo4) % skip]

    objects: dict[str, ObjectCollection] = {}
    if lazy:
        objects["organisationUnits"] = ObjectCollection(
            lazy_ids=ids, lazy_index=table.index, render=render
        )
        objects["organisationUnitGroups"] = _lazy_members(
            mb.objects["organisationUnitGroups"], group_ids, group_members
        )
        objects["dataSets"] = _lazy_members(
            mb.objects["dataSets"], ds_ids, lambda k: dataset_members(ds_skip_n[k])
        )
    else:
        objects["organisationUnits"] = ObjectCollection(
            {ids[i]: render(i) for i in range(len(ids))}
        )
        for k, g in enumerate(group_ids):
            mb.objects["organisationUnitGroups"][g]["organisationUnits"] = _refs(group_members(k))
        for k, d in enumerate(ds_ids):
            mb.objects["dataSets"][d]["organisationUnits"] = _refs(dataset_members(ds_skip_n[k]))
    for name, objs in mb.objects.items():
        if name not in objects:
            objects[name] = ObjectCollection(objs)
    return Dhis2Dataset(
        objects=objects,
        org_units=table,
        seed=seed,
        requested_org_units=org_units,
        facility_ids=facility_ids,
    )


def _lazy_members(
    base: dict[str, Obj], uids: list[str], members: Callable[[int], list[str]]
) -> ObjectCollection:
    """A collection whose `organisationUnits` lists are built on access (large trees)."""
    index = {u: k for k, u in enumerate(uids)}

    def render(k: int) -> Obj:
        obj = dict(base[uids[k]])
        obj["organisationUnits"] = _refs(members(k))
        return obj

    others = {u: o for u, o in base.items() if u not in index}
    coll = ObjectCollection(others, lazy_ids=uids, lazy_index=index, render=render)
    coll.version = 0
    return coll
