"""Fit the shipped detectors' calibration on the validation records: ``python -m ecgutils.training.calibrate``.

Writes ``ecgutils/models/weights/calibration.json`` (:mod:`ecgutils.models.calibration`) and its SHA-256 into
``MANIFEST.json`` (key ``calibration``); the ``.pt`` files are not touched. Only validation records (106 114 209
223, their first 15 minutes) and the training half of the NSTDB noise recordings are read.

- Confidence: every beat the offline GRU and the streaming GRU report on the validation records, clean and with
  ``em`` and ``ma`` noise at each of :data:`LEVELS` (training half), labelled true when it matches a reference beat
  within 150 ms; an isotonic regression from the network's probability at the beat to that label, per detector.
- Quality: the features of every second (:func:`ecgutils.dsp.quality.quality_features`) of the same records; good
  seconds are the clean ones and those with a baseline swing of twice the QRS amplitude (ordinary ambulatory
  wander), bad ones those with noise at 0 dB or below, those with a swing of 5 or 10 times the QRS amplitude, and
  the clean seconds scored as if the detector had fired 200 ms late, on the T wave (the two failure modes of issue
  22); a logistic regression on the standardised features, which are clipped to the range of the fitted seconds'
  (:data:`CLIP_PERCENTILES`) before the map.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from ecgutils.constants import FS
from ecgutils.data.noise import NoiseBank, noisy_record
from ecgutils.data.splits import VALIDATION
from ecgutils.dsp.quality import FEATURES, quality_features
from ecgutils.evaluation.detection import excerpt
from ecgutils.evaluation.metrics import match_beats
from ecgutils.evaluation.robustness import stream_beats, with_swing
from ecgutils.inference import detect_r_peaks, peak_probability
from ecgutils.io.files import atomic_path
from ecgutils.io.records import read_records
from ecgutils.models import calibration, checkpoints, registry

#: Noise levels of the calibration cases, dB (sample-power SNR per 10 s window; NSTDB's noisy segments lie at
#: 11.3 down to -18.7 dB on this scale).
LEVELS = (-18, -12, -6, 0, 6, 12, 24)
KINDS = ("em", "ma")
#: The quality map's features are clipped to these percentiles of the fitted seconds' (the map is not extrapolated:
#: a synthetic, perfectly periodic signal's residual lies far below any real ECG's).
CLIP_PERCENTILES = (0.5, 99.5)
#: The stretch of each validation record used, s (the first 15 minutes: a 2-core machine fits it in minutes).
SPAN_S = (0.0, 900.0)


def cases(signals: dict, refs: dict, bank: NoiseBank, seed: int = 0):
    """``(name, signals, noise level or None)`` of the calibration cases: clean, then each kind and level."""
    yield "clean", signals, None
    for i, kind in enumerate(KINDS):
        for lvl in LEVELS:
            rng = np.random.default_rng([seed, i, lvl + 100])
            yield f"{kind} {lvl}", {r: noisy_record(s, kind, lvl, bank, rng, fs=FS, part="train")
                                    for r, s in signals.items()}, lvl


def labelled(refs: dict, found: dict, raw: dict) -> tuple[np.ndarray, np.ndarray]:
    """Each detection's raw probability and whether it matches a reference beat (150 ms): those from the first
    second to the last reference beat."""
    xs, ys = [], []
    for r, det in found.items():
        keep = (det >= FS) & (det < (refs[r].max() if len(refs[r]) else 0))
        m = set(match_beats(refs[r], det, fs=FS)["matched_detected"].tolist())
        xs.append(raw[r][keep])
        ys.append(np.array([d in m for d in det[keep]], dtype=float))
    return np.concatenate(xs), np.concatenate(ys)


def isotonic_map(x: np.ndarray, y: np.ndarray) -> dict:
    """The isotonic regression of ``y`` (0/1) on ``x`` as breakpoints ``{"x": [...], "y": [...], "n": ...}``."""
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    return {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist(), "n": int(len(x)),
            "true_fraction": float(y.mean())}


def quality_rows(signals: dict, level, swing: float = 0.0) -> tuple[list, list]:
    """Feature rows and labels (1 good, 0 bad; none for noise levels above 0 dB) of every second of ``signals``
    (noise at ``level`` dB or none; a baseline swing of ``swing`` times the QRS amplitude)."""
    if level is not None and 0 < level:
        return [], []
    good = level is None and swing <= 2
    rows, labels = [], []
    names = list(signals)
    found = detect_r_peaks([signals[r] for r in names], fs=FS)
    probs = peak_probability([signals[r] for r in names], fs=FS)
    for r, f, p in zip(names, found, probs):
        rows.append(quality_features(signals[r], p, f, fs=FS))
        labels.append(np.full(len(rows[-1]), float(good)))
        if good and not swing:  # the T-wave failure mode: the same seconds, the beats 200 ms late
            rows.append(quality_features(signals[r], p, f + int(0.2 * FS), fs=FS))
            labels.append(np.zeros(len(rows[-1])))
    return rows, labels


def fit(seed: int = 0, progress: bool = True) -> dict:
    """The calibration (:mod:`ecgutils.models.calibration`'s content), fitted on the validation records."""
    signals, refs = excerpt(*read_records(VALIDATION), *SPAN_S, fs=FS)
    bank = NoiseBank.load()
    # the files, not the shipped models: their probabilities uncalibrated
    det, sdet = (checkpoints.weights_dir() / f"{registry.spec(r).stem}.pt" for r in ("detector", "stream_detector"))
    pools = {"detector": ([], []), "stream_detector": ([], [])}
    rows, labels = [], []
    for name, sig, lvl in cases(signals, refs, bank, seed):
        if progress:
            print(f"calibration case {name} ...", flush=True)
        names = list(sig)
        found, raw = detect_r_peaks([sig[r] for r in names], fs=FS, checkpoint=det, return_confidence=True)
        sfound, sraw, _ = stream_beats([sig[r] for r in names], fs=FS, checkpoint=sdet)
        for role, f, p in (("detector", found, raw), ("stream_detector", sfound, sraw)):
            x, y = labelled(refs, dict(zip(names, f)), dict(zip(names, p)))
            pools[role][0].append(x)
            pools[role][1].append(y)
        r_, l_ = quality_rows(sig, lvl)
        rows, labels = rows + r_, labels + l_
    for k in (2, 5, 10):
        r_, l_ = quality_rows(with_swing(signals, refs, k, seed, fs=FS), None, swing=k)
        rows, labels = rows + r_, labels + l_
    X, y = np.concatenate(rows), np.concatenate(labels)
    low, high = np.percentile(X, CLIP_PERCENTILES, axis=0)
    X = np.clip(X, low, high)
    scaler = StandardScaler().fit(X)
    clf = LogisticRegression(C=1.0, class_weight="balanced").fit(scaler.transform(X), y)
    out = {role: isotonic_map(np.concatenate(xs), np.concatenate(ys)) for role, (xs, ys) in pools.items()}
    out["quality"] = {"features": list(FEATURES), "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(),
                      "low": low.tolist(), "high": high.tolist(),
                      "coef": clf.coef_[0].tolist(), "intercept": float(clf.intercept_[0]), "n_seconds": int(len(y)),
                      "bad_fraction": float(1 - y.mean())}
    out["fitted_on"] = {"records": list(VALIDATION), "noise": f"{', '.join(KINDS)} training half at {list(LEVELS)} dB",
                        "seed": seed, "command": "python -m ecgutils.training.calibrate"}
    return out


def save(cal: dict) -> str:
    """Write ``calibration.json`` beside the weights and its SHA-256 into ``MANIFEST.json``; returns the hash."""
    text = json.dumps(cal, indent=1, sort_keys=True) + "\n"
    with atomic_path(calibration.path()) as tmp:
        tmp.write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    man_path = checkpoints.weights_dir() / "MANIFEST.json"
    man = json.loads(man_path.read_text())
    man["calibration"] = {"file": calibration.FILE, "sha256": digest, "command": cal["fitted_on"]["command"]}
    with atomic_path(man_path) as tmp:
        tmp.write_text(json.dumps(man, indent=2, sort_keys=True) + "\n")
    return digest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"wrote {calibration.path()} (sha256 {save(fit(args.seed))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
