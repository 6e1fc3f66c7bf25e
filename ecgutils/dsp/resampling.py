"""Streaming polyphase resampling: the samples of :func:`scipy.signal.resample_poly`, computed as they become final.

``resample_poly`` needs the whole signal. :class:`StreamResampler` gives each output sample as soon as the input
it depends on has arrived, from the same anti-aliasing filter (:func:`scipy.signal.firwin`, Kaiser window,
``beta = 5``, half-length ``10 * max(up, down)`` taps at the upsampled rate, as ``resample_poly`` designs it), and
every output sample is computed by the same fixed sequence of multiply-adds whatever the chunks were, so one chunk,
100 ms chunks or single samples give the very same numbers. The ends are padded with the first and last sample.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal as sps


class StreamResampler:
    """Resample a stream from ``fs_in`` to ``fs_out`` Hz, chunk by chunk.

    Parameters
    ----------
    fs_in, fs_out : float
        Input and output rates, Hz (their ratio is taken as a fraction with denominator at most 1000).

    Attributes
    ----------
    delay_s : float
        How long after an output sample's own time the input that makes it final arrives, s.

    Examples
    --------
    >>> r = StreamResampler(250, 360)
    >>> y = np.concatenate([r.push(chunk) for chunk in np.array_split(np.sin(np.arange(1000) / 9), 7)] + [r.flush()])
    >>> len(y)  # ceil(1000 * 360 / 250)
    1440
    """

    def __init__(self, fs_in: float, fs_out: float):
        frac = Fraction(float(fs_out) / float(fs_in)).limit_denominator(1000)
        self.up, self.down = frac.numerator, frac.denominator
        self.half = 10 * max(self.up, self.down)
        taps = sps.firwin(2 * self.half + 1, 1.0 / max(self.up, self.down), window=("kaiser", 5.0)) * self.up
        self.n_taps = -(-len(taps) // self.up)  # input samples under the filter
        self._h = np.zeros(self.n_taps * self.up)
        self._h[:len(taps)] = taps
        self.delay_s = self.half / self.up / float(fs_in)
        self._x = np.zeros(0)  # kept input, from absolute index self._x0
        self._x0 = 0
        self._seen = 0  # input samples pushed
        self._done = 0  # output samples given

    def _compute(self, n_stop: int, x_ext: np.ndarray, x0: int) -> np.ndarray:
        """Outputs ``self._done`` to ``n_stop`` from the input ``x_ext`` that starts at absolute index ``x0``."""
        n = np.arange(self._done, n_stop)
        base = n * self.down + self.half
        hi = base // self.up  # newest input sample under the filter
        phase = base % self.up
        y = np.zeros(len(n))
        for j in range(self.n_taps):  # fixed order of multiply-adds: the same numbers whatever the chunks
            idx = np.clip(hi - j, 0, None) - x0  # before the start: the first sample (edge padding)
            y += self._h[phase + j * self.up] * x_ext[np.minimum(idx, len(x_ext) - 1)]
        self._done = n_stop
        return y

    def _ready(self, n_input: int) -> int:
        """Output samples whose input lies below ``n_input``: those with ``(n * down + half) // up < n_input``."""
        return max(self._done, -(-((n_input * self.up) - self.half) // self.down)) if n_input else self._done

    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed input samples; returns the output samples that are now final (float64, may be empty)."""
        x = np.asarray(x, dtype=np.float64)
        self._x = np.concatenate([self._x, x])
        self._seen += len(x)
        y = self._compute(self._ready(self._seen), self._x, self._x0) if self._seen else np.zeros(0)
        keep_from = max(0, (self._done * self.down + self.half) // self.up - self.n_taps - 1)
        if keep_from > self._x0:  # drop input no future output needs
            self._x = self._x[keep_from - self._x0:]
            self._x0 = keep_from
        return y

    def flush(self) -> np.ndarray:
        """The remaining outputs, ``ceil(n_in * up / down)`` in all, the input held at its last value past its end."""
        total = -(-self._seen * self.up // self.down)
        if not self._seen or total <= self._done:
            return np.zeros(0)
        pad = np.full(self.n_taps + 2 + self.half // self.up, self._x[-1])
        return self._compute(total, np.concatenate([self._x, pad]), self._x0)

def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling of a 1-D signal from ``fs_in`` to ``fs_out`` Hz (:func:`scipy.signal.resample_poly`)."""
    if fs_in == fs_out:
        return np.asarray(x)
    frac = Fraction(float(fs_out) / float(fs_in)).limit_denominator(1000)
    return sps.resample_poly(np.asarray(x, dtype=np.float64), frac.numerator, frac.denominator)
