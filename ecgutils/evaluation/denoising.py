"""The denoising experiment of notebook 02 and the benchmark: train the LSTM and the CNN, build the test cases,
score every denoiser on exactly the same windows.

Test cases, all on test records and test-half noise only:

* ``classic``: Gaussian sigma = 0.05 on the [0, 1] window scale (stored by notebook 01), and ``classic published``
  at the sigma whose noisy MSE is the published starting point (0.0123);
* ``<kind>`` at ``-6 ... 24`` dB for kind in gaussian, bw, em, ma, mixed;
* ``none``: no added noise (do no harm);
* the second lead (:func:`second_lead_report`): the records' other lead, noise-free and with em, ma and mixed noise;
* NSTDB: the 12 real noisy records, noisy segments, against the clean 118 / 119 (and their clean segments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecgutils.constants import FS
from ecgutils.data.augment import other_lead_windows
from ecgutils.data.store import WindowStore
from ecgutils.inference import denoise_windows
from ecgutils.evaluation.metrics import baseline_share_db, denoising_metrics, summarise_denoising
from ecgutils.data.noise import KINDS, SNR_LEVELS, NoiseBank, make_noise
from ecgutils.data.nstdb import LEVEL_OFFSET_DB, NSTDBCase, load_cases
from ecgutils.data.splits import NSTDB_LEVELS



@dataclass
class Case:
    """One test case: clean and noisy windows (mV) with the [0, 1] scale of each clean window."""

    name: str
    kind: str
    snr_nominal: float
    clean: np.ndarray
    noisy: np.ndarray
    span: np.ndarray


# --------------------------------------------------------------------------------------------- cases
#: Gaussian sigma (on the [0, 1] window scale) whose noisy MSE is the published starting point of the classic task
#: (MSE 0.0123 -> 0.0045): E[MSE] = sigma^2, so sigma = sqrt(0.0123).
PUBLISHED_SIGMA = float(np.sqrt(0.0123))


def synthetic_cases(ds: WindowStore, bank: NoiseBank, seed: int = 0, kinds=KINDS, levels=SNR_LEVELS,
                    split: str = "test") -> list[Case]:
    """The synthetic cases on the test windows (test-half noise), deterministic for a seed.

    ``classic`` is the stored Gaussian sigma = 0.05 set (notebook 01); ``classic published`` uses
    :data:`PUBLISHED_SIGMA`, so the classic task can be compared like for like with the published figures.
    ``split="val"`` builds the same cases on the validation windows with training-half noise: where design choices
    are made (``scripts/loss_sweep.py``), never on the test cases.
    """
    if split not in ("test", "val"):
        raise ValueError(f"unknown split {split!r}; valid options: test, val")
    part = "test" if split == "test" else "train"
    t = ds[split]
    clean, span = t.windows.x, t.span
    published = clean + make_noise(clean, "gaussian", np.random.default_rng([seed, 99]), sigma=PUBLISHED_SIGMA)
    return [Case("classic", "gaussian sigma=0.05", float("nan"), clean, t.gaussian, span),
            Case("classic published", f"gaussian sigma={PUBLISHED_SIGMA:.3f}", float("nan"), clean, published, span),
            *noisy_cases(clean, span, bank, seed, kinds, levels, part)]


def noisy_cases(clean: np.ndarray, span: np.ndarray, bank: NoiseBank, seed: int, kinds, levels, part: str,
                prefix: str = "") -> list[Case]:
    """``none`` (no added noise) and ``<kind>@<snr>`` for every kind and level, each name after ``prefix``.

    Parameters
    ----------
    clean : ndarray, shape (n_windows, n_samples)
        mV.
    span : ndarray, shape (n_windows, 1)
        Each clean window's range (its [0, 1] scale), mV.
    bank : NoiseBank
    seed : int
        Seeds each (kind, level) case's noise.
    kinds, levels : sequence
        Noise kinds (:data:`ecgutils.data.noise.KINDS`) and SNRs (dB).
    part : {"train", "test"}
        The noise recordings' half.
    prefix : str
        Before each case's name (e.g. ``"second lead "``).
    """
    cases = [Case(f"{prefix}none", "none", float("inf"), clean, clean.copy(), span)]
    for i, kind in enumerate(kinds):
        for snr in levels:
            rng = np.random.default_rng([seed, i, int(snr) + 100])
            noisy = clean + make_noise(clean, kind, rng, snr=snr, bank=bank, part=part)
            cases.append(Case(f"{prefix}{kind}@{snr}", kind, float(snr), clean, noisy, span))
    return cases


def nstdb_cases(cases: list[NSTDBCase], noisy_segments: bool = True) -> list[Case]:
    """The NSTDB records as :class:`Case` objects (``kind`` ``nstdb`` or ``nstdb-clean``)."""
    out = []
    for c in cases:
        span = c.clean.x.max(-1, keepdims=True) - c.clean.x.min(-1, keepdims=True)
        kind = "nstdb" if noisy_segments else "nstdb-clean"
        out.append(Case(c.name, kind, float(c.level), c.clean.x, c.noisy, span))
    return out


def evaluate(cases: list[Case], methods: dict, progress: bool = False) -> pd.DataFrame:
    """Score every method on every case; one row per (case, method, window).

    Parameters
    ----------
    cases : list of Case
    methods : dict
        Label to checkpoint, where the label is a method of :func:`ecgutils.inference.denoise_windows`
        (``identity``, ``bandpass``, ``lstm``, ``cnn``) optionally followed by a note in brackets, e.g.
        ``{"lstm": path, "lstm (reference)": None}``; ``None``: the shipped reference model (or, for the filters,
        nothing).

    Returns
    -------
    pandas.DataFrame
        ``case``, ``kind``, ``snr_nominal``, ``method``, ``window`` and the columns of
        :func:`ecgutils.evaluation.metrics.denoising_metrics`.
    """
    frames = []
    for i, case in enumerate(cases):
        if progress and (i % 10 == 0 or i == len(cases) - 1):
            print(f"denoising: case {i + 1} of {len(cases)} ({case.name})", flush=True)
        for name, ckpt in methods.items():
            est = denoise_windows(case.noisy, fs=FS, method=name.split(" (")[0], checkpoint=ckpt)
            m = denoising_metrics(case.clean, est, case.noisy, case.span)
            m.insert(0, "window", np.arange(len(m)))
            m.insert(0, "method", name)
            m.insert(0, "snr_nominal", case.snr_nominal)
            m.insert(0, "kind", case.kind)
            m.insert(0, "case", case.name)
            frames.append(m)
    return pd.concat(frames, ignore_index=True)


def report(ds: WindowStore, bank: NoiseBank, models: dict, seed: int = 0, progress: bool = True,
           levels=SNR_LEVELS, nstdb_levels=NSTDB_LEVELS) -> dict:
    """The whole denoising evaluation: what notebook 02 shows and ``make bench`` prints.

    Parameters
    ----------
    ds : WindowStore
    bank : NoiseBank
    models : dict
        ``{"lstm": checkpoint, "cnn": checkpoint}`` (``None``: the shipped reference model); the identity and the
        band-pass are always scored.
    seed : int
        Seeds the synthetic cases.
    levels, nstdb_levels : tuple
        SNR of the synthetic cases (dB) and NSTDB levels scored (a profile's ``evaluation``); default all.

    Returns
    -------
    dict of pandas.DataFrame
        ``per_window`` (every case, method and window), ``summary`` (:func:`summary_table`), ``harm_by_baseline``
        (:func:`harm_by_baseline`, binned), ``harm_windows`` (its per-window table) and ``harm_by_baseline_noisy``
        (:func:`improvement_by_baseline` at the :data:`DO_NO_HARM_LEVELS` scored).
    """
    methods = {"identity": None, "bandpass": None, **models}
    cases = synthetic_cases(ds, bank, seed, levels=levels) + nstdb_cases(load_cases(nstdb_levels))
    cases += nstdb_cases(load_cases(levels=(24,), noisy_segments=False), noisy_segments=False)
    per_window = evaluate(cases, methods, progress)
    t = ds.test
    noise_free = per_window[(per_window.case == "none") & (per_window.method != "identity")]
    windows, by_bin = harm_by_baseline(noise_free, t.windows.x, t.windows.record, fs=t.windows.fs)
    light = per_window[per_window.kind.isin(KINDS) & per_window.snr_nominal.isin(DO_NO_HARM_LEVELS)
                       & (per_window.method != "identity")]
    noisy_bins = improvement_by_baseline(light, t.windows.x, t.windows.record, fs=t.windows.fs)
    return {"per_window": per_window, "summary": summary_table(per_window), "harm_by_baseline": by_bin,
            "harm_windows": windows, "harm_by_baseline_noisy": noisy_bins}


#: Noise of the second-lead cases (:func:`second_lead_report`): kinds and SNRs (dB).
SECOND_LEAD_KINDS, SECOND_LEAD_LEVELS = ("em", "ma", "mixed"), (0, 6, 12)


def second_lead_report(ds: WindowStore, bank: NoiseBank, models: dict, seed: int = 0, split: str = "test",
                       progress: bool = False) -> dict:
    """The denoisers on the records' other lead (V1, V2, V4 or V5), cut at the times of the MLII windows.

    The models were trained on MLII; a user's recording may be any lead. The clean reference is that lead as
    recorded, its own baseline wander included, which on MIT-BIH's chest leads is a larger share of a window's
    power than on MLII (``harm_by_baseline`` tells the windows apart by it).

    Parameters
    ----------
    ds : WindowStore
    bank : NoiseBank
    models : dict
        As :func:`report`'s (``{"lstm": checkpoint, "cnn": checkpoint}``); the identity and the band-pass are
        always scored.
    seed : int
    split : {"test", "val"}
        The test windows with test-half noise, or the validation windows with training-half noise.
    progress : bool

    Returns
    -------
    dict of pandas.DataFrame
        ``summary`` (:func:`summary_table` of ``second lead none`` and ``second lead <kind>@<snr>`` for
        :data:`SECOND_LEAD_KINDS` at :data:`SECOND_LEAD_LEVELS`) and ``harm_by_baseline`` (noise-free output SNR by
        the window's own baseline, :func:`harm_by_baseline`).
    """
    if split not in ("test", "val"):
        raise ValueError(f"unknown split {split!r}; valid options: test, val")
    w = ds[split].windows
    clean = other_lead_windows(w.record, w.start, w.length)
    span = clean.max(-1, keepdims=True) - clean.min(-1, keepdims=True)
    part = "test" if split == "test" else "train"
    cases = noisy_cases(clean, span, bank, seed, SECOND_LEAD_KINDS, SECOND_LEAD_LEVELS, part, "second lead ")
    per_window = evaluate(cases, {"identity": None, "bandpass": None, **models}, progress)
    noise_free = per_window[(per_window.kind == "none") & (per_window.method != "identity")]
    _, by_bin = harm_by_baseline(noise_free, clean, w.record, fs=w.fs)
    return {"summary": summary_table(per_window), "harm_by_baseline": by_bin}


def summary_table(per_window: pd.DataFrame) -> pd.DataFrame:
    """Mean metrics per case and method (rmse recomputed from the mean MSE), with NSTDB's sample-power SNR."""
    s = summarise_denoising(per_window, by=["case", "kind", "snr_nominal", "method"]).reset_index()
    nst = s["kind"].str.startswith("nstdb")
    s.loc[nst, "snr_sample_power_nominal"] = s.loc[nst, "snr_nominal"] + LEVEL_OFFSET_DB
    return s


def improvement_pivot(summary: pd.DataFrame, value: str = "snr_imp") -> pd.DataFrame:
    """A wide table: rows (kind, nominal SNR), one column per method."""
    return summary.pivot_table(index=["kind", "snr_nominal"], columns="method", values=value, sort=False)


#: Added-noise SNRs (dB) of the do-no-harm checks (:func:`ecgutils.evaluation.targets.do_no_harm`), binned by the
#: windows' own baseline in :func:`report`.
DO_NO_HARM_LEVELS = (18, 24)
#: Bins of a window's own baseline wander, dB of the window's power (see :func:`harm_by_baseline`).
BASELINE_BINS = (-np.inf, -20.0, -10.0, -5.0, np.inf)

#: The column of a window's baseline bin in the tables of :func:`harm_by_baseline` and :func:`improvement_by_baseline`.
BIN_LABEL = "own baseline (dB of window power)"


def _own_baseline(clean: np.ndarray, records, *, fs: float, bins) -> pd.DataFrame:
    """``window``, ``record``, ``baseline_db`` and its bin (:data:`BIN_LABEL`), one row per clean window."""
    if len(records) != len(clean):
        raise ValueError(f"need one record name per window: {len(records)} records for {len(clean)} windows")
    base = pd.DataFrame({"window": np.arange(len(clean)), "record": np.asarray(records).astype(str),
                         "baseline_db": baseline_share_db(clean, fs=fs)})
    base[BIN_LABEL] = pd.cut(base["baseline_db"], list(bins))
    return base


def harm_by_baseline(per_window: pd.DataFrame, clean: np.ndarray, records, *, fs: float,
                     bins=BASELINE_BINS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Output SNR on noise-free input against each window's own baseline wander: where "do no harm" is lost.

    The clean reference is the raw record, baseline wander included. A denoiser trained to remove added
    baseline wander cannot tell a record's own wander from added wander of the same size, so it removes both,
    and is scored as if it had damaged the signal.

    Parameters
    ----------
    per_window : pandas.DataFrame
        Rows of :func:`evaluate` for the noise-free case (``case == "none"``), any number of methods.
    clean : ndarray, shape (n_windows, length)
        The case's clean windows, mV (row ``i`` is ``window == i``).
    records : sequence of str, length n_windows
        Record of each window.
    fs : float
        Sampling rate, Hz.
    bins : sequence of float
        Edges of the baseline bins, dB.

    Returns
    -------
    per_window_table : pandas.DataFrame
        ``record``, ``window``, ``baseline_db`` (:func:`ecgutils.evaluation.metrics.baseline_share_db`), ``method``,
        ``snr_out`` (dB).
    by_bin : pandas.DataFrame
        Mean output SNR (dB) per baseline bin (rows) and method (columns), with the number of windows.
    """
    base = _own_baseline(clean, records, fs=fs, bins=bins)
    table = per_window[["window", "method", "snr_out"]].merge(base, on="window")
    by_bin = table.pivot_table(index=BIN_LABEL, columns="method", values="snr_out", aggfunc="mean", observed=True)
    by_bin["windows"] = base.groupby(BIN_LABEL, observed=True).size()
    return table[["record", "window", "baseline_db", "method", "snr_out"]], by_bin


def improvement_by_baseline(per_window: pd.DataFrame, clean: np.ndarray, records, *, fs: float,
                            bins=BASELINE_BINS) -> pd.DataFrame:
    """SNR improvement with added noise against each window's own baseline wander: the do-no-harm checks at 18
    and 24 dB, bin by bin.

    With little added noise, the wander a denoiser removes from a record weighs as much as the noise it removes;
    in the windows with the least of their own, what is left is the denoiser's own error.

    Parameters
    ----------
    per_window : pandas.DataFrame
        Rows of :func:`evaluate` for cases with added noise on the same clean windows (e.g. ``em@18``).
    clean, records, fs, bins :
        As :func:`harm_by_baseline`.

    Returns
    -------
    pandas.DataFrame
        Mean SNR improvement (dB), one row per (``kind``, ``snr_nominal``, baseline bin), one column per method,
        with the number of windows.

    Examples
    --------
    >>> t = np.arange(3600) / 360                                  # 10 s at 360 Hz
    >>> clean = np.stack([np.sin(2 * np.pi * 10 * t) + a * np.sin(2 * np.pi * 0.15 * t) for a in (0.01, 1.0)])
    >>> noisy = clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape)     # about 17 dB
    >>> rows = evaluate([Case("g@17", "gaussian", 17.0, clean, noisy, np.ones((2, 1)))], {"bandpass": None})
    >>> by_bin = improvement_by_baseline(rows, clean, ["a", "b"], fs=360)
    >>> by_bin["windows"].tolist(), bool(by_bin["bandpass"].iloc[0] > 0 > by_bin["bandpass"].iloc[-1])
    ([1, 1], True)
    """
    base = _own_baseline(clean, records, fs=fs, bins=bins)
    table = per_window[["kind", "snr_nominal", "window", "method", "snr_imp"]].merge(base, on="window")
    index = ["kind", "snr_nominal", BIN_LABEL]
    by_bin = table.pivot_table(index=index, columns="method", values="snr_imp", aggfunc="mean", observed=True)
    by_bin["windows"] = table.groupby(index, observed=True)["window"].nunique()
    return by_bin


def over_kinds(by_bin: pd.DataFrame) -> pd.DataFrame:
    """:func:`improvement_by_baseline`'s table averaged over the noise kinds: one row per (SNR, baseline bin)."""
    out = by_bin.groupby(level=["snr_nominal", BIN_LABEL], observed=True, sort=False).mean()
    return out.astype({"windows": int}) if "windows" in out else out
