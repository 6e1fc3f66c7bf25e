"""Throughput (issue 23): streaming one stream and a pool of 100, offline 10 s records batched or one by one, and a
folder of recordings with 1 and 2 worker processes. Real-time factors (x real time: seconds of ECG per second of
compute) on this machine, beside its load average (the figures mean little on a busy machine; say how busy it was).

``make bench`` prints this table too (``benchmark_throughput.csv``) and checks its targets; it measures it in a
fresh Python process (:func:`throughput_in_fresh_process`): inside the benchmark's own process, after an hour of
scoring, the single streams ran at about 55 % of their speed in a new one (issue 23; cause not found), and a user's
stream runs in its own process.

Usage::

    python -m ecgutils.evaluation.throughput            # about 4 minutes (folder: 48 records cut to 10 min)
    python -m ecgutils.evaluation.throughput --folder-seconds 0   # the folder on the 48 whole records (long)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from ecgutils.constants import FS
from ecgutils.data.splits import DS1, DS2, PACED
from ecgutils.dsp.resampling import resample
from ecgutils.evaluation.realtime import run_stream
from ecgutils.export import annotate_folder
from ecgutils.inference import detect_r_peaks
from ecgutils.io.fetch import DataError
from ecgutils.io.records import read_record
from ecgutils.models.runtime import threads
from ecgutils.streaming import StreamingDenoiser, StreamingDetector, StreamPool

#: Seconds of each record in the folder benchmark: long enough that a worker's start-up (a few seconds: a process,
#: PyTorch, the model) is small beside its work, as it is for a real collection (with 120 s records it is a third).
FOLDER_SECONDS = 600.0
#: Issue 23's targets, x real time.
TARGETS = {"stream 100 ms": 400.0, "stream 1 s": 1500.0, "pool of 100, per stream": 10.0, "offline batched": 2000.0,
           "folder 2 workers / 1": 1.7}


def _row(task: str, setting: str, seconds_of_ecg: float, compute_s: float, target_key: str | None = None) -> dict:
    return {"task": task, "setting": setting, "x_real_time": seconds_of_ecg / compute_s, "compute_s": compute_s,
            "target": TARGETS.get(target_key, np.nan), "load_avg_1min": os.getloadavg()[0]}


def stream_rows(signal: np.ndarray, repeats: int = 3) -> list:
    """One stream of each model in 100 ms and 1 s chunks (``signal`` mV at 360 Hz); the best of ``repeats`` runs
    (as :mod:`timeit` reports: the others were slowed by something else on the machine)."""
    rows = []
    for name, stream in (("detector", StreamingDetector(fs=FS)), ("denoiser", StreamingDenoiser(fs=FS))):
        for chunk_s, key in ((0.1, "stream 100 ms"), (1.0, "stream 1 s")):
            run_stream(stream, signal[:10 * FS], chunk_s)  # warm-up
            best = min(float(run_stream(stream, signal, chunk_s).compute_s.sum()) for _ in range(repeats))
            rows.append(_row(f"stream {name}", f"one stream, {chunk_s:g} s chunks, best of {repeats}",
                             len(signal) / FS, best, key))
    x250 = resample(signal, fs_in=FS, fs_out=250)  # a stream at another rate: its resampler's cost
    stream = StreamingDetector(fs=250)
    run_stream(stream, x250[:2500], 0.1)
    best = min(float(run_stream(stream, x250, 0.1).compute_s.sum()) for _ in range(repeats))
    rows.append(_row("stream detector", f"one stream at 250 Hz (resampled inside), 0.1 s chunks, best of {repeats}",
                     len(signal) / FS, best))
    return rows


def pool_rows(signals: list, chunk_s: float = 0.1, repeats: int = 2) -> list:
    """``len(signals)`` streams of each model in one :class:`StreamPool`, one thread: each stream's x real time
    (the best of ``repeats`` runs)."""
    rows = []
    chunk = int(chunk_s * FS)
    n = min(len(s) for s in signals)
    for name, cls in (("detector", StreamingDetector), ("denoiser", StreamingDenoiser)):
        pool = StreamPool(cls, len(signals), fs=FS)
        pool.push([s[:chunk] for s in signals])  # warm-up
        best = np.inf
        for _ in range(repeats):
            pool.reset()
            t0 = time.perf_counter()
            for i in range(0, n, chunk):
                pool.push([s[i:i + chunk] for s in signals])
            pool.flush()
            best = min(best, time.perf_counter() - t0)
        rows.append(_row(f"stream {name}", f"pool of {len(signals)}, {chunk_s:g} s chunks, per stream, best of "
                         f"{repeats}", n / FS, best, "pool of 100, per stream"))
    return rows


def offline_rows(records: list, unbatched: int = 60) -> list:
    """``detect_r_peaks`` on 10 s records (mV at 360 Hz): all in one call, and one call each (the first
    ``unbatched``), with one PyTorch thread."""
    with threads(1):
        detect_r_peaks(records[:2], fs=FS)  # warm-up
        t0 = time.perf_counter()
        detect_r_peaks(records, fs=FS)
        batched = time.perf_counter() - t0
        t0 = time.perf_counter()
        for x in records[:unbatched]:
            detect_r_peaks(x, fs=FS)
        single = time.perf_counter() - t0
    return [_row("offline detect_r_peaks", f"{len(records)} records of 10 s, one call", 10.0 * len(records), batched,
                 "offline batched"),
            _row("offline detect_r_peaks", f"{unbatched} records of 10 s, one call each", 10.0 * unbatched, single)]


def folder_rows(names, seconds: float, workers=(1, 2)) -> list:
    """``annotate_folder`` on MIT-BIH records (cut to ``seconds``; 0: whole) with 1 and 2 local worker processes."""
    rows, times = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        total = 0.0
        for name in names:
            x = _signal(name)
            x = x[:int(seconds * FS)] if seconds else x
            total += len(x) / FS
            wfdb.wrsamp(name, fs=FS, units=["mV"], sig_name=["MLII"], p_signal=x[:, None].astype(np.float64),
                        fmt=["16"], write_dir=str(src))
        for n in workers:
            t0 = time.perf_counter()
            run = annotate_folder(src, Path(tmp) / f"out{n}", fs=None, n_jobs=n, progress=False)
            times[n] = time.perf_counter() - t0
            if run.failed:
                raise RuntimeError(f"the folder benchmark failed on {run.failed}")
            rows.append(_row("folder annotate", f"{len(names)} records, {n} worker(s)", total, times[n]))
    rows[-1]["speedup_vs_1"] = times[workers[0]] / times[workers[-1]]
    rows[-1]["target"] = TARGETS["folder 2 workers / 1"]
    return rows


def _signal(name: str) -> np.ndarray:
    """MLII of an MIT-BIH record, or V5 (102 and 104 have no MLII)."""
    try:
        return read_record(name).signal
    except DataError:
        return read_record(name, lead="V5").signal


def throughput_table(folder_seconds: float = FOLDER_SECONDS) -> pd.DataFrame:
    """Every throughput figure of issue 23 on MIT-BIH signals (record 100 for one stream; 100 streams from 48
    records; 360 10 s records; the 48 records as a folder)."""
    names = sorted(DS1 + DS2 + PACED)  # the 48 MIT-BIH records (speed only: nothing is scored)
    signals = {n: _signal(n) for n in names}
    first = signals[names[0]][:120 * FS]
    streams = [signals[names[i % len(names)]][(i // len(names)) * 30 * FS:][:30 * FS] for i in range(100)]
    tens = [s[j * 10 * FS:(j + 1) * 10 * FS] for s in signals.values() for j in range(8)][:360]
    rows = stream_rows(first) + pool_rows(streams) + offline_rows(tens) + folder_rows(names, folder_seconds)
    return pd.DataFrame(rows)


def throughput_in_fresh_process(folder_seconds: float = FOLDER_SECONDS) -> pd.DataFrame:
    """:func:`throughput_table` measured in a new Python process (this module run as a script), as a user's
    program would run it, whatever this process has done before."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "throughput.csv"
        subprocess.run([sys.executable, "-m", "ecgutils.evaluation.throughput", "--folder-seconds",
                        str(folder_seconds), "--csv", str(out)], check=True)
        return pd.read_csv(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder-seconds", type=float, default=FOLDER_SECONDS,
                        help="cut each record of the folder benchmark to this many seconds (0: whole records)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    table = throughput_table(args.folder_seconds)
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
    pd.set_option("display.width", 160)
    print(f"CPU cores: {os.cpu_count()}\n{table.to_string(index=False, float_format=lambda v: f'{v:.3g}')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
