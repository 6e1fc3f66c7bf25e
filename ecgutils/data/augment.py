"""Training windows that look like other people's recordings: the record's other lead, inverted and rescaled beats,
and baseline swings many times the QRS amplitude (issue 22: the detectors had only ever seen MLII at MIT-BIH's gain
with a small baseline).

:class:`AugmentConfig` is part of a model's recipe (:class:`ecgutils.config.Recipe`, all off by default);
:class:`Augmenter` applies it to a batch of clean training windows before the noise is added
(:func:`ecgutils.training.loop.noisy_batches`). :func:`baseline_swing` and :func:`qrs_amplitude` also make the
baseline-swing test cases of :mod:`ecgutils.evaluation.robustness`, so a swing is the same thing in training and in
the benchmark (training draws its own swings, seeded by the training seed, on training records only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import wfdb

from ecgutils.io.fetch import fetch_record
from ecgutils.io.records import read_record


@dataclass(frozen=True)
class AugmentConfig:
    """How training windows are varied before noise is added (each drawn afresh per window and epoch).

    Attributes
    ----------
    other_lead : float
        Probability that a window is taken from the record's other lead (V1, V2, V4 or V5 in MIT-BIH) at the same
        times; the reference beats are the same (they are annotated on both leads).
    flip : float
        Probability of a polarity flip (an inverted lead).
    scale : (float, float)
        Amplitude factor, drawn log-uniformly in this range (``(1, 1)``: none).
    swing : float
        Probability of a baseline swing (:func:`baseline_swing`), added after the noise.
    swing_max : float
        Its peak-to-peak amplitude, drawn uniformly from 1 to ``swing_max`` times the window's QRS amplitude.
    """

    other_lead: float = 0.0
    flip: float = 0.0
    scale: tuple = (1.0, 1.0)
    swing: float = 0.0
    swing_max: float = 10.0

    @property
    def active(self) -> bool:
        """Whether it changes anything."""
        return bool(self.other_lead or self.flip or self.swing or tuple(self.scale) != (1.0, 1.0))


def qrs_amplitude(signal: np.ndarray, beats: np.ndarray, *, fs: float) -> float:
    """The QRS amplitude of a signal: median peak-to-peak within 50 ms of each beat, mV.

    Parameters
    ----------
    signal : ndarray, shape (n_samples,)
        mV.
    beats : ndarray of int
        Beat positions, samples.
    fs : float
        Sampling rate, Hz.

    Examples
    --------
    >>> x = np.zeros(3600); x[[500, 1500, 2500]] = 1.2
    >>> qrs_amplitude(x, np.array([500, 1500, 2500]), fs=360)
    1.2
    """
    half = int(round(0.05 * fs))
    beats = np.asarray(beats, dtype=np.int64)
    beats = beats[(beats >= half) & (beats < len(signal) - half)]
    if len(beats) == 0:
        raise ValueError("no beat at least 50 ms from the ends of the signal: cannot measure the QRS amplitude")
    win = np.asarray(signal)[beats[:, None] + np.arange(-half, half + 1)]
    return float(np.median(np.ptp(win, axis=1)))


def baseline_swing(n: int, peak_to_peak_mv: float, rng: np.random.Generator, *, fs: float) -> np.ndarray:
    """A slow baseline swing of ``n`` samples: four sines of 0.05 to 0.5 Hz (random amplitudes and phases) plus a
    level that steps to a new value every 60 s on average (Poisson times; each level drawn afresh, up to a third of
    the sines' range either way, so that steps do not add up over a long record), scaled to ``peak_to_peak_mv`` peak
    to peak over the whole signal.

    Returns
    -------
    ndarray, shape (n,), float32, mV

    Examples
    --------
    >>> w = baseline_swing(36_000, 5.0, np.random.default_rng(0), fs=360)
    >>> round(float(np.ptp(w)), 3)
    5.0
    """
    t = np.arange(n) / fs
    freq, amp, phase = rng.uniform(0.05, 0.5, 4), rng.uniform(0.5, 1.0, 4), rng.uniform(0, 2 * np.pi, 4)
    w = (amp[:, None] * np.sin(2 * np.pi * freq[:, None] * t + phase[:, None])).sum(axis=0)
    steps = np.sort(rng.integers(0, n, rng.poisson(n / fs / 60)))
    levels = rng.uniform(-1, 1, len(steps) + 1) * np.ptp(w) / 3
    w = w + levels[np.searchsorted(steps, np.arange(n), side="right")]
    return (w * peak_to_peak_mv / max(np.ptp(w), 1e-12)).astype(np.float32)


def other_lead(record: str, **fetch_kwargs) -> np.ndarray:
    """A MIT-BIH record's lead other than MLII (mV, 360 Hz): V1, V2, V4 or V5."""
    names = wfdb.rdheader(str(fetch_record(record, db="mitdb", **fetch_kwargs))).sig_name
    return read_record(record, lead=next(n for n in names if n != "MLII"), **fetch_kwargs).signal


def other_lead_windows(records: np.ndarray, starts: np.ndarray, length: int, **fetch_kwargs) -> np.ndarray:
    """The other lead of windows cut from MIT-BIH records (``WindowSet.record``, ``.start``, ``.length``), mV.

    Returns
    -------
    ndarray, shape (n_windows, length), float32
    """
    out = np.zeros((len(records), length), dtype=np.float32)
    for r in np.unique(records):
        sig = other_lead(str(r), **fetch_kwargs)
        for i in np.flatnonzero(records == r):
            out[i] = sig[starts[i]:starts[i] + length]
    return out


class Augmenter:
    """Applies an :class:`AugmentConfig` to batches of clean training windows.

    Parameters
    ----------
    cfg : AugmentConfig
    other : ndarray, shape (n_windows, length), or None
        The other lead of every training window (:func:`other_lead_windows`); needed when ``cfg.other_lead > 0``.
    beats : list of ndarray
        Each window's beats, samples (for the QRS amplitude that scales a swing).
    fs : float
        Sampling rate, Hz.

    Examples
    --------
    >>> x = np.zeros((2, 3600), np.float32); x[:, 1000] = 1.0
    >>> aug = Augmenter(AugmentConfig(flip=1.0), None, [np.array([1000])] * 2, fs=360)
    >>> c, added = aug(x, np.arange(2), np.random.default_rng(0))
    >>> float(c[0, 1000]), float(np.abs(added).max())
    (-1.0, 0.0)
    """

    def __init__(self, cfg: AugmentConfig, other: np.ndarray | None, beats: list, *, fs: float):
        if cfg.other_lead and other is None:
            raise ValueError("AugmentConfig.other_lead needs the other lead of the training windows "
                             "(other_lead_windows)")
        self.cfg, self.other, self.beats, self.fs = cfg, other, beats, float(fs)

    def __call__(self, clean: np.ndarray, idx: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Windows ``idx`` of the training set (``clean``: their MLII, shape (batch, length), mV) varied.

        Returns
        -------
        clean : ndarray, shape (batch, length), float32
            The varied windows without the swing (what the noise is scaled to, and a denoiser's target), mV.
        added : ndarray, shape (batch, length), float32
            The baseline swing to add to the input after the noise (zeros where none), mV.
        """
        cfg, n = self.cfg, len(idx)
        c = np.array(clean, dtype=np.float32)
        lead = rng.random(n) < cfg.other_lead
        if lead.any():
            c[lead] = self.other[idx[lead]]
        lo, hi = np.log(cfg.scale[0]), np.log(cfg.scale[1])
        gain = np.exp(rng.uniform(lo, hi, n)) * np.where(rng.random(n) < cfg.flip, -1.0, 1.0)
        c *= gain[:, None].astype(np.float32)
        added = np.zeros_like(c)
        for j in np.flatnonzero(rng.random(n) < cfg.swing):
            try:
                amp = qrs_amplitude(c[j], self.beats[idx[j]], fs=self.fs)
            except ValueError:  # no beat in the window
                amp = float(np.ptp(c[j]))
            added[j] = baseline_swing(c.shape[1], rng.uniform(1.0, cfg.swing_max) * amp, rng, fs=self.fs)
        return c, added
