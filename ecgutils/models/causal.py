"""Causal networks for real time: a unidirectional GRU R-peak detector and LSTM denoiser with a fixed look-ahead.

The offline models of notebooks 02 and 03 read a 10 s window both ways and standardise it with its own mean and
standard deviation: they need the whole window before they can say anything. These models only ever see the past
plus a fixed **look-ahead** of :math:`D` frames:

* the signal is normalised with running statistics (an exponential moving average with a 3 s time constant of each
  frame's mean and mean square, bias-corrected at the start of the stream), which only use frames already seen;
* a unidirectional recurrent net reads the frames in order; its output at frame :math:`k` is about frame
  :math:`k - D`, so the answer about a frame comes :math:`D` frames after it (``lookahead_s``, chosen on validation
  records and stored in the checkpoint);
* the output head reads the recurrent state :math:`h_k` *and* the input features of frame :math:`k - D` itself (a
  skip connection): without it, the net would have to carry every sample of that frame through :math:`D` steps of
  its state, and more look-ahead would make it worse instead of better (it did, in a first version).

Training (``forward``) and streaming (``forward_frames`` with a carried :class:`CausalState`) run the same code, so
what is trained is what runs live.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import signal as sps
from torch import nn

from ecgutils.constants import FS
from ecgutils.models.networks import Thresholded

#: Time constant of the running mean and mean square, s.
NORM_TAU_S = 3.0
#: Smallest running standard deviation, mV (a flat line is not blown up into noise).
NORM_FLOOR_MV = 0.01


@dataclass
class CausalState:
    """What a causal model carries from one call to the next (one row per stream).

    Attributes
    ----------
    zi_mean, zi_square : ndarray, shape (batch, 1)
        Filter states of the running mean and mean square (:func:`scipy.signal.lfilter`).
    frames : int
        Frames seen so far (for the start-of-stream bias correction).
    last : ndarray, shape (batch,)
        The last sample seen, mV (for the slope across frame boundaries).
    rnn : tensor or tuple of tensors
        The recurrent net's hidden state.
    recent : tensor, shape (batch, lookahead, n_features)
        The input features of the last ``lookahead`` frames (the output head reads the frame it answers for).
    """

    zi_mean: np.ndarray
    zi_square: np.ndarray
    frames: int
    last: np.ndarray
    rnn: object
    recent: torch.Tensor


def running_stats(frames: np.ndarray, state: CausalState | None, tau_frames: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Causal mean and standard deviation of a signal in frames, from the frames seen up to and including each.

    Parameters
    ----------
    frames : ndarray, shape (batch, n_frames, frame)
        mV.
    state : CausalState or None
        None at the start of the streams.
    tau_frames : float
        Time constant of the moving averages, frames.

    Returns
    -------
    mean, scale : ndarray, shape (batch, n_frames), float64, mV
    zi_mean, zi_square : ndarray, shape (batch, 1)
        The filter states to carry on.
    """
    a = float(np.exp(-1.0 / tau_frames))
    f64 = frames.astype(np.float64)
    b = f64.shape[0]
    zi_m = np.zeros((b, 1)) if state is None else state.zi_mean
    zi_q = np.zeros((b, 1)) if state is None else state.zi_square
    start = 0 if state is None else state.frames
    m, zi_m = sps.lfilter([1.0 - a], [1.0, -a], f64.mean(axis=-1), axis=-1, zi=zi_m)
    q, zi_q = sps.lfilter([1.0 - a], [1.0, -a], (f64 ** 2).mean(axis=-1), axis=-1, zi=zi_q)
    weight = 1.0 - a ** (start + 1 + np.arange(f64.shape[1]))
    mean = m / weight
    scale = np.sqrt(np.maximum(q / weight - mean ** 2, NORM_FLOOR_MV ** 2))
    return mean, scale, zi_m, zi_q


