import numpy as np
import pytest
import torch

from ecgutils import detection, inference, models, noise, train
from ecgutils.metrics import score_detections
from tests.conftest import synthetic_ecg


def _bank():
    idx = np.arange(650_000)
    rng = np.random.default_rng(0)
    return noise.NoiseBank({k: np.stack([np.sin(idx / (9.0 + i)) + rng.normal(0, 0.2, idx.size)]).astype(np.float32)
                            for i, k in enumerate(("bw", "em", "ma"))})


def test_noisy_record_has_the_snr_in_every_window():
    sig, _ = synthetic_ecg(36_000 + 500)
    x = detection.noisy_record(sig.astype(np.float32), "em", 6, _bank(), np.random.default_rng(0))
    assert x.shape == sig.shape
    w = 3600
    s = noise.snr_db(sig[:36_000].reshape(-1, w), (x - sig)[:36_000].reshape(-1, w))
    np.testing.assert_allclose(s, 6, atol=0.1)


def test_spans_and_masks():
    assert detection.scoring_span(650_000, "ec57") == (108_000, 649_640)
    assert detection.scoring_span(650_000, "whole") == (360, 649_640)
    with pytest.raises(ValueError, match="valid options: ec57, whole"):
        detection.scoring_span(10, "all")
    mask = np.zeros(100, bool)
    mask[50:] = True
    np.testing.assert_array_equal(detection.in_span(np.array([5, 20, 60, 95]), 10, 90, mask), [60])


def test_excerpt_shifts_reference_beats():
    sig, ref = detection.excerpt({"a": np.arange(1000.0)}, {"a": np.array([10, 400, 600, 900])}, 1, 2)
    assert len(sig["a"]) == 360 and sig["a"][0] == 360
    np.testing.assert_array_equal(ref["a"], [40, 240])


def test_xqrs_finds_synthetic_beats():
    sig, beats = synthetic_ecg(360 * 60)
    det = detection.xqrs(sig)
    _, overall = score_detections({"syn": (beats, det)})
    assert overall["gross_f1"] > 95


def test_score_records_counts_per_detector():
    ref = np.arange(1000, 600_000, 300)
    dets = {"perfect": {"peaks": {"r": ref + 3}, "seconds": 1.0, "hours": 0.5},
            "half": {"peaks": {"r": ref[::2]}, "seconds": 2.0, "hours": 0.5}}
    overall, per = detection.score_records(dets, {"r": ref}, {"r": 650_000}, "ec57")
    assert overall.loc["perfect", "gross_f1"] == pytest.approx(100)
    assert overall.loc["half", "gross_se"] == pytest.approx(50, abs=0.5)
    assert overall.loc["half", "gross_ppv"] == pytest.approx(100)
    assert overall.loc["perfect", "s_per_hour"] == pytest.approx(2.0)
    assert overall.loc["perfect", "median_abs_error_ms"] == pytest.approx(3 / 360 * 1000)


class _Oracle(torch.nn.Module):
    """A stand-in detector: R-peaks (1.2 mV) score near 1, T waves (0.25 mV, 250 ms later) about 0.7."""

    config = {"frame": 1}

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return 8 * (x - 0.15)


def test_threshold_is_tuned_on_validation_records_and_stored(tmp_path):
    sig, beats = synthetic_ecg(360 * 60)
    signals, refs = {"val": sig.astype(np.float32)}, {"val": beats}
    thr, table = detection.tune_threshold(_Oracle(), signals, refs, _bank(), noise=(("none", None),),
                                          t_wave_check=False)
    assert set(table.columns) >= {"threshold", "gross_f1"} and len(table) == len(detection.THRESHOLDS)
    assert thr >= 0.7  # below that the T waves count as beats
    assert table.set_index("threshold").gross_f1[thr] > 99 > table.set_index("threshold").gross_f1[0.5]
    # with Pan and Tompkins' rule (the default, as in detect_r_peaks) the T waves go at any threshold
    _, with_rule = detection.tune_threshold(_Oracle(), signals, refs, _bank(), noise=(("none", None),))
    assert with_rule.set_index("threshold").gross_f1[0.5] > 99

    det = models.build_model("gru_detector", seed=0, hidden=8, layers=1)
    path = train.save_checkpoint(tmp_path / "det.pt", det, "gru_detector", {"profile": "quick"})
    detection.store_threshold(path, det, 0.999)
    assert train.load_model(path).meta["threshold"] == 0.999 and det.meta["profile"] == "quick"
    assert len(inference.detect_r_peaks(sig, 360, path)) == 0  # an untrained model never reaches 0.999
    assert len(inference.detect_r_peaks(sig, 360, path, threshold=0.0)) > 0
