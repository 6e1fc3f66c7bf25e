"""Benchmark: the quality and speed figures of the models, printed and written to ``outputs/csv/<source>/``.

Usage::

    python -m ecgutils.evaluation.bench                 # the shipped reference weights (make bench): minutes
    python -m ecgutils.evaluation.bench --models full   # your models of `make run PROFILE=full`
    python -m ecgutils.evaluation.bench --models quick  # your quick-profile models (CI-sized figures)

It scores the models on the evaluation protocol's test cases with the same functions notebooks 02 and 03 use
(:func:`ecgutils.evaluation.denoising.report`, :func:`ecgutils.evaluation.detection.report`), times inference on
one hour of ECG on this machine (and, for the shipped models, streaming, batched and folder throughput:
:mod:`ecgutils.evaluation.throughput`), reads the training time from the training histories, and checks each figure
against the targets (:mod:`ecgutils.evaluation.targets`). The shipped weights are scored on the full profile's test
set.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
import torch

from ecgutils.models import checkpoints, registry
from ecgutils.data import store
from ecgutils.evaluation import denoising
from ecgutils.io import paths
from ecgutils.notebook import plots
from ecgutils.evaluation import realtime, robustness
from ecgutils.evaluation import detection
from ecgutils.config import PROFILES, get_config
from ecgutils.constants import FS
from ecgutils.io.records import read_record
from ecgutils.export import write_csv
from ecgutils.inference import denoise, detect_r_peaks
from ecgutils.data.noise import NoiseBank
from ecgutils.evaluation.targets import check_targets
from ecgutils.evaluation.throughput import throughput_in_fresh_process


def time_inference(fn, signal: np.ndarray, repeats: int = 3) -> float:
    """Best-of-``repeats`` seconds per hour of ECG for ``fn(signal)`` (a 360 Hz signal)."""
    fn(signal[: FS * 20])  # warm-up
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(signal)
        best = min(best, time.perf_counter() - t0)
    return best / (len(signal) / FS / 3600)


def speed_table(models: dict) -> pd.DataFrame:
    """Inference speed of the denoiser and the detector on one hour of MIT-BIH record 100 (looped), CPU."""
    hour = np.resize(read_record("100").signal, 3600 * FS).astype(np.float32)
    den, det = models.get("lstm"), models.get("detector")
    rows = []
    for name, fn in [("lstm denoise", lambda x: denoise(x, fs=FS, checkpoint=den)),
                     ("gru detect_r_peaks", lambda x: detect_r_peaks(x, fs=FS, checkpoint=det)),
                     ("lstm denoise + gru detect",
                      lambda x: detect_r_peaks(denoise(x, fs=FS, checkpoint=den), fs=FS, checkpoint=det))]:
        s = time_inference(fn, hour)
        rows.append({"task": name, "device": "cpu", "threads": torch.get_num_threads(), "s_per_hour": s,
                     "x_real_time": 3600 / s})
    return pd.DataFrame(rows)


def training_table(source: str) -> pd.DataFrame:
    """Epochs and training minutes of each model: from the shipped manifest, or from the training histories."""
    rows = []
    if source == "reference":
        for f, e in checkpoints.manifest().get("files", {}).items():
            rows.append({"model": f.removesuffix(".pt"), "epochs": e.get("epochs"), "best_epoch": e["epoch"],
                         "total_minutes": e.get("train_minutes")})
        return pd.DataFrame(rows)
    for name in checkpoints.ROLES.values():
        f = paths.outputs_dir("csv", source) / f"{name}_history.csv"
        if f.exists():
            h = pd.read_csv(f)
            rows.append({"model": name, "epochs": len(h), "best_epoch": int(h.loc[h.val_loss.idxmin(), "epoch"]),
                         "total_minutes": h.seconds.sum() / 60})
    return pd.DataFrame(rows)


def model_paths(source: str) -> dict:
    """``{role: checkpoint}``: ``None`` for the shipped weights, else ``outputs/models/<profile>/<name>.pt`` after a
    check that each was trained in that profile."""
    if source == "reference":
        return {role: None for role in checkpoints.ROLES}
    out = {}
    for role, name in checkpoints.ROLES.items():
        path = paths.outputs_dir("models", source) / f"{name}.pt"
        checkpoints.load_model(path, profile=source, notebook=registry.spec(role).notebook)
        out[role] = path
    return out


def quality_tables(source: str, seed: int = 0, progress: bool = False) -> dict:
    """Denoising, classifier and detection tables of the models of ``source`` on the protocol's test cases."""
    profile = "full" if source == "reference" else source
    models = model_paths(source)
    ds = store.load_dataset(path=store.build_dataset(profile, seed, progress=progress))
    bank = NoiseBank.load()
    den = denoising.report(ds, bank, {"lstm": models["lstm"], "cnn": models["cnn"]}, seed, progress)
    det = detection.report(get_config(profile, seed).split.test, ds.test, models, bank, seed=seed,
                               progress=progress)
    lead2 = denoising.second_lead_report(ds, bank, {"lstm": models["lstm"], "cnn": models["cnn"]}, seed,
                                         progress=progress)
    harm, harm2 = den["harm_by_baseline"], lead2["harm_by_baseline"]
    harm.index, harm2.index = harm.index.astype(str), harm2.index.astype(str)
    harm_noisy = den["harm_by_baseline_noisy"].reset_index()
    harm_noisy[denoising.BIN_LABEL] = harm_noisy[denoising.BIN_LABEL].astype(str)
    stream = realtime.report(get_config(profile, seed).split.test, models, progress=progress)
    users = {"robustness": robustness.robustness_table(get_config(profile, seed).split.test, models=models,
                                                       progress=progress)}
    if source == "reference":  # the calibration is the shipped detectors'
        users["confidence_quality"] = robustness.confidence_quality_table()
    return {"denoising": den["summary"], "harm_by_baseline": harm.reset_index(),
            "harm_by_baseline_noisy": harm_noisy, **det, **stream, **users,
            "denoising_second_lead": lead2["summary"], "harm_by_baseline_second_lead": harm2.reset_index()}


