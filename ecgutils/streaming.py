"""Real time: an R-peak detector and a denoiser that take a live stream chunk by chunk, with a stated latency.

>>> det = StreamingDetector(fs=250)       # the shipped causal GRU (checkpoint= for another)
>>> det.latency_s                         # the most time between an R-peak and the push() that reports it, s
>>> peaks = det.push(chunk)               # absolute sample indices (int64, at fs) decided during this call
>>> peaks = det.flush()                   # at the end of the stream: the rest
>>> den = StreamingDenoiser(fs=250)
>>> y = den.push(chunk)                   # the denoised samples that are final so far (mV, may be empty)
>>> y = den.flush()                       # the rest: all outputs together have the input's length

How it works: the input is resampled to the model's rate as it arrives (:class:`ecgutils.resampler.StreamResampler`),
cut into frames, and the causal network (:mod:`ecgutils.causal`) runs on blocks of :data:`BLOCK_FRAMES` frames with
its state carried from block to block. Its answer about a frame comes ``lookahead`` frames later. The detector then
picks peaks causally: a frame is a beat when its probability reaches the threshold, is the highest within
:data:`PICK_WAIT_FRAMES` frames on either side, and lies at least 200 ms after the last beat reported. Because the
network always runs on whole blocks at fixed places in the stream, how the stream is cut into chunks changes when an
answer is given, never what it is: one chunk, 100 ms chunks or sample by sample give identical peaks and samples.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import expit

from ecgutils.models import checkpoints
from ecgutils.models.causal import CausalGRUDetector, CausalLSTMDenoiser
from ecgutils.inference import check_signal
from ecgutils.dsp.peaks import PICK_WAIT_FRAMES, CausalPicker
from ecgutils.dsp.resampling import StreamResampler
from ecgutils.models.runtime import threads

#: Frames per network call (4 frames of 8 samples: 89 ms at 360 Hz). Fixed, so that chunking never changes results.
BLOCK_FRAMES = 4
#: PyTorch threads of a stream: one block is far too small to share between threads, and a second thread that
#: waits for a busy core slows every call down many times.
STREAM_THREADS = 1


def _check_chunk(chunk, fs: float) -> np.ndarray:
    try:
        return check_signal(chunk, fs)
    except ValueError as exc:
        raise ValueError(f"{exc}. The stream's state is unchanged: push a corrected chunk (e.g. hold the last good "
                         "value over a gap) or start a new stream with reset().") from None


def _model(role: str, checkpoint, cls):
    model = checkpoints.resolve(role, checkpoint)
    if not isinstance(model, cls):
        raise ValueError(f"{type(model).__name__} is not a real-time model: {role} needs a {cls.__name__} "
                         "(notebook 05 trains one; the offline models of notebooks 02 and 03 look at whole windows)")
    return model


class _Blocks:
    """Samples at the model's rate in, whole blocks of frames through the causal model out (state carried)."""

    def __init__(self, model, fs: float):
        self.model, self.fs = model, float(fs)
        self.resampler = None if float(fs) == float(model.fs) else StreamResampler(fs_in=fs, fs_out=model.fs)
        self.size = BLOCK_FRAMES * model.frame
        self.pending = np.zeros(0, dtype=np.float32)
        self.state = None
        self.n_in = 0  # input samples pushed, at fs
        self.n_model = 0  # samples at the model's rate received (real ones)
        self.last = 0.0  # the last of them, mV

    @property
    def delay_s(self) -> float:
        return 0.0 if self.resampler is None else self.resampler.delay_s

    def push(self, x: np.ndarray) -> list:
        """Feed input samples at ``fs``; returns ``[(frames, output), ...]`` for every block now complete."""
        self.n_in += len(x)
        z = x if self.resampler is None else self.resampler.push(x)
        self.n_model += len(z)
        if len(z):
            self.last = float(z[-1])
        return self._run(z)

    def flush(self, extra_frames: int) -> list:
        """The end of the stream: the rest of the input, then its last value for ``extra_frames`` more frames."""
        z = np.zeros(0) if self.resampler is None else self.resampler.flush()
        self.n_model += len(z)
        last = float(z[-1]) if len(z) else self.last
        fill = (-(len(self.pending) + len(z) + extra_frames * self.model.frame)) % self.size
        return self._run(np.concatenate([z, np.full(extra_frames * self.model.frame + fill, last)]))

    @torch.no_grad()
    def _run(self, z: np.ndarray) -> list:
        self.pending = np.concatenate([self.pending, np.asarray(z, dtype=np.float32)])
        out = []
        if len(self.pending) < self.size:
            return out
        with threads(STREAM_THREADS):
            while len(self.pending) >= self.size:
                frames = self.pending[:self.size].reshape(1, BLOCK_FRAMES, self.model.frame)
                self.pending = self.pending[self.size:]
                y, self.state = self.model.step(frames, self.state)
                out.append((frames[0], y[0].numpy()))
        return out


