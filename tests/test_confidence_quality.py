"""Issue 22 without retraining: the high-pass in front of the detector, beat confidence, signal quality, the export's
columns, and the robustness cases (second lead, baseline swings, other rates)."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from ecgutils import export
from ecgutils.dsp.filters import ecg_highpass
from ecgutils.dsp.quality import FEATURES, flat_seconds, neighbour_residual, quality_features
from ecgutils.evaluation import robustness
from ecgutils.evaluation.metrics import expected_calibration_error, match_beats
from ecgutils.inference import detect_r_peaks, peak_probability, signal_quality
from ecgutils.models import calibration, checkpoints
from ecgutils.models.runtime import threads
from ecgutils.streaming import StreamingDetector
from tests.helpers import AmplitudeDetector, synthetic_ecg


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One PyTorch thread: on a busy 2-core machine it runs the GRUs several times faster than two."""
    with threads(1):
        yield


def test_calibration_maps_are_monotone_in_range_and_listed_in_the_manifest():
    cal = calibration.load()
    for role in ("detector", "stream_detector"):
        x, y = np.asarray(cal[role]["x"]), np.asarray(cal[role]["y"])
        assert len(x) == len(y) >= 2 and np.all(np.diff(x) > 0) and np.all(np.diff(y) >= 0)
        assert 0 <= y.min() and y.max() <= 1
        c = calibration.confidence(np.linspace(0, 1, 101), role)
        assert np.all(np.diff(c) >= 0)
    assert cal["fitted_on"]["records"] == ["106", "114", "209", "223"]  # validation records only
    entry = checkpoints.manifest()["calibration"]
    assert entry["file"] == calibration.FILE
    assert entry["sha256"] == hashlib.sha256(calibration.path().read_bytes()).hexdigest()


def test_shipped_weights_stay_listed_with_their_hashes():
    files = checkpoints.manifest()["files"]
    for name, entry in files.items():
        assert hashlib.sha256((checkpoints.weights_dir() / name).read_bytes()).hexdigest() == entry["sha256"]


def test_expected_calibration_error_against_a_hand_computation():
    conf = [0.9, 0.9, 0.9, 0.9, 0.3, 0.3]
    ok = [1, 1, 1, 0, 0, 1]
    # bin 0.9: 4 beats, 3 true: |3 - 3.6| = 0.6; bin 0.3: 2 beats, 1 true: |1 - 0.6| = 0.4; (0.6 + 0.4) / 6
    assert expected_calibration_error(conf, ok) == pytest.approx(1.0 / 6)
    assert expected_calibration_error([1.0, 0.0], [1, 0]) == 0.0  # the edges fall in the first and last bins
    with pytest.raises(ValueError, match="confidences in"):
        expected_calibration_error([1.2], [1])


def test_confidence_is_one_per_peak_and_the_peaks_are_unchanged():
    x, beats = synthetic_ecg(250 * 20, fs=250)
    peaks, conf = detect_r_peaks(x, fs=250, return_confidence=True)
    assert np.array_equal(peaks, detect_r_peaks(x, fs=250))
    assert conf.shape == peaks.shape and conf.dtype == np.float32 and np.all((conf >= 0) & (conf <= 1))
    assert match_beats(beats, peaks, fs=250)["tp"] >= len(beats) - 1 and conf.mean() > 0.9
    many, confs = detect_r_peaks([x, x[:2500]], fs=250, return_confidence=True)
    assert [len(c) for c in confs] == [len(p) for p in many] and np.allclose(confs[0], conf)
    raw = detect_r_peaks(x, fs=250, checkpoint=checkpoints.weights_dir() / "gru_detector.pt",
                         return_confidence=True)[1]
    assert np.allclose(calibration.confidence(raw, "detector"), conf)  # the file's probability, then the map
    with pytest.raises(ValueError, match="XQRS gives no probability"):
        detect_r_peaks(x, fs=250, method="xqrs", return_confidence=True)


