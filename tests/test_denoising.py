import numpy as np
import pytest

from ecgutils.evaluation import denoising


def test_harm_by_baseline_puts_the_band_pass_on_the_line_of_removed_baseline():
    # windows of a 10 Hz "ECG" with their own baseline wander (0.15 Hz) at 5 sizes, no added noise
    t = np.arange(3600) / 360
    sizes = np.array([0.02, 0.1, 0.3, 0.6, 1.0])
    clean = (np.sin(2 * np.pi * 10 * t)[None] + sizes[:, None] * np.sin(2 * np.pi * 0.15 * t)[None]).astype(np.float32)
    case = denoising.Case("none", "none", float("inf"), clean, clean.copy(), np.ones((5, 1)))
    per_window = denoising.evaluate([case], {"identity": None, "bandpass": None})
    table, by_bin = denoising.harm_by_baseline(per_window[per_window.method == "bandpass"], clean,
                                               ["a", "a", "b", "b", "c"], fs=360)
    assert list(table.record) == ["a", "a", "b", "b", "c"]
    assert np.all(np.diff(table.baseline_db) > 0)
    # the band-pass removes all of the baseline and little else: output SNR about -(own baseline share)
    strong = table.baseline_db > -15
    np.testing.assert_allclose(table.snr_out[strong], -table.baseline_db[strong], atol=1.5)
    assert by_bin["windows"].sum() == 5
    assert by_bin["bandpass"].is_monotonic_decreasing


def test_harm_by_baseline_needs_one_record_per_window():
    clean = np.random.default_rng(0).normal(size=(2, 360)).astype(np.float32)
    per_window = denoising.evaluate([denoising.Case("none", "none", float("inf"), clean, clean.copy(),
                                                    np.ones((2, 1)))], {"identity": None})
    with pytest.raises(ValueError, match="one record name per window"):
        denoising.harm_by_baseline(per_window, clean, ["a"], fs=360)


def test_identity_scores_zero_improvement_and_band_pass_filters_fairly():
    t = np.arange(3600) / 360
    rng = np.random.default_rng(0)
    clean = np.stack([np.sin(2 * np.pi * 1.2 * t) + 0.5 * np.sin(2 * np.pi * 7 * t + p) for p in range(4)])
    noisy = clean + 0.3 * rng.normal(size=clean.shape)
    case = denoising.Case("g", "gaussian", 0.0, clean.astype(np.float32), noisy.astype(np.float32), np.ones((4, 1)))
    s = denoising.summary_table(denoising.evaluate([case], {"identity": None, "bandpass": None})).set_index("method")
    assert s.loc["identity", "snr_imp"] == 0.0
    assert s.loc["bandpass", "snr_imp"] > 3  # white noise above 40 Hz is removed


def test_band_pass_on_a_window_matches_filtering_the_whole_record():
    from ecgutils import inference
    from ecgutils.dsp import filters
    from ecgutils.data.noise import noise_snr_db
    from tests.helpers import synthetic_ecg

    sig, _ = synthetic_ecg(360 * 60)
    windows = sig[:21600].reshape(6, 3600)
    whole = filters.ecg_bandpass(sig, fs=360)[:21600].reshape(6, 3600)
    per_window = inference.denoise_windows(windows.astype(np.float32), fs=360, method="bandpass")
    # mirrored padding of 3 s: the windows' ends settle as in the whole record (scipy's default padding: 26 dB)
    assert noise_snr_db(whole, per_window - whole).mean() > 30


def test_second_lead_report_scores_the_other_lead_at_the_mlii_windows(mirror):
    from types import SimpleNamespace

    from ecgutils.data.augment import other_lead_windows
    from ecgutils.data.windows import cut_windows
    from ecgutils.evaluation.metrics import denoising_metrics
    from ecgutils.inference import denoise_windows
    from ecgutils.io.records import read_record
    from tests.helpers import toy_bank

    ws = cut_windows(read_record("100"), 3600, max_windows=3)
    ds = {"test": SimpleNamespace(windows=ws)}
    r = denoising.second_lead_report(ds, toy_bank(), {})
    s = r["summary"]
    assert set(s.case) == {"second lead none"} | {f"second lead {k}@{lvl}" for k in denoising.SECOND_LEAD_KINDS
                                                   for lvl in denoising.SECOND_LEAD_LEVELS}
    ident = s[(s.method == "identity") & (s.kind != "none")]
    assert len(ident) == 9 and np.allclose(ident.snr_imp, 0.0, atol=1e-6)
    v5 = other_lead_windows(ws.record, ws.start, ws.length)  # the reference is record 100's V5, not its MLII
    span = v5.max(-1, keepdims=True) - v5.min(-1, keepdims=True)
    expected = denoising_metrics(v5, denoise_windows(v5, fs=360, method="bandpass"), v5, span).snr_out.mean()
    got = s[(s.kind == "none") & (s.method == "bandpass")].snr_out.item()
    assert got == pytest.approx(expected, abs=1e-3)
    on_mlii = denoising_metrics(ws.x, denoise_windows(ws.x, fs=360, method="bandpass"), ws.x, span).snr_out.mean()
    assert abs(got - on_mlii) > 0.5
    assert r["harm_by_baseline"]["windows"].sum() == 3
    with pytest.raises(ValueError, match="valid options: test, val"):
        denoising.second_lead_report(ds, toy_bank(), {}, split="train")


def test_improvement_by_baseline_counts_the_removed_own_baseline_as_harm():
    # the same light noise on windows with little and with much of their own baseline wander (0.15 Hz)
    t = np.arange(3600) / 360
    sizes = np.array([0.01, 0.02, 1.0, 1.5])
    clean = (np.sin(2 * np.pi * 10 * t)[None] + sizes[:, None] * np.sin(2 * np.pi * 0.15 * t)[None]).astype(np.float32)
    noise = 0.1 * np.random.default_rng(1).standard_normal(clean.shape).astype(np.float32)
    cases = [denoising.Case(f"{k}@18", k, 18.0, clean, clean + noise, np.ones((4, 1))) for k in ("em", "ma")]
    per_window = denoising.evaluate(cases, {"identity": None, "bandpass": None})
    by_bin = denoising.improvement_by_baseline(per_window, clean, ["a", "a", "b", "b"], fs=360)
    assert by_bin.index.names == ["kind", "snr_nominal", denoising.BIN_LABEL]
    assert list(by_bin["windows"]) == [2, 2, 2, 2]
    np.testing.assert_allclose(by_bin["identity"], 0.0, atol=1e-9)
    quiet, strong = by_bin["bandpass"].iloc[0], by_bin["bandpass"].iloc[1]
    assert quiet > 0 > strong  # the band-pass helps where the record has no wander of its own, harms where it has
