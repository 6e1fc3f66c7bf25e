"""A causal model's streaming step in NumPy and Numba: the same network as :mod:`ecgutils.models.causal`, at a
fraction of the cost per call.

A live stream calls the network every 89 ms on 4 frames. PyTorch spends most of such a call outside arithmetic
(about 3 µs per operation, about 20 µs per recurrent layer and frame on 2 cores), so a stream ran at about 80x real
time. The engine reads the trained weights once and runs the same computation with a few calls per push:

* the running statistics and the normalised frames as a compiled loop (:mod:`ecgutils.models.stream_kernels`, Numba);
* the input projection, and the output head, as one matrix product over all new frames;
* the recurrent layers as compiled loops (:mod:`ecgutils.models.stream_kernels`, Numba): every stream, frame and
  layer in one call.

What changes is the order of a few additions, not the network: the engine agrees with ``model.step`` to float32
rounding (tested at 1e-5) and checks itself against it when it is built (:func:`engine_for` falls back to PyTorch,
with a warning, for a network it does not recognise, such as a notebook's modified copy). A stream's numbers do not
depend on its chunking or on the other streams of its batch, bit for bit (tested): the recurrent loops compute each
stream and frame on its own, and the matrix products see C-ordered weights, for which OpenBLAS computes each row
alike whatever the number of rows.

>>> import torch
>>> from ecgutils.models.causal import CausalGRUDetector
>>> model = CausalGRUDetector(fs=360, lookahead_s=0.1)
>>> engine = StreamEngine(model)
>>> frames = np.random.default_rng(0).normal(size=(2, 8, 8)).astype(np.float32)   # 2 streams, 8 frames of 8 mV
>>> y = engine.step(frames, engine.initial_state(2))
>>> ref, _ = model.step(torch.from_numpy(frames))
>>> bool(np.allclose(y, ref.detach().numpy(), atol=1e-5))
True
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import expit
from torch import nn

from ecgutils.models.causal import NORM_FLOOR_MV, _CausalRNN
from ecgutils.models.stream_kernels import affine, gru_stack, lstm_stack, running_features, window_sum

#: The largest difference from ``model.step`` the self-check accepts (logits or mV).
CHECK_ATOL = 1e-4


@dataclass
class EngineState:
    """What the engine carries from call to call, one row per stream (NumPy; the engine updates it in place).

    Attributes
    ----------
    ema : ndarray, shape (batch, 2), float64
        Moving averages of the frames' mean (mV) and mean square (mV²), before bias correction.
    frames : ndarray, shape (batch,), int64
        Frames seen.
    last : ndarray, shape (batch,), float64
        The last sample seen, mV.
    h : ndarray, shape (batch, layers, hidden), float32
        The recurrent layers' states.
    c : ndarray, shape (batch, layers, hidden), float32
        The LSTM's cell states (hidden 0 for a GRU).
    recent : ndarray, shape (batch, lookahead, n_features), float32
        The input features of the last ``lookahead`` frames.
    states : ndarray, shape (batch, head_states - 1, head_states, n_outputs), float32
        With a windowed head: the last ``head_states - 1`` frames' contributions to the head, each state projected
        once onto the head's weights for every place it takes in a window (``[b, t, j]``: state ``t`` as the
        ``j``-th of the window, oldest first; ``n_outputs``: 1 for the detector, ``frame + 1`` for the denoiser's
        correction and gate).
    """

    ema: np.ndarray
    frames: np.ndarray
    last: np.ndarray
    h: np.ndarray
    c: np.ndarray
    recent: np.ndarray
    states: np.ndarray

    def rows(self, idx) -> "EngineState":
        """A copy of some rows (streams)."""
        return EngineState(*(getattr(self, f)[idx] for f in _FIELDS))

    def put(self, idx, part: "EngineState") -> None:
        """Write rows back (the inverse of :meth:`rows`)."""
        for f in _FIELDS:
            getattr(self, f)[idx] = getattr(part, f)


_FIELDS = ("ema", "frames", "last", "h", "c", "recent", "states")


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def _affine(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x @ w + b`` over the last axis of ``x`` (..., K), compiled row by row (:func:`ecgutils.models.stream_kernels.affine`)."""
    rows = np.ascontiguousarray(x.reshape(-1, x.shape[-1]), dtype=np.float32)
    out = np.empty((rows.shape[0], w.shape[1]), dtype=np.float32)
    affine(rows, w, b, out)
    return out.reshape(*x.shape[:-1], w.shape[1])


