"""Score R-peak detection as cardiologists' tools do: whole records, beat by beat (EC57 matching within 150 ms),
and the window classifier segment by segment.

Scoring spans: ``ec57`` skips the first 5 minutes of each record (as ANSI/AAMI EC57 does; the detector may learn
during them) and ``whole`` keeps everything but the first and last second. For the NSTDB records only the beats
inside the noisy segments from sample 325,000 on count (:func:`ecgutils.data.nstdb.noisy_mask`).

A detector here is any function ``fn(signal) -> sample indices`` of a 360 Hz signal; :func:`detector` makes one
from :func:`ecgutils.inference.detect_r_peaks`'s methods, optionally after a denoiser. A :class:`Batched` detector
takes every record at once. Scoring reads no data and adds no noise: the records come from
:func:`ecgutils.io.records.read_records` and :func:`ecgutils.data.nstdb.nstdb_signals`, the noise from
:func:`ecgutils.data.noise.noisy_record`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ecgutils.constants import EC57_SKIP_S, FS
from ecgutils.data.noise import NoiseBank, noisy_record
from ecgutils.data.nstdb import nstdb_signals
from ecgutils.data.splits import NSTDB_CLEAN, NSTDB_LEVELS, record_name
from ecgutils.data.windows import cut_segments
from ecgutils.evaluation.metrics import classification_metrics, score_detections
from ecgutils.inference import classify_segments, denoise, detect_r_peaks
from ecgutils.io.records import read_records
from ecgutils.models.checkpoints import resolve

#: Names of 0.2 that moved to the data layer (scoring reads no data and adds no noise): old name -> (module, name),
#: importable from here for one release with a DeprecationWarning.
_MOVED = {"noisy_record": ("ecgutils.data.noise", "noisy_record"),
          "nstdb_signals": ("ecgutils.data.nstdb", "nstdb_signals"),
          "records_signals": ("ecgutils.io.records", "read_records")}


def __getattr__(name):
    if name in _MOVED:
        import importlib

        module, new = _MOVED[name]
        warnings.warn(f"ecgutils.evaluation.detection.{name} moved to {module}.{new}", DeprecationWarning,
                      stacklevel=2)
        return getattr(importlib.import_module(module), new)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def scoring_span(n: int, span: str, *, fs: float) -> tuple[int, int]:
    """First and last+1 sample scored of a record of ``n`` samples at ``fs`` Hz: ``ec57`` skips the first 5 min;
    ``whole`` skips the first and last second.

    Examples
    --------
    >>> scoring_span(650_000, "ec57", fs=360)
    (108000, 649640)
    """
    if span == "ec57":
        return int(EC57_SKIP_S * fs), n - int(fs)
    if span == "whole":
        return int(fs), n - int(fs)
    raise ValueError(f"unknown span {span!r}; valid options: ec57, whole")


def in_span(samples: np.ndarray, lo: int, hi: int, mask: np.ndarray | None = None) -> np.ndarray:
    """The samples in ``[lo, hi)`` (and where ``mask`` is True)."""
    s = samples[(samples >= lo) & (samples < hi)]
    return s[mask[s]] if mask is not None else s


@dataclass(frozen=True)
class Batched:
    """A detector that takes every record at once: ``fn(list of signals) -> list of sample-index arrays``."""

    fn: Callable


def detect_records(signals: dict, detectors: dict, *, fs: float, progress: bool = True) -> dict:
    """Run every detector on every signal; also time them.

    Parameters
    ----------
    signals : dict
        Name to 1-D signal (mV).
    detectors : dict
        Name to ``fn(signal) -> sample indices``, or to a :class:`Batched` detector (all signals in one call).
    fs : float
        The signals' rate, Hz (for the hours of ECG).

    Returns
    -------
    dict
        ``{detector: {"peaks": {name: indices}, "seconds": total, "hours": total ECG hours}}``.
    """
    out = {}
    hours = sum(len(s) for s in signals.values()) / fs / 3600
    for dname, fn in detectors.items():
        peaks, t0 = {}, time.perf_counter()
        if isinstance(fn, Batched):
            peaks = dict(zip(signals, fn.fn(list(signals.values()))))
        for name, sig in signals.items() if not peaks else ():
            peaks[name] = fn(sig)
        out[dname] = {"peaks": peaks, "seconds": time.perf_counter() - t0, "hours": hours}
        if progress:
            print(f"{dname}: {len(signals)} records ({60 * hours:.0f} min of ECG) in {out[dname]['seconds']:.1f} s",
                  flush=True)
    return out


def score_records(detections: dict, references: dict, lengths: dict, span: str = "ec57",
                  masks: dict | None = None, *, fs: float) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    fs : float
        The records' rate, Hz.

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
            lo, hi = scoring_span(lengths[name], span, fs=fs)
            mask = None if masks is None else masks[name]
            pairs[name] = (in_span(references[name], lo, hi, mask), in_span(det, lo, hi, mask))
        per, overall = score_detections(pairs, fs=fs)
        rows.append({"detector": dname, **overall, "s_per_hour": d["seconds"] / max(d["hours"], 1e-9)})
        per_rows.append(per.assign(detector=dname).reset_index())
    return pd.DataFrame(rows).set_index("detector"), pd.concat(per_rows, ignore_index=True)


def clean_scores(signals: dict, refs: dict, detectors: dict, spans=("ec57", "whole"), progress: bool = True, *,
                 fs: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detectors on clean records at ``fs`` Hz; returns (overall per detector and span, per-record for the ``ec57``
    span)."""
    lengths = {r: len(s) for r, s in signals.items()}
    det = detect_records(signals, detectors, fs=fs, progress=progress)
    rows, per_first = [], None
    for span in spans:
        overall, per = score_records(det, refs, lengths, span, fs=fs)
        rows.append(overall.assign(span=span))
        per_first = per if per_first is None else per_first
    return pd.concat(rows), per_first


