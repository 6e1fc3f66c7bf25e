"""The exercises as an nbgrader assignment: the student release, collecting hand-ins and grading them.

The numbered notebooks are the instructor version: each exercise's worked answer lies between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a cell nbgrader knows as a solution cell, its test cell carries
points (some tests between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``), and each prose question has a
manually graded answer cell. The course is one nbgrader assignment, :data:`ASSIGNMENT`, holding the five notebooks
(so the release folder replaces ``notebooks/`` one for one), in a course folder nbgrader's own commands also work in
(``outputs/assignments/``, with its ``nbgrader_config.py``).

Usage (``make assignments``)::

    python -m ecgutils.notebook.assignments                       # write the student release
    python -m ecgutils.notebook.assignments --grade "Ada Lovelace" --handin outputs/handin/quick

The first writes ``outputs/assignments/release/ecg/NN_name.ipynb``: no solution text, no hidden tests. The second
collects a hand-in (``make handin`` of the student's copy of the release) into ``submitted/<student>/ecg/``,
autogrades it (nbgrader runs every notebook again, with the hidden tests put back) and prints the points per cell.

In a notebook, :func:`answer_or_reference` lets later cells use a student's function, or the package's reference
with a printed note while the exercise is not done yet: a missing answer never blocks the cells after it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import warnings
from pathlib import Path
from typing import Callable

import nbformat
import pandas as pd

from ecgutils.io import paths
from ecgutils.notebook.pipeline import notebooks

#: The one nbgrader assignment: every numbered notebook.
ASSIGNMENT = "ecg"
#: nbgrader's course id (its gradebook's name for the course).
COURSE_ID = "ecg-deep-learning"
#: Seconds a cell may run while nbgrader executes a notebook (training in the quick profile takes a minute or two).
CELL_TIMEOUT_S = 1800
_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def answer_or_reference(answer, reference: Callable, name: str, *probe, **probe_kw) -> Callable:
    """The student's function when it answers a small probe call, otherwise the reference (with a printed note).

    Parameters
    ----------
    answer : callable or None
        The student's function (an exercise's answer).
    reference : callable
        The package's implementation, with the same signature.
    name : str
        The exercise, for the note (``"exercise 3 (rmse_and_snr_gain)"``).
    *probe, **probe_kw
        A small input to try ``answer`` on.

    Returns
    -------
    callable
        ``answer`` if ``answer(*probe, **probe_kw)`` returns something other than None, else ``reference``.

    Examples
    --------
    >>> def mine(x):
    ...     raise NotImplementedError()
    >>> f = answer_or_reference(mine, abs, "exercise 1 (absolute value)", -2)
    exercise 1 (absolute value): not answered yet (NotImplementedError); the cells below use the package's reference.
    >>> f(-3)
    3
    >>> answer_or_reference(lambda x: -x if x < 0 else x, abs, "exercise 1", -2)(-3)
    3
    """
    why = None
    if not callable(answer):
        why = "no function"
    else:
        try:
            why = "it returned None" if answer(*probe, **probe_kw) is None else None
        except Exception as exc:  # any failure of the student's code: later cells go on with the reference
            why = type(exc).__name__ if isinstance(exc, NotImplementedError) else f"{type(exc).__name__}: {exc}"
    if why is None:
        return answer
    print(f"{name}: not answered yet ({why}); the cells below use the package's reference.")
    return reference


def names_used(fn: Callable) -> set[str]:
    """The global and attribute names a function's code refers to (nested functions included).

    A hidden test uses it to check that an answer computes something rather than calling the package's reference.

    Examples
    --------
    >>> import numpy as np
    >>> "mean" in names_used(lambda x: np.mean(x))
    True
    """
    def walk(code) -> set[str]:
        return set(code.co_names).union(*(walk(c) for c in code.co_consts if hasattr(c, "co_names")))

    return walk(fn.__code__)


def course_dir(root: str | Path | None = None) -> Path:
    """The nbgrader course folder (default ``outputs/assignments``), created with its ``nbgrader_config.py``."""
    root = Path(root) if root is not None else paths.outputs_dir() / "assignments"
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        "# nbgrader's settings for this course folder (written by ecgutils.notebook.assignments)\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Execute.timeout = {CELL_TIMEOUT_S}\n"
        "c.Exchange.root = 'exchange'\n")
    return root


def _api(root: Path):
    """nbgrader's Python API on the course folder ``root``."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    if shutil.which("alembic") is None:  # nbgrader runs the `alembic` command installed beside this Python
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = COURSE_ID
    config.Execute.timeout = CELL_TIMEOUT_S
    config.Exchange.root = str(root / "exchange")
    return NbGraderAPI(config=config)


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")


def generate(root=None, folder=None, only=None) -> list[Path]:
    """Write the student release of the numbered notebooks (``nbgrader generate_assignment``).

    Parameters
    ----------
    root : path, optional
        The course folder (default ``outputs/assignments``).
    folder : path, optional
        The instructor notebooks (default ``notebooks/``).
    only : list of str, optional
        Notebook numbers (``["01"]``); default all.

    Returns
    -------
    list of Path
        The released notebooks, ``<root>/release/ecg/NN_name.ipynb``.
    """
    root = course_dir(root)
    nbs = [p for p in notebooks(folder) if not only or p.name[:2] in set(only)]
    if not nbs:
        raise FileNotFoundError("no notebooks to release: expected notebooks/NN_name.ipynb (check --only)")
    source = root / "source" / ASSIGNMENT
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for nb in nbs:
        shutil.copy2(nb, source / nb.name)
    _check(_api(root).generate_assignment(ASSIGNMENT), "generate_assignment")
    return [root / "release" / ASSIGNMENT / nb.name for nb in nbs]


