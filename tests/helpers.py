"""Helpers shared by the tests: tiny synthetic ECG, tiny WFDB records, a made-up noise bank, stand-in models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import wfdb

from ecgutils.data.noise import NoiseBank

ROOT = Path(__file__).resolve().parents[1]


def synthetic_ecg(n: int, fs: float = 360.0, rate_bpm: float = 72.0, seed: int = 0):
    """A crude ECG: Gaussian QRS-like spikes on a slow wave, mV; returns (signal, beat samples)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    rr = 60.0 / rate_bpm
    beats = np.arange(0.4, t[-1] - 0.2, rr)
    beats = beats + rng.normal(0, 0.01, len(beats))
    sig = 0.05 * np.sin(2 * np.pi * 0.3 * t)
    for b in beats:
        sig += 1.2 * np.exp(-0.5 * ((t - b) / 0.012) ** 2) - 0.2 * np.exp(-0.5 * ((t - b - 0.03) / 0.015) ** 2)
        sig += 0.25 * np.exp(-0.5 * ((t - b - 0.25) / 0.05) ** 2)
    return sig, np.round(beats * fs).astype(int)


def write_record(folder: Path, name: str, n: int = 3600, fs: float = 360.0, leads=("MLII", "V1"),
                 with_ann: bool = True, nan_at=None, seed: int = 0) -> Path:
    """Write a small two-lead record (and its beat annotations) with wfdb.wrsamp/wrann."""
    folder.mkdir(parents=True, exist_ok=True)
    sig, beats = synthetic_ecg(n, fs, seed=seed)
    cols = [sig if lead == "MLII" else 0.5 * sig for lead in leads]
    p = np.stack(cols, axis=1)
    fmt = ["16"] * len(leads)
    if nan_at is not None:
        p[nan_at, 0] = np.nan
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(leads), sig_name=list(leads), p_signal=p, fmt=fmt,
                adc_gain=[200.0] * len(leads), baseline=[0] * len(leads), write_dir=str(folder))
    if with_ann:
        wfdb.wrann(name, "atr", beats, symbol=["N"] * len(beats), write_dir=str(folder))
    return folder / name


def toy_bank(seed: int = 0) -> NoiseBank:
    """Three made-up 'noise recordings' (sines plus white noise), 650,000 samples each, mV."""
    idx = np.arange(650_000)
    rng = np.random.default_rng(seed)
    return NoiseBank({k: np.stack([np.sin(idx / (9.0 + i)) + rng.normal(0, 0.2, idx.size)]).astype(np.float32)
                      for i, k in enumerate(("bw", "em", "ma"))})


class AmplitudeDetector(torch.nn.Module):
    """A stand-in R-peak detector at 360 Hz, one sample per frame: its logit is 8 (x - level), so the R waves of
    :func:`synthetic_ecg` (1.2 mV) score near 1 and its T waves (0.25 mV) about 0.7 with level 0.15; its threshold,
    0.9 by default, lies between (at 0.5 only the T-wave rule keeps the T waves out)."""

    def __init__(self, level: float = 0.15, threshold: float = 0.9):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))
        self.fs, self.frame, self.threshold, self.level = 360, 1, threshold, level

    def forward(self, x):
        return 8 * (x - self.level)

    def set_threshold(self, threshold):
        self.threshold = threshold
