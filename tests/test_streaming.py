"""Real time: the causal models only look as far ahead as they say, and streaming never depends on the chunking."""

import numpy as np
import pytest
import torch
from scipy import signal as sps

from ecgutils import config
from ecgutils import models
from ecgutils.models.causal import running_stats
from ecgutils.training.losses import trimmed
from ecgutils.evaluation.metrics import match_beats
from ecgutils.evaluation.realtime import run_stream
from ecgutils.dsp.resampling import StreamResampler, design_filter
from ecgutils.models.stream_runner import frame_probabilities, pick_peaks
from ecgutils.streaming import StreamingDenoiser, StreamingDetector
from tests.helpers import synthetic_ecg


def _small(kind, lookahead_s=0.1):
    return models.build_model(kind, seed=0, hidden=8, layers=1, lookahead_s=lookahead_s).eval()


def _chunked(stream, x, chunk):
    stream.reset()
    out = [stream.push(x[i:i + chunk]) for i in range(0, len(x), chunk)]
    return np.concatenate(out + [stream.flush()])


@pytest.mark.parametrize("fs_in, fs_out", [(250, 360), (360, 130), (500, 360)])
def test_stream_resampler_is_resample_poly_whatever_the_chunks(fs_in, fs_out):
    x, _ = synthetic_ecg(3000, fs_in)
    outs = []
    for chunk in (len(x), 37, 1):
        r = StreamResampler(fs_in=fs_in, fs_out=fs_out)
        outs.append(np.concatenate([r.push(x[i:i + chunk]) for i in range(0, len(x), chunk)] + [r.flush()]))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    ref = sps.resample_poly(x, r.up, r.down, window=design_filter(r.up, r.down), padtype="edge")  # unit-gain branches
    assert len(outs[0]) == len(ref)
    assert np.allclose(outs[0], ref, atol=1e-9)


def test_running_stats_follow_the_signal_causally():
    rng = np.random.default_rng(0)
    x = (2.0 + 0.5 * rng.standard_normal((1, 200, 8))).astype(np.float32)
    mean, scale, _ = (t.numpy() for t in running_stats(torch.as_tensor(x), None, tau_frames=20))
    assert mean[0, 0] == pytest.approx(x[0, 0].mean(), rel=1e-6)  # bias-corrected from the first frame
    assert mean[0, -1] == pytest.approx(2.0, abs=0.1) and scale[0, -1] == pytest.approx(0.5, abs=0.1)
    y = x.copy()
    y[:, 100:] += 5.0  # the future does not change the past
    m2, _, _ = running_stats(torch.as_tensor(y), None, tau_frames=20)
    assert np.array_equal(m2[:, :100].numpy(), mean[:, :100]) and not np.allclose(m2[:, 100:].numpy(), mean[:, 100:])


@pytest.mark.parametrize("kind", ["causal_gru_detector", "causal_lstm"])
def test_causal_models_look_ahead_exactly_lookahead_frames(kind):
    m = _small(kind, lookahead_s=0.1)  # 4 frames of 8 samples at 360 Hz
    assert m.lookahead == 4 and m.lookahead_seconds == pytest.approx(32 / 360)
    x, _ = synthetic_ecg(1600)
    x = torch.tensor(x[None], dtype=torch.float32)
    y = x.clone()
    y[:, 800:] += 1.0  # changed from frame 100 on
    with torch.no_grad():
        a, b = m(x), m(y)
    per = 1 if kind == "causal_gru_detector" else 8
    first_changed = (100 - m.lookahead) * per  # output j is about frame j and has read frames up to j + lookahead
    assert a.shape[1] == (200 - m.lookahead) * per
    assert torch.equal(a[:, :first_changed], b[:, :first_changed])
    assert not torch.allclose(a[:, first_changed:first_changed + per], b[:, first_changed:first_changed + per])


def test_lookahead_is_never_more_than_asked_and_named_in_the_recipe():
    base = config.get_config("quick").stream_detector
    assert base.model["lookahead_s"] == config.DETECTOR_LOOKAHEAD_S <= 0.3
    r = config.with_lookahead(base, 1.0)
    assert r.name == "gru_stream_detector_la1000ms" and r.model["lookahead_s"] == 1.0
    assert config.with_lookahead(base, config.DETECTOR_LOOKAHEAD_S).name == base.name
    assert _small("causal_gru_detector", 0.3).lookahead_seconds <= 0.3
    with pytest.raises(ValueError, match="not a real-time model"):
        config.with_lookahead(config.get_config("quick").detector, 0.1)


def test_trimmed_loss_scores_only_what_the_model_answers_for():
    loss = trimmed(lambda y, t, x: ((y - t) ** 2).mean() + 0 * x.sum())
    y, t = torch.zeros(2, 5), torch.cat([torch.zeros(2, 5), torch.ones(2, 3)], dim=1)
    assert loss(y, t, t).item() == 0.0
    assert loss(torch.zeros(2, 8), t, t).item() == pytest.approx(3 / 8)


