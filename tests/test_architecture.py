"""The layers hold (docs/architecture.md): no import cycle between the packages of ``directory``, no circle
between two files, and an import inside a function only where a comment says why.

The graph is read from the source with ``ast``, so an import that only runs later (inside a function) counts
as much as one at the top of a module — unless a comment gives its reason. Imports under ``if TYPE_CHECKING:``
never run and do not count.
"""

from __future__ import annotations

import ast
import importlib
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

import directory

ROOT = Path(directory.__file__).resolve().parent


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module
    path: Path
    line: int
    local: bool  # inside a function
    explained: bool  # a comment on the import, or right above its block of imports


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def package_of(module: str) -> str:
    """The package a module belongs to: ``directory.catalog`` for directory/catalog/*, the module itself
    for the top-level modules (``directory.cli``), ``directory`` for the app factory."""
    return ".".join(module.split(".")[:2])


def _comment_lines(source: str) -> dict[int, bool]:
    """Line → True for a line that is only a comment, False for a line with code and a comment after it."""
    lines: dict[int, bool] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            lines[token.start[0]] = token.line[: token.start[1]].strip() == ""
    return lines


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    return list(
        dict.fromkeys(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names)
    )


def imports_of(module: str, source: str | None = None) -> list[Import]:
    """The imports of ``module`` (its file's text, or ``source`` read as that module's)."""
    path = MODULES[module]
    source = path.read_text(encoding="utf-8") if source is None else source
    comments = _comment_lines(source)
    found: list[Import] = []

    def visit(node: ast.AST, local: bool, block_lines: set[int]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                body = [n for n in ast.walk(child) if isinstance(n, ast.Import | ast.ImportFrom)]
                lines = {line for n in body for line in range(n.lineno, (n.end_lineno or n.lineno) + 1)}
                visit(child, True, lines)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                explained = any(
                    line in comments for line in range(child.lineno, (child.end_lineno or child.lineno) + 1)
                )
                above = child.lineno - 1
                while above in block_lines:  # up through the imports of the same block
                    above -= 1
                explained = explained or comments.get(above, False)
                for target in _targets(module, path.name == "__init__.py", child):
                    if target == "directory" or target.startswith("directory.") or local:
                        found.append(Import(module, target, path, child.lineno, local, explained))
            visit(child, local, block_lines)

    visit(ast.parse(source), False, set())
    return found


ALL_IMPORTS = [imp for module in MODULES for imp in imports_of(module)]


def _cycles(edges: dict[str, dict[str, list[Import]]]) -> list[list[str]]:
    """One cycle through each strongly connected group of nodes (Tarjan), as a list of nodes."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            connect(node)
    cycles = []
    for group in groups:  # a shortest way back to the group's first node, for the message
        members, start = set(group), min(group)
        paths, seen, cycle = [[start]], {start}, None
        while paths and cycle is None:
            path = paths.pop(0)
            for nxt in sorted(edges.get(path[-1], {})):
                if nxt == start:
                    cycle = [*path, start]
                    break
                if nxt in members and nxt not in seen:
                    seen.add(nxt)
                    paths.append([*path, nxt])
        cycles.append(cycle or sorted(group))
    return cycles


def _describe(cycle: list[str], edges: dict[str, dict[str, list[Import]]]) -> str:
    steps = []
    for a, b in zip(cycle, cycle[1:], strict=False):
        first = edges[a][b][0]
        steps.append(f"  {a} → {b}: {first.path.relative_to(ROOT.parent)}:{first.line} imports {first.target}")
    return " → ".join(cycle) + "\n" + "\n".join(steps)


def _graph(node_of, include) -> dict[str, dict[str, list[Import]]]:
    edges: dict[str, dict[str, list[Import]]] = {}
    for imp in ALL_IMPORTS:
        if not imp.target.startswith("directory") or not include(imp):
            continue
        a, b = node_of(imp.source), node_of(imp.target)
        if a != b:
            edges.setdefault(a, {}).setdefault(b, []).append(imp)
    return edges


def test_every_module_imports():
    for module in MODULES:
        importlib.import_module(module)


def test_no_cycle_between_packages():
    """Imports inside functions count too, unless a comment says why they are there."""
    edges = _graph(package_of, lambda imp: not imp.local or not imp.explained)
    cycles = _cycles(edges)
    assert not cycles, "import cycles between packages:\n" + "\n".join(_describe(c, edges) for c in cycles)


def test_no_circle_between_two_files():
    edges = _graph(lambda module: module, lambda imp: not (imp.local and imp.explained))
    cycles = _cycles(edges)
    assert not cycles, "import circles between modules:\n" + "\n".join(_describe(c, edges) for c in cycles)


def test_an_import_inside_a_function_says_why():
    unexplained = [
        f"{imp.path.relative_to(ROOT.parent)}:{imp.line} imports {imp.target}"
        for imp in ALL_IMPORTS
        if imp.local and not imp.explained
    ]
    assert not unexplained, "imports inside functions without a comment saying why:\n" + "\n".join(unexplained)


def test_the_checks_see_a_cycle_and_an_unexplained_import():
    """The reading above finds what it must: a cycle, a local import without a reason and one with."""
    edges = {"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}
    assert _cycles(edges) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b": []}, "b": {}}) == []
    source = (
        "def f():\n"
        "    from directory.referrals import services\n"
        "\n"
        "def g():\n"
        "    # catalog is loaded by then: see why\n"
        "    from directory.catalog import models\n"
        "    from directory.search import index\n"
        "\n"
        "def h():\n"
        "    import json  # at first use\n"
    )
    found = imports_of("directory.catalog.services", source)
    assert [(imp.target, imp.local, imp.explained) for imp in found] == [
        ("directory.referrals.services", True, False),
        ("directory.catalog.models", True, True),
        ("directory.search.index", True, True),
        ("json", True, True),
    ]
