"""The 12 NSTDB test records: real noisy ECG with a known clean original (MIT-BIH 118 and 119).

Layout, checked against the data: noise is present from 5:00 (sample 108,000) for 2 minutes, then 2 minutes
clean, alternating; the last noisy segment starts at 29:00 and runs to the end. Inside a noisy segment the test
record minus the clean record is a multiple of ``em`` plus a constant; the constant changes between segments
(baseline steps), so every metric removes each window's mean from both signals.

The noise in a noisy segment is channel 0 of ``em`` **at the same sample indices** (checked: correlation 1.0).
Our models train on the first half of ``em`` (samples 0 to 324,999), so the noisy segments before sample 325,000
(5:00-7:00, 9:00-11:00, 13:00-15:00) hold noise the models have seen. By default only the noisy segments in the
second half are scored (13:00-15:00 is cut at 15:02.8; then 17:00-19:00, 21:00-23:00, 25:00-27:00, 29:00-30:05),
which keeps the NSTDB test free of training noise.

NSTDB names its levels by an SNR based on QRS amplitude; measured as sample power per 10 s window the noisy
segments are about 12.7 dB lower (``118e06`` is about -6.7 dB). Reference beats are the current ``mitdb`` ones
(the ``119eXX.atr`` copies are an earlier revision with 35 ventricular beats placed 11 to 86 ms differently).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgutils.constants import FS, NOISE_TEST_START, RECORD_LENGTH, WINDOW
from ecgutils.data.splits import NSTDB_CLEAN, NSTDB_LEVELS, NSTDB_RECORDS, record_name
from ecgutils.data.windows import WindowSet, cut_windows
from ecgutils.io.records import read_record

#: First noisy sample, length of a noisy (and of a clean) segment, in samples.
NOISE_ONSET = 5 * 60 * FS
SEGMENT_LENGTH = 2 * 60 * FS
#: Sample-power SNR offset of NSTDB's level names, dB (measured: name - 12.7 dB).
LEVEL_OFFSET_DB = -12.7


def noisy_mask(n_samples: int = RECORD_LENGTH, test_half: bool = True) -> np.ndarray:
    """Boolean mask, True inside the noisy segments of an NSTDB test record.

    With ``test_half`` (default), only where the added ``em`` noise comes from the test half of the recording
    (sample 325,000 on): the earlier noisy segments contain noise the models were trained on.
    """
    t = np.arange(n_samples)
    after = t - NOISE_ONSET
    mask = (after >= 0) & ((after // SEGMENT_LENGTH) % 2 == 0)
    return mask & (t >= NOISE_TEST_START) if test_half else mask


def segment_starts(n_samples: int = RECORD_LENGTH, noisy: bool = True, length: int = WINDOW,
                   test_half: bool = True) -> np.ndarray:
    """Starts of the windows of ``length`` samples lying wholly inside noisy (or clean) segments.

    ``test_half`` applies to the noisy segments (see :func:`noisy_mask`); clean segments carry no added noise.
    """
    mask = noisy_mask(n_samples, test_half) if noisy else ~noisy_mask(n_samples, test_half=False)
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


def load_case(name: str, noisy_segments: bool = True, length: int = WINDOW, test_half: bool = True,
              **fetch_kwargs) -> NSTDBCase:
    """Windows of one NSTDB test record inside its noisy (or, with ``noisy_segments=False``, clean) segments.

    ``test_half`` (default) keeps only noisy segments whose noise comes from the test half of ``em``.
    """
    if name not in NSTDB_RECORDS:
        raise ValueError(f"unknown NSTDB test record {name!r}; valid options: {' '.join(NSTDB_RECORDS)}")
    clean = read_record(name[:3], db="mitdb", **fetch_kwargs)
    noisy = read_record(name, db="nstdb", **fetch_kwargs)
    starts = segment_starts(len(noisy.signal), noisy_segments, length, test_half)
    cw = cut_windows(clean, length, starts=starts)
    nx = np.stack([noisy.signal[s:s + length] for s in starts]).astype(np.float32)
    level_txt = name[4:].replace("_", "-")
    return NSTDBCase(name, int(level_txt), cw, nx)


def load_cases(levels=NSTDB_LEVELS, noisy_segments: bool = True, **fetch_kwargs) -> list[NSTDBCase]:
    """:func:`load_case` for records 118 and 119 at every level in ``levels``."""
    return [load_case(record_name(c, lvl), noisy_segments, **fetch_kwargs) for c in NSTDB_CLEAN for lvl in levels]


def nstdb_signals(levels=NSTDB_LEVELS, **fetch_kwargs) -> tuple[dict, dict, dict]:
    """NSTDB test records as whole signals, with the clean records' reference beats and the noisy-segment mask.

    Returns
    -------
    signals, references, masks : dict
        Keyed by NSTDB record name: signal (mV, 360 Hz), reference beats (samples), :func:`noisy_mask` (test half).
    """
    signals, refs, masks = {}, {}, {}
    for clean in NSTDB_CLEAN:
        ref = read_record(clean, **fetch_kwargs)
        for lvl in levels:
            name = record_name(clean, lvl)
            rec = read_record(name, db="nstdb", **fetch_kwargs)
            signals[name], refs[name], masks[name] = rec.signal, ref.beats, noisy_mask(len(rec.signal))
    return signals, refs, masks
