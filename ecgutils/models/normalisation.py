"""The causal models' running normalisation: each frame's mean and scale from the frames seen so far.

A bias-corrected exponential moving average (:data:`NORM_TAU_S`) of each frame's mean and mean square, computed
block by block (:data:`BLOCK_FRAMES`) so that a stream's numbers do not depend on how it was cut into calls.
:mod:`ecgutils.models.causal` normalises its input with :func:`running_stats`; the streaming engine computes the same
in a compiled loop (:func:`ecgutils.models.stream_kernels.running_features`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: Time constant of the running mean and mean square, s.
NORM_TAU_S = 3.0
#: Smallest running standard deviation, mV (a flat line is not blown up into noise).
NORM_FLOOR_MV = 0.01
#: Frames per block. A stream runs the network on whole blocks at fixed places in the stream (4 frames of 8 samples:
#: 89 ms at 360 Hz), and the running statistics step from block to block, so chunking never changes a number.
BLOCK_FRAMES = 4


def moving_average(u: torch.Tensor, start: torch.Tensor, a: float) -> torch.Tensor:
    """Exponential moving average along the last axis, ``y[i] = a y[i-1] + (1 - a) u[i]`` from ``y[-1] = start``.

    Within each block of :data:`BLOCK_FRAMES` values it runs as a few vectorised steps over all blocks at once,
    from block to block as one multiply and one add per block. Every value is computed by the same operations
    whichever way a sequence is cut into calls, as long as each call starts at a multiple of ``BLOCK_FRAMES``
    (a stream's calls do): chunking cannot change a bit.

    Parameters
    ----------
    u : tensor, shape (..., n)
    start : tensor, shape (...)
        The average before ``u[..., 0]``.
    a : float
        Decay per step, 0 to 1.

    Returns
    -------
    tensor, shape (..., n)

    Examples
    --------
    >>> y = moving_average(torch.ones(1, 6, dtype=torch.float64), torch.zeros(1, dtype=torch.float64), 0.5)
    >>> y.numpy().round(4)
    array([[0.5   , 0.75  , 0.875 , 0.9375, 0.9688, 0.9844]])
    """
    n, g = u.shape[-1], BLOCK_FRAMES
    blocks = nn.functional.pad(u, (0, -n % g)).unflatten(-1, (-1, g))
    steps = [(1 - a) * blocks[..., 0]]
    for i in range(1, g):  # each block's average from zero
        steps.append(a * steps[-1] + (1 - a) * blocks[..., i])
    local = torch.stack(steps, dim=-1)
    decay = a ** torch.arange(1, g + 1, dtype=u.dtype, device=u.device)
    before, prev = [], start
    for end in local[..., -1].unbind(-1):  # carried from block to block
        before.append(prev)
        prev = decay[-1] * prev + end
    y = decay * torch.stack(before, dim=-1)[..., None] + local
    return y.flatten(-2)[..., :n]


def running_stats(frames: torch.Tensor, state, tau_frames: float):
    """Causal mean and standard deviation of a signal in frames, from the frames seen up to and including each.

    Exponential moving averages (:func:`moving_average`) of each frame's mean and mean square, bias-corrected at
    the start of the stream; float64, on the frames' device.

    Parameters
    ----------
    frames : tensor, shape (batch, n_frames, frame)
        mV.
    state : :class:`~ecgutils.models.causal.CausalState` or None
        Its ``ema`` and ``frames``; None at the start of the streams.
    tau_frames : float
        Time constant of the moving averages, frames.

    Returns
    -------
    mean, scale : tensor, shape (batch, n_frames), float64, mV
    ema : tensor, shape (batch, 2), float64
        The averages to carry on (:attr:`ecgutils.models.causal.CausalState.ema`).
    """
    a = float(np.exp(-1.0 / tau_frames))
    f64 = torch.as_tensor(frames).to(torch.float64)
    b, n = f64.shape[:2]
    ema0 = f64.new_zeros(b, 2) if state is None else state.ema
    seen = f64.new_zeros(b) if state is None else state.frames.to(torch.float64)
    ema = moving_average(torch.stack([f64.mean(-1), f64.square().mean(-1)], dim=1), ema0, a)
    weight = 1.0 - a ** (seen[:, None] + 1 + torch.arange(n, dtype=torch.float64, device=f64.device))
    mean = ema[:, 0] / weight
    scale = torch.sqrt(torch.clamp(ema[:, 1] / weight - mean ** 2, min=NORM_FLOOR_MV ** 2))
    return mean, scale, ema[..., -1]
