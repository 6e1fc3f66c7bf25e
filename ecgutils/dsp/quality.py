"""Signal-quality features of an ECG lead, one row per second, from the signal, a detector's probability trace and
its beats. :func:`ecgutils.inference.signal_quality` turns them into a quality in [0, 1] with a map fitted on the
validation records (:mod:`ecgutils.models.calibration`).

The five features (a beat's value is interpolated to the centre of every second):

==============  ====================================================================================================
``ambiguity``   mean of ``4 p (1 - p)`` over the second: 0 where the detector is sure (p near 0 or 1), 1 at p = 0.5
``template``    correlation of each beat (0.5-40 Hz band-pass, 250 ms around it) with the median of its 10 neighbours
``qrs_slope``   steepest 5-15 Hz slope within 50 ms of the beat over the steepest within 400 ms: near 1 on a QRS,
                low on a T wave detected 200 ms after a steeper QRS (the T-wave failure mode)
``baseline``    log10 of the baseline's peak-to-peak over 10 s (0.5 Hz low-pass) over the QRS amplitude there (the
                baseline failure mode: a swing several times the QRS)
``residual``    log10 of the RMS over the second of each beat (0.5-40 Hz, 250 ms before to 450 ms after it) minus
                the most similar of its 10 neighbours on either side, over the QRS amplitude; a 5 s running mean.
                Noise that leaves the detector sure still makes each beat unlike its neighbours
==============  ====================================================================================================
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

from ecgutils.dsp.filters import ecg_bandpass, ecg_baseline

#: The feature columns of :func:`quality_features`, in order.
FEATURES = ("ambiguity", "template", "qrs_slope", "baseline", "residual")
#: :func:`neighbour_residual`'s beat span (s before, s after) and neighbours searched on either side, and the mean
#: over seconds of the ``residual`` feature (chosen on the validation records, README *Where each choice was made*).
RESIDUAL_SPAN_S = (0.25, 0.45)
RESIDUAL_NEIGHBOURS = 10
RESIDUAL_SMOOTH_S = 5
#: :func:`flat_seconds`: a second whose 0.5-40 Hz peak-to-peak is at most this fraction of the lead's median QRS
#: amplitude holds no ECG. Half the smallest such fraction of any second on either lead of the training and
#: validation records (2 %, record 116; session 23): a design rule, not fitted.
FLAT_RATIO = 0.01


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


def neighbour_residual(bp: np.ndarray, peaks: np.ndarray, *, fs: float, neighbours: int = RESIDUAL_NEIGHBOURS,
                       span_s: tuple = RESIDUAL_SPAN_S) -> np.ndarray:
    """Per-sample squared difference between each beat and the most similar of its neighbours (NaN outside beats).

    Parameters
    ----------
    bp : ndarray, shape (n_samples,)
        The lead, band-passed (mV).
    peaks : ndarray of int, shape (n_beats,)
        Sorted beats, samples, inside the lead.
    fs : float
        Hz.
    neighbours : int
        Beats searched on either side; the most similar is the one of highest correlation over the span.
    span_s : (float, float)
        Seconds before and after each beat compared.

    Returns
    -------
    ndarray, shape (n_samples,), float64, mV^2: NaN where no beat's span reaches (or with fewer than two beats).
    Where spans overlap, the later beat's value.

    Examples
    --------
    >>> bp = np.zeros(3600); bp[180::360] = 1.0  # identical beats: nothing between a beat and its neighbour
    >>> r2 = neighbour_residual(bp, np.arange(180, 3600, 360), fs=360)
    >>> float(np.nanmax(r2)), int(np.isnan(r2).sum())  # the spans (0.7 s of every 1 s) covered, the rest NaN
    (0.0, 1070)
    """
    n, m = len(bp), len(peaks)
    out = np.full(n, np.nan)
    if m < 2:
        return out
    idx = np.clip(peaks[:, None] + np.arange(-int(round(span_s[0] * fs)), int(round(span_s[1] * fs)) + 1), 0, n - 1)
    seg = bp[idx]
    z = seg - seg.mean(axis=1, keepdims=True)
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    best, nearest = np.full(m, -np.inf), np.zeros(m, dtype=np.int64)
    for k in range(1, min(neighbours, m - 1) + 1):  # correlation with the beat k later (and, seen from it, k earlier)
        c = np.einsum("ij,ij->i", z[:-k], z[k:])
        for i, j, cc in ((np.arange(m - k), np.arange(k, m), c), (np.arange(k, m), np.arange(m - k), c)):
            better = cc > best[i]
            best[i[better]], nearest[i[better]] = cc[better], j[better]
    out[idx.ravel()] = ((seg - seg[nearest]) ** 2).ravel()
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
        Columns :data:`FEATURES`. Without any beat: ambiguity as measured, template and qrs_slope 0, baseline 2,
        residual 0 (a difference as large as the QRS).

    Examples
    --------
    >>> x = np.zeros(3600); x[180::360] = 1.0  # one sharp 1 mV spike a second
    >>> prob = np.zeros(3600); prob[180::360] = 1.0
    >>> f = quality_features(x, prob, np.arange(180, 3600, 360), fs=360)
    >>> f.shape, bool(np.allclose(f[:, :3], [0, 1, 1]))
    ((10, 5), True)
    """
    x, prob = np.asarray(x, dtype=np.float64), np.asarray(prob, dtype=np.float64)
    n, step = len(x), int(round(fs))
    n_sec = -(-n // step)
    amb = 4 * prob * (1 - prob)
    ambiguity = np.array([amb[i * step:(i + 1) * step].mean() for i in range(n_sec)])
    peaks = np.unique(np.asarray(peaks, dtype=np.int64))
    peaks = peaks[(peaks >= 0) & (peaks < n)]
    if len(peaks) == 0:
        return np.column_stack([ambiguity, np.zeros(n_sec), np.zeros(n_sec), np.full(n_sec, 2.0), np.zeros(n_sec)])
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
    return np.column_stack([ambiguity] + [np.interp(centres, peaks, per_beat[:, j]) for j in range(3)]
                           + [_residual_per_second(bp, peaks, qrs_amp, centres, n_sec=n_sec, step=step, fs=fs)])


def _residual_per_second(bp, peaks, qrs_amp, centres, *, n_sec: int, step: int, fs: float) -> np.ndarray:
    """The ``residual`` column: log10(RMS of :func:`neighbour_residual` over each second / QRS amplitude), 5 s mean."""
    r2 = np.full(n_sec * step, np.nan)
    r2[: len(bp)] = neighbour_residual(bp, peaks, fs=fs)
    r2 = r2.reshape(n_sec, step)
    covered = ~np.isnan(r2).all(axis=1)
    if not covered.any():
        return np.zeros(n_sec)
    rms = np.sqrt(np.nanmean(r2[covered], axis=1))
    rms = np.interp(centres, centres[covered], rms)  # seconds no beat's span reaches: from their neighbours
    out = np.log10(np.maximum(rms, 1e-4) / np.maximum(np.interp(centres, peaks, qrs_amp), 1e-3))
    return uniform_filter1d(out, RESIDUAL_SMOOTH_S, mode="nearest")


def flat_seconds(x: np.ndarray, peaks: np.ndarray, *, fs: float, ratio: float = FLAT_RATIO) -> np.ndarray:
    """The seconds of a lead that hold no ECG: flat, as when a lead is off and the recorder holds a value or writes
    zeros. :func:`ecgutils.inference.signal_quality` gives them quality 0 (the fitted features, made to judge beats,
    see nothing wrong in a stretch without any).

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        The lead, mV, at ``fs``.
    peaks : ndarray of int
        Detected beats, samples: their median 0.5-40 Hz peak-to-peak (within 50 ms) is the QRS amplitude; without
        beats, the largest peak-to-peak of any second stands in for it.
    fs : float
        Hz.
    ratio : float
        :data:`FLAT_RATIO`.

    Returns
    -------
    ndarray of bool, shape (ceil(n_samples / fs),)

    Examples
    --------
    >>> x = np.zeros(3600); x[180::360] = 1.0; x[1800:2880] = 0.0  # one 1 mV spike a second, then 3 s of nothing
    >>> flat_seconds(x, np.flatnonzero(x), fs=360).astype(int)
    array([0, 0, 0, 0, 0, 1, 1, 1, 0, 0])
    """
    bp = ecg_bandpass(np.asarray(x, dtype=np.float64), fs=fs).astype(np.float64)
    step = int(round(fs))
    n_sec = -(-len(bp) // step)
    per_second = np.full(n_sec * step, np.nan)
    per_second[: len(bp)] = bp
    per_second = per_second.reshape(n_sec, step)
    ptp = np.nanmax(per_second, axis=1) - np.nanmin(per_second, axis=1)
    peaks = np.asarray(peaks, dtype=np.int64)
    peaks = peaks[(peaks >= 0) & (peaks < len(bp))]
    qrs = np.median(np.ptp(_beat_windows(bp, peaks, int(round(0.05 * fs))), axis=1)) if len(peaks) else ptp.max()
    return ptp <= ratio * qrs
