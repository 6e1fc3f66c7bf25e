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

from ecgutils.models import calibration, checkpoints, registry
from ecgutils.dsp import filters, peaks
from ecgutils.dsp.quality import flat_seconds, quality_features
from ecgutils.dsp.overlap import overlap_apply
from ecgutils.dsp.resampling import resample

#: Window and overlap of :func:`overlap_apply`, s.
WINDOW_S, OVERLAP_S = 10.0, 2.0
#: Denoising methods: the trained models and the classical filters.
DENOISERS = registry.methods("denoise") + ("bandpass", "identity")
#: R-peak detection methods.
DETECTORS = registry.methods("detect") + ("xqrs",)
#: Cut-off of the zero-phase Butterworth high-pass (order 2) in front of the GRU detector, Hz, so that a baseline
#: swing cannot set the network's scale; chosen on validation (README). ``None``: the raw signal.
DETECTOR_HIGHPASS_HZ: float | None = 0.3
#: Pan and Tompkins' T-wave rule after the GRU detectors' peak picking (offline and streaming): off. Decided on the
#: validation records (README, *Where each choice was made*): with the networks of issue 22 the mean F1 over the
#: validation cases is a hundredth of a point higher without it (it loses in heavy noise what it gains on the other
#: lead). ``True`` turns it on (:func:`ecgutils.dsp.peaks.reject_t_waves`).
DETECTOR_T_WAVE_CHECK: bool = False
#: Windows per network call of the offline models: small batches run faster on one CPU thread (the recurrent state
#: stays in cache; README, *Throughput*). The outputs do not depend on it beyond float32 rounding (tested).
INFERENCE_BATCH = 32


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
    if not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x))
        raise ValueError(f"the signal has {len(bad)} NaN or infinite samples (first at {bad[0]}); fill or cut them "
                         "first (e.g. pandas' Series.interpolate(); a WFDB record: "
                         "ecgutils.io.records.read_record(..., nan_policy='interpolate'))")
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
def predict(model: torch.nn.Module, x: np.ndarray, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
    """Run ``model`` over the rows of ``x`` (n, n_samples), ``batch_size`` rows a call, in evaluation mode -> numpy."""
    device = next(model.parameters()).device
    model.eval()
    outs = [model(torch.as_tensor(x[i:i + batch_size], dtype=torch.float32, device=device)).cpu().numpy()
            for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,), dtype=np.float32)


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


def _detector_input(x: np.ndarray, fs: float, model, highpass_hz: float | None) -> np.ndarray:
    xm = _at_model_rate(x, fs, model)
    return xm if highpass_hz is None else filters.ecg_highpass(xm, fs=model.fs, cutoff_hz=highpass_hz)


def _probability_at_model_rate(xs: list, model) -> list:
    def fn(b):
        return np.repeat(expit(predict(model, b)), model.frame, axis=1)[:, :b.shape[1]]

    return _model_windows(model, xs, fn)


def peak_probability(signal, *, fs: float, checkpoint=None, highpass_hz: float | None = DETECTOR_HIGHPASS_HZ
                     ) -> np.ndarray:
    """Per-sample probability that an R-peak lies in that sample's frame, from the GRU detector.

    Parameters
    ----------
    signal : array_like
        One lead or many, as :func:`detect_r_peaks` (mV).
    fs : float
        Hz.
    checkpoint, highpass_hz :
        As :func:`detect_r_peaks`.

    Returns
    -------
    ndarray, shape (n_samples,), float32
        At ``fs`` (one per signal for many, as :func:`denoise`).
    """
    xs, form = _signals(signal, fs)
    model = checkpoints.resolve("detector", checkpoint)
    probs = _probability_at_model_rate([_detector_input(x, fs, model, highpass_hz) for x in xs], model)
    return _as_given([np.clip(_back_to(p, model.fs, fs, len(x)), 0.0, 1.0) for x, p in zip(xs, probs)], form)


def _gru_beats(xs: list, fs: float, model, threshold: float, t_wave_check: bool, highpass_hz) -> list:
    """Per signal: beats at ``fs``, the probability at each (highest within 33 ms), the trace at the model's rate."""
    xms = [_detector_input(x, fs, model, highpass_hz) for x in xs]
    out, half = [], int(round(peaks.REFINE_S * model.fs))
    for x, xm, prob in zip(xs, xms, _probability_at_model_rate(xms, model)):
        found = peaks.peaks_from_probability(prob, fs=model.fs, threshold=threshold)
        found = peaks.reject_t_waves(xm, found, fs=model.fs) if t_wave_check else found
        raw = prob[np.clip(found[:, None] + np.arange(-half, half + 1), 0, len(prob) - 1)].max(axis=1)
        found = found if fs == model.fs else np.round(found * fs / model.fs).astype(np.int64)
        keep = (found >= 0) & (found < len(x))
        found, first = np.unique(found[keep], return_index=True)
        out.append((found, raw[keep][first], prob))
    return out


