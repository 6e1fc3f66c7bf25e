"""The figures the notebooks show. Each function draws on new axes (or ``ax``) and returns the figure; a
notebook's :class:`ecgutils.notebook.session.Session` saves it under ``outputs/plots/<profile>/``."""

from __future__ import annotations

import zlib

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import MaxNLocator

#: Colours used throughout, so a noise type or model has one colour in every figure.
COLORS = {"clean": "#222222", "noisy": "#bbbbbb", "lstm": "#d62728", "cnn": "#1f77b4", "bandpass": "#2ca02c",
          "identity": "#7f7f7f", "gru": "#d62728", "xqrs": "#1f77b4", "gaussian": "#9467bd", "bw": "#8c564b",
          "em": "#e377c2", "ma": "#17becf", "mixed": "#bcbd22", "gru on denoised": "#9467bd"}
#: The suffix of a shipped reference model's name in tables and legends (``"lstm (reference)"``).
REFERENCE = " (reference)"
#: The x label of NSTDB panels: a level is NSTDB's own name for the record, not the sample-power SNR.
NSTDB_LEVEL_LABEL = "NSTDB level (dB)"
#: Where legends go: outside the axes, to their right, so that they never hide a trace or a beat.
OUTSIDE = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def line_style(name: str) -> dict:
    """The style of a method's line and markers, the same in every figure: its colour; a shipped reference model
    (``name`` ending in :data:`REFERENCE`) dashed with hollow square markers, the student's own model solid with
    filled circles.

    Examples
    --------
    >>> line_style("lstm")["ls"], line_style("lstm (reference)")["ls"], line_style("lstm (reference)")["marker"]
    ('-', '--', 's')
    """
    base = name.removesuffix(REFERENCE)
    colour = COLORS.get(base, f"C{zlib.crc32(base.encode()) % 10}")  # a model keeps its colour in every panel
    if base != name:
        return dict(color=colour, ls="--", marker="s", mfc="none", ms=5)
    return dict(color=colour, ls="-", marker="o", mfc=colour, ms=4)


def plot_record(signal: np.ndarray, fs: float, beats=None, symbols=None, start_s: float = 0.0,
                seconds: float = 10.0, title: str = "", ax=None):
    """A stretch of a record in mV with its reference beats marked by their symbols."""
    fig, ax = _axes(ax, (12, 3))
    a, b = int(start_s * fs), int((start_s + seconds) * fs)
    t = np.arange(a, b) / fs
    ax.plot(t, signal[a:b], color=COLORS["clean"], lw=0.8)
    if beats is not None:
        sel = (beats >= a) & (beats < b)
        ax.plot(beats[sel] / fs, signal[beats[sel]], "v", color="C3", ms=6, label="reference beat")
        if symbols is not None:
            for s, sym in zip(beats[sel], np.asarray(symbols)[sel]):
                ax.annotate(sym, (s / fs, signal[s]), xytext=(0, 8), textcoords="offset points", ha="center")
        ax.legend(**OUTSIDE)
    ax.set(xlabel="time (s)", ylabel="mV", title=title)
    return fig


def plot_noise_gallery(clean: np.ndarray, noises: dict, fs: float, seconds: float = 5.0):
    """A grid: one row per noise kind, one column per SNR. ``noises[kind][snr]`` is the noise (mV) for ``clean``."""
    kinds = list(noises)
    snrs = list(noises[kinds[0]])
    fig, axes = plt.subplots(len(kinds), len(snrs), figsize=(3.2 * len(snrs), 1.8 * len(kinds)),
                             sharex=True, sharey="row", squeeze=False)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    for i, k in enumerate(kinds):
        for j, s in enumerate(snrs):
            ax = axes[i, j]
            ax.plot(t, clean[:n] + noises[k][s][:n], color=COLORS.get(k, "C0"), lw=0.6, label="noisy (the row's colour)")
            ax.plot(t, clean[:n], color=COLORS["clean"], lw=0.5, alpha=0.6, label="clean (grey)")
            if i == 0:
                ax.set_title(f"{s} dB")
            if j == 0:
                ax.set_ylabel(f"{k}\nmV")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    axes[0, -1].legend(fontsize=8, **OUTSIDE)  # colour: noisy (one colour per kind); grey: the clean window
    fig.tight_layout()
    return fig


