"""The R-peak experiment of notebook 03 and the benchmark: train the GRU window classifier and the GRU beat
detector, and score them (and wfdb's XQRS) on whole records, as EC57 does.

Scoring spans: ``ec57`` skips the first 5 minutes of each record (as ANSI/AAMI EC57 does; the detector may learn
during them) and ``whole`` keeps everything but the first and last second. For the NSTDB records only the beats
inside the noisy segments count.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score
from tqdm.auto import tqdm

from . import paths
from .data import FS, read_record
from .dataset import Dataset
from .export import write_csv
from .inference import (classify_segments, detect_r_peaks, peak_probability, peaks_from_probability, reject_t_waves,
                        stored_threshold)
from .metrics import classification_metrics, score_detections
from .models import build_model
from .noise import NoiseBank, make_noise
from .nstdb import noisy_mask
from .splits import get_split
from .train import TrainConfig, fit, load_checkpoint, noisy_batches, save_checkpoint
from .windows import cut_segments, peak_targets

TRAINING = {
    "quick": {"epochs": 3, "patience": 3, "batch_size": 16, "max_minutes": 2},
    "full": {"epochs": 40, "patience": 6, "batch_size": 64, "max_minutes": 18},
}
#: The window classifier is small and sees 39 segments per window (a batch of 32 windows is 1,280 segments).
TRAINING_CLASSIFIER = {"quick": TRAINING["quick"],
                       "full": {"epochs": 36, "patience": 6, "batch_size": 32, "max_minutes": 14}}
#: Detector and classifier training noise: every kind, down to -15 dB (NSTDB level 0 is about -12.7 dB).
TRAIN_NOISE = {"kinds": ("gaussian", "bw", "em", "ma", "mixed"), "snr_range": (-15.0, 30.0), "clean_fraction": 0.15}
#: Samples on each side of the classifier's 0.25 s segment.
SEGMENT, CONTEXT = 90, 45


def _bce(pos_weight: float):
    pw = torch.tensor(pos_weight)

    def loss(logits, target, inputs=None):
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=pw.to(logits.device))

    return loss


def _setup(table: dict, kind: str, ds: Dataset, profile: str, seed: int, model_config, overrides):
    """Seeded model, training settings, batch size, random generator, training windows and their beats."""
    settings = {**table[profile], **overrides}
    batch_size = settings.pop("batch_size")
    model = build_model(kind, seed=seed, **(model_config or {}))
    ws = ds.train.windows
    return model, TrainConfig(seed=seed, **settings), batch_size, np.random.default_rng(seed), ws, ws.beat_lists()


# --------------------------------------------------------------------------------------------- beat detector
def train_detector(ds: Dataset, bank: NoiseBank, profile: str = "quick", seed: int = 0,
                   name: str = "gru_beat_detector", model_config: dict | None = None, progress: bool = True,
                   **train_overrides):
    """Train the GRU beat detector: per-frame "R-peak here" targets, fresh noise every epoch.

    After training, the peak-picking threshold is tuned on the validation records (:func:`tune_threshold`),
    written to the checkpoint and its table to ``outputs/csv/<name>_threshold.csv``.

    Returns
    -------
    model, history : nn.Module, pandas.DataFrame
    """
    model, cfg, batch_size, rng, ws, beats = _setup(TRAINING, "gru_detector", ds, profile, seed, model_config,
                                                   train_overrides)
    frame = model.config["frame"]

    def epoch(_):
        for x, _, idx in noisy_batches(ws.x, bank, rng, batch_size, **TRAIN_NOISE):
            yield x, peak_targets(ws.length, [beats[i] for i in idx], frame)

    v = ds.val
    vx = np.concatenate([v.real, v.gaussian, v.windows.x])
    vy = np.concatenate([peak_targets(v.windows.length, v.windows.beat_lists(), frame)] * 3)
    val = [(vx[i:i + 64], vy[i:i + 64]) for i in range(0, len(vx), 64)]
    history = fit(model, epoch, val, _bce(4.0), cfg, name=name, kind="gru_detector",
                  progress=progress, meta={"profile": profile, "dataset": ds.path.name, "train_noise": TRAIN_NOISE})
    signals, refs = records_signals(get_split(profile).val)
    threshold, table = tune_threshold(model, signals, refs, bank, seed=seed)
    write_csv(table, paths.outputs_dir("csv") / f"{name}_threshold.csv", index=False)
    store_threshold(paths.outputs_dir("models") / f"{name}.pt", model, threshold)
    return model, history


#: Peak-picking thresholds tried on the validation records.
THRESHOLDS = tuple(np.round(np.arange(0.3, 0.96, 0.05), 2))
#: Inputs the detector's threshold is tuned on: the validation records clean and with noise (training half).
TUNE_NOISE = (("none", None), ("em", 6.0), ("em", 0.0), ("em", -6.0), ("ma", 0.0), ("mixed", -6.0))


def tune_threshold(model, signals: dict, refs: dict, bank: NoiseBank, thresholds=THRESHOLDS, noise=TUNE_NOISE,
                   seed: int = 0, t_wave_check: bool = True) -> tuple[float, pd.DataFrame]:
    """Choose the detector's peak-picking threshold on validation records (never on test records).

    The network is trained with positives weighted 4x (so that no beat is missed early in training), which
    makes 0.5 a lenient threshold; the threshold with the best mean gross F1 over the validation inputs is kept.

    Parameters
    ----------
    model : nn.Module
        The trained :class:`~ecgutils.models.GRUDetector`.
    signals, refs : dict
        Validation records (name to mV signal at 360 Hz) and their reference beats, from :func:`records_signals`.
    bank : NoiseBank
    thresholds : sequence of float
    noise : sequence of (kind, snr dB)
        Inputs to score: ``("none", None)`` is the clean record; others get noise from the training half.
    t_wave_check : bool
        Apply the T-wave rule after peak picking, as :func:`ecgutils.inference.detect_r_peaks` does by default.

    Returns
    -------
    threshold : float
    table : pandas.DataFrame
        ``noise``, ``snr``, ``threshold``, ``gross_f1`` for every input and threshold.
    """
    rows = []
    for i, (kind, snr) in enumerate(noise):
        rng = np.random.default_rng([seed, i])
        pairs_at = {t: {} for t in thresholds}
        for r, sig in signals.items():
            x = sig if kind == "none" else noisy_record(sig, kind, snr, bank, rng, part="train")
            prob = peak_probability(x, FS, model)
            lo, hi = scoring_span(len(x), "whole")
            for t in thresholds:
                found = peaks_from_probability(prob, t)
                if t_wave_check:
                    found = reject_t_waves(x, found)
                pairs_at[t][r] = (in_span(refs[r], lo, hi), in_span(found, lo, hi))
        for t in thresholds:
            rows.append({"noise": kind, "snr": snr, "threshold": t, "gross_f1": score_detections(pairs_at[t])[1]["gross_f1"]})
    table = pd.DataFrame(rows)
    return float(table.groupby("threshold").gross_f1.mean().idxmax()), table


def store_threshold(path, model, threshold: float) -> None:
    """Record the tuned ``threshold`` in the checkpoint's metadata (and on ``model.meta``)."""
    payload = load_checkpoint(path)
    meta = {**payload["meta"], "threshold": float(threshold)}
    save_checkpoint(path, model, payload["kind"], meta)
    model.meta = meta