class StreamingDetector:
    """R-peaks of a live ECG stream, chunk by chunk, each reported at most ``latency_s`` after it happened.

    Parameters
    ----------
    fs : float
        The stream's sampling rate, Hz (any; resampled to the model's 360 Hz inside).
    checkpoint : path or nn.Module, optional
        A :class:`ecgutils.causal.CausalGRUDetector`; default the shipped reference model.
    threshold : float, optional
        Peak-picking threshold; default the model's own (chosen on validation records).

    Attributes
    ----------
    latency_s : float
        The most time between an R-peak and the end of the ``push()`` call that reports it, s: the resampler's
        delay, the model's look-ahead, the peak-picking wait, one block and one frame.
    """

    def __init__(self, *, fs: float, checkpoint=None, threshold: float | None = None):
        check_signal(np.zeros(1), fs)
        self.fs = float(fs)
        self.model = _model("stream_detector", checkpoint, CausalGRUDetector)
        self.threshold = self.model.threshold if threshold is None else float(threshold)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next push() starts a new one at sample 0."""
        self._blocks = _Blocks(self.model, self.fs)
        self._picker = CausalPicker(self.model.frame, fs=self.model.fs, threshold=self.threshold)
        self._frames_out = 0  # network outputs so far (the first `lookahead` are about frames before the start)

    @property
    def latency_s(self) -> float:
        m = self.model
        frames = m.lookahead + PICK_WAIT_FRAMES + BLOCK_FRAMES + 1
        return self._blocks.delay_s + frames * m.frame / m.fs + 1.0 / self.fs

    def _peaks(self, blocks: list, n_total: int | None = None) -> np.ndarray:
        found = []
        for frames, logits in blocks:
            skip = max(0, self.model.lookahead - self._frames_out)
            self._frames_out += len(logits)
            found += self._picker.feed(expit(logits[skip:].astype(np.float64)), frames.ravel())
        idx = np.round(np.asarray(found) * self.fs / self.model.fs).astype(np.int64)
        return idx[idx < n_total] if n_total is not None else idx

    def push(self, chunk) -> np.ndarray:
        """Feed the next samples (1-D, mV, at least one); returns the R-peaks decided now (int64 sample indices)."""
        return self._peaks(self._blocks.push(_check_chunk(chunk, self.fs)))

    def flush(self) -> np.ndarray:
        """End of the stream: the R-peaks not yet reported. Call :meth:`reset` to start another stream."""
        n = self._blocks.n_in
        extra = self.model.lookahead + 2 * PICK_WAIT_FRAMES + 2
        return self._peaks(self._blocks.flush(extra), n_total=n)


class StreamingDenoiser:
    """A live ECG stream denoised chunk by chunk by the causal LSTM, ``latency_s`` behind its input.

    Parameters
    ----------
    fs : float
        The stream's sampling rate, Hz (any; resampled to the model's 360 Hz and back inside).
    checkpoint : path or nn.Module, optional
        A :class:`ecgutils.causal.CausalLSTMDenoiser`; default the shipped reference model.

    Attributes
    ----------
    latency_s : float
        The most time between an input sample and the push() that returns its denoised value, s.
    """

    def __init__(self, *, fs: float, checkpoint=None):
        check_signal(np.zeros(1), fs)
        self.fs = float(fs)
        self.model = _model("stream_denoiser", checkpoint, CausalLSTMDenoiser)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next push() starts a new one."""
        self._blocks = _Blocks(self.model, self.fs)
        self._back = None if self._blocks.resampler is None else StreamResampler(fs_in=self.model.fs, fs_out=self.fs)
        self._waiting = np.zeros((0, self.model.frame), dtype=np.float32)  # input frames awaiting their correction
        self._frames_out = 0
        self._model_out = 0  # samples at the model's rate given out
        self._given = 0  # samples at fs given out

    @property
    def latency_s(self) -> float:
        m = self.model
        back = 0.0 if self._back is None else self._back.delay_s
        return self._blocks.delay_s + (m.lookahead + BLOCK_FRAMES) * m.frame / m.fs + back + 1.0 / self.fs

    def _denoised(self, blocks: list, limit: int | None = None) -> np.ndarray:
        out = []
        for frames, corr in blocks:
            self._waiting = np.concatenate([self._waiting, frames])
            skip = max(0, self.model.lookahead - self._frames_out)
            self._frames_out += len(corr)
            corr = corr[skip:]
            out.append((self._waiting[:len(corr)] + corr).ravel())
            self._waiting = self._waiting[len(corr):]
        y = np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
        if limit is not None:
            y = y[:max(0, limit - self._model_out)]
        self._model_out += len(y)
        if self._back is not None:
            y = self._back.push(y)
            if limit is not None:
                y = np.concatenate([y, self._back.flush()])
        return y.astype(np.float32)

    def push(self, chunk) -> np.ndarray:
        """Feed the next samples (1-D, mV); returns the denoised samples that are final now (float32, mV)."""
        y = self._denoised(self._blocks.push(_check_chunk(chunk, self.fs)))
        self._given += len(y)
        return y

    def flush(self) -> np.ndarray:
        """End of the stream: the remaining denoised samples (all outputs together: the input's length)."""
        n = self._blocks.n_in
        y = self._denoised(self._blocks.flush(self.model.lookahead + 1), limit=self._blocks.n_model)
        y = y[:max(0, n - self._given)]
        if self._given + len(y) < n:  # resampling back may give a sample or two fewer: hold the last value
            last = y[-1] if len(y) else 0.0
            y = np.concatenate([y, np.full(n - self._given - len(y), last, dtype=np.float32)])
        self._given += len(y)
        return y


