"""CSV exports, written atomically: a temporary file in the same folder, then a rename, so an interrupted run
never leaves a half-written CSV under the final name. :func:`export_recording` does one recording end to end,
:func:`annotate_folder` a whole folder, on the local cores or a Dask cluster (``python -m ecgutils annotate``)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ecgutils.io.records import read_record
from ecgutils.io.files import atomic_path
from ecgutils.inference import denoise, detect_r_peaks, signal_quality
from ecgutils.models.runtime import threads


def write_csv(df: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """``df.to_csv(path, **kwargs)``, atomically (:func:`ecgutils.io.files.atomic_path`)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)
    return path


def sample_table(noisy: np.ndarray, denoised: np.ndarray, peaks: np.ndarray, *, fs: float,
                 clean: np.ndarray | None = None, confidence: np.ndarray | None = None,
                 quality: np.ndarray | None = None) -> pd.DataFrame:
    """The sample-level export: one row per sample.

    Parameters
    ----------
    noisy, denoised : ndarray, shape (n,)
        mV.
    peaks : ndarray of int
        Detected R-peak sample indices.
    fs : float
        Sampling rate, Hz.
    clean : ndarray, shape (n,), optional
        The clean reference, when there is one.
    confidence : ndarray, shape (n_peaks,), optional
        Each peak's confidence in [0, 1] (:func:`ecgutils.inference.detect_r_peaks`, ``return_confidence=True``).
    quality : ndarray, shape (ceil(n / fs),), optional
        Each second's signal quality in [0, 1] (:func:`ecgutils.inference.signal_quality`).

    Returns
    -------
    pandas.DataFrame
        ``time_s``, ``noisy_mV``, ``denoised_mV`` (``clean_mV``), ``R_peak`` (1 at detected peaks, else 0); with
        ``confidence``: that column at the peaks (empty elsewhere); with ``quality``: its second's quality.
    """
    n = len(noisy)
    r = np.zeros(n, dtype=np.int8)
    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) and (peaks.min() < 0 or peaks.max() >= n):
        raise ValueError("peak indices outside the signal")
    r[peaks] = 1
    cols = {"time_s": np.round(np.arange(n) / fs, 6), "noisy_mV": np.round(noisy, 5),
            "denoised_mV": np.round(denoised, 5)}
    if clean is not None:
        cols["clean_mV"] = np.round(clean, 5)
    cols["R_peak"] = r
    if confidence is not None:
        cols["confidence"] = np.full(n, np.nan)
        cols["confidence"][peaks] = np.round(np.asarray(confidence, dtype=np.float64), 4)
    if quality is not None:
        cols["quality"] = np.round(np.asarray(quality, dtype=np.float64), 4)[np.arange(n) // int(round(fs))]
    return pd.DataFrame(cols)


def windows_table(record: np.ndarray, window_start: np.ndarray, centre_start: np.ndarray, window_index: np.ndarray,
                  labels: np.ndarray, prob: np.ndarray, threshold: float = 0.5, *, fs: float) -> pd.DataFrame:
    """The classifier's test windows, one row per 0.25 s segment, with the ``R_peak`` decision.

    Parameters
    ----------
    record, window_start : ndarray, shape (n_windows,)
        Record and first sample of each 10 s window.
    centre_start, window_index : ndarray, shape (n_segments,)
        From :func:`ecgutils.data.windows.cut_segments`: first sample of each segment (from its window's start) and
        the window it belongs to.
    labels, prob : ndarray, shape (n_segments,)
        Reference label (1: a reference R-peak in the segment) and the classifier's probability.
    threshold : float
        Decision threshold on the probability.
    fs : float
        The windows' sampling rate, Hz.

    Returns
    -------
    pandas.DataFrame
        ``record``, ``start_sample`` (in the record), ``start_s``, ``reference``, ``probability``, ``R_peak``.
    """
    start = window_start[window_index] + centre_start
    return pd.DataFrame({
        "record": record[window_index], "start_sample": start, "start_s": np.round(start / fs, 4),
        "reference": labels.astype(np.int8), "probability": np.round(prob, 4),
        "R_peak": (prob >= threshold).astype(np.int8),
    })


def read_signal(source: str | Path, *, fs: float | None, column: str | None = None,
                lead: str = "MLII") -> tuple[np.ndarray, float]:
    """Read one lead from a WFDB record (path without extension) or a CSV of samples.

    Parameters
    ----------
    source : path
        ``rec`` (with ``rec.hea`` beside it) or ``samples.csv``.
    fs : float or None
        Required: the sampling rate of a CSV, Hz; ``None`` for a WFDB record, whose header gives it (a number must
        then agree with the header).
    column : str or int, optional
        CSV column holding the signal in mV (default: the first numeric column that is not a time column). A CSV
        without a header row (its first line is numbers) has columns 0, 1, ...: one column is the signal, of
        several name one.
    lead : str
        WFDB signal name.

    Returns
    -------
    signal : ndarray, shape (n,), float32, mV
    fs : float
        Hz: the CSV's, or the WFDB header's (the models resample inside: no rate is imposed on the recording).
    """
    source = Path(source)
    if source.suffix.lower() == ".csv":
        if fs is None:
            raise ValueError(f"{source.name} is a CSV: pass its sampling rate, fs=<Hz>")
        first = pd.read_csv(source, header=None, nrows=1)
        headerless = all(pd.api.types.is_numeric_dtype(first[c]) for c in first.columns)  # line 1 is samples
        df = pd.read_csv(source, header=None if headerless else "infer")
        if headerless:
            if column is None and df.shape[1] > 1:
                raise ValueError(f"{source.name} has no header row and {df.shape[1]} columns: pass column=<index> "
                                 "of the signal (0 is the first)")
            if column is not None and not str(column).isdigit():
                raise ValueError(f"{source.name} has no header row, so no column names: pass column=<index> (0 is "
                                 "the first)")
            column = None if column is None else int(column)
        if column is None:
            numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])
                       and not str(c).lower().startswith(("time", "t_", "sample"))]
            if not numeric:
                raise ValueError(f"{source.name} has no numeric signal column; pass column=<name>")
            column = numeric[0]
        elif column not in df.columns:
            raise ValueError(f"{source.name} has no column {column!r}; columns: {', '.join(map(str, df.columns))}")
        return df[column].to_numpy(dtype=np.float32), float(fs)
    base = source.with_suffix("") if source.suffix == ".hea" else source
    rec = read_record(str(base), lead=lead, keep_rate=True)  # at the header's rate, as a CSV at its own
    if fs is not None and float(fs) != rec.original_fs:
        raise ValueError(f"{base.name}'s header says {rec.original_fs:g} Hz, not fs={fs:g}: pass fs=None for a WFDB "
                         "record")
    return rec.signal, rec.fs


