"""Apply the trained models to a signal of any length: ``denoise``, ``detect_r_peaks``, ``classify_segments``.

Long signals are cut into 10 s windows that overlap by 2 s; the outputs are blended with weights that ramp up and
down over the overlap, so there are no seams. A sampling rate other than 360 Hz is resampled in (and out).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from scipy import signal as sps

from . import paths
from .data import FS, resample
from .filters import ecg_bandpass
from .train import load_model, predict

#: Where notebooks 02 and 03 write the default models.
DEFAULT_CHECKPOINTS = {
    "denoiser": ("lstm_denoiser.pt", "02_lstm_denoising.ipynb"),
    "detector": ("gru_beat_detector.pt", "03_gru_rpeak_detection.ipynb"),
    "classifier": ("gru_rpeak.pt", "03_gru_rpeak_detection.ipynb"),
}
WINDOW = 10 * FS
OVERLAP = 2 * FS
#: Shortest distance between two R-peaks, s (refractory period).
REFRACTORY_S = 0.2
#: Half-width of the neighbourhood that refines each picked peak, samples at 360 Hz (33 ms).
REFINE = 12
#: Pan and Tompkins' T-wave rule: a detection this soon after the previous beat (s) whose steepest slope is below
#: this fraction of that beat's is a T wave.
T_WAVE_WINDOW_S, T_WAVE_SLOPE_RATIO = 0.36, 0.5


def checkpoint_path(role: str, checkpoint: str | Path | None = None) -> tuple[Path, str]:
    """The checkpoint to use for ``role`` (``denoiser``, ``detector``, ``classifier``) and the notebook that makes it."""
    name, notebook = DEFAULT_CHECKPOINTS[role]
    return (Path(checkpoint) if checkpoint is not None else paths.outputs_dir("models") / name), notebook


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float):
    return load_model(path)


def get_model(role: str, checkpoint=None):
    """Load (once) the model for ``role``; a missing checkpoint names the notebook that writes it."""
    if isinstance(checkpoint, torch.nn.Module):
        return checkpoint.eval()
    path, notebook = checkpoint_path(role, checkpoint)
    if not path.exists():
        raise FileNotFoundError(f"no {role} checkpoint at {path}: run notebooks/{notebook} first "
                                f"(or pass checkpoint=<path to a .pt file>).")
    return _cached(str(path.resolve()), path.stat().st_mtime)


def check_signal(signal, fs: float) -> np.ndarray:
    """Validate a 1-D signal in mV; returns it as float32. Raises ``ValueError`` saying what is wrong."""
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal of shape (n_samples,) in mV, got shape {x.shape}; "
                         "pass one lead, e.g. signal[:, 0]")
    if x.size == 0:
        raise ValueError("the signal is empty: pass at least one sample")
    if not np.all(np.isfinite(x)):
        bad = np.flatnonzero(~np.isfinite(x))
        raise ValueError(f"the signal has {len(bad)} NaN or infinite samples (first at {bad[0]}); "
                         "fill or cut them first (ecgutils.data.read_record(..., nan_policy='interpolate'))")
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs}")
    return x.astype(np.float32)


def overlap_apply(x: np.ndarray, fn, length: int = WINDOW, overlap: int = OVERLAP, batch_size: int = 128) -> np.ndarray:
    """Apply ``fn`` (batch of windows (b, length) -> same shape) over a long 1-D signal, blending overlaps.

    Parameters
    ----------
    x : ndarray, shape (n,)
    fn : callable
    length, overlap : int
        Window and overlap, samples.

    Returns
    -------
    ndarray, shape (n,), float32
    """
    n = len(x)
    if n < length:
        padded = np.pad(x, (0, length - n), mode="symmetric" if n > 1 else "edge")
        return fn(padded[None])[0, :n].astype(np.float32)
    hop = length - overlap
    starts = list(range(0, n - length + 1, hop))
    if starts[-1] != n - length:
        starts.append(n - length)
    ramp = np.minimum(np.arange(length) + 1, length - np.arange(length)) / max(overlap, 1)
    w = np.clip(ramp, 1e-3, 1.0).astype(np.float64)
    out, wsum = np.zeros(n), np.zeros(n)
    for b in range(0, len(starts), batch_size):
        st = starts[b:b + batch_size]
        y = fn(np.stack([x[s:s + length] for s in st]))
        for s, yi in zip(st, y):
            out[s:s + length] += w * yi
            wsum[s:s + length] += w
    return (out / wsum).astype(np.float32)


def denoise(signal, fs: float = FS, checkpoint=None) -> np.ndarray:
    """Denoise an ECG lead with the trained LSTM (or another denoiser checkpoint).

    Parameters
    ----------
    signal : array_like, shape (n_samples,)
        One lead in mV, any length.
    fs : float
        Its sampling rate, Hz (resampled to 360 Hz and back if different).
    checkpoint : path or nn.Module, optional
        Default ``outputs/models/lstm_denoiser.pt`` (written by notebook 02).

    Returns
    -------
    ndarray, shape (n_samples,), float32
        The denoised signal in mV.
    """
    x = check_signal(signal, fs)
    model = get_model("denoiser", checkpoint)
    x360 = resample(x, fs, FS).astype(np.float32) if fs != FS else x
    y = overlap_apply(x360, lambda b: predict(model, b.astype(np.float32)))
    if fs != FS:
        y = _fit_length(resample(y, FS, fs), len(x))
    return y.astype(np.float32)


def denoise_windows(windows, checkpoint=None) -> np.ndarray:
    """Denoise a batch of separate windows (not one long signal), e.g. the 10 s test windows.

    Parameters
    ----------
    windows : array_like, shape (n_windows, n_samples)
        mV at 360 Hz.
    checkpoint : path or nn.Module, optional
        Default ``outputs/models/lstm_denoiser.pt``.

    Returns
    -------
    ndarray, shape (n_windows, n_samples), float32
    """
    x = np.asarray(windows, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"expected finite windows of shape (n_windows, n_samples), got {x.shape}")
    return predict(get_model("denoiser", checkpoint), x).astype(np.float32)


def peak_probability(signal, fs: float = FS, checkpoint=None) -> np.ndarray:
    """Per-sample probability (at 360 Hz) that an R-peak is at that sample's frame.

    Returns
    -------
    ndarray, shape (n_samples at 360 Hz,), float32
    """
    x = check_signal(signal, fs)
    model = get_model("detector", checkpoint)
    x360 = resample(x, fs, FS).astype(np.float32) if fs != FS else x
    frame = model.config["frame"]

    def fn(b):
        logits = predict(model, b.astype(np.float32))
        return np.repeat(1 / (1 + np.exp(-logits)), frame, axis=1)[:, :b.shape[1]]

    return overlap_apply(x360, fn)


def stored_threshold(model, default: float = 0.5) -> float:
    """The decision threshold tuned on validation records and stored in a model's checkpoint (``meta``), or
    ``default`` for a model without one."""
    return float(getattr(model, "meta", {}).get("threshold", default))


def detect_r_peaks(signal, fs: float = FS, checkpoint=None, threshold: float | None = None,
                   t_wave_check: bool = True) -> np.ndarray:
    """Detect R-peaks with the trained GRU detector.

    Parameters
    ----------
    signal : array_like, shape (n_samples,)
        One lead in mV, any length.
    fs : float
        Sampling rate, Hz (other rates than 360 Hz are resampled for the model; indices come back at ``fs``).
    checkpoint : path or nn.Module, optional
        Default ``outputs/models/gru_beat_detector.pt`` (written by notebook 03).
    threshold : float, optional
        Probability a peak must reach; default the threshold tuned on the validation records and stored in the
        checkpoint (0.5 for a model without one).
    t_wave_check : bool
        Drop detections that Pan and Tompkins' rule calls T waves (:func:`reject_t_waves`).

    Returns
    -------
    ndarray of int64
        Sample indices (at ``fs``) of the R-peaks, sorted and unique, at least 200 ms apart. A flat line gives
        an empty array.
    """
    x = check_signal(signal, fs)
    if np.ptp(x) < 1e-6:
        return np.zeros(0, dtype=np.int64)
    model = get_model("detector", checkpoint)
    if threshold is None:
        threshold = stored_threshold(model)
    x360 = resample(x, fs, FS).astype(np.float32) if fs != FS else x
    peaks = peaks_from_probability(peak_probability(x360, FS, model), threshold)
    if t_wave_check:
        peaks = reject_t_waves(x360, peaks, FS)
    return _to_rate(peaks, fs, len(x))


def peaks_from_probability(prob: np.ndarray, threshold: float = 0.5, fs_out: float = FS,
                           n_out: int | None = None, refine: int = REFINE) -> np.ndarray:
    """Peak picking: local maxima above ``threshold`` at least 200 ms apart, in samples at ``fs_out``.

    Parameters
    ----------
    prob : ndarray, shape (n_samples,)
        Per-sample probability at 360 Hz (:func:`peak_probability`).
    threshold : float
    fs_out : float
        Sampling rate of the returned indices, Hz.
    n_out : int, optional
        Length of the signal at ``fs_out``; indices outside it are dropped.
    refine : int
        Half-width (samples at 360 Hz) of the neighbourhood whose probability-weighted centre replaces each
        maximum. The detector marks a beat's frame and its neighbours, so the probability forms a plateau a few
        frames wide and its highest frame may be a neighbour; the centre of the plateau is the beat. 0: no
        refinement.
    """
    prob = np.asarray(prob, dtype=np.float64)
    peaks, _ = sps.find_peaks(prob, height=threshold, distance=int(REFRACTORY_S * FS))
    if refine and len(peaks):
        offsets = np.arange(-refine, refine + 1)
        for _ in range(2):  # the second pass centres the neighbourhood on the first estimate
            idx = np.clip(peaks[:, None] + offsets, 0, len(prob) - 1)
            w = prob[idx]
            peaks = np.round((w * idx).sum(1) / np.maximum(w.sum(1), 1e-12)).astype(np.int64)
    return _to_rate(peaks, fs_out, n_out)


def _to_rate(peaks: np.ndarray, fs_out: float, n_out: int | None) -> np.ndarray:
    """Indices at 360 Hz -> sorted unique indices at ``fs_out``, those outside ``[0, n_out)`` dropped."""
    if fs_out != FS:
        peaks = np.round(peaks * fs_out / FS).astype(np.int64)
    if n_out is not None:
        peaks = peaks[(peaks >= 0) & (peaks < n_out)]
    return np.unique(peaks.astype(np.int64))


def reject_t_waves(signal: np.ndarray, peaks: np.ndarray, fs: float = FS, window_s: float = T_WAVE_WINDOW_S,
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


def classify_segments(segments: np.ndarray, checkpoint=None) -> np.ndarray:
    """Probability that each 0.5 s segment (180 samples at 360 Hz, mV) holds an R-peak in its central 0.25 s.

    Parameters
    ----------
    segments : ndarray, shape (n_segments, 180)
        From :func:`ecgutils.windows.cut_segments`.

    Returns
    -------
    ndarray, shape (n_segments,), float32
    """
    seg = np.asarray(segments, dtype=np.float32)
    if seg.ndim != 2 or seg.shape[0] == 0:
        raise ValueError(f"expected segments of shape (n_segments, n_samples), got {seg.shape}")
    model = get_model("classifier", checkpoint)
    return (1 / (1 + np.exp(-predict(model, seg, batch_size=2048)))).astype(np.float32)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)), mode="edge")
