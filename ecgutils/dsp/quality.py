"""Signal-quality features of an ECG lead, one row per second, from the signal, a detector's probability trace and
its beats. :func:`ecgutils.inference.signal_quality` turns them into a quality in [0, 1] with a map fitted on the
validation records (:mod:`ecgutils.models.calibration`).

The four features (each beat's value is interpolated to the centre of every second):

==============  ====================================================================================================
``ambiguity``   mean of ``4 p (1 - p)`` over the second: 0 where the detector is sure (p near 0 or 1), 1 at p = 0.5
``template``    correlation of each beat (0.5-40 Hz band-pass, 250 ms around it) with the median of its 10 neighbours
``qrs_slope``   steepest 5-15 Hz slope within 50 ms of the beat over the steepest within 400 ms: near 1 on a QRS,
                low on a T wave detected 200 ms after a steeper QRS (the T-wave failure mode)
``baseline``    log10 of the baseline's peak-to-peak over 10 s (0.5 Hz low-pass) over the QRS amplitude there (the
                baseline failure mode: a swing several times the QRS)
==============  ====================================================================================================
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from ecgutils.dsp.filters import ecg_bandpass, ecg_baseline

#: The feature columns of :func:`quality_features`, in order.
FEATURES = ("ambiguity", "template", "qrs_slope", "baseline")


def _beat_windows(x: np.ndarray, peaks: np.ndarray, half: int) -> np.ndarray:
    return x[np.clip(peaks[:, None] + np.arange(-half, half + 1), 0, len(x) - 1)]


def _template_corr(bp: np.ndarray, peaks: np.ndarray, *, fs: float, neighbours: int = 5) -> np.ndarray:
    seg = _beat_windows(bp, peaks, int(round(0.125 * fs)))
    seg = seg - seg.mean(axis=1, keepdims=True)
    out = np.zeros(len(peaks))
    for i in range(len(peaks)):
        t = np.median(seg[max(0, i - neighbours):i + neighbours + 1], axis=0)
        out[i] = (seg[i] @ t) / max(np.sqrt((seg[i] @ seg[i]) * (t @ t)), 1e-12)
    return out


def quality_features(x: np.ndarray, prob: np.ndarray, peaks: np.ndarray, *, fs: float) -> np.ndarray:
    """The features of every second of a lead (table above).

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        The lead, mV, at ``fs``.
    prob : ndarray, shape (n_samples,)
        Per-sample probability of an R-peak (:func:`ecgutils.inference.peak_probability`).
    peaks : ndarray of int
        Detected beats, samples.
    fs : float
        Hz.

    Returns
    -------
    ndarray, shape (ceil(n_samples / fs), 4), float64
        Columns :data:`FEATURES`. Without any beat: ambiguity as measured, template and qrs_slope 0, baseline 2.

    Examples
    --------
    >>> x = np.zeros(3600); x[180::360] = 1.0  # one sharp 1 mV spike a second
    >>> prob = np.zeros(3600); prob[180::360] = 1.0
    >>> f = quality_features(x, prob, np.arange(180, 3600, 360), fs=360)
    >>> f.shape, bool(np.allclose(f[:, :3], [0, 1, 1]))
    ((10, 4), True)
    """
    x, prob = np.asarray(x, dtype=np.float64), np.asarray(prob, dtype=np.float64)
    n, step = len(x), int(round(fs))
    n_sec = -(-n // step)
    amb = 4 * prob * (1 - prob)
    ambiguity = np.array([amb[i * step:(i + 1) * step].mean() for i in range(n_sec)])
    peaks = np.unique(np.asarray(peaks, dtype=np.int64))
    peaks = peaks[(peaks >= 0) & (peaks < n)]
    if len(peaks) == 0:
        return np.column_stack([ambiguity, np.zeros(n_sec), np.zeros(n_sec), np.full(n_sec, 2.0)])
    bp = ecg_bandpass(x, fs=fs).astype(np.float64)
    slope = np.abs(np.diff(ecg_bandpass(x, fs=fs, low_hz=5.0, high_hz=15.0, order=2), prepend=0.0))
    steep = _beat_windows(slope, peaks, int(round(0.05 * fs))).max(axis=1)
    around = maximum_filter1d(slope, int(round(0.8 * fs)) + 1)[peaks]
    qrs_amp = np.ptp(_beat_windows(bp, peaks, int(round(0.05 * fs))), axis=1)
    base = ecg_baseline(x, fs=fs).astype(np.float64)
    size = int(round(10 * fs)) + 1
    base_ptp = (maximum_filter1d(base, size) - minimum_filter1d(base, size))[peaks]
    per_beat = np.column_stack([_template_corr(bp, peaks, fs=fs), steep / np.maximum(around, 1e-12),
                                np.log10(np.maximum(base_ptp, 1e-3) / np.maximum(qrs_amp, 1e-3))])
    centres = (np.arange(n_sec) + 0.5) * step
    return np.column_stack([ambiguity] + [np.interp(centres, peaks, per_beat[:, j]) for j in range(3)])