@pytest.mark.parametrize("fs", [360, 250])
def test_one_chunk_100ms_chunks_and_single_samples_give_the_same_samples(fs):
    x, _ = synthetic_ecg(int(6 * fs), fs)
    den = StreamingDenoiser(fs=fs, checkpoint=_small("causal_lstm"))
    outs = [_chunked(den, x, c) for c in (len(x), int(0.1 * fs), 1)]
    assert all(len(o) == len(x) for o in outs)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    assert np.abs(outs[0] - x).max() > 1e-4  # it did change the signal: the comparison is not vacuous


@pytest.mark.parametrize("n", [1, 5, 33, 1000])
def test_denoiser_output_has_the_input_length(n):
    x, _ = synthetic_ecg(max(n, 2), 250)
    den = StreamingDenoiser(fs=250, checkpoint=_small("causal_lstm"))
    assert len(_chunked(den, x[:n], 7)) == n


def test_detector_probabilities_in_the_stream_are_the_trained_ones():
    m = _small("causal_gru_detector")
    x, _ = synthetic_ecg(3600)
    with torch.no_grad():
        trained = torch.sigmoid(m(torch.tensor(x[None], dtype=torch.float32)))[0].numpy()
    streamed = frame_probabilities(m, [x])[0]
    assert np.allclose(streamed[:len(trained)], trained, atol=1e-5)


def test_errors_are_clear_and_leave_the_stream_as_it_was_and_an_empty_chunk_is_nothing_new():
    with pytest.raises(ValueError, match="fs must be"):
        StreamingDetector(fs=0, checkpoint=_small("causal_gru_detector"))
    with pytest.raises(ValueError, match="not a real-time model"):
        StreamingDetector(fs=360, checkpoint=models.build_model("gru_detector", seed=0, hidden=8, layers=1))
    x, _ = synthetic_ecg(2000)
    den = StreamingDenoiser(fs=360, checkpoint=_small("causal_lstm"))
    first = den.push(x[:1000])
    bad = x[1000:1100].copy()
    bad[10:20] = np.nan
    with pytest.raises(ValueError, match="state is unchanged"):
        den.push(bad)
    with pytest.raises(ValueError, match="1-D"):
        den.push(np.zeros((2, 10)))
    gap = [den.push([]), den.push(None)]  # a read that brought no samples: nothing new, as for a pool
    assert [g.size for g in gap] == [0, 0] and gap[0].dtype == first.dtype
    rest = np.concatenate([den.push(x[1000:]), den.flush()])
    assert np.array_equal(np.concatenate([first, rest]), _chunked(den, x, len(x)))


# ------------------------------------------------------------------ the shipped real-time models
@pytest.mark.parametrize("fs", [250, 360, 500])
def test_shipped_detector_finds_the_beats_of_a_synthetic_ecg_in_any_chunking(fs):
    x, beats = synthetic_ecg(int(20 * fs), fs)
    det = StreamingDetector(fs=fs)
    runs = [run_stream(det, x, c) for c in (None, 0.1)]
    one = _chunked(det, x, 1)
    assert np.array_equal(runs[0].output, runs[1].output) and np.array_equal(runs[0].output, one)
    assert runs[0].output.dtype == np.int64 and np.all(np.diff(runs[0].output) > 0)
    m = match_beats(beats[(beats > fs) & (beats < len(x) - fs)],
                    runs[0].output[(runs[0].output > fs) & (runs[0].output < len(x) - fs)], fs=fs)
    assert m["fn"] == 0 and m["fp"] == 0
    assert np.median(np.abs(m["errors_ms"])) < 15


def test_every_beat_is_reported_within_latency_s():
    x, beats = synthetic_ecg(int(30 * 250), 250)
    det = StreamingDetector(fs=250)
    assert 0.3 < det.latency_s < 0.6
    run = run_stream(det, x, 1 / 250)  # one sample per push: the report time is exact
    delay = (run.reported_at[:-1] - run.output[:-1]) / 250  # (the flush reports at the end of the stream)
    assert len(delay) > 20 and delay.max() <= det.latency_s
    chunked = run_stream(det, x, 0.1)
    m = match_beats(beats, chunked.output, fs=250)
    at = dict(zip(chunked.output.tolist(), chunked.reported_at.tolist()))
    late = [at[d] - b for b, d in zip(m["matched_reference"], m["matched_detected"]) if at[d] < len(x) - 1]
    assert max(late) / 250 <= det.latency_s + 0.1 + 0.15  # latency + one chunk + the match tolerance


def test_shipped_denoiser_cleans_noise_and_keeps_a_clean_signal():
    x, _ = synthetic_ecg(int(30 * 360), 360)
    rng = np.random.default_rng(0)
    noisy = x + 0.3 * rng.standard_normal(len(x))
    den = StreamingDenoiser(fs=360)
    y = run_stream(den, noisy, 0.1).output
    s = slice(5 * 360, -360)
    err_in, err_out = np.mean((noisy - x)[s] ** 2), np.mean((y - x)[s] ** 2)
    assert err_out < err_in / 2  # at least 3 dB better on white noise
    identity = run_stream(den, x, 0.1).output
    assert np.mean((identity - x)[s] ** 2) < err_in / 10


