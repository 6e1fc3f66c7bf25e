import inspect

import numpy as np
import pytest
import torch

from ecgutils import StreamingDetector, inference
from ecgutils.models import checkpoints
from ecgutils import models
from ecgutils.dsp import peaks
from ecgutils.io.records import read_record
from ecgutils.dsp.resampling import resample
from ecgutils.evaluation.metrics import score_detections
from tests.helpers import AmplitudeDetector, synthetic_ecg


class _MinusWindowMean(torch.nn.Module):
    """A stand-in denoiser whose output depends on the whole window: x minus the window's mean, plus x^2 / 10."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))
        self.fs = 360

    def forward(self, x):
        return x - x.mean(-1, keepdim=True) + x**2 / 10


def _expected_blend(x, length, overlap):
    """The ramp-weighted blend of per-window outputs, computed sample by sample (a second implementation)."""
    n, hop = len(x), length - overlap
    starts = list(range(0, n - length + 1, hop))
    if starts[-1] != n - length:
        starts.append(n - length)
    num, den = np.zeros(n), np.zeros(n)
    for s in starts:
        w = x[s:s + length].astype(np.float64)
        y = w - w.mean() + w**2 / 10
        for i in range(length):
            weight = max(min(i + 1, length - i) / overlap, 1e-3)
            weight = min(weight, 1.0)
            num[s + i] += weight * y[i]
            den[s + i] += weight
    return num / den


@pytest.mark.parametrize("n", [3600, 3601, 9000, 10_000])
def test_overlapping_windows_blend_with_ramp_weights(n):
    x = np.random.default_rng(n).normal(size=n).astype(np.float32) + np.linspace(0, 3, n).astype(np.float32)
    y = inference.denoise(x, fs=360, method="lstm", checkpoint=_MinusWindowMean())
    assert y.shape == (n,) and y.dtype == np.float32
    # each window removes its own mean, so a wrong weight, window start or normalisation changes the result
    np.testing.assert_allclose(y, _expected_blend(x, 3600, 720), atol=1e-4)


def test_short_signal_is_padded_not_lost():
    x = np.random.default_rng(0).normal(size=50).astype(np.float32)
    y = inference.denoise(x, fs=360, checkpoint=_MinusWindowMean())
    assert y.shape == (50,) and np.all(np.isfinite(y))


def test_fs_is_required_and_validated():
    assert inspect.signature(inference.denoise).parameters["fs"].default is inspect.Parameter.empty
    assert inspect.signature(inference.detect_r_peaks).parameters["fs"].default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        inference.denoise(np.zeros(100))
    with pytest.raises(TypeError):
        inference.detect_r_peaks(np.zeros(100), 360)  # the old positional form
    with pytest.raises(ValueError, match="positive number in Hz"):
        inference.denoise(np.zeros(10), fs=0)
    with pytest.raises(ValueError, match="positive number in Hz"):
        inference.denoise(np.zeros(10), fs="360")


@pytest.mark.parametrize("bad,msg", [(np.zeros((2, 2, 100)), "1-D signal"), (np.zeros((1000, 2)), "n_leads"),
                                     (np.zeros(0), "empty"),
                                     (np.array([1.0, np.nan, 2.0]), "NaN")])
def test_bad_signals_are_explained(bad, msg):
    with pytest.raises(ValueError, match=msg):
        inference.denoise(bad, fs=360, method="bandpass")
    with pytest.raises(ValueError, match=msg):
        inference.detect_r_peaks(bad, fs=360, checkpoint=AmplitudeDetector())


def test_unknown_methods_list_the_valid_ones():
    with pytest.raises(ValueError, match="valid options: lstm, cnn, bandpass, identity"):
        inference.denoise(np.zeros(100), fs=360, method="wavelet")
    with pytest.raises(ValueError, match="valid options: gru, xqrs"):
        inference.detect_r_peaks(np.zeros(100), fs=360, method="pan-tompkins")


@pytest.mark.parametrize("fs", [250, 360, 500])
def test_known_beats_are_found_at_any_rate(fs):
    sig, beats = synthetic_ecg(int(60 * fs), fs=fs)
    found = inference.detect_r_peaks(sig, fs=fs, checkpoint=AmplitudeDetector(), t_wave_check=True)
    per, overall = score_detections({"syn": (beats, found)}, fs=fs)
    assert overall["gross_f1"] == 100.0  # every beat, no T wave (the rule, an option, drops them), indices at fs
    assert overall["median_abs_error_ms"] < 6  # a wrong rate conversion would be off by tens of ms


def test_flat_line_gives_no_peaks():
    assert inference.detect_r_peaks(np.full(5000, 0.3), fs=360, checkpoint=AmplitudeDetector()).size == 0


def test_threshold_comes_from_the_model_unless_given():
    sig, beats = synthetic_ecg(360 * 20)
    strict = AmplitudeDetector(threshold=0.99999)
    assert len(inference.detect_r_peaks(sig, fs=360, checkpoint=strict)) < len(beats)
    assert len(inference.detect_r_peaks(sig, fs=360, checkpoint=strict, threshold=0.9)) == len(beats)



@pytest.mark.parametrize("bad", [0, 1, 1.5, -1, 85, "0.5", True])
def test_a_threshold_outside_0_to_1_is_refused_before_any_work(bad):
    """A threshold of 85 (a percentage) or -1 would silently give no beats or a beat at every maximum."""
    sig, _ = synthetic_ecg(360 * 5)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        inference.detect_r_peaks(sig, fs=360, checkpoint=AmplitudeDetector(), threshold=bad)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        peaks.peaks_from_probability(np.zeros(100), fs=360, threshold=bad)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        StreamingDetector(fs=360, threshold=bad)


def test_options_of_the_gru_alone_are_refused_with_xqrs():
    sig, _ = synthetic_ecg(360 * 5)
    for option in (dict(threshold=0.5), dict(checkpoint=AmplitudeDetector()), dict(return_confidence=True)):
        with pytest.raises(ValueError, match="need method='gru'"):
            inference.detect_r_peaks(sig, fs=360, method="xqrs", **option)

def test_peak_probability_comes_back_at_fs():
    sig, _ = synthetic_ecg(250 * 12, fs=250)
    p = inference.peak_probability(sig, fs=250, checkpoint=AmplitudeDetector())
    assert p.shape == sig.shape and p.min() >= 0 and p.max() <= 1


def test_classify_segments_checks_the_segment_length():
    m = models.build_model("gru_classifier", seed=0, hidden=4)
    p = inference.classify_segments(np.random.default_rng(0).normal(size=(7, 180)), fs=360, checkpoint=m)
    assert p.shape == (7,)
    with pytest.raises(ValueError, match=r"\(n_segments, 180\) at 360 Hz"):
        inference.classify_segments(np.zeros((3, 200)), fs=360, checkpoint=m)
    with pytest.raises(ValueError, match=r"\(n_segments, 125\) at 250 Hz"):
        inference.classify_segments(np.zeros((3, 180)), fs=250, checkpoint=m)
    # 0.5 s at 250 Hz is accepted and resampled: the same segments give about the same answer
    seg = np.stack([synthetic_ecg(720)[0][s:s + 180] for s in (100, 300)])
    seg250 = np.stack([resample(s, fs_in=360, fs_out=250) for s in seg])
    np.testing.assert_allclose(inference.classify_segments(seg250, fs=250, checkpoint=m),
                               inference.classify_segments(seg, fs=360, checkpoint=m), atol=0.05)


def test_a_missing_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="train it first, or leave checkpoint=None"):
        inference.denoise(np.zeros(100), fs=360, checkpoint=tmp_path / "nope.pt")


def test_t_wave_rule_drops_t_waves_and_keeps_close_sharp_beats():
    fs = 360
    t = np.arange(10 * fs) / fs
    x = np.zeros_like(t)
    beats = np.arange(fs // 2, len(t) - fs // 2, fs)
    for b in beats:
        x += np.exp(-0.5 * ((t - b / fs) / 0.01) ** 2) + 0.4 * np.exp(-0.5 * ((t - b / fs - 0.25) / 0.05) ** 2)
    np.testing.assert_array_equal(peaks.reject_t_waves(x, np.sort(np.concatenate([beats, beats + 90])), fs=fs), beats)
    # a second sharp beat 300 ms after the first (a couplet) is a beat, not a T wave
    x2 = x + np.exp(-0.5 * ((np.arange(len(x)) - (beats[3] + 108)) / 3.6) ** 2)
    kept = peaks.reject_t_waves(x2, np.sort(np.append(beats, beats[3] + 108)), fs=fs)
    assert beats[3] + 108 in kept and len(kept) == len(beats) + 1
    # outside the 360 ms window nothing is judged by its slope
    late = np.sort(np.concatenate([beats, beats + 150]))
    np.testing.assert_array_equal(peaks.reject_t_waves(x, late, fs=fs), late)


def test_peak_picking_threshold_refractory_period_and_plateau_centre():
    prob = np.zeros(3600)
    for c, h in [(500, 0.9), (560, 0.8), (1500, 0.4), (2000, 0.95)]:  # 560 is 167 ms after 500
        prob += h * np.exp(-0.5 * ((np.arange(3600) - c) / 4.0) ** 2)
    np.testing.assert_array_equal(peaks.peaks_from_probability(prob, fs=360, threshold=0.5), [500, 2000])
    plateau = np.zeros(3600)
    plateau[2000:2024] = [0.9] * 8 + [0.95] * 8 + [0.97] * 8  # highest frame a neighbour: the pick moves to the centre
    assert abs(peaks.peaks_from_probability(plateau, fs=360, threshold=0.5)[0] - 2012) <= 2
    assert peaks.peaks_from_probability(plateau, fs=360, threshold=0.5, refine_s=0)[0] >= 2016


# --------------------------------------------------------------------------------------------- shipped weights
def _shipped():
    if not (checkpoints.weights_dir() / "gru_detector.pt").exists():
        pytest.fail("the reference weights are missing from ecgutils/models/weights/: run `make weights`")


@pytest.mark.parametrize("fs", [250, 360])
def test_shipped_weights_work_out_of_the_box(fs, mirror):
    _shipped()
    rec = read_record("100", mirror=mirror)
    sig = rec.signal[: 60 * 360]
    x = sig if fs == 360 else resample(sig, fs_in=360, fs_out=fs).astype(np.float32)
    y = inference.denoise(x, fs=fs)
    assert y.shape == x.shape and np.corrcoef(x, y)[0, 1] > 0.9
    found = inference.detect_r_peaks(x, fs=fs)
    ref = np.round(rec.beats[rec.beats < 60 * 360] * fs / 360).astype(int)
    _, overall = score_detections({"100": (ref, found)}, fs=fs)
    assert overall["gross_f1"] > 99


def test_shipped_weights_match_their_manifest():
    _shipped()
    from ecgutils.io.fetch import sha256_file

    files = checkpoints.manifest()["files"]
    assert set(files) == {f"{n}.pt" for n in checkpoints.ROLES.values()}
    for name, entry in files.items():
        assert sha256_file(checkpoints.weights_dir() / name) == entry["sha256"]
        info = checkpoints.read_checkpoint(checkpoints.weights_dir() / name)
        assert info.profile == entry["profile"] == "full" and info.recipe == entry["recipe"]


def test_shipped_weights_were_trained_with_todays_full_recipes():
    """A recipe changed in ``config.py`` must be retrained and shipped with it, or ``make weights`` would not
    regenerate what ships (and the README's figures would belong to another recipe)."""
    _shipped()
    from ecgutils.config import get_config
    from ecgutils.training.runs import recipe_matches

    for role, recipe in get_config("full").recipes().items():
        info = checkpoints.read_checkpoint(checkpoints.weights_dir() / f"{checkpoints.ROLES[role]}.pt")
        assert recipe_matches(info.recipe, recipe.to_dict()), (
            f"{role}: its recipe changed in config.py; retrain and ship it: python -m "
            f"ecgutils.training.runs --profile full --models {role}, then --ship {role}")


@pytest.mark.parametrize("role", ["lstm", "cnn", "detector"])
def test_predict_outputs_do_not_depend_on_the_batch(role):
    """``INFERENCE_BATCH`` is a speed setting only: every window's output is the same whatever the batch (to float32
    rounding: the matrix products may sum in another order)."""
    _shipped()
    model = checkpoints.resolve(role)
    x = np.random.default_rng(0).normal(0, 0.5, (37, 3600)).astype(np.float32)
    one_call = inference.predict(model, x, batch_size=len(x))
    assert inference.INFERENCE_BATCH < len(x)
    np.testing.assert_allclose(inference.predict(model, x), one_call, rtol=0, atol=1e-5)
    np.testing.assert_allclose(inference.predict(model, x, batch_size=5), one_call, rtol=0, atol=1e-5)


def test_a_filter_that_cannot_exist_at_the_rate_says_why():
    """scipy's own message named neither the cut-off's role nor a way out (and fs=360 for the user's 50 Hz)."""
    sig, _ = synthetic_ecg(50 * 20, fs=50)
    with pytest.raises(ValueError, match=r"\(25 Hz at fs=50 Hz\); got 40 Hz: the signal is sampled too slowly"):
        inference.denoise(sig, fs=50, method="bandpass")
    assert inference.denoise(sig, fs=50).shape == sig.shape  # the models resample inside: 50 Hz is fine for them
    for cutoff in (-1, 0, 1000):
        with pytest.raises(ValueError, match=f"got {cutoff:g} Hz$"):
            inference.detect_r_peaks(sig, fs=50, checkpoint=AmplitudeDetector(), highpass_hz=cutoff)
