import numpy as np
import pytest

from ecgutils import inference, models, train
from tests.conftest import synthetic_ecg


@pytest.mark.parametrize("n", [1, 50, 3600, 3601, 10_000, 25_000])
def test_denoise_keeps_length_and_has_no_seams(identity_denoiser, n):
    x = np.random.default_rng(n).normal(size=n).astype(np.float32)
    y = inference.denoise(x, 360, identity_denoiser)
    assert y.shape == (n,) and y.dtype == np.float32
    # an exact identity model through overlapping windows must give the input back: any seam would show
    np.testing.assert_allclose(y, x, atol=1e-4)


def test_denoise_other_sampling_rate_round_trips(identity_denoiser):
    sig, _ = synthetic_ecg(2500, fs=250)
    y = inference.denoise(sig, 250, identity_denoiser)
    assert y.shape == sig.shape
    assert np.corrcoef(y, sig)[0, 1] > 0.99


@pytest.mark.parametrize("bad,msg", [(np.zeros((2, 100)), "1-D signal"), (np.zeros(0), "empty"),
                                     (np.array([1.0, np.nan, 2.0]), "NaN")])
def test_bad_input_is_explained(identity_denoiser, detector, bad, msg):
    with pytest.raises(ValueError, match=msg):
        inference.denoise(bad, 360, identity_denoiser)
    with pytest.raises(ValueError, match=msg):
        inference.detect_r_peaks(bad, 360, detector)
    with pytest.raises(ValueError, match="positive sampling rate"):
        inference.denoise(np.zeros(10), 0, identity_denoiser)


def test_missing_checkpoint_names_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="run notebooks/02_lstm_denoising.ipynb first"):
        inference.denoise(np.zeros(100))
    with pytest.raises(FileNotFoundError, match="run notebooks/03_gru_rpeak_detection.ipynb first"):
        inference.detect_r_peaks(np.random.default_rng(0).normal(size=100))


def test_flat_line_gives_no_peaks(detector):
    out = inference.detect_r_peaks(np.full(5000, 0.3), 360, detector)
    assert out.dtype == np.int64 and out.size == 0


@pytest.mark.parametrize("fs", [360, 250, 500])
def test_peaks_are_sorted_unique_and_inside(detector, fs):
    sig, _ = synthetic_ecg(int(12 * fs), fs=fs)
    peaks = inference.detect_r_peaks(sig, fs, detector, threshold=0.0)
    assert peaks.dtype == np.int64
    assert np.all(np.diff(peaks) > 0) and peaks.min() >= 0 and peaks.max() < len(sig)


def test_peak_picking_respects_threshold_and_refractory_period():
    prob = np.zeros(3600)
    for c, h in [(500, 0.9), (560, 0.8), (1500, 0.4), (2000, 0.95)]:  # 560 is 167 ms after 500
        prob += h * np.exp(-0.5 * ((np.arange(3600) - c) / 4.0) ** 2)
    np.testing.assert_array_equal(inference.peaks_from_probability(prob, 0.5), [500, 2000])
    np.testing.assert_array_equal(inference.peaks_from_probability(prob, 0.5, fs_out=180), [250, 1000])


def test_checkpoint_path_is_used(tmp_path, identity_denoiser):
    path = train.save_checkpoint(tmp_path / "d.pt", identity_denoiser, "lstm")
    x = np.random.default_rng(0).normal(size=800).astype(np.float32)
    np.testing.assert_allclose(inference.denoise(x, 360, path), x, atol=1e-4)


def test_classify_segments_shape_and_range(tmp_path):
    m = models.build_model("gru_classifier", hidden=4)
    p = inference.classify_segments(np.random.default_rng(0).normal(size=(7, 180)), m)
    assert p.shape == (7,) and np.all((p > 0) & (p < 1))
    with pytest.raises(ValueError, match="n_segments"):
        inference.classify_segments(np.zeros(180), m)


def test_peak_position_is_the_centre_of_the_probability_plateau():
    prob = np.zeros(3600)
    prob[992:1016] = 0.9  # three 8-sample frames marked around a beat at sample 1004 (its middle frame)
    prob[1000:1008] = 0.92  # ... whose highest frame is the middle one
    prob[2000:2024] = [0.9] * 8 + [0.95] * 8 + [0.97] * 8  # highest frame a neighbour: the pick moves to the centre
    peaks = inference.peaks_from_probability(prob, 0.5)
    assert abs(peaks[0] - 1003.5) <= 1 and abs(peaks[1] - 2012) <= 2
    assert inference.peaks_from_probability(prob, 0.5, refine=0)[1] >= 2016  # without refinement: the highest frame


def _beats_with_t_waves(fs=360, seconds=10):
    """Sharp 'QRS' spikes every second, each followed 250 ms later by a slow 'T wave' bump, mV."""
    t = np.arange(seconds * fs) / fs
    x = np.zeros_like(t)
    beats = np.arange(fs // 2, len(t) - fs // 2, fs)
    for b in beats:
        x += np.exp(-0.5 * ((t - b / fs) / 0.01) ** 2)          # QRS: 10 ms wide
        x += 0.4 * np.exp(-0.5 * ((t - b / fs - 0.25) / 0.05) ** 2)  # T wave: 50 ms wide, 250 ms later
    return x, beats


def test_t_wave_rule_drops_t_waves_and_keeps_close_sharp_beats():
    x, beats = _beats_with_t_waves()
    t_waves = beats + 90
    found = np.sort(np.concatenate([beats, t_waves]))
    np.testing.assert_array_equal(inference.reject_t_waves(x, found), beats)
    # a second sharp beat 300 ms after the first (a couplet) is a beat, not a T wave
    x2 = x + np.exp(-0.5 * ((np.arange(len(x)) - (beats[3] + 108)) / 3.6) ** 2)
    kept = inference.reject_t_waves(x2, np.sort(np.append(beats, beats[3] + 108)))
    assert beats[3] + 108 in kept and len(kept) == len(beats) + 1
    # outside the 360 ms window nothing is judged by its slope
    late = beats + 150
    np.testing.assert_array_equal(inference.reject_t_waves(x, np.sort(np.concatenate([beats, late]))),
                                  np.sort(np.concatenate([beats, late])))
    assert len(inference.reject_t_waves(x, beats[:1])) == 1