def solution_texts(notebook: str | Path) -> list[str]:
    """The worked answers of a notebook: each solution region's text and each manually graded answer cell."""
    nb = nbformat.read(notebook, as_version=4)
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        regions = _SOLUTION.findall(cell.source)
        out += [r.strip() for r in regions] if regions else [cell.source.strip()]
    return [t for t in out if t]


def leaked_solutions(notebook: str | Path, source: str | Path) -> list[str]:
    """The worked answers of ``source`` that ``notebook`` holds whole (empty: none).

    An answer counts when every one of its lines appears in ``notebook``, in order, ignoring indentation; answers of
    under 40 characters (``return 2 * x``) are too easily written independently to count.
    """
    def flat(text: str) -> str:
        return "\n".join(ln.strip() for ln in text.splitlines() if ln.strip())

    text = flat("\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells))
    return [t for t in solution_texts(source) if len(flat(t)) >= 40 and flat(t) in text]


def submit(notebook: str | Path, student: str, root=None, parameters: dict | None = None,
           allow_solutions: bool = False) -> Path:
    """Put one handed-in notebook where nbgrader grades it: ``<root>/submitted/<student>/ecg/NN_name.ipynb``.

    Parameters
    ----------
    notebook : path
        The student's notebook (a hand-in's executed copy, or the student's own file).
    student : str
        nbgrader's student id (letters, digits, ``_`` and ``-``; other characters become ``_``).
    root : path, optional
        The course folder.
    parameters : dict, optional
        Parameters papermill injects after the ``parameters`` cell (``{"profile": "smoke"}``).
    allow_solutions : bool
        False: refuse a notebook that holds the instructor's worked answers. True is for checking the instructor
        version itself.

    Returns
    -------
    Path
        The submitted copy.
    """
    root = course_dir(root)
    notebook = Path(notebook)
    source = root / "source" / ASSIGNMENT / notebook.name
    if not source.exists():
        raise FileNotFoundError(f"{notebook.name} is not part of the assignment: run `make assignments` first")
    if not allow_solutions and (leaked := leaked_solutions(notebook, source)):
        raise ValueError(f"{notebook} holds the instructor's worked answers ({leaked[0][:60]!r}...): hand in your copy "
                         "of the student release (outputs/assignments/release/), not notebooks/")
    if parameters:
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        nb = parameterize_notebook(load_notebook_node(str(notebook)), parameters)
    else:
        nb = nbformat.read(notebook, as_version=4)
    target = root / "submitted" / student_id(student) / ASSIGNMENT / notebook.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def student_id(name: str) -> str:
    """nbgrader's id for a student's name: ``"Ada Lovelace"`` -> ``"Ada_Lovelace"``."""
    sid = re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_")
    if not sid:
        raise ValueError("say who hands in: a student name with at least one letter or digit")
    return sid


def collect(handin_dir: str | Path, student: str, root=None, parameters: dict | None = None) -> list[Path]:
    """Submit every notebook of a hand-in folder (``make handin`` writes ``outputs/handin/<profile>/``)."""
    found = notebooks(handin_dir)
    if not found:
        raise FileNotFoundError(f"no NN_name.ipynb in {handin_dir}: run `make handin NAME=...` first")
    return [submit(p, student, root, parameters) for p in found]


def autograde(student: str, root=None) -> pd.DataFrame:
    """Grade a student's submission with nbgrader (every notebook executed again, hidden tests put back).

    Returns
    -------
    DataFrame
        One row per graded cell: ``notebook``, ``grade_id``, ``kind`` ("code": autograded test, "markdown":
        graded by hand), ``score`` (NaN for a cell graded by hand and not graded yet), ``max_score``,
        ``failed`` (an autograded test that raised).
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    root = course_dir(root)
    sid = student_id(student)
    with warnings.catch_warnings():  # nbgrader 0.9.6 with SQLAlchemy 2.1 warns about its own session use
        warnings.simplefilter("ignore", SAWarning)
        _check(_api(root).autograde(ASSIGNMENT, sid), f"autograde of {sid}")
    rows = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for nb in gb.find_submission(ASSIGNMENT, sid).notebooks:
            for g in nb.grades:
                rows.append({"notebook": nb.name, "grade_id": g.name, "kind": g.cell_type,
                             "score": g.score if g.auto_score is not None or g.manual_score is not None
                             else float("nan"), "max_score": g.max_score,
                             "failed": g.cell_type == "code" and g.auto_score == 0 and g.max_score > 0})
    return pd.DataFrame(rows, columns=["notebook", "grade_id", "kind", "score", "max_score", "failed"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="notebook numbers, e.g. 01 02")
    parser.add_argument("--grade", metavar="STUDENT", help="collect and autograde this student's hand-in")
    parser.add_argument("--handin", default=None, help="the hand-in folder (default outputs/handin/quick)")
    args = parser.parse_args(argv)
    try:
        if args.grade:
            collect(args.handin or paths.outputs_dir("handin", "quick"), args.grade)
            table = autograde(args.grade)
            print(table.to_string(index=False))
            auto = table[table.kind == "code"]
            print(f"\n{args.grade}: {auto.score.sum():g} of {auto.max_score.sum():g} autograded points; "
                  f"{(table.kind == 'markdown').sum()} answers to grade by hand (nbgrader formgrader)")
        else:
            for p in generate(only=args.only):
                print(f"  {p}")
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"\nSTOPPED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
