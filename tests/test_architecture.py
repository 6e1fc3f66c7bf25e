"""The package's layout: layers checked by import-linter, small modules and functions, few top-level modules."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "ecgutils"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def _lint_imports() -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is not installed: `make install`"
    return subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)


def test_layers_and_forbidden_imports_hold():
    """pyproject.toml's [tool.importlinter] contracts: layers one way; inference/streaming never import training."""
    run = _lint_imports()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 kept, 0 broken" in run.stdout


def test_import_linter_catches_a_wrong_arrow(tmp_path):
    """The contract check can fail: a copy of the package with dsp importing training breaks the layers."""
    copy = tmp_path / "ecgutils"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("weights", "registry", "__pycache__"))
    (copy / "dsp" / "filters.py").write_text((copy / "dsp" / "filters.py").read_text()
                                             + "\nfrom ecgutils.training import loop  # noqa\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    env = {"PYTHONPATH": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    run = subprocess.run([exe, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert run.returncode != 0 and "ecgutils.dsp.filters -> ecgutils.training" in run.stdout


def test_top_level_is_a_table_of_contents():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, f"{len(top)} modules at the top of ecgutils: {top}"
    for sub in ("io", "data", "dsp", "models", "training", "evaluation", "notebook"):
        doc = ast.get_docstring(ast.parse((PACKAGE / sub / "__init__.py").read_text()))
        names = {p.stem for p in (PACKAGE / sub).glob("*.py") if p.stem != "__init__"}
        missing = {n for n in names if f"``{n}``" not in (doc or "")}
        assert not missing, f"ecgutils/{sub}/__init__.py does not list {sorted(missing)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_are_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= 350, f"{path.name} has {len(text.splitlines())} lines: split it by job"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
            assert lines <= 60, f"{path.name}: {node.name} has {lines} lines of code"


def test_old_module_paths_still_import_with_a_warning():
    import importlib

    with pytest.warns(DeprecationWarning, match="ecgutils.data.store"):
        old = importlib.import_module("ecgutils.dataset")
    from ecgutils.data import store

    assert old is store
    with pytest.warns(DeprecationWarning, match="ecgutils.io.records"):
        from ecgutils.data import read_record  # noqa: F401