def excerpt(signals: dict, refs: dict, start_s: float, stop_s: float, *, fs: float) -> tuple[dict, dict]:
    """The same stretch ``[start_s, stop_s)`` of every record (at ``fs`` Hz), with its reference beats shifted to
    match."""
    a, b = int(start_s * fs), int(stop_s * fs)
    sig = {r: s[a:b] for r, s in signals.items()}
    ref = {r: x[(x >= a) & (x < b)] - a for r, x in refs.items()}
    return sig, ref


def noisy_scores(signals: dict, refs: dict, detectors: dict, bank: NoiseBank, kinds=("em",),
                 levels=(-6, 0, 6, 12, 18, 24), seed: int = 0, minutes=(5, 10), progress: bool = True, *,
                 fs: float) -> pd.DataFrame:
    """Detectors on records with noise added at each SNR (test-half noise, every 10 s window at that SNR).

    Parameters
    ----------
    fs : float
        The records' rate, Hz (the noise's own, 360 Hz: :func:`ecgutils.data.noise.noisy_record`).
    minutes : (float, float) or None
        The stretch of each record scored (default minutes 5 to 10: after EC57's 5-minute learning period, and
        a sixth of the cost of whole records); ``None`` scores whole records from minute 5 on.

    Returns
    -------
    pandas.DataFrame
        One row per (kind, SNR, detector), with ``case`` = ``"DS2 + <kind>"`` and ``snr`` in dB.
    """
    if minutes is not None:
        signals, refs = excerpt(signals, refs, 60 * minutes[0], 60 * minutes[1], fs=fs)
    span = "whole" if minutes is not None else "ec57"
    lengths = {r: len(s) for r, s in signals.items()}
    rows = []
    for i, kind in enumerate(kinds):
        for lvl in levels:
            if progress:
                print(f"records with {kind} noise at {lvl} dB ...", flush=True)
            rng = np.random.default_rng([seed, i, lvl + 100])
            noisy = {r: noisy_record(s, kind, lvl, bank, rng, fs=fs) for r, s in signals.items()}
            overall, _ = score_records(detect_records(noisy, detectors, fs=fs, progress=False), refs, lengths, span,
                                       fs=fs)
            rows.append(overall.assign(case=f"DS2 + {kind}", snr=lvl))
    return pd.concat(rows).reset_index()


def nstdb_from(levels=NSTDB_LEVELS, start_s: float = 0.0, **fetch_kwargs) -> tuple[dict, dict, dict]:
    """:func:`ecgutils.data.nstdb.nstdb_signals` from ``start_s`` on (signals, shifted beats, masks): only segments from
    sample 325,000 on are scored, so 900 s (clean, 2 min before the first scored one) scores them at half the cost."""
    signals, refs, masks = nstdb_signals(levels, **fetch_kwargs)
    a = int(start_s * FS)
    return ({k: v[a:] for k, v in signals.items()}, {k: r[r >= a] - a for k, r in refs.items()},
            {k: m[a:] for k, m in masks.items()})


