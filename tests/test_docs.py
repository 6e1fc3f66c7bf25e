"""Docs that run and names that exist: the docstring examples are collected as doctests, the public functions have
one, every module path or cross-reference a docstring names imports (not a 0.2 path of ``_compat.MOVED``), and the
README's look-ahead table repeats the shipped reference rows."""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
import warnings
from pathlib import Path

import pytest

import ecgutils
from ecgutils import _compat
from tests.helpers import ROOT

PACKAGE = Path(ecgutils.__file__).parent
#: ``ecgutils.io.records.read_record``, ``ecgutils.streaming`` ... anywhere in a docstring.
DOTTED = re.compile(r"\becgutils(?:\.[A-Za-z_]\w*)+")
#: Sphinx cross-references: :func:`name`, :class:`~ecgutils.x.Y` ...
ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|obj|exc):`~?([A-Za-z_][\w.]*)`")
#: The modules that document the 0.2 aliases themselves.
ALIAS_DOCS = {Path("__init__.py"), Path("_compat.py")}
#: Public functions that must show a runnable example (synthetic signals, no records).
WITH_EXAMPLES = ["ecgutils.inference.denoise", "ecgutils.inference.detect_r_peaks", "ecgutils.dsp.filters.ecg_clean",
                 "ecgutils.evaluation.metrics.match_beats", "ecgutils.data.noise.make_noise",
                 "ecgutils.dsp.resampling.resample", "ecgutils.training.rpeak.balanced_pos_weight"]


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        name = ".".join(("ecgutils",) + rel.with_suffix("").parts).removesuffix(".__init__")
        if rel.name != "__main__.py":
            yield rel, name, path


def _docstrings(path: Path):
    """(line, docstring) of the module, and of every class and function in it (methods and nested ones too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield getattr(node, "lineno", 1), doc


def _texts(path: Path):
    """(line, text) of every string in the module: docstrings, messages, f-string parts."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _has(obj, attr: str) -> bool:
    """``obj.attr`` exists, counting dataclass fields and annotated attributes that have no class-level value; an
    attribute kept for one release (its access warns, as ``ecgutils.data.read_record``) does not count."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            if hasattr(obj, attr):
                return True
        except DeprecationWarning:
            return False
    return isinstance(obj, type) and any(attr in vars(k).get("__annotations__", {}) for k in obj.__mro__)


def _resolve(name: str, namespaces=()) -> bool:
    """Whether ``name`` is a module, or an attribute path inside one (or inside one of ``namespaces``)."""
    parts = name.split(".")
    if any(".".join(parts[:i]) in _compat.MOVED for i in range(1, len(parts) + 1)):
        return False  # a 0.2 path: it imports with a DeprecationWarning, but the docs should name the new one
    for space in namespaces:
        if _has(space, parts[0]):
            obj = space
            break
    else:
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            parts = parts[i:]
            break
        else:
            return False
    for attr in parts:
        if not _has(obj, attr):
            return False
        obj = getattr(obj, attr, None)
    return True


def test_docstrings_and_messages_name_module_paths_that_import():
    stale = []
    for rel, _, path in _modules():
        for line, text in _texts(path):
            for name in sorted(set(DOTTED.findall(text))):
                if not _resolve(name) and not (rel in ALIAS_DOCS and name in _compat.MOVED):
                    stale.append(f"{rel}:{line}: {name}")
    assert not stale, "docstrings or messages name paths that do not import, or that warn (see ecgutils/_compat.py " \
                      "MOVED and ecgutils/data/__init__.py _MOVED for where 0.2 names went):\n" + "\n".join(stale)


def test_cross_references_resolve():
    broken = []
    for rel, name, path in _modules():
        module = importlib.import_module(name)
        classes = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == name]
        for line, doc in _docstrings(path):
            for ref in sorted(set(ROLE.findall(doc)) - set(DOTTED.findall(doc))):  # full paths: the test above
                if not _resolve(ref, [module, *classes]):
                    broken.append(f"{rel}:{line}: {ref}")
    assert not broken, "cross-references to names that do not exist (a relative name is looked up in its module " \
                       "and the module's classes; name other modules in full):\n" + "\n".join(broken)


@pytest.mark.parametrize("dotted", WITH_EXAMPLES)
def test_public_functions_show_an_example(dotted):
    module, _, attr = dotted.rpartition(".")
    doc = getattr(importlib.import_module(module), attr).__doc__ or ""
    assert "Examples\n" in doc and ">>> " in doc, f"{dotted}: add an Examples section with a runnable >>> example"


def test_the_test_command_runs_the_docstring_examples():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "ecgutils" in options["testpaths"] and "--doctest-modules" in options["addopts"].split()


@pytest.mark.parametrize("name, ok", [("ecgutils.io.records.read_record", True), ("ecgutils.models.causal", True),
                                      ("ecgutils.models.causal.CausalState.ema", True),  # a dataclass field
                                      ("ecgutils.dataset", False), ("ecgutils.windows.cut_segments", False),
                                      ("ecgutils.inference.no_such_function", False), ("ecgutils.nothing", False)])
def test_the_name_check_itself(name, ok):
    assert _resolve(name) is ok


def test_the_readmes_look_ahead_table_repeats_the_shipped_reference_rows():
    """The README's accuracy-against-look-ahead table and ``docs/results/realtime_detection.csv`` (which the quick
    notebook 05 shows as its reference rows) give the same gross F1 for every look-ahead and case."""
    import pandas as pd

    text = (ROOT / "README.md").read_text()
    header = "| case | 0 s | 0.1 s | 0.3 s | 1 s |"
    assert text.count(header) == 1, "the README has one look-ahead table"
    rows = text[text.index(header):].split("\n\n")[0].splitlines()[2:]
    csv = pd.read_csv(ROOT / "docs" / "results" / "realtime_detection.csv").set_index(["detector", "case"]).gross_f1
    compared = 0
    for row in rows:
        case, *cells = [c.strip() for c in row.strip("|").split("|")]
        prefix, levels = ("DS2", ["clean"]) if case == "DS2 clean" else ("NSTDB", case.split(" ", 1)[1].split(" / "))
        for lookahead, cell in zip(("0", "0.1", "0.3", "1"), cells):
            for level, value in zip(levels, cell.split(" / ")):
                expected = csv[(f"stream {lookahead} s", f"{prefix} {level}")]
                assert float(value) == pytest.approx(expected, abs=0.005), (case, lookahead, level)
                compared += 1
    assert compared == 28, "every look-ahead at DS2 clean and the six NSTDB levels"


def _layout_rows() -> dict[str, set[str]]:
    """The README's layout table: each subpackage (``training/`` ...) and the modules its row names."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| layer | modules | job |"):]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        layer, modules = [cell.strip() for cell in line.strip("|").split("|")[:2]]
        if layer.endswith("/`"):
            rows[layer.strip("`/")] = {m for m in re.findall(r"`([\w/]+)`", modules) if not m.endswith("/")}
    return rows


