"""Real time: an R-peak detector and a denoiser that take a live stream chunk by chunk, with a stated latency.

>>> import numpy as np
>>> det, chunk = StreamingDetector(fs=250), np.zeros(25)  # the shipped causal GRU; 100 ms of one lead, mV
>>> det.push(chunk)                       # R-peaks decided now: sample indices (int64, at fs); flush(): the rest
array([], dtype=int64)
>>> den = StreamingDenoiser(fs=250)       # push(): the denoised samples final so far (mV); flush(): the rest
>>> len(np.concatenate([den.push(chunk), den.flush()]))
25
>>> pool = StreamPool(StreamingDetector, 3, fs=250)   # many streams, one network call per push for all
>>> [len(p) for p in pool.push([chunk, chunk, None])]
[0, 0, 0]

How it works: the input is resampled to the model's rate as it arrives (:mod:`ecgutils.dsp.resampling`) and cut into
frames; the causal network (:mod:`ecgutils.models.causal`) runs on whole blocks of :data:`BLOCK_FRAMES` frames, all
the blocks a push completes in one call, its state carried on. Its answer about a frame comes ``lookahead`` frames
later; the detector picks peaks causally (:class:`ecgutils.dsp.peaks.CausalPicker`). Chunking changes when an answer
is given, never what it is (one chunk, 100 ms chunks or single samples give identical peaks and samples), and in a
:class:`StreamPool` each stream gets exactly the peaks and samples it gets alone. The network runs on the streaming
engine (:mod:`ecgutils.models.stream_engine`: its normalisation and recurrent layers compiled with Numba, a few calls
per push instead of PyTorch's per-operation overhead), and in PyTorch for a network the engine does not recognise.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import expit

from ecgutils.dsp.peaks import PICK_WAIT_FRAMES, CausalPicker, check_threshold
from ecgutils.dsp.resampling import StreamResampler
from ecgutils.inference import DETECTOR_T_WAVE_CHECK, check_signal
from ecgutils.models import calibration, checkpoints
from ecgutils.models.causal import BLOCK_FRAMES, CausalGRUDetector, CausalLSTMDenoiser, is_realtime_model
from ecgutils.models.stream_runner import Blocks, StreamNetwork, advance


def _nothing_new(chunk) -> bool:
    """A chunk that brings no samples (None or empty): a push that changes nothing and answers nothing new."""
    return chunk is None or np.size(chunk) == 0


def _check_chunk(chunk, fs: float) -> np.ndarray:
    try:
        return check_signal(chunk, fs)
    except ValueError as exc:
        raise ValueError(f"{exc}. The stream's state is unchanged: push a corrected chunk (e.g. hold the last good "
                         "value over a gap) or start a new stream with reset().") from None


def _model(role: str, checkpoint, cls):
    model = checkpoints.resolve(role, checkpoint)
    if not is_realtime_model(model, cls):
        raise ValueError(f"{type(model).__name__} is not a real-time model: {role} needs a {cls.__name__} "
                         "(notebook 05 trains one; the offline models of notebooks 02 and 03 look at whole windows)")
    return model


class _Stream:
    """push and flush as: feed the blocks, run the network, turn its output into answers (the pool batches step 2)."""

    model: torch.nn.Module
    _blocks: Blocks
    _network: StreamNetwork

    def push(self, chunk) -> np.ndarray:
        """Feed the next samples (1-D, mV; None or empty: nothing new); returns the answers decided now."""
        blocks = self._blocks if _nothing_new(chunk) else self._feed(chunk)
        return self._answers(advance(self._network, [blocks])[0])

    def flush(self) -> np.ndarray:
        """End of the stream: the answers not yet given. Call :meth:`reset` to start another stream."""
        return self._last_answers(advance(self._network, [self._end()])[0])

    def _feed(self, chunk) -> Blocks:
        return self._blocks.push(_check_chunk(chunk, self.fs))


class StreamingDetector(_Stream):
    """R-peaks of a live ECG stream, chunk by chunk, each reported at most ``latency_s`` after it happened.

    Parameters
    ----------
    fs : float
        The stream's sampling rate, Hz (any; resampled to the model's 360 Hz inside).
    checkpoint : path or nn.Module, optional
        A :class:`ecgutils.models.causal.CausalGRUDetector`; default the shipped reference model.
    threshold : float, optional
        Peak-picking threshold, a probability in (0, 1); default the model's own (chosen on validation records).
    t_wave_check : bool
        Pan and Tompkins' T-wave rule on the causal QRS-band slope after peak picking; default
        :data:`ecgutils.inference.DETECTOR_T_WAVE_CHECK` (off, as for the offline detector).

    Attributes
    ----------
    latency_s : float
        The most time between an R-peak (where the detector places it) and the end of the ``push()`` call that
        reports it, s: the resampler's delay, the beat's own frame, the model's look-ahead, the peak-picking
        wait, up to a block less one frame for the block to fill, one frame of margin and one sample.
    probability, confidence : ndarray
        Per beat of the last push() or flush(): the network's probability, the calibrated one that it is true.
    """

    def __init__(self, *, fs: float, checkpoint=None, threshold: float | None = None,
                 t_wave_check: bool = DETECTOR_T_WAVE_CHECK):
        check_signal(np.zeros(1), fs)
        self.fs = float(fs)
        self.model = _model("stream_detector", checkpoint, CausalGRUDetector)
        self.threshold = self.model.threshold if threshold is None else check_threshold(threshold)
        self.t_wave_check = bool(t_wave_check)
        self._network = StreamNetwork(self.model, 1)
        self._calibrate = calibration.calibrator(getattr(self.model, "shipped_role", None))
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next push() starts a new one at sample 0."""
        self._blocks = Blocks(self.model, self.fs)
        self._network.reset()
        self._picker = CausalPicker(self.model.frame, fs=self.model.fs, threshold=self.threshold,
                                    t_wave_check=self.t_wave_check)
        self._frames_out = 0  # network outputs so far (the first `lookahead` are about frames before the start)

    @property
    def latency_s(self) -> float:
        m = self.model
        frames = m.lookahead + PICK_WAIT_FRAMES + BLOCK_FRAMES + 1
        return self._blocks.delay_s + frames * m.frame / m.fs + 1.0 / self.fs

    def _answers(self, blocks: list, n_total: int | None = None) -> np.ndarray:
        found, prob = [], []  # beats (model samples), their probability
        for frames, logits in blocks:
            skip = max(0, self.model.lookahead - self._frames_out)
            self._frames_out += len(logits)
            found += self._picker.feed(expit(logits[skip:].astype(np.float64)), frames.ravel())
            prob += self._picker.found_prob.tolist()
        if not found:  # most pushes
            self.probability, self.confidence = np.zeros(0), np.zeros(0, dtype=np.float32)
            return np.zeros(0, dtype=np.int64)
        idx = np.round(np.asarray(found) * self.fs / self.model.fs).astype(np.int64)
        keep = idx < (n_total if n_total is not None else np.inf)
        self.probability = np.asarray(prob)[keep]
        self.confidence = self._calibrate(self.probability)
        return idx[keep]

    def _end(self) -> Blocks:
        return self._blocks.flush(self.model.lookahead + 2 * PICK_WAIT_FRAMES + 2)

    def _last_answers(self, blocks: list) -> np.ndarray:
        return self._answers(blocks, n_total=self._blocks.n_in)


