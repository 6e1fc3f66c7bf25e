"""The processed window store under ``data/processed/``: build once, reuse, never overwrite silently.

A build is a folder ``data/processed/<profile>-<key>/`` where ``key`` is a hash of every parameter (profile,
record lists, window settings, noise settings, seed, format version). It holds, per set (``train``, ``val``,
``test``), one ``.npy`` file per array, plus ``manifest.json`` with the parameters and the SHA-256 of every file.
Changed parameters give a new folder, so earlier builds are kept; the same parameters reuse the folder; the same
seed gives the same bytes. ``data/processed/<profile>.json`` points at the newest build of a profile, so the
later notebooks find it by profile alone.

Arrays per set:

=============  ====================  =====================================================================
file           shape                 content
=============  ====================  =====================================================================
clean          (n, length) float32   clean windows, mV
gaussian       (n, length) float32   clean + Gaussian noise, sigma on the [0, 1] window scale, mV
real           (n, length) float32   clean + real NSTDB noise of a random kind and SNR, mV
real_kind      (n,) str              ``bw``, ``em``, ``ma`` or ``mixed``
real_snr       (n,) float32          input SNR of ``real``, dB
gaussian_snr   (n,) float32          input SNR of ``gaussian``, dB
lo, span       (n, 1) float32        min and range of each clean window, mV (the [0, 1] scale)
record, start  (n,) str, int64       provenance
beat_ptr/pos   (n + 1,), (m,) int64  reference beats per window (see :class:`~ecgutils.data.windows.WindowSet`)
=============  ====================  =====================================================================
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgutils import __version__
from ecgutils.io import paths
from ecgutils.constants import FS
from ecgutils.io.records import read_record
from ecgutils.io.fetch import sha256_file
from ecgutils.io.files import atomic_path
from ecgutils.data.noise import NoiseBank, make_noise, noise_snr_db, random_noise
from ecgutils.data.splits import check_disjoint, profile_split
from ecgutils.data.windows import WindowSet, cut_segments, cut_windows, unit_scale

FORMAT = 1


@dataclass(frozen=True)
class WindowConfig:
    """How notebook 01 cuts windows and makes their stored noisy versions.

    Attributes
    ----------
    window_s : float
        Window length and stride, s.
    sigma : float
        Gaussian sigma on each clean window's [0, 1] scale (the classic assignment: 0.05).
    real_kinds : tuple of str
        Real noise kinds of the stored ``real`` set.
    real_snr_range : (float, float)
        Its input SNR range, dB.
    """

    window_s: float = 10.0
    sigma: float = 0.05
    real_kinds: tuple = ("bw", "em", "ma", "mixed")
    real_snr_range: tuple = (-6.0, 24.0)

_ARRAYS = ("clean", "gaussian", "real", "real_kind", "real_snr", "gaussian_snr", "lo", "span",
           "record", "start", "beat_ptr", "beat_pos")


@dataclass
class SplitData:
    """One set of the store: the clean windows and their noisy versions.

    Attributes
    ----------
    windows : WindowSet
        Clean windows (mV) with records, starts and reference beats.
    gaussian, real : ndarray, shape (n, length), float32
        Noisy versions, mV.
    real_kind, real_snr, gaussian_snr : ndarray, shape (n,)
        Noise kind and input SNR (dB) per window.
    lo, span : ndarray, shape (n, 1)
        The [0, 1] scale of each clean window, mV.
    """

    windows: WindowSet
    gaussian: np.ndarray
    real: np.ndarray
    real_kind: np.ndarray
    real_snr: np.ndarray
    gaussian_snr: np.ndarray
    lo: np.ndarray
    span: np.ndarray

    def __len__(self) -> int:
        return len(self.windows)


@dataclass
class WindowStore:
    """A loaded build of the window store: its folder, manifest and sets (``train``, ``val``, ``test``)."""

    path: Path
    manifest: dict
    train: SplitData
    val: SplitData
    test: SplitData

    def __getitem__(self, name: str) -> SplitData:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


def dataset_params(profile: str = "quick", seed: int = 0, windows: WindowConfig | None = None) -> dict:
    """Every parameter a build depends on, as a JSON-able dict (its hash names the build).

    Parameters
    ----------
    profile : {"quick", "full"}
    seed : int
    windows : WindowConfig, optional
        Window length, Gaussian sigma, real-noise kinds and SNR range; default the profile's.
    """
    split, w = profile_split(profile), windows or WindowConfig()
    check_disjoint(split)
    return {
        "format": FORMAT,
        "profile": profile,
        "seed": int(seed),
        "fs": FS,
        "window": int(round(w.window_s * FS)),
        "stride": int(round(w.window_s * FS)),
        "sigma": float(w.sigma),
        "real_kinds": list(w.real_kinds),
        "real_snr_range": [float(v) for v in w.real_snr_range],
        "noise_part": {"train": "train", "val": "train", "test": "test"},
        "records": {k: list(v) for k, v in split.sets().items()},
        "max_windows": split.max_windows,
    }


def params_key(params: dict) -> str:
    """Short hash of the parameters."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]


