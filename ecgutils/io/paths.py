"""Where things live: raw records, processed windows and outputs.

Every default can be overridden by an argument; the project root is the folder that holds ``pyproject.toml``
next to the ``ecgutils`` package (or the current directory when the package is installed elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming a local copy of PhysioNet (a folder holding ``mitdb/`` and ``nstdb/``).
MIRROR_ENV = "ECG_DATA_MIRROR"
#: Environment variable that moves the whole ``data/`` and ``outputs/`` tree (e.g. for tests).
ROOT_ENV = "ECG_PROJECT_ROOT"


def project_root() -> Path:
    """Return the project root folder.

    ``$ECG_PROJECT_ROOT`` wins; otherwise the parent of the package when it holds ``pyproject.toml``
    (an editable install or a checkout), else the current working directory.
    """
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


def notebooks_dir() -> Path:
    """The numbered notebooks: beside the package in a checkout (even when ``$ECG_PROJECT_ROOT`` moves data and
    outputs elsewhere), else ``notebooks/`` under the project root."""
    beside = Path(__file__).resolve().parents[2] / "notebooks"
    return beside if beside.is_dir() else project_root() / "notebooks"


def raw_dir() -> Path:
    """Folder of the raw PhysioNet databases (``data/raw/mitdb``, ``data/raw/nstdb``)."""
    return project_root() / "data" / "raw"


def processed_dir() -> Path:
    """Folder of the processed window store (``data/processed``)."""
    return project_root() / "data" / "processed"


#: What ``outputs/`` holds, one sub-folder per profile in each (``outputs/csv/quick/...``).
OUTPUT_KINDS = ("csv", "plots", "models", "notebooks", "handin")


def outputs_dir(kind: str | None = None, profile: str | None = None) -> Path:
    """``outputs/``, one of its sub-folders, or the sub-folder of one profile; created on demand.

    Parameters
    ----------
    kind : {"csv", "plots", "models", "notebooks", "handin"}, optional
    profile : {"quick", "full"}, optional
        Outputs of the two profiles never overwrite each other: ``outputs/models/full/lstm_denoiser.pt``.
    """
    if kind is not None and kind not in OUTPUT_KINDS:
        raise ValueError(f"unknown outputs folder {kind!r}; valid options: {', '.join(OUTPUT_KINDS)}")
    path = project_root() / "outputs"
    for part in (kind, profile):
        if part:
            path = path / part
    path.mkdir(parents=True, exist_ok=True)
    return path
