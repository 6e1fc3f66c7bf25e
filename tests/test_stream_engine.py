"""The NumPy streaming engine computes what the PyTorch causal models compute, whatever the chunking and the batch,
and steps aside (with a warning) for a network it does not know."""

import numpy as np
import pytest
import torch

from ecgutils.config import get_config
from ecgutils.models import checkpoints
from ecgutils.models.causal import CausalGRUDetector, CausalLSTMDenoiser
from ecgutils.models.stream_kernels import exp_neg
from ecgutils.models.runtime import blas_threads
from ecgutils.models.stream_engine import StreamEngine, engine_for
from ecgutils.streaming import StreamingDenoiser, StreamingDetector
from tests.helpers import synthetic_ecg


def _frames(batch, n, frame=8, seed=0):
    """Random frames (mV) on a drifting baseline, shape (batch, n, frame)."""
    rng = np.random.default_rng(seed)
    drift = np.linspace(-2, 3, batch * n * frame).reshape(batch, n, frame)
    return (rng.normal(0, 0.4, (batch, n, frame)) + drift).astype(np.float32)


def _torch_step(model, frames):
    with torch.no_grad():
        y, _ = model.step(torch.from_numpy(frames))
    return y.numpy()


@pytest.mark.parametrize("cls", [CausalGRUDetector, CausalLSTMDenoiser])
@pytest.mark.parametrize("layers, lookahead_s", [(1, 0.0), (2, 0.3), (3, 0.1)])
def test_the_engine_computes_what_the_model_computes(cls, layers, lookahead_s):
    torch.manual_seed(layers)
    model = cls(hidden=24, layers=layers, lookahead_s=lookahead_s, fs=360).eval()
    frames = _frames(3, 40)
    engine = StreamEngine(model)
    got = engine.step(frames, engine.initial_state(3))
    ref = _torch_step(model, frames)
    assert got.shape == ref.shape and np.allclose(got, ref, atol=1e-5)
    assert np.abs(ref).max() > 1e-3  # not a trivial output


@pytest.mark.parametrize("cls, n_features, outputs", [(CausalGRUDetector, 16, 1), (CausalLSTMDenoiser, 8, 9)])
@pytest.mark.parametrize("lookahead_s, states", [(0.0, 1), (0.03, 2), (0.1, 5)])
def test_a_head_reading_the_look_ahead_window_of_states_streams_as_it_trains(cls, n_features, outputs, lookahead_s,
                                                                             states):
    """The detector's head, and the denoiser's correction and gate, read the window of states; the engine sums it
    per output."""
    torch.manual_seed(states)
    model = cls(hidden=24, layers=2, lookahead_s=lookahead_s, fs=360, head_window=True).eval()
    heads = [model.out] + ([model.gate] if outputs > 1 else [])
    assert model.head_states == model.lookahead + 1 == states
    assert all(h.in_features == 24 * states + n_features for h in heads)
    plain = cls(hidden=24, layers=2, lookahead_s=lookahead_s, fs=360, head_window=False).eval()
    assert plain.head_states == 1 and plain.out.in_features == 24 + n_features
    frames = _frames(2, 41)
    ref = _torch_step(model, frames)
    if states > 1:
        assert not np.allclose(_torch_step(plain, frames), ref, atol=1e-3)
    engine = StreamEngine(model)
    state = engine.initial_state(2)
    got = np.concatenate([engine.step(frames[:, a:a + 3], state) for a in range(0, 41, 3)], axis=1)
    assert got.shape == ref.shape and np.allclose(got, ref, atol=1e-5)  # chunk by chunk, as one call
    assert state.states.shape == (2, states - 1, states, outputs)
    st, parts = None, []
    with torch.no_grad():
        for a in range(0, 41, 7):
            y, st = model.step(torch.from_numpy(frames[:, a:a + 7]), st)
            parts.append(y.numpy())
    assert np.allclose(np.concatenate(parts, axis=1), ref, atol=1e-6) and st.states.shape == (2, states - 1, 24)
    later = frames.copy()
    later[:, 30:] += 1.0  # the step's column k has read frames up to k: the look-ahead is still D frames
    changed = _torch_step(model, later)
    assert np.array_equal(changed[:, :30], ref[:, :30]) and not np.allclose(changed[:, 30], ref[:, 30])