def export_recording(source: str | Path, out: str | Path, *, fs: float | None, column: str | None = None,
                     lead: str = "MLII", denoiser=None, detector=None, overwrite: bool = False) -> pd.DataFrame:
    """Denoise a recording, detect its R-peaks and write the sample-level CSV.

    Parameters
    ----------
    source : path
        A WFDB record (path without extension) or a CSV of samples.
    out : path
        The CSV to write (atomically).
    fs : float or None
        Required: the CSV's sampling rate, Hz, or ``None`` for a WFDB record (its header gives the rate).
    column, lead :
        As :func:`read_signal`.
    denoiser, detector : path or nn.Module, optional
        Default: the shipped reference models.
    overwrite : bool
        Replace ``out`` if it exists (never the recording itself); default: refuse.

    Returns
    -------
    pandas.DataFrame
        ``time_s``, ``noisy_mV`` (the input), ``denoised_mV``, ``R_peak``, ``confidence`` (each peak's, from the
        detector on the denoised signal), ``quality`` (the input's, per second: :func:`signal_quality`); one row
        per sample of the recording, at its own rate (the CSV's ``fs``, or the WFDB header's).
    """
    out, src = Path(out), Path(source)
    own = [src] if src.suffix.lower() == ".csv" else [src.with_suffix(ext) for ext in (".hea", ".dat")]
    if out.exists() and any(p.exists() and out.samefile(p) for p in own):
        raise ValueError(f"{out} is the recording itself: write the export under another name")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists: pass overwrite=True to replace it, or choose another name")
    x, fs = read_signal(source, fs=fs, column=column, lead=lead)
    y = denoise(x, fs=fs, checkpoint=denoiser)
    peaks, conf = detect_r_peaks(y, fs=fs, checkpoint=detector, return_confidence=True)
    table = sample_table(x, y, peaks, fs=fs, confidence=conf, quality=signal_quality(x, fs=fs))
    write_csv(table, out, index=False)
    return table


@dataclass
class FolderRun:
    """What :func:`annotate_folder` did: the CSVs it wrote, the ones already there, and the recordings it could
    not annotate (path to the error, as one line)."""

    written: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)


def recordings(in_dir: str | Path) -> list:
    """The recordings of a folder: WFDB records (one per ``.hea``, path without extension) and CSV files, by name."""
    in_dir = Path(in_dir)
    if not in_dir.is_dir():
        raise FileNotFoundError(f"{in_dir} is not a folder of recordings (WFDB .hea/.dat or .csv files)")
    found = sorted([p.with_suffix("") for p in in_dir.glob("*.hea")] + list(in_dir.glob("*.csv")))
    stems = [p.stem for p in found]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)}: both a WFDB record and a CSV would write the same output; "
                         "move one of them")
    return found


