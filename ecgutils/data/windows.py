"""Fixed-size windows cut from records, with the reference beats inside each, and their normalisation.

Window choice (documented in notebook 01): 10 s (3,600 samples at 360 Hz), non-overlapping. Ten seconds is the
unit in which the evaluation protocol measures SNR, holds 8 to 20 beats (enough context for a recurrent model to
learn the rhythm) and keeps noise excerpts long enough to contain real baseline wander. Non-overlapping windows mean
no sample is counted twice in a metric. Training draws fresh noise for every window and epoch, so it does not need
overlap to see more data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecgutils.constants import WINDOW
from ecgutils.io.records import Record


@dataclass
class WindowSet:
    """Windows of clean ECG with their provenance and reference beats.

    Attributes
    ----------
    x : ndarray, shape (n_windows, length), float32
        Clean signal in mV.
    record : ndarray, shape (n_windows,), str
        Record each window comes from.
    start : ndarray, shape (n_windows,), int64
        First sample of each window in its record.
    beat_ptr : ndarray, shape (n_windows + 1,), int64
        Window ``i``'s beats are ``beat_pos[beat_ptr[i]:beat_ptr[i + 1]]`` (compressed row storage).
    beat_pos : ndarray, shape (n_beats,), int64
        Beat positions in samples from the window's start.
    fs : float
        Sampling rate, Hz.
    """

    x: np.ndarray
    record: np.ndarray
    start: np.ndarray
    beat_ptr: np.ndarray
    beat_pos: np.ndarray
    fs: float = field(kw_only=True)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def length(self) -> int:
        """Window length in samples."""
        return self.x.shape[1]

    def beats(self, i: int) -> np.ndarray:
        """Beat positions (samples from the window start) of window ``i``."""
        return self.beat_pos[self.beat_ptr[i]:self.beat_ptr[i + 1]]

    def beat_lists(self) -> list[np.ndarray]:
        """Beat positions of every window, as a list of arrays."""
        return [self.beats(i) for i in range(len(self))]

    def subset(self, idx) -> "WindowSet":
        """A new set holding the windows ``idx`` (indices or boolean mask), in that order."""
        idx = np.arange(len(self))[idx]
        lists = [self.beats(i) for i in idx]
        return WindowSet(self.x[idx], self.record[idx], self.start[idx], *_pack(lists), fs=self.fs)

    @staticmethod
    def concat(sets: list["WindowSet"]) -> "WindowSet":
        """Join window sets of the same length and rate."""
        lists = [b for s in sets for b in s.beat_lists()]
        return WindowSet(
            np.concatenate([s.x for s in sets]).astype(np.float32),
            np.concatenate([s.record for s in sets]),
            np.concatenate([s.start for s in sets]).astype(np.int64),
            *_pack(lists),
            fs=sets[0].fs,
        )


def _pack(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(b) for b in lists])
    pos = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, dtype=np.int64)
    return ptr, pos


def window_starts(n_samples: int, length: int, stride: int, max_windows: int | None = None,
                  first: int = 0) -> np.ndarray:
    """Start samples of the windows that fit in ``[first, n_samples)``.

    With ``max_windows``, that many starts are kept, spread evenly over the record (not just its beginning).
    """
    starts = np.arange(first, n_samples - length + 1, stride, dtype=np.int64)
    if max_windows is not None and len(starts) > max_windows:
        keep = np.round(np.linspace(0, len(starts) - 1, max_windows)).astype(int)
        starts = starts[keep]
    return starts


def cut_windows(rec: Record, length: int = WINDOW, stride: int | None = None,
                max_windows: int | None = None, starts: np.ndarray | None = None) -> WindowSet:
    """Cut a record into windows.

    Parameters
    ----------
    rec : Record
        Signal in mV and reference beats.
    length : int
        Window length, samples.
    stride : int, optional
        Step between window starts, samples; default ``length`` (no overlap).
    max_windows : int, optional
        Keep at most this many windows, spread evenly over the record.
    starts : ndarray, optional
        Explicit start samples (overrides ``stride`` and ``max_windows``).

    Returns
    -------
    WindowSet
    """
    if starts is None:
        starts = window_starts(len(rec.signal), length, stride or length, max_windows)
    starts = np.asarray(starts, dtype=np.int64)
    x = np.stack([rec.signal[s:s + length] for s in starts]) if len(starts) else np.zeros((0, length), np.float32)
    lists = []
    for s in starts:
        lo, hi = np.searchsorted(rec.beats, [s, s + length])
        lists.append(rec.beats[lo:hi] - s)
    return WindowSet(x.astype(np.float32), np.full(len(starts), rec.name), starts, *_pack(lists), fs=rec.fs)


# --------------------------------------------------------------------------------------------- normalisation
def unit_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-window min-max scale of clean windows: the "[0, 1] window scale" of the classic assignment.

    Parameters
    ----------
    x : ndarray, shape (n_windows, length)
        Clean windows in mV.

    Returns
    -------
    lo, span : ndarray, shape (n_windows, 1)
        Minimum and range (max - min) in mV; ``(x - lo) / span`` lies in [0, 1]. ``span`` is at least 1e-6 mV.
    """
    lo = x.min(axis=-1, keepdims=True)
    span = np.maximum(x.max(axis=-1, keepdims=True) - lo, 1e-6)
    return lo.astype(np.float32), span.astype(np.float32)


