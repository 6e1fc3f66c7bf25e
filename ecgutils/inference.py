"""Apply a denoiser or an R-peak detector to your own ECG: ``denoise``, ``detect_r_peaks``, ``classify_segments``.

Every function takes the sampling rate as a required keyword (``fs=``), resamples to the models' 360 Hz inside and
returns at ``fs``. The deep models default to the reference weights shipped with the package; ``checkpoint=`` takes
another ``.pt`` file (e.g. one a notebook just trained) or a model. The classical methods come through the same
door: ``method="bandpass"`` for denoising, ``method="xqrs"`` for R-peaks. Long signals are cut into 10 s windows
that overlap by 2 s, and the outputs are blended with weights that ramp up and down over the overlap.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import expit

from ecgutils.models import checkpoints, registry
from ecgutils.dsp import filters
from ecgutils.dsp import peaks
from ecgutils.dsp.resampling import resample

#: Window and overlap of :func:`overlap_apply`, s.
WINDOW_S, OVERLAP_S = 10.0, 2.0
#: Denoising methods: the trained models and the classical filters.
DENOISERS = registry.methods("denoise") + ("bandpass", "identity")
#: R-peak detection methods.
DETECTORS = registry.methods("detect") + ("xqrs",)


def check_signal(signal, fs: float) -> np.ndarray:
    """Validate one lead in mV and its rate; returns it as float32. Raises ``ValueError`` saying what is wrong."""
    if isinstance(fs, bool) or not isinstance(fs, (int, float, np.integer, np.floating)) or not np.isfinite(fs) \
            or fs <= 0:
        raise ValueError(f"fs must be the signal's sampling rate, a positive number in Hz; got {fs!r}")
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
    return x.astype(np.float32)


def _check_method(method: str, valid: tuple) -> None:
    if method not in valid:
        raise ValueError(f"unknown method {method!r}; valid options: {', '.join(valid)}")


@torch.no_grad()
def predict(model: torch.nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Run ``model`` over the rows of ``x`` (n, n_samples) in batches, in evaluation mode; returns numpy."""
    device = next(model.parameters()).device
    model.eval()
    outs = [model(torch.as_tensor(x[i:i + batch_size], dtype=torch.float32, device=device)).cpu().numpy()
            for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,), dtype=np.float32)


def overlap_apply(x: np.ndarray, fn, length: int, overlap: int, batch_size: int = 128) -> np.ndarray:
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


def _at_model_rate(x: np.ndarray, fs: float, model) -> np.ndarray:
    return x if fs == model.fs else resample(x, fs_in=fs, fs_out=model.fs).astype(np.float32)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)), mode="edge")


def _back_to(y: np.ndarray, model_fs: float, fs: float, n: int) -> np.ndarray:
    return (y if fs == model_fs else _fit_length(resample(y, fs_in=model_fs, fs_out=fs), n)).astype(np.float32)


def _model_windows(model, x: np.ndarray, fn) -> np.ndarray:
    return overlap_apply(x, fn, int(WINDOW_S * model.fs), int(OVERLAP_S * model.fs))


def denoise(signal, *, fs: float, method: str = "lstm", checkpoint=None) -> np.ndarray:
    """Denoise one ECG lead.

    Parameters
    ----------
    signal : array_like, shape (n_samples,)
        One lead in mV, any length.
    fs : float
        Its sampling rate, Hz (required: a wrong rate gives wrong answers).
    method : {"lstm", "cnn", "bandpass", "identity"}
        The stacked-LSTM denoiser (default), the 1-D CNN baseline, the 0.5-40 Hz zero-phase Butterworth band-pass,
        or the input unchanged (the metrics' anchor).
    checkpoint : path or nn.Module, optional
        For ``lstm``/``cnn``: another model; default the shipped reference model.

    Returns
    -------
    ndarray, shape (n_samples,), float32
        The denoised signal in mV, at ``fs``.
    """
    x = check_signal(signal, fs)
    _check_method(method, DENOISERS)
    if method in ("bandpass", "identity"):
        return filters.ecg_clean(x, fs=fs, method=method)
    model = checkpoints.resolve(registry.by_method(method).role, checkpoint)
    y = _model_windows(model, _at_model_rate(x, fs, model), lambda b: predict(model, b))
    return _back_to(y, model.fs, fs, len(x))


