"""R-peak detection scored where users are: another lead, large baseline swings, other sampling rates.

The cases (issue 22), each on the DS2 records, beats at the MLII annotation times, 150 ms matching:

- ``DS2 second lead``: the record's other lead (V1, V2, V4 or V5; read by name with
  :func:`ecgutils.io.records.read_record`), scored against the MLII annotations (the same beats).
- ``DS2 + swing kx``: MLII plus a baseline swing whose peak-to-peak amplitude is ``k`` times the record's QRS
  amplitude (:func:`ecgutils.data.augment.baseline_swing`: four slow sines and a few steps, seeded).
- ``DS2 at <fs> Hz``: MLII resampled to 128, 200 or 500 Hz (:func:`ecgutils.dsp.resampling.resample`), the
  references rounded to that rate, every detector told the rate.

Detectors side by side (:func:`detectors`): the offline GRU and the streaming GRU (both batched over the records),
wfdb's XQRS and NeuroKit2's Pan-Tompkins (``nk.ecg_clean`` then ``nk.ecg_peaks``, both ``method="pantompkins1985"``).

:func:`confidence_quality_table` scores the beat confidence and the signal quality on the NSTDB test half;
:func:`highpass_choice` compares high-passes in front of the detectors, :func:`model_choice` detectors trained
differently, both on the validation records (:func:`validation_cases`).

Usage: ``python -m ecgutils.evaluation.robustness`` (the quick table: three DS2 records, minutes 5 to 8),
``... --highpass`` and ``... --models outputs/models/full`` (the validation comparisons: the high-pass; the
shipped detectors beside those of a training run); ``make bench`` scores the whole table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sklearn.metrics import roc_auc_score

from ecgutils.constants import FS, NOISE_TEST_START
from ecgutils.data.augment import baseline_swing, other_lead, qrs_amplitude
from ecgutils.data.nstdb import NOISE_ONSET, noisy_mask, nstdb_signals
from ecgutils.data.noise import NoiseBank, noisy_record
from ecgutils.data.splits import DS2, NSTDB_CLEAN, NSTDB_LEVELS, VALIDATION, record_name
from ecgutils.dsp.filters import CausalFilter, highpass_sos
from ecgutils.dsp.resampling import resample
from ecgutils.evaluation.detection import Batched, detect_records, excerpt, score_records
from ecgutils.evaluation.metrics import expected_calibration_error, match_beats
from ecgutils.evaluation.realtime import batched_detector
from ecgutils.inference import detect_r_peaks, signal_quality
from ecgutils.io.records import read_record, read_records
from ecgutils.models import checkpoints
from ecgutils.streaming import StreamingDetector, StreamPool

#: Baseline swings, times the record's QRS amplitude (peak to peak).
SWING_FACTORS = (2, 5, 10)
#: Sampling rates the records are resampled to, Hz.
RATES = (128, 200, 500)


def second_lead(records=DS2, **fetch_kwargs) -> tuple[dict, dict]:
    """Each record's lead other than MLII (mV, 360 Hz) and the MLII annotation times (samples)."""
    signals = {r: other_lead(r, **fetch_kwargs) for r in records}
    return signals, {r: read_record(r, **fetch_kwargs).beats for r in records}


def with_swing(signals: dict, refs: dict, factor: float, seed: int = 0, *, fs: float) -> dict:
    """Every signal plus a :func:`baseline_swing` of ``factor`` times its QRS amplitude (seeded per record)."""
    out = {}
    for i, (r, x) in enumerate(signals.items()):
        amp = factor * qrs_amplitude(x, refs[r], fs=fs)
        out[r] = (x + baseline_swing(len(x), amp, np.random.default_rng([seed, i, int(10 * factor)]), fs=fs))
    return out


def at_rate(signals: dict, refs: dict, fs_out: float) -> tuple[dict, dict]:
    """The 360 Hz signals resampled to ``fs_out`` and their reference beats rounded to it."""
    sig = {r: resample(x, fs_in=FS, fs_out=fs_out).astype(np.float32) for r, x in signals.items()}
    ref = {r: np.unique(np.minimum(np.round(b * fs_out / FS).astype(np.int64), len(sig[r]) - 1))
           for r, b in refs.items()}
    return sig, ref


