"""The package's layout: no import cycle, small modules, short functions (issue 12)."""

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "ecgutils"
MODULES = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def _imports(path: Path) -> set[str]:
    """Modules of ecgutils that ``path`` imports, anywhere in the file (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ecgutils."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("ecgutils."))
    return found & set(MODULES)


def import_graph() -> dict[str, set[str]]:
    return {name: _imports(path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of nodes (first == last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert graph["bench"] and graph["inference"]  # the parser sees the imports
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_inference_depends_on_models_and_signal_processing_only():
    seen, todo = set(), ["inference"]
    while todo:
        m = todo.pop()
        for dep in import_graph()[m] - seen:
            seen.add(dep)
            todo.append(dep)
    assert not seen & {"train", "noise", "dataset", "denoising", "rpeak_training", "rpeak_scoring", "export", "bench"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_are_small(name):
    text = MODULES[name].read_text()
    assert len(text.splitlines()) <= 320, f"{name}.py has {len(text.splitlines())} lines: split it by job"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
            assert lines <= 60, f"{name}.{node.name} has {lines} lines of code"
