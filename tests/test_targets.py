import pandas as pd
import pytest

from ecgutils.data.splits import NSTDB_LEVELS
from ecgutils.evaluation.targets import BARS, check_targets, do_no_harm


def _tables(lstm_gain=4.0, f1=0.985, gru_nstdb=99.0):
    """A small made-up benchmark: every case the targets read, the LSTM ``lstm_gain`` dB over the band-pass."""
    rows = [{"case": "classic", "kind": "gaussian", "snr_nominal": float("nan"), "method": m, "snr_imp": 0.0,
             "mse_unit": mse, "cosine": 0.9, "snr_out": 0.0} for m, mse in (("identity", 0.0025), ("lstm", 0.0004))]
    for kind in ("gaussian", "bw", "em", "ma", "mixed"):
        for snr in (-6, 0, 6, 12, 18, 24):
            for m, imp, cos in (("bandpass", 1.0, 0.8), ("lstm", 1.0 + lstm_gain, 0.9)):
                rows.append({"case": f"{kind}@{snr}", "kind": kind, "snr_nominal": snr, "method": m, "snr_imp": imp,
                             "mse_unit": 0.0, "cosine": cos, "snr_out": 0.0})
    for lvl in NSTDB_LEVELS:
        for m, imp, cos in (("bandpass", 1.0, 0.8), ("lstm", 1.0 + lstm_gain, 0.9)):
            rows.append({"case": f"118e{lvl}", "kind": "nstdb", "snr_nominal": lvl, "method": m, "snr_imp": imp,
                         "mse_unit": 0.0, "cosine": cos, "snr_out": 0.0})
    rows.append({"case": "none", "kind": "none", "snr_nominal": float("inf"), "method": "lstm", "snr_imp": float("nan"),
                 "mse_unit": 0.0, "cosine": 1.0, "snr_out": 22.0})
    clf = pd.DataFrame({"input": ["gaussian sigma=0.05"], "f1": [f1]})
    clean = pd.DataFrame({"detector": ["gru", "xqrs"], "span": ["ec57", "ec57"], "gross_f1": [99.95, 99.7]})
    nst = pd.DataFrame([{"snr": lvl, "detector": d, "gross_f1": v} for lvl in NSTDB_LEVELS
                        for d, v in (("gru", gru_nstdb), ("xqrs", 90.0))])
    return {"denoising": pd.DataFrame(rows), "classifier": clf, "detection_clean": clean, "detection_nstdb": nst}


def test_targets_on_a_made_up_table():
    t = check_targets(_tables()).set_index("target")
    assert t.loc["Gaussian sigma=0.05: MSE reduced >= 5x", "measured"] == 0.0025 / 0.0004
    assert t.loc["em 6 dB: LSTM - band-pass >= 3 dB (and cosine >=)", "met"]
    assert t.loc["bw 0 dB: LSTM >= band-pass", "measured"] == 4.0
    assert t.loc["do no harm: em 24 dB improvement >= 0", "met"]
    assert t.loc["window classifier F1 >= 0.98 (sigma=0.05)", "met"]
    assert t.loc["NSTDB level 6: F1 >= 97 % (gru)", "met"]
    assert len(t) == 1 + 16 + 4 + 4 + 10 + 1 + 1 + 1 + 6 + 2


def test_targets_fail_when_figures_fall_short():
    t = check_targets(_tables(lstm_gain=2.0, f1=0.97, gru_nstdb=80.0)).set_index("target")
    assert not t.loc["em 6 dB: LSTM - band-pass >= 3 dB (and cosine >=)", "met"]
    assert t.loc["em 6 dB: LSTM - band-pass >= 3 dB (and cosine >=)", "measured"] == 2.0
    assert not t.loc["window classifier F1 >= 0.98 (sigma=0.05)", "met"]
    assert not t.loc["NSTDB level 0: F1 >= 85 % (gru)", "met"]
    assert t.loc["NSTDB level 0: F1 - XQRS F1 > 0, or 100 % (gru)", "measured"] == -10.0
    assert BARS["margin_db"] == 3.0


def test_do_no_harm_checks_a_named_denoiser():
    den = _tables()["denoising"]  # made-up LSTM: 4 dB over the band-pass everywhere, 22 dB on noise-free input
    t = do_no_harm(den).set_index("target")
    assert len(t) == 10 + 1 + 6
    assert not t.loc["do no harm: output SNR on noise-free input >= 30 dB", "met"]  # 22 dB: the issue 22 bar
    assert t.drop("do no harm: output SNR on noise-free input >= 30 dB").met.all()
    other = den[den.method == "lstm"].assign(method="lstm (b)", snr_imp=lambda d: d.snr_imp - 6.0)
    t = do_no_harm(pd.concat([den, other]), "lstm (b)").set_index("target")
    assert t.loc["do no harm: ma 18 dB improvement >= 0", "measured"] == -1.0  # 5 - 6: harm
    assert t.met.sum() == 0


def test_speed_and_training_rows():
    speed = pd.DataFrame({"task": ["lstm denoise"], "device": ["cpu"], "x_real_time": [900.0]})
    training = pd.DataFrame({"model": ["lstm_denoiser"], "total_minutes": [19.0]})
    t = check_targets(_tables(), speed, training).set_index("target")
    assert not t.loc["lstm denoise: >= 1000x real time on CPU", "met"]
    assert t.loc["LSTM training < 20 min", "met"]


