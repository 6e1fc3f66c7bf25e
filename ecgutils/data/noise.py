"""Noise for the denoising and detection experiments: Gaussian, and real NSTDB noise scaled to a target SNR.

SNR, per window, as the evaluation protocol defines it::

    SNR = 10 log10(sum c^2 / sum n^2),   c = clean - mean(clean),   n = noise - mean(noise)

Real noise comes from the NSTDB recordings ``bw`` (baseline wander), ``em`` (electrode motion) and ``ma`` (muscle
artifact). Training and validation draw excerpts only from the first half of each recording (samples 0 to 324,999),
test sets only from the second half (325,000 to 649,999), so no noise excerpt is seen both in training and in test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgutils.constants import FS, NOISE_TEST_START, RECORD_LENGTH, WINDOW_S
from ecgutils.io.records import NOISE_RECORDS, read_noise

#: Noise kinds :func:`add_noise` understands.
KINDS = ("gaussian",) + NOISE_RECORDS + ("mixed",)
#: Sample ranges of each noise recording, by use.
HALVES = {"train": (0, NOISE_TEST_START), "test": (NOISE_TEST_START, RECORD_LENGTH)}
#: Input SNR levels of the evaluation grid, dB.
SNR_LEVELS = (-6, 0, 6, 12, 18, 24)
#: The classic assignment's Gaussian sigma, on the [0, 1] window scale.
CLASSIC_SIGMA = 0.05


def centred(a: np.ndarray) -> np.ndarray:
    """``a`` minus its mean along the last axis, in float64 (every SNR and denoising metric removes window means)."""
    a = np.asarray(a, dtype=np.float64)
    return a - a.mean(axis=-1, keepdims=True)


def noise_snr_db(clean: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """SNR in dB of ``clean`` against ``noise`` along the last axis, both mean-removed: the protocol's SNR, and the
    one SNR of the package (a denoiser's output SNR is this with ``noise = estimate - clean``).

    Parameters
    ----------
    clean, noise : ndarray, shape (..., length)
        In the same unit (mV).

    Returns
    -------
    ndarray, shape (...)
        ``10 log10(sum c^2 / sum n^2)``; ``inf`` where the noise is zero.

    Examples
    --------
    >>> t = np.arange(3600) / 360
    >>> clean = np.sin(2 * np.pi * t)
    >>> round(float(noise_snr_db(clean, 0.1 * clean)), 6)  # noise a tenth of the signal's amplitude: 20 dB
    20.0
    """
    c, n = centred(clean), centred(noise)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.sum(c ** 2, -1) / np.sum(n ** 2, -1))


def scale_to_snr(clean: np.ndarray, noise: np.ndarray, snr: float | np.ndarray) -> np.ndarray:
    """Scale noise so that ``clean + result`` has exactly the requested SNR.

    Parameters
    ----------
    clean, noise : ndarray, shape (n_windows, length)
        Clean windows and noise excerpts, mV.
    snr : float or ndarray, shape (n_windows,)
        Target SNR, dB.

    Returns
    -------
    ndarray, shape (n_windows, length), float32
        The noise, mean-removed and scaled, in mV.
    """
    c = clean - clean.mean(axis=-1, keepdims=True)
    n = noise - noise.mean(axis=-1, keepdims=True)
    pc = np.sum(c.astype(np.float64) ** 2, -1)
    pn = np.maximum(np.sum(n.astype(np.float64) ** 2, -1), 1e-20)
    gain = np.sqrt(pc / (pn * 10.0 ** (np.asarray(snr, dtype=np.float64) / 10.0)))
    return (n * gain[..., None]).astype(np.float32)


@dataclass
class NoiseBank:
    """The three NSTDB noise recordings, in mV, ready to draw excerpts from.

    Attributes
    ----------
    records : dict
        ``{"bw": array, "em": array, "ma": array}``, each shape (n_channels, 650000).
    """

    records: dict

    @classmethod
    def load(cls, channels=(0,), **fetch_kwargs) -> "NoiseBank":
        """Read ``bw``, ``em`` and ``ma`` (channel 0 by default; ``channels=(0, 1)`` uses both)."""
        return cls({k: np.stack([read_noise(k, c, **fetch_kwargs) for c in channels]) for k in NOISE_RECORDS})

    def excerpts(self, kind: str, n: int, length: int, rng: np.random.Generator, part: str = "train") -> np.ndarray:
        """``n`` random excerpts of one noise recording, from its ``part`` half only.

        Returns
        -------
        ndarray, shape (n, length), float32, mV
        """
        if kind not in self.records:
            raise ValueError(f"unknown noise kind {kind!r}; valid options: {', '.join(self.records)}")
        if part not in HALVES:
            raise ValueError(f"unknown part {part!r}; valid options: {', '.join(HALVES)}")
        lo, hi = HALVES[part]
        rec = self.records[kind]
        ch = rng.integers(0, rec.shape[0], size=n)
        st = rng.integers(lo, hi - length + 1, size=n)
        return np.stack([rec[c, s:s + length] for c, s in zip(ch, st)]) if n else np.zeros((0, length), np.float32)


def gaussian(clean: np.ndarray, sigma: float, rng: np.random.Generator, span: np.ndarray | None = None) -> np.ndarray:
    """White Gaussian noise of standard deviation ``sigma`` on the [0, 1] window scale, returned in mV.

    Parameters
    ----------
    clean : ndarray, shape (n_windows, length)
        Clean windows in mV (only their shape and, without ``span``, their range are used).
    sigma : float
        Standard deviation on the normalised scale (0.05 in the classic assignment).
    rng : numpy.random.Generator
    span : ndarray, shape (n_windows, 1), optional
        Each window's range (max - min) in mV; computed from ``clean`` if not given.
    """
    if span is None:
        span = clean.max(-1, keepdims=True) - clean.min(-1, keepdims=True)
    return (rng.standard_normal(clean.shape) * sigma * span).astype(np.float32)


def make_noise(clean: np.ndarray, kind: str, rng: np.random.Generator, snr: float | np.ndarray | None = None,
               bank: NoiseBank | None = None, part: str = "train", sigma: float = CLASSIC_SIGMA) -> np.ndarray:
    """Noise for a batch of clean windows.

    Parameters
    ----------
    clean : ndarray, shape (n_windows, length)
        Clean windows, mV.
    kind : {"gaussian", "bw", "em", "ma", "mixed"}
        ``mixed`` sums one excerpt of each real noise, each first brought to equal power.
    rng : numpy.random.Generator
    snr : float or ndarray, optional
        Target SNR in dB. Required for real noise; for Gaussian noise it overrides ``sigma``.
    bank : NoiseBank
        Required for real noise.
    part : {"train", "test"}
        Which half of the noise recordings to draw from (validation uses ``train``).
    sigma : float
        Gaussian standard deviation on the [0, 1] window scale, when ``snr`` is not given.

    Returns
    -------
    ndarray, shape (n_windows, length), float32
        Noise in mV, to add to ``clean``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(3600) / 360
    >>> clean = np.stack([np.sin(2 * np.pi * t), 2 * np.sin(2 * np.pi * t)])  # two 10 s windows at 360 Hz, mV
    >>> n = make_noise(clean, "gaussian", rng, snr=6.0)  # white noise at 6 dB SNR; real noise needs a NoiseBank
    >>> n.shape, n.dtype
    ((2, 3600), dtype('float32'))
    >>> np.round(noise_snr_db(clean, n), 6)              # the SNR of each window (noise scaled to each)
    array([6., 6.])
    """
    if kind not in KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; valid options: {', '.join(KINDS)}")
    n, length = clean.shape
    if kind == "gaussian":
        noise = gaussian(clean, sigma, rng)
        return noise if snr is None else scale_to_snr(clean, noise, snr)
    if snr is None:
        raise ValueError(f"{kind} noise needs a target snr (dB), e.g. snr=6")
    if bank is None:
        raise ValueError(f"{kind} noise needs bank=NoiseBank.load() (the NSTDB noise recordings)")
    if kind == "mixed":
        parts = [bank.excerpts(k, n, length, rng, part) for k in NOISE_RECORDS]
        parts = [p / np.maximum(p.std(-1, keepdims=True), 1e-9) for p in parts]
        noise = np.sum(parts, axis=0)
    else:
        noise = bank.excerpts(kind, n, length, rng, part)
    return scale_to_snr(clean, noise, snr)


def random_noise(clean: np.ndarray, rng: np.random.Generator, bank: NoiseBank, part: str = "train",
                 kinds=("gaussian", "bw", "em", "ma", "mixed"), snr_range=(-6.0, 24.0)):
    """Noise of a random kind and a random SNR for every window (training augmentation, the stored ``real`` set).

    Parameters
    ----------
    clean : ndarray, shape (n_windows, length)
        Clean windows, mV.
    rng : numpy.random.Generator
    bank : NoiseBank
    part : {"train", "test"}
    kinds : sequence of str
        Kinds to choose from, uniformly.
    snr_range : (float, float)
        SNR drawn uniformly in this range, dB.

    Returns
    -------
    noise : ndarray, shape (n_windows, length), float32, mV
    kind : ndarray, shape (n_windows,), str
    snr : ndarray, shape (n_windows,), float32, dB
    """
    n = len(clean)
    kind = np.asarray(kinds)[rng.integers(0, len(kinds), size=n)]
    snr = rng.uniform(*snr_range, size=n).astype(np.float32)
    noise = np.zeros_like(clean, dtype=np.float32)
    for k in kinds:
        sel = np.flatnonzero(kind == k)
        if len(sel):
            noise[sel] = make_noise(clean[sel], k, rng, snr=snr[sel], bank=bank, part=part)
    return noise, kind, snr


def noisy_record(signal: np.ndarray, kind: str, snr: float, bank: NoiseBank, rng: np.random.Generator, *,
                 fs: float, part: str = "test") -> np.ndarray:
    """A whole record with noise at ``snr`` dB in every 10 s window (test-half noise by default).

    Parameters
    ----------
    signal : ndarray, shape (n_samples,)
        Clean record, mV.
    kind, snr, bank, rng, part :
        As :func:`make_noise`.
    fs : float
        The record's rate, Hz: the noise recordings' own (360 Hz); resample other signals first.

    Returns
    -------
    ndarray, shape (n_samples,), float32, mV
    """
    if float(fs) != FS:
        raise ValueError(f"the NSTDB noise is at {FS} Hz and the signal at {fs:g} Hz: resample the signal to {FS} Hz "
                         "first (ecgutils.dsp.resampling.resample)")
    window = int(WINDOW_S * fs)
    n = len(signal)
    m = n // window * window
    w = signal[:m].reshape(-1, window)
    out = signal.astype(np.float32).copy()
    out[:m] = (w + make_noise(w, kind, rng, snr=snr, bank=bank, part=part)).ravel()
    if n > m:  # the tail shorter than a window gets the noise of a full window, cut
        tail = signal[n - window:][None]
        out[m:] = (tail + make_noise(tail, kind, rng, snr=snr, bank=bank, part=part))[0, -(n - m):]
    return out