def to_unit(x: np.ndarray, lo: np.ndarray, span: np.ndarray) -> np.ndarray:
    """mV to the normalised scale: ``(x - lo) / span``. Reverse with :func:`from_unit`."""
    return (x - lo) / span


def from_unit(u: np.ndarray, lo: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Normalised scale back to mV: ``u * span + lo``."""
    return u * span + lo


# --------------------------------------------------------------------------------------------- R-peak labels
def cut_segments(x: np.ndarray, beat_lists: list[np.ndarray], seg: int = 90, context: int = 45):
    """Short classifier windows for "is there an R-peak here?".

    Each 10 s window is tiled by segments of ``seg`` samples (0.25 s by default). The classifier sees the segment
    plus ``context`` samples on each side (0.5 s in all, so a QRS complex that straddles the segment's edge is seen
    whole), and the label says whether a reference R-peak lies inside the central ``seg`` samples.
    With a heart rate of 60-100 bpm, about 25-40 % of the segments are positive: both classes are plentiful.

    Parameters
    ----------
    x : ndarray, shape (n_windows, length)
    beat_lists : list of ndarray
        Beat positions per window (samples from its start).
    seg, context : int
        Segment and context length, samples.

    Returns
    -------
    inputs : ndarray, shape (n_segments, seg + 2 * context), float32
    labels : ndarray, shape (n_segments,), int64
        1 if an R-peak lies in the central part.
    window : ndarray, shape (n_segments,), int64
        Index of the window each segment comes from.
    centre_start : ndarray, shape (n_segments,), int64
        First sample of the central part, from the window's start.
    """
    length = x.shape[1]
    centres = np.arange(context, length - seg - context + 1, seg, dtype=np.int64)
    n_w, n_s = len(x), len(centres)
    idx = (centres - context)[:, None] + np.arange(seg + 2 * context)[None, :]
    inputs = x[:, idx].reshape(n_w * n_s, -1)
    labels = np.zeros((n_w, n_s), dtype=np.int64)
    for i, beats in enumerate(beat_lists):
        k = (beats - centres[0]) // seg
        k = k[(beats >= centres[0]) & (k < n_s)]
        labels[i, k] = 1
    window = np.repeat(np.arange(n_w, dtype=np.int64), n_s)
    return inputs.astype(np.float32), labels.ravel(), window, np.tile(centres, n_w)


def peak_targets(length: int, beat_lists: list[np.ndarray], frame: int = 4, width: int = 1) -> np.ndarray:
    """Per-frame targets for the beat-level detector.

    Parameters
    ----------
    length : int
        Window length, samples (a multiple of ``frame``).
    beat_lists : list of ndarray
        Beat positions per window, samples.
    frame : int
        Samples per model step (4 at 360 Hz = 90 frames/s).
    width : int
        Frames on each side of the beat's frame that are also marked positive (tolerance for the fiducial point).

    Returns
    -------
    ndarray, shape (n_windows, length // frame), float32
        1 in the frames within ``width`` of a beat, else 0.
    """
    n_f = length // frame
    out = np.zeros((len(beat_lists), n_f), dtype=np.float32)
    for i, beats in enumerate(beat_lists):
        f = beats // frame
        for d in range(-width, width + 1):
            g = f + d
            out[i, g[(g >= 0) & (g < n_f)]] = 1.0
    return out
