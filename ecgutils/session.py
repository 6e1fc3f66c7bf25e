"""The first code cell of every notebook: versions, seed, where data and figures go."""

from __future__ import annotations

import platform
import random

import numpy as np

from . import __version__, paths


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so reruns give the same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
    except ImportError:  # torch is only needed from notebook 02 on
        pass


def setup(seed: int = 0, profile: str = "quick") -> dict:
    """Seed everything, set the plotting style and print what this run uses.

    Returns
    -------
    dict
        Versions, the profile, the seed and the folders, as printed.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    import wfdb

    seed_everything(seed)
    plt.rcParams.update({"figure.dpi": 90, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.grid": False, "font.size": 10})
    info = {"python": platform.python_version(), "ecgutils": __version__, "numpy": np.__version__,
            "wfdb": wfdb.__version__, "matplotlib": matplotlib.__version__}
    try:
        import torch

        from .train import pick_device

        info["torch"] = torch.__version__
        info["device"] = str(pick_device(verbose=False))
    except ImportError:
        pass
    info.update({"profile": profile, "seed": seed, "data": str(paths.raw_dir().parent),
                 "outputs": str(paths.outputs_dir())})
    print("  ".join(f"{k}={v}" for k, v in info.items()))
    return info


def require(path, notebook: str, what: str = "") -> None:
    """Raise ``FileNotFoundError`` naming the notebook to run first when ``path`` does not exist."""
    from pathlib import Path

    if not Path(path).exists():
        raise FileNotFoundError(f"{what or path} not found ({path}): run notebooks/{notebook} first, "
                                "with the same profile.")
