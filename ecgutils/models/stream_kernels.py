"""The streaming engine's loops over frames, compiled with Numba: the running normalisation, and a stack of GRU or
LSTM layers, over the new frames of every stream, one call each.

A live stream advances a few frames per push. In NumPy each frame cost about ten calls of a microsecond or more on
vectors of 8 to 64 numbers (issue 23); compiled, a frame of a layer is one pass over its weights and its gates, and
the normalisation a pass over its samples.

:func:`running_features` computes what ``model.features`` computes (:func:`ecgutils.models.normalisation.running_stats`),
in float64 as it does. The recurrent loops compute what ``torch.nn.GRU`` and ``torch.nn.LSTM`` compute, in float32
with the same gate order, to float32 rounding (tested against PyTorch at 1e-5). The gates' exponentials are
:func:`exp_neg`, Cephes' single-precision ``expf`` written as a loop the compiler vectorises (relative error below
1e-7; the C library's ``expf`` is a scalar call per number, and was most of a frame's time);
``sigmoid(v) = 1 / (1 + exp(-v))`` and ``tanh(v) = 2 sigmoid(2 v) - 1``. Each stream and frame is computed on its
own, in a fixed order: a stream's numbers do not depend on its chunking or on the other streams of the call, bit for
bit.

Shapes of the recurrent loops (``L`` layers of ``H`` units, ``G`` = 3 H for the GRU, 4 H for the LSTM; all float32,
C-ordered):
``x`` (batch, n_frames, H) the first layer's inputs; ``w_ih`` and ``w_hh`` (L, H, G) the input and recurrent weights,
transposed; ``b`` (L, G) the biases (both biases summed, except the GRU's ``n`` gate: its input bias only);
``b_hn`` (L, H) the GRU's recurrent bias of ``n``; ``h`` and ``c`` (batch, L, H) the states, updated in place;
``out`` (batch, n_frames, H) the top layer's state after each frame.

>>> import torch
>>> L, H = 2, 4
>>> gru = torch.nn.GRU(H, H, L, batch_first=True)
>>> x = torch.randn(1, 5, H)
>>> w = {k: v.detach().numpy() for k, v in gru.named_parameters()}
>>> w_ih = np.stack([w[f"weight_ih_l{k}"].T for k in range(L)]).copy()
>>> w_hh = np.stack([w[f"weight_hh_l{k}"].T for k in range(L)]).copy()
>>> b_hh = np.stack([w[f"bias_hh_l{k}"] for k in range(L)])
>>> b = np.stack([w[f"bias_ih_l{k}"] for k in range(L)]) + b_hh * (np.arange(3 * H) < 2 * H)
>>> h, out = np.zeros((1, L, H), np.float32), np.empty((1, 5, H), np.float32)
>>> gru_stack(x.numpy(), w_ih, w_hh, b, b_hh[:, 2 * H:].copy(), h, out)
>>> bool(np.allclose(out, gru(x)[0].detach().numpy(), atol=1e-6))
True
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["affine", "exp_neg", "gru_stack", "lstm_stack", "running_features", "window_sum"]

#: Multiply-adds may be fused (one rounding instead of two) and the sums' order is the compiler's: fixed per build,
#: so every stream and chunking sees the same arithmetic.
_FAST = {"contract", "nsz", "arcp", "nnan", "ninf"}
_F = np.float32


@njit(cache=True, nogil=True)
def running_features(frames, a, floor, ema, count, last, feats, scale):
    """Normalised frames (and slopes) of each stream, continuing its running statistics.

    Parameters
    ----------
    frames : ndarray, shape (batch, n_frames, frame), float32
        mV.
    a : float
        The moving averages' decay per frame, ``exp(-1 / tau_frames)``.
    floor : float
        The smallest scale, mV.
    ema : ndarray, shape (batch, 2), float64
        Moving averages of the frames' mean and mean square before bias correction; updated in place.
    count : ndarray, shape (batch,), int64
        Frames seen; updated in place.
    last : ndarray, shape (batch,), float64
        Each stream's last sample, mV (the first slope's other end); updated in place.
    feats : ndarray, shape (batch, n_frames, frame) or (batch, n_frames, 2 * frame), float32
        Written: ``(x - mean) / scale`` per sample, then (when twice the frame wide) the samples' differences over
        the scale.
    scale : ndarray, shape (batch, n_frames), float64
        Written: the running scale of each frame, mV.
    """
    batch, n_frames, k = frames.shape
    slope = feats.shape[2] == 2 * k
    for s in range(batch):
        e0, e1 = ema[s, 0], ema[s, 1]
        prev = last[s] if count[s] > 0 else np.float64(frames[s, 0, 0])
        for t in range(n_frames):
            m0, m1 = 0.0, 0.0
            for j in range(k):
                v = np.float64(frames[s, t, j])
                m0 += v
                m1 += v * v
            e0 = (1.0 - a) * (m0 / k) + a * e0
            e1 = (1.0 - a) * (m1 / k) + a * e1
            weight = 1.0 - a ** (count[s] + t + 1)
            mean = e0 / weight
            sc = np.sqrt(max(e1 / weight - mean * mean, floor * floor))
            scale[s, t] = sc
            inv = 1.0 / sc
            for j in range(k):
                v = np.float64(frames[s, t, j])
                feats[s, t, j] = (v - mean) * inv
                if slope:
                    feats[s, t, k + j] = (v - prev) * inv
                prev = v
        ema[s, 0], ema[s, 1] = e0, e1
        count[s] += n_frames
        last[s] = prev


@njit(cache=True, nogil=True, fastmath={"contract"})
def exp_neg(v, out, scratch):
    """``out = exp(-v)`` for float32 arrays (``scratch``: int32, as long): Cephes ``expf`` (range reduction by
    ``ln 2``, a degree-7 polynomial, then the power of two through the exponent bits), arguments clipped to +-87.

    Examples
    --------
    >>> v = np.array([-2.0, 0.0, 1.5], dtype=np.float32)
    >>> out = np.empty_like(v)
    >>> exp_neg(v, out, np.empty(3, np.int32))
    >>> bool(np.allclose(out, np.exp(-v), rtol=2e-7))
    True
    """
    for i in range(v.shape[0]):
        x = min(max(-v[i], _F(-87.0)), _F(87.0))
        n = np.floor(x * _F(1.44269504088896341) + _F(0.5))
        r = x - n * _F(0.693359375) + n * _F(2.12194440e-4)
        p = _F(1.9875691500e-4)
        p = p * r + _F(1.3981999507e-3)
        p = p * r + _F(8.3334519073e-3)
        p = p * r + _F(4.1665795894e-2)
        p = p * r + _F(1.6666665459e-1)
        p = p * r + _F(5.0000001201e-1)
        out[i] = p * r * r + r + _F(1.0)
        scratch[i] = (np.int32(n) + np.int32(127)) << np.int32(23)
    power = scratch.view(np.float32)
    for i in range(v.shape[0]):
        out[i] *= power[i]


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _gates(inp, hs, w_ih, w_hh, b, acc):
    """``acc = b + inp @ w_ih`` in the first half, ``hs @ w_hh`` in the second (one row of weights at a time, the
    compiler vectorising over the gates)."""
    G = b.shape[0]
    for i in range(G):
        acc[i] = b[i]
        acc[G + i] = _F(0.0)
    for k in range(inp.shape[0]):
        xk, hk = inp[k], hs[k]
        for i in range(G):
            acc[i] += w_ih[k, i] * xk
            acc[G + i] += w_hh[k, i] * hk


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _gru_cell(inp, hs, w_ih, w_hh, b, bn, acc, a, e, scratch):
    """One GRU layer, one frame: ``hs`` updated in place (``acc``, ``a``, ``e``, ``scratch``: work space)."""
    G, H = b.shape[0], hs.shape[0]
    _gates(inp, hs, w_ih, w_hh, b, acc)
    for i in range(2 * H):
        a[i] = acc[i] + acc[G + i]
    exp_neg(a[:2 * H], e[:2 * H], scratch[:2 * H])
    for i in range(H):  # n's argument, doubled: tanh(v) = 2 / (1 + exp(-2 v)) - 1
        a[2 * H + i] = _F(2.0) * (acc[2 * H + i] + (acc[G + 2 * H + i] + bn[i]) / (_F(1.0) + e[i]))
    exp_neg(a[2 * H:], e[2 * H:], scratch[2 * H:])
    for i in range(H):
        n = _F(2.0) / (_F(1.0) + e[2 * H + i]) - _F(1.0)
        hs[i] = n + (hs[i] - n) / (_F(1.0) + e[H + i])


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _lstm_cell(inp, hs, cs, w_ih, w_hh, b, acc, a, e, scratch):
    """One LSTM layer, one frame: ``hs`` and ``cs`` updated in place."""
    G, H = b.shape[0], hs.shape[0]
    _gates(inp, hs, w_ih, w_hh, b, acc)
    for i in range(G):  # g's argument doubled (tanh through exp_neg)
        a[i] = (acc[i] + acc[G + i]) * (_F(2.0) if 2 * H <= i < 3 * H else _F(1.0))
    exp_neg(a, e, scratch)
    for i in range(H):
        g = _F(2.0) / (_F(1.0) + e[2 * H + i]) - _F(1.0)
        cs[i] = cs[i] / (_F(1.0) + e[H + i]) + g / (_F(1.0) + e[i])
        a[i] = _F(2.0) * cs[i]
    exp_neg(a[:H], e[:H], scratch[:H])  # tanh(c') (the input gate's exponentials are used)
    for i in range(H):
        hs[i] = (_F(2.0) / (_F(1.0) + e[i]) - _F(1.0)) / (_F(1.0) + e[3 * H + i])


@njit(cache=True, nogil=True, fastmath=_FAST)
def _layers(x, w_ih, w_hh, b, b_hn, h, c, out, lstm):
    """Every stream, frame and layer in order (the cells above); ``b_hn`` (GRU) or ``c`` (LSTM) unused by the
    other kind."""
    batch, n_frames, _ = x.shape
    L, G = b.shape
    acc, a, e = np.empty(2 * G, _F), np.empty(G, _F), np.empty(G, _F)
    scratch = np.empty(G, np.int32)
    for s in range(batch):
        for t in range(n_frames):
            inp = x[s, t]
            for layer in range(L):
                if lstm:
                    _lstm_cell(inp, h[s, layer], c[s, layer], w_ih[layer], w_hh[layer], b[layer], acc, a, e,
                               scratch)
                else:
                    _gru_cell(inp, h[s, layer], w_ih[layer], w_hh[layer], b[layer], b_hn[layer], acc, a, e,
                              scratch)
                inp = h[s, layer]
            out[s, t] = inp


@njit(cache=True, nogil=True)
def gru_stack(x, w_ih, w_hh, b, b_hn, h, out):
    """GRU layers over ``x``'s frames (``torch.nn.GRU``'s equations): ``r, z = sigmoid(x W_i + h W_h + b)``,
    ``n = tanh(x W_in + b_in + r (h W_hn + b_hn))``, ``h' = n + z (h - n)``. Updates ``h``; writes ``out``."""
    _layers(x, w_ih, w_hh, b, b_hn, h, h, out, False)