def test_streaming_detector_reports_a_confidence_with_each_beat():
    x, _ = synthetic_ecg(360 * 15, fs=360)
    det = StreamingDetector(fs=360)
    for i in range(0, len(x), 36):
        peaks = det.push(x[i:i + 36])
        assert len(det.confidence) == len(det.probability) == len(peaks)
    peaks = det.flush()
    assert len(det.confidence) == len(peaks)
    found, prob, conf = robustness.stream_beats([x], fs=360)
    assert len(found[0]) == len(conf[0]) > 10 and np.all((conf[0] >= 0) & (conf[0] <= 1))
    assert np.allclose(conf[0], calibration.confidence(prob[0], "stream_detector"))


def test_quality_is_in_range_and_lower_on_a_noisy_segment():
    x, _ = synthetic_ecg(360 * 30, fs=360)
    rng = np.random.default_rng(0)
    noisy = x + rng.normal(0, 0.5, len(x)) + 0.8 * np.sin(2 * np.pi * 7 * np.arange(len(x)) / 360 + 1.0)
    q_clean, q_noisy = signal_quality([x, noisy], fs=360)
    assert q_clean.shape == (30,) and np.all((q_clean >= 0) & (q_clean <= 1)) and np.all((q_noisy >= 0) & (q_noisy <= 1))
    assert np.median(q_noisy) < np.median(q_clean) - 0.3
    assert signal_quality(x[:1000], fs=250).shape == (4,)  # ceil(1000 / 250)



@pytest.mark.parametrize("hold", ["last value", "zeros"])
def test_a_flat_stretch_has_quality_0_and_the_rest_keeps_its_quality(hold):
    """A lead off: the recorder holds its last value (or writes zeros) for 10 s. The fitted features judge beats and
    saw nothing wrong in a stretch without any (quality 0.6-0.99 before session 23)."""
    x, _ = synthetic_ecg(360 * 40, fs=360)
    off = x.copy()
    off[360 * 15:360 * 25] = off[360 * 15] if hold == "last value" else 0.0
    q, q_off = signal_quality([x, off], fs=360)
    assert np.all(q_off[16:24] == 0) and q_off.dtype == np.float32  # the edge seconds hold the step's transient
    assert np.allclose(q_off[:12], q[:12], atol=0.05) and np.allclose(q_off[28:], q[28:], atol=0.05)
    assert not flat_seconds(x, detect_r_peaks(x, fs=360), fs=360).any()  # an ECG's quietest second is not flat

def test_quality_flags_t_waves_taken_for_r_peaks_and_a_large_baseline_swing():
    from ecgutils.io.records import read_record

    rec = read_record("100")  # a minute of real MLII: a synthetic signal's beats are identical, no real ECG's are
    x = rec.signal[: 360 * 60]
    beats = rec.beats[rec.beats < len(x)]
    prob = peak_probability(x, fs=360)
    good = calibration.quality(quality_features(x, prob, beats, fs=360))
    t_waves = calibration.quality(quality_features(x, prob, beats + int(0.25 * 360), fs=360))
    amp = robustness.qrs_amplitude(x, beats, fs=360)
    swing = x + robustness.baseline_swing(len(x), 10 * amp, np.random.default_rng(1), fs=360)
    swung = calibration.quality(quality_features(swing, prob, beats, fs=360))
    assert np.median(t_waves) < np.median(good) - 0.5 and np.median(swung) < np.median(good) - 0.5


def test_residual_compares_each_beat_with_its_most_similar_neighbour():
    fs, n = 360, 360 * 20
    t = np.arange(-90, 162)
    normal, ectopic = np.exp(-(t / 6.0) ** 2), -0.8 * np.exp(-(t / 20.0) ** 2)  # narrow upright, wide inverted
    x, peaks = np.zeros(n), np.arange(180, n - 200, 300)
    for i, p in enumerate(peaks):  # bigeminy: the neighbours one beat away are always of the other shape
        x[p + t] += normal if i % 2 == 0 else ectopic
    r2 = neighbour_residual(x, peaks, fs=fs)
    assert np.nanmax(r2) < 1e-12  # a median of all neighbours would leave half of the other shape
    noisy = x + 0.05 * np.random.default_rng(0).standard_normal(n)
    r2n = neighbour_residual(noisy, peaks, fs=fs)
    assert np.nanmean(r2n) == pytest.approx(2 * 0.05 ** 2, rel=0.2)  # two beats' noise: twice the variance
    assert np.isnan(neighbour_residual(x, peaks[:1], fs=fs)).all()