def build_dataset(profile: str = "quick", seed: int = 0, windows: WindowConfig | None = None,
                  out_dir: str | Path | None = None, force: bool = False, progress: bool = True,
                  **fetch_kwargs) -> Path:
    """Build (or reuse) the processed windows of a profile.

    Parameters
    ----------
    profile : {"quick", "full"}
    seed : int
        Seeds every random draw (noise excerpts, Gaussian noise, SNRs).
    windows : WindowConfig, optional
        Window length and stride, Gaussian sigma, real-noise kinds and SNR range; default the profile's
        (:func:`ecgutils.config.get_config`).
    out_dir : path, optional
        Parent folder; default ``data/processed``.
    force : bool
        Rebuild even if a valid build exists (it is replaced only once the new one is complete).
    progress : bool
        Show a progress bar.
    **fetch_kwargs
        ``data_dir``, ``mirror``, ``download`` (see :func:`ecgutils.io.fetch.fetch_record`).

    Returns
    -------
    Path
        The build's folder.
    """
    params = dataset_params(profile, seed, windows)
    root = Path(out_dir) if out_dir is not None else paths.processed_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{profile}-{params_key(params)}"
    if not force and _valid(final, params):
        _point(root, profile, final)
        return final
    rng = np.random.default_rng(seed)
    bank = NoiseBank.load(**fetch_kwargs)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}-"))
    try:
        files = {}
        for name, records in params["records"].items():
            part = params["noise_part"][name]
            sets = []
            for rec_name in records:
                rec = read_record(rec_name, **fetch_kwargs)
                sets.append(cut_windows(rec, params["window"], params["stride"], params["max_windows"][name]))
            ws = WindowSet.concat(sets)
            if progress:  # a printed line stays in an executed notebook (a progress widget is saved at 0 %)
                print(f"{name}: {len(records)} records, {len(ws.x)} windows", flush=True)
            arrays = _noisy_versions(ws, rng, bank, part, params)
            (tmp / name).mkdir()
            for key in _ARRAYS:
                np.save(tmp / name / f"{key}.npy", arrays[key], allow_pickle=False)
                files[f"{name}/{key}.npy"] = sha256_file(tmp / name / f"{key}.npy")
        manifest = {"params": params, "ecgutils": __version__, "files": files,
                    "counts": {n: int(len(np.load(tmp / n / "start.npy"))) for n in params["records"]}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _point(root, profile, final)
    return final


def _noisy_versions(ws: WindowSet, rng, bank, part, params) -> dict:
    lo, span = unit_scale(ws.x)
    g_noise = make_noise(ws.x, "gaussian", rng, sigma=params["sigma"])
    r_noise, r_kind, r_snr = random_noise(ws.x, rng, bank, part, params["real_kinds"], params["real_snr_range"])
    return {
        "clean": ws.x, "gaussian": ws.x + g_noise, "real": ws.x + r_noise,
        "real_kind": r_kind.astype("<U8"), "real_snr": r_snr.astype(np.float32),
        "gaussian_snr": noise_snr_db(ws.x, g_noise).astype(np.float32),
        "lo": lo, "span": span, "record": ws.record.astype("<U8"), "start": ws.start,
        "beat_ptr": ws.beat_ptr, "beat_pos": ws.beat_pos,
    }


def _valid(folder: Path, params: dict) -> bool:
    mf = folder / "manifest.json"
    if not mf.exists():
        return False
    manifest = json.loads(mf.read_text())
    if manifest.get("params") != params:
        return False
    return all((folder / f).exists() and (folder / f).stat().st_size > 0 for f in manifest["files"])


def _point(root: Path, profile: str, folder: Path) -> None:
    with atomic_path(root / f"{profile}.json") as tmp:
        tmp.write_text(json.dumps({"build": folder.name}))


def find_dataset(profile: str = "quick", root: str | Path | None = None) -> Path:
    """Folder of the newest build of ``profile``; a clear error if notebook 01 has not been run."""
    root = Path(root) if root is not None else paths.processed_dir()
    ptr = root / f"{profile}.json"
    if not ptr.exists():
        raise FileNotFoundError(
            f"no processed windows for the {profile!r} profile in {root}: run notebooks/01_preprocessing.ipynb "
            f"first (with profile={profile!r}), or ecgutils.data.store.build_dataset(profile={profile!r})."
        )
    folder = root / json.loads(ptr.read_text())["build"]
    if not (folder / "manifest.json").exists():
        raise FileNotFoundError(f"{ptr} points at {folder}, which is incomplete: rerun notebook 01.")
    return folder


def load_dataset(profile: str = "quick", root: str | Path | None = None, path: str | Path | None = None,
                 verify: bool = False) -> WindowStore:
    """Load a build, by profile (the newest) or by its folder.

    Parameters
    ----------
    profile : {"quick", "full"}
    root : path, optional
        Parent folder of the builds; default ``data/processed``.
    path : path, optional
        A build folder (overrides ``profile``).
    verify : bool
        Check every file's SHA-256 against the manifest.
    """
    folder = Path(path) if path is not None else find_dataset(profile, root)
    manifest = json.loads((folder / "manifest.json").read_text())
    if verify:
        for f, digest in manifest["files"].items():
            if sha256_file(folder / f) != digest:
                raise ValueError(f"{folder / f} differs from its manifest: rerun notebook 01 with force=True")
    sets = {}
    for name in ("train", "val", "test"):
        a = {k: np.load(folder / name / f"{k}.npy", allow_pickle=False) for k in _ARRAYS}
        ws = WindowSet(a["clean"], a["record"], a["start"], a["beat_ptr"], a["beat_pos"], fs=manifest["params"]["fs"])
        sets[name] = SplitData(ws, a["gaussian"], a["real"], a["real_kind"], a["real_snr"], a["gaussian_snr"],
                               a["lo"], a["span"])
    return WindowStore(folder, manifest, **sets)


def split_table(ds: WindowStore):
    """Per set: records, windows, beats, hours of ECG and the share of positive classifier segments.

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for name in ("train", "val", "test"):
        ws = ds[name].windows
        _, lab, _, _ = cut_segments(ws.x[:, :ws.length], ws.beat_lists())
        rows.append({"set": name, "records": " ".join(dict.fromkeys(ws.record)), "n_records": len(set(ws.record)),
                     "windows": len(ws), "hours": len(ws) * ws.length / ws.fs / 3600, "beats": len(ws.beat_pos),
                     "segments": len(lab), "R-peak segments %": 100 * lab.mean() if len(lab) else float("nan")})
    return pd.DataFrame(rows).set_index("set")
