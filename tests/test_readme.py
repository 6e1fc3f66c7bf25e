"""The README's Python examples run as written, on synthetic ECG, with the shipped models (what a user pastes first)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.helpers import ROOT

BEATS_S = 0.4 + 0.8 * np.arange(37)  # 75 bpm over 30 s


def _ecg(fs: float, seconds: float, seed: int = 0) -> np.ndarray:
    """1 mV QRS-like spikes at 75 bpm, a slow baseline and a little noise (mV)."""
    t = np.arange(int(seconds * fs)) / fs
    rng = np.random.default_rng(seed)
    return (np.exp(-((t % 0.8 - 0.4) / 0.012) ** 2) + 0.2 * np.sin(2 * np.pi * 0.2 * t)
            + 0.02 * rng.standard_normal(t.size))


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_has_its_python_examples():
    assert len(_blocks()) == 3, "the README's examples changed: update this test's namespace"


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Every Python block of the README run in order in one namespace, in an empty folder holding the CSV it names."""
    folder = tmp_path_factory.mktemp("readme")
    signal_mV = _ecg(250, 30)
    pd.DataFrame({"ecg": signal_mV}).to_csv(folder / "my_recording.csv", index=False)
    chunks = [_ecg(250, 0.1, seed=k) for k in range(100)]
    chunks[2] = None
    space = {"signal_mV": signal_mV, "packets": np.array_split(signal_mV, 300),
             "x1": _ecg(500, 10), "x2": _ecg(500, 12, 1), "x3": _ecg(500, 8, 2),
             "ten_second_records_2d": np.stack([_ecg(500, 10, k) for k in range(3)]), "chunks": chunks}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for block in _blocks():
            exec(compile(block, "README.md", "exec"), space)
    return folder, space


def _near(peaks, fs, truth=BEATS_S):
    return all(np.min(np.abs(truth - p / fs)) < 0.05 for p in peaks) and len(peaks) == len(truth)


def test_the_own_ecg_example_finds_the_beats_and_writes_the_export(ran):
    folder, space = ran
    assert space["clean"].shape == space["signal_mV"].shape
    assert _near(space["peaks"], 250)
    xqrs_s = space["peaks_xqrs"] / 250  # wfdb's XQRS: every beat found (it may add one at the very end)
    assert all(np.min(np.abs(xqrs_s - b)) < 0.05 for b in BEATS_S)
    assert len(space["confidence"]) == len(space["peaks"]) and np.all((space["confidence"] >= 0)
                                                                        & (space["confidence"] <= 1))
    assert len(space["quality"]) == 30
    out = pd.read_csv(folder / "my_recording_out.csv")
    assert len(out) == len(space["signal_mV"]) and {"R_peak", "confidence", "quality"} <= set(out.columns)
    assert out["R_peak"].sum() == len(BEATS_S)


def test_the_streaming_and_batch_examples_run_as_written(ran):
    _, space = ran
    assert 0 < space["det"].latency_s < 1
    assert space["cleaned"].shape == space["ten_second_records_2d"].shape
    assert [len(p) for p in space["peaks_per_signal"]] == [12, 15, 10]
    assert len(space["new"]) == 100
