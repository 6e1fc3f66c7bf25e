import numpy as np
import pytest

from ecgutils.evaluation import metrics


def _sig(n=4, length=3600, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 360
    return (np.sin(2 * np.pi * 1.1 * t)[None] + 0.1 * rng.normal(size=(n, length))).astype(np.float32)


def test_identity_scores_exactly_zero_improvement():
    c = _sig()
    x = c + np.random.default_rng(1).normal(0, 0.3, c.shape)
    m = metrics.denoising_metrics(c, x, x)
    np.testing.assert_array_equal(m.snr_imp, 0.0)
    np.testing.assert_allclose(m.snr_out, m.snr_in)


def test_perfect_estimate_is_infinite_snr_and_zero_error():
    c = _sig().astype(np.float64)
    x = c + 0.5
    m = metrics.denoising_metrics(c, c, x)
    assert np.all(np.isinf(m.snr_out)) and np.all(m.rmse == 0) and np.allclose(m.cosine, 1)
    m = metrics.denoising_metrics(c, c + 3.0, x)  # a constant offset is not counted as error
    assert np.all(m.snr_out > 200) and np.all(m.rmse < 1e-12)


def test_known_values_by_hand():
    c = np.array([[1.0, -1.0, 1.0, -1.0]])
    y = np.array([[0.5, -0.5, 0.5, -0.5]])  # half amplitude: error power = signal power / 4
    m = metrics.denoising_metrics(c, y, np.zeros_like(c) + 0.0 * c + np.array([[2.0, -2.0, 2.0, -2.0]]))
    assert m.snr_out[0] == pytest.approx(10 * np.log10(4))       # 6.02 dB
    assert m.snr_in[0] == pytest.approx(0.0)                     # noise = c: 0 dB
    assert m.mse[0] == pytest.approx(0.25) and m.mae[0] == pytest.approx(0.5) and m.rmse[0] == pytest.approx(0.5)
    assert m.prd[0] == pytest.approx(50.0)
    assert m.cosine[0] == pytest.approx(1.0)                     # same shape, smaller: cosine can't tell
    assert m.mse_unit[0] == pytest.approx(0.25 / 4)              # range of c is 2 mV


def test_no_added_noise_gives_undefined_improvement_not_minus_infinity():
    c = _sig()
    m = metrics.denoising_metrics(c, c * 0.9, c)
    assert m.snr_imp.isna().all() and np.isfinite(m.snr_out).all()


def test_classification_metrics_match_counts():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.7, 0.8, 0.4, 0.9, 0.2])
    m = metrics.classification_metrics(y, p)
    np.testing.assert_array_equal(m["confusion"], [[2, 1], [1, 2]])
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(4 / 6) and 0 < m["roc_auc"] <= 1


def test_beat_matching_tolerance_and_one_to_one():
    ref = np.array([1000, 2000, 3000, 4000])
    det = np.array([1010, 2054, 2060, 3055, 5000])  # 10 and 54 samples off match; 55 does not
    m = metrics.match_beats(ref, det, fs=360, tolerance_s=0.15)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 3, 2)
    assert sorted(np.round(m["errors_ms"]).tolist()) == [28.0, 150.0]


def test_beat_scores_and_edge_cases():
    s = metrics.beat_scores(tp=90, fp=10, fn=10)
    assert s["se"] == pytest.approx(90) and s["ppv"] == pytest.approx(90) and s["f1"] == pytest.approx(90)
    assert s["der"] == pytest.approx(100 * 20 / 100)
    m = metrics.match_beats(np.array([100, 500]), np.array([], dtype=int), fs=360)
    assert (m["tp"], m["fp"], m["fn"]) == (0, 0, 2)
    per, overall = metrics.score_detections({"a": (np.array([100, 500]), np.array([101, 499])),
                                             "b": (np.array([100, 500]), np.array([300]))}, fs=360)
    assert overall["gross_f1"] == pytest.approx(100 * 4 / 7)
    assert overall["avg_f1"] == pytest.approx((100 + 0) / 2)


def test_baseline_share_is_the_power_below_half_a_hertz():
    t = np.arange(3600) / 360
    slow, fast = np.sin(2 * np.pi * 0.15 * t), np.sin(2 * np.pi * 10 * t)
    share = metrics.baseline_share_db(np.stack([slow, fast, slow + fast, 0.1 * slow + fast]), fs=360)
    assert share[0] > -1.0                          # all of it is baseline (the window's edges cost a little)
    assert share[1] < -30.0                         # none of it
    assert share[2] == pytest.approx(-3.0, abs=0.6)  # half of it
    assert share[3] == pytest.approx(-20.0, abs=0.6)
