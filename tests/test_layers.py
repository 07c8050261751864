"""The package's layers, read from its imports (an AST walk; nothing is imported or run).

- Pure modules (every DHIS2 engine, the client, the models, the domain helpers, the
  emulator) import no Prefect, directly or through a module of ours that does.
- `client/` imports only `models/`, its own files and the package version.
- `testing/` (the emulator) imports no Prefect and no task or flow module; it may hand
  out a `Dhis2Credentials` block through a lazy import inside a function.
- No import circle, lazy imports included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "prefect_dhis2"

# The Prefect layer: the block, the glue, the tasks, the flows and the public faces
# of the area packages (which re-export their tasks). Everything else must be pure.
PREFECT_LAYER = (
    "prefect_dhis2",
    "prefect_dhis2.credentials",
    "prefect_dhis2.runtime",
    "prefect_dhis2.host_limit",
    "prefect_dhis2.notifications",
    "prefect_dhis2.progress",
    "prefect_dhis2.demo",
    "prefect_dhis2.flow_support",  # deprecated shim
    "prefect_dhis2.host_budget",  # deprecated shim
    "prefect_dhis2.*.tasks",
    "prefect_dhis2.flows",
    "prefect_dhis2.flows.*",
    "prefect_dhis2.analytics",
    "prefect_dhis2.data_values",
    "prefect_dhis2.indicators",
    "prefect_dhis2.metadata",
    "prefect_dhis2.org_units",
    "prefect_dhis2.warehouse",
)


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, where, and whether inside a function."""

    importer: str
    target: str
    line: int
    lazy: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> Iterator[Import]:
    """Every import in `path`, each target resolved to a module where it names one."""
    tree = ast.parse(path.read_text(), filename=str(path))
    lazy_lines = {
        inner.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    }
    type_checking_lines = {
        inner.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno in type_checking_lines:
            continue  # imports for type checkers only do not run
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno, node.lineno in lazy_lines)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, path.name == "__init__.py", node)
            for alias in node.names:
                # `from package import module` imports the module; else the name's module.
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                yield Import(name, target, node.lineno, node.lineno in lazy_lines)


def import_graph() -> tuple[dict[str, Path], list[Import]]:
    modules = all_modules()
    edges = [edge for name, path in modules.items() for edge in imports_of(name, path, modules)]
    return modules, edges


def is_prefect_layer(name: str) -> bool:
    return any(fnmatch(name, pattern) for pattern in PREFECT_LAYER)


def is_prefect(target: str) -> bool:
    return target == "prefect" or target.startswith("prefect.")


def uses_prefect(modules: dict[str, Path], edges: list[Import]) -> dict[str, str]:
    """Modules that import Prefect, directly or through our modules: module -> why."""
    why: dict[str, str] = {}
    for edge in edges:
        if is_prefect(edge.target):
            why.setdefault(edge.importer, f"line {edge.line}: import {edge.target}")
    changed = True
    while changed:
        changed = False
        for edge in edges:
            if edge.importer not in why and edge.target in why and edge.target in modules:
                why[edge.importer] = f"line {edge.line}: import {edge.target} ({why[edge.target]})"
                changed = True
    return why


def pure_violations(modules: dict[str, Path], edges: list[Import]) -> list[str]:
    # The emulator may hand out a credentials block from inside a function.
    allowed = [
        e
        for e in edges
        if not (
            e.importer.startswith("prefect_dhis2.testing")
            and e.lazy
            and e.target == "prefect_dhis2.credentials"
        )
    ]
    why = uses_prefect(modules, allowed)
    return sorted(f"{m}: {why[m]}" for m in modules if m in why and not is_prefect_layer(m))


def client_violations(edges: list[Import]) -> list[str]:
    allowed = ("prefect_dhis2.client", "prefect_dhis2.models", "prefect_dhis2._version")
    return sorted(
        f"{e.importer}: line {e.line}: import {e.target}"
        for e in edges
        if e.importer.startswith("prefect_dhis2.client")
        and e.target.startswith("prefect_dhis2")
        and not any(e.target == a or e.target.startswith(a + ".") for a in allowed)
    )


def emulator_violations(edges: list[Import]) -> list[str]:
    return sorted(
        f"{e.importer}: line {e.line}: import {e.target}"
        for e in edges
        if e.importer.startswith("prefect_dhis2.testing")
        and (
            is_prefect(e.target)
            or e.target.endswith(".tasks")
            or e.target.startswith("prefect_dhis2.flows")
            or (e.target == "prefect_dhis2.credentials" and not e.lazy)
        )
    )


def cycles(modules: dict[str, Path], edges: list[Import]) -> list[list[str]]:
    """Import circles between our modules (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        if e.target in modules and e.target != e.importer:
            graph[e.importer].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Import]]:
    return import_graph()


def test_the_walk_sees_the_package(graph):
    modules, edges = graph
    assert "prefect_dhis2.client._core" in modules
    assert any(e.importer == "prefect_dhis2.credentials" and is_prefect(e.target) for e in edges)


def test_pure_modules_import_no_prefect(graph):
    assert pure_violations(*graph) == []


def test_the_client_imports_only_models_and_its_own_files(graph):
    assert client_violations(graph[1]) == []


def test_the_emulator_imports_no_prefect_and_no_tasks(graph):
    assert emulator_violations(graph[1]) == []


def test_there_is_no_import_circle(graph):
    assert cycles(*graph) == []


# The rules must be able to fail: each one on a deliberate violation.


def test_a_pure_module_importing_prefect_is_reported():
    modules = {"prefect_dhis2.periods": Path("periods.py"), "prefect_dhis2.uids": Path("uids.py")}
    edges = [
        Import("prefect_dhis2.uids", "prefect.logging", 3, lazy=True),
        Import("prefect_dhis2.periods", "prefect_dhis2.uids", 5, lazy=False),
    ]
    assert pure_violations(modules, edges) == [
        "prefect_dhis2.periods: line 5: import prefect_dhis2.uids (line 3: import prefect.logging)",
        "prefect_dhis2.uids: line 3: import prefect.logging",
    ]


def test_a_client_import_of_an_area_and_an_emulator_import_of_a_task_are_reported():
    edges = [
        Import("prefect_dhis2.client._core", "prefect_dhis2.periods", 9, lazy=False),
        Import("prefect_dhis2.testing.server", "prefect_dhis2.analytics.tasks", 4, lazy=True),
        Import("prefect_dhis2.testing.server", "prefect_dhis2.credentials", 7, lazy=False),
    ]
    assert client_violations(edges) == [
        "prefect_dhis2.client._core: line 9: import prefect_dhis2.periods"
    ]
    assert emulator_violations(edges) == [
        "prefect_dhis2.testing.server: line 4: import prefect_dhis2.analytics.tasks",
        "prefect_dhis2.testing.server: line 7: import prefect_dhis2.credentials",
    ]


def test_a_circle_hidden_by_a_lazy_import_is_reported():
    modules = {f"prefect_dhis2.testing.{m}": Path(m) for m in ("app", "state", "jobs")}
    edges = [
        Import("prefect_dhis2.testing.app", "prefect_dhis2.testing.state", 1, lazy=False),
        Import("prefect_dhis2.testing.state", "prefect_dhis2.testing.jobs", 1, lazy=False),
        Import("prefect_dhis2.testing.jobs", "prefect_dhis2.testing.app", 9, lazy=True),
    ]
    assert cycles(modules, edges) == [
        ["prefect_dhis2.testing.app", "prefect_dhis2.testing.jobs", "prefect_dhis2.testing.state"]
    ]
