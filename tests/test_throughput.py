"""Throughput without changing answers: causal models on any device and dtype, all complete blocks of a push in one
network call, many streams in one pool, many signals in one offline call."""

import numpy as np
import pytest
import torch

from ecgutils import models
from ecgutils.inference import denoise, detect_r_peaks, peak_probability
from ecgutils.streaming import StreamingDenoiser, StreamingDetector, StreamPool
from tests.helpers import synthetic_ecg


def _small(kind, lookahead_s=0.1):
    return models.build_model(kind, seed=0, hidden=8, layers=1, lookahead_s=lookahead_s).eval()


def _run(stream, x, chunk):
    stream.reset()
    return np.concatenate([stream.push(x[i:i + chunk]) for i in range(0, len(x), chunk)] + [stream.flush()])


def _count_calls(owner):
    """Count the network calls of a stream or a pool (its network's ``run``, the NumPy engine or PyTorch)."""
    calls = []
    network = owner._network
    run = network.run

    def counted(rows, frames):
        calls.append(np.shape(frames))
        return run(rows, frames)

    network.run = counted
    return calls


# ------------------------------------------------------------------ device and dtype
@pytest.mark.parametrize("kind", ["causal_gru_detector", "causal_lstm"])
def test_a_causal_model_in_double_runs_forward_and_streams_like_the_float_one(kind):
    """``double()`` stands in for a device change: the running statistics must follow the model's tensors."""
    x, _ = synthetic_ecg(3600)
    m32 = _small(kind)
    m64 = _small(kind).double()
    with torch.no_grad():
        a = m32(torch.tensor(x[None], dtype=torch.float32))
        b = m64(torch.tensor(x[None], dtype=torch.float64))
    assert b.dtype == torch.float64 and torch.allclose(a.double(), b, atol=1e-5)
    with torch.no_grad():
        ya, _ = m32.step(x.reshape(1, -1, m32.frame))
        yb, state = m64.step(x.reshape(1, -1, m64.frame))
    assert torch.allclose(ya.double(), yb, atol=1e-5) and state.recent.dtype == torch.float64
    if kind == "causal_lstm":
        s32, s64 = StreamingDenoiser(fs=360, checkpoint=m32), StreamingDenoiser(fs=360, checkpoint=m64)
    else:
        s32, s64 = StreamingDetector(fs=360, checkpoint=m32), StreamingDetector(fs=360, checkpoint=m64)
    out32, out64 = _run(s32, x, 36), _run(s64, x, 36)
    assert np.allclose(out32, out64, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_a_causal_model_on_the_gpu_streams_like_on_the_cpu():
    x, _ = synthetic_ecg(3600)
    cpu, gpu = _small("causal_lstm"), _small("causal_lstm").cuda()
    a = _run(StreamingDenoiser(fs=360, checkpoint=cpu), x, 36)
    b = _run(StreamingDenoiser(fs=360, checkpoint=gpu), x, 36)
    assert np.allclose(a, b, atol=1e-4)


# ------------------------------------------------------------------ one stream: k blocks, one call
def test_a_push_runs_all_its_complete_blocks_in_one_network_call():
    x, _ = synthetic_ecg(10 * 360)
    den = StreamingDenoiser(fs=360, checkpoint=_small("causal_lstm"))
    block_by_block = _run(den, x, 32)  # one block of 4 frames of 8 samples per push
    calls = _count_calls(den)
    den.reset()
    y = den.push(x)
    assert len(calls) == 1 and calls[0][1] == len(x) // 32 * 4  # every complete block, in one call
    assert np.array_equal(np.concatenate([y, den.flush()]), block_by_block)


# ------------------------------------------------------------------ many streams
def _signals(n, fs):
    return [synthetic_ecg(int(12 * fs), fs, rate_bpm=60 + 11 * i, seed=i)[0] * (0.6 + 0.2 * i) for i in range(n)]


def _pooled(pool, signals, chunks):
    pool.reset()
    n = max(len(s) for s in signals)
    outs = [[] for _ in signals]
    for i in range(0, n, max(chunks)):
        step = [s[i * c // max(chunks):(i + max(chunks)) * c // max(chunks)] for s, c in zip(signals, chunks)]
        for o, y in zip(outs, pool.push(step)):
            o.append(y)
    for o, y in zip(outs, pool.flush()):
        o.append(y)
    return [np.concatenate(o) for o in outs]


def test_a_pool_of_detectors_gives_each_stream_its_own_peaks_with_one_call_per_push():
    rates = [360, 360, 250]
    signals = [x for x, fs in zip(_signals(3, 360)[:2], rates)] + _signals(1, 250)
    pool = StreamPool(StreamingDetector, 3, fs=rates)
    calls = _count_calls(pool)
    pooled = _pooled(pool, signals, [36, 36, 25])  # 100 ms chunks at each stream's rate
    pushes = -(-len(signals[0]) // 36) + 1  # a stream at another rate may have one block more than the others:
    assert len(calls) <= 2 * pushes and max(c[0] for c in calls) == 3  # then a second call for it
    for x, fs, got in zip(signals, rates, pooled):
        alone = _run(StreamingDetector(fs=fs), x, int(0.1 * fs))
        assert len(alone) > 8 and np.array_equal(got, alone)


def test_a_pool_of_denoisers_gives_each_stream_exactly_its_own_samples():
    signals = _signals(4, 250)
    signals[3] = signals[3][:1000]  # a stream that ends early: the others go on without it
    pool = StreamPool(StreamingDenoiser, 4, fs=250, checkpoint=_small("causal_lstm"))
    calls = _count_calls(pool)
    pooled = _pooled(pool, signals, [25] * 4)
    assert len(calls) <= -(-len(signals[0]) // 25) + 1  # streams at one rate: one network call per push
    assert max(c[0] for c in calls) == 4
    for x, got in zip(signals, pooled):
        alone = _run(StreamingDenoiser(fs=250, checkpoint=pool.model), x, 25)
        assert len(got) == len(x) and np.array_equal(got, alone)
        assert np.abs(got - x).max() > 1e-4


def test_a_pool_checks_every_chunk_before_any_stream_moves():
    pool = StreamPool(StreamingDenoiser, 2, fs=360, checkpoint=_small("causal_lstm"))
    x, _ = synthetic_ecg(720)
    with pytest.raises(ValueError, match="NaN"):
        pool.push([x, np.full(10, np.nan)])
    with pytest.raises(ValueError, match="one chunk per stream"):
        pool.push([x])
    assert all(s._blocks.n_in == 0 for s in pool.streams)


# ------------------------------------------------------------------ offline, many signals in one call
def test_many_signals_in_one_call_give_each_signal_its_own_peaks_and_samples():
    long, _ = synthetic_ecg(25 * 360, seed=3)
    xs = [x for x in _signals(4, 360)] + [long, long[:1500]]  # 12 s, 25 s (two windows), shorter than a window
    batch = detect_r_peaks(xs, fs=360)
    assert isinstance(batch, list) and len(batch) == len(xs)
    for x, got in zip(xs, batch):
        assert np.array_equal(got, detect_r_peaks(x, fs=360))
    den = denoise(xs, fs=360)
    for x, got in zip(xs, den):
        assert got.shape == x.shape and np.allclose(got, denoise(x, fs=360), atol=1e-6)
    grid = np.stack([x[:3000] for x in xs[:4]])  # a 2-D array of equal lengths at another rate
    assert denoise(grid, fs=250).shape == grid.shape
    assert all(np.array_equal(p, detect_r_peaks(x, fs=250)) for p, x in zip(detect_r_peaks(grid, fs=250), grid))
    assert np.allclose(peak_probability(grid, fs=250)[1], peak_probability(grid[1], fs=250), atol=1e-6)


def test_a_flat_signal_among_many_gives_no_peaks_and_leads_are_not_mistaken_for_signals():
    x, _ = synthetic_ecg(3600)
    out = detect_r_peaks([x, np.zeros(3600)], fs=360)
    assert len(out[0]) > 5 and len(out[1]) == 0
    with pytest.raises(ValueError, match="n_leads"):
        detect_r_peaks(np.stack([x, x], axis=1), fs=360)


def test_the_throughput_rows_name_their_setting_and_target():
    from ecgutils.evaluation.throughput import TARGETS, pool_rows, stream_rows

    x, _ = synthetic_ecg(12 * 360)
    rows = stream_rows(x, repeats=1) + pool_rows([x, x[::-1].copy(), 0.5 * x], repeats=1)
    assert [r["task"] for r in rows] == ["stream detector"] * 2 + ["stream denoiser"] * 2 + ["stream detector"] \
        + ["stream detector", "stream denoiser"]
    assert [r["target"] for r in rows[:4]] == [TARGETS["stream 100 ms"], TARGETS["stream 1 s"]] * 2
    assert np.isnan(rows[4]["target"]) and "250 Hz" in rows[4]["setting"]
    assert all(r["target"] == TARGETS["pool of 100, per stream"] and "pool of 3" in r["setting"] for r in rows[5:])
    assert all(r["x_real_time"] > 1 and r["compute_s"] > 0 for r in rows)