def _annotate_one(source: Path, out: Path, *, fs: float | None, column: str | None, lead: str) -> str | None:
    """One recording to its CSV with one PyTorch thread (workers share the cores); the error as a line, or None."""
    try:
        with threads(1):
            export_recording(source, out, fs=fs if source.suffix.lower() == ".csv" else None, column=column,
                             lead=lead)
        return None
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others; each is reported
        return f"{type(exc).__name__}: {exc}"


def annotate_folder(in_dir: str | Path, out_dir: str | Path, *, fs: float | None, column: str | None = None,
                    lead: str = "MLII", n_jobs: int = -1, scheduler: str | None = None,
                    progress: bool = True) -> FolderRun:
    """:func:`export_recording` for every recording of a folder, in parallel: one CSV each in ``out_dir``.

    Runs on the local cores (``joblib``, ``n_jobs`` processes), or on a Dask cluster through joblib's Dask backend
    (``scheduler``: the scheduler's address): the same code either way. Outputs already there are skipped (a rerun
    does only what is left), each CSV is written atomically, and a recording that cannot be read or annotated is
    reported in :attr:`FolderRun.failed` without stopping the others.

    Parameters
    ----------
    in_dir, out_dir : path
        The recordings (:func:`recordings`) and where ``<name>.csv`` go.
    fs : float or None
        The CSV files' sampling rate, Hz (required when there are CSV files; WFDB headers carry their own).
    column, lead : str
        As :func:`read_signal`.
    n_jobs : int
        Local worker processes (-1: one per core); ignored with ``scheduler``.
    scheduler : str, optional
        A Dask scheduler's address (``tcp://host:8786``): run on that cluster.
    progress : bool
        A progress bar.

    Returns
    -------
    FolderRun
    """
    sources, out_dir = recordings(in_dir), Path(out_dir)
    if fs is None and any(p.suffix.lower() == ".csv" for p in sources):
        raise ValueError(f"{in_dir} holds CSV files: pass their sampling rate (fs=<Hz>, --fs on the command line)")
    run = FolderRun()
    todo = []
    for src in sources:
        out = out_dir / f"{src.stem}.csv"
        (run.skipped if out.exists() else todo).append((src, out))
    run.skipped = [out for _, out in run.skipped]
    with _backend(scheduler, n_jobs):
        results = joblib.Parallel(return_as="generator")(
            joblib.delayed(_annotate_one)(src, out, fs=fs, column=column, lead=lead) for src, out in todo)
        for (src, out), error in tqdm(zip(todo, results), total=len(todo), desc="recordings", disable=not progress):
            if error is None:
                run.written.append(out)
            else:
                run.failed[src] = error
    return run


@contextmanager
def _backend(scheduler: str | None, n_jobs: int):
    """joblib's local processes, or its Dask backend on the cluster at ``scheduler``."""
    if scheduler is None:
        with joblib.parallel_config(backend="loky", n_jobs=n_jobs):
            yield
        return
    from distributed import Client  # only a cluster run needs Dask

    with Client(scheduler), joblib.parallel_config(backend="dask"):
        yield


def summary_metrics(denoising: pd.DataFrame, detection: pd.DataFrame, classifier: pd.DataFrame) -> pd.DataFrame:
    """One long table of every figure of merit, one row per (task, case, model).

    Parameters
    ----------
    denoising : pandas.DataFrame
        ``denoising_summary.csv`` (notebook 02).
    detection : pandas.DataFrame
        ``detection_summary.csv`` (notebook 03).
    classifier : pandas.DataFrame
        ``classifier_metrics.csv`` (notebook 03).

    Returns
    -------
    pandas.DataFrame
        ``task``, ``case``, ``model`` and the task's own metrics (dB, mV, % as named).
    """
    rows = []
    for _, r in denoising.iterrows():
        rows.append({"task": "denoising", "case": r.case, "model": r.method, "SNR in (dB)": r.snr_in,
                     "SNR improvement (dB)": r.snr_imp, "SNR out (dB)": r.snr_out, "RMSE (mV)": r.rmse,
                     "MAE (mV)": r.mae, "MSE [0,1]": r.mse_unit, "PRD (%)": r.prd, "cosine": r.cosine})
    for _, r in detection.iterrows():
        case = r.case if pd.isna(r.get("snr")) else f"{r.case} @ {r.snr:g} dB"
        if isinstance(r.get("span"), str):
            case += f" ({r.span})"
        rows.append({"task": "R-peak detection", "case": case, "model": r.detector, "Se (%)": r.gross_se,
                     "+P (%)": r.gross_ppv, "F1 (%)": r.gross_f1, "DER (%)": r.gross_der,
                     "median |error| (ms)": r.median_abs_error_ms})
    for _, r in classifier.iterrows():
        rows.append({"task": "window classification", "case": r["input"], "model": "gru classifier",
                     "accuracy": r.accuracy, "precision": r.precision, "recall": r.recall, "F1": r.f1,
                     "ROC-AUC": r.roc_auc})
    return pd.DataFrame(rows)