def plot_denoising(t_or_fs, noisy, clean, estimates: dict | None = None, beats=None, detected=None,
                   title: str = "", ax=None):
    """Noisy, clean and denoised traces (mV) on one axis, each minus its mean (so the noisy trace lies over the
    clean one whatever the baseline), with reference (and detected) R-peaks; the legend outside the axes.

    Parameters
    ----------
    t_or_fs : float or ndarray
        Sampling rate (Hz) or the time axis (s).
    noisy, clean : ndarray, shape (n,)
    estimates : dict, optional
        Model name to denoised trace.
    beats, detected : ndarray, optional
        Reference and detected R-peak sample indices.
    """
    fig, ax = _axes(ax, (12, 3.2))
    t = np.arange(len(clean)) / t_or_fs if np.isscalar(t_or_fs) else t_or_fs
    noisy, clean = (np.asarray(v, dtype=float) - np.mean(v) for v in (noisy, clean))
    estimates = {k: np.asarray(v, dtype=float) - np.mean(v) for k, v in (estimates or {}).items()}
    ax.plot(t, noisy, color=COLORS["noisy"], lw=0.8, label="noisy")
    ax.plot(t, clean, color=COLORS["clean"], lw=0.9, label="clean")
    for name, y in estimates.items():
        ax.plot(t, y, color=COLORS.get(name, None), lw=0.9, alpha=0.9, label=name)
    if beats is not None and len(beats):
        ax.plot(t[beats], clean[beats], "v", color="k", ms=6, label="reference R")
    if detected is not None and len(detected):
        ref = next(iter((estimates or {"clean": clean}).values()))
        ax.plot(t[detected], ref[detected] + 0.25, "o", mfc="none", color="C3", ms=7, label="detected R")
    ax.set(xlabel="time (s)", ylabel="mV (mean removed)", title=title)
    ax.legend(fontsize=8, **OUTSIDE)
    return fig


def plot_windows(clean: np.ndarray, noisy: np.ndarray, fs: float, beat_lists=None, n: int = 3, labels=None):
    """``n`` example windows: clean under noisy, beats marked."""
    fig, axes = plt.subplots(n, 1, figsize=(12, 2.2 * n), squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        plot_denoising(fs, noisy[i], clean[i], beats=None if beat_lists is None else beat_lists[i], ax=ax,
                       title="" if labels is None else labels[i])
    fig.tight_layout()
    return fig


def plot_training_variations(stored: np.ndarray, shown: np.ndarray, fs: float, beat_lists=None, labels=None):
    """Training windows as stored (grey, MLII) and as a detector is shown them (:mod:`ecgutils.data.augment`: another
    lead, another gain, a baseline swing), one row per window, reference beats on the shown trace; mV, means kept
    (a swing shows as it is).

    Parameters
    ----------
    stored, shown : ndarray, shape (n_windows, n_samples)
        mV.
    fs : float
        Hz.
    beat_lists : list of ndarray, optional
        Each window's reference beats, samples.
    labels : list of str, optional
        One title per row.
    """
    n = len(stored)
    fig, axes = plt.subplots(n, 1, figsize=(12, 2.2 * n), sharex=True, squeeze=False)
    t = np.arange(stored.shape[1]) / fs
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(t, stored[i], color=COLORS["noisy"], lw=0.8, label="as stored (MLII)")
        ax.plot(t, shown[i], color=COLORS["gru"], lw=0.8, label="shown to the detector")
        if beat_lists is not None and len(beat_lists[i]):
            ax.plot(t[beat_lists[i]], shown[i][beat_lists[i]], "v", color="k", ms=5, label="reference R")
        ax.set(ylabel="mV", title="" if labels is None else labels[i])
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(fontsize=8, **OUTSIDE)
    fig.tight_layout()
    return fig


def plot_loss_curves(histories: dict, ax=None):
    """Training (solid) and validation (dashed) loss per epoch, on linear axes with whole epochs.

    ``histories[name]`` is a DataFrame with ``epoch``, ``train_loss``, ``val_loss``.
    """
    own = ax is None
    fig, ax = _axes(ax, (7, 3.5))
    for i, (name, h) in enumerate(histories.items()):
        c = COLORS.get(name, f"C{i}")
        ax.plot(h["epoch"], h["train_loss"], "o-", ms=3, color=c, label=f"{name} training")
        ax.plot(h["epoch"], h["val_loss"], "s--", ms=3, mfc="none", color=c, label=f"{name} validation")
    ax.set(xlabel="epoch", ylabel="loss", title="Loss curves")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, **(OUTSIDE if own else {"loc": "best"}))  # a panel of the caller's: keep it inside
    return fig


