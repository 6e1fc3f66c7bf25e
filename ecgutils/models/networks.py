"""The networks: LSTM and CNN denoisers, the GRU window classifier and the GRU R-peak detector.

All of them read a signal in mV, remove each window's mean and divide by its standard deviation (so a patient's
amplitude or a baseline offset does not matter), and work on **frames** of a few samples: an LSTM step per frame of
8 samples (45 steps per second at 360 Hz) costs 8 times less than a step per sample, which is what makes
inference run thousands of times faster than real time on two CPU cores; the output layer gives back all 8 samples
of the frame, so no temporal resolution is lost.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F



def standardise(x: torch.Tensor, eps: float = 1e-3):
    """Each window minus its mean, divided by its standard deviation (floored at ``eps`` mV).

    Parameters
    ----------
    x : tensor, shape (batch, n_samples)
        mV.
    eps : float
        Smallest standard deviation, mV (a flat window is not blown up into noise).

    Returns
    -------
    z : tensor, shape (batch, n_samples)
        Unitless: mean 0, standard deviation 1 per window.
    mean, std : tensor, shape (batch, 1)
        mV: ``x == z * std + mean``.

    Examples
    --------
    >>> z, m, s = standardise(torch.tensor([[1.0, 2.0, 3.0]]))
    >>> z.numpy().round(3), float(m), float(s)
    (array([[-1.,  0.,  1.]], dtype=float32), 2.0, 1.0)
    """
    m = x.mean(dim=-1, keepdim=True)
    s = x.std(dim=-1, keepdim=True).clamp_min(eps)
    return (x - m) / s, m, s


def to_frames(x: torch.Tensor, frame: int) -> tuple[torch.Tensor, int]:
    """Cut windows into frames of ``frame`` samples, one recurrent step each.

    Parameters
    ----------
    x : tensor, shape (..., n_samples)
        One window per row (``(batch, n_samples)``), or per channel of each row (``(batch, channels, n_samples)``).
    frame : int
        Samples per frame.

    Returns
    -------
    frames : tensor, shape (..., ceil(n_samples / frame), frame)
        The end padded by reflection when ``n_samples`` is not a multiple of ``frame``.
    pad : int
        Samples of padding added (to cut from the output).

    Examples
    --------
    >>> f, pad = to_frames(torch.arange(10.0)[None], 4)
    >>> tuple(f.shape), pad
    ((1, 3, 4), 2)
    >>> tuple(to_frames(torch.zeros(2, 16, 3600), 8)[0].shape)   # 16 channels of 2 windows
    (2, 16, 450, 8)
    """
    pad = (-x.shape[-1]) % frame
    if pad:
        x = F.pad(x.reshape(-1, 1, x.shape[-1]), (0, pad), mode="reflect").reshape(*x.shape[:-1], -1)
    return x.reshape(*x.shape[:-1], -1, frame), pad


def gru_step(x: torch.Tensor, h: torch.Tensor, weight_ih: torch.Tensor, weight_hh: torch.Tensor,
             bias_ih: torch.Tensor, bias_hh: torch.Tensor) -> torch.Tensor:
    r"""One GRU step in PyTorch's convention (:class:`torch.nn.GRU`): gates ordered r, z, n.

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}), \\
        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \quad h' = (1 - z) \odot n + z \odot h.

    Parameters
    ----------
    x : tensor, shape (batch, n_inputs)
    h : tensor, shape (batch, hidden)
        The previous state.
    weight_ih, weight_hh : tensor, shape (3 * hidden, n_inputs) and (3 * hidden, hidden)
        The rows of r, z and n stacked, as ``nn.GRU.weight_ih_l0`` and ``weight_hh_l0`` hold them.
    bias_ih, bias_hh : tensor, shape (3 * hidden,)

    Returns
    -------
    tensor, shape (batch, hidden)
        The new state :math:`h'`.

    Examples
    --------
    >>> gru = nn.GRU(3, 2)
    >>> x, h = torch.randn(1, 3), torch.randn(1, 2)
    >>> mine = gru_step(x, h, gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
    >>> torch.allclose(mine, gru(x[None], h[None])[1][0], atol=1e-6)
    True
    """
    xr, xz, xn = (x @ weight_ih.T + bias_ih).chunk(3, dim=-1)
    hr, hz, hn = (h @ weight_hh.T + bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (1 - z) * n + z * h


class LSTMDenoiser(nn.Module):
    """Stacked (bi)LSTM denoiser over frames of samples, with a residual output.

    Parameters
    ----------
    frame : int
        Samples per LSTM step (8 at 360 Hz: 45 steps/s).
    hidden : int
        LSTM units per direction.
    layers : int
        Stacked LSTM layers, 1 to 3.
    bidirectional : bool
        Read the window both ways (denoising a stored recording may look ahead).
    residual : bool
        Predict a correction to the input rather than the signal itself (makes "do no harm" on clean input easy).
    gate : bool
        Scale the correction by a per-window gate in [0, 1] computed from the time-averaged LSTM states, so that
        "leave this window alone" is one number to learn rather than a zero at every sample (residual only).
    conv : int
        Channels of the convolutional front end: two convolutions of 9 samples (25 ms at 360 Hz) with tanh over the
        standardised samples; each step's input layer reads the frame of every channel (``conv * frame`` numbers)
        instead of the frame's samples alone. 0: no front end, the frame's samples feed the input layer.
    fs : int
        Sampling rate the model was trained at, Hz; inference resamples other rates to it.

    Shapes: input (batch, n_samples) in mV, output the same.
    """

    def __init__(self, frame: int = 8, hidden: int = 96, layers: int = 2, bidirectional: bool = True,
                 residual: bool = True, gate: bool = True, conv: int = 16, *, fs: int):
        super().__init__()
        if not 1 <= layers <= 3:
            raise ValueError(f"layers must be 1, 2 or 3 (got {layers})")
        if gate and not residual:
            raise ValueError("gate=True needs residual=True (the gate scales the correction); pass gate=False")
        self.config = dict(frame=frame, hidden=hidden, layers=layers, bidirectional=bidirectional, residual=residual,
                           gate=gate, conv=conv, fs=fs)
        self.frame, self.residual, self.fs = frame, residual, fs
        self.front = nn.Sequential(nn.Conv1d(1, conv, 9, padding=4), nn.Tanh(),
                                   nn.Conv1d(conv, conv, 9, padding=4), nn.Tanh()) if conv else None
        self.inp = nn.Linear(frame * max(conv, 1), hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(hidden * (2 if bidirectional else 1), frame)
        self.gate = nn.Linear(hidden * (2 if bidirectional else 1), 1) if gate else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        z, m, s = standardise(x)
        f, _ = to_frames(z, self.frame)
        c = z[:, None] if self.front is None else self.front(z[:, None])   # (batch, conv or 1, n)
        g = to_frames(c, self.frame)[0].transpose(1, 2).flatten(2)          # (batch, steps, channels * frame)
        h, _ = self.lstm(torch.tanh(self.inp(g)))
        y = self.out(h)
        if self.gate is not None:
            y = y * torch.sigmoid(self.gate(h.mean(dim=1)))[:, :, None]
        if self.residual:
            y = y + f
        return y.reshape(x.shape[0], -1)[:, :n] * s + m


class CNNDenoiser(nn.Module):
    """1-D convolutional encoder-decoder (U-Net style skips) with a residual output: the CNN baseline.

    Parameters
    ----------
    channels : tuple of int
        Channels of the encoder stages; each stage halves the time resolution.
    kernel : int
        Convolution kernel length, samples (odd).
    fs : int
        Sampling rate the model was trained at, Hz.
    """

    def __init__(self, channels=(16, 32, 64), kernel: int = 9, *, fs: int):
        super().__init__()
        self.config = dict(channels=list(channels), kernel=kernel, fs=fs)
        self.fs = fs
        pad = kernel // 2
        self.down = nn.ModuleList()
        c_in = 1
        for c in channels:
            self.down.append(nn.Sequential(nn.Conv1d(c_in, c, kernel, stride=2, padding=pad), nn.GELU(),
                                           nn.Conv1d(c, c, kernel, padding=pad), nn.GELU()))
            c_in = c
        self.up = nn.ModuleList()
        for c_skip in list(channels[:-1])[::-1] + [1]:
            self.up.append(nn.Sequential(nn.ConvTranspose1d(c_in, c_in // 2, 4, stride=2, padding=1), nn.GELU()))
            c_in = c_in // 2 + c_skip
        self.head = nn.Conv1d(c_in, 1, kernel, padding=pad)
        self.factor = 2 ** len(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        z, m, s = standardise(x)
        h, pad = to_frames(z, self.factor)
        h = h.reshape(x.shape[0], 1, -1)
        skips = [h]
        for stage in self.down:
            h = stage(h)
            skips.append(h)
        skips.pop()
        for stage in self.up:
            h = torch.cat([stage(h), skips.pop()], dim=1)
        y = self.head(h)[:, 0] + h[:, -1]  # last skip channel is the input itself: residual
        return y[:, :n] * s + m


class Thresholded:
    """What the detectors and the classifier share: a decision threshold on the probability, kept in ``config``
    (so a checkpoint stores it)."""

    threshold: float
    config: dict

    def set_threshold(self, threshold: float) -> None:
        """Set the decision threshold on the probability (tuned on validation records after training)."""
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must lie between 0 and 1, got {threshold}")
        self.threshold = self.config["threshold"] = float(threshold)


class _GRUEncoder(Thresholded, nn.Module):
    """Shared trunk of the GRU models: standardised signal and its slope, in frames, through a (bi)GRU."""

    def __init__(self, frame: int, hidden: int, layers: int, bidirectional: bool, head_inputs: int, fs: int,
                 threshold: float):
        super().__init__()
        self.config = dict(frame=frame, hidden=hidden, layers=layers, bidirectional=bidirectional, fs=fs,
                           threshold=float(threshold))
        self.frame, self.fs, self.threshold = frame, fs, float(threshold)
        self.inp = nn.Linear(2 * frame, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(hidden * (2 if bidirectional else 1) * head_inputs, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_samples) mV -> GRU states (batch, n_frames, hidden * directions)."""
        z, _, _ = standardise(x)
        d = torch.diff(z, dim=-1, prepend=z[:, :1])  # slope: QRS complexes are the steepest part of the beat
        f, _ = to_frames(z, self.frame)
        g, _ = to_frames(d, self.frame)
        h, _ = self.gru(torch.tanh(self.inp(torch.cat([f, g], dim=-1))))
        return h



class GRUDetector(_GRUEncoder):
    """Bidirectional GRU that scores every frame for "an R-peak is here".

    Parameters
    ----------
    frame : int
        Samples per GRU step (8 at 360 Hz: 45 steps/s, 22 ms frames; the peak picking of
        :func:`ecgutils.dsp.peaks.peaks_from_probability` locates a beat inside its frames). On a CPU a GRU step
        costs about the same whatever its size, so fewer, wider steps train about four times faster than
        frames of 4 samples.
    hidden, layers : int
        GRU units per direction, stacked layers.
    bidirectional : bool
    fs : int
        Sampling rate the model was trained at, Hz.
    threshold : float
        Peak-picking threshold on the frame probability (tuned on validation records after training).

    Shapes: input (batch, n_samples) in mV; output logits (batch, ceil(n_samples / frame)).
    """

    def __init__(self, frame: int = 8, hidden: int = 56, layers: int = 2, bidirectional: bool = True,
                 *, fs: int, threshold: float = 0.5):
        super().__init__(frame, hidden, layers, bidirectional, head_inputs=1, fs=fs, threshold=threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.encode(x))[..., 0]


class GRUClassifier(_GRUEncoder):
    """GRU window classifier: the probability (as a logit) that a short window holds an R-peak.

    The (bidirectional) GRU reads the whole input, context included; by default (``pool="segment"``) its states are
    then pooled (mean and max) over the frames of the central part only (to the nearest frame), the part the label
    is about, so a QRS complex that lies in the context tells the model "not here" instead of "somewhere".

    Parameters
    ----------
    frame : int
        Samples per GRU step.
    hidden, layers : int
        GRU units per direction, stacked layers.
    bidirectional : bool
    segment : int
        Samples of the central part, the part the label is about (90: 0.25 s at 360 Hz).
    context : int
        Samples of context on each side of the central part (0: pool over the whole input).
    pool : {"segment", "input"}
        Pool the states over the central segment's frames (the default) or over every frame, context included.
    fs : int
        Sampling rate the model was trained at, Hz.
    threshold : float
        Decision threshold on the probability (tuned on validation segments after training).

    Shapes: input (batch, segment + 2 * context) in mV (180 samples: a 0.25 s segment with 0.125 s context each
    side); output logits (batch,).
    """

    def __init__(self, frame: int = 4, hidden: int = 32, layers: int = 2, bidirectional: bool = True,
                 segment: int = 90, context: int = 45, pool: str = "segment", *, fs: int, threshold: float = 0.5):
        if pool not in ("segment", "input"):
            raise ValueError(f"unknown pool {pool!r}; valid options: segment, input")
        super().__init__(frame, hidden, layers, bidirectional, head_inputs=2, fs=fs, threshold=threshold)
        self.config.update(segment=segment, context=context, pool=pool)
        self.segment, self.context, self.pool = segment, context, pool

    @property
    def input_length(self) -> int:
        """Samples of one input segment, context included."""
        return self.segment + 2 * self.context

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encode(x)
        skip = round(self.context / self.frame) if self.pool == "segment" else 0
        if skip and h.shape[1] > 2 * skip:
            h = h[:, skip:h.shape[1] - skip]
        return self.out(torch.cat([h.mean(dim=1), h.amax(dim=1)], dim=-1))[:, 0]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (what notebook 02 shows next to each model)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