def neurokit_detect(signal: np.ndarray, *, fs: float) -> np.ndarray:
    """NeuroKit2's Pan-Tompkins: ``nk.ecg_clean`` then ``nk.ecg_peaks``, ``method="pantompkins1985"``; samples."""
    import neurokit2 as nk  # optional for applying models; slow to import

    clean = nk.ecg_clean(np.asarray(signal, dtype=np.float64), sampling_rate=fs, method="pantompkins1985")
    _, info = nk.ecg_peaks(clean, sampling_rate=fs, method="pantompkins1985")
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def stream_beats(signals: list, *, fs: float, checkpoint=None) -> tuple[list, list, list]:
    """The streaming detector's beats on whole signals (each a stream of one :class:`ecgutils.streaming.StreamPool`,
    pushed whole), with each beat's network probability and confidence (:class:`ecgutils.streaming.StreamingDetector`).
    """
    pool = StreamPool(StreamingDetector, len(signals), fs=fs, checkpoint=checkpoint)
    out = [([a], [s.probability], [s.confidence]) for a, s in zip(pool.push(signals), pool.streams)]
    for o, b, s in zip(out, pool.flush(), pool.streams):
        o[0].append(b), o[1].append(s.probability), o[2].append(s.confidence)
    return tuple([np.concatenate(o[j]) for o in out] for j in range(3))


def detectors(fs: float, models: dict | None = None, names=("gru", "gru stream", "xqrs", "neurokit2"),
              **gru_kwargs) -> dict:
    """The compared detectors at ``fs`` Hz for :func:`ecgutils.evaluation.detection.detect_records`.

    ``models``: ``{"detector": ckpt, "stream_detector": ckpt}`` (``None``: the shipped weights); ``gru_kwargs``
    (e.g. ``highpass_hz``) go to the offline GRU.
    """
    models = models or {}
    every = {"gru": Batched(lambda s: detect_r_peaks(s, fs=fs, checkpoint=models.get("detector"), **gru_kwargs)),
             "gru stream": Batched(lambda s: stream_beats(s, fs=fs, checkpoint=models.get("stream_detector"))[0]),
             "xqrs": lambda s: detect_r_peaks(s, fs=fs, method="xqrs"),
             "neurokit2": lambda s: neurokit_detect(s, fs=fs)}
    return {k: every[k] for k in names}


def cases(records=DS2, minutes=None, seed: int = 0, **fetch_kwargs):
    """``(case, signals, references, fs)`` of every robustness case, one at a time (``minutes``: that stretch of
    each record, e.g. ``(5, 8)``)."""
    mlii = {r: read_record(r, **fetch_kwargs) for r in records}
    sig, ref = {r: x.signal for r, x in mlii.items()}, {r: x.beats for r, x in mlii.items()}
    lead2, _ = second_lead(records, **fetch_kwargs)
    if minutes is not None:
        (sig, ref), (lead2, _) = (excerpt(s, ref, 60 * minutes[0], 60 * minutes[1], fs=FS) for s in (sig, lead2))
    yield "DS2 MLII", sig, ref, FS
    yield "DS2 second lead", lead2, ref, FS
    for k in SWING_FACTORS:
        yield f"DS2 + swing {k}x", with_swing(sig, ref, k, seed, fs=FS), ref, FS
    for rate in RATES:
        yield (f"DS2 at {rate} Hz", *at_rate(sig, ref, rate), rate)


def robustness_table(records=DS2, minutes=None, models: dict | None = None, names=("gru", "gru stream", "xqrs",
                     "neurokit2"), seed: int = 0, progress: bool = True, **gru_kwargs) -> pd.DataFrame:
    """Gross scores of each detector on each case (:func:`cases`): span ``ec57`` on whole records, ``whole`` on
    ``minutes`` of each.

    Returns
    -------
    pandas.DataFrame
        One row per (case, detector): ``gross_se``, ``gross_ppv``, ``gross_f1``, ``gross_der`` (%), ``tp``, ``fp``,
        ``fn``, ``s_per_hour``, ``fs``.
    """
    span = "ec57" if minutes is None else "whole"
    rows = []
    for case, sig, ref, fs in cases(records, minutes, seed):
        if progress:
            print(f"{case} ...", flush=True)
        det = detect_records(sig, detectors(fs, models, names, **gru_kwargs), fs=fs, progress=False)
        overall, _ = score_records(det, ref, {r: len(x) for r, x in sig.items()}, span, fs=fs)
        rows.append(overall.assign(case=case, fs=fs))
    return pd.concat(rows).reset_index()[["case", "detector", "fs", "gross_se", "gross_ppv", "gross_f1",
                                          "gross_der", "tp", "fp", "fn", "s_per_hour"]]


