"""The layout is the architecture (docs/architecture.md): imports point one way, ``bot → handlers →
analytics``; no module imports in a circle; and a package's internals are not imported from outside it
where the package itself exports the name.

A short AST walk over every import statement (module level and inside functions alike, since a lazy
import that closes a circle is still a circle; ``if TYPE_CHECKING:`` blocks are skipped because they
never run).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("bot", "handlers", "analytics")  # each may import only those to its right
PACKAGES_WITH_API = ("analytics.periods", "analytics.rollups", "bot.web")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _files() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # Alembic revisions are loaded by Alembic, not imported
            out[_module_name(path)] = path
    return out


FILES = _files()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve_from(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    is_pkg = FILES[module].name == "__init__.py"
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import of a project module."""
    tree = ast.parse(FILES[module].read_text(encoding="utf-8"))
    out: list[tuple[str, str | None, int]] = []
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, None, node.lineno) for alias in node.names)
            continue
        source = _resolve_from(module, node)
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            if sub in FILES:
                out.append((sub, None, node.lineno))
            else:
                out.append((source, alias.name, node.lineno))
    return [(target, name, line) for target, name, line in out if target.split(".")[0] in LAYERS]


GRAPH = {module: imports_of(module) for module in FILES}


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_layers_point_one_way():
    wrong = [f"{module}:{line} imports {target}"
             for module, edges in GRAPH.items() for target, _name, line in edges
             if _layer(target) < _layer(module)]
    assert not wrong, "analytics must not import handlers or bot, handlers must not import bot:\n" + "\n".join(wrong)


def _runtime_edges(module: str) -> set[str]:
    """What importing ``module`` runs: each imported module, and the ``__init__`` of every package above
    it that ``module`` is not itself inside (importing ``bot.web.metrics`` runs ``bot/web/__init__.py``)."""
    out: set[str] = set()
    for target, _name, _line in GRAPH[module]:
        parts = target.split(".")
        for size in range(1, len(parts) + 1):
            name = ".".join(parts[:size])
            if name in FILES and name != module and not module.startswith(name + "."):
                out.add(name)
    return out


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), or a module importing itself."""
    edges = {m: sorted(_runtime_edges(m)) for m in FILES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges[v]:
                found.append(sorted(component))

    for module in sorted(FILES):
        if module not in index:
            visit(module)
    return found


def test_no_import_circles():
    cycles = _cycles()
    assert not cycles, "modules importing each other in a circle:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


@pytest.mark.parametrize("package", PACKAGES_WITH_API)
def test_exported_names_come_from_the_package(package):
    exported = set(importlib.import_module(package).__all__)
    wrong = [f"{module}:{line} imports {name} from {target}; use `from {package} import {name}`"
             for module, edges in GRAPH.items() if not (module == package or module.startswith(package + "."))
             for target, name, line in edges
             if target.startswith(package + ".") and name in exported]
    assert not wrong, "\n".join(wrong)


def test_the_walk_sees_the_known_edges():
    """Guards the test itself: it must see real imports, lazy ones and packages' re-exports."""
    assert "analytics.rollups" in {t for t, _n, _l in GRAPH["analytics.metrics"]}
    assert any(t == "analytics.periods.window" for t, _n, _l in GRAPH["analytics.periods.parse"])
    assert any(t.startswith("analytics") for t, _n, _l in GRAPH["handlers.format"])


def test_rooms_say_what_belongs_there():
    for room in ("bot.jobs", "analytics.alerts", "analytics.faq", "analytics.digests"):
        doc = importlib.import_module(room).__doc__ or ""
        assert "import" in doc and len(doc) > 200, f"{room} needs a docstring saying what belongs there"
