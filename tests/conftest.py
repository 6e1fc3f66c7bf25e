"""Shared fixtures: the PhysioNet mirror when one is set, an empty project folder, the notebooks executed once in
the smoke profile (shared by the slow tests), small seeded models."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

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


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, mirror):
    """The five notebooks executed once, in order, in the smoke profile (one epoch, a few windows, a small part of
    each test case), in a temporary project reading the mirror: ``root`` (the project: data/, outputs/) and
    ``executed`` (the executed notebooks). Every cell runs even after a failing one (each notebook's test reports it)."""
    from ecgutils.notebook import pipeline

    root = tmp_path_factory.mktemp("smoke_project")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECG_PROJECT_ROOT", str(root))
        mp.setenv("ECG_DATA_MIRROR", str(mirror))
        mp.setenv("MPLBACKEND", "Agg")  # figures must be embedded whatever the backend says
        executed = pipeline.run_notebooks("smoke", folder=ROOT / "notebooks", out_dir=root / "executed",
                                          allow_errors=True)
    return SimpleNamespace(root=root, executed=executed)


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
