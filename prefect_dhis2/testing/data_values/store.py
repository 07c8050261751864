"""Data values of the DHIS2 emulator: generated base values plus an overlay of writes.

Base values exist for every numeric data element of a data set, at every facility the data
set is assigned to, for every month from January 2020 through the emulator's reference
month. They are never stored: a value is a pure function of the seed and its key
(data element, month, org unit, category option combo), so a 400,000-unit instance costs no
memory until a value is asked for. About 15% of the keys have no value, so "missing value"
logic is exercised.

Imported, updated and deleted values live in an overlay that shadows the base values.

Analytics needs sums over subtrees of the org unit hierarchy. Org units are laid out in
pre-order (sorted by `path`), so every subtree is a contiguous slice; for each
(data element, option combo, month) the store keeps prefix sums of values and of value
counts, which turns the sum over any subtree into two subtractions.

Example:
    >>> from prefect_dhis2.testing.core.dataset import generate_dataset
    >>> store = DataValueStore(generate_dataset(), seed=1)
    >>> lo, hi = store.org_unit_range("ImspTQPwCqd")
    >>> total, count = store.column("fbfJHSPpUQD", "pq2XI5kz2BY", "202401").total(lo, hi)
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import zlib
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import accumulate
from typing import Any

from prefect_dhis2.testing.core.timestamps import format_timestamp

__all__ = [
    "DEFAULT_ATTRIBUTE_OPTION_COMBO",
    "FIRST_MONTH",
    "NUMERIC_VALUE_TYPES",
    "TYPICAL_MAGNITUDES",
    "ColumnSums",
    "DataValueKey",
    "DataValueRecord",
    "DataValueStore",
    "month_range",
]

DEFAULT_ATTRIBUTE_OPTION_COMBO = "HllvX50cXC0"
FIRST_MONTH = "202001"

NUMERIC_VALUE_TYPES = frozenset(
    {
        "NUMBER",
        "INTEGER",
        "INTEGER_POSITIVE",
        "INTEGER_ZERO_OR_POSITIVE",
        "INTEGER_NEGATIVE",
        "PERCENTAGE",
        "UNIT_INTERVAL",
    }
)
# Value types for which base values are generated (non-negative counts).
_GENERATED_VALUE_TYPES = frozenset(
    {"NUMBER", "INTEGER", "INTEGER_POSITIVE", "INTEGER_ZERO_OR_POSITIVE", "PERCENTAGE"}
)

# A gate byte below this threshold means "no value" (38/256 ≈ 15% missing).
_MISSING_BELOW = 38

TYPICAL_MAGNITUDES: Mapping[str, float] = {
    # Monthly volumes, in units of a facility's size: the ANC visits drop out from the
    # 1st to the 4th, and the immunisation cascade runs BCG > Penta 1 > Penta 3 >
    # measles > fully immunised, as in every national HMIS.
    "ANC 1st visit": 20.0,
    "ANC 2nd visit": 17.5,
    "ANC 3rd visit": 14.0,
    "ANC 4th or more visits": 10.0,
    "Deliveries in facility": 13.0,
    "BCG doses given": 20.0,
    "OPV 0 doses given": 15.0,
    "OPV 1 doses given": 18.8,
    "OPV 2 doses given": 17.8,
    "OPV 3 doses given": 16.8,
    "Penta 1 doses given": 18.8,
    "Penta 2 doses given": 17.8,
    "Penta 3 doses given": 16.8,
    "Measles doses given": 15.6,
    "Yellow fever doses given": 15.0,
    "Fully immunized child": 14.2,
    # Yearly figures (x14 for a year): children under one about 4 % of the population,
    # so the coverage indicators land between 70 and 100 %.
    "Expected pregnancies": 18.0,
    "Expected deliveries": 17.0,
    "Population < 1 year": 16.3,
    "Population < 5 years": 65.0,
    "Women of child bearing age": 90.0,
    "Total population": 407.0,
}
"""Typical magnitudes of the maternal and child health items, by data element name, so
that their figures relate as real ones do (the others take one from their UID's hash)."""
# Default cache budget in array cells (8 bytes each): ~64 MB.
_DEFAULT_CACHE_CELLS = 8_000_000

DataValueKey = tuple[str, str, str, str, str]
"""(dataElement, period, orgUnit, categoryOptionCombo, attributeOptionCombo)."""


def month_range(first: str, last: str) -> list[str]:
    """List the monthly ISO periods from `first` to `last` inclusive.

    Example:
        >>> month_range("202311", "202402")
        ['202311', '202312', '202401', '202402']
    """
    year, month = int(first[:4]), int(first[4:6])
    end = (int(last[:4]), int(last[4:6]))
    out: list[str] = []
    while (year, month) <= end:
        out.append(f"{year:04d}{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


@dataclass(slots=True)
class DataValueRecord:
    """One stored data value with its audit fields (a row of `/api/dataValueSets`)."""

    value: str
    stored_by: str
    created: str
    last_updated: str
    comment: str | None = None
    followup: bool = False
    deleted: bool = False


@dataclass(slots=True)
class ColumnSums:
    """Prefix sums of one (data element, option combo, month) over org units in pre-order.

    `sums[i]` is the sum of the values of the first `i` org units, `counts[i]` how many of
    them have a value.
    """

    sums: array[float]
    counts: array[float]

    def total(self, lo: int, hi: int) -> tuple[float, int]:
        """Sum and count of values of org units `lo` (inclusive) to `hi` (exclusive)."""
        return self.sums[hi] - self.sums[lo], int(self.counts[hi] - self.counts[lo])


@dataclass(slots=True)
class _OrgUnitIndex:
    order: list[str]
    position: dict[str, int]
    end: dict[str, int]
    version: int = field(default=0)


def _stable_int(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class DataValueStore:
    """Deterministic, lazily generated data values with an overlay of writes.

    Args:
        dataset: The emulator's `Dhis2Dataset` (org units, data elements, data sets).
        seed: Seed of the generated values; the same seed gives the same values.
        until: The last date covered by generated values (its month is the last month);
            defaults to today.
        cache_cells: Budget of the per-process column cache, in array cells.

    Example:
        >>> from prefect_dhis2.testing.core.dataset import generate_dataset
        >>> dataset = generate_dataset(60)
        >>> store = DataValueStore(dataset, seed=1, until=date(2024, 6, 30))
        >>> facility = dataset.facility_ids[0]
        >>> store.get(("fbfJHSPpUQD", "202401", facility, "pq2XI5kz2BY", "HllvX50cXC0")).value
        '25'
    """

    def __init__(
        self,
        dataset: Any,
        seed: int = 1,
        *,
        until: date | None = None,
        cache_cells: int = _DEFAULT_CACHE_CELLS,
    ) -> None:
        self.dataset = dataset
        self.seed = seed
        self.until = until or date.today()
        self.months: list[str] = month_range(FIRST_MONTH, self.until.strftime("%Y%m"))
        self.years: list[str] = [str(y) for y in range(int(FIRST_MONTH[:4]), self.until.year + 1)]
        self._period_sets = {"Monthly": frozenset(self.months), "Yearly": frozenset(self.years)}
        self._period_types: dict[str, str | None] = {}
        self._cache_cells = cache_cells
        self._lock = threading.RLock()
        self._overlay: dict[DataValueKey, DataValueRecord] = {}
        # (de, coc, period) -> {(ou, aoc): record}; lets a column apply its overlay quickly.
        self._overlay_by_column: dict[tuple[str, str, str], dict[tuple[str, str], DataValueRecord]]
        self._overlay_by_column = {}
        self._overlay_cocs: dict[str, set[str]] = {}
        self._sums_cache: OrderedDict[tuple[str, str, str], ColumnSums] = OrderedDict()
        self._base_cache: OrderedDict[tuple[str, str, str], tuple[array[float], bytes]]
        self._base_cache = OrderedDict()
        self._cached_cells = 0
        self._index = self._build_index()
        self._weights: dict[str, array[float] | None] = {}
        self._facility_scale: array[float] | None = None

    # ------------------------------------------------------------------ org units

    def _units_version(self) -> int:
        units = self.dataset.objects.get("organisationUnits", {})
        return int(getattr(units, "version", 0)) * 1_000_003 + len(units)

    def _build_index(self) -> _OrgUnitIndex:
        units = self.dataset.objects.get("organisationUnits", {})
        version = self._units_version()
        table = getattr(self.dataset, "org_units", None)
        if table is not None and len(table.ids) == len(units):
            return self._index_from_table(table, version)
        # Org units added by a metadata import: lay out everything by path.
        by_path = sorted((unit.get("path") or f"/{uid}", uid) for uid, unit in units.items())
        paths = [path for path, _ in by_path]
        order = [uid for _, uid in by_path]
        position = {uid: i for i, uid in enumerate(order)}
        # Descendant paths start with "<path>/" followed by letters and digits, all < "~".
        end = {uid: bisect_left(paths, path + "/~") for path, uid in by_path}
        return _OrgUnitIndex(order=order, position=position, end=end, version=version)

    @staticmethod
    def _index_from_table(table: Any, version: int) -> _OrgUnitIndex:
        """Pre-order layout from the dataset's breadth-first column store, in O(n)."""
        n = len(table.ids)
        parents = table.parents
        size = [1] * n
        for i in range(n - 1, 0, -1):  # children come after their parent in BFS order
            parent = parents[i]
            if parent >= 0:
                size[parent] += size[i]
        pos = [0] * n
        cursor = [0] * n
        next_root = 0
        for i in range(n):
            parent = parents[i]
            if parent < 0:
                pos[i] = next_root
                next_root += size[i]
            else:
                pos[i] = cursor[parent]
                cursor[parent] += size[i]
            cursor[i] = pos[i] + 1
        ids = table.ids
        order = [""] * n
        for i in range(n):
            order[pos[i]] = ids[i]
        position = {ids[i]: pos[i] for i in range(n)}
        end = {ids[i]: pos[i] + size[i] for i in range(n)}
        return _OrgUnitIndex(order=order, position=position, end=end, version=version)

    def refresh_org_units(self) -> None:
        """Rebuild the org unit layout after org units were added or moved."""
        with self._lock:
            self._index = self._build_index()
            self._weights.clear()
            self._facility_scale = None
            self._clear_caches()

    def _current_index(self) -> _OrgUnitIndex:
        if self._units_version() != self._index.version:
            self.refresh_org_units()
        return self._index

    @property
    def org_unit_order(self) -> list[str]:
        """Org unit uids in pre-order (the layout of every column)."""
        return self._current_index().order

    def org_unit_range(self, uid: str) -> tuple[int, int]:
        """The slice `[lo, hi)` of the columns covering `uid` and all its descendants.

        Raises:
            KeyError: If the org unit is unknown.
        """
        index = self._current_index()
        return index.position[uid], index.end[uid]

    def position(self, uid: str) -> int | None:
        """The column position of one org unit, or None if unknown."""
        return self._current_index().position.get(uid)

    # ------------------------------------------------------------------ metadata helpers

    def option_combos(self, de: str) -> list[str]:
        """Category option combos of a data element's category combo (plus any written)."""
        element = self.dataset.objects.get("dataElements", {}).get(de)
        cocs: list[str] = []
        if element is not None:
            combo_ref = element.get("categoryCombo") or {}
            combo = self.dataset.objects.get("categoryCombos", {}).get(combo_ref.get("id", ""))
            if combo is not None:
                cocs = [ref["id"] for ref in combo.get("categoryOptionCombos", [])]
        extra = self._overlay_cocs.get(de)
        if extra:
            cocs = cocs + sorted(extra.difference(cocs))
        return cocs

    def period_type(self, de: str) -> str | None:
        """`Monthly` or `Yearly`: the period type of the data set collecting a data element."""
        if de not in self._period_types:
            found: str | None = None
            for data_set in self.dataset.objects.get("dataSets", {}).values():
                kind = data_set.get("periodType", "Monthly")
                if kind not in self._period_sets:
                    continue
                members = {
                    (ref.get("dataElement") or {}).get("id")
                    for ref in data_set.get("dataSetElements", [])
                }
                if de in members and (found is None or kind == "Monthly"):
                    found = kind
            self._period_types[de] = found
        return self._period_types[de]

    def _unit_weights(self, de: str) -> array[float] | None:
        """Per position: the facility's size if the data element is collected there, else 0."""
        if de in self._weights:
            return self._weights[de]
        objects = self.dataset.objects
        element = objects.get("dataElements", {}).get(de)
        weights: array[float] | None = None
        kind = self.period_type(de)
        if element is not None and kind and element.get("valueType") in _GENERATED_VALUE_TYPES:
            assigned: set[str] = set()
            for data_set in objects.get("dataSets", {}).values():
                if data_set.get("periodType", "Monthly") != kind:
                    continue
                members = {
                    (ref.get("dataElement") or {}).get("id")
                    for ref in data_set.get("dataSetElements", [])
                }
                if de in members:
                    assigned.update(ref["id"] for ref in data_set.get("organisationUnits", []))
            facilities = assigned.intersection(self.dataset.facility_ids)
            if facilities:
                scale = self._facility_scales()
                index = self._index
                weights = array("d", bytes(8 * len(index.order)))
                for uid in facilities:
                    pos = index.position.get(uid)
                    if pos is not None:
                        weights[pos] = scale[pos]
        self._weights[de] = weights
        return weights

    def _facility_scales(self) -> array[float]:
        if self._facility_scale is None:
            self._facility_scale = array(
                "d",
                (
                    0.3 + (_stable_int(str(self.seed), "size", uid) % 2700) / 1000.0
                    for uid in self._index.order
                ),
            )
        return self._facility_scale

    # ------------------------------------------------------------------ base values

    def _share(self, de: str, coc: str) -> float:
        return 0.6 + (_stable_int(str(self.seed), "coc", de, coc) % 800) / 1000.0

    def _column_factor(self, de: str, coc: str, period: str) -> float:
        h = _stable_int(str(self.seed), "de", de)
        name = self.dataset.objects.get("dataElements", {}).get(de, {}).get("name", "")
        typical = TYPICAL_MAGNITUDES.get(name)
        magnitude = typical if typical is not None else 5 + h % 40
        phase = 0 if typical is not None else (h >> 8) % 12  # one season for the cascade
        years = int(period[:4]) - 2020
        trend = 1.0 + 0.03 * years
        if len(period) == 4:  # yearly data: a population-sized yearly figure
            season = 14.0
        else:
            season = 1.0 + 0.2 * math.sin(2 * math.pi * (int(period[4:6]) + phase) / 12.0)
        share = self._share(de, coc)
        combos = self.option_combos(de)
        if typical is not None and combos:  # the disaggregations split the total, not scale it
            share /= sum(self._share(de, c) for c in combos) / len(combos)
        cocs = max(len(combos), 1)
        return magnitude * season * trend * share / cocs / 64.0

    def _generate(self, de: str, coc: str, month: str) -> tuple[array[float], bytes] | None:
        """Base values of one column (0.0 where absent) and a presence byte per position."""
        kind = self.period_type(de)
        if kind is None or month not in self._period_sets[kind]:
            return None
        if coc not in self.option_combos(de):
            return None
        weights = self._unit_weights(de)
        if weights is None:
            return None
        n = len(weights)
        rng = random.Random(f"{self.seed}|{de}|{coc}|{month}")
        noise = rng.randbytes(n)
        gate = rng.randbytes(n)
        k = self._column_factor(de, coc, month)
        present = bytes(
            1 if w and g >= _MISSING_BELOW else 0 for w, g in zip(weights, gate, strict=True)
        )
        values = array(
            "d",
            (
                float(int(k * w * (64 + x))) if p else 0.0
                for w, x, p in zip(weights, noise, present, strict=True)
            ),
        )
        if self.dataset.objects["dataElements"][de].get("valueType") == "PERCENTAGE":
            values = array("d", (min(v, 100.0) for v in values))
        return values, present

    def _base_column(self, de: str, coc: str, month: str) -> tuple[array[float], bytes] | None:
        key = (de, coc, month)
        with self._lock:
            hit = self._base_cache.get(key)
            if hit is not None:
                self._base_cache.move_to_end(key)
                return hit
        generated = self._generate(de, coc, month)
        if generated is not None:
            with self._lock:
                self._base_cache[key] = generated
                self._cached_cells += len(generated[0])
                self._evict()
        return generated

    def base_value(self, de: str, period: str, ou: str, coc: str) -> DataValueRecord | None:
        """The generated value of a key at the default attribute option combo, if any."""
        column = self._base_column(de, coc, period)
        if column is None:
            return None
        pos = self._index.position.get(ou)
        if pos is None or not column[1][pos]:
            return None
        return self._base_record(de, period, ou, coc, column[0][pos])

    def _base_record(
        self, de: str, period: str, ou: str, coc: str, value: float
    ) -> DataValueRecord:
        year, month = int(period[:4]), int(period[4:6] or 12)
        if month == 12:
            year, month = year + 1, 1
        else:
            month += 1
        # Entered during the first 20 days after the period, at a deterministic time.
        h = zlib.crc32(f"{self.seed}|{de}|{period}|{ou}|{coc}".encode())
        seconds = 25_200 + (h >> 5) % 36_000
        stamp = (
            f"{year:04d}-{month:02d}-{1 + h % 20:02d}T{seconds // 3600:02d}:"
            f"{seconds // 60 % 60:02d}:{seconds % 60:02d}.{(h >> 16) % 1000:03d}"
        )
        return DataValueRecord(
            value=str(int(value)), stored_by="admin", created=stamp, last_updated=stamp
        )

    # ------------------------------------------------------------------ analytics columns

    def column(self, de: str, coc: str, month: str) -> ColumnSums | None:
        """Prefix sums of the effective values (base + overlay, all attribute combos).

        Returns None when the column holds no value at all.
        """
        self._current_index()
        key = (de, coc, month)
        with self._lock:
            hit = self._sums_cache.get(key)
            if hit is not None:
                self._sums_cache.move_to_end(key)
                return hit
            overlay = self._overlay_by_column.get(key)
        base = self._generate(de, coc, month)
        if base is None and not overlay:
            return None
        n = len(self._index.order)
        if base is not None:
            values, present_bytes = base
            present = array("d", list(present_bytes))
        else:
            values = array("d", bytes(8 * n))
            present = array("d", bytes(8 * n))
        if overlay:
            values = array("d", values)
            for (ou, aoc), record in list(overlay.items()):
                pos = self._index.position.get(ou)
                if pos is None:
                    continue
                if aoc == DEFAULT_ATTRIBUTE_OPTION_COMBO and present[pos] and base is not None:
                    # The written value replaces the generated one.
                    values[pos] -= base[0][pos]
                    present[pos] -= 1
                if record.deleted:
                    continue
                number = _as_number(record.value)
                if number is None:
                    continue
                values[pos] += number
                present[pos] += 1
        sums = ColumnSums(
            sums=array("d", accumulate(values, initial=0.0)),
            counts=array("d", accumulate(present, initial=0.0)),
        )
        with self._lock:
            self._sums_cache[key] = sums
            self._cached_cells += 2 * (n + 1)
            self._evict()
        return sums

    def _evict(self) -> None:
        while self._cached_cells > self._cache_cells and (self._sums_cache or self._base_cache):
            cache: OrderedDict[Any, Any] = (
                self._sums_cache
                if len(self._sums_cache) >= len(self._base_cache)
                else self._base_cache
            )
            _, entry = cache.popitem(last=False)
            if isinstance(entry, ColumnSums):
                self._cached_cells -= len(entry.sums) + len(entry.counts)
            else:
                self._cached_cells -= len(entry[0])

    def _clear_caches(self) -> None:
        self._sums_cache.clear()
        self._base_cache.clear()
        self._cached_cells = 0

    # ------------------------------------------------------------------ record access

    def get(self, key: DataValueKey, *, include_deleted: bool = False) -> DataValueRecord | None:
        """The effective record of a key: overlay first, then the generated value."""
        record = self._overlay.get(key)
        if record is not None:
            if record.deleted and not include_deleted:
                return None
            return record
        de, period, ou, coc, aoc = key
        if aoc != DEFAULT_ATTRIBUTE_OPTION_COMBO:
            return None
        return self.base_value(de, period, ou, coc)

    def put(self, key: DataValueKey, record: DataValueRecord) -> None:
        """Write (or, with `record.deleted`, delete) one value in the overlay."""
        de, period, ou, coc, aoc = key
        with self._lock:
            self._overlay[key] = record
            self._overlay_by_column.setdefault((de, coc, period), {})[(ou, aoc)] = record
            self._overlay_cocs.setdefault(de, set()).add(coc)
            column_key = (de, coc, period)
            stale = self._sums_cache.pop(column_key, None)
            if stale is not None:
                self._cached_cells -= len(stale.sums) + len(stale.counts)

    def delete(self, key: DataValueKey, *, stored_by: str, now: datetime) -> bool:
        """Mark a value deleted; returns False when there was no value to delete."""
        current = self.get(key)
        if current is None:
            return False
        stamp = format_timestamp(now)
        self.put(key, replace(current, deleted=True, last_updated=stamp, stored_by=stored_by))
        return True

    def iter_values(
        self,
        data_elements: Iterable[str],
        periods: Iterable[str],
        org_units: Iterable[str],
        *,
        include_deleted: bool = False,
    ) -> Iterator[tuple[DataValueKey, DataValueRecord]]:
        """Yield the records of the given data elements, periods and org units.

        Order: data element, period, org unit (as given), option combo, attribute combo.
        """
        des = list(dict.fromkeys(data_elements))
        periods = list(periods)
        units = list(org_units)
        wanted = set(des)
        overlay_keys_by_cell: dict[tuple[str, str, str], list[DataValueKey]] = {}
        with self._lock:
            for key in self._overlay:
                if key[0] in wanted:
                    overlay_keys_by_cell.setdefault((key[0], key[1], key[2]), []).append(key)
        self._current_index()
        for de in des:
            cocs = self.option_combos(de)
            for period in periods:
                columns = [(coc, self._base_column(de, coc, period)) for coc in cocs]
                for ou in units:
                    pos = self._index.position.get(ou)
                    emitted: set[DataValueKey] = set()
                    for coc, column in columns:
                        key = (de, period, ou, coc, DEFAULT_ATTRIBUTE_OPTION_COMBO)
                        record = self._overlay.get(key)
                        if (
                            record is None
                            and column is not None
                            and pos is not None
                            and column[1][pos]
                        ):
                            record = self._base_record(de, period, ou, coc, column[0][pos])
                        if record is not None and (include_deleted or not record.deleted):
                            emitted.add(key)
                            yield key, record
                    for key in overlay_keys_by_cell.get((de, period, ou), ()):
                        if key in emitted:
                            continue
                        record = self._overlay[key]
                        if include_deleted or not record.deleted:
                            yield key, record

    @property
    def overlay(self) -> Mapping[DataValueKey, DataValueRecord]:
        """The written values (read-only view)."""
        return self._overlay

    def generated_cells(self, de: str, months: Sequence[str]) -> int:
        """Number of positions a data element could have values at (for cost estimates)."""
        weights = self._unit_weights(de)
        if weights is None:
            return 0
        return sum(1 for w in weights if w) * len(months)


def _as_number(value: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return number