def test_the_detector_reads_the_window_by_default_and_the_denoiser_by_its_recipe():
    assert CausalGRUDetector(hidden=24, lookahead_s=0.1, fs=360).head_states == 5
    assert CausalLSTMDenoiser(hidden=24, lookahead_s=0.1, fs=360).head_states == 1
    assert get_config("full").stream_denoiser.model["head_window"] is True


def test_the_compiled_exponential_is_as_accurate_as_float32():
    v = np.linspace(-85, 85, 200_001, dtype=np.float32)
    out = np.empty_like(v)
    exp_neg(v, out, np.empty(v.shape, np.int32))
    ref = np.exp(-v.astype(np.float64))
    assert np.max(np.abs(out - ref) / ref) < 2.5e-7
    big = np.array([-200.0, 200.0], dtype=np.float32)  # clipped, not overflowed
    exp_neg(big, out[:2], np.empty(2, np.int32))
    assert np.all(np.isfinite(out[:2])) and out[0] > 1e37 and out[1] < 1e-37


@pytest.mark.parametrize("cls", [CausalGRUDetector, CausalLSTMDenoiser])
def test_the_compiled_normalisation_is_the_models(cls):
    """Running statistics carried across two calls, slopes across the frame and call boundaries."""
    model = cls(hidden=8, layers=1, lookahead_s=0.0, fs=360)
    frames = _frames(2, 30)
    engine = StreamEngine(model)
    state = engine.initial_state(2)
    parts = [engine._features(frames[:, cut], state) for cut in (slice(0, 11), slice(11, 30))]
    with torch.no_grad():
        ref, ref_scale, _ = model.features(torch.from_numpy(frames), model.initial_state(2))
    assert np.allclose(np.concatenate([p[0] for p in parts], axis=1), ref.numpy(), atol=1e-6)
    assert np.allclose(np.concatenate([p[1] for p in parts], axis=1), ref_scale.numpy(), rtol=1e-12)
    assert state.frames.tolist() == [30, 30] and state.last.tolist() == frames[:, -1, -1].tolist()


@pytest.mark.parametrize("role", ["stream_detector", "stream_denoiser"])
def test_the_engine_follows_the_shipped_models_over_a_long_stretch(role):
    """Ten seconds of frames: rounding differences do not build up in the recurrent state."""
    model = checkpoints.resolve(role)
    frames = _frames(2, 450)
    engine = StreamEngine(model)
    assert np.allclose(engine.step(frames, engine.initial_state(2)), _torch_step(model, frames), atol=1e-5)


@pytest.mark.parametrize("role", ["stream_detector", "stream_denoiser"])
def test_the_engine_gives_the_same_bits_whatever_the_chunks_and_the_batch(role):
    """A stream's numbers depend neither on how its frames are cut into calls (at block boundaries, as a stream
    cuts them) nor on which other streams share the call."""
    engine = StreamEngine(checkpoints.resolve(role))
    frames = _frames(3, 96)
    with blas_threads(1):
        whole = engine.step(frames, engine.initial_state(3))
        for cut in (4, 8, 44):
            state = engine.initial_state(3)
            parts = np.concatenate([engine.step(frames[:, i:i + cut], state) for i in range(0, 96, cut)], axis=1)
            assert np.array_equal(parts, whole), cut
        for row in range(3):
            alone = engine.step(frames[row:row + 1], engine.initial_state(1))
            assert np.array_equal(alone[0], whole[row])
        state = engine.initial_state(3)  # two of the three streams advance, then all three: rows() and put()
        sub = state.rows([0, 2])
        first = engine.step(frames[[0, 2], :48], sub)
        state.put([0, 2], sub)
        assert np.array_equal(first, whole[[0, 2], :48])


def test_streams_run_on_the_engine_and_share_it():
    det = StreamingDetector(fs=360)
    assert det._network.engine is not None
    assert StreamingDetector(fs=250, checkpoint=det.model)._network.engine is det._network.engine


def test_the_engine_is_rebuilt_when_the_weights_change():
    model = CausalLSTMDenoiser(hidden=16, layers=1, lookahead_s=0.1, fs=360).eval()
    first = engine_for(model)
    assert engine_for(model) is first
    with torch.no_grad():
        model.out.weight.add_(0.5)  # an in-place change, as an optimiser step makes
    second = engine_for(model)
    frames = _frames(1, 12)
    assert second is not first
    assert np.allclose(second.step(frames, second.initial_state(1)), _torch_step(model, frames), atol=1e-5)


