"""From a probability of "R-peak here" to beat positions, and classical R-peak detection.

Peak picking takes local maxima above a threshold at least a refractory period apart and places each beat at the
centre of its probability plateau; Pan and Tompkins' T-wave rule can then drop detections that look like T
waves (an option the shipped detectors leave off: :data:`ecgutils.inference.DETECTOR_T_WAVE_CHECK`).
:class:`CausalPicker` does the same for a live stream, deciding each frame once and for all.
:func:`xqrs_detect` wraps wfdb's classical XQRS detector, the comparison method.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from ecgutils.dsp.filters import CausalFilter, butter_sos, ecg_bandpass

#: Shortest distance between two R-peaks, s (refractory period).
REFRACTORY_S = 0.2
#: Half-width of the neighbourhood whose probability-weighted centre replaces each picked maximum, s (33 ms).
REFINE_S = 1 / 30
#: Pan and Tompkins' T-wave rule: a detection this soon after the previous beat (s) whose steepest slope is below
#: this fraction of that beat's is a T wave.
T_WAVE_WINDOW_S, T_WAVE_SLOPE_RATIO = 0.36, 0.5
#: Causal picking: a peak frame must be the highest within this many frames on each side.
PICK_WAIT_FRAMES = 2


def check_threshold(threshold) -> float:
    """A peak-picking threshold: a probability strictly between 0 and 1, as a float; else ``ValueError``.

    Examples
    --------
    >>> check_threshold(0.85)
    0.85
    >>> check_threshold(85)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: threshold is the probability a peak must reach, strictly between 0 and 1; got 85. ...
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not 0.0 < float(threshold) < 1.0:
        raise ValueError("threshold is the probability a peak must reach, strictly between 0 and 1; got "
                         f"{threshold!r}. Leave it None for the model's own (chosen on validation records)")
    return float(threshold)