# --------------------------------------------------------------------------------------------- window classifier
def segments_of(x: np.ndarray, beat_lists) -> tuple[np.ndarray, np.ndarray]:
    """Classifier inputs and labels of a batch of windows (see :func:`ecgutils.windows.cut_segments`)."""
    inp, lab, _, _ = cut_segments(x, beat_lists, SEGMENT, CONTEXT)
    return inp, lab.astype(np.float32)


def train_classifier(ds: Dataset, bank: NoiseBank, profile: str = "quick", seed: int = 0, name: str = "gru_rpeak",
                     model_config: dict | None = None, progress: bool = True, **train_overrides):
    """Train the GRU window classifier (R-peak in the central 0.25 s of a 0.5 s segment, or not).

    The loss weights the positive class by the negative/positive ratio of the training segments; the decision
    threshold with the best F1 on the validation segments (clean, Gaussian and real noise) is then stored in the
    checkpoint, since the weighting moves the best threshold away from 0.5.

    Returns
    -------
    model, history : nn.Module, pandas.DataFrame
    """
    model_config = {"context": CONTEXT, **(model_config or {})}  # the model pools over the labelled centre only
    model, cfg, batch_size, rng, ws, beats = _setup(TRAINING_CLASSIFIER, "gru_classifier", ds, profile, seed,
                                                   model_config, train_overrides)
    _, lab = segments_of(ws.x, beats)
    pos_weight = float((1 - lab.mean()) / max(lab.mean(), 1e-6))

    def epoch(_):
        for x, _, idx in noisy_batches(ws.x, bank, rng, batch_size, **TRAIN_NOISE):
            yield segments_of(x, [beats[i] for i in idx])

    v = ds.val
    vb = v.windows.beat_lists()
    parts = [segments_of(x, vb) for x in (v.real, v.gaussian, v.windows.x)]
    vx, vy = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    val = [(vx[i:i + 2048], vy[i:i + 2048]) for i in range(0, len(vx), 2048)]
    history = fit(model, epoch, val, _bce(pos_weight), cfg, name=name,
                  kind="gru_classifier", progress=progress,
                  meta={"profile": profile, "dataset": ds.path.name, "pos_weight": pos_weight})
    prob = classify_segments(vx, model)
    f1 = [f1_score(vy, prob >= t) for t in THRESHOLDS]
    store_threshold(paths.outputs_dir("models") / f"{name}.pt", model, THRESHOLDS[int(np.argmax(f1))])
    return model, history


