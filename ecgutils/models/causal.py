"""Causal networks for real time: a unidirectional GRU R-peak detector and LSTM denoiser with a fixed look-ahead.

The offline models of notebooks 02 and 03 standardise a 10 s window by its own statistics and read it both ways:
they need the whole window. These models only ever see the past plus a fixed **look-ahead** of :math:`D` frames:

* running normalisation (a bias-corrected exponential moving average, 3 s, of each frame's mean and mean square),
  after an optional causal high-pass (``highpass_hz``, the detector: a swinging baseline would set the scale);
* a unidirectional recurrent net whose output at frame :math:`k` is about frame :math:`k - D` (``lookahead_s``,
  chosen on validation records and stored in the checkpoint);
* an output head reading the state :math:`h_k` *and* the features of frame :math:`k - D` itself (a skip connection:
  without it the state must carry that frame through :math:`D` steps, and more look-ahead made a first version worse);
  with ``head_window`` (the detector's default; the shipped denoiser's recipe), every state from the answered
  frame's to the newest, :math:`h_{k-D}, \dots, h_k`, rather than :math:`h_k` alone (the evidence of the moment the
  beat passed stays in view; chosen on validation for both, README *Where each choice was made*).

Training (``forward``) and streaming (``forward_frames`` with a carried :class:`CausalState`) run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ecgutils.dsp.filters import causal_filter, highpass_sos
from ecgutils.models.networks import Thresholded
from ecgutils.models.normalisation import BLOCK_FRAMES, NORM_FLOOR_MV, NORM_TAU_S, running_stats

__all__ = ["BLOCK_FRAMES", "NORM_FLOOR_MV", "NORM_TAU_S", "CausalGRUDetector", "CausalLSTMDenoiser",
           "CausalState", "blockwise", "elementwise", "is_realtime_model", "running_stats"]


@dataclass
class CausalState:
    """What a causal model carries from one call to the next: one row per stream, tensors on the model's device.

    Attributes
    ----------
    ema : tensor, shape (batch, 2), float64
        The moving averages of the frames' mean (mV) and mean square (mV²) before bias correction.
    frames : tensor, shape (batch,), int64
        Frames seen so far (for the start-of-stream bias correction; 0: a new stream).
    last : tensor, shape (batch,), float64
        The last sample seen, mV (for the slope across frame boundaries).
    rnn : tensor or tuple of tensors, shape (layers, batch, hidden)
        The recurrent net's hidden state (GRU: h; LSTM: h and c).
    recent : tensor, shape (batch, lookahead, n_features)
        The input features of the last ``lookahead`` frames (the output head reads the frame it answers for).
    states : tensor, shape (batch, head_states - 1, hidden)
        The top layer's last ``head_states - 1`` outputs (with ``head_window``: ``lookahead``; the output head reads
        them with the newest).
    """

    ema: torch.Tensor
    frames: torch.Tensor
    last: torch.Tensor
    rnn: object
    recent: torch.Tensor
    states: torch.Tensor

    def rows(self, idx) -> "CausalState":
        """The state of some streams (rows, a list of indices), as a new batch."""
        idx = torch.as_tensor(idx, dtype=torch.int64, device=self.frames.device)
        rnn = tuple(t[:, idx] for t in self.rnn) if isinstance(self.rnn, tuple) else self.rnn[:, idx]
        return CausalState(self.ema[idx], self.frames[idx], self.last[idx], rnn, self.recent[idx], self.states[idx])

    def put(self, idx, part: "CausalState") -> None:
        """Write the state of some streams back into their rows (the inverse of :meth:`rows`)."""
        idx = torch.as_tensor(idx, dtype=torch.int64, device=self.frames.device)
        for name in ("ema", "frames", "last", "recent", "states"):
            getattr(self, name)[idx] = getattr(part, name)
        pairs = zip(self.rnn, part.rnn) if isinstance(self.rnn, tuple) else [(self.rnn, part.rnn)]
        for mine, theirs in pairs:
            mine[:, idx] = theirs


def blockwise(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` for ``x`` of shape (batch, n_frames, features); when ``n_frames`` is whole blocks, as one small
    matrix product per stream and block, so that a frame's numbers do not depend on how many blocks share the call
    (a matrix library may add in another order for another number of rows)."""
    b, n, k = x.shape
    if n % BLOCK_FRAMES:
        return layer(x)
    rows = x.reshape(-1, BLOCK_FRAMES, k)
    return torch.baddbmm(layer.bias, rows, layer.weight.t().expand(rows.shape[0], k, -1)).reshape(b, n, -1)