def test_the_readmes_layout_table_names_every_module_of_each_subpackage():
    rows = _layout_rows()
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert sorted(rows) == packages, "the README's layout table has one row per subpackage"
    for name in packages:
        modules = {p.stem for p in (PACKAGE / name).glob("*.py") if p.stem != "__init__"}
        assert rows[name] == modules, f"README layout row {name}/: missing {sorted(modules - rows[name])}, " \
                                      f"gone {sorted(rows[name] - modules)}"


def _anchors(path: Path) -> set[str]:
    """The anchors a Markdown file offers: ``<a id="...">`` and GitHub's slugs of its headings."""
    text = path.read_text()
    slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
             for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    return slugs | set(re.findall(r'<a id="([^"]+)"></a>', text))


@pytest.mark.parametrize("doc", ["README.md", "docs/history.md", "docs/choices.md", "docs/results/README.md"])
def test_links_to_the_projects_files_and_anchors_resolve(doc):
    source = ROOT / doc
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", source.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file, _, anchor = target.partition("#")
        path = (source.parent / file) if file else source
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in _anchors(path):
            broken.append(f"{target}: no such anchor")
    assert not broken, f"{doc} links to:\n" + "\n".join(broken)


def test_the_protocol_copy_agrees_with_the_shared_protocol():
    shared = ROOT.parent / "shared" / "EVALUATION.md"
    if not shared.exists():
        pytest.skip("no ../shared/EVALUATION.md beside the project (only the reference machine and CI have it)")
    copy = (ROOT / "docs" / "evaluation_protocol.md").read_text()
    assert copy.split("-->\n\n", 1)[1] == shared.read_text(), "copy ../shared/EVALUATION.md to docs/"
