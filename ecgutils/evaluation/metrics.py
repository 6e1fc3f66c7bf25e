"""Figures of merit: denoising (per 10 s window), window classification, and beat-level R-peak detection.

Denoising, per window, with c = clean, y = estimate, x = noisy input, each minus its own window mean (the NSTDB
records carry baseline steps between segments, and a constant offset is no noise a denoiser should be blamed for):

* ``snr_in  = 10 log10(sum c^2 / sum (x - c)^2)`` dB
* ``snr_out = 10 log10(sum c^2 / sum (y - c)^2)`` dB, and ``snr_imp = snr_out - snr_in`` (identity: exactly 0 dB)
* ``mse = mean((y - c)^2)``, ``mae = mean(|y - c|)``, ``rmse = sqrt(mse)``, in mV^2 / mV
* ``mse_unit``: the MSE on the classic [0, 1] window scale of the clean window, ``mse / span^2``; ``mse_unit_mean``
  the same without removing the window means (a constant offset in the output then counts as error)
* ``prd = 100 sqrt(sum (y - c)^2 / sum c^2)`` %
* ``cosine = sum(y c) / sqrt(sum y^2 sum c^2)``

Beat-level detection as ANSI/AAMI EC57 (and WFDB's bxb) scores it: a detection matches a reference beat within
150 ms, one to one (``wfdb.processing.compare_annotations``); Se = TP / (TP + FN), +P = TP / (TP + FP),
F1 = 2 TP / (2 TP + FP + FN), DER = (FP + FN) / (TP + FN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgutils.constants import MATCH_TOLERANCE_S
from ecgutils.data.noise import centred, noise_snr_db
from ecgutils.dsp.filters import ecg_baseline


def _snr_of(clean: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """SNR (dB) of ``estimate`` against ``clean``: :func:`ecgutils.data.noise.noise_snr_db` of its error."""
    return noise_snr_db(clean, np.asarray(estimate, dtype=np.float64) - clean)


def denoising_metrics(clean: np.ndarray, estimate: np.ndarray, noisy: np.ndarray,
                      span: np.ndarray | None = None) -> pd.DataFrame:
    """Every denoising metric, one row per window.

    Parameters
    ----------
    clean, estimate, noisy : ndarray, shape (n_windows, length)
        mV.
    span : ndarray, shape (n_windows, 1), optional
        Range of each clean window in mV, for ``mse_unit`` (computed from ``clean`` if omitted).

    Returns
    -------
    pandas.DataFrame
        Columns ``snr_in``, ``snr_out``, ``snr_imp`` (dB), ``mse``, ``mae``, ``rmse`` (mV), ``mse_unit``,
        ``mse_unit_mean``, ``prd`` (%), ``cosine``.
    """
    clean, estimate, noisy = (np.atleast_2d(a) for a in (clean, estimate, noisy))
    if span is None:
        span = clean.max(-1, keepdims=True) - clean.min(-1, keepdims=True)
    c, y = centred(clean), centred(estimate)
    err = y - c
    mse = np.mean(err**2, -1)
    span2 = np.asarray(span, dtype=np.float64).ravel() ** 2
    mse_with_mean = np.mean((np.asarray(estimate, dtype=np.float64) - clean) ** 2, -1)
    snr_in, snr_out = _snr_of(clean, noisy), _snr_of(clean, estimate)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.sum(y * c, -1) / np.sqrt(np.sum(y**2, -1) * np.sum(c**2, -1))
        prd = 100 * np.sqrt(np.sum(err**2, -1) / np.sum(c**2, -1))
    with np.errstate(invalid="ignore"):
        imp = np.where(np.isfinite(snr_in), snr_out - snr_in, np.nan)  # no added noise: improvement undefined
    return pd.DataFrame({
        "snr_in": snr_in, "snr_out": snr_out, "snr_imp": imp,
        "mse": mse, "mae": np.mean(np.abs(err), -1), "rmse": np.sqrt(mse),
        "mse_unit": mse / span2, "mse_unit_mean": mse_with_mean / span2,
        "prd": prd, "cosine": cosine,
    })


def baseline_share_db(x: np.ndarray, *, fs: float, cutoff_hz: float = 0.5) -> np.ndarray:
    """How much of each window's power is baseline wander: ``10 log10(sum b^2 / sum x^2)`` dB, with ``x`` the window
    minus its mean and ``b`` its part below ``cutoff_hz`` (:func:`ecgutils.dsp.filters.ecg_baseline`).

    Parameters
    ----------
    x : ndarray, shape (n_windows, length)
        mV.
    fs : float
        Sampling rate, Hz.
    cutoff_hz : float
        Hz.

    Returns
    -------
    ndarray, shape (n_windows,)
        dB: 0 means all of the window's power is below the cut-off, -20 one percent of it.
    """
    c = centred(np.atleast_2d(x))
    b = ecg_baseline(c, fs=fs, cutoff_hz=cutoff_hz).astype(np.float64)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(np.sum(b**2, -1) / np.sum(c**2, -1))


def summarise_denoising(table: pd.DataFrame, by=None) -> pd.DataFrame:
    """Average the per-window metrics (optionally grouped); ``rmse`` is recomputed as sqrt(mean mse)."""
    cols = ["snr_in", "snr_out", "snr_imp", "mse", "mae", "mse_unit", "mse_unit_mean", "prd", "cosine"]
    g = table.groupby(by, sort=False, dropna=False)[cols].mean() if by else table[cols].mean().to_frame().T
    g["rmse"] = np.sqrt(g["mse"])
    g["windows"] = table.groupby(by, sort=False, dropna=False).size() if by else len(table)
    return g


# --------------------------------------------------------------------------------------------- classification
def classification_metrics(y_true, y_prob, threshold: float = 0.5) -> dict:
    """Accuracy, precision, recall, F1, ROC-AUC and the confusion matrix (scikit-learn).

    Parameters
    ----------
    y_true : array of {0, 1}
    y_prob : array of float in [0, 1]
        Predicted probability of the positive class.
    threshold : float

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``, ``confusion`` (2x2 array: rows reference
        0/1, columns predicted 0/1), ``n``, ``positives``.
    """
    from sklearn import metrics as skm

    y_true = np.asarray(y_true).astype(int)
    y_pred = (np.asarray(y_prob) >= threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    return {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0),
        "recall": skm.recall_score(y_true, y_pred, zero_division=0),
        "f1": skm.f1_score(y_true, y_pred, zero_division=0),
        "roc_auc": skm.roc_auc_score(y_true, y_prob) if both else float("nan"),
        "confusion": skm.confusion_matrix(y_true, y_pred, labels=[0, 1]),
        "n": int(len(y_true)),
        "positives": int(y_true.sum()),
    }


# --------------------------------------------------------------------------------------------- beat level
def match_beats(reference: np.ndarray, detected: np.ndarray, *, fs: float,
                tolerance_s: float = MATCH_TOLERANCE_S) -> dict:
    """Match detections to reference beats as bxb does, with ``wfdb.processing.compare_annotations``.

    Parameters
    ----------
    reference, detected : ndarray of int
        Sample indices.
    fs : float
        Sampling rate, Hz.
    tolerance_s : float
        Match window, s (150 ms in EC57).

    Returns
    -------
    dict
        ``tp``, ``fp``, ``fn``, ``errors_ms`` (detected minus reference of each match, ms) and the matched pairs
        ``matched_reference``, ``matched_detected`` (sample indices).

    Examples
    --------
    >>> m = match_beats([100, 500, 900], [110, 480, 700], fs=360)  # 700 is 200 samples (556 ms) from any beat
    >>> m["tp"], m["fp"], m["fn"]
    (2, 1, 1)
    """
    from wfdb.processing import compare_annotations

    reference = np.unique(np.asarray(reference, dtype=np.int64))
    detected = np.unique(np.asarray(detected, dtype=np.int64))
    if len(reference) == 0 or len(detected) == 0:  # wfdb divides by these counts
        return {"tp": 0, "fp": len(detected), "fn": len(reference), "errors_ms": np.zeros(0),
                "matched_reference": np.zeros(0, dtype=np.int64), "matched_detected": np.zeros(0, dtype=np.int64)}
    # wfdb accepts a pair when |difference| < window_width: +1 makes "within 150 ms" (54 samples) inclusive
    cmp = compare_annotations(reference, detected, int(round(tolerance_s * fs)) + 1)
    cmp.compare()
    err = (cmp.matched_test_sample - cmp.matched_ref_sample) * 1000.0 / fs
    return {"tp": int(cmp.tp), "fp": int(cmp.fp), "fn": int(cmp.fn), "errors_ms": err,
            "matched_reference": np.asarray(cmp.matched_ref_sample, dtype=np.int64),
            "matched_detected": np.asarray(cmp.matched_test_sample, dtype=np.int64)}


def expected_calibration_error(confidence, correct, n_bins: int = 10) -> float:
    """Expected calibration error: over ``n_bins`` equal-width bins of confidence in [0, 1], the mean of
    |fraction correct - mean confidence| weighted by the bin's share of the predictions.

    Parameters
    ----------
    confidence : array_like, shape (n,)
        Each prediction's confidence in [0, 1] (e.g. a detected beat's).
    correct : array_like of bool, shape (n,)
        Whether it was right (e.g. the beat matches a reference beat).
    n_bins : int

    Examples
    --------
    >>> round(expected_calibration_error([0.95, 0.95, 0.15, 0.15], [1, 1, 1, 0]), 3)  # |1-.95|/2 + |.5-.15|/2
    0.2
    """
    conf, ok = np.asarray(confidence, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    if conf.shape != ok.shape or conf.size == 0 or conf.min() < 0 or conf.max() > 1:
        raise ValueError(f"expected confidences in [0, 1] and as many outcomes, got shapes {conf.shape}, {ok.shape}")
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    gap = np.abs(np.bincount(bins, ok, n_bins) - np.bincount(bins, conf, n_bins))
    return float(gap.sum() / len(conf))


def beat_scores(tp: int, fp: int, fn: int) -> dict:
    """Se, +P, F1 and DER (%) from counts."""
    se = 100 * tp / (tp + fn) if tp + fn else float("nan")
    ppv = 100 * tp / (tp + fp) if tp + fp else float("nan")
    f1 = 100 * 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    der = 100 * (fp + fn) / (tp + fn) if tp + fn else float("nan")
    return {"se": se, "ppv": ppv, "f1": f1, "der": der}


def score_detections(results: dict, *, fs: float) -> tuple[pd.DataFrame, dict]:
    """Per-record and overall beat-level scores.

    Parameters
    ----------
    results : dict
        Record name to ``(reference, detected)`` sample arrays (already restricted to the scored span).
    fs : float
        Their sampling rate, Hz.

    Returns
    -------
    per_record : pandas.DataFrame
        One row per record: tp, fp, fn, se, ppv, f1, der (%), median |timing error| (ms).
    overall : dict
        ``gross`` (counts pooled over records) and ``average`` (mean of per-record scores) Se, +P, F1, DER, and
        the median absolute timing error over all matches, ms.
    """
    rows, errors = [], []
    for name, (ref, det) in results.items():
        m = match_beats(ref, det, fs=fs)
        errors.append(m["errors_ms"])
        rows.append({"record": name, "tp": m["tp"], "fp": m["fp"], "fn": m["fn"], **beat_scores(m["tp"], m["fp"], m["fn"]),
                     "median_abs_error_ms": float(np.median(np.abs(m["errors_ms"]))) if len(m["errors_ms"]) else float("nan")})
    per = pd.DataFrame(rows).set_index("record")
    gross = beat_scores(int(per.tp.sum()), int(per.fp.sum()), int(per.fn.sum()))
    average = per[["se", "ppv", "f1", "der"]].mean().to_dict()
    allerr = np.concatenate(errors) if errors else np.zeros(0)
    overall = {**{f"gross_{k}": v for k, v in gross.items()}, **{f"avg_{k}": v for k, v in average.items()},
               "tp": int(per.tp.sum()), "fp": int(per.fp.sum()), "fn": int(per.fn.sum()),
               "median_abs_error_ms": float(np.median(np.abs(allerr))) if len(allerr) else float("nan")}
    return per, overall