def nstdb_seconds(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole seconds of an NSTDB record from sample 325,000 on: (inside a noisy segment, inside a clean one)."""
    sec = np.arange(n // FS)
    inside = noisy_mask(n, test_half=False)[: len(sec) * FS].reshape(-1, FS)
    test = sec * FS >= NOISE_TEST_START
    return test & inside.all(axis=1), test & ~inside.any(axis=1) & (sec * FS >= NOISE_ONSET)


def confidence_quality_table(levels=NSTDB_LEVELS, n_bins: int = 10, **fetch_kwargs) -> pd.DataFrame:
    """Beat confidence and signal quality of the shipped detectors on the NSTDB test half, per level and pooled.

    Beats: the detections inside the noisy segments from sample 325,000 on, true when they match a reference beat
    (150 ms); ``ece`` of the offline GRU's confidence, ``ece_stream`` of the streaming detector's
    (:func:`ecgutils.evaluation.metrics.expected_calibration_error`). Quality: ``quality_auc``, the ROC-AUC of
    ``1 - signal_quality`` separating the noisy seconds from the clean seconds of the same records (test half),
    and the mean quality of each.
    """
    signals, refs, masks = nstdb_signals(levels, **fetch_kwargs)
    names = list(signals)
    found, conf = detect_r_peaks([signals[r] for r in names], fs=FS, return_confidence=True)
    sfound, _, sconf = stream_beats([signals[r] for r in names], fs=FS)
    quality = signal_quality([signals[r] for r in names], fs=FS)
    per = {}
    for r, f, c, sf, sc, q in zip(names, found, conf, sfound, sconf, quality):
        noisy, clean = nstdb_seconds(len(signals[r]))
        cols = []
        for det, cc in ((f, c), (sf, sc)):
            keep = masks[r][np.minimum(det, len(masks[r]) - 1)]
            ok = set(match_beats(refs[r][masks[r][refs[r]]], det[keep], fs=FS)["matched_detected"].tolist())
            cols.append((cc[keep], np.array([d in ok for d in det[keep]], dtype=float)))
        per[r] = cols + [(q[: len(noisy)][noisy | clean], noisy[noisy | clean])]
    rows = []
    for lvl in list(levels) + ["all"]:
        group = [per[record_name(c, lvl)] for c in NSTDB_CLEAN] if lvl != "all" else list(per.values())
        (c, y), (sc, sy), (q, nz) = ([np.concatenate([g[j][k] for g in group]) for k in range(2)] for j in range(3))
        rows.append({"level": lvl, "beats": len(c), "true_fraction": y.mean(), "mean_confidence": c.mean(),
                     "ece": expected_calibration_error(c, y, n_bins),
                     "ece_stream": expected_calibration_error(sc, sy, n_bins),
                     "quality_auc": roc_auc_score(nz, 1 - q), "quality_noisy": q[nz].mean(),
                     "quality_clean": q[~nz].mean()})
    return pd.DataFrame(rows)


def _stream_highpassed(cutoff_hz: float | None) -> Batched:
    """The streaming detector (shipped) on signals at 360 Hz high-passed causally first (the candidate input)."""
    stream = batched_detector(checkpoints.resolve("stream_detector"))

    def run(signals: list) -> list:
        if cutoff_hz is not None:
            signals = [CausalFilter(highpass_sos(cutoff_hz, fs=FS)).push(s).astype(np.float32) for s in signals]
        return stream.fn(signals)

    return Batched(run)


def validation_cases(seed: int = 1, bank=None) -> tuple[dict, dict]:
    """The validation stand-ins of the cases users meet, on the validation records whole: ``{case: {record:
    signal}}`` and the references (MLII annotations): clean MLII, the second lead, baseline swings of 2, 5 and 10
    times the QRS amplitude, and training-half ``em`` noise at 6, 0, -12 and -18 dB (sample-power SNR; NSTDB's levels
    0 and -6 lie near -12.7 and -18.7 dB, which the first issue-22 comparison did not score)."""
    signals, refs = read_records(VALIDATION)
    bank = NoiseBank.load() if bank is None else bank
    inputs = {"clean": signals, "second lead": second_lead(VALIDATION)[0],
              **{f"swing {k}x": with_swing(signals, refs, k, seed, fs=FS) for k in SWING_FACTORS}}
    for lvl in (6, 0, -12, -18):
        rng = np.random.default_rng([7, lvl + 100])
        inputs[f"em {lvl} dB"] = {r: noisy_record(s, "em", lvl, bank, rng, fs=FS, part="train")
                                  for r, s in signals.items()}
    return inputs, refs


def validation_table(dets: dict, seed: int = 1, bank=None, progress: bool = True) -> pd.DataFrame:
    """Gross F1 (%) of detectors (``{name: detector}`` for :func:`ecgutils.evaluation.detection.detect_records`) on
    :func:`validation_cases` (span ``whole``): one row per case, one column per detector."""
    inputs, refs = validation_cases(seed, bank)
    rows = []
    for case, sig in inputs.items():
        if progress:
            print(f"{case} ...", flush=True)
        overall, _ = score_records(detect_records(sig, dets, fs=FS, progress=False), refs,
                                   {r: len(x) for r, x in sig.items()}, "whole", fs=FS)
        rows.append(overall.gross_f1.rename(case))
    return pd.DataFrame(rows)


def highpass_choice(cutoffs=(None, 0.3, 0.5, 1.0), seed: int = 1, bank=None, progress: bool = True) -> pd.DataFrame:
    """The choice of the high-pass in front of the shipped detectors before they were trained for it (issue 22),
    on :func:`validation_cases`: the offline GRU (zero-phase) and the streaming GRU (causal) at each cut-off (Hz;
    ``None``: none). The README's figures are those of the first shipped detectors; today's streaming detector has
    its own high-pass inside, so a cut-off here comes on top of it.

    Returns
    -------
    pandas.DataFrame
        Gross F1 (%), one row per case, one column per detector and cut-off.
    """
    dets = {}
    for c in cutoffs:
        dets[f"gru hp={c}"] = Batched(lambda s, c=c: detect_r_peaks(s, fs=FS, highpass_hz=c))
        dets[f"gru stream hp={c}"] = _stream_highpassed(c)
    return validation_table(dets, seed, bank, progress)


def model_choice(candidates: dict, seed: int = 1, bank=None, progress: bool = True) -> pd.DataFrame:
    """Detectors trained differently, side by side on :func:`validation_cases`: ``{name: (kind, checkpoint)}``
    with kind ``"gru"`` (offline, with its default high-pass) or ``"gru stream"``; checkpoint a path or model."""
    dets = {}
    for name, (kind, ckpt) in candidates.items():
        m = checkpoints.resolve("detector" if kind == "gru" else "stream_detector", ckpt)
        dets[name] = detectors(FS, {"detector": m, "stream_detector": m}, names=(kind,))[kind]
    return validation_table(dets, seed, bank, progress)


if __name__ == "__main__":
    import sys

    pd.set_option("display.width", 200)
    if sys.argv[1:] == ["--highpass"]:
        print(highpass_choice().round(3).to_string())
    elif sys.argv[1:2] == ["--models"]:  # --models FOLDER: the shipped detectors beside those trained in FOLDER
        folder = sys.argv[2]
        print(model_choice({"gru shipped": ("gru", None), "gru new": ("gru", f"{folder}/gru_detector.pt"),
                            "stream shipped": ("gru stream", None),
                            "stream new": ("gru stream", f"{folder}/gru_stream_detector.pt")}).round(3).to_string())
    else:  # the quick variant: three records, minutes 5 to 8
        print(robustness_table(records=DS2[:3], minutes=(5, 8)).round(3).to_string())