class StreamingDenoiser(_Stream):
    """A live ECG stream denoised chunk by chunk by the causal LSTM, ``latency_s`` behind its input.

    Parameters
    ----------
    fs : float
        The stream's sampling rate, Hz (any; resampled to the model's 360 Hz and back inside).
    checkpoint : path or nn.Module, optional
        A :class:`ecgutils.models.causal.CausalLSTMDenoiser`; default the shipped reference model.

    Attributes
    ----------
    latency_s : float
        The most time between an input sample and the push() that returns its denoised value, s.
    """

    def __init__(self, *, fs: float, checkpoint=None):
        check_signal(np.zeros(1), fs)
        self.fs = float(fs)
        self.model = _model("stream_denoiser", checkpoint, CausalLSTMDenoiser)
        self._network = StreamNetwork(self.model, 1)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next push() starts a new one."""
        self._blocks = Blocks(self.model, self.fs)
        self._network.reset()
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

    def _answers(self, blocks: list) -> np.ndarray:
        y = self._denoised(blocks)
        self._given += len(y)
        return y

    def _end(self) -> Blocks:
        return self._blocks.flush(self.model.lookahead + 1)

    def _last_answers(self, blocks: list) -> np.ndarray:
        n = self._blocks.n_in
        y = self._denoised(blocks, limit=self._blocks.n_model)
        y = y[:max(0, n - self._given)]
        if self._given + len(y) < n:  # resampling back may give a sample or two fewer: hold the last value
            last = y[-1] if len(y) else 0.0
            y = np.concatenate([y, np.full(n - self._given - len(y), last, dtype=np.float32)])
        self._given += len(y)
        return y


class StreamPool:
    """``n`` independent streams of one model, advanced together: each push runs the network once for all of them.

    Parameters
    ----------
    stream : type
        :class:`StreamingDetector` or :class:`StreamingDenoiser`.
    n : int
        Streams.
    fs : float or sequence of float
        The streams' sampling rate, Hz: one for all, or one per stream.
    checkpoint, **kwargs
        As the stream class (``threshold=``); one model, shared by all streams.

    ``streams`` holds the streaming objects (``latency_s``, ``fs``): push through the pool, not through them.
    """

    def __init__(self, stream, n: int, *, fs, checkpoint=None, **kwargs):
        rates = [fs] * n if np.ndim(fs) == 0 else list(fs)
        if n < 1 or len(rates) != n:
            raise ValueError(f"a pool needs n >= 1 streams and one rate or n rates; got n={n}, {len(rates)} rates")
        first = stream(fs=rates[0], checkpoint=checkpoint, **kwargs)
        self.model = first.model
        self.streams = [first] + [stream(fs=r, checkpoint=self.model, **kwargs) for r in rates[1:]]
        self._network = StreamNetwork(self.model, n)

    def push(self, chunks) -> list:
        """Feed one chunk per stream (1-D, mV; None or empty: nothing new); returns each stream's answers, as its
        own ``push`` would give them. A bad chunk raises before any stream changes."""
        if len(chunks) != len(self.streams):
            raise ValueError(f"expected one chunk per stream ({len(self.streams)}), got {len(chunks)}")
        chunks = [None if _nothing_new(c) else _check_chunk(c, s.fs) for c, s in zip(chunks, self.streams)]
        blocks = [s._blocks if c is None else s._blocks.push(c) for c, s in zip(chunks, self.streams)]
        return [s._answers(b) for s, b in zip(self.streams, advance(self._network, blocks))]

    def flush(self) -> list:
        """End of every stream: each one's remaining answers. Call :meth:`reset` to start new streams."""
        blocks = advance(self._network, [s._end() for s in self.streams])
        return [s._last_answers(b) for s, b in zip(self.streams, blocks)]

    def reset(self) -> None:
        """Forget all streams."""
        for s in self.streams:
            s.reset()
        self._network.reset()
