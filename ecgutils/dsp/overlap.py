"""Apply a function to long signals window by window, blending the overlaps: how the offline models see a signal of
any length (:mod:`ecgutils.inference`)."""

from __future__ import annotations

import numpy as np


def overlap_apply(signals: list, fn, length: int, overlap: int, batch_size: int = 256) -> list:
    """Apply ``fn`` (batch of windows (b, length) -> same shape) over 1-D signals of any lengths, blending overlaps.

    The windows of all the signals go through ``fn`` together, ``batch_size`` at a time; a signal shorter than a
    window is mirrored to the window's length and its output cut back.

    Parameters
    ----------
    signals : list of ndarray, shape (n,)
    fn : callable
    length, overlap : int
        Window and overlap, samples.

    Returns
    -------
    list of ndarray, shape (n,), float32
    """
    ramp = np.minimum(np.arange(length) + 1, length - np.arange(length)) / max(overlap, 1)
    ramp, flat = np.clip(ramp, 1e-3, 1.0).astype(np.float64), np.ones(length)
    windows = []  # (signal, start, samples, weights)
    for i, x in enumerate(signals):
        n = len(x)
        if n < length:
            windows.append((i, 0, np.pad(x, (0, length - n), mode="symmetric" if n > 1 else "edge"), flat))
            continue
        starts = list(range(0, n - length + 1, length - overlap))
        starts += [n - length] if starts[-1] != n - length else []
        windows += [(i, s, x[s:s + length], ramp) for s in starts]
    out = [np.zeros(max(len(x), length)) for x in signals]
    wsum = [np.zeros(max(len(x), length)) for x in signals]
    for b in range(0, len(windows), batch_size):
        batch = windows[b:b + batch_size]
        for (i, s, _, w), y in zip(batch, fn(np.stack([win[2] for win in batch]))):
            out[i][s:s + length] += w * y
            wsum[i][s:s + length] += w
    return [(o / ws)[:len(x)].astype(np.float32) for o, ws, x in zip(out, wsum, signals)]