class _Altered(CausalGRUDetector):
    """A notebook's variation: the same trunk, another output head (the engine would not know it)."""

    def step(self, frames, state=None):
        h, _, state = self.forward_frames(frames, state)
        return torch.relu(self.out(h)[..., 0]) - 1.0, state


def test_a_network_the_engine_does_not_know_streams_in_pytorch_with_a_warning():
    torch.manual_seed(0)
    model = _Altered(hidden=8, layers=1, lookahead_s=0.1, fs=360).eval()
    model.out.bias.data.fill_(1.0)  # the relu and the shift change the output: the self-check must see it
    with pytest.warns(UserWarning, match="PyTorch"):
        det = StreamingDetector(fs=360, checkpoint=model)
    assert det._network.engine is None
    x, _ = synthetic_ecg(3600)
    peaks = np.concatenate([det.push(x[i:i + 36]) for i in range(0, len(x), 36)] + [det.flush()])
    assert peaks.dtype == np.int64  # it runs (its peaks are whatever the altered head gives)


def test_the_denoiser_streams_the_same_samples_on_the_engine_and_in_pytorch():
    den = StreamingDenoiser(fs=360)
    x, _ = synthetic_ecg(3600)
    x = x + 0.1 * np.random.default_rng(1).normal(size=len(x))
    on_engine = np.concatenate([den.push(x[i:i + 36]) for i in range(0, len(x), 36)] + [den.flush()])
    den._network.engine = None  # PyTorch from here on
    den.reset()
    in_torch = np.concatenate([den.push(x[i:i + 36]) for i in range(0, len(x), 36)] + [den.flush()])
    assert np.allclose(on_engine, in_torch, atol=1e-5) and np.abs(on_engine - x).max() > 1e-3


def test_blas_threads_restores_the_thread_counts():
    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with blas_threads(1):
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lfilter_carried_is_scipys_lfilter_bit_for_bit(dtype):
    import scipy.signal as sps

    from ecgutils.dsp.filters import highpass_sos, lfilter_carried

    sos = highpass_sos(0.5, fs=360)
    b, a = sos[0, :3], sos[0, 3:]
    x = np.random.default_rng(0).normal(size=(3, 100)).astype(dtype)
    zi = sps.lfilter_zi(b, a)[None] * x[:, :1].astype(np.float64)
    ours, scipys = lfilter_carried(b, a, x, zi), sps.lfilter(b, a, x, axis=-1, zi=zi)
    assert all(np.array_equal(p, q) and p.dtype == q.dtype for p, q in zip(ours, scipys))
    y1, z1 = lfilter_carried(b, a, x[:, :40].astype(np.float64), zi)  # carried across two calls: the same numbers
    y2, _ = lfilter_carried(b, a, x[:, 40:].astype(np.float64), z1)
    assert np.array_equal(np.concatenate([y1, y2], axis=1), sps.lfilter(b, a, x.astype(np.float64), zi=zi)[0])


def test_a_pool_of_networks_the_engine_does_not_know_gives_each_stream_its_own_peaks():
    """The PyTorch fallback in a pool: streams at different rates advance in different calls (rows() and put() of
    the PyTorch state), and each gets the peaks it gets alone."""
    from ecgutils.streaming import StreamPool

    torch.manual_seed(0)
    model = _Altered(hidden=8, layers=1, lookahead_s=0.1, fs=360).eval()
    model.out.bias.data.fill_(1.0)
    rates = [360, 250]
    signals = [synthetic_ecg(int(8 * fs), fs, seed=i)[0] for i, fs in enumerate(rates)]
    with pytest.warns(UserWarning, match="PyTorch"):
        pool = StreamPool(StreamingDetector, 2, fs=rates, checkpoint=model)
    assert pool._network.engine is None
    out = [[], []]
    for i in range(0, 8 * 10):  # 100 ms chunks at each stream's rate
        for o, y in zip(out, pool.push([s[i * fs // 10:(i + 1) * fs // 10] for s, fs in zip(signals, rates)])):
            o.append(y)
    for o, y in zip(out, pool.flush()):
        o.append(y)
    for x, fs, got in zip(signals, rates, out):
        alone = StreamingDetector(fs=fs, checkpoint=model)
        ref = np.concatenate([alone.push(x[i:i + fs // 10]) for i in range(0, len(x), fs // 10)] + [alone.flush()])
        assert len(ref) > 5 and np.array_equal(np.concatenate(got), ref)
