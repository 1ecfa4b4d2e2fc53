"""The package layout's promises: every ``qa.*`` import names a module that exists, and the modules
import one another without cycles (function-level imports included), so each package can be read
and changed from the folder names down."""

from __future__ import annotations

import ast
from pathlib import Path

QA = Path(__file__).resolve().parent.parent / "qa"


def module_name(path: Path) -> str:
    parts = path.relative_to(QA.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def qa_modules() -> dict[str, Path]:
    return {module_name(p): p for p in QA.rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The qa modules ``path`` imports, anywhere in the file; ``from pkg import mod`` counts as the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = qa_modules()
    graph = {}
    for name, path in modules.items():
        # importing a package's submodule runs the package's __init__ too, but that is an edge the
        # package owns (its re-exports), not one of the importer's: only direct names are counted
        graph[name] = imports_of(path, modules) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_qa_import_names_an_existing_module():
    modules = qa_modules()
    missing = []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("qa"):
                if node.module not in modules:
                    missing.append(f"{name}: from {node.module}")
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                missing.append(f"{name}: relative import (use qa.… so moves stay visible)")
    assert missing == []


def test_no_import_cycles_among_qa_modules():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_lower_packages_never_import_the_web_layer():
    graph = import_graph()
    low = (
        "qa.text",
        "qa.ingest",
        "qa.embed",
        "qa.store",
        "qa.retrieve",
        "qa.answer",
        "qa.time",
        "qa.admin",
        "qa.service",
        "qa.request",
    )
    wrong = sorted(
        f"{a} -> {b}"
        for a, deps in graph.items()
        if a.startswith(low)
        for b in deps
        if b.startswith(("qa.app", "qa.cli"))
    )
    assert wrong == []