def plot_vs_snr(table, y: str, hue: str, col: str | None = None, ylabel: str = "", title: str = "",
                ref_line: float | None = 0.0):
    """A metric against input SNR: one line per ``hue`` value, one panel per ``col`` value.

    ``table`` is a long DataFrame with columns ``snr_in`` (dB), ``y``, ``hue`` and optionally ``col``. A shipped
    reference model (a ``hue`` ending in :data:`REFERENCE`) is drawn in its model's colour, dashed with hollow
    markers (:func:`line_style`). A panel whose name starts with "NSTDB" is labelled :data:`NSTDB_LEVEL_LABEL`:
    its x values are the records' level names, not sample-power SNRs.
    """
    cols = [None] if col is None else list(dict.fromkeys(table[col]))
    fig, axes = plt.subplots(1, len(cols), figsize=(3.6 * len(cols), 3.2), sharey=True, squeeze=False)
    for ax, c in zip(axes[0], cols):
        sub = table if c is None else table[table[col] == c]
        for h, g in sub.groupby(hue, sort=False):
            g = g.sort_values("snr_in")
            ax.plot(g["snr_in"], g[y], label=h, **line_style(str(h)))
        if ref_line is not None:
            ax.axhline(ref_line, color="k", lw=0.6)
        nstdb = str(c).startswith("NSTDB") or (c is None and "NSTDB" in title)
        ax.set(xlabel=NSTDB_LEVEL_LABEL if nstdb else "input SNR (dB)", title=str(c) if c is not None else title)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(ylabel or y)
    axes[0, -1].legend(fontsize=8, **OUTSIDE)
    if title and col is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_harm_vs_baseline(table, ax=None):
    """Output SNR on noise-free input (dB) against each window's own baseline wander (dB of its power), per method.

    ``table`` is the first result of :func:`ecgutils.evaluation.denoising.harm_by_baseline`.
    """
    fig, ax = _axes(ax, (7, 4))
    for name, g in table.groupby("method", sort=False):
        st = line_style(str(name))
        ax.plot(g["baseline_db"], g["snr_out"], ls="none", marker=st["marker"], mfc=st["mfc"], color=st["color"],
                ms=3.5, alpha=0.6, label=name)
    lo = min(table["baseline_db"].min(), -1.0)
    ax.plot([lo, 0], [-lo, 0], "k--", lw=0.8, label="all of the baseline removed, nothing else")
    ax.set(xlabel="own baseline wander below 0.5 Hz (dB of the window's power)",
           ylabel="output SNR on noise-free input (dB)",
           title="Do no harm, window by window: the record's own baseline wander")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, **OUTSIDE)
    return fig


def plot_confusion(cm: np.ndarray, labels=("no R-peak", "R-peak"), title: str = "Confusion matrix", ax=None):
    """Seaborn heatmap of a 2x2 confusion matrix (counts, with row percentages)."""
    fig, ax = _axes(ax, (4.2, 3.6))
    pct = cm / np.maximum(cm.sum(1, keepdims=True), 1) * 100
    annot = np.array([[f"{c:,}\n{p:.1f}%" for c, p in zip(rc, rp)] for rc, rp in zip(cm, pct)])
    sns.heatmap(cm, annot=annot, fmt="", cmap="Blues", cbar=False, xticklabels=labels, yticklabels=labels, ax=ax)
    ax.set(xlabel="predicted", ylabel="reference", title=title)
    return fig


def _axes(ax, size):
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


