"""Score R-peak detection as cardiologists' tools do: whole records, beat by beat (EC57 matching within 150 ms),
and the window classifier segment by segment.

Scoring spans: ``ec57`` skips the first 5 minutes of each record (as ANSI/AAMI EC57 does; the detector may learn
during them) and ``whole`` keeps everything but the first and last second. For the NSTDB records only the beats
inside the noisy segments from sample 325,000 on count (:func:`ecgutils.nstdb.noisy_mask`).

A detector here is any function ``fn(signal) -> sample indices`` of a 360 Hz signal; :func:`detector` makes one
from :func:`ecgutils.inference.detect_r_peaks`'s methods, optionally after a denoiser.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ecgutils.models.checkpoints import resolve
from ecgutils.constants import FS
from ecgutils.io.records import read_record
from ecgutils.inference import classify_segments, denoise, detect_r_peaks
from ecgutils.evaluation.metrics import classification_metrics, score_detections
from ecgutils.data.noise import NoiseBank, make_noise
from ecgutils.data.nstdb import noisy_mask, record_name
from ecgutils.data.splits import NSTDB_CLEAN, NSTDB_LEVELS
from ecgutils.data.windows import cut_segments


def detector(method: str = "gru", checkpoint=None, denoiser: str | None = None, denoiser_checkpoint=None) -> Callable:
    """A detector ``fn(signal at 360 Hz) -> sample indices``, optionally run on a denoiser's output.

    Parameters
    ----------
    method, checkpoint :
        As :func:`ecgutils.inference.detect_r_peaks`.
    denoiser, denoiser_checkpoint :
        As :func:`ecgutils.inference.denoise`'s ``method`` and ``checkpoint``; ``None``: no denoising.
    """
    if denoiser is None:
        return lambda sig: detect_r_peaks(sig, fs=FS, method=method, checkpoint=checkpoint)
    return lambda sig: detect_r_peaks(denoise(sig, fs=FS, method=denoiser, checkpoint=denoiser_checkpoint), fs=FS,
                                      method=method, checkpoint=checkpoint)


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
    signals, refs, masks = {}, {}, {}
    for clean in NSTDB_CLEAN:
        ref = read_record(clean, **fetch_kwargs)
        for lvl in levels:
            name = record_name(clean, lvl)
            rec = read_record(name, db="nstdb", **fetch_kwargs)
            signals[name], refs[name], masks[name] = rec.signal, ref.beats, noisy_mask(len(rec.signal))
    return signals, refs, masks


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


def nstdb_scores(detectors: dict, levels=NSTDB_LEVELS, progress: bool = True, **fetch_kwargs) -> pd.DataFrame:
    """Detectors on the NSTDB records (118 and 119 pooled per level), beats in the noisy segments only.

    Returns
    -------
    pandas.DataFrame
        One row per (level, detector), ``case`` = ``"NSTDB"``, ``snr`` = the level name (dB, QRS-based).
    """
    signals, refs, masks = nstdb_signals(levels, **fetch_kwargs)
    lengths = {k: len(v) for k, v in signals.items()}
    rows = []
    for lvl in tqdm(levels, desc="NSTDB levels", disable=not progress):
        sub = {n: signals[n] for n in (record_name(c, lvl) for c in NSTDB_CLEAN)}
        overall, _ = score_records(detect_records(sub, detectors, progress=False), refs, lengths, "whole", masks)
        rows.append(overall.assign(case="NSTDB", snr=lvl))
    return pd.concat(rows).reset_index()


def classifier_report(model, inputs: dict, beat_lists, threshold: float | None = None) -> tuple[pd.DataFrame, dict]:
    """Score the window classifier on several versions of the same windows.

    Parameters
    ----------
    model : GRUClassifier
    inputs : dict
        Name (``clean``, ``gaussian``, ...) to windows (n, length) in mV.
    beat_lists : list of ndarray
        Reference beats per window.
    threshold : float, optional
        Decision threshold on the probability; default the model's own (tuned on validation segments).

    Returns
    -------
    table : pandas.DataFrame
        One row per input: accuracy, precision, recall, f1, roc_auc, n, positives.
    details : dict
        Per input: the full metrics dict (with the confusion matrix), labels and probabilities.
    """
    threshold = model.threshold if threshold is None else threshold
    rows, details = [], {}
    for name, x in inputs.items():
        seg, lab, _, _ = cut_segments(x, beat_lists, model.segment, model.context)
        prob = classify_segments(seg, fs=model.fs, checkpoint=model)
        m = classification_metrics(lab, prob, threshold)
        details[name] = {**m, "labels": lab, "prob": prob}
        rows.append({"input": name, **{k: v for k, v in m.items() if k != "confusion"}})
    return pd.DataFrame(rows).set_index("input"), details


def report(test_records, test_windows, models: dict, bank: NoiseBank, noisy_kinds=("em",), noisy_levels=NSTDB_LEVELS,
           seed: int = 0, with_denoiser: bool = True, reference: bool = False, progress: bool = True) -> dict:
    """The whole R-peak evaluation: what notebook 03 shows and ``make bench`` prints.

    Parameters
    ----------
    test_records : sequence of str
        The test records, scored whole.
    test_windows : SplitData
        The test windows (``ds.test``), for the window classifier (clean and Gaussian sigma = 0.05).
    models : dict
        ``{"classifier": ckpt, "detector": ckpt, "lstm": ckpt}``; ``None``: the shipped reference model.
    bank : NoiseBank
    noisy_kinds, noisy_levels :
        Noise added to the test records (minutes 5 to 10 of each), dB.
    with_denoiser : bool
        Also score the GRU on the LSTM's output.
    reference : bool
        Also score the shipped reference models (``gru (reference)``, ``classifier (reference)``), e.g. beside a
        quick-profile run.

    Returns
    -------
    dict of pandas.DataFrame
        ``classifier``, ``detection_clean`` (both spans), ``detection_per_record`` (EC57 span), ``detection_noisy``
        and ``detection_nstdb``.
    """
    t = test_windows
    inputs = {"gaussian sigma=0.05": t.gaussian, "clean": t.windows.x}
    clf_tables = [classifier_report(resolve("classifier", models.get("classifier")), inputs, t.windows.beat_lists())[0]]
    detectors = {"gru": detector("gru", models.get("detector")), "xqrs": detector("xqrs")}
    if with_denoiser:
        detectors["gru on denoised"] = detector("gru", models.get("detector"), "lstm", models.get("lstm"))
    if reference:
        detectors["gru (reference)"] = detector("gru")
        ref = classifier_report(resolve("classifier"), inputs, t.windows.beat_lists())[0]
        clf_tables.append(ref.rename(index=lambda i: f"{i} (reference)"))
    clf_table = pd.concat(clf_tables)
    signals, refs = records_signals(test_records)
    clean, per_record = clean_scores(signals, refs, detectors, progress=progress)
    noisy = noisy_scores(signals, refs, detectors, bank, noisy_kinds, noisy_levels, seed, progress=progress)
    nst = nstdb_scores(detectors, progress=progress)
    return {"classifier": clf_table.reset_index(), "detection_clean": clean.assign(case="DS2 clean").reset_index(),
            "detection_per_record": per_record, "detection_noisy": noisy, "detection_nstdb": nst}