def nstdb_scores(detectors: dict, levels=NSTDB_LEVELS, progress: bool = True, start_s: float = 0.0,
                 **fetch_kwargs) -> pd.DataFrame:
    """Detectors on the NSTDB records (118 and 119 pooled per level), beats in the noisy segments only, the records
    read from ``start_s`` on (:func:`nstdb_from`).

    Returns
    -------
    pandas.DataFrame
        One row per (level, detector), ``case`` = ``"NSTDB"``, ``snr`` = the level name (dB, QRS-based).
    """
    signals, refs, masks = nstdb_from(levels, start_s, **fetch_kwargs)
    return nstdb_table(detect_records(signals, detectors, fs=FS, progress=progress), refs, masks, levels, fs=FS)


def nstdb_table(detections: dict, refs: dict, masks: dict, levels=NSTDB_LEVELS, *, fs: float) -> pd.DataFrame:
    """Scores of detections on the NSTDB records (:func:`detect_records` on
    :func:`ecgutils.data.nstdb.nstdb_signals`), 118 and 119 pooled per level, beats in ``masks`` only.

    Returns
    -------
    pandas.DataFrame
        One row per (level, detector), ``case`` = ``"NSTDB"``, ``snr`` = the level name (dB, QRS-based).
    """
    rows = []
    for lvl in levels:
        names = [record_name(c, lvl) for c in NSTDB_CLEAN]
        sub = {d: {**v, "peaks": {n: v["peaks"][n] for n in names}} for d, v in detections.items()}
        lengths = {n: len(masks[n]) for n in names}
        rows.append(score_records(sub, refs, lengths, "whole", masks, fs=fs)[0].assign(case="NSTDB", snr=lvl))
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
           seed: int = 0, with_denoiser: bool = True, progress: bool = True, record_minutes=None,
           nstdb_levels=NSTDB_LEVELS, nstdb_start_s: float = 0.0) -> dict:
    """The whole R-peak evaluation: what notebook 03 shows and ``make bench`` prints.

    Parameters
    ----------
    test_records : sequence of str
        The test records, scored whole (or ``record_minutes`` of each).
    test_windows : SplitData
        The test windows (``ds.test``), for the window classifier (clean and Gaussian sigma = 0.05).
    models : dict
        ``{"classifier": ckpt, "detector": ckpt, "lstm": ckpt}``; ``None``: the shipped reference model.
    bank : NoiseBank
    noisy_kinds, noisy_levels :
        Noise added to the test records (minutes 5 to 10 of each), dB.
    with_denoiser : bool
        Also score the GRU on the LSTM's output.
    record_minutes : (float, float), optional
        Score only this stretch of each test record, clean (span ``whole``) and noisy (a profile's
        ``evaluation.record_minutes``); default: clean records whole (spans ``ec57`` and ``whole``), noisy ones
        minutes 5 to 10.
    nstdb_levels : tuple of int
        NSTDB levels scored.
    nstdb_start_s : float
        Where the NSTDB records are read from (:func:`nstdb_from`).

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
    clf_table = pd.concat(clf_tables)
    signals, refs = read_records(test_records)
    clean_signals, clean_refs, spans = signals, refs, ("ec57", "whole")
    if record_minutes is not None:
        clean_signals, clean_refs = excerpt(signals, refs, 60 * record_minutes[0], 60 * record_minutes[1], fs=FS)
        spans = ("whole",)
    clean, per_record = clean_scores(clean_signals, clean_refs, detectors, spans, progress=progress, fs=FS)
    noisy = noisy_scores(signals, refs, detectors, bank, noisy_kinds, noisy_levels, seed,
                         minutes=record_minutes or (5, 10), progress=progress, fs=FS)
    nst = nstdb_scores(detectors, nstdb_levels, progress=progress, start_s=nstdb_start_s)
    return {"classifier": clf_table.reset_index(), "detection_clean": clean.assign(case="DS2 clean").reset_index(),
            "detection_per_record": per_record, "detection_noisy": noisy, "detection_nstdb": nst}
