"""Apply a denoiser or an R-peak detector to your own ECG: ``denoise``, ``detect_r_peaks``, ``classify_segments``.

Every function takes the sampling rate as a required keyword (``fs=``), resamples to the models' 360 Hz inside and
returns at ``fs``. The deep models default to the reference weights shipped with the package; ``checkpoint=`` takes
another ``.pt`` file (e.g. one a notebook just trained) or a model. The classical methods come through the same
door: ``method="bandpass"`` for denoising, ``method="xqrs"`` for R-peaks. Long signals are cut into 10 s windows
that overlap by 2 s, and the outputs are blended with weights that ramp up and down over the overlap.

``denoise``, ``detect_r_peaks`` and ``peak_probability`` also take many signals at once (a list of 1-D signals of any
lengths, or a 2-D array of equal-length rows): their windows go through the network together, which is many times
faster for short recordings, and each result is that of the signal alone (the same peaks; denoised samples to
float32 rounding, as a batch's matrix products may add in another order).
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


def _signals(signal, fs: float) -> tuple[list, str]:
    """One lead, a list of leads, or a 2-D array of leads (rows): checked float32 arrays and the input's form."""
    if isinstance(signal, (list, tuple)) and len(signal) and np.ndim(signal[0]) == 1:
        return [check_signal(s, fs) for s in signal], "list"
    if np.ndim(signal) == 2:
        arr = np.asarray(signal)
        if arr.shape[1] < arr.shape[0] and arr.shape[1] <= 16:
            raise ValueError(f"a 2-D signal is read as (n_signals, n_samples), but shape {arr.shape} looks like "
                             "(n_samples, n_leads): pass one lead, signal[:, 0], or the leads as rows, signal.T")
        return [check_signal(s, fs) for s in arr], "array"
    return [check_signal(signal, fs)], "one"


def _as_given(out: list, form: str, stack: bool = True):
    """The results in the input's form: one array, a list, or (``stack``) a 2-D array for a 2-D input."""
    return out[0] if form == "one" else np.stack(out) if form == "array" and stack else out


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


def overlap_apply(signals: list, fn, length: int, overlap: int, batch_size: int = 256) -> list:
    """Apply ``fn`` (batch of windows (b, length) -> same shape) over 1-D signals of any lengths, blending overlaps.

    The windows of all the signals go through ``fn`` together, ``batch_size`` at a time; a signal shorter than a
    window is mirrored to the window's length and its output cut back.

    Parameters
    ----------
    signals : list of ndarray, shape (n,)
    fn : callable
    length, overlap : int
        Window and overlap, samples.

    Returns
    -------
    list of ndarray, shape (n,), float32
    """
    ramp = np.minimum(np.arange(length) + 1, length - np.arange(length)) / max(overlap, 1)
    ramp, flat = np.clip(ramp, 1e-3, 1.0).astype(np.float64), np.ones(length)
    windows = []  # (signal, start, samples, weights)
    for i, x in enumerate(signals):
        n = len(x)
        if n < length:
            windows.append((i, 0, np.pad(x, (0, length - n), mode="symmetric" if n > 1 else "edge"), flat))
            continue
        starts = list(range(0, n - length + 1, length - overlap))
        starts += [n - length] if starts[-1] != n - length else []
        windows += [(i, s, x[s:s + length], ramp) for s in starts]
    out = [np.zeros(max(len(x), length)) for x in signals]
    wsum = [np.zeros(max(len(x), length)) for x in signals]
    for b in range(0, len(windows), batch_size):
        batch = windows[b:b + batch_size]
        for (i, s, _, w), y in zip(batch, fn(np.stack([win[2] for win in batch]))):
            out[i][s:s + length] += w * y
            wsum[i][s:s + length] += w
    return [(o / ws)[:len(x)].astype(np.float32) for o, ws, x in zip(out, wsum, signals)]


def _at_model_rate(x: np.ndarray, fs: float, model) -> np.ndarray:
    return x if fs == model.fs else resample(x, fs_in=fs, fs_out=model.fs).astype(np.float32)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)), mode="edge")


def _back_to(y: np.ndarray, model_fs: float, fs: float, n: int) -> np.ndarray:
    return (y if fs == model_fs else _fit_length(resample(y, fs_in=model_fs, fs_out=fs), n)).astype(np.float32)


def _model_windows(model, xs: list, fn) -> list:
    return overlap_apply(xs, fn, int(WINDOW_S * model.fs), int(OVERLAP_S * model.fs))


def denoise(signal, *, fs: float, method: str = "lstm", checkpoint=None) -> np.ndarray:
    """Denoise one ECG lead, or many at once.

    Parameters
    ----------
    signal : array_like, shape (n_samples,), a list of them, or shape (n_signals, n_samples)
        One lead in mV, any length; or many (their windows batched through the network together).
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
        The denoised signal in mV, at ``fs`` (a list of them for a list, a 2-D array for a 2-D array).

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250.0                                       # Hz: any rate (the model runs at its own 360 Hz)
    >>> t = np.arange(int(10 * fs)) / fs                 # 10 s
    >>> ecg = np.exp(-((t % 0.8 - 0.4) / 0.012) ** 2)    # 1 mV QRS-like spikes at 75 bpm
    >>> noisy = ecg + 0.1 * np.random.default_rng(0).standard_normal(t.size)  # white noise, 0.1 mV rms
    >>> clean = denoise(noisy, fs=fs)                    # the shipped stacked LSTM
    >>> clean.shape, clean.dtype
    ((2500,), dtype('float32'))
    >>> bool(np.std(clean - ecg) < 0.5 * np.std(noisy - ecg))   # most of the noise is gone (0.026 mV rms left)
    True
    """
    xs, form = _signals(signal, fs)
    _check_method(method, DENOISERS)
    if method in ("bandpass", "identity"):
        return _as_given([filters.ecg_clean(x, fs=fs, method=method) for x in xs], form)
    model = checkpoints.resolve(registry.by_method(method).role, checkpoint)
    ys = _model_windows(model, [_at_model_rate(x, fs, model) for x in xs], lambda b: predict(model, b))
    return _as_given([_back_to(y, model.fs, fs, len(x)) for x, y in zip(xs, ys)], form)


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