def classifier_report(model, inputs: dict, beat_lists, threshold: float | None = None) -> tuple[pd.DataFrame, dict]:
    """Score the window classifier on several versions of the same windows.

    Parameters
    ----------
    model : nn.Module
    inputs : dict
        Name (``clean``, ``gaussian``, ...) to windows (n, length) in mV.
    beat_lists : list of ndarray
        Reference beats per window.
    threshold : float, optional
        Decision threshold on the probability; default the one tuned on validation and stored in the checkpoint.

    Returns
    -------
    table : pandas.DataFrame
        One row per input: accuracy, precision, recall, f1, roc_auc, n, positives.
    details : dict
        Per input: the full metrics dict (with the confusion matrix), labels and probabilities.
    """
    if threshold is None:
        threshold = stored_threshold(model)
    rows, details = [], {}
    for name, x in inputs.items():
        seg, lab = segments_of(x, beat_lists)
        prob = classify_segments(seg, model)
        m = classification_metrics(lab, prob, threshold)
        details[name] = {**m, "labels": lab, "prob": prob}
        rows.append({"input": name, **{k: v for k, v in m.items() if k != "confusion"}})
    return pd.DataFrame(rows).set_index("input"), details


# --------------------------------------------------------------------------------------------- whole records
def xqrs(signal: np.ndarray, fs: float = FS) -> np.ndarray:
    """wfdb's XQRS detector (``wfdb.processing.xqrs_detect``), quietly; sample indices."""
    from wfdb.processing import xqrs_detect

    return np.asarray(xqrs_detect(np.asarray(signal, dtype=np.float64), fs=fs, verbose=False), dtype=np.int64)


def noisy_record(signal: np.ndarray, kind: str, snr: float, bank: NoiseBank, rng: np.random.Generator,
                 part: str = "test", window: int = 10 * FS) -> np.ndarray:
    """A whole record with noise at ``snr`` dB in every 10 s window (test-half noise by default), mV."""
    n = len(signal)
    m = n // window * window
    w = signal[:m].reshape(-1, window)
    out = signal.astype(np.float32).copy()
    out[:m] = (w + make_noise(w, kind, rng, snr=snr, bank=bank, part=part)).ravel()
    if n > m:  # the tail shorter than a window gets the noise of a full window, cut
        tail = signal[n - window:][None]
        out[m:] = (tail + make_noise(tail, kind, rng, snr=snr, bank=bank, part=part))[0, -(n - m):]
    return out