def elementwise(fn, x: torch.Tensor) -> torch.Tensor:
    """``fn(x)`` with every element on the vectorised code path: PyTorch's CPU kernels compute a tensor's last few
    elements with scalar code, whose last bit may differ, so a value would depend on its place in the call."""
    flat = x.reshape(-1)
    return fn(nn.functional.pad(flat, (0, -flat.numel() % 64)))[:flat.numel()].view_as(x)


class _CausalRNN(nn.Module):
    """Shared trunk: running normalisation, a frame projection and a unidirectional GRU or LSTM."""

    def __init__(self, cell: str, frame: int, hidden: int, layers: int, lookahead_s: float, slope: bool,
                 fs: int, tau_s: float = NORM_TAU_S, highpass_hz: float | None = None, head_window: bool = False):
        super().__init__()
        if not 1 <= layers <= 3:
            raise ValueError(f"layers must be 1, 2 or 3 (got {layers})")
        if lookahead_s < 0:
            raise ValueError(f"lookahead_s must be 0 or more seconds, got {lookahead_s}")
        self.config = dict(frame=frame, hidden=hidden, layers=layers, lookahead_s=float(lookahead_s), fs=fs)
        #: Causal high-pass in front of the running normalisation, Hz (None: none): :meth:`input_filter`.
        self.highpass_hz = None if highpass_hz is None else float(highpass_hz)
        self.config.update({} if highpass_hz is None else {"highpass_hz": self.highpass_hz})
        self.frame, self.fs, self.slope = frame, fs, slope
        #: Look-ahead in frames: the most frames that fit in ``lookahead_s`` (never more than asked for).
        self.lookahead = int(np.floor(lookahead_s * fs / frame + 1e-9))
        self.tau_frames = tau_s * fs / frame
        #: Top-layer states the output head reads: h_{k-D} to h_k (``head_window``), or h_k alone.
        self.head_states = self.lookahead + 1 if head_window else 1
        self.n_features = (2 if slope else 1) * frame
        self.inp = nn.Linear(self.n_features, hidden)
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(hidden, hidden, num_layers=layers, batch_first=True)
        #: What the output head reads: the state(s) and the answered frame's own features.
        self.head_inputs = hidden * self.head_states + self.n_features

    @property
    def lookahead_seconds(self) -> float:
        """The look-ahead actually used, s (a whole number of frames)."""
        return self.lookahead * self.frame / self.fs

    def initial_state(self, batch: int) -> CausalState:
        """The state of ``batch`` new streams (what ``state=None`` means), on the model's device and dtype."""
        p = self.inp.weight
        f64 = dict(dtype=torch.float64, device=p.device)
        h = p.new_zeros(self.rnn.num_layers, batch, self.rnn.hidden_size)
        return CausalState(torch.zeros(batch, 2, **f64), torch.zeros(batch, dtype=torch.int64, device=p.device),
                           torch.zeros(batch, **f64), (h, h.clone()) if isinstance(self.rnn, nn.LSTM) else h,
                           p.new_zeros(batch, self.lookahead, self.n_features),
                           p.new_zeros(batch, self.head_states - 1, self.rnn.hidden_size))

    def features(self, frames: torch.Tensor, state: CausalState):
        """Normalised frames (and slopes) in the model's dtype, the running scale (float64) and the new averages."""
        f64 = frames.to(torch.float64)
        mean, scale, ema = running_stats(f64, state, self.tau_frames)
        parts = [(f64 - mean[..., None]) / scale[..., None]]
        if self.slope:
            flat = f64.flatten(1)
            prev = torch.where(state.frames > 0, state.last, flat[:, 0])
            d = torch.diff(flat, dim=-1, prepend=prev[:, None]).reshape(f64.shape)
            parts.append(d / scale[..., None])
        return torch.cat(parts, dim=-1).to(self.inp.weight.dtype), scale, ema

    def forward_frames(self, frames, state: CausalState | None = None):
        """Run the net over new frames, carrying ``state`` (None: the start of the streams).

        Parameters
        ----------
        frames : ndarray or tensor, shape (batch, n_frames, frame)
            mV, at the model's rate ``fs`` (moved to the model's device).
        state : CausalState or None

        Returns
        -------
        h : tensor, shape (batch, n_frames, hidden * head_states + n_features)
            The recurrent state of frame ``k`` (what the model knows of frame ``k - lookahead``; with ``head_window``
            the states of frames ``k - lookahead`` to ``k``, oldest first, zeros before the start of the stream)
            next to the input features of frame ``k - lookahead`` (zeros before the start of the stream).
        scale : tensor, shape (batch, n_frames), float64
            The running standard deviation, mV.
        state : CausalState
        """
        frames = torch.as_tensor(frames, device=self.inp.weight.device)
        state = self.initial_state(frames.shape[0]) if state is None else state
        feats, scale, ema = self.features(frames, state)
        h, rnn_state = self.rnn(elementwise(torch.tanh, blockwise(self.inp, feats)), state.rnn)
        n = frames.shape[1]
        history = torch.cat([state.recent, feats], dim=1)
        states = state.states
        if self.head_states > 1:  # each frame's head reads its last S states, oldest first
            past = torch.cat([state.states, h], dim=1)
            states = past[:, n:]
            h = past.unfold(1, self.head_states, 1).transpose(2, 3).reshape(h.shape[0], n, -1)
        new = CausalState(ema, state.frames + n, frames[:, -1, -1].to(torch.float64), rnn_state, history[:, n:],
                          states)
        return torch.cat([h, history[:, :n]], dim=-1), scale, new

    def _frames_of(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        if n % self.frame:
            raise ValueError(f"training windows must be a whole number of {self.frame}-sample frames, got {n}")
        if n // self.frame <= self.lookahead:
            raise ValueError(f"windows of {n} samples are shorter than the look-ahead ({self.lookahead} frames)")
        return self.input_filter(x.detach()).reshape(x.shape[0], -1, self.frame)

    def input_filter(self, x):
        """The causal Butterworth high-pass (order 2, ``highpass_hz``; None: ``x`` itself) of each row of ``x`` (batch,
        n_samples; mV, numpy or tensor) as a stream starting there: what a live stream feeds the network. A
        baseline swing many times the QRS would otherwise set the running scale (issue 22)."""
        if self.highpass_hz is None:
            return x
        y = causal_filter(np.asarray(x.cpu() if torch.is_tensor(x) else x), highpass_sos(self.highpass_hz, fs=self.fs))
        return torch.as_tensor(y, dtype=x.dtype, device=x.device) if torch.is_tensor(x) else y.astype(np.float32)


class CausalGRUDetector(Thresholded, _CausalRNN):
    """Unidirectional GRU that scores each frame for "an R-peak is here", ``lookahead_s`` after the frame.

    Parameters
    ----------
    frame : int
        Samples per GRU step (8 at 360 Hz: 22 ms).
    hidden, layers : int
        GRU units and stacked layers.
    lookahead_s : float
        How far the model may look past the frame it answers for, s (rounded down to whole frames).
    fs : int
        Sampling rate the model was trained at, Hz.
    threshold : float
        Peak-picking threshold on the frame probability (chosen on validation records after training).
    highpass_hz : float or None
        Causal high-pass in front of the network, Hz (None: none).
    head_window : bool
        The output head reads every top-layer state from the answered frame's to the newest (``lookahead + 1``
        states); False: the newest alone.

    Shapes: ``forward`` takes (batch, n_samples) mV windows and returns logits (batch, n_frames - lookahead), the
    logit of column ``j`` being about frame ``j``.
    """

    def __init__(self, frame: int = 8, hidden: int = 64, layers: int = 3, lookahead_s: float = 0.3, *, fs: int,
                 threshold: float = 0.5, highpass_hz: float | None = None, head_window: bool = True):
        super().__init__("gru", frame, hidden, layers, lookahead_s, slope=True, fs=fs, highpass_hz=highpass_hz,
                         head_window=head_window)
        self.config["head_window"] = bool(head_window)
        self.config["threshold"] = self.threshold = float(threshold)
        self.out = nn.Linear(self.head_inputs, 1)

    def step(self, frames, state: CausalState | None = None):
        """Streaming: logits of new frames (batch, n_frames), each about the frame ``lookahead`` earlier."""
        h, _, state = self.forward_frames(frames, state)
        return blockwise(self.out, h)[..., 0], state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits, _ = self.step(self._frames_of(x))
        return logits[:, self.lookahead:]


class CausalLSTMDenoiser(_CausalRNN):
    """Unidirectional LSTM denoiser with a residual output and a per-frame gate, ``lookahead_s`` behind its input.

    At frame ``k`` it outputs the correction of frame ``k - lookahead``: ``y = x + g * scale * c`` with ``c`` the
    net's correction on the normalised scale, ``g`` in [0, 1] a gate ("leave this frame alone" is one number) and
    ``scale`` the running standard deviation (mV).

    Parameters
    ----------
    frame : int
        Samples per LSTM step.
    hidden, layers : int
        LSTM units and stacked layers (1 to 3).
    lookahead_s : float
        s, rounded down to whole frames.
    fs : int
        Hz.
    head_window : bool
        The output head and the gate read every top-layer state from the answered frame's to the newest
        (``lookahead + 1`` states), as the detector's; False: the newest alone.

    Shapes: ``forward`` takes (batch, n_samples) mV and returns (batch, (n_frames - lookahead) * frame) mV: the
    denoised first samples of the window (the last ``lookahead`` frames need input that is not there).
    """

    def __init__(self, frame: int = 8, hidden: int = 64, layers: int = 2, lookahead_s: float = 0.3, *, fs: int,
                 head_window: bool = False):
        super().__init__("lstm", frame, hidden, layers, lookahead_s, slope=False, fs=fs, head_window=head_window)
        self.config["head_window"] = bool(head_window)
        self.out = nn.Linear(self.head_inputs, frame)
        self.gate = nn.Linear(self.head_inputs, 1)

    def step(self, frames, state: CausalState | None = None):
        """Streaming: corrections (batch, n_frames, frame) in mV, each for the frame ``lookahead`` earlier."""
        h, scale, state = self.forward_frames(frames, state)
        gate = elementwise(torch.sigmoid, blockwise(self.gate, h))
        corr = blockwise(self.out, h) * gate * scale[..., None].to(h.dtype)
        return corr, state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = self._frames_of(x)
        corr, _ = self.step(frames)
        d = self.lookahead
        kept = x.reshape(x.shape[0], -1, self.frame)[:, :frames.shape[1] - d]
        return (kept + corr[:, d:]).reshape(x.shape[0], -1)


def is_realtime_model(model, cls) -> bool:
    """``model`` is a ``cls`` (:class:`CausalGRUDetector` or :class:`CausalLSTMDenoiser`), or a notebook's own copy
    of that class (notebook 05 defines the detector in a cell): the same causal trunk, and a threshold exactly when
    ``cls`` has one."""
    return isinstance(model, cls) or (isinstance(model, _CausalRNN)
                                      and isinstance(model, Thresholded) == issubclass(cls, Thresholded))