def test_quality_ranks_noise_that_leaves_the_detector_sure_below_clean_seconds():
    x, beats = synthetic_ecg(360 * 60, fs=360)
    rng = np.random.default_rng(2)
    drift = np.cumsum(rng.normal(0, 1, len(x)))
    drift = 0.06 * (drift - np.convolve(drift, np.ones(360) / 360, mode="same"))  # wander-like noise, 1-10 Hz
    noisy = x.copy()
    noisy[360 * 30:] += drift[360 * 30:]
    prob = peak_probability(noisy, fs=360)
    found = detect_r_peaks(noisy, fs=360, t_wave_check=True)  # without the rule one false beat, 0.34 s after one
    assert match_beats(beats, found, fs=360)["fp"] == 0  # the detector does not notice the noise ...
    f = quality_features(noisy, prob, found, fs=360)
    res = f[:, FEATURES.index("residual")]
    assert res[35:].min() > res[:25].max() + 0.3  # ... the beats' residual does (log10 units, 5 s mean)
    q = calibration.quality(f)
    assert np.median(q[35:]) < np.median(q[:25])


def test_highpass_in_front_of_the_detector_keeps_the_beats_under_a_large_baseline_swing():
    x, beats = synthetic_ecg(360 * 60, fs=360)
    amp = robustness.qrs_amplitude(x, beats, fs=360)
    swing = robustness.baseline_swing(len(x), 10 * amp, np.random.default_rng(3), fs=360)
    assert np.ptp(swing) == pytest.approx(10 * amp, rel=1e-3)
    y = ecg_highpass(x + swing, fs=360, cutoff_hz=0.3)
    left = y - ecg_highpass(x, fs=360, cutoff_hz=0.3)  # what the high-pass lets through of the swing
    assert np.std(left) < 0.5 * np.std(swing)
    m = match_beats(beats, detect_r_peaks(x + swing, fs=360), fs=360)
    assert m["tp"] >= len(beats) - 1 and m["fp"] <= 1


def test_export_has_confidence_and_quality_columns(tmp_path, identity_denoiser):
    x, beats = synthetic_ecg(250 * 12, fs=250)
    p = tmp_path / "mine.csv"
    pd.DataFrame({"ecg": x}).to_csv(p, index=False)
    out = export.export_recording(p, tmp_path / "out.csv", fs=250, denoiser=identity_denoiser,
                                  detector=AmplitudeDetector())
    back = pd.read_csv(tmp_path / "out.csv")
    assert list(back.columns)[-2:] == ["confidence", "quality"] and len(back) == len(out) == len(x)
    assert back.confidence.notna().sum() == back.R_peak.sum() == len(beats)
    assert back.confidence[back.R_peak == 1].between(0, 1).all() and back.quality.between(0, 1).all()
    t = export.sample_table(x[:10], x[:10], np.array([2, 7]), fs=5, confidence=np.array([0.9, 0.4]),
                            quality=np.array([0.8, 0.2]))
    assert t.quality.tolist() == [0.8] * 5 + [0.2] * 5 and t.confidence.iloc[[2, 7]].tolist() == [0.9, 0.4]


def test_robustness_cases_keep_the_beats_aligned():
    x, beats = synthetic_ecg(360 * 20, fs=360)
    sig, ref = robustness.at_rate({"a": x}, {"a": beats}, 128)
    assert len(sig["a"]) == round(len(x) * 128 / 360)
    assert np.abs(sig["a"][ref["a"]] - x[beats]).max() < 0.3  # the R peaks stay on the resampled R peaks
    swung = robustness.with_swing({"a": x}, {"a": beats}, 5, fs=360)["a"]
    assert np.ptp(swung - x) == pytest.approx(5 * robustness.qrs_amplitude(x, beats, fs=360), rel=1e-3)
    a = robustness.baseline_swing(3600, 1.0, np.random.default_rng(0), fs=360)
    assert np.array_equal(a, robustness.baseline_swing(3600, 1.0, np.random.default_rng(0), fs=360))


