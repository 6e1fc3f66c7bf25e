"""Train the two R-peak models of notebook 03: the GRU window classifier and the GRU beat detector.

Both learn from noisy windows with fresh noise every epoch, select their epoch on the validation records, and
then choose their decision threshold on the validation records too (never on test records), since weighting the
positive class moves the best threshold away from 0.5. The threshold is stored in the model (``model.threshold``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve
from sklearn.utils.class_weight import compute_class_weight

from ecgutils.config import ProfileConfig, Recipe, TuneConfig
from ecgutils.constants import FS
from ecgutils.data.store import WindowStore
from ecgutils.dsp.filters import ecg_highpass
from ecgutils.inference import DETECTOR_HIGHPASS_HZ, DETECTOR_T_WAVE_CHECK, classify_segments, peak_probability
from ecgutils.training.losses import trimmed, weighted_bce
from ecgutils.evaluation.metrics import score_detections
from ecgutils.models.registry import build_model
from ecgutils.data.noise import NoiseBank, noisy_record
from ecgutils.dsp.peaks import peaks_from_probability, reject_t_waves
from ecgutils.evaluation.detection import excerpt, in_span, scoring_span
from ecgutils.io.records import read_records
from ecgutils.training.loop import Fitted, augmenter, fit, fixed_batches, noisy_batches, varied_validation
from ecgutils.data.windows import cut_segments, peak_targets


def segments_of(x: np.ndarray, beat_lists, model_config: dict) -> tuple[np.ndarray, np.ndarray]:
    """Classifier inputs and labels of a batch of windows (see :func:`ecgutils.data.windows.cut_segments`)."""
    inp, lab, _, _ = cut_segments(x, beat_lists, model_config["segment"], model_config["context"])
    return inp, lab.astype(np.float32)


def _validation_inputs(ds: WindowStore) -> list[np.ndarray]:
    """The validation windows with real noise, Gaussian noise and none (drawn once by notebook 01)."""
    v = ds.val
    return [v.real, v.gaussian, v.windows.x]


# --------------------------------------------------------------------------------------------- classifier
def train_classifier(ds: WindowStore, bank: NoiseBank, recipe: Recipe, cfg: ProfileConfig | None, *,
                     progress: bool = True, device=None, model=None, loss=None, epoch_fn=None) -> Fitted:
    """Train the GRU window classifier (R-peak in the central 0.25 s of a 0.5 s segment, or not).

    With ``loss["pos_weight"] == "balanced"`` the positive class weighs the negative/positive ratio of the
    training segments. After training, the threshold with the best F1 on the validation segments is set on the
    model (:func:`best_f1_threshold`). Arguments as :func:`ecgutils.training.denoiser.train_denoiser` (the
    classifier needs nothing from ``cfg``; ``loss`` replaces the weighted BCE whole, weight included).
    """
    model = model if model is not None else build_model(recipe.kind, seed=recipe.train.seed, **recipe.model)
    ws = ds.train.windows
    beats = ws.beat_lists()
    _, lab = segments_of(ws.x, beats, recipe.model)
    pw = recipe.loss["pos_weight"]
    pos_weight = balanced_pos_weight(lab) if pw == "balanced" else float(pw)
    rng = np.random.default_rng(recipe.train.seed)

    def epoch():
        for x, _, idx in noisy_batches(ws.x, bank, rng, recipe.train.batch_size, recipe.noise):
            yield segments_of(x, [beats[i] for i in idx], recipe.model)

    vb = ds.val.windows.beat_lists()
    parts = [segments_of(x, vb, recipe.model) for x in _validation_inputs(ds)]
    vx, vy = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    fitted = fit(model, epoch, fixed_batches(vx, vy, 2048), loss or weighted_bce(pos_weight), recipe.train,
                 desc=f"training {recipe.name}", device=device, progress=progress, epoch_fn=epoch_fn)
    fitted.model.set_threshold(best_f1_threshold(vy, classify_segments(vx, fs=FS, checkpoint=fitted.model)))
    return fitted


def balanced_pos_weight(labels: np.ndarray) -> float:
    """The weight of the positive class that balances the two classes: negatives / positives.

    The ratio of ``sklearn.utils.class_weight.compute_class_weight("balanced", ...)``'s two class weights.

    Parameters
    ----------
    labels : ndarray, shape (n,)
        0 or 1 per training example (segment or frame).

    Returns
    -------
    float

    Examples
    --------
    >>> balanced_pos_weight(np.array([0, 0, 0, 1, 0, 1]))
    2.0
    """
    labels = np.asarray(labels).ravel()
    if not 0 < np.count_nonzero(labels) < labels.size:
        raise ValueError(f"balanced weights need both classes in the training labels, got {np.count_nonzero(labels)} "
                         f"positives of {labels.size}: use more training windows or a fixed pos_weight in the recipe")
    negative, positive = compute_class_weight("balanced", classes=np.array([0, 1]), y=(labels > 0).astype(int))
    return float(positive / negative)


def best_f1_threshold(labels: np.ndarray, prob: np.ndarray) -> float:
    """The decision threshold with the highest F1 (``sklearn.metrics.precision_recall_curve``), rounded to 0.01."""
    precision, recall, thresholds = precision_recall_curve(labels, prob)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return min(max(round(float(thresholds[int(np.argmax(f1))]), 2), 0.01), 0.99)


# --------------------------------------------------------------------------------------------- detector
def train_detector(ds: WindowStore, bank: NoiseBank, recipe: Recipe, cfg: ProfileConfig, *, progress: bool = True,
                   device=None, model=None, loss=None, epoch_fn=None) -> Fitted:
    """Train the GRU beat detector (per-frame "R-peak here" targets), then tune its threshold on validation records.

    Parameters
    ----------
    ds : WindowStore
    bank : NoiseBank
    recipe : Recipe
        ``get_config(profile).detector``.
    cfg : ProfileConfig
        The profile: its validation records (``cfg.split.val``, read whole) and the threshold tuning (``cfg.tune``).
    progress : bool
    device : str, torch.device or None
        Where to train; None: the CPU.
    model, loss, epoch_fn : optional
        What a notebook defines and passes in, as for :func:`ecgutils.training.denoiser.train_denoiser`.

    Returns
    -------
    Fitted
        The model (its ``threshold`` set), the loss history, and ``tables["threshold"]`` the threshold sweep
        (:func:`tune_threshold`).
    """
    return fit_and_tune(ds, bank, recipe, cfg, tune_threshold, progress=progress, device=device, model=model,
                        loss=loss, epoch_fn=epoch_fn)


def fit_and_tune(ds: WindowStore, bank: NoiseBank, recipe: Recipe, cfg: ProfileConfig, tuner: Callable, *,
                 progress: bool = True, device=None, **parts) -> Fitted:
    """:func:`fit_detector` (``parts``: its ``model``, ``loss``, ``epoch_fn``), then ``tuner(model, signals, refs,
    bank, tune, seed=)`` on the validation records chooses the threshold, set on the model; the sweep is kept as
    ``tables["threshold"]``."""
    signals, refs = read_records(cfg.split.val)
    if cfg.tune.minutes is not None:  # a stretch of each validation record (the quick and smoke profiles)
        signals, refs = excerpt(signals, refs, 60 * cfg.tune.minutes[0], 60 * cfg.tune.minutes[1], fs=FS)
    fitted = fit_detector(ds, bank, recipe, progress=progress, device=device, **parts)
    threshold, table = tuner(fitted.model, signals, refs, bank, cfg.tune, seed=recipe.train.seed)
    fitted.model.set_threshold(threshold)
    fitted.tables["threshold"] = table
    return fitted


def fit_detector(ds: WindowStore, bank: NoiseBank, recipe: Recipe, progress: bool = True, device=None,
                 model=None, loss=None, epoch_fn=None) -> Fitted:
    """Train a frame-wise R-peak detector (offline or real-time) on noisy training windows; no threshold yet.

    ``model``, ``loss`` (the weighted BCE, weight included), ``epoch_fn``: what a notebook passes in, else the
    recipe's.
    """
    model = model if model is not None else build_model(recipe.kind, seed=recipe.train.seed, **recipe.model)
    ws = ds.train.windows
    beats = ws.beat_lists()
    frame = model.frame
    rng = np.random.default_rng(recipe.train.seed)
    aug = augmenter(ws, recipe)  # other lead, polarity, amplitude, baseline swings (recipe.augment)

    def epoch():
        for x, _, idx in noisy_batches(ws.x, bank, rng, recipe.train.batch_size, recipe.noise, aug):
            yield x, peak_targets(ws.length, [beats[i] for i in idx], frame)

    v = ds.val.windows
    varied = varied_validation(ds, bank, recipe)  # the varied windows' input (their beats are MLII's)
    inputs = _validation_inputs(ds) + ([] if varied is None else [varied[0]])
    vx = np.concatenate(inputs)
    vy = np.concatenate([peak_targets(v.length, v.beat_lists(), frame)] * len(inputs))
    loss = trimmed(loss or weighted_bce(recipe.loss["pos_weight"]), inputs=False)  # real-time: all but the look-ahead
    return fit(model, epoch, fixed_batches(vx, vy, 64), loss, recipe.train, desc=f"training {recipe.name}",
               device=device, progress=progress, epoch_fn=epoch_fn)


def tune_threshold(model, signals: dict, refs: dict, bank: NoiseBank, tune: TuneConfig = TuneConfig(),
                   seed: int = 0, t_wave_check: bool = DETECTOR_T_WAVE_CHECK, probabilities: Callable | None = None,
                   pick: Callable | None = None) -> tuple[float, pd.DataFrame]:
    """Choose the detector's peak-picking threshold on validation records (never on test records).

    The network is trained with positives weighted 4x (so that no beat is missed early in training), which
    makes 0.5 a lenient threshold; the threshold with the best mean gross F1 over the validation inputs is kept.

    Parameters
    ----------
    model : GRUDetector
    signals, refs : dict
        Validation records (name to mV signal at 360 Hz) and their reference beats.
    bank : NoiseBank
    tune : TuneConfig
        Thresholds to try, and the inputs: ``("none", None)`` is the clean record; the others get that noise at
        that SNR from the training half of the noise recordings.
    t_wave_check : bool
        Apply the T-wave rule after peak picking; default as :func:`ecgutils.inference.detect_r_peaks` (off,
        :data:`ecgutils.inference.DETECTOR_T_WAVE_CHECK`).
    probabilities, pick : callable, optional
        Another detector's two stages (the real-time one, :mod:`ecgutils.training.stream`):
        ``probabilities(list of signals) -> list of probabilities`` and ``pick(signal, probability, threshold)
        -> peaks``.
        Default: the offline GRU's per-sample probability and peak picking (``t_wave_check`` as given).

    Returns
    -------
    threshold : float
    table : pandas.DataFrame
        ``noise``, ``snr``, ``threshold``, ``gross_f1`` for every input and threshold.
    """
    if probabilities is None:
        def probabilities(xs):
            return [peak_probability(x, fs=FS, checkpoint=model) for x in xs]

    rows = []
    for i, (kind, snr) in enumerate(tune.inputs):
        rng = np.random.default_rng([seed, i])
        xs = [sig if kind == "none" else noisy_record(sig, kind, snr, bank, rng, fs=FS, part="train")
              for sig in signals.values()]
        pairs_at = {t: {} for t in tune.thresholds}
        for r, x, prob in zip(signals, xs, probabilities(xs)):
            lo, hi = scoring_span(len(x), "whole", fs=FS)
            for t in tune.thresholds:
                found = pick(x, prob, t) if pick is not None else _offline_pick(x, prob, t, t_wave_check)
                pairs_at[t][r] = (in_span(refs[r], lo, hi), in_span(found, lo, hi))
        for t in tune.thresholds:
            rows.append({"noise": kind, "snr": snr, "threshold": t,
                         "gross_f1": score_detections(pairs_at[t], fs=FS)[1]["gross_f1"]})
    table = pd.DataFrame(rows)
    return float(table.groupby("threshold").gross_f1.mean().idxmax()), table


def _offline_pick(x: np.ndarray, prob: np.ndarray, threshold: float, t_wave_check: bool) -> np.ndarray:
    """The offline GRU's peak picking as :func:`ecgutils.inference.detect_r_peaks` does it: the T-wave rule reads the
    signal the network read (high-passed at :data:`ecgutils.inference.DETECTOR_HIGHPASS_HZ`)."""
    found = peaks_from_probability(prob, fs=FS, threshold=threshold)
    if not t_wave_check:
        return found
    seen = x if DETECTOR_HIGHPASS_HZ is None else ecg_highpass(x, fs=FS, cutoff_hz=DETECTOR_HIGHPASS_HZ)
    return reject_t_waves(seen, found, fs=FS)