@njit(cache=True, nogil=True)
def lstm_stack(x, w_ih, w_hh, b, h, c, out):
    """LSTM layers over ``x``'s frames (gates ``i, f, g, o`` as ``torch.nn.LSTM``): ``c' = f c + i g``,
    ``h' = o tanh(c')``. Updates ``h`` and ``c``; writes ``out``."""
    _layers(x, w_ih, w_hh, b, b[:, :h.shape[2]], h, c, out, True)


@njit(cache=True, nogil=True)
def window_sum(past, out):
    """A windowed output head's sums: ``out[i, k, o] = sum_j past[i, k + j, j, o]`` (``j`` = 0 .. S - 1, in that
    order), with ``past`` (batch, S - 1 + n_frames, S, n_outputs) each state's projection for each place ``j`` in a
    window and ``out`` (batch, n_frames, n_outputs), float32. One pass per stream, frame and output: its sum does
    not depend on the other frames.

    >>> past = np.arange(12, dtype=np.float32).reshape(1, 4, 3, 1)   # S = 3 places, 2 frames, one output
    >>> out = np.empty((1, 2, 1), np.float32)
    >>> window_sum(past, out)
    >>> out[..., 0].tolist()   # frame 0: past[0,0,0] + past[0,1,1] + past[0,2,2] = 0 + 4 + 8
    [[12.0, 21.0]]
    """
    s = past.shape[2]
    for i in range(out.shape[0]):
        for k in range(out.shape[1]):
            for o in range(out.shape[2]):
                acc = np.float32(0.0)
                for j in range(s):
                    acc += past[i, k + j, j, o]
                out[i, k, o] = acc


@njit(cache=True, nogil=True, fastmath=_FAST)
def affine(x, w, b, out):
    """``out = x @ w + b`` one row at a time: ``x`` (rows, K), ``w`` (K, J), ``b`` (J,), ``out`` (rows, J), float32.

    Each row's sums run over ``k`` = 0 .. K - 1 in that order, whatever the number of rows. A BLAS product does not
    promise that: OpenBLAS picks its kernel by the matrices' sizes, and on CPUs with AVX-512 a product of 4 rows
    rounds differently from one of 96, so a stream's numbers would depend on its chunking.

    >>> x = np.arange(6, dtype=np.float32).reshape(3, 2)
    >>> out = np.empty((3, 2), np.float32)
    >>> affine(x, np.eye(2, dtype=np.float32), np.array([10, 20], np.float32), out)
    >>> out.tolist()
    [[10.0, 21.0], [12.0, 23.0], [14.0, 25.0]]
    """
    for i in range(x.shape[0]):
        for j in range(w.shape[1]):
            out[i, j] = b[j]
        for k in range(x.shape[1]):
            v = x[i, k]
            for j in range(w.shape[1]):
                out[i, j] += v * w[k, j]
