"""Run the numbered notebooks headless, in order, with papermill, and say what each one cost.

Usage::

    python -m ecgutils.notebook.pipeline                  # quick profile, every notebook (make run)
    python -m ecgutils.notebook.pipeline --profile full
    python -m ecgutils.notebook.pipeline --only 01 02     # a subset, by number

Executed copies go to ``outputs/notebooks/<profile>/``. The run stops at the first failing notebook and names it
(``allow_errors=True``, what the hand-in uses, runs every cell of every notebook instead and keeps the errors in the
executed copies). At the end it prints the seconds each notebook took and its slowest cell (:func:`spent`), read from
the timings papermill stores in every executed cell.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ecgutils.config import PROFILES
from ecgutils.io import paths


def notebooks(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``), in order."""
    folder = Path(folder) if folder is not None else paths.notebooks_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def run_notebooks(profile: str = "quick", only=None, seed: int = 0, folder=None, out_dir=None,
                  parameters: dict | None = None, allow_errors: bool = False) -> list[Path]:
    """Execute the notebooks in order.

    Parameters
    ----------
    profile : {"quick", "full", "smoke"}
    only : list of str, optional
        Notebook numbers to run (``["01", "02"]``); default all.
    seed : int
    folder, out_dir : path, optional
        Where the notebooks are, and where the executed copies go (default ``outputs/notebooks/<profile>``).
    parameters : dict, optional
        Extra parameters for every notebook (papermill injects them after the ``parameters`` cell).
    allow_errors : bool
        False: raise ``RuntimeError`` naming the first notebook that fails. True: run every cell of every notebook
        (as ``nbconvert --allow-errors`` does), keep a failing cell's error in the executed copy, and go on.

    Returns
    -------
    list of Path
        The executed copies, one per notebook run.
    """
    import papermill as pm  # papermill is slow to import; only this command needs it

    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid options: {', '.join(PROFILES)}")
    nbs = notebooks(folder)
    if only:
        nbs = [p for p in nbs if p.name[:2] in set(only)]
    if not nbs:
        raise FileNotFoundError("no notebooks to run: expected notebooks/NN_name.ipynb (check --only)")
    out = Path(out_dir) if out_dir is not None else paths.outputs_dir("notebooks", profile)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for nb in nbs:
        t0 = time.time()
        print(f"[{profile}] running {nb.name} ...", flush=True)
        target = out / nb.name
        try:
            pm.execute_notebook(str(nb), str(target), parameters={"profile": profile, "seed": seed, **(parameters or {})},
                                cwd=str(nb.parent), progress_bar=False, kernel_name="python3",
                                allow_errors=allow_errors)
        except Exception as exc:
            if not allow_errors or not target.exists():
                raise RuntimeError(
                    f"{nb.name} failed; the executed copy with the error is {target}.\n{type(exc).__name__}: {exc}"
                ) from None
            print(f"[{profile}] {nb.name}: a cell failed ({type(exc).__name__}); its error is kept in {target}")
        print(f"[{profile}] {nb.name} done in {time.time() - t0:.0f} s -> {target}", flush=True)
        done.append(target)
    return done


@dataclass(frozen=True)
class Spent:
    """What one executed notebook cost, from papermill's per-cell timings.

    Attributes
    ----------
    notebook : str
        File name.
    seconds : float
        Wall-clock seconds of all its cells (kernel start-up excluded).
    slowest_cell : int
        Index of its slowest cell.
    slowest_seconds : float
    slowest_source : str
        The first line of that cell.
    """

    notebook: str
    seconds: float
    slowest_cell: int
    slowest_seconds: float
    slowest_source: str


def spent(executed: str | Path) -> Spent:
    """Seconds per cell of a notebook papermill executed: the total and the slowest cell.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 1"), nbformat.v4.new_code_cell("b = 2")])
    >>> nb.cells[0].metadata["papermill"] = {"duration": 0.5}
    >>> nb.cells[1].metadata["papermill"] = {"duration": 2.0}
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "01_x.ipynb")
    >>> nbformat.write(nb, path)
    >>> s = spent(path)
    >>> s.seconds, s.slowest_cell, s.slowest_source
    (2.5, 1, 'b = 2')
    """
    nb = nbformat.read(executed, as_version=4)
    durations = [float(c.metadata.get("papermill", {}).get("duration") or 0.0) for c in nb.cells]
    if not durations or max(durations) == 0.0:
        raise ValueError(f"{executed} holds no cell timings: it was not executed by papermill")
    slowest = max(range(len(durations)), key=durations.__getitem__)
    first = (nb.cells[slowest].source.strip().splitlines() or [""])[0]
    return Spent(Path(executed).name, sum(durations), slowest, durations[slowest], first[:70])


def spent_table(executed: list) -> str:
    """The end-of-run printout: one line per notebook (seconds, slowest cell), then the total."""
    rows = [spent(p) for p in executed]
    lines = [f"{'notebook':28s} {'s':>6s}   slowest cell (s): first line"]
    lines += [f"{r.notebook:28s} {r.seconds:6.1f}   [{r.slowest_cell}] {r.slowest_seconds:6.1f}: {r.slowest_source}"
              for r in rows]
    lines.append(f"{'all notebooks':28s} {sum(r.seconds for r in rows):6.1f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick", choices=PROFILES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="notebook numbers, e.g. 01 02")
    args = parser.parse_args(argv)
    t0, cpu0 = time.time(), _children_cpu()
    try:
        done = run_notebooks(args.profile, args.only, args.seed)
    except RuntimeError as exc:
        print(f"\nSTOPPED: {exc}", file=sys.stderr)
        return 1
    print(f"\nwhat the run spent ({args.profile} profile):\n{spent_table(done)}")
    print(f"all notebooks ran in {time.time() - t0:.0f} s of wall time, {_children_cpu() - cpu0:.0f} s of CPU "
          f"(kernels); outputs in {paths.outputs_dir()}")
    return 0


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children (the notebook kernels)."""
    import os

    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


if __name__ == "__main__":
    sys.exit(main())
