"""Run the numbered notebooks headless, in order, with papermill.

Usage::

    python -m ecgutils.pipeline                  # quick profile, every notebook
    python -m ecgutils.pipeline --profile full
    python -m ecgutils.pipeline --only 01 02     # a subset, by number

Executed copies go to ``outputs/notebooks/<profile>/``. The run stops at the first failing notebook and names it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ecgutils.io import paths
from ecgutils.config import PROFILES


def notebooks(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``), in order."""
    folder = Path(folder) if folder is not None else paths.notebooks_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def run_notebooks(profile: str = "quick", only=None, seed: int = 0, folder=None, out_dir=None,
                  parameters: dict | None = None) -> list[Path]:
    """Execute the notebooks in order; raise ``RuntimeError`` naming the first one that fails.

    Parameters
    ----------
    profile : {"quick", "full"}
    only : list of str, optional
        Notebook numbers to run (``["01", "02"]``); default all.
    seed : int
    folder, out_dir : path, optional
        Where the notebooks are, and where the executed copies go (default ``outputs/notebooks``).
    parameters : dict, optional
        Extra parameters for every notebook (papermill injects them after the ``parameters`` cell).

    Returns
    -------
    list of Path
        The executed copies.
    """
    import papermill as pm  # papermill is slow to import; only this command needs it

    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid options: {', '.join(PROFILES)}")
    nbs = notebooks(folder)
    if only:
        nbs = [p for p in nbs if p.name[:2] in set(only)]
    if not nbs:
        raise FileNotFoundError("no notebooks to run: expected notebooks/NN_name.ipynb")
    out = Path(out_dir) if out_dir is not None else paths.outputs_dir("notebooks", profile)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for nb in nbs:
        t0 = time.time()
        print(f"[{profile}] running {nb.name} ...", flush=True)
        target = out / nb.name
        try:
            pm.execute_notebook(str(nb), str(target), parameters={"profile": profile, "seed": seed, **(parameters or {})},
                                cwd=str(nb.parent), progress_bar=False, kernel_name="python3")
        except Exception as exc:
            raise RuntimeError(
                f"{nb.name} failed; the executed copy with the error is {target}.\n{type(exc).__name__}: {exc}"
            ) from None
        print(f"[{profile}] {nb.name} done in {time.time() - t0:.0f} s -> {target}", flush=True)
        done.append(target)
    return done


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick", choices=PROFILES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="notebook numbers, e.g. 01 02")
    args = parser.parse_args(argv)
    t0 = time.time()
    try:
        run_notebooks(args.profile, args.only, args.seed)
    except RuntimeError as exc:
        print(f"\nSTOPPED: {exc}", file=sys.stderr)
        return 1
    print(f"all notebooks ran in {time.time() - t0:.0f} s ({args.profile} profile); outputs in {paths.outputs_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
