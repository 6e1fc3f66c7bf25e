"""The first code cell of every notebook: versions, seed, the profile's settings and where outputs go.

``run = setup(seed, profile)`` seeds everything, runs PyTorch on one CPU thread, makes figures show inside the
notebook whatever ``MPLBACKEND`` says, prints what this run uses, and returns a :class:`Session` that knows the
profile's folders (``run.csv``, ``run.models``, ``run.plots``), saves figures there (``run.save(fig, "02_loss_curves")``)
and reads the shipped reference tables (``run.reference_table("detection_clean")``, from ``docs/results/``).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import wfdb

from ecgutils import __version__
from ecgutils.io import paths
from ecgutils.models.checkpoints import check_profile
from ecgutils.config import ProfileConfig, get_config
from ecgutils.export import write_csv
from ecgutils.models.runtime import seed_everything


@dataclass(frozen=True)
class Session:
    """One notebook run: its profile, seed, settings and output folders.

    Attributes
    ----------
    profile : str
    seed : int
    config : ProfileConfig
        The profile's settings (:func:`ecgutils.config.get_config`).
    versions : dict
        Python and package versions.
    """

    profile: str
    seed: int
    config: ProfileConfig
    versions: dict

    @property
    def shows_reference(self) -> bool:
        """True in the quick and smoke profiles: the shipped reference models' figures are shown beside this run's."""
        return self.profile != "full"

    def reference_table(self, name: str) -> pd.DataFrame:
        """A table of the shipped reference models on the full profile's test cases (``docs/results/<name>.csv``,
        the figures of ``make bench``: see ``docs/results/README.md``), with ``(reference)`` added to every model
        name in its ``method`` or ``detector`` column."""
        path = RESULTS_DIR / f"{name}.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: it ships with the project (git checkout docs/results); "
                                    "docs/results/README.md says which command made it")
        df = pd.read_csv(path)
        for col in ("method", "detector", "input"):
            if col in df:
                df[col] = df[col].astype(str) + " (reference)"
        return df

    @property
    def csv(self) -> Path:
        """``outputs/csv/<profile>``."""
        return paths.outputs_dir("csv", self.profile)

    @property
    def models(self) -> Path:
        """``outputs/models/<profile>``."""
        return paths.outputs_dir("models", self.profile)

    @property
    def plots(self) -> Path:
        """``outputs/plots/<profile>``."""
        return paths.outputs_dir("plots", self.profile)

    def save(self, fig, name: str, dpi: int = 110) -> Path:
        """Save ``fig`` as ``outputs/plots/<profile>/<name>.png`` (it also shows in the notebook)."""
        path = self.plots / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        return path

    def write_table(self, df: pd.DataFrame, name: str, dataset: str, **kwargs) -> Path:
        """Write ``df`` as ``outputs/csv/<profile>/<name>.csv`` (atomically), stamped with the window build it
        comes from (a ``dataset`` column), so that a later notebook can check it matches."""
        return write_csv(df.assign(dataset=dataset), self.csv / f"{name}.csv", **{"index": False, **kwargs})

    def read_table(self, name: str, dataset: str, notebook: str, **kwargs) -> pd.DataFrame:
        """Read a table a previous notebook wrote with :meth:`write_table`; a clear error names the notebook to
        rerun when it is missing or comes from another window build (or profile)."""
        path = self.require(self.csv / f"{name}.csv", notebook, name)
        df = pd.read_csv(path, **kwargs)
        found = str(df["dataset"].iloc[0]) if "dataset" in df and len(df) else None
        check_profile(path.name, self.profile, found, self.profile, dataset, notebook)
        return df.drop(columns="dataset")

    def require(self, path, notebook: str, what: str = "") -> Path:
        """Raise ``FileNotFoundError`` naming the notebook to run first (same profile) when ``path`` is missing."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{what or path.name} not found ({path}): run notebooks/{notebook} first, "
                                    f"with profile={self.profile!r}.")
        return path


#: The shipped reference tables (``make bench`` on the shipped weights, see ``docs/results/README.md``).
RESULTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "results"

#: PyTorch CPU threads in a notebook. One: the networks are small, and on a machine busy with other work two threads
#: ran the LSTM denoiser 30 times slower than one (13.9 s against 0.47 s for 36 windows, 2 cores).
NOTEBOOK_THREADS = 1


def _inline_figures() -> None:
    """Inside a Jupyter kernel, draw figures inline even when ``MPLBACKEND`` names a non-interactive backend."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")


def setup(seed: int = 0, profile: str = "quick", quiet: bool = False) -> Session:
    """Seed everything, set the plotting style, print what this run uses.

    Parameters
    ----------
    seed : int
    profile : {"quick", "full", "smoke"}
    quiet : bool
        Print nothing.

    Returns
    -------
    Session
    """
    config = get_config(profile, seed)
    seed_everything(seed)
    torch.set_num_threads(NOTEBOOK_THREADS)
    _inline_figures()
    plt.rcParams.update({"figure.dpi": 90, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.grid": False, "font.size": 10})
    versions = {"python": platform.python_version(), "ecgutils": __version__, "numpy": np.__version__,
                "torch": torch.__version__, "wfdb": wfdb.__version__, "matplotlib": matplotlib.__version__}
    run = Session(profile, seed, config, versions)
    if not quiet:
        print("  ".join(f"{k}={v}" for k, v in versions.items()))
        print(f"profile={profile}  seed={seed}  data={paths.raw_dir()}  outputs={paths.outputs_dir()}/*/{profile}")
        if profile != "full":
            print(f"{profile} profile: a few records and epochs per model, and less of each test case scored. Its "
                  "numbers show that the code runs, not what the models can do; the shipped reference models' "
                  "figures (full profile, labelled 'reference') are shown beside them.")
    return run
