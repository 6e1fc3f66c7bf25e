"""Feeding live streams to a causal network: each stream's samples cut into whole blocks of frames
(:class:`Blocks`), the model's causal input filter over the blocks of all streams at once (:func:`input_filter`), the
network and the state of a set of streams (:class:`StreamNetwork`: the NumPy engine of
:mod:`ecgutils.models.stream_engine`, or PyTorch), and :func:`advance`, which runs every complete block of every
stream in as few calls as it can. :mod:`ecgutils.streaming` builds its detector, denoiser and pool on these;
:func:`frame_probabilities` and :func:`pick_peaks` give the streaming detector's answers for whole signals at once
(for scoring many records).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import signal as sps
from scipy.special import expit

from ecgutils.dsp.filters import highpass_sos, lfilter_carried
from ecgutils.dsp.peaks import PICK_WAIT_FRAMES, CausalPicker
from ecgutils.dsp.resampling import StreamResampler
from ecgutils.models.causal import BLOCK_FRAMES, CausalGRUDetector
from ecgutils.models.runtime import blas_threads, threads
from ecgutils.models.stream_engine import engine_for

#: PyTorch threads of a stream: a block is too small to share, and a thread waiting for a busy core slows every call.
STREAM_THREADS = 1
#: The most blocks of one network call (91 s at 360 Hz): a push of a whole recording runs in pieces this long.
MAX_CALL_BLOCKS = 1024



class Blocks:
    """One stream's input: samples at ``fs`` in, whole blocks of frames at the model's rate out."""

    def __init__(self, model, fs: float):
        self.frame = model.frame
        self.resampler = None if float(fs) == float(model.fs) else StreamResampler(fs_in=fs, fs_out=model.fs)
        hp = getattr(model, "highpass_hz", None)  # the model's causal high-pass (one section), run in advance()
        self.highpass = None if hp is None else highpass_sos(hp, fs=model.fs)[0]
        self.zi = None  # its state
        self.size = BLOCK_FRAMES * model.frame
        self.pending = np.zeros(0, dtype=np.float32)
        self.n_in = 0  # input samples pushed, at fs
        self.n_model = 0  # samples at the model's rate received (real ones)
        self.last = 0.0  # the last of them, mV

    @property
    def delay_s(self) -> float:
        return 0.0 if self.resampler is None else self.resampler.delay_s

    @property
    def ready(self) -> int:  # complete blocks waiting for the network
        return len(self.pending) // self.size

    def push(self, x: np.ndarray) -> "Blocks":
        """Feed input samples at ``fs``."""
        self.n_in += len(x)
        z = x if self.resampler is None else self.resampler.push(x)
        self.n_model += len(z)
        if len(z):
            self.last = float(z[-1])
        return self._add(z)

    def flush(self, extra_frames: int) -> "Blocks":
        """The end of the stream: the rest of the input, then its last value for ``extra_frames`` more frames."""
        z = np.zeros(0) if self.resampler is None else self.resampler.flush()
        self.n_model += len(z)
        last = float(z[-1]) if len(z) else self.last
        fill = (-(len(self.pending) + len(z) + extra_frames * self.frame)) % self.size
        return self._add(np.concatenate([z, np.full(extra_frames * self.frame + fill, last)]))

    def _add(self, z: np.ndarray) -> "Blocks":
        self.pending = np.concatenate([self.pending, np.asarray(z, dtype=np.float32)])
        return self

    def take(self, k: int) -> np.ndarray:
        """The next ``k`` blocks as frames, shape (k * BLOCK_FRAMES, frame)."""
        frames = self.pending[:k * self.size].reshape(-1, self.frame)
        self.pending = self.pending[k * self.size:]
        return frames


class StreamNetwork:
    """The network of a set of streams and their state, one row per stream: the NumPy engine
    (:mod:`ecgutils.models.stream_engine`) when it computes what the model computes, else the PyTorch model."""

    def __init__(self, model, n: int):
        self.model, self.n = model, n
        self.engine = engine_for(model)
        self.reset()

    def reset(self) -> None:
        """New streams in every row."""
        self.state = (self.engine or self.model).initial_state(self.n)

    def run(self, rows: list, frames: np.ndarray) -> np.ndarray:
        """The network's output (numpy) for ``frames`` (len(rows), n_frames, frame) of the streams in ``rows``."""
        whole = len(rows) == self.n
        state = self.state if whole else self.state.rows(rows)
        if self.engine is not None:
            y = self.engine.step(frames, state)  # updates the state in place
        else:
            with threads(STREAM_THREADS), torch.no_grad():
                y, state = self.model.step(frames, state)
            y = y.cpu().numpy()
            if whole:
                self.state = state
        if not whole:
            self.state.put(rows, state)
        return y