def scoring_span(n: int, span: str, fs: float = FS) -> tuple[int, int]:
    """First and last+1 sample scored: ``ec57`` skips the first 5 min; ``whole`` skips the first and last second."""
    if span == "ec57":
        return int(300 * fs), n - int(fs)
    if span == "whole":
        return int(fs), n - int(fs)
    raise ValueError(f"unknown span {span!r}; valid options: ec57, whole")


def in_span(samples: np.ndarray, lo: int, hi: int, mask: np.ndarray | None = None) -> np.ndarray:
    """The samples in ``[lo, hi)`` (and where ``mask`` is True)."""
    s = samples[(samples >= lo) & (samples < hi)]
    return s[mask[s]] if mask is not None else s


def detect_records(signals: dict, detectors: dict[str, Callable], progress: bool = True) -> dict:
    """Run every detector on every signal; also time them.

    Parameters
    ----------
    signals : dict
        Name to 1-D signal (mV, 360 Hz).
    detectors : dict
        Name to ``fn(signal) -> sample indices``.

    Returns
    -------
    dict
        ``{detector: {"peaks": {name: indices}, "seconds": total, "hours": total ECG hours}}``.
    """
    out = {}
    hours = sum(len(s) for s in signals.values()) / FS / 3600
    for dname, fn in detectors.items():
        peaks, t0 = {}, time.perf_counter()
        for name, sig in tqdm(signals.items(), desc=dname, disable=not progress, leave=False):
            peaks[name] = fn(sig)
        out[dname] = {"peaks": peaks, "seconds": time.perf_counter() - t0, "hours": hours}
    return out