@torch.no_grad()
def frame_probabilities(model: CausalGRUDetector, signals: list) -> list:
    """The streaming detector's frame probabilities for whole signals at the model's rate, several streams at once.

    The network runs block by block exactly as in :class:`StreamingDetector` (here with one row per signal, which
    is many times faster for the validation records of threshold tuning; a batch may differ from a single stream
    in the last bits of a float).

    Parameters
    ----------
    model : CausalGRUDetector
    signals : list of ndarray, shape (n_samples,)
        mV at ``model.fs``; signals of the same length run together.

    Returns
    -------
    list of ndarray, shape (ceil(n_samples / frame),)
        The probability about each frame.
    """
    out = [None] * len(signals)
    size = BLOCK_FRAMES * model.frame
    for n in sorted({len(s) for s in signals}):
        rows = [i for i, s in enumerate(signals) if len(s) == n]
        n_frames = -(-n // model.frame)
        total = -(-(n_frames + model.lookahead) * model.frame // size) * size
        x = np.stack([np.pad(np.asarray(signals[i], dtype=np.float32), (0, total - n), mode="edge") for i in rows])
        blocks = x.reshape(len(rows), -1, BLOCK_FRAMES, model.frame)
        state, logits = None, []
        with threads(STREAM_THREADS):
            for b in range(blocks.shape[1]):
                y, state = model.step(blocks[:, b], state)
                logits.append(y.numpy())
        prob = expit(np.concatenate(logits, axis=1).astype(np.float64))
        for j, i in enumerate(rows):
            out[i] = prob[j, model.lookahead:model.lookahead + n_frames]
    return out


def pick_peaks(prob: np.ndarray, model: CausalGRUDetector, threshold: float, signal: np.ndarray | None = None
               ) -> np.ndarray:
    """The streaming detector's peak picking over a whole frame probability; sample indices at ``model.fs``.

    ``signal`` (mV at ``model.fs``) turns on the T-wave rule, as :class:`StreamingDetector` applies it.
    """
    picker = CausalPicker(model.frame, fs=model.fs, threshold=threshold, t_wave_check=signal is not None)
    found = picker.feed(np.concatenate([prob, np.full(PICK_WAIT_FRAMES, -np.inf)]), signal)
    return np.round(np.asarray(found)).astype(np.int64)
