"""The exercises as an nbgrader assignment: the cells' structure (fast), the student release, and autograding of the
instructor version, the blank release and a hand-in (slow: nbgrader executes the notebooks, in the smoke profile, in
the project the notebook tests executed once, ``smoke_run``)."""

import json
import re
import shutil

import nbformat
import numpy as np
import pytest

from ecgutils.notebook import assignments, pipeline
from ecgutils.notebook.assignments import answer_or_reference, names_used
from tests.helpers import ROOT

NOTEBOOKS = pipeline.notebooks(ROOT / "notebooks")
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


def _graded(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


# ------------------------------------------------------------------------------------------------------- the helper
def test_answer_or_reference_uses_the_answer_when_it_answers(capsys):
    def mine(x):
        return 2 * x

    assert answer_or_reference(mine, lambda x: 0, "exercise 1", 3) is mine
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("answer, why", [
    (lambda x: (_ for _ in ()).throw(NotImplementedError()), "NotImplementedError"),  # the release's blank answer
    (lambda x: None, "returned None"),
    (None, "no function"),
    (lambda x: x / 0, "ZeroDivisionError"),  # a bug in the answer does not block the cells below either
])
def test_answer_or_reference_falls_back_and_says_so(answer, why, capsys):
    def reference(x):
        return 2 * x

    assert answer_or_reference(answer, reference, "exercise 7 (double)", 3) is reference
    out = capsys.readouterr().out
    assert "exercise 7 (double)" in out and why in out and "reference" in out


def test_names_used_sees_nested_code():
    def answer(x):
        return [np.mean(v) for v in x]

    assert {"np", "mean"} <= names_used(answer) and "median" not in names_used(answer)


def test_student_id():
    assert assignments.student_id(" Ada Lovelace ") == "Ada_Lovelace"
    with pytest.raises(ValueError, match="student name"):
        assignments.student_id("  ")


# ------------------------------------------------------------------------------------- the exercise cells (no runs)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_is_an_nbgrader_cell(path):
    nb = nbformat.read(path, as_version=4)
    number = path.name[:2]
    meta = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
    ids = [m["grade_id"] for m in meta]
    assert len(ids) == len(set(ids)) and all(m["schema_version"] == 3 for m in meta)
    tests = [c for c in _graded(nb) if c.cell_type == "code"]
    assert len(tests) >= 2 and all(c.metadata["nbgrader"]["points"] > 0 and c.metadata["nbgrader"]["locked"]
                                   for c in tests)
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in tests)
    assert sum(c.cell_type == "markdown" for c in _graded(nb)) >= 2  # prose answers, graded by hand
    # every numbered exercise has an answer cell
    intro = next(c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Exercises"))
    numbers = {int(m) for m in re.findall(r"^(\d)\. ", intro, re.M)}
    answered = {int(m) for i in ids for m in re.findall(rf"^nb{number}_ex(\d)_", i)}
    assert numbers and numbers <= answered, f"exercises without an answer cell: {numbers - answered}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_blank_answers_define_functions_and_checks_are_active(path):
    """A code answer's solution lies inside a function body, so the release's blank cell (``raise
    NotImplementedError()`` in place of the solution) still runs; no check is commented out or gives its answer away."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if "### BEGIN SOLUTION" in cell.source:
            assert meta.get("solution"), f"solution text outside a solution cell: {cell.source[:60]!r}"
            if cell.cell_type == "code":
                assert re.search(r"^\s+### BEGIN SOLUTION", cell.source, re.M), cell.source[:80]
                assert cell.source.lstrip().startswith(("# Exercise", "def ", "import", "from")), cell.source[:60]
        if "HIDDEN TESTS" in cell.source:
            assert meta.get("grade") and meta.get("locked")
        assert not re.search(r"^\s*#\s*assert", cell.source, re.M), f"a commented-out check: {cell.source[:80]!r}"
    visible = "\n".join(_HIDDEN.sub("", c.source) for c in _graded(nb))
    for giveaway in ("rec.beats < 60 * rec.fs", "3600 // 16", "60 / 0.2"):
        assert giveaway not in visible


def test_handin_refuses_the_instructor_version(tmp_path):
    from ecgutils.notebook import handin

    with pytest.raises(ValueError, match="instructor's worked answers.*FOLDER="):
        handin.handin("Ada Lovelace", "smoke", folder=ROOT / "notebooks", out_dir=tmp_path)
    assert not list(tmp_path.iterdir())  # refused before running anything


def test_no_separate_solution_notebooks():
    assert not (ROOT / "notebooks" / "solutions").exists()
    files = [ROOT / "README.md", ROOT / "Makefile", *ROOT.glob("ecgutils/**/*.py"), *ROOT.glob("tests/*.py")]
    mentions = [f.name for f in files if f.name != "test_assignments.py" and "notebooks/solutions" in f.read_text()]
    assert not mentions, f"still mention notebooks/solutions: {mentions}"


# --------------------------------------------------------------------------------------------- nbgrader (slow)
@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with the release of the five notebooks."""
    root = tmp_path_factory.mktemp("course")
    released = assignments.generate(root, folder=ROOT / "notebooks")
    return root, released


@pytest.mark.slow
def test_release_holds_no_solution_text_and_no_hidden_test(course):
    root, released = course
    assert [p.name for p in released] == [p.name for p in NOTEBOOKS]
    for source, release in zip(NOTEBOOKS, released):
        answers = assignments.solution_texts(source)  # the instructor version holds worked answers ...
        assert len(answers) >= 4 and assignments.leaked_solutions(release, source) == []  # ... the release none
        text = "\n".join(c.source for c in nbformat.read(release, as_version=4).cells)
        lines = {ln.strip() for a in answers for ln in a.splitlines() if len(ln.strip()) > 25}
        assert not [ln for ln in lines if ln in text], release.name  # not one line of them
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert marker not in text
        src, rel = (nbformat.read(p, as_version=4) for p in (source, release))
        assert [c.source.rstrip() for c in _graded(rel) if c.cell_type == "code"] == \
               [_HIDDEN.sub("", c.source).rstrip() for c in _graded(src) if c.cell_type == "code"]
    with pytest.raises(ValueError, match="instructor's worked answers"):  # a hand-in of the source is refused
        assignments.submit(NOTEBOOKS[0], "someone", root)


def _autograded(table):
    return table[table.kind == "code"]


def _points(nb, grade_id):
    return next(c.metadata["nbgrader"]["points"] for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.mark.slow
def test_autograde_of_the_instructor_version_gives_full_marks(course, smoke_run, monkeypatch):
    root, _ = course
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(smoke_run.root))  # the smoke project: models are loaded, not trained
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for p in NOTEBOOKS:
        assignments.submit(p, "instructor", root, parameters={"profile": "smoke"}, allow_solutions=True)
    full = _autograded(assignments.autograde("instructor", root))
    assert len(full) >= 10 and set(full.notebook) == {p.stem for p in NOTEBOOKS}
    assert (full.score == full.max_score).all(), full[full.score < full.max_score]


@pytest.mark.slow
def test_handin_of_the_release_scores_exactly_what_is_answered_and_runs_to_the_end(course, smoke_run, monkeypatch,
                                                                                    tmp_path):
    """A student's copy of the release with one answer filled in (01, exercise 2) and the other four notebooks left
    blank: the hand-in (``make handin``'s function) is what nbgrader collects and grades; the answered exercise gets
    its points, every other test none, and every notebook runs to its end (later cells fall back to the reference)."""
    from ecgutils.notebook import handin

    root, released = course
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(smoke_run.root))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    mine = tmp_path / "my_copy"
    shutil.copytree(released[0].parent, mine)
    copy = mine / released[0].name
    nb = nbformat.read(copy, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "nb01_ex2_answer")
    cell.source = cell.source.replace("    # YOUR CODE HERE\n    raise NotImplementedError()", (
        "    c = clean - np.mean(clean, axis=-1, keepdims=True)\n"
        "    n = noise - np.mean(noise, axis=-1, keepdims=True)\n"
        "    return 10 * np.log10((c * c).sum(-1) / (n * n).sum(-1))"))
    assert "raise" not in cell.source
    nbformat.write(nb, copy)
    html = handin.handin("Ada Lovelace", "smoke", only=["01"], folder=mine, out_dir=tmp_path / "handin")
    assert [h.name for h in html] == [copy.with_suffix(".html").name]
    assignments.collect(tmp_path / "handin", "Ada Lovelace", root)
    for p in released[1:]:  # the other notebooks handed in blank
        assignments.submit(p, "Ada Lovelace", root, parameters={"profile": "smoke"})
    table = _autograded(assignments.autograde("Ada Lovelace", root)).set_index("grade_id")
    assert set(table.notebook) == {p.stem for p in NOTEBOOKS}
    expected = _points(nbformat.read(NOTEBOOKS[0], as_version=4), "nb01_ex2_test")
    assert table.loc["nb01_ex2_test", "score"] == expected == table.score.sum()
    for p in released:  # every code cell executed; errors only in the test cells; the fallback said so
        nb = nbformat.read(root / "autograded" / "Ada_Lovelace" / assignments.ASSIGNMENT / p.name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), p.name
        raised = [c for c in code if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        assert raised and all(c.metadata.get("nbgrader", {}).get("grade") for c in raised), p.name
        if p.name[:2] in {"02", "03", "04"}:  # where a later cell uses an answer left blank
            assert "the cells below use the package's reference" in json.dumps([c.outputs for c in code]), p.name
