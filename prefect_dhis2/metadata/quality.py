"""Metadata quality: checks on codes, names, the tree, geometry and indicator references.

Pure: no Prefect. `score_metadata_quality` scores metadata already in hand (a
`MetadataQualityResult`: each `QualityCheck` and a 0-100 score rated
green/amber/red); `acheck_metadata_quality` fetches what the checks need with a
live `AsyncDhis2Client` and scores it.

Examples:
    >>> result = score_metadata_quality(
    ...     org_units=[{"id": "ImspTQPwCqd", "name": "Sierra Leone", "code": "OU_525",
    ...                 "level": 1, "geometry": {"type": "Point", "coordinates": [-11.8, 8.5]}}],
    ...     data_elements=[{"id": "fbfJHSPpUQD", "name": "ANC 1st visit", "code": "DE_1"}],
    ...     indicators=[], known_uids=[])
    >>> result.score, result.rating
    (100.0, 'green')
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from prefect_dhis2.expressions import find_missing_references

if TYPE_CHECKING:
    from prefect_dhis2.client import AsyncDhis2Client

__all__ = [
    "MetadataQualityResult",
    "QualityCheck",
    "Rating",
    "acheck_metadata_quality",
    "score_metadata_quality",
]

Rating = Literal["green", "amber", "red"]


class QualityCheck(BaseModel):
    """One metadata quality check.

    Attributes:
        name: What is checked, e.g. `org units without a code`.
        checked: How many objects were checked.
        failed: How many failed.
        weight: Its weight in the overall score.
        examples: Up to 20 offending objects: `id`, `name`, `detail` and, for org
            units, `where` (the names of the unit's ancestors, top down).
    """

    name: str
    checked: int
    failed: int
    weight: float = 1.0
    examples: list[dict[str, str]] = Field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        """Share of objects that passed (1.0 when nothing was checked)."""
        return 1.0 if self.checked == 0 else 1 - self.failed / self.checked


class MetadataQualityResult(BaseModel):
    """Metadata quality: each check and a 0-100 score rated green/amber/red.

    The score is the weighted mean pass rate of the checks, times 100. Ratings:
    green at `green_at` or more, amber at `amber_at` or more, red below.
    """

    checks: list[QualityCheck]
    score: float
    rating: Rating
    green_at: float = 90.0
    amber_at: float = 75.0


def score_metadata_quality(
    *,
    org_units: Sequence[Mapping[str, Any]],
    data_elements: Sequence[Mapping[str, Any]],
    indicators: Sequence[Mapping[str, Any]],
    known_uids: Iterable[str],
    geometry_level: int | None = None,
    green_at: float = 90.0,
    amber_at: float = 75.0,
) -> MetadataQualityResult:
    """Score metadata quality from already-fetched metadata.

    Checks: missing codes (org units, data elements, indicators), duplicate
    names (per type), orphan org units (a parent that does not exist, or no
    parent below level 1), org units without geometry (at `geometry_level`,
    default the deepest level), and indicators whose expressions reference
    missing objects or do not parse.

    Args:
        org_units: With `id,name,code,level,path,parent[id],geometry` (geometry may be
            a `geometry~isNotEmpty`-style boolean under `has_geometry`).
        data_elements: With `id,name,code`.
        indicators: With `id,name,code,numerator,denominator`.
        known_uids: Every UID that exists (for indicator references).
        geometry_level: Level whose units must have geometry.
        green_at: Score from which the rating is green.
        amber_at: Score from which the rating is amber.
    """

    names = {
        str(o.get("id")): str(o.get("name") or "")
        for objs in (org_units, data_elements, indicators)
        for o in objs
    }

    def where(obj: Mapping[str, Any]) -> str:
        # `path` is /root/.../parent/self: the ancestors' names say where to find a unit.
        ancestors = str(obj.get("path") or "").strip("/").split("/")[:-1]
        return " / ".join(names.get(uid) or uid for uid in ancestors if uid)

    def example(obj: Mapping[str, Any], detail: str) -> dict[str, str]:
        uid = str(obj.get("id"))
        found = {"id": uid, "name": str(obj.get("name") or names.get(uid) or ""), "detail": detail}
        if obj.get("path"):
            found["where"] = where(obj)
        return found

    def check(
        name: str,
        checked: Sequence[Mapping[str, Any]],
        failing: Sequence[Mapping[str, Any]],
        detail: str | Callable[[Mapping[str, Any]], str],
        weight: float = 1.0,
    ) -> QualityCheck:
        examples = [
            example(o, detail if isinstance(detail, str) else detail(o)) for o in failing[:20]
        ]
        return QualityCheck(
            name=name, checked=len(checked), failed=len(failing), weight=weight, examples=examples
        )

    def name_of(obj: Mapping[str, Any]) -> str:
        return str(obj.get("name"))

    checks: list[QualityCheck] = []
    for label, objs in (
        ("org units", org_units),
        ("data elements", data_elements),
        ("indicators", indicators),
    ):
        missing = [o for o in objs if not o.get("code")]
        checks.append(check(f"{label} without a code", objs, missing, "no code", weight=0.5))
        counts = Counter(str(o.get("name") or "").strip().lower() for o in objs)
        duplicates = [o for o in objs if counts[str(o.get("name") or "").strip().lower()] > 1]
        checks.append(check(f"{label} with a duplicate name", objs, duplicates, name_of))

    ids = {str(o.get("id")) for o in org_units}
    orphans = []
    for unit in org_units:
        parent = unit.get("parent")
        parent_id = parent.get("id") if isinstance(parent, Mapping) else None
        if (parent_id is None and unit.get("level", 1) != 1) or (
            parent_id is not None and parent_id not in ids
        ):
            orphans.append(unit)
    checks.append(
        check("org units whose parent is missing", org_units, orphans, "parent not found", 2.0)
    )

    depth = geometry_level or max((int(o.get("level") or 0) for o in org_units), default=0)
    at_level = [o for o in org_units if int(o.get("level") or 0) == depth]
    no_geometry = [
        o for o in at_level if not (isinstance(o.get("geometry"), Mapping) and o["geometry"])
    ]
    checks.append(
        check(f"level {depth} org units without geometry", at_level, no_geometry, "no geometry")
    )

    missing_refs = find_missing_references(indicators, set(known_uids))
    broken: dict[str, list[str]] = defaultdict(list)
    for ref in missing_refs:
        broken[ref.indicator].append(
            f"{ref.side}: {ref.detail}" if ref.uid is None else f"{ref.side}: {ref.kind} {ref.uid}"
        )
    failing = [{"id": uid, "detail": "; ".join(found)} for uid, found in broken.items()]
    checks.append(
        check(
            "indicators referencing missing objects",
            indicators,
            failing,
            lambda o: str(o["detail"]),
            weight=3.0,
        )
    )

    total_weight = sum(c.weight for c in checks)
    score = round(100 * sum(c.weight * c.pass_rate for c in checks) / total_weight, 1)
    rating: Rating = "green" if score >= green_at else "amber" if score >= amber_at else "red"
    return MetadataQualityResult(
        checks=checks, score=score, rating=rating, green_at=green_at, amber_at=amber_at
    )


QUALITY_SOURCES = {
    "organisationUnits": "id,name,code,level,path,parent[id],geometry",
    "dataElements": "id,name,code",
    "indicators": "id,name,code,numerator,denominator",
    "categoryOptionCombos": "id",
    "constants": "id",
    "organisationUnitGroups": "id",
    "dataSets": "id",
    "programIndicators": "id",
    "programs": "id",
    "trackedEntityAttributes": "id",
}
"""The collections the checks read, with their fields; all but the first three are
reference targets that an instance may lack (they then count as empty)."""

_REQUIRED = ("organisationUnits", "dataElements", "indicators")


async def acheck_metadata_quality(
    client: AsyncDhis2Client, geometry_level: int | None = None
) -> MetadataQualityResult:
    """Fetch org units, data elements, indicators and reference targets, and score them.

    The collections are fetched at the same time. See `score_metadata_quality` for
    the checks and the score.

    Args:
        client: A live async client.
        geometry_level: Level whose units must have geometry (default: the deepest).

    Examples:
        ```python
        async with credentials.get_async_client() as client:
            result = await acheck_metadata_quality(client)
        print(result.score, result.rating)
        ```
    """

    async def one(kind: str, fields: str) -> list[dict[str, Any]]:
        try:
            return await client.fetch_metadata(kind, fields=fields)
        except Exception:
            if kind in _REQUIRED:
                raise
            return []  # an instance without programs still gets a report

    results = await asyncio.gather(*(one(k, f) for k, f in QUALITY_SOURCES.items()))
    metadata = dict(zip(QUALITY_SOURCES, results, strict=True))
    known = {str(o["id"]) for objs in metadata.values() for o in objs if "id" in o}
    return score_metadata_quality(
        org_units=metadata["organisationUnits"],
        data_elements=metadata["dataElements"],
        indicators=metadata["indicators"],
        known_uids=known,
        geometry_level=geometry_level,
    )
