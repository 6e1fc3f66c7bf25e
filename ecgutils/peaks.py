"""From a probability of "R-peak here" to beat positions, and classical R-peak detection.

Peak picking takes local maxima above a threshold at least a refractory period apart and places each beat at the
centre of its probability plateau; Pan and Tompkins' T-wave rule then drops detections that look like T waves.
:func:`xqrs_detect` wraps wfdb's classical XQRS detector, the comparison method.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from .filters import ecg_bandpass

#: Shortest distance between two R-peaks, s (refractory period).
REFRACTORY_S = 0.2
#: Half-width of the neighbourhood whose probability-weighted centre replaces each picked maximum, s (33 ms).
REFINE_S = 12 / 360
#: Pan and Tompkins' T-wave rule: a detection this soon after the previous beat (s) whose steepest slope is below
#: this fraction of that beat's is a T wave.
T_WAVE_WINDOW_S, T_WAVE_SLOPE_RATIO = 0.36, 0.5


def peaks_from_probability(prob: np.ndarray, fs: float, threshold: float = 0.5, refine_s: float = REFINE_S
                           ) -> np.ndarray:
    """Peak picking: local maxima of ``prob`` above ``threshold`` at least 200 ms apart.

    Parameters
    ----------
    prob : ndarray, shape (n_samples,)
        Per-sample probability of an R-peak, at ``fs``.
    fs : float
        Its sampling rate, Hz.
    threshold : float
    refine_s : float
        Half-width (s) of the neighbourhood whose probability-weighted centre replaces each maximum. The detector
        marks a beat's frame and its neighbours, so the probability forms a plateau a few frames wide whose highest
        frame may be a neighbour; the centre of the plateau is the beat. 0: no refinement.

    Returns
    -------
    ndarray of int64
        Sorted, unique sample indices at ``fs``.
    """
    prob = np.asarray(prob, dtype=np.float64)
    peaks, _ = sps.find_peaks(prob, height=threshold, distance=max(1, int(REFRACTORY_S * fs)))
    refine = int(round(refine_s * fs))
    if refine and len(peaks):
        offsets = np.arange(-refine, refine + 1)
        for _ in range(2):  # the second pass centres the neighbourhood on the first estimate
            idx = np.clip(peaks[:, None] + offsets, 0, len(prob) - 1)
            w = prob[idx]
            peaks = np.round((w * idx).sum(1) / np.maximum(w.sum(1), 1e-12)).astype(np.int64)
    return np.unique(peaks.astype(np.int64))


def reject_t_waves(signal: np.ndarray, peaks: np.ndarray, fs: float, window_s: float = T_WAVE_WINDOW_S,
                   slope_ratio: float = T_WAVE_SLOPE_RATIO) -> np.ndarray:
    """Drop detections that are T waves, by Pan and Tompkins' rule (IEEE Trans. Biomed. Eng. 32(3), 1985).

    A detection less than ``window_s`` after the previous kept beat is a T wave if its steepest slope is less
    than ``slope_ratio`` times that beat's. The slope is the absolute first difference of the signal band-passed
    to the QRS band (5-15 Hz, :func:`ecgutils.filters.ecg_bandpass`), its maximum within 50 ms of the detection.
    The published values (360 ms, one half) are the defaults; they were not tuned on this project's data.

    Parameters
    ----------
    signal : ndarray, shape (n_samples,)
        mV.
    peaks : ndarray of int
        Sorted detections, sample indices.
    fs : float
        Sampling rate, Hz.
    window_s : float
        s.
    slope_ratio : float

    Returns
    -------
    ndarray of int64
        The kept detections, sorted.
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) < 2:
        return peaks
    qrs = ecg_bandpass(signal, fs, 5.0, 15.0, order=2)
    slope = np.abs(np.diff(qrs, prepend=qrs[:1]))
    half = round(0.05 * fs)
    idx = np.clip(peaks[:, None] + np.arange(-half, half + 1), 0, len(slope) - 1)
    steepest = slope[idx].max(axis=1)
    keep = [0]
    for i in range(1, len(peaks)):
        last = keep[-1]
        if peaks[i] - peaks[last] < window_s * fs and steepest[i] < slope_ratio * steepest[last]:
            continue
        keep.append(i)
    return peaks[keep]


def xqrs_detect(signal: np.ndarray, fs: float) -> np.ndarray:
    """wfdb's XQRS detector (:func:`wfdb.processing.xqrs_detect`), quietly.

    Returns
    -------
    ndarray of int64
        Sample indices at ``fs``.
    """
    from wfdb.processing import (
        xqrs_detect as _xqrs,  # wfdb.processing is slow to import; only XQRS needs it
    )

    return np.asarray(_xqrs(np.asarray(signal, dtype=np.float64), fs=fs, verbose=False), dtype=np.int64)
