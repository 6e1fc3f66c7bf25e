"""Classical filters: the band-pass baseline of the denoising comparison."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from .data import FS

METHODS = ("bandpass", "identity")


def ecg_bandpass(x: np.ndarray, fs: float = FS, low_hz: float = 0.5, high_hz: float = 40.0, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``scipy.signal.sosfiltfilt``) along the last axis.

    Parameters
    ----------
    x : ndarray, shape (..., n_samples)
        Signal in mV.
    fs : float
        Sampling rate, Hz.
    low_hz, high_hz : float
        Pass band, Hz (0.5-40 Hz by default: the evaluation protocol's reference filter).
    order : int
        Butterworth order (applied forwards and backwards, so the magnitude response is squared).

    Returns
    -------
    ndarray, same shape as ``x``, float32
    """
    sos = sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, np.asarray(x, dtype=np.float64), axis=-1).astype(np.float32)


def ecg_clean(x: np.ndarray, fs: float = FS, method: str = "bandpass") -> np.ndarray:
    """A classical denoiser by name.

    Parameters
    ----------
    x : ndarray, shape (..., n_samples)
        Signal in mV.
    method : {"bandpass", "identity"}
        ``bandpass``: :func:`ecg_bandpass` 0.5-40 Hz; ``identity``: the input unchanged (the metrics' anchor).
    """
    if method == "bandpass":
        return ecg_bandpass(x, fs)
    if method == "identity":
        return np.asarray(x, dtype=np.float32).copy()
    raise ValueError(f"unknown method {method!r}; valid options: {', '.join(METHODS)}")