#: The benchmark's tables as notebooks 02, 03 and 05 write them: benchmark name -> ``outputs/csv/<profile>/<file>.csv``.
NOTEBOOK_TABLES = {"denoising": "denoising_summary", "classifier": "classifier", "detection_clean": "detection_clean",
                   "detection_noisy": "detection_noisy", "detection_nstdb": "detection_nstdb",
                   "stream_detection_clean": "realtime_detection_clean",
                   "stream_detection_nstdb": "realtime_detection_nstdb",
                   "stream_denoising_nstdb": "realtime_denoising_nstdb", "stream_latency": "realtime_latency",
                   "stream_speed": "realtime_speed"}


def notebook_tables(profile: str) -> dict:
    """The benchmark's tables read from the CSVs the notebooks wrote in ``profile`` (nothing is scored again).

    The real-time detector at the reference look-ahead is named ``gru stream`` and the offline LSTM ``lstm``, as in
    :func:`quality_tables`; the latency table is the notebook's summary of the report delays. Targets at levels the
    profile does not score come out as not measured (:func:`ecgutils.evaluation.targets.check_targets`).
    """
    cdir = paths.outputs_dir("csv", profile)
    q = {}
    for name, stem in NOTEBOOK_TABLES.items():
        path = cdir / f"{stem}.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: run notebooks 02, 03 and 05 with profile={profile!r} first")
        q[name] = pd.read_csv(path).drop(columns="dataset", errors="ignore")
    reference = f"stream {get_config(profile).stream_detector.model['lookahead_s']:g} s"
    for name in ("stream_detection_clean", "stream_detection_nstdb"):
        q[name] = q[name][q[name].detector == reference].assign(detector="gru stream")
    q["stream_denoising_nstdb"] = q["stream_denoising_nstdb"].replace({"method": {"lstm (offline)": "lstm"}})
    return q


def headline_tables(q: dict) -> dict:
    """The README's tables, from the benchmark's: SNR improvement per noise and SNR, NSTDB per level, the classic
    task, detection on clean DS2 and NSTDB, the classifier."""
    den = q["denoising"]
    grid = den[den.snr_nominal.between(-6, 24) & ~den.kind.isin(["nstdb", "nstdb-clean"])]
    nst = den[den.kind == "nstdb"].groupby(["snr_nominal", "method"])[["snr_in", "snr_imp", "cosine"]].mean()
    classic = den[den.case.str.startswith("classic") | (den.case == "none") | (den.kind == "nstdb-clean")]
    det = q["detection_clean"]
    return {
        "SNR improvement (dB), DS2 test windows": grid.pivot_table(index=["kind", "snr_nominal"], columns="method",
                                                                   values="snr_imp", sort=False),
        "NSTDB noisy segments: SNR in, improvement (dB), cosine": nst.unstack("method").sort_index(ascending=False),
        "classic task and noise-free input": classic.groupby(["case", "method"], sort=False)[
            ["mse_unit", "mse_unit_mean", "snr_out"]].mean(),
        "detection, clean DS2 (%)": det.set_index(["span", "detector"])[
            ["gross_se", "gross_ppv", "gross_f1", "gross_der", "tp", "fp", "fn", "median_abs_error_ms", "s_per_hour"]],
        "detection, NSTDB noisy segments: gross F1 (%)": q["detection_nstdb"].pivot_table(
            index="snr", columns="detector", values="gross_f1").sort_index(ascending=False),
        "window classifier": q["classifier"].set_index("input"),
        "real time: detection F1 (%), clean DS2 (EC57) and NSTDB by level": realtime_f1(q),
        "real time: NSTDB SNR improvement (dB)": q["stream_denoising_nstdb"].pivot_table(
            index="level", columns="method", values="snr_imp").sort_index(ascending=False),
        "real time: latency (s) and report delays of DS2 beats, 100 ms chunks": q["stream_latency"],
        "real time: one stream in 100 ms chunks, CPU": q["stream_speed"].set_index("model"),
        **users_tables(q),
    }