def score_records(detections: dict, references: dict, lengths: dict, span: str = "ec57",
                  masks: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Beat-level scores of every detector over the records.

    Parameters
    ----------
    detections : dict
        From :func:`detect_records`.
    references : dict
        Record name to reference beat samples.
    lengths : dict
        Record name to its number of samples.
    span : {"ec57", "whole"}
    masks : dict, optional
        Record name to a boolean mask of the samples to score (e.g. NSTDB noisy segments).

    Returns
    -------
    overall : pandas.DataFrame
        One row per detector: gross and per-record-average Se, +P, F1, DER (%), counts, median |error| (ms),
        seconds per hour of ECG.
    per_record : pandas.DataFrame
        One row per (detector, record).
    """
    rows, per_rows = [], []
    for dname, d in detections.items():
        pairs = {}
        for name, det in d["peaks"].items():
            lo, hi = scoring_span(lengths[name], span)
            mask = None if masks is None else masks[name]
            pairs[name] = (in_span(references[name], lo, hi, mask), in_span(det, lo, hi, mask))
        per, overall = score_detections(pairs)
        rows.append({"detector": dname, **overall, "s_per_hour": d["seconds"] / max(d["hours"], 1e-9)})
        per_rows.append(per.assign(detector=dname).reset_index())
    return pd.DataFrame(rows).set_index("detector"), pd.concat(per_rows, ignore_index=True)


def nstdb_signals(levels, **fetch_kwargs):
    """NSTDB test records as whole signals, with the clean records' reference beats and the noisy-segment mask.

    Returns
    -------
    signals, references, masks : dict
        Keyed by NSTDB record name.
    """
    from .nstdb import record_name

    signals, refs, masks = {}, {}, {}
    for clean in ("118", "119"):
        ref = read_record(clean, **fetch_kwargs)
        for lvl in levels:
            name = record_name(clean, lvl)
            rec = read_record(name, db="nstdb", **fetch_kwargs)
            signals[name], refs[name], masks[name] = rec.signal, ref.beats, noisy_mask(len(rec.signal))
    return signals, refs, masks


def denoise_then(detector: Callable, denoiser) -> Callable:
    """A detector that first denoises the signal with ``denoiser`` (a model or checkpoint)."""
    from .inference import denoise

    return lambda sig: detector(denoise(sig, FS, denoiser))


def gru(model) -> Callable:
    """The trained GRU detector as ``fn(signal) -> indices``."""
    return lambda sig: detect_r_peaks(sig, FS, model)


def records_signals(records, **fetch_kwargs) -> tuple[dict, dict]:
    """Whole MIT-BIH records: ``signals`` (name to mV array) and ``references`` (name to beat samples)."""
    recs = {r: read_record(r, **fetch_kwargs) for r in records}
    return {r: rec.signal for r, rec in recs.items()}, {r: rec.beats for r, rec in recs.items()}


def clean_scores(signals: dict, refs: dict, detectors: dict, spans=("ec57", "whole"),
                 progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detectors on clean records; returns (overall per detector and span, per-record for the ``ec57`` span)."""
    lengths = {r: len(s) for r, s in signals.items()}
    det = detect_records(signals, detectors, progress)
    rows, per_first = [], None
    for span in spans:
        overall, per = score_records(det, refs, lengths, span)
        rows.append(overall.assign(span=span))
        per_first = per if per_first is None else per_first
    return pd.concat(rows), per_first


def excerpt(signals: dict, refs: dict, start_s: float, stop_s: float) -> tuple[dict, dict]:
    """The same stretch ``[start_s, stop_s)`` of every record, with its reference beats shifted to match."""
    a, b = int(start_s * FS), int(stop_s * FS)
    sig = {r: s[a:b] for r, s in signals.items()}
    ref = {r: x[(x >= a) & (x < b)] - a for r, x in refs.items()}
    return sig, ref


def noisy_scores(signals: dict, refs: dict, detectors: dict, bank: NoiseBank, kinds=("em",),
                 levels=(-6, 0, 6, 12, 18, 24), seed: int = 0, minutes=(5, 10), progress: bool = True) -> pd.DataFrame:
    """Detectors on records with noise added at each SNR (test-half noise, every 10 s window at that SNR).

    Parameters
    ----------
    minutes : (float, float) or None
        The stretch of each record scored (default minutes 5 to 10: after EC57's 5-minute learning period, and
        a sixth of the cost of whole records); ``None`` scores whole records from minute 5 on.

    Returns
    -------
    pandas.DataFrame
        One row per (kind, SNR, detector), with ``case`` = ``"DS2 + <kind>"`` and ``snr`` in dB.
    """
    if minutes is not None:
        signals, refs = excerpt(signals, refs, 60 * minutes[0], 60 * minutes[1])
    span = "whole" if minutes is not None else "ec57"
    lengths = {r: len(s) for r, s in signals.items()}
    rows = []
    for i, kind in enumerate(tqdm(kinds, desc="noise kinds", disable=not progress)):
        for lvl in levels:
            rng = np.random.default_rng([seed, i, lvl + 100])
            noisy = {r: noisy_record(s, kind, lvl, bank, rng) for r, s in signals.items()}
            overall, _ = score_records(detect_records(noisy, detectors, progress=False), refs, lengths, span)
            rows.append(overall.assign(case=f"DS2 + {kind}", snr=lvl))
    return pd.concat(rows).reset_index()


def nstdb_scores(detectors: dict, levels=(24, 18, 12, 6, 0, -6), progress: bool = True, **fetch_kwargs) -> pd.DataFrame:
    """Detectors on the NSTDB records (118 and 119 pooled per level), beats in the noisy segments only.

    Returns
    -------
    pandas.DataFrame
        One row per (level, detector), ``case`` = ``"NSTDB"``, ``snr`` = the level name (dB, QRS-based).
    """
    from .nstdb import record_name

    signals, refs, masks = nstdb_signals(levels, **fetch_kwargs)
    lengths = {k: len(v) for k, v in signals.items()}
    rows = []
    for lvl in tqdm(levels, desc="NSTDB levels", disable=not progress):
        sub = {n: signals[n] for n in (record_name("118", lvl), record_name("119", lvl))}
        overall, _ = score_records(detect_records(sub, detectors, progress=False), refs, lengths, "whole", masks)
        rows.append(overall.assign(case="NSTDB", snr=lvl))
    return pd.concat(rows).reset_index()