class StreamEngine:
    """The streaming step of a :class:`~ecgutils.models.causal.CausalGRUDetector` or
    :class:`~ecgutils.models.causal.CausalLSTMDenoiser` in NumPy and Numba (weights copied when built: build a new
    engine after training further).

    Parameters
    ----------
    model : CausalGRUDetector or CausalLSTMDenoiser
        A trained causal model (or a notebook's copy of one with the same structure).
    """

    def __init__(self, model: _CausalRNN):
        rnn = model.rnn
        if not isinstance(rnn, (nn.GRU, nn.LSTM)) or not rnn.batch_first or rnn.bidirectional or rnn.proj_size \
                or not rnn.bias or not isinstance(model.inp, nn.Linear):
            raise TypeError(f"{type(model).__name__} is not a causal model the engine knows")
        if rnn.input_size != rnn.hidden_size or model.inp.out_features != rnn.input_size:
            raise TypeError(f"{type(model).__name__}: the engine needs the recurrent input as wide as its state")
        self.frame, self.lookahead, self.slope = model.frame, model.lookahead, model.slope
        self.head_states = int(getattr(model, "head_states", 1))
        self.a = float(np.exp(-1.0 / model.tau_frames))
        self.lstm = isinstance(rnn, nn.LSTM)
        self.layers, self.hidden = rnn.num_layers, rnn.hidden_size
        self.detector = hasattr(model, "threshold") and not hasattr(model, "gate")
        heads = [model.out] + ([] if self.detector else [model.gate])
        # C-ordered float32 weights for the compiled products (stream_kernels.affine: each row alike whatever the
        # number of rows, so a stream's numbers do not depend on its chunking; tests/test_streaming.py checks it)
        self.w_inp, self.b_inp = _f32(_np(model.inp.weight).T), _f32(_np(model.inp.bias))
        self.w_ih, self.w_hh, self.b_rnn, self.b_hn = self._recurrent_weights(rnn)
        self.w_head = _f32(np.concatenate([_np(m.weight).T for m in heads], axis=1))
        self.b_head = _f32(np.concatenate([_np(m.bias) for m in heads]))
        if self.head_states > 1:  # the head is linear: each state is projected once, for all its places in windows
            s, h = self.head_states, self.hidden
            # (hidden, S * outputs): columns j * outputs to (j + 1) * outputs, the head's weights at the j-th place
            self.w_states = _f32(self.w_head[:s * h].reshape(s, h, -1).transpose(1, 0, 2).reshape(h, -1))
            self.w_head = _f32(self.w_head[s * h:])                       # the answered frame's features
            self.b_states = np.zeros(self.w_states.shape[1], dtype=np.float32)

    # -- weights ---------------------------------------------------------------------------------------------------
    def _recurrent_weights(self, rnn) -> tuple:
        """Each layer's weights as the compiled loops take them (:mod:`ecgutils.models.stream_kernels`): input
        and recurrent weights transposed, (layers, hidden, gates * hidden); the biases summed, except the GRU's
        recurrent bias of ``n`` (``r`` multiplies it), kept apart (None for an LSTM)."""
        L, H = self.layers, self.hidden
        layers = range(L)
        w_ih = [_np(getattr(rnn, f"weight_ih_l{k}")).T for k in layers]
        w_hh = [_np(getattr(rnn, f"weight_hh_l{k}")).T for k in layers]
        b_ih = [_np(getattr(rnn, f"bias_ih_l{k}")) for k in layers]
        b_hh = [_np(getattr(rnn, f"bias_hh_l{k}")).copy() for k in layers]
        b_hn = _f32(np.stack([b[2 * H:3 * H].copy() for b in b_hh])) if not self.lstm else None
        if not self.lstm:
            for b in b_hh:
                b[2 * H:3 * H] = 0.0
        return _f32(np.stack(w_ih)), _f32(np.stack(w_hh)), _f32(np.stack(b_ih) + np.stack(b_hh)), b_hn

    # -- state -----------------------------------------------------------------------------------------------------
    def initial_state(self, batch: int) -> EngineState:
        """The state of ``batch`` new streams."""
        h = np.zeros((batch, self.layers, self.hidden), dtype=np.float32)
        n_features = (2 if self.slope else 1) * self.frame
        return EngineState(np.zeros((batch, 2)), np.zeros(batch, dtype=np.int64), np.zeros(batch), h,
                           np.zeros((batch, self.layers, self.hidden if self.lstm else 0), dtype=np.float32),
                           np.zeros((batch, self.lookahead, n_features), dtype=np.float32),
                           np.zeros((batch, self.head_states - 1, self.head_states, self.b_head.size),
                                    dtype=np.float32))

    # -- the step --------------------------------------------------------------------------------------------------
    def _features(self, frames: np.ndarray, state: EngineState):
        """Normalised frames (and slopes), float32, and the running scale (float64), as ``model.features``
        (:func:`ecgutils.models.stream_kernels.running_features`, every stream and frame in one call)."""
        b, n, k = frames.shape
        feats = np.empty((b, n, (2 if self.slope else 1) * k), dtype=np.float32)
        scale = np.empty((b, n))
        running_features(np.ascontiguousarray(frames, dtype=np.float32), self.a, NORM_FLOOR_MV, state.ema,
                         state.frames, state.last, feats, scale)
        return feats, scale

    def _recurrent(self, x: np.ndarray, state: EngineState) -> np.ndarray:
        """The top layer's outputs (b, n, hidden) for the first layer's inputs ``x`` (b, n, hidden): the compiled
        loops of :mod:`ecgutils.models.stream_kernels`, every stream, frame and layer in one call."""
        out = np.empty(x.shape, dtype=np.float32)
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.lstm:
            lstm_stack(x, self.w_ih, self.w_hh, self.b_rnn, state.h, state.c, out)
        else:
            gru_stack(x, self.w_ih, self.w_hh, self.b_rnn, self.b_hn, state.h, out)
        return out

    def step(self, frames: np.ndarray, state: EngineState) -> np.ndarray:
        """Run new frames through the network, updating ``state`` in place.

        Parameters
        ----------
        frames : ndarray, shape (batch, n_frames, frame)
            mV at the model's rate.
        state : EngineState

        Returns
        -------
        ndarray
            Detector: logits (batch, n_frames); denoiser: corrections (batch, n_frames, frame), mV; each about the
            frame ``lookahead`` earlier, as ``model.step``.
        """
        frames = np.asarray(frames, dtype=np.float32)
        b, n, _ = frames.shape
        feats, scale = self._features(frames, state)
        top = self._recurrent(np.tanh(_affine(feats, self.w_inp, self.b_inp)), state)
        history = np.concatenate([state.recent, feats], axis=1)
        state.recent = history[:, n:].copy()
        if self.head_states > 1:  # frame k's head: sum over j of state k - D + j's projection for place j
            s, o = self.head_states, self.b_head.size
            past = np.concatenate([state.states, _affine(top, self.w_states, self.b_states).reshape(b, n, s, o)], axis=1)  # (b, D+n, S, o)
            state.states = past[:, n:].copy()
            y = np.empty((b, n, o), dtype=np.float32)
            window_sum(past, y)  # compiled: y[b, k, o] = sum_j past[b, k + j, j, o]
            y += _affine(history[:, :n], self.w_head, self.b_head)
        else:
            y = _affine(np.concatenate([top, history[:, :n]], axis=-1), self.w_head, self.b_head)
        if self.detector:
            return y[..., 0]
        return y[..., :-1] * expit(y[..., -1:]) * scale[..., None].astype(np.float32)