def users_tables(q: dict) -> dict:
    """Issue 22's tables, where the benchmark scored them: detection where users are, beat confidence and quality."""
    out = {}
    if "robustness" in q:
        out["where users are: gross F1 (%), DS2 second lead, baseline swings, other rates"] = q[
            "robustness"].pivot_table(index="case", columns="detector", values="gross_f1", sort=False)
    if "denoising_second_lead" in q:
        out["where users are: denoising the second lead, SNR improvement (dB; none: output SNR)"] = \
            second_lead_pivot(q["denoising_second_lead"])
        out["where users are: second lead, noise-free output SNR (dB) by the window's own baseline"] = q[
            "harm_by_baseline_second_lead"].set_index(denoising.BIN_LABEL)
    if "harm_by_baseline_noisy" in q:
        out["do no harm: SNR improvement (dB) at 18 and 24 dB by the window's own baseline, mean over the noise kinds"] \
            = denoising.over_kinds(
            q["harm_by_baseline_noisy"].set_index(["kind", "snr_nominal", denoising.BIN_LABEL]))
    if "confidence_quality" in q:
        out["beat confidence (ECE) and signal quality (ROC-AUC), NSTDB test half"] = q["confidence_quality"]
    return out


def second_lead_pivot(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows (kind, SNR), one column per method: the SNR improvement, and the output SNR of the noise-free case."""
    s = summary.assign(value=summary.snr_imp.where(summary.kind != "none", summary.snr_out))
    return s.pivot_table(index=["kind", "snr_nominal"], columns="method", values="value", sort=False)


def realtime_f1(q: dict) -> pd.DataFrame:
    """Gross F1 (%) of the streaming detector next to the offline GRU and XQRS: clean DS2 (EC57 span), NSTDB."""
    clean = pd.concat([q["detection_clean"][q["detection_clean"].span == "ec57"], q["stream_detection_clean"]])
    nst = pd.concat([q["detection_nstdb"], q["stream_detection_nstdb"]])
    rows = [clean.assign(case="DS2 clean")] + [g.assign(case=f"NSTDB {lvl}") for lvl, g in
                                               nst.groupby("snr", sort=False)]
    return pd.concat(rows).pivot_table(index="case", columns="detector", values="gross_f1", sort=False)


def save_figures(q: dict, folder) -> list:
    """The README's two figures: SNR improvement and detection F1 against SNR, as PNG files in ``folder``."""
    den = q["denoising"]
    grid = den[den.kind.isin(["gaussian", "bw", "em", "ma", "mixed"])].assign(snr_in=lambda d: d.snr_nominal)
    curves = pd.concat([q["detection_noisy"], q["detection_nstdb"]]).rename(columns={"snr": "snr_in"})
    figs = {"snr_improvement": plots.plot_vs_snr(grid, "snr_imp", hue="method", col="kind",
                                                 ylabel="SNR improvement (dB)", title="SNR improvement, DS2 test windows"),
            "f1_vs_snr": plots.plot_vs_snr(curves, "gross_f1", hue="detector", col="case", ylabel="F1 (%)",
                                           ref_line=None, title="Beat-level F1 (EC57 matching, 150 ms)")}
    out = []
    for name, fig in figs.items():
        out.append(folder / f"bench_{name}.png")
        fig.savefig(out[-1], dpi=80, bbox_inches="tight")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="reference", choices=("reference",) + PROFILES,
                        help="the shipped weights (default), or your models of that profile")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cdir = paths.outputs_dir("csv", args.models)
    try:
        q = quality_tables(args.models, args.seed, progress=True)
        speed = speed_table(model_paths(args.models))
    except (FileNotFoundError, checkpoints.ProfileMismatch) as exc:
        print(f"cannot benchmark yet: {exc}", file=sys.stderr)
        return 1
    training = training_table(args.models)
    # the shipped models' throughput, measured in a fresh process (see ecgutils.evaluation.throughput)
    throughput = throughput_in_fresh_process() if args.models == "reference" else None
    targets = check_targets(q, speed, training, throughput)
    pd.set_option("display.width", 160)
    for title, df in headline_tables(q).items():
        print(f"\n== {title} ==\n{df.round(4).to_string()}")
    extra = [("throughput", throughput)] if throughput is not None else []
    for name, df in [("speed", speed), ("training", training)] + extra + [("targets", targets)]:
        write_csv(df, cdir / f"benchmark_{name}.csv", index=False)
        print(f"\n== {name} ==\n{df.to_string(index=False, float_format=lambda v: f'{v:.3g}')}")
    for name, df in q.items():
        write_csv(df, cdir / f"benchmark_{name}.csv", index=False)
    save_figures(q, paths.outputs_dir("plots", args.models))
    print(f"\n{int(targets.met.sum())} of {len(targets)} targets met ({args.models} models); "
          f"tables in {cdir}/benchmark_*.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
