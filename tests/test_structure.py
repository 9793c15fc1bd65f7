"""The package's structure: imports point one way (no cycle), small modules, torch only
where it belongs.  Read from the source with ``ast`` (every import, also those inside
functions; ``if TYPE_CHECKING:`` blocks excluded), so a lazy import counts as an edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xseaice"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, module: str, is_pkg: bool) -> set[str]:
    """xseaice modules a module imports (resolving relative imports)."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                out.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    pkg = module.split(".") if is_pkg else module.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (child.level - 1)]
                    base = ".".join([*pkg, base] if base else pkg)
                out.add(base)
                out.update(f"{base}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    return {m for m in out if m == "xseaice" or m.startswith("xseaice.")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the xseaice modules it imports (packages' own ancestors left out)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = _imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
        edges = set()
        for t in targets:
            while t not in files and "." in t:  # ``from pkg import name``: name is no module
                t = t.rsplit(".", 1)[0]
            if t in files and t != name and not name.startswith(t + "."):
                edges.add(t)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


# package -> packages it must not import (LAYOUT.md: imports point down the stages)
FORBIDDEN = {
    "xseaice.models": ("xseaice.inference", "xseaice.training", "xseaice.products"),
    "xseaice.inference": ("xseaice.training", "xseaice.products", "xseaice.workflow"),
    "xseaice.products": ("xseaice.models", "xseaice.inference", "xseaice.training"),
    "xseaice.metrics": ("xseaice.training", "xseaice.models", "xseaice.inference"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down_the_stages(package: str) -> None:
    graph = import_graph()
    bad = {
        (m, t)
        for m, targets in graph.items()
        if m == package or m.startswith(package + ".")
        for t in targets
        if any(t == f or t.startswith(f + ".") for f in FORBIDDEN[package])
    }
    assert not bad, bad


def test_every_top_level_name_resolves_to_its_home() -> None:
    import importlib

    import xseaice

    for name, module in xseaice._LAZY.items():
        assert getattr(importlib.import_module(module), name) is getattr(xseaice, name), name
    for sub in xseaice._SUBMODULES:
        assert importlib.import_module(f"xseaice.{sub}") is getattr(xseaice, sub), sub


# the packages of the restructuring's CORE half (IO's packages are checked by IO)
SMALL = ("models", "inference", "products", "training", "metrics.py", "workflow.py")


def test_modules_stay_small() -> None:
    """No module over about 600 lines (650 allowed), so each owns one thing."""
    big = {}
    for part in SMALL:
        root = PACKAGE / part
        for path in [root] if root.suffix else sorted(root.rglob("*.py")):
            n = len(path.read_text().splitlines())
            if n > 650:
                big[str(path.relative_to(PACKAGE))] = n
    assert not big, big
