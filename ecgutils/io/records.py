"""Read MIT-BIH Arrhythmia and Noise Stress Test records (or any WFDB record): one lead in mV at 360 Hz and its
reference beats, as plain numpy arrays. Records are made available and verified by :mod:`ecgutils.io.fetch`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import wfdb

from ecgutils.constants import FS
from ecgutils.dsp.resampling import resample
from ecgutils.io.fetch import DataError, check_db, check_record, fetch_record

#: Annotation symbols that are beats, as WFDB's bxb counts them (ANSI/AAMI EC57).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?!")
#: Noise recordings of the NSTDB.
NOISE_RECORDS = ("bw", "em", "ma")


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
        Sampling rate in Hz (360 after any resampling, unless read with ``keep_rate=True``).
    beats : ndarray, shape (n_beats,), int64
        Sample indices of the reference beats (R-peak fiducial points), sorted.
    symbols : ndarray, shape (n_beats,), str
        Their annotation symbols (``N``, ``V``, ...).
    lead : str
        Name of the lead that was read (``"MLII"`` unless asked otherwise).
    original_fs : float
        Sampling rate of the file before resampling, Hz (``fs`` if not given).
    """

    name: str
    signal: np.ndarray
    fs: float = field(kw_only=True)
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    symbols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="<U1"))
    lead: str = "MLII"
    original_fs: float | None = None

    def __post_init__(self):
        if self.original_fs is None:
            object.__setattr__(self, "original_fs", self.fs)

    @property
    def duration_s(self) -> float:
        """Length of the record in seconds."""
        return len(self.signal) / self.fs


# --------------------------------------------------------------------------------------------- read
def read_record(
    record: str,
    db: str = "mitdb",
    lead: str = "MLII",
    nan_policy: str = "raise",
    keep_rate: bool = False,
    **fetch_kwargs,
) -> Record:
    """Read one lead of a record, in mV at 360 Hz (or at its own rate), with its reference beats.

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
    keep_rate : bool
        Return the file's own rate (a user's recording, exported at its own rate); default: resample any other rate
        to the models' 360 Hz, with a warning.
    **fetch_kwargs
        ``data_dir``, ``mirror``, ``download``: passed to :func:`fetch_record`.

    Returns
    -------
    Record
        Signal in mV at 360 Hz (or its own rate with ``keep_rate``), beats as sample indices at that rate.
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
    try:
        rec = wfdb.rdrecord(str(path), channel_names=[lead])
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
    fs1 = fs0 if keep_rate else float(FS)
    if fs0 != fs1:
        warnings.warn(f"{path.name}: resampled from {fs0:g} Hz to {fs1:g} Hz", stacklevel=2)
        sig = resample(sig, fs_in=fs0, fs_out=fs1)
        beats = np.round(beats * fs1 / fs0).astype(np.int64)
        keep = beats < len(sig)
        beats, symbols = beats[keep], symbols[keep]
    return Record(
        name=path.name,
        signal=sig.astype(np.float32),
        fs=fs1,
        beats=beats,
        symbols=symbols,
        lead=lead,
        original_fs=fs0,
    )


def read_records(records, **fetch_kwargs) -> tuple[dict, dict]:
    """Whole records, :func:`read_record` each.

    Returns
    -------
    signals : dict
        Record name to its signal (mV, 360 Hz).
    references : dict
        Record name to its reference beats (samples).
    """
    recs = {r: read_record(r, **fetch_kwargs) for r in records}
    return {r: rec.signal for r, rec in recs.items()}, {r: rec.beats for r, rec in recs.items()}


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



def _resolve(record: str, db: str, fetch_kwargs: dict) -> Path:
    record = str(record)
    candidate = Path(record)
    if candidate.with_suffix(".hea").exists() or Path(record + ".hea").exists():
        return candidate
    check_db(db)
    if os.sep in record or "/" in record:
        raise DataError(f"no WFDB header {record}.hea: check the path of your record.")
    check_record(db, record)
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