def plot_detector_output(signal: np.ndarray, prob: np.ndarray, fs: float, detected=None, reference=None,
                         threshold: float = 0.5):
    """A signal (mV) with detected and reference R-peaks, above the detector's per-sample probability and its threshold."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(12, 4), sharex=True)
    t = np.arange(len(signal)) / fs
    a1.plot(t, signal, color=COLORS["clean"], lw=0.8)
    for marks, style, colour, label in [(detected, "o", "C3", "detected"), (reference, "v", "C0", "reference")]:
        if marks is not None:
            marks = np.asarray(marks)[np.asarray(marks) < len(signal)]
            a1.plot(marks / fs, signal[marks], style, mfc="none" if style == "o" else colour, color=colour, label=label)
    a1.set(ylabel="mV")
    a1.legend(**OUTSIDE)
    a2.plot(t, prob[:len(signal)], color="C3")
    a2.axhline(threshold, ls="--", color="k", lw=0.6)
    a2.set(xlabel="time (s)", ylabel="P(R-peak)")
    return fig


def plot_threshold(table, chosen: float | None = None, ax=None):
    """F1 against the detection threshold, one line per validation input, the chosen threshold marked.

    ``table`` is :func:`ecgutils.training.rpeak.tune_threshold`'s: columns ``noise``, ``snr`` (dB), ``threshold``,
    ``gross_f1`` (%).
    """
    fig, ax = _axes(ax, (6, 3.2))
    for (kind, snr), g in table.groupby(["noise", "snr"], sort=False, dropna=False):
        label = "clean" if kind == "none" else f"{kind} {snr:g} dB"
        ax.plot(g["threshold"], g["gross_f1"], "o-", ms=3, label=label)
    if chosen is not None:
        ax.axvline(chosen, color="k", ls="--", lw=0.8, label=f"chosen: {chosen:g}")
    ax.set(xlabel="threshold on the peak probability", ylabel="gross F1 (%)",
           title="Detection threshold, validation records")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, **OUTSIDE)
    fig.tight_layout()
    return fig


def plot_stream_snapshots(signal: np.ndarray, fs: float, peaks: np.ndarray, reported_at: np.ndarray,
                          moments_s, latency_s: float, reference=None, window_s: float = 5.0):
    """A live stream as it arrives: at each moment, the last ``window_s`` seconds received (mV), the R-peaks
    reported so far (red circles), the reference beats (blue triangles) and the stretch the detector may still be
    deciding (shaded: the last ``latency_s`` seconds)."""
    moments_s = list(moments_s)
    fig, axes = plt.subplots(len(moments_s), 1, figsize=(12, 1.9 * len(moments_s)), sharey=True)
    for ax, t in zip(np.atleast_1d(axes), moments_s):
        now = int(t * fs)
        a = max(0, now - int(window_s * fs))
        ax.plot(np.arange(a, now) / fs, signal[a:now], color=COLORS["clean"], lw=0.8)
        shown = peaks[(reported_at < now) & (peaks >= a)]
        ax.plot(shown / fs, signal[shown], "o", mfc="none", color="C3", ms=8, label="reported")
        if reference is not None:
            ref = reference[(reference >= a) & (reference < now)]
            ax.plot(ref / fs, signal[ref], "v", color="C0", ms=5, label="reference")
        ax.axvspan(max(a / fs, t - latency_s), t, color="0.85", label=f"still deciding ({latency_s * 1000:.0f} ms)")
        ax.set_xlim(t - window_s, t + 0.2)
        ax.set_ylabel(f"t = {t:g} s\nmV")
    np.atleast_1d(axes)[0].legend(fontsize=8, **OUTSIDE)
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def plot_lookahead(table, offline=None, reference=None, ax=None):
    """Gross F1 (%) against the look-ahead (s), one colour per case.

    ``table``: columns ``lookahead_s``, ``case``, ``gross_f1``: the detectors trained here (solid, filled circles);
    ``reference``: the same columns for the shipped reference detectors (dashed, hollow squares, named
    ``case (reference)``); ``offline``: ``case`` to the offline GRU's F1 (%), dotted.
    """
    fig, ax = _axes(ax, (7, 3.5))
    parts = [(table, "")] + ([] if reference is None else [(reference, REFERENCE)])
    cases = list(dict.fromkeys(c for t, _ in parts for c in t["case"]))
    for i, case in enumerate(cases):
        for t, suffix in parts:
            g = t[t["case"] == case].sort_values("lookahead_s")
            if len(g):
                st = {**line_style(f"{case}{suffix}"), "color": f"C{i}"}
                st["mfc"] = "none" if suffix else f"C{i}"
                ax.plot(g["lookahead_s"], g["gross_f1"], label=f"{case}{suffix}", **st)
        if offline is not None and case in offline:
            ax.axhline(offline[case], color=f"C{i}", ls=":", lw=0.8)
    ax.set(xlabel="look-ahead (s)", ylabel="gross F1 (%)",
           title="Real-time detector: accuracy against look-ahead (dotted: offline GRU)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, **OUTSIDE)
    fig.tight_layout()
    return fig


def plot_delays(values, bound: float | None = None, xlabel: str = "report delay (s)", title: str = "", ax=None):
    """Histogram of delays or compute times, with a bound (dashed) that none should pass."""
    fig, ax = _axes(ax, (6, 3))
    sns.histplot(np.asarray(values), bins=40, ax=ax, color="C3")
    if bound is not None:
        ax.axvline(bound, color="k", ls="--", lw=0.8, label=f"bound: {bound:.3g}")
        ax.legend()
    ax.set(xlabel=xlabel, ylabel="count", title=title)
    fig.tight_layout()
    return fig
