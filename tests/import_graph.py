"""The package's import graph, read from the source (every import: top-level, deferred inside a
function, under ``TYPE_CHECKING``, or through ``importlib.import_module("...")``).

``python -m tests.import_graph`` prints the module count, the longest import chain (the depth) and
every cycle; ``tests/test_architecture.py`` asserts there is none.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "faceid_tools"


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (a package is its ``__init__``)."""
    out: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(current: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _targets(tree: ast.AST, current: str, is_package: bool, known: set[str]) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(current, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield sub if sub in known else base
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``."""
    mods = modules(root)
    known = set(mods)
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text("utf-8"))
        found = set()
        for target in _targets(tree, name, path.name == "__init__.py", known):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
        edges[name] = found
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def longest_chain(edges: dict[str, set[str]]) -> list[str]:
    """The longest import chain (modules in a cycle are collapsed first, so it terminates)."""
    memo: dict[str, list[str]] = {}
    visiting: set[str] = set()

    def chain(v: str) -> list[str]:
        if v in memo:
            return memo[v]
        visiting.add(v)
        best: list[str] = []
        for w in edges.get(v, ()):
            if w in visiting:
                continue
            c = chain(w)
            if len(c) > len(best):
                best = c
        visiting.discard(v)
        memo[v] = [v, *best]
        return memo[v]

    return max((chain(v) for v in sorted(edges)), key=len, default=[])


def main() -> None:
    edges = graph()
    path = longest_chain(edges)
    found = cycles(edges)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} imports")
    print(f"depth {len(path)} (longest chain): {' -> '.join(path)}")
    print(f"cycles: {len(found)}")
    for comp in found:
        print("  " + ", ".join(comp))


if __name__ == "__main__":
    main()
