"""Shared fixtures: tiny WFDB records generated with wfdb.wrsamp, and the PhysioNet mirror when one is set."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import wfdb

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "generated"


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


@pytest.fixture
def fixture_dir(tmp_path):
    return tmp_path / "fixtures"


@pytest.fixture(scope="session")
def mirror():
    """The local PhysioNet copy ($ECG_DATA_MIRROR, which CI points at ../shared/data)."""
    value = os.environ.get("ECG_DATA_MIRROR") or str(ROOT.parent / "shared" / "data")
    path = Path(value)
    if not (path / "mitdb" / "100.dat").exists():
        pytest.skip("no PhysioNet mirror: set ECG_DATA_MIRROR to a folder holding mitdb/ and nstdb/")
    return path


@pytest.fixture
def project(tmp_path, monkeypatch, mirror):
    """An empty project root (data/, outputs/) in a temporary folder, reading records from the mirror."""
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("ECG_DATA_MIRROR", str(mirror))
    return tmp_path


@pytest.fixture
def identity_denoiser():
    """An LSTM denoiser whose output layer is zero: with the residual path it returns its input exactly."""
    import torch

    from ecgutils import models

    m = models.build_model("lstm", seed=0, hidden=8, layers=1)
    with torch.no_grad():
        m.out.weight.zero_()
        m.out.bias.zero_()
    return m.eval()


@pytest.fixture
def detector():
    """An untrained (seeded) GRU detector: outputs are arbitrary but deterministic."""
    from ecgutils import models

    return models.build_model("gru_detector", seed=0, hidden=8, layers=1).eval()