class _CausalRNN(nn.Module):
    """Shared trunk: running normalisation, a frame projection and a unidirectional GRU or LSTM."""

    def __init__(self, cell: str, frame: int, hidden: int, layers: int, lookahead_s: float, slope: bool,
                 fs: int, tau_s: float = NORM_TAU_S):
        super().__init__()
        if not 1 <= layers <= 3:
            raise ValueError(f"layers must be 1, 2 or 3 (got {layers})")
        if lookahead_s < 0:
            raise ValueError(f"lookahead_s must be 0 or more seconds, got {lookahead_s}")
        self.config = dict(frame=frame, hidden=hidden, layers=layers, lookahead_s=float(lookahead_s), fs=fs)
        self.frame, self.fs, self.slope = frame, fs, slope
        #: Look-ahead in frames: the most frames that fit in ``lookahead_s`` (never more than asked for).
        self.lookahead = int(np.floor(lookahead_s * fs / frame + 1e-9))
        self.tau_frames = tau_s * fs / frame
        self.n_features = (2 if slope else 1) * frame
        self.inp = nn.Linear(self.n_features, hidden)
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(hidden, hidden, num_layers=layers, batch_first=True)
        #: What the output head reads: the state and the answered frame's own features.
        self.head_inputs = hidden + self.n_features

    @property
    def lookahead_seconds(self) -> float:
        """The look-ahead actually used, s (a whole number of frames)."""
        return self.lookahead * self.frame / self.fs

    def features(self, frames: np.ndarray, state: CausalState | None):
        """Normalised frames (and slopes) as a tensor, the running scale, and the statistics' new state."""
        mean, scale, zi_m, zi_q = running_stats(frames, state, self.tau_frames)
        z = (frames - mean[..., None]) / scale[..., None]
        parts = [z]
        if self.slope:
            b = frames.shape[0]
            prev = frames[:, 0, :1] if state is None else state.last[:, None]
            flat = frames.reshape(b, -1)
            d = np.diff(flat, axis=-1, prepend=prev).reshape(frames.shape)
            parts.append(d / scale[..., None])
        feats = torch.as_tensor(np.concatenate(parts, axis=-1).astype(np.float32))
        return feats, scale, zi_m, zi_q

    def forward_frames(self, frames: np.ndarray, state: CausalState | None = None):
        """Run the net over new frames, carrying ``state`` (None: the start of the streams).

        Parameters
        ----------
        frames : ndarray, shape (batch, n_frames, frame)
            mV, at the model's rate ``fs``.
        state : CausalState or None

        Returns
        -------
        h : tensor, shape (batch, n_frames, hidden + n_features)
            The recurrent state of frame ``k`` (what the model knows of frame ``k - lookahead``) next to the input
            features of frame ``k - lookahead`` (zeros before the start of the stream).
        scale : ndarray, shape (batch, n_frames)
            The running standard deviation, mV.
        state : CausalState
        """
        feats, scale, zi_m, zi_q = self.features(frames, state)
        h, rnn_state = self.rnn(torch.tanh(self.inp(feats)), None if state is None else state.rnn)
        d, b = self.lookahead, feats.shape[0]
        recent = torch.zeros(b, d, feats.shape[-1]) if state is None else state.recent
        history = torch.cat([recent, feats], dim=1)
        new = CausalState(zi_m, zi_q, (0 if state is None else state.frames) + frames.shape[1],
                          frames[:, -1, -1].astype(np.float64).copy(), rnn_state, history[:, history.shape[1] - d:])
        return torch.cat([h, history[:, :feats.shape[1]]], dim=-1), scale, new

    def _frames_of(self, x: torch.Tensor) -> np.ndarray:
        n = x.shape[-1]
        if n % self.frame:
            raise ValueError(f"training windows must be a whole number of {self.frame}-sample frames, got {n}")
        if n // self.frame <= self.lookahead:
            raise ValueError(f"windows of {n} samples are shorter than the look-ahead ({self.lookahead} frames)")
        return x.detach().cpu().numpy().reshape(x.shape[0], -1, self.frame)


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

    Shapes: ``forward`` takes (batch, n_samples) mV windows and returns logits (batch, n_frames - lookahead), the
    logit of column ``j`` being about frame ``j``.
    """

    def __init__(self, frame: int = 8, hidden: int = 48, layers: int = 2, lookahead_s: float = 0.3, fs: int = FS,
                 threshold: float = 0.5):
        super().__init__("gru", frame, hidden, layers, lookahead_s, slope=True, fs=fs)
        self.config["threshold"] = self.threshold = float(threshold)
        self.out = nn.Linear(self.head_inputs, 1)

    def step(self, frames: np.ndarray, state: CausalState | None = None):
        """Streaming: logits of new frames (batch, n_frames), each about the frame ``lookahead`` earlier."""
        h, _, state = self.forward_frames(frames, state)
        return self.out(h)[..., 0], state

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

    Shapes: ``forward`` takes (batch, n_samples) mV and returns (batch, (n_frames - lookahead) * frame) mV: the
    denoised first samples of the window (the last ``lookahead`` frames need input that is not there).
    """

    def __init__(self, frame: int = 8, hidden: int = 64, layers: int = 2, lookahead_s: float = 0.3, fs: int = FS):
        super().__init__("lstm", frame, hidden, layers, lookahead_s, slope=False, fs=fs)
        self.out = nn.Linear(self.head_inputs, frame)
        self.gate = nn.Linear(self.head_inputs, 1)

    def step(self, frames: np.ndarray, state: CausalState | None = None):
        """Streaming: corrections (batch, n_frames, frame) in mV, each for the frame ``lookahead`` earlier."""
        h, scale, state = self.forward_frames(frames, state)
        corr = self.out(h) * torch.sigmoid(self.gate(h)) * torch.as_tensor(scale[..., None], dtype=torch.float32)
        return corr, state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = self._frames_of(x)
        corr, _ = self.step(frames)
        d = self.lookahead
        kept = x.reshape(x.shape[0], -1, self.frame)[:, :frames.shape[1] - d]
        return (kept + corr[:, d:]).reshape(x.shape[0], -1)
