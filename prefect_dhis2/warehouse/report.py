"""What a programme manager reads about a warehouse refresh: markdown and table rows.

Pure: no Prefect.

Examples:
    >>> from prefect_dhis2.warehouse.composite import CompositeIndexResult, CompositeScore
    >>> ranking = CompositeIndexResult(level=2, period="202401", ranking=[CompositeScore(
    ...     org_unit="O6uvpzGd5pu", name="Bo", score=0.8, rank=1, components={})])
    >>> ranking_rows(ranking)
    [{'rank': 1, 'org_unit': 'Bo', 'uid': 'O6uvpzGd5pu', 'score': 0.8}]
"""

from __future__ import annotations

from typing import Any

from prefect_dhis2.markdown import markdown_table
from prefect_dhis2.warehouse.build import StarSchemaResult
from prefect_dhis2.warehouse.composite import CompositeIndexResult

__all__ = ["ranking_rows", "star_schema_markdown"]


def ranking_rows(composite: CompositeIndexResult, top: int | None = None) -> list[dict[str, Any]]:
    """The ranking as table rows (rank, name, UID, score), best first."""
    ranking = composite.ranking if top is None else composite.top(top)
    return [
        {"rank": s.rank, "org_unit": s.name or s.org_unit, "uid": s.org_unit, "score": s.score}
        for s in ranking
    ]


def star_schema_markdown(base_url: str, result: StarSchemaResult, top: int = 10) -> str:
    """The refresh: rows per table, periods replaced and added, checks, the top of the index."""
    lines = [
        f"# DHIS2 warehouse refreshed from {base_url}",
        "",
        (
            f"Warehouse `{result.warehouse}` (schema version {result.schema_version}): "
            f"**{result.facts_loaded:,}** facts loaded, {result.facts_replaced:,} older facts "
            f"replaced, in {result.duration_s:.1f} s."
        ),
        "",
        markdown_table(
            ["Table", "Rows", "New keys"],
            [[t, f"{n:,}", result.keys_added.get(t, "")] for t, n in result.rows.items()],
        ),
        "",
        f"Periods added: {', '.join(result.periods_added) or 'none'}.",
        f"Periods replaced: {', '.join(result.periods_replaced) or 'none'}.",
        "",
        markdown_table(
            ["Integrity check", "Rule", "Failing rows"],
            [[c.name, c.description, c.failing_rows] for c in result.checks],
        ),
    ]
    composite = result.composite
    if composite is not None:
        lines += ["", f"## Composite index, level {composite.level}, period {composite.period}", ""]
        if composite.constant_components:
            lines.append(
                "Constant components (every unit has the same value, so each scored 0.5): "
                + ", ".join(composite.constant_components)
                + "."
            )
        if composite.units_excluded:
            lines.append(
                f"{composite.units_excluded} units lack a component value and are not ranked."
            )
        rows = ranking_rows(composite, top)
        lines.append(
            markdown_table(
                ["Rank", "Org unit", "UID", "Score"],
                [[r["rank"], r["org_unit"], r["uid"], f"{r['score']:.3f}"] for r in rows],
            )
            if rows
            else "No org unit has a value for every component."
        )
    return "\n".join(lines)
