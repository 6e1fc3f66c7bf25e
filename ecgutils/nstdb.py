"""The 12 NSTDB test records: real noisy ECG with a known clean original (MIT-BIH 118 and 119).

Layout, checked against the data: noise is present from 5:00 (sample 108,000) for 2 minutes, then 2 minutes
clean, alternating; the last noisy segment starts at 29:00 and runs to the end. Inside a noisy segment the test
record minus the clean record is a multiple of ``em`` plus a constant; the constant changes between segments
(baseline steps), so every metric removes each window's mean from both signals.

NSTDB names its levels by an SNR based on QRS amplitude; measured as sample power per 10 s window the noisy
segments are about 12.7 dB lower (``118e06`` is about -6.7 dB). Reference beats are the current ``mitdb`` ones
(the ``119eXX.atr`` copies are an earlier revision with 35 ventricular beats placed 11 to 86 ms differently).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import FS, read_record
from .splits import NSTDB_LEVELS, NSTDB_RECORDS
from .windows import WINDOW, WindowSet, cut_windows

#: First noisy sample, length of a noisy (and of a clean) segment, in samples.
NOISE_ONSET = 5 * 60 * FS
SEGMENT = 2 * 60 * FS
#: Sample-power SNR offset of NSTDB's level names, dB (measured: name - 12.7 dB).
LEVEL_OFFSET_DB = -12.7


def record_name(clean: str, level: int) -> str:
    """``("118", 6) -> "118e06"``, ``("119", -6) -> "119e_6"``."""
    return f"{clean}e{level:02d}" if level >= 0 else f"{clean}e_{-level}"


def noisy_mask(n_samples: int = 650_000) -> np.ndarray:
    """Boolean mask, True inside the noisy segments of an NSTDB test record."""
    t = np.arange(n_samples)
    after = t - NOISE_ONSET
    return (after >= 0) & ((after // SEGMENT) % 2 == 0)


def segment_starts(n_samples: int = 650_000, noisy: bool = True, length: int = WINDOW) -> np.ndarray:
    """Starts of the windows of ``length`` samples lying wholly inside noisy (or clean) segments."""
    mask = noisy_mask(n_samples) if noisy else ~noisy_mask(n_samples)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    starts = []
    for a, b in zip(edges[::2], edges[1::2]):
        starts.extend(range(a, b - length + 1, length))
    return np.asarray(starts, dtype=np.int64)


@dataclass
class NSTDBCase:
    """One NSTDB test record cut into windows, next to its clean original.

    Attributes
    ----------
    name : str
        e.g. ``"118e06"``.
    level : int
        NSTDB's level name, dB (QRS-amplitude based).
    clean : WindowSet
        Windows of the clean MIT-BIH record, with the reference beats.
    noisy : ndarray, shape (n_windows, length), float32
        The same windows of the noisy record, mV.
    """

    name: str
    level: int
    clean: WindowSet
    noisy: np.ndarray


def load_case(name: str, noisy_segments: bool = True, length: int = WINDOW, **fetch_kwargs) -> NSTDBCase:
    """Windows of one NSTDB test record inside its noisy (or, with ``noisy_segments=False``, clean) segments."""
    if name not in NSTDB_RECORDS:
        raise ValueError(f"unknown NSTDB test record {name!r}; valid options: {' '.join(NSTDB_RECORDS)}")
    clean = read_record(name[:3], db="mitdb", **fetch_kwargs)
    noisy = read_record(name, db="nstdb", **fetch_kwargs)
    starts = segment_starts(len(noisy.signal), noisy_segments, length)
    cw = cut_windows(clean, length, starts=starts)
    nx = np.stack([noisy.signal[s:s + length] for s in starts]).astype(np.float32)
    level_txt = name[4:].replace("_", "-")
    return NSTDBCase(name, int(level_txt), cw, nx)


def load_cases(levels=NSTDB_LEVELS, noisy_segments: bool = True, **fetch_kwargs) -> list[NSTDBCase]:
    """:func:`load_case` for records 118 and 119 at every level in ``levels``."""
    return [load_case(record_name(c, lvl), noisy_segments, **fetch_kwargs) for c in ("118", "119") for lvl in levels]
