"""Notebook 05's measurements: the real-time models on the protocol's test cases, their latency and their cost.

Everything here runs the streaming objects of :mod:`ecgutils.streaming` as a live stream would (chunk by chunk,
state carried), on the test records only: DS2 whole, and the NSTDB records where their noise comes from the test
half of the noise recording (sample 325,000 on; the stream itself starts at sample 0, as a monitor would).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ecgutils.models import checkpoints
from ecgutils.models.causal import CausalGRUDetector, CausalLSTMDenoiser, is_realtime_model
from ecgutils.constants import FS
from ecgutils.io.records import read_record, read_records
from ecgutils.inference import DETECTOR_T_WAVE_CHECK, denoise_windows
from ecgutils.evaluation.metrics import denoising_metrics, match_beats
from ecgutils.data.nstdb import load_cases, segment_starts
from ecgutils.evaluation.detection import Batched, detect_records, excerpt, nstdb_from, nstdb_table, score_records
from ecgutils.data.splits import NSTDB_LEVELS
from ecgutils.models.stream_runner import frame_probabilities, pick_peaks
from ecgutils.streaming import StreamingDenoiser, StreamingDetector, StreamPool
from ecgutils.data.windows import WINDOW

#: The chunk of a simulated live stream, s (a typical Bluetooth ECG packet rate is 10 per second).
CHUNK_S = 0.1


@dataclass
class StreamRun:
    """A signal pushed through a streaming model chunk by chunk.

    Attributes
    ----------
    output : ndarray
        R-peak sample indices (detector) or denoised samples in mV (denoiser), at ``fs``.
    reported_at : ndarray of int64
        Detector only: for each peak, the last input sample of the push() that reported it.
    compute_s : ndarray
        Wall-clock seconds of each push() (the last entry: flush()).
    chunk : int
        Samples per push.
    n : int
        Samples pushed.
    fs : float
        Hz.
    latency_s : float
        The model's stated latency, s.
    """

    output: np.ndarray
    reported_at: np.ndarray
    compute_s: np.ndarray
    chunk: int
    n: int
    fs: float
    latency_s: float

    @property
    def x_real_time(self) -> float:
        """Seconds of signal per second of compute (flush included)."""
        return self.n / self.fs / max(float(self.compute_s.sum()), 1e-12)


def run_stream(stream, signal: np.ndarray, chunk_s: float | None = CHUNK_S) -> StreamRun:
    """Push ``signal`` through a fresh ``stream`` (a :class:`StreamingDetector` or :class:`StreamingDenoiser`)
    in chunks of ``chunk_s`` seconds (``None``: one chunk), then flush it."""
    stream.reset()
    n = len(signal)
    chunk = n if chunk_s is None else max(1, int(round(chunk_s * stream.fs)))
    outs, reported, times = [], [], []
    for i in range(0, n, chunk):
        t0 = time.perf_counter()
        y = stream.push(signal[i:i + chunk])
        times.append(time.perf_counter() - t0)
        outs.append(y)
        reported.append(np.full(len(y), min(i + chunk, n) - 1, dtype=np.int64))
    t0 = time.perf_counter()
    y = stream.flush()
    times.append(time.perf_counter() - t0)
    outs.append(y)
    reported.append(np.full(len(y), n - 1, dtype=np.int64))
    return StreamRun(np.concatenate(outs), np.concatenate(reported), np.asarray(times), chunk, n, stream.fs,
                     stream.latency_s)


def batched_detector(model: CausalGRUDetector, t_wave_check: bool = DETECTOR_T_WAVE_CHECK) -> Batched:
    """A streaming detector run on many whole signals at once (for scoring many records quickly), as a
    :class:`ecgutils.evaluation.detection.Batched` detector for :func:`ecgutils.evaluation.detection.detect_records`.

    The network runs block by block as in :class:`StreamingDetector`, one row per record
    (:func:`ecgutils.models.stream_runner.frame_probabilities`), and the peaks are picked by the same causal picker
    (:func:`ecgutils.models.stream_runner.pick_peaks`, with the T-wave rule if ``t_wave_check``: by default as
    :class:`StreamingDetector`, off); each row's numbers are those of a single
    stream (the tests compare both). The signals are at the model's rate (360 Hz, the records').
    """
    def run(signals: list) -> list:
        probs = frame_probabilities(model, signals)
        found = [pick_peaks(p, model, model.threshold, signal=s if t_wave_check else None)
                 for p, s in zip(probs, signals)]
        return [f[f < len(s)] for f, s in zip(found, signals)]

    return Batched(run)


def batch_detections(models: dict, signals: dict) -> dict:
    """:func:`ecgutils.evaluation.detection.detect_records` of :func:`batched_detector` of each model (name to
    :class:`ecgutils.models.causal.CausalGRUDetector`) on ``signals`` (record name to mV at the models' rate)."""
    return detect_records(signals, {k: batched_detector(m) for k, m in models.items()}, fs=FS, progress=False)


def detection_tables(detectors: dict, test_records, progress: bool = True, levels=NSTDB_LEVELS, record_minutes=None,
                     nstdb_start_s: float = 0.0, **fetch_kwargs) -> dict:
    """Beat-level scores of ``detectors`` on clean DS2 records and NSTDB.

    Parameters
    ----------
    detectors : dict
        Name to ``fn(signal) -> peaks`` (:func:`ecgutils.evaluation.detection.detector`), or to a
        :class:`ecgutils.models.causal.CausalGRUDetector`, scored many records at a time (:func:`batched_detector`).
    levels : tuple of int
        NSTDB levels scored.
    record_minutes : (float, float), optional
        Score only this stretch of each clean record (a profile's ``evaluation.record_minutes``); default the whole
        record from minute 5 (EC57).
    nstdb_start_s : float
        Where the NSTDB records are read from (:func:`ecgutils.evaluation.detection.nstdb_from`).

    Returns
    -------
    dict of pandas.DataFrame
        ``clean`` (one row per detector, EC57 span: whole records from minute 5) and ``nstdb`` (one row per
        level and detector, beats in the test-half noisy segments).
    """
    detectors = {k: batched_detector(v) if is_realtime_model(v, CausalGRUDetector) else v
                 for k, v in detectors.items()}
    signals, refs = read_records(test_records, **fetch_kwargs)
    span = "ec57"
    if record_minutes is not None:
        signals, refs = excerpt(signals, refs, 60 * record_minutes[0], 60 * record_minutes[1], fs=FS)
        span = "whole"
    lengths = {r: len(s) for r, s in signals.items()}
    clean = score_records(detect_records(signals, detectors, fs=FS, progress=progress), refs, lengths, span, fs=FS)
    signals, refs, masks = nstdb_from(levels, nstdb_start_s, **fetch_kwargs)
    nstdb = nstdb_table(detect_records(signals, detectors, fs=FS, progress=progress), refs, masks, levels, fs=FS)
    return {"clean": clean[0].reset_index(), "nstdb": nstdb}


def report_delays(signals: dict, refs: dict, checkpoint=None, chunk_s: float = CHUNK_S) -> pd.DataFrame:
    """How long after each beat the streaming detector reports it, fed ``chunk_s`` chunks.

    Returns
    -------
    pandas.DataFrame
        One row per matched beat: ``record``, ``beat`` and ``detected`` (samples), ``reported_at`` (the last sample
        of the push that reported it), ``delay_s`` (reported_at minus the reference beat, s), ``detected_delay_s``
        (reported_at minus the detection, s: what ``latency_s`` bounds) and ``bound_s`` (``latency_s`` plus one
        chunk: the most a detection may wait for its report). Beats reported by the final ``flush()`` (the stream
        ended before their look-ahead arrived) are not real-time reports and are left out.
    """
    names = list(signals)
    pool = StreamPool(StreamingDetector, len(names), fs=FS, checkpoint=checkpoint)  # every record at once
    chunk, n = max(1, int(round(chunk_s * FS))), max(len(s) for s in signals.values())
    found, at = {k: [] for k in names}, {k: [] for k in names}
    for i in list(range(0, n, chunk)) + [None]:  # None: the end of the streams (its reports are marked -1)
        outs = pool.flush() if i is None else pool.push([signals[k][i:i + chunk] for k in names])
        for k, out in zip(names, outs):
            found[k] += list(out)
            at[k] += [-1 if i is None else min(i + chunk, len(signals[k])) - 1] * len(out)
    rows = []
    for k in names:
        m = match_beats(refs[k], np.asarray(found[k], dtype=np.int64), fs=FS)
        reported = dict(zip(found[k], at[k]))
        rep = np.array([reported[d] for d in m["matched_detected"].tolist()], dtype=np.int64)
        rows.append(pd.DataFrame({"record": k, "beat": m["matched_reference"], "detected": m["matched_detected"],
                                  "reported_at": rep}))
    table = pd.concat(rows, ignore_index=True)
    at_end = table.reported_at < 0
    table = table[~at_end].reset_index(drop=True)
    print(f"streamed {len(names)} records at once in {chunk_s * 1000:.0f} ms chunks: {len(table)} beats matched "
          f"and reported live ({int(at_end.sum())} more reported only by the final flush, left out)", flush=True)
    det = pool.streams[0]
    table["delay_s"] = (table.reported_at - table.beat) / FS
    table["detected_delay_s"] = (table.reported_at - table.detected) / FS
    table["bound_s"] = det.latency_s + chunk_s
    return table


def stream_speed(signal: np.ndarray, streams: dict, chunk_s: float = CHUNK_S) -> pd.DataFrame:
    """Throughput and compute per chunk of each stream (name to streaming object) on ``signal``, one stream.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``latency_s``, ``x_real_time``, ``median_ms_per_chunk``, ``p99_ms_per_chunk``,
        ``max_ms_per_chunk``, ``chunk_ms``.
    """
    rows = []
    for name, stream in streams.items():
        run_stream(stream, signal[: int(20 * stream.fs)], chunk_s)  # warm-up
        run = run_stream(stream, signal, chunk_s)
        ms = 1000 * run.compute_s[:-1]
        rows.append({"model": name, "latency_s": stream.latency_s, "x_real_time": run.x_real_time,
                     "median_ms_per_chunk": float(np.median(ms)), "p99_ms_per_chunk": float(np.percentile(ms, 99)),
                     "max_ms_per_chunk": float(ms.max()), "chunk_ms": 1000 * chunk_s})
        print(f"{name}: {run.x_real_time:.0f}x real time", flush=True)
    return pd.DataFrame(rows)


@torch.no_grad()
def batch_denoised(model: CausalLSTMDenoiser, signals: dict) -> dict:
    """The streaming denoiser's output for whole signals, many streams at once (for scoring many records quickly).

    The causal LSTM runs over each whole signal in one call, one row per signal, with the stream's end held at its
    last value for the look-ahead, as :meth:`ecgutils.streaming.StreamingDenoiser.flush` does: the same output as
    one stream per signal up to the last bits of a float (the tests compare both).

    Parameters
    ----------
    model : CausalLSTMDenoiser
    signals : dict
        Name to signal (mV, at ``model.fs``); signals of the same length run together.

    Returns
    -------
    dict
        Name to the denoised signal (float32, mV, same length).
    """
    out = {}
    for n in sorted({len(s) for s in signals.values()}):
        names = [k for k, s in signals.items() if len(s) == n]
        total = (-(-n // model.frame) + model.lookahead) * model.frame
        x = np.stack([np.pad(np.asarray(signals[k], dtype=np.float32), (0, total - n), mode="edge") for k in names])
        y = model(torch.as_tensor(x)).numpy()
        out.update({k: y[i, :n] for i, k in enumerate(names)})
    return out


def nstdb_denoising(denoisers: dict, levels=NSTDB_LEVELS, progress: bool = True, start_s: float = 0.0,
                    **fetch_kwargs) -> pd.DataFrame:
    """SNR improvement on the NSTDB noisy segments (test half), streaming and offline denoisers side by side.

    Parameters
    ----------
    denoisers : dict
        Label to a :class:`StreamingDenoiser` at 360 Hz (run over each whole record from its first sample, all
        records at once: :func:`batch_denoised`, then cut into the test windows), or to a method of
        :func:`ecgutils.inference.denoise_windows` (``"lstm"``, ``"bandpass"``, ``"identity"``) or a
        ``(method, checkpoint)`` pair, run on the windows as notebook 02 does.
    progress : bool
        Print a line per record scored.
    start_s : float
        Where the streaming denoisers start on each record, s (at most 903: the scored windows start at 15:03).

    Returns
    -------
    pandas.DataFrame
        One row per (level, method): ``snr_in``, ``snr_imp`` (dB), ``rmse`` (mV), ``cosine``, averaged over the
        windows of 118 and 119.
    """
    cases = load_cases(levels, **fetch_kwargs)
    records = {c.name: read_record(c.name, db="nstdb", **fetch_kwargs).signal for c in cases}
    a = int(start_s * FS)
    streamed = {}
    for label, how in denoisers.items():
        if isinstance(how, StreamingDenoiser):
            if how.fs != how.model.fs:
                raise ValueError(f"{label}: the NSTDB records are at {how.model.fs:g} Hz; pass a "
                                 f"StreamingDenoiser(fs={how.model.fs:g})")
            streamed[label] = batch_denoised(how.model, {k: v[a:] for k, v in records.items()})
    rows = []
    for i, case in enumerate(cases):
        starts = segment_starts(len(records[case.name]), True, WINDOW, True)  # the windows of case.noisy
        span = case.clean.x.max(-1, keepdims=True) - case.clean.x.min(-1, keepdims=True)
        for label, how in denoisers.items():
            if label in streamed:
                est = np.stack([streamed[label][case.name][s - a:s - a + WINDOW] for s in starts])
            else:
                method, ckpt = how if isinstance(how, tuple) else (how, None)
                est = denoise_windows(case.noisy, fs=FS, method=method, checkpoint=ckpt)
            m = denoising_metrics(case.clean.x, est, case.noisy, span)
            rows.append(m.mean(numeric_only=True).to_frame().T.assign(level=case.level, record=case.name,
                                                                       method=label))
        if progress:
            print(f"NSTDB denoising: record {i + 1} of {len(cases)} ({case.name}) scored", flush=True)
    table = pd.concat(rows, ignore_index=True)
    return table.groupby(["level", "method"], sort=False)[["snr_in", "snr_imp", "rmse", "cosine"]].mean().reset_index()


def report(test_records, models: dict, chunk_s: float = CHUNK_S, progress: bool = True) -> dict:
    """The real-time evaluation ``make bench`` prints: the streaming models on the protocol's test cases.

    Parameters
    ----------
    test_records : sequence of str
        Scored whole (detection) and for the report delays.
    models : dict
        ``{"stream_detector": ckpt, "stream_denoiser": ckpt, "lstm": ckpt}``; ``None``: the shipped model. The
        offline LSTM and the band-pass filter are scored beside the streaming denoiser.
    chunk_s : float
        Chunk of the latency and speed measurements, s.

    Returns
    -------
    dict of pandas.DataFrame
        ``stream_detection_clean``, ``stream_detection_nstdb`` (detector ``gru stream``, many records at a time),
        ``stream_denoising_nstdb``,
        ``stream_latency`` (report delays: percentiles and the bound) and ``stream_speed``.
    """
    # scored many records at a time (the same peaks as one stream each: tests/test_streaming.py); the latency and the
    # speed below are measured on the streaming object itself
    net = checkpoints.resolve("stream_detector", models.get("stream_detector"))
    tables = detection_tables({"gru stream": net}, test_records, progress)
    den = StreamingDenoiser(fs=FS, checkpoint=models.get("stream_denoiser"))
    denoising = nstdb_denoising({"stream lstm": den, "lstm": ("lstm", models.get("lstm")), "bandpass": "bandpass"},
                                progress=progress)
    signals, refs = read_records(test_records)
    delays = report_delays(signals, refs, models.get("stream_detector"), chunk_s)
    d = delays.delay_s
    latency = pd.DataFrame([{"beats": len(d), "median_s": d.median(), "p99_s": d.quantile(0.99), "max_s": d.max(),
                             "latency_s": float(delays.bound_s.iloc[0]) - chunk_s, "chunk_s": chunk_s,
                             "late_beats": int((delays.detected_delay_s > delays.bound_s).sum()),
                             "later_than_bound_after_reference": int((d > delays.bound_s).sum())}])
    first = signals[list(signals)[0]][: 10 * 60 * FS]
    speed = stream_speed(first, {"stream detector": StreamingDetector(fs=FS, checkpoint=models.get("stream_detector")),
                                 "stream denoiser": den}, chunk_s)
    return {"stream_detection_clean": tables["clean"], "stream_detection_nstdb": tables["nstdb"],
            "stream_denoising_nstdb": denoising, "stream_latency": latency, "stream_speed": speed}
