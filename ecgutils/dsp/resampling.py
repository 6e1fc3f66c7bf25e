"""One polyphase resampler, offline (:func:`resample`) and streaming (:class:`StreamResampler`): the same samples.

Both use one anti-aliasing filter (:func:`design_filter`: :func:`scipy.signal.firwin`, Kaiser window, ``beta = 5``,
half-length ``10 * max(up, down)`` taps at the upsampled rate, as :func:`scipy.signal.resample_poly` designs it,
with each polyphase branch scaled to unit gain so that a constant comes back as that constant) and both hold the
signal at its first and last value beyond its ends (edge padding). :func:`resample` is
``resample_poly(x, up, down, window=design_filter(up, down), padtype="edge")`` on the whole signal in one call;
:class:`StreamResampler` gives each output sample as soon as the input it depends on has arrived, every output
sample by the same fixed sequence of multiply-adds whatever the chunks were, so one chunk, 100 ms chunks or single
samples give the very same numbers, equal to :func:`resample`'s to rounding (1e-12 mV).

Examples
--------
>>> x = np.full(1000, 1.5)  # a constant 1.5 mV at 250 Hz
>>> y = resample(x, fs_in=250, fs_out=360)
>>> len(y), bool(np.allclose(y, 1.5, atol=1e-6))
(1440, True)
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal as sps


def rate_ratio(*, fs_in: float, fs_out: float) -> tuple[int, int]:
    """``(up, down)``: ``fs_out / fs_in`` as a fraction with denominator at most 1000.

    Examples
    --------
    >>> rate_ratio(fs_in=250, fs_out=360)
    (36, 25)
    """
    if not (float(fs_in) > 0 and float(fs_out) > 0):
        raise ValueError(f"sampling rates must be positive, got fs_in={fs_in!r}, fs_out={fs_out!r} (Hz)")
    frac = Fraction(float(fs_out) / float(fs_in)).limit_denominator(1000)
    return frac.numerator, frac.denominator


def design_filter(up: int, down: int) -> np.ndarray:
    """The anti-aliasing low-pass of an ``up / down`` resampler, at the upsampled rate.

    :func:`scipy.signal.resample_poly`'s design (``firwin``, Kaiser ``beta = 5``, ``2 * 10 * max(up, down) + 1``
    taps, cut-off at the lower Nyquist rate), then each polyphase branch (taps ``k, k + up, k + 2 up ...``) scaled
    to sum to ``1 / up``: every output sample is then a weighted mean of input samples (weights summing to 1), so
    a constant comes back exactly, where the unscaled branches are up to 0.1 % off (1.5 mV came back 1.5015 mV).

    Returns
    -------
    ndarray, shape (20 * max(up, down) + 1,)
        Taps; ``resample_poly`` multiplies them by ``up``.
    """
    half = 10 * max(up, down)
    taps = sps.firwin(2 * half + 1, 1.0 / max(up, down), window=("kaiser", 5.0))
    for k in range(up):
        taps[k::up] /= up * taps[k::up].sum()
    return taps


class StreamResampler:
    """Resample a stream from ``fs_in`` to ``fs_out`` Hz, chunk by chunk.

    Parameters
    ----------
    fs_in, fs_out : float
        Input and output rates, Hz (their ratio is taken as a fraction with denominator at most 1000,
        :func:`rate_ratio`).

    Attributes
    ----------
    delay_s : float
        How long after an output sample's own time the input that makes it final arrives, s.

    Examples
    --------
    >>> r = StreamResampler(fs_in=250, fs_out=360)
    >>> y = np.concatenate([r.push(chunk) for chunk in np.array_split(np.sin(np.arange(1000) / 9), 7)] + [r.flush()])
    >>> len(y)  # ceil(1000 * 360 / 250)
    1440
    >>> bool(np.allclose(y, resample(np.sin(np.arange(1000) / 9), fs_in=250, fs_out=360), atol=1e-12))
    True
    """

    def __init__(self, *, fs_in: float, fs_out: float):
        self.up, self.down = rate_ratio(fs_in=fs_in, fs_out=fs_out)
        self.half = 10 * max(self.up, self.down)
        taps = design_filter(self.up, self.down) * self.up
        self.n_taps = -(-len(taps) // self.up)  # input samples under the filter
        self._taps = np.arange(self.n_taps)
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
        j = self._taps
        idx = np.clip(hi[:, None] - j, 0, None) - x0  # before the start: the first sample (edge padding)
        terms = self._h[phase[:, None] + j * self.up] * x_ext[np.minimum(idx, len(x_ext) - 1)]
        self._done = n_stop
        return terms.sum(axis=1)  # row by row, the same additions whatever the number of rows: chunking cannot matter

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

def resample(x: np.ndarray, *, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample a signal from ``fs_in`` to ``fs_out`` Hz along its last axis: :class:`StreamResampler`'s samples,
    in one vectorised call.

    Parameters
    ----------
    x : ndarray, shape (..., n_samples)
        Signal, any unit (mV).
    fs_in, fs_out : float
        Its rate and the rate wanted, Hz.

    Returns
    -------
    ndarray, shape (..., ceil(n_samples * up / down)), float64
        ``x`` itself (not a copy) if the rates are equal. The ends are edge-padded: a constant stays that constant.

    Examples
    --------
    >>> x = np.full(250, 1.5)                            # 1 s of a constant 1.5 mV at 250 Hz
    >>> y = resample(x, fs_in=250, fs_out=360)
    >>> y.shape, bool(np.allclose(y, 1.5))               # 1 s at 360 Hz; the ends stay at 1.5 mV
    ((360,), True)
    >>> t = np.arange(1000) / 1000                        # a 5 Hz sine at 1000 Hz
    >>> y = resample(np.sin(2 * np.pi * 5 * t), fs_in=1000, fs_out=360)
    >>> bool(np.abs(y - np.sin(2 * np.pi * 5 * np.arange(360) / 360))[36:-36].max() < 1e-3)  # 0.1 s from the ends
    True
    """
    if float(fs_in) == float(fs_out):
        return np.asarray(x)
    up, down = rate_ratio(fs_in=fs_in, fs_out=fs_out)
    return sps.resample_poly(np.asarray(x, dtype=np.float64), up, down, axis=-1, window=design_filter(up, down),
                             padtype="edge")
