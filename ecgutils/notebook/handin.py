"""Hand-in: execute the numbered notebooks and write each as HTML (figures embedded) with a header that says who
ran it, with which profile, seed and versions.

Usage (``make handin NAME="Ada Lovelace"``)::

    python -m ecgutils.handin --name "Ada Lovelace"                  # quick profile
    python -m ecgutils.handin --name "Ada Lovelace" --profile full

Writes ``outputs/handin/<profile>/NN_name.ipynb`` (executed) and ``NN_name.html`` for every numbered notebook.
The worked solutions (``notebooks/solutions/``) are never part of a hand-in.
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
from ecgutils.notebook.pipeline import run_notebooks


def header_cell(name: str, profile: str, seed: int) -> nbformat.NotebookNode:
    """The markdown cell put at the top of every handed-in notebook."""
    lines = [f"**Handed in by:** {name}", f"**Run:** {dt.datetime.now():%Y-%m-%d %H:%M}, profile `{profile}`, "
             f"seed {seed}", f"**Versions:** Python {platform.python_version()}, ecgutils {__version__}, "
             f"torch {torch.__version__}"]
    if profile == "quick":
        lines.append("*Quick profile: a few records and 3 epochs per model; the notebooks show the reference "
                     "(full-profile) figures beside this run's.*")
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


def handin(name: str, profile: str = "quick", seed: int = 0, only=None) -> list[Path]:
    """Execute the notebooks and write the hand-in files; returns the HTML files."""
    if not name.strip():
        raise ValueError('say who hands in: make handin NAME="Your Name" (or --name)')
    out = paths.outputs_dir("handin", profile)
    executed = run_notebooks(profile, only=only, seed=seed, out_dir=out)
    return [to_html(p, name, profile, seed) for p in executed]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="the student's name, shown at the top of every notebook")
    parser.add_argument("--profile", default="quick", choices=PROFILES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="notebook numbers, e.g. 01 02")
    args = parser.parse_args(argv)
    try:
        files = handin(args.name, args.profile, args.seed, args.only)
    except (RuntimeError, ValueError) as exc:
        print(f"\nSTOPPED: {exc}", file=sys.stderr)
        return 1
    print("hand-in written:\n" + "\n".join(f"  {f}" for f in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
