"""Fetch, verify and read MIT-BIH Arrhythmia (``mitdb``) and Noise Stress Test (``nstdb``) records.

Records are looked for, in this order:

1. the local data folder (default ``data/raw/<db>/``), where earlier runs keep them;
2. a local copy of PhysioNet named by ``mirror=`` or ``$ECG_DATA_MIRROR`` (a folder holding ``mitdb/`` and
   ``nstdb/``); the files needed are copied into the data folder;
3. PhysioNet itself, downloaded with :func:`wfdb.dl_files`.

Every file of a registered record is checked against the SHA-256 sum that PhysioNet publishes for it (the
lists ship with the package in ``ecgutils/registry/``); a file that does not match is refused and named.

Reading returns the MLII lead in mV at 360 Hz and the reference beats, as plain numpy arrays.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import wfdb
from scipy import signal as sps

from . import paths

#: Sampling rate every model and metric in this project works at, Hz.
FS = 360
#: Annotation symbols that are beats, as WFDB's bxb counts them (ANSI/AAMI EC57).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?!")
#: The databases this module knows, with their PhysioNet names.
DATABASES = ("mitdb", "nstdb")
#: Noise recordings of the NSTDB.
NOISE_RECORDS = ("bw", "em", "ma")


class DataError(RuntimeError):
    """A record could not be made available or read; the message says what to do."""


class ChecksumError(DataError):
    """A file does not match its published SHA-256 sum."""


@dataclass(frozen=True)
class Record:
    """One ECG lead with its reference beats.

    Attributes
    ----------
    name : str
        Record name, e.g. ``"100"`` or ``"118e06"``.
    signal : ndarray, shape (n_samples,), float32
        The lead, in mV, at ``fs``.
    fs : float
        Sampling rate in Hz (360 after any resampling).
    beats : ndarray, shape (n_beats,), int64
        Sample indices of the reference beats (R-peak fiducial points), sorted.
    symbols : ndarray, shape (n_beats,), str
        Their annotation symbols (``N``, ``V``, ...).
    lead : str
        Name of the lead that was read (``"MLII"`` unless asked otherwise).
    original_fs : float
        Sampling rate of the file before resampling, Hz.
    """

    name: str
    signal: np.ndarray
    fs: float
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    symbols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="<U1"))
    lead: str = "MLII"
    original_fs: float = FS

    @property
    def duration_s(self) -> float:
        """Length of the record in seconds."""
        return len(self.signal) / self.fs


# --------------------------------------------------------------------------------------------- registry
@lru_cache(maxsize=None)
def registry(db: str) -> dict[str, str]:
    """Published SHA-256 sums of a database's record files.

    Parameters
    ----------
    db : {"mitdb", "nstdb"}

    Returns
    -------
    dict
        File name (``"100.dat"``) to lower-case hex SHA-256.
    """
    _check_db(db)
    text = resources.files("ecgutils").joinpath("registry", f"{db}.sha256").read_text()
    sums = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name] = digest
    return sums


def list_records(db: str) -> list[str]:
    """Names of the records of ``db`` that the registry knows, sorted."""
    return sorted({name.rsplit(".", 1)[0] for name in registry(db)})


def _check_db(db: str) -> None:
    if db not in DATABASES:
        raise ValueError(f"unknown database {db!r}; valid options: {', '.join(DATABASES)}")


def _check_record(db: str, record: str) -> None:
    known = list_records(db)
    if record not in known:
        raise ValueError(
            f"unknown record {record!r} in {db}; valid records: {' '.join(known)}. "
            "To read your own WFDB record, pass the path to it (without extension), e.g. read_record('my/folder/rec1')."
        )


def record_files(db: str, record: str) -> list[str]:
    """File names that make up a registered record (``.hea``, ``.dat`` and, where published, ``.atr``)."""
    _check_record(db, record)
    return [f"{record}.{ext}" for ext in ("hea", "dat", "atr") if f"{record}.{ext}" in registry(db)]


# --------------------------------------------------------------------------------------------- verify
def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, as lower-case hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


_VERIFIED: dict[tuple[str, int, int], bool] = {}


def verify_file(path: str | Path, expected: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` hashes to ``expected``.

    A file already verified in this process (same size and modification time) is not hashed again.
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key):
        return
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"{path} does not match its published SHA-256 sum (expected {expected[:12]}..., got {actual[:12]}...). "
            "The file is truncated, corrupt or from another release: delete it and run again to fetch a fresh copy."
        )
    _VERIFIED[key] = True


# --------------------------------------------------------------------------------------------- fetch
def mirror_dir(mirror: str | Path | None = None) -> Path | None:
    """The local PhysioNet copy to use: ``mirror`` if given, else ``$ECG_DATA_MIRROR``, else ``None``."""
    value = mirror if mirror is not None else os.environ.get(paths.MIRROR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataError(
            f"the PhysioNet mirror {path} (from {'mirror=' if mirror is not None else '$' + paths.MIRROR_ENV}) "
            "is not a folder; point it at a folder holding mitdb/ and nstdb/, or unset it to download."
        )
    return path


def fetch_record(
    record: str,
    db: str = "mitdb",
    data_dir: str | Path | None = None,
    mirror: str | Path | None = None,
    download: bool = True,
) -> Path:
    """Make one registered record available locally and verified.

    Parameters
    ----------
    record : str
        Record name, e.g. ``"100"``, ``"em"``, ``"118e06"``.
    db : {"mitdb", "nstdb"}
        Database the record belongs to.
    data_dir : path, optional
        Folder that holds one sub-folder per database; default ``data/raw``.
    mirror : path, optional
        Local PhysioNet copy (holding ``mitdb/``, ``nstdb/``); default ``$ECG_DATA_MIRROR``.
    download : bool
        Whether to fall back on downloading from PhysioNet.

    Returns
    -------
    Path
        The record's path without extension, ready for :func:`wfdb.rdrecord`.
    """
    _check_db(db)
    sums = registry(db)
    local = Path(data_dir) if data_dir is not None else paths.raw_dir()
    local = local / db
    local.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in record_files(db, record):
        target = local / name
        if target.exists():
            verify_file(target, sums[name])
        else:
            missing.append(name)
    if missing:
        _fetch_missing(db, missing, local, mirror, download)
    return local / record


def fetch_records(records, db: str = "mitdb", **kwargs) -> list[Path]:
    """:func:`fetch_record` for several records; returns their paths in the same order."""
    return [fetch_record(r, db=db, **kwargs) for r in records]


def _fetch_missing(db: str, names: list[str], local: Path, mirror, download: bool) -> None:
    sums = registry(db)
    src = mirror_dir(mirror)
    with tempfile.TemporaryDirectory(dir=local, prefix=".fetch-") as tmp:
        tmp = Path(tmp)
        if src is not None:
            for name in names:
                origin = src / db / name
                if not origin.exists():
                    raise DataError(
                        f"{origin} is missing from the PhysioNet mirror {src}; complete the mirror, "
                        f"or unset ${paths.MIRROR_ENV} to download from PhysioNet."
                    )
                shutil.copyfile(origin, tmp / name)
        elif download:
            try:
                wfdb.dl_files(db, str(tmp), names, keep_subdirs=False, overwrite=True)
            except Exception as exc:  # network errors come in many types
                raise DataError(
                    f"could not download {', '.join(names)} from PhysioNet ({type(exc).__name__}: {exc}). "
                    f"With no network, copy the database into {local} or set ${paths.MIRROR_ENV} to a folder "
                    "holding mitdb/ and nstdb/ (see README, 'Getting the data')."
                ) from exc
        else:
            raise DataError(
                f"{', '.join(names)} not found in {local}, no mirror is set (${paths.MIRROR_ENV}) and downloading is "
                "switched off; copy the files there, set the mirror, or pass download=True."
            )
        for name in names:
            verify_file(tmp / name, sums[name])
        for name in names:
            os.replace(tmp / name, local / name)  # atomic: a half-copied file never has the final name


# --------------------------------------------------------------------------------------------- read
def read_record(
    record: str,
    db: str = "mitdb",
    lead: str = "MLII",
    nan_policy: str = "raise",
    **fetch_kwargs,
) -> Record:
    """Read one lead of a record, in mV at 360 Hz, with its reference beats.

    Parameters
    ----------
    record : str
        A registered record name (``"100"``, ``"118e06"``) or the path of any WFDB record without extension.
    db : {"mitdb", "nstdb"}
        Database of a registered record name.
    lead : str
        Signal name to read; MLII by default (record 114 has it on channel 1: leads are chosen by name).
    nan_policy : {"raise", "interpolate"}
        What to do with missing (NaN) samples.
    **fetch_kwargs
        ``data_dir``, ``mirror``, ``download``: passed to :func:`fetch_record`.

    Returns
    -------
    Record
        Signal in mV resampled to 360 Hz if needed (with a warning), beats as sample indices at 360 Hz.
    """
    if nan_policy not in ("raise", "interpolate"):
        raise ValueError(f"unknown nan_policy {nan_policy!r}; valid options: raise, interpolate")
    path = _resolve(record, db, fetch_kwargs)
    header = _read_header(path)
    if lead not in header.sig_name:
        raise DataError(
            f"record {path.name} has no {lead} signal (it has {', '.join(header.sig_name)}); "
            f"pass lead=<one of those> to read another lead."
        )
    channel = header.sig_name.index(lead)
    try:
        rec = wfdb.rdrecord(str(path), channels=[channel])
    except Exception as exc:
        raise DataError(
            f"could not read the samples of {path}.dat ({type(exc).__name__}: {exc}); the file is truncated or "
            "corrupt: delete it and fetch it again."
        ) from exc
    sig = rec.p_signal[:, 0]
    if rec.sig_len != header.sig_len or len(sig) != header.sig_len:
        raise DataError(
            f"{path}.dat holds {len(sig)} samples but its header announces {header.sig_len}; "
            "the file is truncated: delete it and fetch it again."
        )
    units = (rec.units or ["mV"])[0]
    if units.lower() in ("uv", "µv"):
        sig = sig / 1000.0
    elif units.lower() not in ("mv", "nu", ""):
        warnings.warn(f"{path.name}: signal units are {units!r}, treated as mV", stacklevel=2)
    sig = _handle_nan(sig, path.name, nan_policy)
    beats, symbols = _read_beats(path)
    fs0 = float(rec.fs)
    if fs0 != FS:
        warnings.warn(f"{path.name}: resampled from {fs0:g} Hz to {FS} Hz", stacklevel=2)
        sig = resample(sig, fs0, FS)
        beats = np.round(beats * FS / fs0).astype(np.int64)
        keep = beats < len(sig)
        beats, symbols = beats[keep], symbols[keep]
    return Record(
        name=path.name,
        signal=sig.astype(np.float32),
        fs=float(FS),
        beats=beats,
        symbols=symbols,
        lead=lead,
        original_fs=fs0,
    )


def read_noise(kind: str, channel: int = 0, **fetch_kwargs) -> np.ndarray:
    """Read one NSTDB noise recording.

    Parameters
    ----------
    kind : {"bw", "em", "ma"}
        Baseline wander, electrode motion, muscle artifact.
    channel : {0, 1}
        Which of the two noise channels.

    Returns
    -------
    ndarray, shape (650000,), float32
        Noise in mV at 360 Hz (the headers say "uncalibrated"; WFDB's default gain of 200 units/mV applies).
    """
    if kind not in NOISE_RECORDS:
        raise ValueError(f"unknown noise kind {kind!r}; valid options: {', '.join(NOISE_RECORDS)}")
    path = fetch_record(kind, db="nstdb", **fetch_kwargs)
    rec = wfdb.rdrecord(str(path), channels=[channel])
    return _handle_nan(rec.p_signal[:, 0], kind, "raise").astype(np.float32)


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling of a 1-D signal from ``fs_in`` to ``fs_out`` Hz (:func:`scipy.signal.resample_poly`)."""
    if fs_in == fs_out:
        return np.asarray(x)
    from fractions import Fraction

    frac = Fraction(float(fs_out) / float(fs_in)).limit_denominator(1000)
    return sps.resample_poly(np.asarray(x, dtype=np.float64), frac.numerator, frac.denominator)


def _resolve(record: str, db: str, fetch_kwargs: dict) -> Path:
    record = str(record)
    candidate = Path(record)
    if candidate.with_suffix(".hea").exists() or Path(record + ".hea").exists():
        return candidate
    _check_db(db)
    if os.sep in record or "/" in record:
        raise DataError(f"no WFDB header {record}.hea: check the path of your record.")
    _check_record(db, record)
    return fetch_record(record, db=db, **fetch_kwargs)


def _read_header(path: Path):
    try:
        return wfdb.rdheader(str(path))
    except Exception as exc:
        raise DataError(f"could not read the header {path}.hea ({type(exc).__name__}: {exc}).") from exc


def _read_beats(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not Path(str(path) + ".atr").exists():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype="<U1")
    ann = wfdb.rdann(str(path), "atr")
    symbols = np.asarray(ann.symbol)
    keep = np.isin(symbols, list(BEAT_SYMBOLS))
    return np.asarray(ann.sample[keep], dtype=np.int64), symbols[keep]


def _handle_nan(sig: np.ndarray, name: str, policy: str) -> np.ndarray:
    bad = np.isnan(sig)
    if not bad.any():
        return sig
    if policy == "raise" or bad.all():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name} has {int(bad.sum())} missing (NaN) samples, the first at sample {first}; "
            "pass nan_policy='interpolate' to fill them linearly, or cut the record around them."
        )
    idx = np.arange(len(sig))
    out = sig.copy()
    out[bad] = np.interp(idx[bad], idx[~bad], sig[~bad])
    warnings.warn(f"{name}: {int(bad.sum())} NaN samples filled by linear interpolation", stacklevel=3)
    return out