def peaks_from_probability(prob: np.ndarray, *, fs: float, threshold: float = 0.5, refine_s: float = REFINE_S
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

    Examples
    --------
    >>> prob = np.zeros(1000)
    >>> prob[[200, 201, 202, 600]] = [0.6, 0.9, 0.6, 0.8]
    >>> peaks_from_probability(prob, fs=360)
    array([201, 600])
    """
    prob = np.asarray(prob, dtype=np.float64)
    peaks, _ = sps.find_peaks(prob, height=check_threshold(threshold), distance=max(1, int(REFRACTORY_S * fs)))
    refine = int(round(refine_s * fs))
    if refine and len(peaks):
        offsets = np.arange(-refine, refine + 1)
        for _ in range(2):  # the second pass centres the neighbourhood on the first estimate
            idx = np.clip(peaks[:, None] + offsets, 0, len(prob) - 1)
            w = prob[idx]
            peaks = np.round((w * idx).sum(1) / np.maximum(w.sum(1), 1e-12)).astype(np.int64)
    return np.unique(peaks.astype(np.int64))


def reject_t_waves(signal: np.ndarray, peaks: np.ndarray, *, fs: float, window_s: float = T_WAVE_WINDOW_S,
                   slope_ratio: float = T_WAVE_SLOPE_RATIO) -> np.ndarray:
    """Drop detections that are T waves, by Pan and Tompkins' rule (IEEE Trans. Biomed. Eng. 32(3), 1985).

    A detection less than ``window_s`` after the previous kept beat is a T wave if its steepest slope is less
    than ``slope_ratio`` times that beat's. The slope is the absolute first difference of the signal band-passed
    to the QRS band (5-15 Hz, :func:`ecgutils.dsp.filters.ecg_bandpass`), its maximum within 50 ms of the detection.
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
    qrs = ecg_bandpass(signal, fs=fs, low_hz=5.0, high_hz=15.0, order=2)
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


def xqrs_detect(signal: np.ndarray, *, fs: float) -> np.ndarray:
    """wfdb's XQRS detector (:func:`wfdb.processing.xqrs_detect`), quietly.

    Parameters
    ----------
    signal : ndarray, shape (n_samples,)
        mV.
    fs : float
        Sampling rate, Hz.

    Returns
    -------
    ndarray of int64
        Sample indices at ``fs``.
    """
    from wfdb.processing import (
        xqrs_detect as _xqrs,  # wfdb.processing is slow to import; only XQRS needs it
    )

    return np.asarray(_xqrs(np.asarray(signal, dtype=np.float64), fs=fs, verbose=False), dtype=np.int64)


class CausalSlope:
    """The slope of the T-wave rule, causally: absolute first difference of the signal band-passed to the QRS band
    (5-15 Hz, Butterworth order 2, :func:`scipy.signal.sosfilt` with its state carried between calls).

    Parameters
    ----------
    fs : float
        Sampling rate, Hz.
    """

    def __init__(self, *, fs: float):
        self.sos = butter_sos(2, (5.0, 15.0), "bandpass", fs=float(fs))
        #: The filter's group delay at 10 Hz, samples: a QRS's steepest slope comes this much after the QRS.
        self.delay = int(round(float(sps.group_delay(sps.sos2tf(self.sos), w=[10.0], fs=fs)[1][0])))
        self.filter = CausalFilter(self.sos)
        self.last = 0.0

    def push(self, x: np.ndarray) -> np.ndarray:
        """Slopes of the new samples (mV per sample), one per sample of ``x``."""
        y = self.filter.push(x)
        if len(y) == 0:
            return np.zeros(0)
        slope = np.abs(np.diff(y, prepend=self.last))
        self.last = y[-1]
        return slope


class CausalPicker:
    """Peak picking for a live stream: frame probabilities arrive in order, and each decision is final.

    A frame is a beat when its probability reaches ``threshold``, is the highest within ``wait`` frames on either
    side, and lies at least 200 ms (:data:`REFRACTORY_S`) after the last beat; its neighbours place the beat at
    their probability-weighted centre. With ``t_wave_check``, Pan and Tompkins' T-wave rule then runs on the causal
    QRS-band slope (:class:`CausalSlope`). Each frame is decided once its ``wait`` right neighbours are known.

    Parameters
    ----------
    frame : int
        Samples per frame.
    fs : float
        Sampling rate of the samples, Hz.
    threshold : float
    wait : int
        Frames.
    t_wave_check : bool
        Apply the T-wave rule (then :meth:`feed` needs the samples too); off by default.
    """

    def __init__(self, frame: int, *, fs: float, threshold: float, wait: int = PICK_WAIT_FRAMES,
                 t_wave_check: bool = False):
        self.frame, self.fs, self.threshold, self.wait = frame, fs, check_threshold(threshold), wait
        self.refractory = REFRACTORY_S * fs  # model samples
        self.prob = np.full(wait, -np.inf)  # frames from self.first - wait on
        self.first = 0  # the next frame to decide
        self.last, self.last_slope = -np.inf, np.inf  # the last beat: position (model samples), steepest slope
        self.last_arrived = 0  # samples received when the last beat was decided
        self.slope = CausalSlope(fs=fs) if t_wave_check else None
        self.slopes, self.slopes_from = np.zeros(0), 0  # slope of the samples from index slopes_from on
        self.pending, self.n_pending = [], 0  # samples not yet through the slope filter
        #: The probability of the peak frame of each beat the last :meth:`feed` returned.
        self.found_prob = np.zeros(0)

    def _steepest(self, pos: float, arrived: int) -> float:
        """Steepest QRS-band slope within 50 ms of ``pos``, shifted by the causal filter's delay, among the first
        ``arrived`` samples (what had arrived when the beat was decided: all, unless the look-ahead is under 0.1 s).
        """
        self._filter_pending()
        c = int(round(pos)) + self.slope.delay - self.slopes_from
        half = int(round(0.05 * self.fs))
        a, b = max(c - half, 0), min(max(c + half + 1, 1), arrived - self.slopes_from)
        return float(self.slopes[a:b].max()) if b > a and a < len(self.slopes) else 0.0

    def _filter_pending(self) -> None:
        """Run the samples received since the slope was last needed through the slope filter (once per close pair
        of beats, not once per chunk: the filter's state is carried, so the slopes are the same)."""
        if self.pending:
            x = np.concatenate(self.pending, dtype=np.float64)
            self.pending, self.n_pending = [], 0
            self.slopes = np.concatenate([self.slopes, self.slope.push(x)])

    def _keep(self, pos: float) -> bool:
        if pos - self.last < self.refractory:
            return False
        if self.slope is None:
            return True
        arrived = self.slopes_from + len(self.slopes) + self.n_pending
        steep = None
        if pos - self.last < T_WAVE_WINDOW_S * self.fs:  # close to the last beat: a T wave if much less steep
            if self.last_slope is None:
                self.last_slope = self._steepest(self.last, self.last_arrived)
            steep = self._steepest(pos, arrived)
            if steep < T_WAVE_SLOPE_RATIO * self.last_slope:
                return False
        self.last_slope, self.last_arrived = steep, arrived  # None: worked out if a close beat ever needs it
        return True

    def feed(self, prob: np.ndarray, samples: np.ndarray | None = None) -> list:
        """Append the probabilities of the next frames (and, for the T-wave rule, the next input samples at the
        model's rate); returns the beat positions (model samples, float) now decided."""
        if self.slope is not None and samples is not None and len(samples):
            self.pending.append(samples)
            self.n_pending += len(samples)
            if self.n_pending > 2 * self.fs:  # a long stretch without beats: filter now, keep the memory bounded
                self._filter_pending()
        self.prob = np.concatenate((self.prob, prob))
        w = self.wait
        n = len(self.prob) - 2 * w  # frames decidable: all their right neighbours are known
        if n <= 0:
            self.found_prob = np.zeros(0)
            return []
        found, probs = [], []
        for i in np.flatnonzero(self.prob[w:w + n] >= self.threshold):  # few: only frames near a beat
            win = self.prob[i:i + 2 * w + 1]
            c = win[w]
            if not (c > win[:w].max() and c >= win[w + 1:].max()):
                continue
            p = win[w - 1:w + 2]  # the frame and its neighbours place the beat at their weighted centre
            p = np.where(np.isfinite(p), p, 0.0)
            pos = (self.first + i + float((p * np.array([-0.5, 0.5, 1.5])).sum() / p.sum())) * self.frame
            if self._keep(pos):
                found.append(pos)
                probs.append(c)
                self.last = pos
        self.found_prob = np.array(probs, dtype=np.float64)
        self.first += n
        self.prob = self.prob[n:]
        drop = min(self.first * self.frame - int(2 * self.fs) - self.slopes_from, len(self.slopes))
        if drop > 0:  # keep 2 s of history
            self.slopes, self.slopes_from = self.slopes[drop:], self.slopes_from + drop
        return found