def input_filter(streams: list, rows: list, frames: np.ndarray) -> np.ndarray:
    """The model's causal high-pass (``highpass_hz``) over the new blocks of the streams in ``rows`` (frames
    (len(rows), n_frames, frame), mV), all in one ``scipy.signal.lfilter`` call, each stream's filter state carried
    (starting in the steady state of its first sample, as :func:`ecgutils.dsp.filters.causal_filter`): a pool pays
    one call per push instead of one per stream. A model without a high-pass: ``frames`` unchanged."""
    sos = streams[rows[0]].highpass
    if sos is None:
        return frames
    b, a = sos[:3], sos[3:]
    x = frames.reshape(len(rows), -1).astype(np.float64)
    if any(streams[i].zi is None for i in rows):  # a stream's first block: its filter starts in the steady state
        start = sps.lfilter_zi(b, a)
        for j, i in enumerate(rows):
            if streams[i].zi is None:
                streams[i].zi = start * x[j, 0]
    zi = streams[rows[0]].zi[None] if len(rows) == 1 else np.stack([streams[i].zi for i in rows])
    y, zf = lfilter_carried(b, a, x, zi)
    for j, i in enumerate(rows):
        streams[i].zi = zf[j]
    return y.astype(np.float32).reshape(frames.shape)


def advance(network: StreamNetwork, streams: list) -> list:
    """Run every complete block of every stream (row ``i`` of ``network`` is ``streams[i]``): one network call for
    all the streams that have blocks (as many blocks as all of them have, at most :data:`MAX_CALL_BLOCKS`), again
    while any has more.

    Returns, per stream, a list of ``(frames, output)``: frames (n_frames, frame) and the model's output for them.
    """
    out = [[] for _ in streams]
    with blas_threads(STREAM_THREADS):
        while rows := [i for i, s in enumerate(streams) if s.ready]:
            k = min(MAX_CALL_BLOCKS, *(streams[i].ready for i in rows))
            frames = input_filter(streams, rows, np.stack([streams[i].take(k) for i in rows]))
            y = network.run(rows, frames)
            for j, i in enumerate(rows):
                out[i].append((frames[j], y[j]))
    return out


def frame_probabilities(model: CausalGRUDetector, signals: list) -> list:
    """The streaming detector's frame probabilities for whole signals (mV at ``model.fs``), as
    :class:`ecgutils.streaming.StreamingDetector` computes them, one row per signal (as in a
    :class:`ecgutils.streaming.StreamPool`).

    Returns
    -------
    list of ndarray, shape (ceil(n_samples / frame),)
        The probability about each frame.
    """
    streams = [Blocks(model, model.fs).push(np.asarray(x, dtype=np.float32)).flush(model.lookahead) for x in signals]
    out = []
    for x, pieces in zip(signals, advance(StreamNetwork(model, len(signals)), streams)):
        prob = expit(np.concatenate([y for _, y in pieces]).astype(np.float64))
        out.append(prob[model.lookahead:model.lookahead + -(-len(x) // model.frame)])
    return out


def pick_peaks(prob: np.ndarray, model: CausalGRUDetector, threshold: float, signal: np.ndarray | None = None
               ) -> np.ndarray:
    """The streaming detector's peak picking over a whole frame probability; sample indices at ``model.fs``.

    ``signal`` (mV at ``model.fs``) turns on the T-wave rule, as ``StreamingDetector(t_wave_check=True)``
    applies it (to the signal after the model's input filter, as a stream does).
    """
    picker = CausalPicker(model.frame, fs=model.fs, threshold=threshold, t_wave_check=signal is not None)
    if signal is not None and hasattr(model, "input_filter"):  # the signal the network saw (a stream's frames)
        signal = model.input_filter(np.asarray(signal, dtype=np.float32))
    found = picker.feed(np.concatenate([prob, np.full(PICK_WAIT_FRAMES, -np.inf)]), signal)
    return np.round(np.asarray(found)).astype(np.int64)