def _realtime(tables, stream_f1=99.85, stream_nstdb6=98.5, late=0, stream_gain=3.5, speed=400.0):
    """The real-time tables of a made-up benchmark (the offline GRU at 99 % on every NSTDB level, the LSTM at 5 dB)."""
    tables = dict(tables)
    tables["stream_detection_clean"] = pd.DataFrame({"detector": ["gru stream"], "gross_f1": [stream_f1]})
    tables["stream_detection_nstdb"] = pd.DataFrame([{"snr": lvl, "detector": "gru stream",
                                                      "gross_f1": stream_nstdb6 if lvl == 6 else 95.0}
                                                     for lvl in NSTDB_LEVELS])
    tables["stream_latency"] = pd.DataFrame([{"late_beats": late}])
    tables["stream_denoising_nstdb"] = pd.DataFrame([{"level": lvl, "method": m, "snr_imp": v} for lvl in NSTDB_LEVELS
                                                     for m, v in (("lstm", 5.0), ("stream lstm", stream_gain))])
    tables["stream_speed"] = pd.DataFrame({"model": ["stream detector", "stream denoiser"],
                                           "x_real_time": [speed, speed]})
    return tables


def test_realtime_targets_met_and_not_met():
    t = check_targets(_realtime(_tables())).set_index("target")
    assert t.loc["real time: detector DS2 clean gross F1 >= 99.8 %", "met"]
    assert t.loc["real time: detector NSTDB level 6 F1 - offline GRU >= -2 points", "measured"] == 98.5 - 99.0
    assert t.loc["real time: denoiser NSTDB level -6 improvement - offline LSTM >= -1.5 dB", "met"]
    assert t.loc["real time: stream detector >= 200x real time (100 ms chunks)", "met"]
    bad = check_targets(_realtime(_tables(), 99.7, 96.0, 3, 3.0, 150.0)).set_index("target")
    assert not bad.met[bad.index.str.startswith("real time")].any()
    assert bad.loc["real time: every DS2 detection reported within latency_s + one chunk (detections later)",
                   "measured"] == 3


def test_throughput_rows_compare_each_figure_with_its_target():
    from ecgutils.evaluation.throughput import TARGETS

    table = pd.DataFrame([
        {"task": "stream detector", "setting": "one stream, 0.1 s chunks", "x_real_time": 450.0,
         "target": TARGETS["stream 100 ms"]},
        {"task": "stream denoiser", "setting": "one stream, 1 s chunks", "x_real_time": 1200.0,
         "target": TARGETS["stream 1 s"]},
        {"task": "offline detect_r_peaks", "setting": "60 records, one call each", "x_real_time": 90.0,
         "target": float("nan")},  # no target: no row
        {"task": "folder annotate", "setting": "48 records, 2 worker(s)", "x_real_time": 700.0, "speedup_vs_1": 1.8,
         "target": TARGETS["folder 2 workers / 1"]}])
    t = check_targets(_tables(), throughput=table).set_index("target")
    assert t.loc["stream detector, one stream, 0.1 s chunks: >= 400x real time", "met"]
    assert not t.loc["stream denoiser, one stream, 1 s chunks: >= 1500x real time", "met"]
    row = t.loc["folder annotate, 48 records, 2 worker(s): >= 1.7x faster than 1 worker"]
    assert row.measured == 1.8 and row.met
    assert not any("one call each" in name for name in t.index)


def test_users_targets_read_the_robustness_and_confidence_tables():
    cases = {"DS2 MLII": 99.9, "DS2 second lead": 99.6, "DS2 + swing 10x": 99.4, "DS2 at 128 Hz": 99.85,
             "DS2 at 200 Hz": 99.75, "DS2 at 500 Hz": 99.9}
    rob = pd.DataFrame([{"case": c, "detector": d, "gross_f1": v - (0.5 if d == "gru stream" else 0.0)}
                        for c, v in cases.items() for d in ("gru", "gru stream", "xqrs")])
    cq = pd.DataFrame({"level": [24, "all"], "ece": [0.01, 0.02], "ece_stream": [0.01, 0.06],
                       "quality_auc": [0.8, 0.951]})
    t = check_targets({**_tables(), "robustness": rob, "confidence_quality": cq}).set_index("target")
    assert t.loc["where users are: DS2 second lead gross F1 >= 99.5 % (gru)", "met"]
    assert not t.loc["where users are: DS2 second lead gross F1 >= 99.3 % (gru stream)", "met"]  # 99.1
    assert not t.loc["where users are: DS2 + swing 10x gross F1 >= 99.5 % (gru)", "met"]
    gaps = t.loc[[f"where users are: DS2 at {r} Hz F1 - 360 Hz >= -0.1 points (gru)" for r in (128, 200, 500)]]
    assert gaps.met.tolist() == [True, False, True] and gaps.measured.iloc[1] == pytest.approx(-0.15)
    assert t.loc["beat confidence ECE <= 0.05, NSTDB test half (gru)", "met"]
    assert not t.loc["beat confidence ECE <= 0.05, NSTDB test half (gru stream)", "met"]
    assert t.loc["signal quality ROC-AUC noisy vs clean >= 0.95, NSTDB test half", "measured"] == 0.951  # pooled row
    assert len(check_targets(_tables())) == len(t) - 12  # without the tables: none of these rows
