"""Shared fixtures: the PhysioNet mirror when one is set, an empty project folder, small seeded models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import ROOT


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
