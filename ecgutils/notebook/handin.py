"""Hand-in: execute the numbered notebooks and write each as HTML (figures embedded) with a header that says who
ran it, with which profile, seed and versions.

Usage (``make handin NAME="Ada Lovelace"``, ``make handin NAME="Ada Lovelace" ONLY=02``)::

    python -m ecgutils.notebook.handin --name "Ada Lovelace"                  # quick profile
    python -m ecgutils.notebook.handin --name "Ada Lovelace" --profile full
    python -m ecgutils.notebook.handin --name "Ada Lovelace" --only 02 03

Writes ``outputs/handin/<profile>/NN_name.ipynb`` (executed) and ``NN_name.html`` for every numbered notebook.
A cell that raises does not stop the hand-in: every cell of every notebook runs, and a failing cell shows its error
in the HTML (as ``nbconvert --allow-errors`` does); the command then names the notebooks with errors and exits 1.
A hand-in is made from the student's copy of the exercises' release (``make assignments``, then ``--folder``):
a folder that holds the instructor's worked answers (``notebooks/``) is refused, so no hand-in holds
solution text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from pathlib import Path

import nbformat
import torch
from nbconvert import HTMLExporter

from ecgutils import __version__
from ecgutils.io import paths
from ecgutils.config import PROFILES
from ecgutils.notebook.pipeline import notebooks, run_notebooks


def header_cell(name: str, profile: str, seed: int) -> nbformat.NotebookNode:
    """The markdown cell put at the top of every handed-in notebook."""
    lines = [f"**Handed in by:** {name}", f"**Run:** {dt.datetime.now():%Y-%m-%d %H:%M}, profile `{profile}`, "
             f"seed {seed}", f"**Versions:** Python {platform.python_version()}, ecgutils {__version__}, "
             f"torch {torch.__version__}"]
    if profile != "full":
        lines.append(f"*{profile.capitalize()} profile: a few records and epochs per model; the notebooks show the "
                     "reference (full-profile) figures beside this run's.*")
    return nbformat.v4.new_markdown_cell("  \n".join(lines))


def to_html(executed: Path, name: str, profile: str, seed: int) -> Path:
    """Prepend the header to an executed notebook, save it, and write its HTML beside it (images embedded)."""
    nb = nbformat.read(executed, as_version=4)
    nb.cells.insert(0, header_cell(name, profile, seed))
    nbformat.write(nb, executed)
    body, _ = HTMLExporter().from_notebook_node(nb)
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def failed_cells(executed: Path) -> list[int]:
    """Indices of the cells of an executed notebook that hold an error output."""
    nb = nbformat.read(executed, as_version=4)
    return [i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))]


def handin(name: str, profile: str = "quick", seed: int = 0, only=None, folder=None, out_dir=None) -> list[Path]:
    """Execute the notebooks (every cell, errors kept) and write one HTML file per notebook; returns them.

    Parameters
    ----------
    name : str
        Who hands in (shown at the top of every notebook).
    profile, seed, only, folder :
        As :func:`ecgutils.notebook.pipeline.run_notebooks`.
    out_dir : path, optional
        Default ``outputs/handin/<profile>``.
    """
    if not name.strip():
        raise ValueError('say who hands in: make handin NAME="Your Name" (or --name)')
    mine = [p for p in notebooks(folder) if not only or p.name[:2] in set(only)]
    if any("### BEGIN SOLUTION" in p.read_text(encoding="utf-8") for p in mine):
        raise ValueError(f"{mine[0].parent} holds the instructor's worked answers: hand in your copy of the student "
                         "release (make assignments, copy outputs/assignments/release/ecg/ to a folder of yours, work "
                         'there, then make handin NAME="Your Name" FOLDER=that-folder)')
    out = Path(out_dir) if out_dir is not None else paths.outputs_dir("handin", profile)
    executed = run_notebooks(profile, only=only, seed=seed, folder=folder, out_dir=out, allow_errors=True)
    return [to_html(p, name, profile, seed) for p in executed]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="the student's name, shown at the top of every notebook")
    parser.add_argument("--profile", default="quick", choices=PROFILES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="notebook numbers, e.g. 01 02")
    parser.add_argument("--folder", default=None, help="the student's notebooks (a copy of the student release)")
    args = parser.parse_args(argv)
    try:
        files = handin(args.name, args.profile, args.seed, args.only, folder=args.folder)
    except (RuntimeError, ValueError) as exc:
        print(f"\nSTOPPED: {exc}", file=sys.stderr)
        return 1
    print("hand-in written:\n" + "\n".join(f"  {f}" for f in files))
    broken = {f.name: failed_cells(f.with_suffix(".ipynb")) for f in files}
    broken = {k: v for k, v in broken.items() if v}
    for html, cells in broken.items():
        print(f"  {html}: cells {cells} raised an error (shown in the HTML); fix them and hand in again",
              file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