def _probability_at_model_rate(xs: list, model) -> list:
    def fn(b):
        return np.repeat(expit(predict(model, b)), model.frame, axis=1)[:, :b.shape[1]]

    return _model_windows(model, xs, fn)


def peak_probability(signal, *, fs: float, checkpoint=None) -> np.ndarray:
    """Per-sample probability that an R-peak lies in that sample's frame, from the GRU detector.

    Parameters
    ----------
    signal : array_like
        One lead or many, as :func:`detect_r_peaks` (mV).
    fs : float
        Hz.
    checkpoint : path or nn.Module, optional

    Returns
    -------
    ndarray, shape (n_samples,), float32
        At ``fs`` (one per signal for many, as :func:`denoise`).
    """
    xs, form = _signals(signal, fs)
    model = checkpoints.resolve("detector", checkpoint)
    probs = _probability_at_model_rate([_at_model_rate(x, fs, model) for x in xs], model)
    return _as_given([np.clip(_back_to(p, model.fs, fs, len(x)), 0.0, 1.0) for x, p in zip(xs, probs)], form)


def detect_r_peaks(signal, *, fs: float, method: str = "gru", checkpoint=None, threshold: float | None = None,
                   t_wave_check: bool = True) -> np.ndarray:
    """Detect the R-peaks of one ECG lead, or of many at once.

    Parameters
    ----------
    signal : array_like, shape (n_samples,), a list of them, or shape (n_signals, n_samples)
        One lead in mV, any length; or many (their windows batched through the network together).
    fs : float
        Its sampling rate, Hz (required).
    method : {"gru", "xqrs"}
        The GRU detector (default) or wfdb's classical XQRS.
    checkpoint : path or nn.Module, optional
        ``gru`` only: another detector; default the shipped reference model.
    threshold : float, optional
        ``gru`` only: the probability a peak must reach; default the model's own (tuned on validation records).
    t_wave_check : bool
        ``gru`` only: drop detections that Pan and Tompkins' rule calls T waves
        (:func:`ecgutils.dsp.peaks.reject_t_waves`).

    Returns
    -------
    ndarray of int64
        Sorted, unique sample indices at ``fs``, at least 200 ms apart. A flat line gives an empty array.
        For many signals: a list, one array per signal.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250.0                                       # Hz: any rate (the model runs at its own 360 Hz)
    >>> t = np.arange(int(10 * fs)) / fs                 # 10 s
    >>> ecg = np.exp(-((t % 0.8 - 0.4) / 0.012) ** 2)    # 1 mV QRS-like spikes at 75 bpm: at 0.4 s, 1.2 s ... 9.2 s
    >>> peaks = detect_r_peaks(ecg, fs=fs)               # sample indices at fs
    >>> len(peaks), bool(np.all(np.abs(peaks / fs - (0.4 + 0.8 * np.arange(12))) < 0.05))  # all 12, within 50 ms
    (12, True)
    >>> [len(p) for p in detect_r_peaks([ecg, np.zeros(2500)], fs=fs)]   # many signals at once; a flat line: none
    [12, 0]
    """
    xs, form = _signals(signal, fs)
    _check_method(method, DETECTORS)
    live = [i for i, x in enumerate(xs) if np.ptp(x) >= 1e-6]
    out = [np.zeros(0, dtype=np.int64) for _ in xs]
    if method == "xqrs":
        for i in live:
            out[i] = peaks.xqrs_detect(xs[i], fs=fs)
    elif live:
        model = checkpoints.resolve(registry.by_method(method).role, checkpoint)
        xms = [_at_model_rate(xs[i], fs, model) for i in live]
        threshold = model.threshold if threshold is None else threshold
        for i, xm, prob in zip(live, xms, _probability_at_model_rate(xms, model)):
            found = peaks.peaks_from_probability(prob, fs=model.fs, threshold=threshold)
            if t_wave_check:
                found = peaks.reject_t_waves(xm, found, fs=model.fs)
            if fs != model.fs:
                found = np.round(found * fs / model.fs).astype(np.int64)
            out[i] = np.unique(found[(found >= 0) & (found < len(xs[i]))])
    return _as_given(out, form, stack=False)


def classify_segments(segments, *, fs: float, checkpoint=None) -> np.ndarray:
    """Probability that each short segment holds an R-peak in its central part (the window classifier).

    Parameters
    ----------
    segments : array_like, shape (n_segments, n_samples)
        mV, from :func:`ecgutils.data.windows.cut_segments`: 0.5 s each (180 samples at 360 Hz), the central 0.25 s
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
                         f"from ecgutils.data.windows.cut_segments), got {seg.shape}")
    if not np.all(np.isfinite(seg)):
        raise ValueError("the segments hold NaN or infinite samples: fill or drop them first")
    if fs != model.fs:
        seg = np.stack([_fit_length(resample(s, fs_in=fs, fs_out=model.fs), model.input_length)
                        for s in seg]).astype(np.float32)
    return expit(predict(model, seg, batch_size=2048)).astype(np.float32)
