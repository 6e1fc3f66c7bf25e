import numpy as np
import pytest

from ecgutils.data import noise
from ecgutils.evaluation import detection
from ecgutils.training import rpeak as rpeak_training
from ecgutils.config import TuneConfig
from tests.helpers import AmplitudeDetector, synthetic_ecg, toy_bank


def test_noisy_record_has_the_snr_in_every_window():
    sig, _ = synthetic_ecg(36_000 + 500)
    x = noise.noisy_record(sig.astype(np.float32), "em", 6, toy_bank(), np.random.default_rng(0), fs=360)
    assert x.shape == sig.shape
    w = 3600
    s = noise.noise_snr_db(sig[:36_000].reshape(-1, w), (x - sig)[:36_000].reshape(-1, w))
    np.testing.assert_allclose(s, 6, atol=0.1)
    with pytest.raises(ValueError, match="resample the signal to 360 Hz"):
        noise.noisy_record(sig, "em", 6, toy_bank(), np.random.default_rng(0), fs=250)


def test_spans_and_masks():
    assert detection.scoring_span(650_000, "ec57", fs=360) == (108_000, 649_640)
    assert detection.scoring_span(650_000, "whole", fs=360) == (360, 649_640)
    assert detection.scoring_span(500_000, "ec57", fs=250) == (75_000, 499_750)
    with pytest.raises(ValueError, match="valid options: ec57, whole"):
        detection.scoring_span(10, "all", fs=360)
    mask = np.zeros(100, bool)
    mask[50:] = True
    np.testing.assert_array_equal(detection.in_span(np.array([5, 20, 60, 95]), 10, 90, mask), [60])


def test_excerpt_shifts_reference_beats():
    sig, ref = detection.excerpt({"a": np.arange(1000.0)}, {"a": np.array([10, 400, 600, 900])}, 1, 2, fs=360)
    assert len(sig["a"]) == 360 and sig["a"][0] == 360
    np.testing.assert_array_equal(ref["a"], [40, 240])


def test_score_records_counts_per_detector():
    ref = np.arange(1000, 600_000, 300)
    dets = {"perfect": {"peaks": {"r": ref + 3}, "seconds": 1.0, "hours": 0.5},
            "half": {"peaks": {"r": ref[::2]}, "seconds": 2.0, "hours": 0.5}}
    overall, per = detection.score_records(dets, {"r": ref}, {"r": 650_000}, "ec57", fs=360)
    assert overall.loc["perfect", "gross_f1"] == pytest.approx(100)
    assert overall.loc["half", "gross_se"] == pytest.approx(50, abs=0.5)
    assert overall.loc["half", "gross_ppv"] == pytest.approx(100)
    assert overall.loc["perfect", "s_per_hour"] == pytest.approx(2.0)
    assert overall.loc["perfect", "median_abs_error_ms"] == pytest.approx(3 / 360 * 1000)


def test_threshold_is_tuned_on_validation_records():
    sig, beats = synthetic_ecg(360 * 60)
    signals, refs = {"val": sig.astype(np.float32)}, {"val": beats}
    tune = TuneConfig(inputs=(("none", None),))
    thr, table = rpeak_training.tune_threshold(AmplitudeDetector(), signals, refs, toy_bank(), tune,
                                               t_wave_check=False)
    assert set(table.columns) >= {"threshold", "gross_f1"} and len(table) == len(tune.thresholds)
    assert thr >= 0.65  # below that the T waves count as beats (on the detector's 0.3 Hz high-passed input)
    assert table.set_index("threshold").gross_f1[thr] > 99 > table.set_index("threshold").gross_f1[0.5]
    # the default is detect_r_peaks' (no rule); with Pan and Tompkins' rule the T waves go at any threshold
    _, default = rpeak_training.tune_threshold(AmplitudeDetector(), signals, refs, toy_bank(), tune)
    assert default.equals(table)
    _, with_rule = rpeak_training.tune_threshold(AmplitudeDetector(), signals, refs, toy_bank(), tune,
                                                 t_wave_check=True)
    assert with_rule.set_index("threshold").gross_f1[0.5] > 99


def test_best_f1_threshold_on_a_made_up_case():
    labels = np.array([0, 0, 0, 1, 1, 1])
    prob = np.array([0.1, 0.3, 0.62, 0.6, 0.8, 0.9])  # 0.62 is a negative: the best cut keeps 0.6 .. 0.9 only
    assert rpeak_training.best_f1_threshold(labels, prob) == 0.6
    assert rpeak_training.best_f1_threshold(labels, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])) == 0.7


def test_detector_factory_runs_a_denoiser_first():
    sig, beats = synthetic_ecg(360 * 20)
    plain = detection.detector("gru", AmplitudeDetector())
    after = detection.detector("gru", AmplitudeDetector(), denoiser="identity")
    np.testing.assert_array_equal(plain(sig), after(sig))
    squashed = detection.detector("gru", AmplitudeDetector(level=2.0), denoiser="identity")
    assert len(squashed(sig)) == 0  # no R wave reaches 2 mV: the threshold is the model's


@pytest.mark.parametrize("n, p", [(1000, 0.3), (7, 0.5), (5000, 0.01)])
def test_balanced_pos_weight_is_the_negative_positive_ratio(n, p):
    labels = (np.random.default_rng(n).random(n) < p).astype(np.float32)
    hand = (1 - labels.mean()) / labels.mean()  # the formula the trainer used before sklearn's class weights
    assert rpeak_training.balanced_pos_weight(labels) == pytest.approx(float(hand), rel=1e-6)
    exact = (labels == 0).sum() / (labels == 1).sum()
    assert rpeak_training.balanced_pos_weight(labels) == pytest.approx(exact, rel=1e-12)


def test_balanced_pos_weight_needs_both_classes():
    with pytest.raises(ValueError, match="both classes.*0 positives of 4"):
        rpeak_training.balanced_pos_weight(np.zeros(4))


def test_threshold_tuning_applies_the_t_wave_rule_to_the_signal_the_detector_reads(monkeypatch):
    # detect_r_peaks runs Pan and Tompkins' T-wave rule on the high-passed input; the tuning must pick peaks the same
    from ecgutils.dsp import filters
    from ecgutils.inference import DETECTOR_HIGHPASS_HZ

    sig, beats = synthetic_ecg(360 * 20)
    x = (sig + 2.0 * np.linspace(0, 1, sig.size)).astype(np.float32)  # a 2 mV drift, which the high-pass removes
    seen = []

    def spy(signal, found, *, fs):
        seen.append(np.asarray(signal))
        return found

    monkeypatch.setattr(rpeak_training, "reject_t_waves", spy)
    rpeak_training.tune_threshold(AmplitudeDetector(), {"val": x}, {"val": beats}, toy_bank(),
                                  TuneConfig(thresholds=(0.5,), inputs=(("none", None),)), t_wave_check=True)
    expected = filters.ecg_highpass(x, fs=360, cutoff_hz=DETECTOR_HIGHPASS_HZ)
    assert len(seen) == 1 and np.allclose(seen[0], expected, atol=1e-5) and not np.allclose(seen[0], x, atol=0.1)