_ENGINES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _fingerprint(model) -> tuple:
    """Changes when a parameter is replaced or changed in place (an optimiser step bumps ``_version``)."""
    return tuple((p.data_ptr(), p._version, p.device.type) for p in model.parameters()) + (model.lookahead,)


def engine_for(model: _CausalRNN):
    """A :class:`StreamEngine` for ``model`` if it computes what ``model.step`` computes (checked on 24 frames of
    random input on a drifting baseline), else None with a warning (the caller then runs the PyTorch model). Kept
    with the model until its weights change, so the streams of one model share one engine."""
    key = _fingerprint(model)
    cached = _ENGINES.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    engine = _checked_engine(model)
    _ENGINES[model] = (key, engine)
    return engine


def _checked_engine(model: _CausalRNN):
    try:
        engine = StreamEngine(model)
    except (TypeError, AttributeError) as exc:
        warnings.warn(f"streaming runs the PyTorch model ({exc}); it is slower", stacklevel=2)
        return None
    frames = np.random.default_rng(0).normal(0, 0.5, size=(2, 24, model.frame)).astype(np.float32)
    frames += np.linspace(0, 3, frames.size, dtype=np.float32).reshape(frames.shape)  # a drifting baseline
    with torch.no_grad():
        ref, _ = model.step(torch.from_numpy(frames).to(model.inp.weight.device))
    got = engine.step(frames, engine.initial_state(2))
    ref = ref.detach().cpu().numpy()
    if got.shape != ref.shape or not np.allclose(got, ref, atol=CHECK_ATOL):
        warnings.warn(f"{type(model).__name__} differs from the causal models the streaming engine knows; "
                      "streaming runs the PyTorch model (slower)", stacklevel=2)
        return None
    return engine


__all__ = ["CHECK_ATOL", "EngineState", "StreamEngine", "engine_for"]
