"""Training windows varied like other people's recordings (issue 22), and the streaming detector's causal high-pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ecgutils.config import get_config, with_changes
from ecgutils.data.augment import AugmentConfig, Augmenter, baseline_swing, other_lead_windows, qrs_amplitude
from ecgutils.dsp.filters import CausalFilter, causal_filter, highpass_sos
from ecgutils.evaluation import throughput
from ecgutils.models.causal import CausalGRUDetector
from ecgutils.models.stream_runner import frame_probabilities
from ecgutils.training.loop import noisy_batches
from tests.helpers import synthetic_ecg, toy_bank, write_record


def _windows(n: int = 6, length: int = 3600):
    rows, beats = [], []
    for i in range(n):
        x, b = synthetic_ecg(length, seed=i)
        rows.append(x)
        beats.append(b)
    return np.stack(rows).astype(np.float32), beats


def test_nothing_changes_without_augmentation():
    x, beats = _windows()
    aug = Augmenter(AugmentConfig(), None, beats, fs=360)
    c, added = aug(x, np.arange(len(x)), np.random.default_rng(0))
    assert not AugmentConfig().active
    assert np.array_equal(c, x) and not added.any()


def test_each_variation_does_what_it_says():
    x, beats = _windows()
    other = -0.5 * x
    idx = np.arange(len(x))
    lead, _ = Augmenter(AugmentConfig(other_lead=1.0), other, beats, fs=360)(x, idx, np.random.default_rng(0))
    assert np.array_equal(lead, other)
    flip, _ = Augmenter(AugmentConfig(flip=1.0), None, beats, fs=360)(x, idx, np.random.default_rng(0))
    assert np.array_equal(flip, -x)
    scaled, _ = Augmenter(AugmentConfig(scale=(0.3, 3.0)), None, beats, fs=360)(x, idx, np.random.default_rng(0))
    gain = scaled[:, 1000] / x[:, 1000]
    assert np.all((gain >= 0.3 - 1e-6) & (gain <= 3.0 + 1e-6)) and np.ptp(gain) > 0.1
    assert np.allclose(scaled, gain[:, None] * x, atol=1e-5)  # one gain per window
    c, added = Augmenter(AugmentConfig(swing=1.0, swing_max=10.0), None, beats, fs=360)(
        x, idx, np.random.default_rng(0))
    assert np.array_equal(c, x)  # a swing is added to the input, not to the clean window (a denoiser's target)
    ratio = np.ptp(added, axis=1) / np.array([qrs_amplitude(w, b, fs=360) for w, b in zip(x, beats)])
    assert np.all((ratio >= 1.0 - 1e-3) & (ratio <= 10.0 + 1e-3)) and np.ptp(ratio) > 0.5


def test_augmentation_is_seeded_and_needs_the_other_lead():
    x, beats = _windows()
    cfg = AugmentConfig(other_lead=0.5, flip=0.2, scale=(0.3, 3.0), swing=0.3)
    aug = Augmenter(cfg, x[::-1].copy(), beats, fs=360)
    a = aug(x, np.arange(len(x)), np.random.default_rng(5))
    b = aug(x, np.arange(len(x)), np.random.default_rng(5))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    with pytest.raises(ValueError, match="other lead"):
        Augmenter(cfg, None, beats, fs=360)


def test_noisy_batches_scale_the_noise_to_the_varied_window_and_add_the_swing_after():
    x, beats = _windows()
    swing_only = Augmenter(AugmentConfig(flip=1.0, swing=1.0), None, beats, fs=360)
    noise = get_config("smoke").detector.noise
    clean_noise = type(noise)(kinds=noise.kinds, snr_range=noise.snr_range, clean_fraction=1.0)  # no noise
    (noisy, clean, idx), = noisy_batches(x, toy_bank(), np.random.default_rng(0), len(x), clean_noise, swing_only)
    assert np.array_equal(clean, -x[idx])
    swing = noisy - clean
    assert np.all(np.ptp(swing, axis=1) > 1.0)  # at least the QRS amplitude, about 1.3 mV here
    jumps = (np.abs(np.diff(swing, axis=1)) > 0.05).sum(axis=1)
    assert np.all(jumps <= 3)  # and slow: a baseline (with its few steps), not a beat


def test_other_lead_windows_come_from_the_same_times():
    from ecgutils.io.records import read_record

    v5 = read_record("100", lead="V5").signal  # record 100: MLII and V5
    got = other_lead_windows(np.array(["100", "100"]), np.array([0, 7200]), 3600)
    assert np.array_equal(got, np.stack([v5[:3600], v5[7200:10800]]))
    assert not np.allclose(got[0], read_record("100").signal[:3600], atol=0.1)


def test_the_detectors_recipes_augment_and_with_changes_routes_there():
    cfg = get_config("full")
    for r in (cfg.detector, cfg.stream_detector):
        assert r.augment.active and r.augment.other_lead > 0 and r.augment.swing > 0
        assert r.to_dict()["augment"]["flip"] == r.augment.flip
    assert not cfg.lstm.augment.active  # the denoisers are not varied (trained on both leads: not kept, README)
    assert cfg.stream_detector.model["highpass_hz"] > 0
    assert with_changes(cfg.detector, flip=0.0, swing_max=4.0).augment == AugmentConfig(
        other_lead=cfg.detector.augment.other_lead, flip=0.0, scale=cfg.detector.augment.scale,
        swing=cfg.detector.augment.swing, swing_max=4.0)


def test_causal_filter_of_a_batch_is_the_stream_filter_of_each_row():
    x = np.random.default_rng(0).normal(size=(3, 1000)) + np.array([[5.0], [-2.0], [0.0]])
    sos = highpass_sos(0.5, fs=360)
    y = causal_filter(x, sos)
    for row, out in zip(x, y):
        f = CausalFilter(sos)
        assert np.array_equal(out, np.concatenate([f.push(row[:333]), f.push(row[333:])]))
    assert abs(y[0, :50].mean()) < 0.5  # a 5 mV offset does not come through as a step at the start


def test_a_highpassed_stream_detector_trains_on_what_it_streams_and_ignores_a_baseline():
    torch.manual_seed(0)
    net = CausalGRUDetector(hidden=8, layers=1, lookahead_s=0.1, fs=360, highpass_hz=0.5).eval()
    assert net.config["highpass_hz"] == 0.5 and "highpass_hz" not in CausalGRUDetector(fs=360).config
    x, beats = synthetic_ecg(7200)
    x = x.astype(np.float32)
    with torch.no_grad():
        logits = net(torch.as_tensor(x[None]))[0].numpy()
    streamed = frame_probabilities(net, [x])[0][:len(logits)]
    assert np.allclose(streamed, 1 / (1 + np.exp(-logits.astype(np.float64))), atol=1e-5)
    drift = (3.0 + 0.5 * np.arange(len(x)) / 360).astype(np.float32)  # 3 mV, then 0.5 mV/s: 13 mV after 20 s
    plain = CausalGRUDetector(hidden=8, layers=1, lookahead_s=0.1, fs=360).eval()
    plain.load_state_dict(net.state_dict())
    with torch.no_grad():
        moved = [m(torch.as_tensor((x + drift)[None]))[0].numpy() - m(torch.as_tensor(x[None]))[0].numpy()
                 for m in (net, plain)]
    settled = slice(225, None)  # after 5 s (45 frames per second): the high-pass has forgotten the ramp's start
    assert np.abs(moved[0][settled]).max() < 0.05 < 0.5 < np.abs(moved[1][settled]).max()


def test_throughput_cli_writes_its_table(tmp_path, monkeypatch):
    table = pd.DataFrame({"task": ["stream"], "x_real_time": [500.0]})
    monkeypatch.setattr(throughput, "throughput_table", lambda seconds: table.assign(seconds=seconds))
    assert throughput.main(["--csv", str(tmp_path / "t.csv"), "--folder-seconds", "60"]) == 0
    assert pd.read_csv(tmp_path / "t.csv").to_dict("list") == {"task": ["stream"], "x_real_time": [500.0],
                                                               "seconds": [60.0]}


def test_a_varied_denoiser_trains_and_is_validated_on_the_other_lead(mirror, monkeypatch):
    from types import SimpleNamespace

    from ecgutils.data.windows import cut_windows
    from ecgutils.io.records import read_record
    from ecgutils.training import denoiser

    ws = cut_windows(read_record("100"), 3600, max_windows=4)
    v5 = other_lead_windows(ws.record, ws.start, ws.length)
    val = SimpleNamespace(windows=ws, real=ws.x + 0.1, gaussian=ws.x + 0.05)
    ds = SimpleNamespace(train=val, val=val)
    seen = {}

    def fake_fit(model, epoch, val_batches, loss, cfg, **kwargs):  # what the loop would be given
        seen["train"], seen["val"] = list(epoch()), val_batches

    monkeypatch.setattr(denoiser, "fit", fake_fit)
    lstm = get_config("smoke").lstm
    denoiser.train_denoiser(ds, toy_bank(), with_changes(lstm, other_lead=1.0), None, progress=False)
    targets = np.concatenate([c for _, c in seen["train"]])
    assert len(targets) == len(ws) and all(any(np.array_equal(t, o) for o in v5) for t in targets)
    vy = np.concatenate([y for _, y in seen["val"]])
    assert len(vy) == 4 * len(ws) and np.array_equal(vy[3 * len(ws):], v5)  # a fourth case: the other lead
    denoiser.train_denoiser(ds, toy_bank(), lstm, None, progress=False)  # the recipe varies nothing: MLII only
    plain = np.concatenate([c for _, c in seen["train"]])
    assert all(any(np.array_equal(t, m) for m in ws.x) for t in plain)
    assert len(np.concatenate([y for _, y in seen["val"]])) == 3 * len(ws)