def test_quick_robustness_table_scores_every_case_and_detector():
    pytest.importorskip("neurokit2")
    t = robustness.robustness_table(records=("100",), minutes=(5, 5.5), progress=False)
    assert set(t.case) == {"DS2 MLII", "DS2 second lead", "DS2 + swing 2x", "DS2 + swing 5x", "DS2 + swing 10x",
                           "DS2 at 128 Hz", "DS2 at 200 Hz", "DS2 at 500 Hz"}
    assert set(t.detector) == {"gru", "gru stream", "xqrs", "neurokit2"} and len(t) == 32
    mlii = t[t.case == "DS2 MLII"].set_index("detector").gross_f1
    assert (mlii > 98).all() and (t.tp + t.fn).nunique() <= 2  # the same reference beats in every case


def test_confidence_and_quality_files_are_json():
    cal = json.loads(calibration.path().read_text())
    assert cal["quality"]["features"] == list(FEATURES)
    assert FEATURES == ("ambiguity", "template", "qrs_slope", "baseline", "residual")


def test_bench_prints_the_users_tables_when_scored():
    from ecgutils.evaluation import bench

    rob = pd.DataFrame({"case": ["DS2 MLII", "DS2 MLII", "DS2 at 128 Hz"], "detector": ["gru", "xqrs", "gru"],
                        "gross_f1": [99.9, 99.8, 99.85]})
    cq = pd.DataFrame({"level": [6, "all"], "ece": [0.02, 0.01], "quality_auc": [0.98, 0.9]})
    tables = bench.users_tables({"robustness": rob, "confidence_quality": cq})
    f1 = next(v for k, v in tables.items() if k.startswith("where users are"))
    assert f1.loc["DS2 at 128 Hz", "gru"] == 99.85 and list(f1.index) == ["DS2 MLII", "DS2 at 128 Hz"]
    assert bench.users_tables({}) == {}  # the notebooks' tables (quick profile) do not score them
    den = pd.DataFrame({"kind": ["none", "none", "em", "em"], "snr_nominal": [np.inf, np.inf, 0.0, 0.0],
                        "method": ["lstm", "bandpass"] * 2, "snr_imp": [np.nan, np.nan, 4.3, 1.8],
                        "snr_out": [23.4, 10.4, 4.0, 1.5]})
    harm = pd.DataFrame({"own baseline (dB of window power)": ["(-inf, -20.0]"], "lstm": [42.0], "windows": [44]})
    lead2 = bench.users_tables({"denoising_second_lead": den, "harm_by_baseline_second_lead": harm})
    piv = next(v for k, v in lead2.items() if "denoising the second lead" in k)
    assert piv.loc[("none", np.inf), "lstm"] == 23.4  # noise-free: the output SNR
    assert piv.loc[("em", 0.0), "bandpass"] == 1.8  # noisy: the improvement
    assert next(v for k, v in lead2.items() if "own baseline" in k).loc["(-inf, -20.0]", "windows"] == 44


def test_bench_prints_do_no_harm_by_own_baseline_averaged_over_kinds():
    from ecgutils.evaluation import bench

    bins = ["(-inf, -20.0]", "(-20.0, -10.0]"]
    t = pd.DataFrame({"kind": ["em"] * 4 + ["ma"] * 4, "snr_nominal": [18.0, 18.0, 24.0, 24.0] * 2,
                      "own baseline (dB of window power)": bins * 4,
                      "lstm": [-0.5, -1.5, -3.0, -4.0, -1.5, -2.5, -4.0, -5.0], "windows": [70, 405] * 4})
    by = next(v for k, v in bench.users_tables({"harm_by_baseline_noisy": t}).items() if k.startswith("do no harm"))
    assert list(by.index) == [(18.0, bins[0]), (18.0, bins[1]), (24.0, bins[0]), (24.0, bins[1])]
    assert by.loc[(18.0, bins[0]), "lstm"] == -1.0 and by.loc[(24.0, bins[1]), "windows"] == 405