def detect_r_peaks(signal, *, fs: float, method: str = "gru", checkpoint=None, threshold: float | None = None,
                   t_wave_check: bool = DETECTOR_T_WAVE_CHECK, highpass_hz: float | None = DETECTOR_HIGHPASS_HZ,
                   return_confidence: bool = False):
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
        ``gru`` only: the probability a peak must reach, in (0, 1); default the model's own (tuned on validation).
    t_wave_check : bool
        ``gru`` only: drop detections that Pan and Tompkins' rule calls T waves
        (:func:`ecgutils.dsp.peaks.reject_t_waves`); default :data:`DETECTOR_T_WAVE_CHECK` (off).
    highpass_hz : float or None
        ``gru`` only: the zero-phase high-pass in front of the network, Hz (:data:`DETECTOR_HIGHPASS_HZ`); None: off.
    return_confidence : bool
        ``gru`` only: also each beat's confidence, the probability that it is true (the shipped detector's map fitted
        on validation, :mod:`ecgutils.models.calibration`; another checkpoint: its uncalibrated probability).

    Returns
    -------
    ndarray of int64
        Sorted, unique sample indices at ``fs``, at least 200 ms apart. A flat line gives an empty array.
        For many signals: a list, one array per signal. With ``return_confidence``: ``(peaks, confidence)``,
        confidence float32 in [0, 1], one per peak (for many signals, two lists).

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
    if method == "xqrs" and (return_confidence or threshold is not None or checkpoint is not None):
        raise ValueError("XQRS gives no probability: return_confidence, threshold and checkpoint need method='gru'")
    threshold = None if threshold is None else peaks.check_threshold(threshold)
    live = [i for i, x in enumerate(xs) if np.ptp(x) >= 1e-6]
    out, conf = [np.zeros(0, dtype=np.int64) for _ in xs], [np.zeros(0, dtype=np.float32) for _ in xs]
    if method == "xqrs":
        for i in live:
            out[i] = peaks.xqrs_detect(xs[i], fs=fs)
    elif live:
        model = checkpoints.resolve(registry.by_method(method).role, checkpoint)
        threshold = model.threshold if threshold is None else threshold
        for i, (found, raw, _) in zip(live, _gru_beats([xs[i] for i in live], fs, model, threshold, t_wave_check,
                                                       highpass_hz)):
            out[i] = found
            conf[i] = calibration.confidence(raw, getattr(model, "shipped_role", None)) if return_confidence else raw
    out = _as_given(out, form, stack=False)
    return (out, _as_given(conf, form, stack=False)) if return_confidence else out


def signal_quality(signal, *, fs: float) -> np.ndarray:
    """Per-second signal quality in [0, 1] of one lead in mV at ``fs`` Hz (or many, as :func:`detect_r_peaks`).

    The shipped GRU detector's features (:func:`ecgutils.dsp.quality.quality_features`: its ambiguity, template
    agreement, a QRS slope that flags T waves taken for R-peaks, the baseline swing over the QRS amplitude, each
    beat's difference from its most similar neighbour) through a map fitted on validation records
    (:mod:`ecgutils.models.calibration`). On the NSTDB test half it separates the noisy seconds from the clean ones
    with ROC-AUC 0.96 (README *Results*); a flat second (no ECG) gets 0: :func:`~ecgutils.dsp.quality.flat_seconds`.
    Returns float32, shape (ceil(n_samples / fs),): each second's quality (the last possibly partial); a list for many.
    """
    xs, form = _signals(signal, fs)
    model = checkpoints.resolve("detector", None)
    out = []
    for x, (found, _, prob) in zip(xs, _gru_beats(xs, fs, model, model.threshold, True, DETECTOR_HIGHPASS_HZ)):
        xm, beats = _at_model_rate(x, fs, model), np.round(found * model.fs / fs).astype(np.int64)
        q = calibration.quality(quality_features(xm, prob, beats, fs=model.fs)) * ~flat_seconds(xm, beats, fs=model.fs)
        out.append(_fit_length(q, -(-len(x) // int(round(fs)))))
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