def denoise_windows(windows, *, fs: float, method: str = "lstm", checkpoint=None) -> np.ndarray:
    """Denoise a batch of separate windows (not one long signal), e.g. the 10 s test windows.

    Parameters
    ----------
    windows : array_like, shape (n_windows, n_samples)
        mV.
    fs : float
        Sampling rate, Hz; the models need their own (360 Hz), the filters take any.
    method, checkpoint :
        As :func:`denoise`.

    Returns
    -------
    ndarray, shape (n_windows, n_samples), float32
    """
    x = np.asarray(windows, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"expected finite windows of shape (n_windows, n_samples), got {x.shape}")
    _check_method(method, DENOISERS)
    if method in ("bandpass", "identity"):
        return filters.ecg_clean(x, fs=fs, method=method)
    model = checkpoints.resolve(registry.by_method(method).role, checkpoint)
    if fs != model.fs:
        raise ValueError(f"the {method} model works at {model.fs} Hz, the windows are at {fs} Hz: resample them "
                         "(ecgutils.dsp.resampling.resample), or use denoise() on the whole signal")
    return predict(model, x).astype(np.float32)


def _probability_at_model_rate(x: np.ndarray, model) -> np.ndarray:
    def fn(b):
        return np.repeat(expit(predict(model, b)), model.frame, axis=1)[:, :b.shape[1]]

    return _model_windows(model, x, fn)


def peak_probability(signal, *, fs: float, checkpoint=None) -> np.ndarray:
    """Per-sample probability that an R-peak lies in that sample's frame, from the GRU detector.

    Returns
    -------
    ndarray, shape (n_samples,), float32
        At ``fs``.
    """
    x = check_signal(signal, fs)
    model = checkpoints.resolve("detector", checkpoint)
    prob = _probability_at_model_rate(_at_model_rate(x, fs, model), model)
    return np.clip(_back_to(prob, model.fs, fs, len(x)), 0.0, 1.0)


def detect_r_peaks(signal, *, fs: float, method: str = "gru", checkpoint=None, threshold: float | None = None,
                   t_wave_check: bool = True) -> np.ndarray:
    """Detect the R-peaks of one ECG lead.

    Parameters
    ----------
    signal : array_like, shape (n_samples,)
        One lead in mV, any length.
    fs : float
        Its sampling rate, Hz (required).
    method : {"gru", "xqrs"}
        The GRU detector (default) or wfdb's classical XQRS.
    checkpoint : path or nn.Module, optional
        ``gru`` only: another detector; default the shipped reference model.
    threshold : float, optional
        ``gru`` only: the probability a peak must reach; default the model's own (tuned on validation records).
    t_wave_check : bool
        ``gru`` only: drop detections that Pan and Tompkins' rule calls T waves (:func:`ecgutils.peaks.reject_t_waves`).

    Returns
    -------
    ndarray of int64
        Sorted, unique sample indices at ``fs``, at least 200 ms apart. A flat line gives an empty array.
    """
    x = check_signal(signal, fs)
    _check_method(method, DETECTORS)
    if np.ptp(x) < 1e-6:
        return np.zeros(0, dtype=np.int64)
    if method == "xqrs":
        return peaks.xqrs_detect(x, fs=fs)
    model = checkpoints.resolve(registry.by_method(method).role, checkpoint)
    xm = _at_model_rate(x, fs, model)
    found = peaks.peaks_from_probability(_probability_at_model_rate(xm, model), fs=model.fs,
                                         threshold=model.threshold if threshold is None else threshold)
    if t_wave_check:
        found = peaks.reject_t_waves(xm, found, fs=model.fs)
    if fs != model.fs:
        found = np.round(found * fs / model.fs).astype(np.int64)
    return np.unique(found[(found >= 0) & (found < len(x))])


def classify_segments(segments, *, fs: float, checkpoint=None) -> np.ndarray:
    """Probability that each short segment holds an R-peak in its central part (the window classifier).

    Parameters
    ----------
    segments : array_like, shape (n_segments, n_samples)
        mV, from :func:`ecgutils.windows.cut_segments`: 0.5 s each (180 samples at 360 Hz), the central 0.25 s
        being the part the answer is about.
    fs : float
        Sampling rate, Hz (required; other rates than the model's are resampled).
    checkpoint : path or nn.Module, optional
        Default the shipped reference classifier.

    Returns
    -------
    ndarray, shape (n_segments,), float32
    """
    seg = np.asarray(segments, dtype=np.float32)
    model = checkpoints.resolve("classifier", checkpoint)
    expected = int(round(model.input_length * fs / model.fs))
    if seg.ndim != 2 or seg.shape[0] == 0 or seg.shape[1] != expected:
        raise ValueError(f"expected segments of shape (n_segments, {expected}) at {fs:g} Hz (0.5 s each, "
                         f"from ecgutils.windows.cut_segments), got {seg.shape}")
    if not np.all(np.isfinite(seg)):
        raise ValueError("the segments hold NaN or infinite samples: fill or drop them first")
    if fs != model.fs:
        seg = np.stack([_fit_length(resample(s, fs_in=fs, fs_out=model.fs), model.input_length)
                        for s in seg]).astype(np.float32)
    return expit(predict(model, seg, batch_size=2048)).astype(np.float32)