def test_pick_peaks_is_the_streaming_picker():
    x, beats = synthetic_ecg(int(20 * 360))
    det = StreamingDetector(fs=360)
    prob = frame_probabilities(det.model, [x])[0]
    picked = pick_peaks(prob, det.model, det.threshold)
    streamed = run_stream(det, x, 0.1).output
    inner = (streamed > 360) & (streamed < len(x) - 360)
    assert inner.sum() > 15 and np.array_equal(picked[(picked > 360) & (picked < len(x) - 360)], streamed[inner])


def _beats_and_t_waves_probability(beats, n, frame=8, t_delay_s=0.3, fs=360):
    """Frame probabilities that mark every beat (0.95) and every T wave 300 ms later (0.9), each over 3 frames."""
    prob = np.zeros(-(-n // frame))
    for b, level in [(b, 0.95) for b in beats] + [(b + int(t_delay_s * fs), 0.9) for b in beats]:
        for d, v in ((-1, level - 0.1), (0, level), (1, level - 0.1)):
            if 0 <= b // frame + d < len(prob):
                prob[b // frame + d] = max(prob[b // frame + d], v)
    return prob


def test_causal_picker_drops_t_waves_by_their_slope_and_decides_each_frame_once():
    x, beats = synthetic_ecg(20 * 360)
    m = _small("causal_gru_detector")
    prob = _beats_and_t_waves_probability(beats, len(x))
    without = pick_peaks(prob, m, 0.5)
    with_rule = pick_peaks(prob, m, 0.5, signal=x)
    assert len(without) == 2 * len(beats)  # every T wave is a detection without the rule
    assert len(with_rule) == len(beats) and np.abs(with_rule - beats).max() <= 8
    from ecgutils.dsp.peaks import PICK_WAIT_FRAMES, CausalPicker

    picker = CausalPicker(m.frame, fs=m.fs, threshold=0.5, t_wave_check=True)
    padded = np.concatenate([prob, np.full(PICK_WAIT_FRAMES, -np.inf)])
    found, f = [], 0
    for size in np.random.default_rng(0).integers(1, 9, 400):  # frames (and their samples) in uneven pieces
        found += picker.feed(padded[f:f + size], x[f * m.frame:(f + size) * m.frame])
        f += size
        if f >= len(padded):
            break
    assert np.array_equal(np.round(found).astype(np.int64), with_rule)


def test_every_detector_takes_its_t_wave_default_from_one_setting():
    import inspect

    from ecgutils import inference
    from ecgutils.evaluation.realtime import batched_detector
    from ecgutils.training.rpeak import tune_threshold
    from ecgutils.training.stream import tune_stream_threshold

    default = inference.DETECTOR_T_WAVE_CHECK
    for fn in (inference.detect_r_peaks, tune_threshold, tune_stream_threshold, batched_detector):
        assert inspect.signature(fn).parameters["t_wave_check"].default is default, fn.__name__
    from ecgutils.training.runs import tuning

    assert tuning("detector") == tuning("stream_detector") == {"t_wave_check": default} and tuning("lstm") == {}
    det = StreamingDetector(fs=360)
    assert det.t_wave_check is default and (det._picker.slope is not None) is default
    assert StreamingDetector(fs=360, t_wave_check=True)._picker.slope is not None  # the rule, on request


def test_batch_detections_are_the_single_streams_peaks():
    from ecgutils.evaluation.realtime import batch_detections

    x, _ = synthetic_ecg(30 * 360)
    y = 0.7 * synthetic_ecg(30 * 360, rate_bpm=95, seed=1)[0]
    det = StreamingDetector(fs=360)
    batch = batch_detections({"stream": det.model}, {"a": x, "b": y})["stream"]["peaks"]
    for name, sig in (("a", x), ("b", y)):
        single = run_stream(det, sig, 0.1).output
        inner = slice(360, len(sig) - 360)
        pick = lambda p: p[(p >= inner.start) & (p < inner.stop)]  # noqa: E731
        assert len(pick(single)) > 20 and np.array_equal(pick(batch[name]), pick(single))


def test_a_checkpoint_of_another_network_version_is_a_clear_error(tmp_path):
    from ecgutils.models import checkpoints

    recipe = config.get_config("quick").stream_denoiser
    m = _small("causal_lstm")
    path = tmp_path / "old.pt"
    checkpoints.save_checkpoint(path, m, "causal_lstm", profile="quick", dataset="d", recipe=recipe.to_dict(),
                                epoch=1, val_loss=1.0)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["out.weight"] = payload["state_dict"]["out.weight"][:, :8]  # an older, narrower head
    torch.save(payload, path)
    with pytest.raises(ValueError, match="retrain it"):
        checkpoints.load_model(path)
